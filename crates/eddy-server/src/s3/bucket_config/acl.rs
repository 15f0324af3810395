//! The bucket ACL (Get/PutBucketAcl): the owner's FULL_CONTROL; any other grant is
//! refused, as under S3's default "bucket owner enforced" ownership.

use s3s::dto::{
    BucketCannedACL, GetBucketAclInput, GetBucketAclOutput, PutBucketAclInput, PutBucketAclOutput,
};
use s3s::{S3Request, S3Response, S3Result};

use eddy_store::Store;

use crate::s3::convert::{owner, owner_grants};
use crate::s3::errors::{acls_not_supported, to_wire};

pub(in crate::s3) async fn get_bucket_acl(
    store: &Store,
    req: S3Request<GetBucketAclInput>,
) -> S3Result<S3Response<GetBucketAclOutput>> {
    store
        .buckets()
        .get(&req.input.bucket)
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(GetBucketAclOutput {
        grants: Some(owner_grants(store)),
        owner: Some(owner(store)),
    }))
}

pub(in crate::s3) async fn put_bucket_acl(
    store: &Store,
    req: S3Request<PutBucketAclInput>,
) -> S3Result<S3Response<PutBucketAclOutput>> {
    let input = req.input;
    store.buckets().get(&input.bucket).await.map_err(to_wire)?;
    let canned_ok = input
        .acl
        .as_ref()
        .is_none_or(|acl| acl.as_str() == BucketCannedACL::PRIVATE);
    let grants = input.grant_full_control.is_some()
        || input.grant_read.is_some()
        || input.grant_read_acp.is_some()
        || input.grant_write.is_some()
        || input.grant_write_acp.is_some()
        || input.access_control_policy.is_some();
    if !canned_ok || grants {
        return Err(acls_not_supported());
    }
    Ok(S3Response::new(PutBucketAclOutput {}))
}
