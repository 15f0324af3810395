//! The delete family: DeleteObject and DeleteObjects (up to 1,000 keys, each with its
//! own outcome), which remove a version or lay a delete marker and raise the
//! object-removed events.

use s3s::dto::{
    DeleteObjectInput, DeleteObjectOutput, DeleteObjectsInput, DeleteObjectsOutput, DeletedObject,
    Error,
};
use s3s::{S3Request, S3Response, S3Result};

use eddy_store::Store;

use super::authz::{DeniedKeys, access_denied};
use super::convert::context;
use super::errors::{malformed_xml, to_wire};
use super::object_lock::check_delete_version;

pub(super) async fn delete_object(
    store: &Store,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let context = context(&req);
    let input = req.input;
    check_delete_version(
        store,
        &input.bucket,
        &input.key,
        input.version_id.as_deref(),
        input.bypass_governance_retention == Some(true),
    )
    .await?;
    let deleted = store
        .objects()
        .delete_version(
            &input.bucket,
            &input.key,
            input.version_id.as_deref(),
            context,
        )
        .await
        .map_err(to_wire)?;
    let mut response = S3Response::new(DeleteObjectOutput {
        delete_marker: deleted.delete_marker.then_some(true),
        version_id: deleted.version_id,
        ..Default::default()
    });
    response.status = Some(http::StatusCode::NO_CONTENT);
    Ok(response)
}

pub(super) async fn delete_objects(
    store: &Store,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let context = context(&req);
    let denied = req
        .extensions
        .get::<DeniedKeys>()
        .cloned()
        .unwrap_or_default();
    let input = req.input;
    if input.delete.objects.len() > 1000 {
        return Err(malformed_xml());
    }
    store.buckets().get(&input.bucket).await.map_err(to_wire)?;
    let quiet = input.delete.quiet.unwrap_or(false);
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    let bypass = input.bypass_governance_retention == Some(true);
    for (index, object) in input.delete.objects.into_iter().enumerate() {
        let refused = if denied.0.contains(&index) {
            Err(access_denied())
        } else {
            check_delete_version(
                store,
                &input.bucket,
                &object.key,
                object.version_id.as_deref(),
                bypass,
            )
            .await
        };
        if let Err(refused) = refused {
            errors.push(Error {
                code: Some(refused.code().as_str().to_owned()),
                key: Some(object.key),
                version_id: object.version_id,
                message: refused.message().map(str::to_owned),
            });
            continue;
        }
        match store
            .objects()
            .delete_version(
                &input.bucket,
                &object.key,
                object.version_id.as_deref(),
                context.clone(),
            )
            .await
        {
            Ok(outcome) => {
                if !quiet {
                    let marker_created = outcome.delete_marker && object.version_id.is_none();
                    deleted.push(DeletedObject {
                        key: Some(object.key),
                        version_id: object.version_id,
                        delete_marker: outcome.delete_marker.then_some(true),
                        delete_marker_version_id: if marker_created {
                            outcome.version_id
                        } else {
                            None
                        },
                    });
                }
            }
            Err(error) => {
                let wire = to_wire(error);
                errors.push(Error {
                    code: Some(wire.code().as_str().to_owned()),
                    key: Some(object.key),
                    message: wire.message().map(str::to_owned),
                    ..Default::default()
                });
            }
        }
    }
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: (!deleted.is_empty()).then_some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    }))
}
