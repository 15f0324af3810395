//! The bucket policy (GetBucketPolicy): a new bucket has none.

use s3s::dto::{GetBucketPolicyInput, GetBucketPolicyOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;

use crate::s3::buckets::require_bucket;

pub(in crate::s3) async fn get_bucket_policy(
    store: &Store,
    req: S3Request<GetBucketPolicyInput>,
) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    require_bucket(store, &req.input.bucket).await?;
    Err(s3_error!(
        NoSuchBucketPolicy,
        "The bucket policy does not exist"
    ))
}
