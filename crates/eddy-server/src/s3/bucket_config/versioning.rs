//! Bucket versioning (Get/PutBucketVersioning): Enabled or Suspended; MFA Delete is
//! refused, as eddy has no MFA device; a bucket with Object Lock stays Enabled.

use s3s::dto::{
    BucketVersioningStatus, GetBucketVersioningInput, GetBucketVersioningOutput, MFADelete,
    PutBucketVersioningInput, PutBucketVersioningOutput,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;

use crate::s3::errors::{malformed_xml, to_wire};

pub(in crate::s3) async fn get_bucket_versioning(
    store: &Store,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let versioning = store
        .buckets()
        .versioning(&req.input.bucket)
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(GetBucketVersioningOutput {
        status: versioning
            .status()
            .map(|s| BucketVersioningStatus::from(s.to_owned())),
        mfa_delete: None,
    }))
}

pub(in crate::s3) async fn put_bucket_versioning(
    store: &Store,
    req: S3Request<PutBucketVersioningInput>,
) -> S3Result<S3Response<PutBucketVersioningOutput>> {
    let input = req.input;
    let enabled = match input
        .versioning_configuration
        .status
        .as_ref()
        .map(s3s::dto::BucketVersioningStatus::as_str)
    {
        Some(BucketVersioningStatus::ENABLED) => true,
        Some(BucketVersioningStatus::SUSPENDED) => false,
        _ => {
            return Err(malformed_xml());
        }
    };
    if input
        .versioning_configuration
        .mfa_delete
        .as_ref()
        .is_some_and(|m| m.as_str() == MFADelete::ENABLED)
    {
        return Err(s3_error!(
            InvalidArgument,
            "MFA Delete can only be enabled with an MFA device, which eddy does not have."
        ));
    }
    if !enabled
        && super::object_lock::bucket_object_lock(store, &input.bucket)
            .await?
            .is_some()
    {
        return Err(s3_error!(
            InvalidBucketState,
            "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."
        ));
    }
    store
        .buckets()
        .set_versioning(&input.bucket, enabled)
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(PutBucketVersioningOutput {}))
}
