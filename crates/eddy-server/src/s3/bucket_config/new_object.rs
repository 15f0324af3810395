//! The bucket configurations every new object's write needs (PUT, POST, CopyObject,
//! CreateMultipartUpload): the default encryption, the Object Lock configuration and
//! the lifecycle rules (for `x-amz-expiration`), read together in one trip to the store.

use s3s::S3Result;
use s3s::dto::{
    BucketLifecycleConfiguration, ObjectLockConfiguration, ServerSideEncryptionConfiguration,
};

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use crate::s3::errors::to_wire;

/// What a bucket gives a new object by default.
pub(in crate::s3) struct NewObjectConfigs {
    /// The default encryption (SSE-S3 when the bucket has none set).
    pub encryption: ServerSideEncryptionConfiguration,
    /// The Object Lock configuration; `None` when Object Lock is not enabled.
    pub object_lock: Option<ObjectLockConfiguration>,
    /// The lifecycle rules; `None` when the bucket has none.
    pub lifecycle: Option<BucketLifecycleConfiguration>,
}

/// The configurations of `bucket` for a new object; NoSuchBucket when it does not
/// exist.
pub(in crate::s3) async fn new_object_configs(
    store: &Store,
    bucket: &str,
) -> S3Result<NewObjectConfigs> {
    let [encryption, object_lock, lifecycle] = store
        .bucket_configs()
        .get_kinds(
            bucket,
            [
                ConfigKind::Encryption,
                ConfigKind::ObjectLock,
                ConfigKind::Lifecycle,
            ],
        )
        .await
        .map_err(to_wire)?;
    Ok(NewObjectConfigs {
        encryption: super::encryption::from_stored(encryption)?,
        object_lock: super::object_lock::from_stored(object_lock)?,
        lifecycle: super::lifecycle::from_stored(lifecycle)?,
    })
}
