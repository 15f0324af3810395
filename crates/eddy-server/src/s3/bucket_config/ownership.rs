//! Object Ownership (Get/Put/DeleteBucketOwnershipControls): "bucket owner enforced"
//! for a new bucket (S3's default since April 2023) unless CreateBucket named another;
//! after a delete the bucket answers `OwnershipControlsNotFoundError`. ACLs cannot be
//! disabled while the bucket ACL grants more than the owner's FULL_CONTROL.

use s3s::dto::{
    DeleteBucketOwnershipControlsInput, DeleteBucketOwnershipControlsOutput,
    GetBucketOwnershipControlsInput, GetBucketOwnershipControlsOutput, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PutBucketOwnershipControlsInput,
    PutBucketOwnershipControlsOutput,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{AclGrant, Config, ConfigKind};

use super::document::{
    from_document, internal, load_config, malformed, no_content, remove, save, to_document,
};
use crate::s3::authz::acl::owner_only;

const ROOT: &str = "OwnershipControls";

pub(in crate::s3) async fn get_bucket_ownership_controls(
    store: &Store,
    req: S3Request<GetBucketOwnershipControlsInput>,
) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
    let controls = match load_config(store, &req.input.bucket, ConfigKind::Ownership, "").await? {
        Config::Unset => controls(ObjectOwnership::BUCKET_OWNER_ENFORCED),
        Config::Removed => {
            return Err(s3_error!(
                OwnershipControlsNotFoundError,
                "The bucket ownership controls were not found"
            ));
        }
        Config::Set(document) => from_document(ROOT, &document)?,
    };
    Ok(S3Response::new(GetBucketOwnershipControlsOutput {
        ownership_controls: Some(controls),
    }))
}

pub(in crate::s3) async fn put_bucket_ownership_controls(
    store: &Store,
    req: S3Request<PutBucketOwnershipControlsInput>,
) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
    let input = req.input;
    validate(&input.ownership_controls)?;
    refuse_enforced_with_grants(store, &input.bucket, &input.ownership_controls).await?;
    save(
        store,
        &input.bucket,
        ConfigKind::Ownership,
        "",
        ROOT,
        &input.ownership_controls,
    )
    .await?;
    Ok(S3Response::new(PutBucketOwnershipControlsOutput {}))
}

pub(in crate::s3) async fn delete_bucket_ownership_controls(
    store: &Store,
    req: S3Request<DeleteBucketOwnershipControlsInput>,
) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
    remove(store, &req.input.bucket, ConfigKind::Ownership, "").await?;
    Ok(no_content(DeleteBucketOwnershipControlsOutput {}))
}

/// Refuses, as S3 does, to enforce bucket ownership (disable ACLs) on a bucket
/// whose ACL grants more than the owner's FULL_CONTROL.
async fn refuse_enforced_with_grants(
    store: &Store,
    bucket: &str,
    controls: &OwnershipControls,
) -> S3Result<()> {
    let enforced = controls
        .rules
        .iter()
        .any(|rule| rule.object_ownership.as_str() == ObjectOwnership::BUCKET_OWNER_ENFORCED);
    if !enforced {
        return Ok(());
    }
    let Config::Set(document) = load_config(store, bucket, ConfigKind::Acl, "").await? else {
        return Ok(());
    };
    let grants: Vec<AclGrant> = serde_json::from_str(&document)
        .map_err(|_| internal("a stored bucket ACL could not be read"))?;
    if grants == owner_only(store) {
        return Ok(());
    }
    Err(s3_error!(
        InvalidBucketAclWithObjectOwnership,
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
    ))
}

/// The ownership document of a new bucket created with `x-amz-object-ownership`.
pub(in crate::s3) fn creation_document(ownership: &ObjectOwnership) -> S3Result<String> {
    let controls = controls(ownership.as_str());
    validate(&controls)?;
    to_document(ROOT, &controls)
}

fn controls(ownership: &str) -> OwnershipControls {
    OwnershipControls {
        rules: vec![OwnershipControlsRule {
            object_ownership: ObjectOwnership::from(ownership.to_owned()),
        }],
    }
}

fn validate(controls: &OwnershipControls) -> S3Result<()> {
    let [rule] = controls.rules.as_slice() else {
        return Err(malformed());
    };
    match rule.object_ownership.as_str() {
        ObjectOwnership::BUCKET_OWNER_ENFORCED
        | ObjectOwnership::BUCKET_OWNER_PREFERRED
        | ObjectOwnership::OBJECT_WRITER => Ok(()),
        _ => Err(s3_error!(
            InvalidArgument,
            "Invalid x-amz-object-ownership header: {}",
            rule.object_ownership.as_str()
        )),
    }
}

/// Whether ACLs of `bucket` are in force: its ownership is not "bucket owner
/// enforced" (a bucket whose ownership controls were deleted is "object writer").
pub(in crate::s3) async fn acls_enabled(store: &Store, bucket: &str) -> S3Result<bool> {
    Ok(
        match load_config(store, bucket, ConfigKind::Ownership, "").await? {
            Config::Unset => false,
            Config::Removed => true,
            Config::Set(document) => {
                let controls: OwnershipControls = from_document(ROOT, &document)?;
                controls.rules.iter().all(|rule| {
                    rule.object_ownership.as_str() != ObjectOwnership::BUCKET_OWNER_ENFORCED
                })
            }
        },
    )
}
