//! An object's sub-resources: its tags (Get/Put/DeleteObjectTagging) and its ACL
//! (Get/PutObjectAcl: the owner's FULL_CONTROL, as under S3's default "bucket owner
//! enforced" ownership); tag and ACL changes raise their events. (Retention and legal
//! hold are in `object_lock`.)

use s3s::dto::{
    DeleteObjectTaggingInput, DeleteObjectTaggingOutput, GetObjectAclInput, GetObjectAclOutput,
    GetObjectTaggingInput, GetObjectTaggingOutput, ObjectCannedACL, PutObjectAclInput,
    PutObjectAclOutput, PutObjectTaggingInput, PutObjectTaggingOutput,
};
use s3s::{S3Request, S3Response, S3Result};

use eddy_store::Store;

use super::convert::{context, owner, owner_grants, reported_version};
use super::errors::{acls_not_supported, to_wire};
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
    store
        .objects()
        .get_version(&input.bucket, &input.key, input.version_id.as_deref())
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(GetObjectAclOutput {
        grants: Some(owner_grants(store)),
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
    let canned_ok = input.acl.as_ref().is_none_or(|acl| {
        acl.as_str() == ObjectCannedACL::PRIVATE
            || acl.as_str() == ObjectCannedACL::BUCKET_OWNER_FULL_CONTROL
    });
    let grants = input.grant_full_control.is_some()
        || input.grant_read.is_some()
        || input.grant_read_acp.is_some()
        || input.grant_write_acp.is_some()
        || input.access_control_policy.is_some();
    if !canned_ok || grants {
        return Err(acls_not_supported());
    }
    store
        .objects()
        .acl_put(
            &input.bucket,
            &input.key,
            input.version_id.as_deref(),
            context,
        )
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(PutObjectAclOutput::default()))
}
