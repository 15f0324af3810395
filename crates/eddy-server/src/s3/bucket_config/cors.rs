//! The CORS configuration (GetBucketCors): a new bucket has none.

use s3s::dto::{GetBucketCorsInput, GetBucketCorsOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;

use crate::s3::buckets::require_bucket;

pub(in crate::s3) async fn get_bucket_cors(
    store: &Store,
    req: S3Request<GetBucketCorsInput>,
) -> S3Result<S3Response<GetBucketCorsOutput>> {
    require_bucket(store, &req.input.bucket).await?;
    Err(s3_error!(
        NoSuchCORSConfiguration,
        "The CORS configuration does not exist"
    ))
}
