//! S3 over the store, through the `s3s` crate: `s3s` parses requests, verifies SigV4
//! and decodes aws-chunked bodies; this module checks digests against the bytes, maps
//! each operation onto the store, and shapes the answers as S3 does.
//!
//! Layers, each using only the ones below it:
//! - [`front`]: around `s3s`: the service, refusals before it, error bodies after it;
//! - `dispatch`: the `s3s` trait, one line per operation, naming its family;
//! - the operation families, one module each: `buckets`, `object_reads`,
//!   `object_writes`, `copy`, `delete`, `listing`, `multipart`, `object_subresources`,
//!   `object_lock` (retention and legal hold of versions, and what they refuse),
//!   `restore` (RestoreObject of archived objects, and the sweep completing restores),
//!   and `bucket_config/` with one file per bucket configuration kind (which
//!   `buckets` uses for a new bucket's configurations, and the object families for
//!   default encryption);
//! - `authz`: the access of unsigned requests, which `front` asks; its decision reads
//!   the bucket's policy, ACL and Block Public Access through `bucket_config`, whose
//!   `policy` and `acl` files in turn use `authz`'s leaves (`authz::policy`, the policy
//!   grammar, and `authz::acl`, ACL grants on the wire);
//! - what several families share: `conditions`, `checksums` (and
//!   `multipart_checksums` for uploads), `object_attrs`, `tags`, `regions` (S3's region
//!   names, which `front` and `buckets` check), `sse_c` (customer-provided keys);
//! - at the bottom: `errors` (over `convert`), `convert` and `limits`.

mod authz;
mod bucket_config;
mod buckets;
mod checksums;
mod conditions;
mod convert;
mod copy;
mod delete;
mod dispatch;
mod errors;
pub mod front;
mod lifecycle_expiration;
pub mod lifecycle_sweeper;
mod limits;
mod listing;
mod multipart;
mod multipart_checksums;
mod object_attrs;
mod object_lock;
mod object_reads;
mod object_subresources;
mod object_writes;
mod regions;
pub mod restore;
mod sse_c;
mod tags;

pub use limits::{MAX_KEY_BYTES, MAX_PUT_BYTES, MAX_USER_METADATA_BYTES};
