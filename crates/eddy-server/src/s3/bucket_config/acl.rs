//! The bucket ACL (Get/PutBucketAcl) and the rules every ACL write follows: under S3's
//! default "bucket owner enforced" ownership only the owner's FULL_CONTROL is taken
//! (`AccessControlListNotSupported` otherwise); with ACLs enabled (`ObjectWriter`,
//! `BucketOwnerPreferred`) the grants are stored and returned, and public grants are
//! refused while Block Public Access blocks public ACLs. The grants are evaluated for
//! unsigned requests (`authz`).

use s3s::dto::{
    BucketCannedACL, CreateBucketInput, GetBucketAclInput, GetBucketAclOutput, ObjectOwnership,
    PutBucketAclInput, PutBucketAclOutput,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{AclGrant, Config, ConfigKind};

use super::document::{internal, load_config};
use super::ownership::acls_enabled;
use super::public_access::bucket_public_access;
use crate::s3::authz::acl::{AclRequest, any_public, grants_to_dto, owner_only};
use crate::s3::convert::owner;
use crate::s3::errors::{acls_not_supported, custom_error, to_wire};

pub(in crate::s3) async fn get_bucket_acl(
    store: &Store,
    req: S3Request<GetBucketAclInput>,
) -> S3Result<S3Response<GetBucketAclOutput>> {
    let grants = bucket_grants(store, &req.input.bucket).await?;
    Ok(S3Response::new(GetBucketAclOutput {
        grants: Some(grants_to_dto(&grants)),
        owner: Some(owner(store)),
    }))
}

pub(in crate::s3) async fn put_bucket_acl(
    store: &Store,
    req: S3Request<PutBucketAclInput>,
) -> S3Result<S3Response<PutBucketAclOutput>> {
    let input = req.input;
    store.buckets().get(&input.bucket).await.map_err(to_wire)?;
    let request = AclRequest {
        canned: input.acl.as_ref().map(BucketCannedACL::as_str),
        full_control: input.grant_full_control.as_deref(),
        read: input.grant_read.as_deref(),
        read_acp: input.grant_read_acp.as_deref(),
        write: input.grant_write.as_deref(),
        write_acp: input.grant_write_acp.as_deref(),
        policy: input.access_control_policy.as_ref(),
    };
    let grants = request.grants(store)?;
    admit(store, &input.bucket, &grants).await?;
    let document =
        serde_json::to_string(&grants).map_err(|_| internal("an ACL could not be written"))?;
    store
        .bucket_configs()
        .put(&input.bucket, ConfigKind::Acl, "", document)
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(PutBucketAclOutput {}))
}

/// A bucket's grants in force: its stored ACL while ACLs are enabled, otherwise the
/// owner's FULL_CONTROL.
pub(in crate::s3) async fn bucket_grants(store: &Store, bucket: &str) -> S3Result<Vec<AclGrant>> {
    let stored = load_config(store, bucket, ConfigKind::Acl, "").await?;
    let Config::Set(document) = stored else {
        return Ok(owner_only(store));
    };
    if !acls_enabled(store, bucket).await? {
        return Ok(owner_only(store));
    }
    serde_json::from_str(&document).map_err(|_| internal("a stored bucket ACL could not be read"))
}

/// Refuses an ACL that `bucket` does not take: anything but the owner's FULL_CONTROL
/// while ACLs are disabled, public grants while Block Public Access blocks them.
pub(in crate::s3) async fn admit(store: &Store, bucket: &str, grants: &[AclGrant]) -> S3Result<()> {
    if !acls_enabled(store, bucket).await? {
        if grants == owner_only(store).as_slice() {
            return Ok(());
        }
        return Err(acls_not_supported());
    }
    let blocked = bucket_public_access(store, bucket)
        .await?
        .is_some_and(|block| block.block_public_acls == Some(true));
    if blocked && any_public(grants) {
        return Err(s3_error!(AccessDenied, "Access Denied"));
    }
    Ok(())
}

/// The ACL a new object gets from its write's `x-amz-acl` or `x-amz-grant-*` headers
/// (`None`: the owner's FULL_CONTROL only). A write naming no ACL reads nothing.
pub(in crate::s3) async fn new_object_acl(
    store: &Store,
    bucket: &str,
    request: &AclRequest<'_>,
) -> S3Result<Option<Vec<AclGrant>>> {
    if request.is_empty() {
        return Ok(None);
    }
    let grants = request.grants(store)?;
    admit(store, bucket, &grants).await?;
    Ok(Some(grants).filter(|g| *g != owner_only(store)))
}

/// The ACL document of a new bucket created with `x-amz-acl` or `x-amz-grant-*`
/// (`None`: the owner's FULL_CONTROL only). A new bucket blocks public ACLs, and
/// takes none at all under "bucket owner enforced" ownership (its default).
pub(in crate::s3) fn creation_document(
    store: &Store,
    input: &CreateBucketInput,
    request: &AclRequest<'_>,
) -> S3Result<Option<String>> {
    if request.is_empty() {
        return Ok(None);
    }
    let grants = request.grants(store)?;
    if grants == owner_only(store) {
        return Ok(None);
    }
    let enforced = input
        .object_ownership
        .as_ref()
        .is_none_or(|o| o.as_str() == ObjectOwnership::BUCKET_OWNER_ENFORCED);
    if enforced {
        return Err(s3_error!(
            InvalidBucketAclWithObjectOwnership,
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
        ));
    }
    if any_public(&grants) {
        return Err(custom_error(
            "InvalidBucketAclWithBlockPublicAccessError",
            http::StatusCode::BAD_REQUEST,
            "Bucket cannot have public ACLs set with BlockPublicAccess enabled",
        ));
    }
    serde_json::to_string(&grants)
        .map(Some)
        .map_err(|_| internal("an ACL could not be written"))
}
