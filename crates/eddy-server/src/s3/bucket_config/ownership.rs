//! Object Ownership (GetBucketOwnershipControls): "bucket owner enforced", S3's default
//! for a new bucket.

use s3s::dto::{
    GetBucketOwnershipControlsInput, GetBucketOwnershipControlsOutput, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule,
};
use s3s::{S3Request, S3Response, S3Result};

use eddy_store::Store;

use crate::s3::buckets::require_bucket;

pub(in crate::s3) async fn get_bucket_ownership_controls(
    store: &Store,
    req: S3Request<GetBucketOwnershipControlsInput>,
) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
    require_bucket(store, &req.input.bucket).await?;
    Ok(S3Response::new(GetBucketOwnershipControlsOutput {
        ownership_controls: Some(OwnershipControls {
            rules: vec![OwnershipControlsRule {
                object_ownership: ObjectOwnership::from(
                    ObjectOwnership::BUCKET_OWNER_ENFORCED.to_owned(),
                ),
            }],
        }),
    }))
}
