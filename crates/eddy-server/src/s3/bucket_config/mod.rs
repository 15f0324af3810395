//! The bucket configurations of S3's model, one file per kind: its Get, Put and
//! Delete operations, its validation with S3's rules and messages, and what a new
//! bucket answers without one (a default body or the kind's "not configured" error).
//! Each is stored in the store (`Store::bucket_configs`) as the S3 document it was
//! validated as (`document`); the kinds kept by id share `keyed`. Versioning, tags and
//! notifications have their own columns and tables.
//!
//! A configuration with behaviour in eddy: CORS (the front answers preflights and adds
//! CORS headers), default encryption (reported on objects), Object Lock (versioning
//! cannot be suspended), Block Public Access (refuses public policies and ACLs), the
//! policy and ACLs (evaluated for unsigned requests by `authz`), Object Ownership
//! (enables ACLs). The others are stored and returned.

mod document;
mod keyed;

pub(super) mod accelerate;
pub(super) mod acl;
pub(super) mod analytics;
pub(super) mod cors;
pub(super) mod encryption;
pub(super) mod intelligent_tiering;
pub(super) mod inventory;
pub(super) mod lifecycle;
pub(super) mod logging;
pub(super) mod metrics;
pub(super) mod new_object;
pub(super) mod notification;
pub(super) mod object_lock;
pub(super) mod ownership;
pub(super) mod policy;
pub(super) mod public_access;
pub(super) mod replication;
pub(super) mod request_payment;
pub(super) mod tagging;
pub(super) mod versioning;
pub(super) mod website;
