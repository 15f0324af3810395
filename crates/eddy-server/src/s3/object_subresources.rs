//! An object's sub-resources: its tags (Get/Put/DeleteObjectTagging) and its ACL
//! (Get/PutObjectAcl: stored while the bucket's ACLs are enabled, the
//! owner's FULL_CONTROL otherwise); tag and ACL changes raise their events. (Retention and legal
//! hold are in `object_lock`.)

use s3s::dto::{
    DeleteObjectTaggingInput, DeleteObjectTaggingOutput, GetObjectAclInput, GetObjectAclOutput,
    GetObjectTaggingInput, GetObjectTaggingOutput, ObjectCannedACL, PutObjectAclInput,
    PutObjectAclOutput, PutObjectTaggingInput, PutObjectTaggingOutput,
};
use s3s::{S3Request, S3Response, S3Result};

use eddy_store::Store;
use eddy_store::s3::{AclGrant, ObjectMeta};

use super::authz::acl::{AclRequest, grants_to_dto, owner_only};
use super::bucket_config::acl::admit;
use super::bucket_config::ownership::acls_enabled;
use super::convert::{context, owner, reported_version};
use super::errors::to_wire;
use super::tags::{MAX_OBJECT_TAGS, tag_set, tags_from_set};

pub(super) async fn get_object_tagging(
    store: &Store,
    req: S3Request<GetObjectTaggingInput>,
) -> S3Result<S3Response<GetObjectTaggingOutput>> {
    let input = req.input;
    let meta = store
        .objects()
        .get_version(&input.bucket, &input.key, input.version_id.as_deref())
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(GetObjectTaggingOutput {
        tag_set: tag_set(&meta.attrs.tags),
        version_id: reported_version(&meta, input.version_id.as_deref()),
    }))
}

pub(super) async fn put_object_tagging(
    store: &Store,
    req: S3Request<PutObjectTaggingInput>,
) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    let context = context(&req);
    let input = req.input;
    let tags = tags_from_set(input.tagging, MAX_OBJECT_TAGS)?;
    let meta = store
        .objects()
        .set_tags(
            &input.bucket,
            &input.key,
            input.version_id.as_deref(),
            Some(tags),
            context,
        )
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(PutObjectTaggingOutput {
        version_id: reported_version(&meta, input.version_id.as_deref()),
    }))
}

pub(super) async fn delete_object_tagging(
    store: &Store,
    req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    let context = context(&req);
    let input = req.input;
    let meta = store
        .objects()
        .set_tags(
            &input.bucket,
            &input.key,
            input.version_id.as_deref(),
            None,
            context,
        )
        .await
        .map_err(to_wire)?;
    let mut response = S3Response::new(DeleteObjectTaggingOutput {
        version_id: reported_version(&meta, input.version_id.as_deref()),
    });
    response.status = Some(http::StatusCode::NO_CONTENT);
    Ok(response)
}

pub(super) async fn get_object_acl(
    store: &Store,
    req: S3Request<GetObjectAclInput>,
) -> S3Result<S3Response<GetObjectAclOutput>> {
    let input = req.input;
    let meta = store
        .objects()
        .get_version(&input.bucket, &input.key, input.version_id.as_deref())
        .await
        .map_err(to_wire)?;
    let grants = object_grants(store, &meta).await?;
    Ok(S3Response::new(GetObjectAclOutput {
        grants: Some(grants_to_dto(&grants)),
        owner: Some(owner(store)),
        ..Default::default()
    }))
}

pub(super) async fn put_object_acl(
    store: &Store,
    req: S3Request<PutObjectAclInput>,
) -> S3Result<S3Response<PutObjectAclOutput>> {
    let context = context(&req);
    let input = req.input;
    store
        .objects()
        .get_version(&input.bucket, &input.key, input.version_id.as_deref())
        .await
        .map_err(to_wire)?;
    let request = AclRequest {
        canned: input.acl.as_ref().map(ObjectCannedACL::as_str),
        full_control: input.grant_full_control.as_deref(),
        read: input.grant_read.as_deref(),
        read_acp: input.grant_read_acp.as_deref(),
        write: None,
        write_acp: input.grant_write_acp.as_deref(),
        policy: input.access_control_policy.as_ref(),
    };
    let grants = request.grants(store)?;
    admit(store, &input.bucket, &grants).await?;
    let grants = Some(grants).filter(|g| *g != owner_only(store));
    store
        .objects()
        .acl_put(
            &input.bucket,
            &input.key,
            input.version_id.as_deref(),
            grants,
            context,
        )
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(PutObjectAclOutput::default()))
}

/// An object version's grants in force: its own while the bucket's ACLs are
/// enabled, otherwise the owner's FULL_CONTROL.
pub(super) async fn object_grants(store: &Store, meta: &ObjectMeta) -> S3Result<Vec<AclGrant>> {
    match &meta.attrs.acl {
        Some(grants) if acls_enabled(store, &meta.bucket).await? => Ok(grants.clone()),
        _ => Ok(owner_only(store)),
    }
}
