//! The bucket configurations of S3's model, one file per kind: its Get, Put and
//! Delete operations, its validation, and what a bucket answers without one.
//! A configuration eddy stores lives in the store; a kind eddy does not store yet
//! answers as a new AWS bucket does (for example "no CORS configuration"), and its
//! other operations are left to `s3s`, which answers 501 NotImplemented.
//!
//! A new kind (website, logging, public access block, replication, ...) is a new
//! file here and its lines in `dispatch`.

pub(super) mod acl;
pub(super) mod cors;
pub(super) mod encryption;
pub(super) mod lifecycle;
pub(super) mod notification;
pub(super) mod ownership;
pub(super) mod policy;
pub(super) mod tagging;
pub(super) mod versioning;
