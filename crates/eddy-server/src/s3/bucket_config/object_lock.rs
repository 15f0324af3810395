//! Object Lock (Get/PutObjectLockConfiguration): enabled when the bucket is created
//! with it or later on a versioned bucket, with an optional default retention; a
//! bucket without it answers `ObjectLockConfigurationNotFoundError`. The retention and
//! legal hold of objects are in `s3::object_lock`.

use s3s::dto::{
    GetObjectLockConfigurationInput, GetObjectLockConfigurationOutput, ObjectLockConfiguration,
    ObjectLockEnabled, ObjectLockRetentionMode, PutObjectLockConfigurationInput,
    PutObjectLockConfigurationOutput,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{Config, ConfigKind};

use super::document::{load, malformed, parse, save, to_document};
use crate::s3::errors::{custom_error, to_wire};

const ROOT: &str = "ObjectLockConfiguration";

pub(in crate::s3) async fn get_object_lock_configuration(
    store: &Store,
    req: S3Request<GetObjectLockConfigurationInput>,
) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
    let config = bucket_object_lock(store, &req.input.bucket)
        .await?
        .ok_or_else(|| {
            s3_error!(
                ObjectLockConfigurationNotFoundError,
                "Object Lock configuration does not exist for this bucket"
            )
        })?;
    Ok(S3Response::new(GetObjectLockConfigurationOutput {
        object_lock_configuration: Some(config),
    }))
}

pub(in crate::s3) async fn put_object_lock_configuration(
    store: &Store,
    req: S3Request<PutObjectLockConfigurationInput>,
) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
    let input = req.input;
    let config = input.object_lock_configuration.ok_or_else(malformed)?;
    validate(&config)?;
    let versioning = store
        .buckets()
        .versioning(&input.bucket)
        .await
        .map_err(to_wire)?;
    if versioning.status() != Some("Enabled") {
        return Err(s3_error!(
            InvalidBucketState,
            "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
        ));
    }
    save(
        store,
        &input.bucket,
        ConfigKind::ObjectLock,
        "",
        ROOT,
        &config,
    )
    .await?;
    Ok(S3Response::new(PutObjectLockConfigurationOutput::default()))
}

/// A bucket's Object Lock configuration (`None`: Object Lock is not enabled).
pub(in crate::s3) async fn bucket_object_lock(
    store: &Store,
    bucket: &str,
) -> S3Result<Option<ObjectLockConfiguration>> {
    load(store, bucket, ConfigKind::ObjectLock, "", ROOT).await
}

/// The Object Lock configuration a stored one (read with the store's `get_kinds`)
/// holds: `None` when Object Lock is not enabled.
pub(super) fn from_stored(config: Config) -> S3Result<Option<ObjectLockConfiguration>> {
    parse(config, ROOT)
}

/// The configuration of a bucket created with Object Lock enabled.
pub(in crate::s3) fn creation_document() -> S3Result<String> {
    to_document(
        ROOT,
        &ObjectLockConfiguration {
            object_lock_enabled: Some(ObjectLockEnabled::from(
                ObjectLockEnabled::ENABLED.to_owned(),
            )),
            rule: None,
        },
    )
}

fn validate(config: &ObjectLockConfiguration) -> S3Result<()> {
    if config
        .object_lock_enabled
        .as_ref()
        .map(ObjectLockEnabled::as_str)
        != Some(ObjectLockEnabled::ENABLED)
    {
        return Err(malformed());
    }
    let Some(rule) = &config.rule else {
        return Ok(());
    };
    let Some(retention) = &rule.default_retention else {
        return Err(malformed());
    };
    match retention.mode.as_ref().map(ObjectLockRetentionMode::as_str) {
        Some(ObjectLockRetentionMode::GOVERNANCE | ObjectLockRetentionMode::COMPLIANCE) => {}
        _ => return Err(malformed()),
    }
    let period = match (retention.days, retention.years) {
        (Some(days), None) => days,
        (None, Some(years)) => years,
        _ => return Err(malformed()),
    };
    if period <= 0 {
        return Err(custom_error(
            "InvalidRetentionPeriod",
            http::StatusCode::BAD_REQUEST,
            "Default retention period must be a positive integer value.",
        ));
    }
    Ok(())
}
