//! The S3-level answers of store operations, and the store failure as their internal
//! error.

use crate::error::StoreError;

/// An S3-level failure of a store operation.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("The specified bucket does not exist")]
    NoSuchBucket,
    #[error("The specified key does not exist.")]
    NoSuchKey,
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou,
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty,
    #[error("At least one of the pre-conditions you specified did not hold")]
    PreconditionFailed,
    #[error(
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )]
    NoSuchUpload,
    #[error("{0}")]
    InvalidPart(String),
    #[error("The list of parts was not in ascending order. Parts must be ordered by part number.")]
    InvalidPartOrder,
    #[error("Your proposed upload is smaller than the minimum allowed object size.")]
    EntityTooSmall,
    #[error("{0}")]
    InvalidArgument(String),
    /// PutBucketNotificationConfiguration named destinations S3 cannot deliver to:
    /// each as (`ArgumentName`, `ArgumentValue`), numbered in the error body.
    #[error("Unable to validate the following destination configurations")]
    UnvalidatedDestinations(Vec<(String, String)>),
    #[error("The specified version does not exist.")]
    NoSuchVersion,
    /// RestoreObject of an object that is not archived.
    #[error("Restore is not allowed for the object's current storage class")]
    RestoreNotAllowed,
    /// RestoreObject while a restore of the version is under way.
    #[error("Object restore is already in progress")]
    RestoreAlreadyInProgress,
    /// The version asked for (or the latest, when `requested` is false) is a delete
    /// marker: 404 NoSuchKey for a plain read, 405 for a read of that version.
    #[error("{}", if *requested { "The specified method is not allowed against this resource." } else { "The specified key does not exist." })]
    DeleteMarker {
        version_id: String,
        last_modified_ms: u64,
        requested: bool,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}
