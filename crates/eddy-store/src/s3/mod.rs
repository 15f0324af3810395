//! The S3 side of the store: buckets, objects and their versions, multipart uploads
//! and bucket notifications, with S3's semantics.
//!
//! - Handles: [`Buckets`], [`BucketConfigs`], [`Objects`], [`Uploads`], [`Notifications`].
//! - [`model`]: the values they take and return; [`error`]: their answers.
//! - Inside: the events of tag and ACL changes (`subresources`), the `rows` of the tables, the version `history`, `listing`, the `commit`
//!   of a new object version with its events (the outbox, in `notifications`),
//!   `deletes`, the [`notification_rules`] (no I/O) and the `principals` events name.

mod access_model;
mod bucket_configs;
mod buckets;
mod commit;
mod deletes;
pub mod error;
pub mod function_targets;
mod history;
mod listing;
pub mod model;
pub mod notification_rules;
mod notifications;
mod objects;
mod principals;
mod restore_expiry;
mod restores;
mod rows;
mod subresources;
mod uploads;

pub use access_model::{
    ALL_USERS_URI, AUTHENTICATED_USERS_URI, AclGrant, AclGrantee, AclPermission, LOG_DELIVERY_URI,
    RestoreState,
};
pub use bucket_configs::{BucketConfigs, Config, ConfigKind, NewBucket};
pub use buckets::Buckets;
pub use error::S3Error;
pub use model::{
    Bucket, ChecksumKind, Deleted, KmsEncryption, ListPage, ListQuery, MIN_PART_SIZE, NULL_VERSION,
    ObjectAttrs, ObjectMeta, Part, Retention, RetentionMode, Upload, VersionEntry, VersionPage,
    VersionQuery, Versioning,
};
pub use notification_rules::{
    ChangeContext, Destination, EventObject, EventPrincipals, Mismatch, NotificationConfig,
    event_body,
};
pub use notifications::Notifications;
pub use objects::Objects;
pub use principals::{ANONYMOUS_PRINCIPAL, Requester, owner_principal_id, user_principal_id};
pub use restores::{ARCHIVED_CLASSES, RestoreOutcome};
pub use uploads::Uploads;
