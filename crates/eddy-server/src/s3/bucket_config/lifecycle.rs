//! The lifecycle configuration (GetBucketLifecycleConfiguration): a new bucket has none.

use s3s::dto::{GetBucketLifecycleConfigurationInput, GetBucketLifecycleConfigurationOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;

use crate::s3::buckets::require_bucket;

pub(in crate::s3) async fn get_bucket_lifecycle_configuration(
    store: &Store,
    req: S3Request<GetBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
    require_bucket(store, &req.input.bucket).await?;
    Err(s3_error!(
        NoSuchLifecycleConfiguration,
        "The lifecycle configuration does not exist"
    ))
}
