//! Object Lock on objects: the retention and legal hold of each version
//! (Get/PutObjectRetention, Get/PutObjectLegalHold), the lock a new object gets (its
//! request's `x-amz-object-lock-*` headers, else its bucket's default retention), the
//! headers reads answer with, and the refusal to delete a locked version: a legal hold
//! or a COMPLIANCE retention refuses every delete of the version and every weakening of
//! the retention; a GOVERNANCE retention yields to
//! `x-amz-bypass-governance-retention: true`. The bucket side (enabling Object Lock,
//! the default retention) is in `bucket_config::object_lock`.

use s3s::dto::{
    GetObjectLegalHoldInput, GetObjectLegalHoldOutput, GetObjectRetentionInput,
    GetObjectRetentionOutput, ObjectLockConfiguration, ObjectLockLegalHold,
    ObjectLockLegalHoldStatus, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
    PutObjectLegalHoldInput, PutObjectLegalHoldOutput, PutObjectRetentionInput,
    PutObjectRetentionOutput, Timestamp,
};
use s3s::{S3Error as WireError, S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{ObjectMeta, Retention, RetentionMode, S3Error};

use super::bucket_config::object_lock::bucket_object_lock;
use super::convert::{timestamp, timestamp_ms};
use super::errors::{custom_error, malformed_xml, to_wire};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// S3's refusal of a change to a locked version.
fn locked() -> WireError {
    s3_error!(
        AccessDenied,
        "Access Denied because object protected by object lock."
    )
}

fn missing_configuration() -> WireError {
    s3_error!(
        InvalidRequest,
        "Bucket is missing Object Lock Configuration"
    )
}

fn no_lock_on_object() -> WireError {
    custom_error(
        "NoSuchObjectLockConfiguration",
        http::StatusCode::NOT_FOUND,
        "The specified object does not have a ObjectLock configuration",
    )
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The Object Lock a new object gets.
#[derive(Debug, Default)]
pub(super) struct NewLock {
    pub retention: Option<Retention>,
    pub legal_hold: Option<bool>,
}

/// The lock of a new object of a bucket whose Object Lock configuration is `config`
/// (see `new_object::NewObjectConfigs`): the one its request's headers name (refused
/// on a bucket without Object Lock), else the bucket's default retention.
pub(super) fn new_object_lock(
    config: Option<&ObjectLockConfiguration>,
    mode: Option<&ObjectLockMode>,
    until: Option<&Timestamp>,
    legal_hold: Option<&ObjectLockLegalHoldStatus>,
) -> S3Result<NewLock> {
    let asked = mode.is_some() || until.is_some() || legal_hold.is_some();
    let Some(config) = config else {
        return if asked {
            Err(missing_configuration())
        } else {
            Ok(NewLock::default())
        };
    };
    let retention = match (mode, until) {
        (Some(mode), Some(until)) => Some(Retention {
            mode: header_mode(mode.as_str())?,
            until_ms: future(until)?,
        }),
        (None, None) => default_retention(config),
        _ => {
            return Err(s3_error!(
                InvalidArgument,
                "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
            ));
        }
    };
    let legal_hold = match legal_hold.map(ObjectLockLegalHoldStatus::as_str) {
        None => None,
        Some(ObjectLockLegalHoldStatus::ON) => Some(true),
        Some(ObjectLockLegalHoldStatus::OFF) => Some(false),
        Some(_) => {
            return Err(s3_error!(
                InvalidArgument,
                "Legal Hold must be either of 'ON' or 'OFF'"
            ));
        }
    };
    Ok(NewLock {
        retention,
        legal_hold,
    })
}

fn header_mode(mode: &str) -> S3Result<RetentionMode> {
    parse_mode(mode).ok_or_else(|| s3_error!(InvalidArgument, "Unknown wormMode directive."))
}

fn parse_mode(mode: &str) -> Option<RetentionMode> {
    match mode {
        ObjectLockRetentionMode::GOVERNANCE => Some(RetentionMode::Governance),
        ObjectLockRetentionMode::COMPLIANCE => Some(RetentionMode::Compliance),
        _ => None,
    }
}

/// A retain-until date, which must be in the future.
fn future(until: &Timestamp) -> S3Result<u64> {
    let until_ms = timestamp_ms(until);
    if until_ms <= now_ms() {
        return Err(s3_error!(
            InvalidArgument,
            "The retain until date must be in the future!"
        ));
    }
    Ok(until_ms)
}

/// The retention the bucket's default rule gives a new version.
fn default_retention(config: &ObjectLockConfiguration) -> Option<Retention> {
    let default = config.rule.as_ref()?.default_retention.as_ref()?;
    let mode = parse_mode(default.mode.as_ref()?.as_str())?;
    let days = match (default.days, default.years) {
        (Some(days), _) => u64::try_from(days).ok()?,
        (None, Some(years)) => u64::try_from(years).ok()? * 365,
        (None, None) => return None,
    };
    Some(Retention {
        mode,
        until_ms: now_ms() + days * DAY_MS,
    })
}

/// The Object Lock headers a read of `meta` answers with.
pub(super) fn lock_headers(
    meta: &ObjectMeta,
) -> (
    Option<ObjectLockMode>,
    Option<Timestamp>,
    Option<ObjectLockLegalHoldStatus>,
) {
    let retention = meta.attrs.retention.as_ref();
    (
        retention.map(|r| ObjectLockMode::from(r.mode.as_str().to_owned())),
        retention.map(|r| timestamp(r.until_ms)),
        meta.attrs.legal_hold.map(|on| {
            ObjectLockLegalHoldStatus::from(
                if on {
                    ObjectLockLegalHoldStatus::ON
                } else {
                    ObjectLockLegalHoldStatus::OFF
                }
                .to_owned(),
            )
        }),
    )
}

/// Refuses the deletion of a version that is locked: under a legal hold, or a
/// retention not yet over (unless GOVERNANCE and `bypass`).
pub(super) fn check_delete(meta: &ObjectMeta, bypass: bool) -> S3Result<()> {
    if meta.attrs.legal_hold == Some(true) {
        return Err(locked());
    }
    match meta.attrs.retention {
        Some(r) if r.until_ms > now_ms() => match r.mode {
            RetentionMode::Governance if bypass => Ok(()),
            _ => Err(locked()),
        },
        _ => Ok(()),
    }
}

/// Refuses, as S3 does, the deletion by version id of a locked version.
pub(super) async fn check_delete_version(
    store: &Store,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    bypass: bool,
) -> S3Result<()> {
    let Some(version_id) = version_id else {
        // A delete without a version id lays a delete marker: nothing is lost.
        return Ok(());
    };
    match store
        .objects()
        .get_version(bucket, key, Some(version_id))
        .await
    {
        Ok(meta) => check_delete(&meta, bypass),
        // A missing version or a delete marker: the delete answers for itself.
        Err(_) => Ok(()),
    }
}

/// The configuration of a bucket with Object Lock, or S3's refusal.
async fn require_lock(store: &Store, bucket: &str) -> S3Result<ObjectLockConfiguration> {
    bucket_object_lock(store, bucket)
        .await?
        .ok_or_else(missing_configuration)
}

async fn version(
    store: &Store,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> S3Result<ObjectMeta> {
    store
        .objects()
        .get_version(bucket, key, version)
        .await
        .map_err(|e| match e {
            S3Error::DeleteMarker {
                requested: true, ..
            } => s3_error!(
                MethodNotAllowed,
                "The specified method is not allowed against this resource."
            ),
            other => to_wire(other),
        })
}

pub(super) async fn get_object_retention(
    store: &Store,
    req: S3Request<GetObjectRetentionInput>,
) -> S3Result<S3Response<GetObjectRetentionOutput>> {
    let input = req.input;
    require_lock(store, &input.bucket).await?;
    let meta = version(
        store,
        &input.bucket,
        &input.key,
        input.version_id.as_deref(),
    )
    .await?;
    let retention = meta.attrs.retention.ok_or_else(no_lock_on_object)?;
    Ok(S3Response::new(GetObjectRetentionOutput {
        retention: Some(ObjectLockRetention {
            mode: Some(ObjectLockRetentionMode::from(
                retention.mode.as_str().to_owned(),
            )),
            retain_until_date: Some(timestamp(retention.until_ms)),
        }),
    }))
}

pub(super) async fn put_object_retention(
    store: &Store,
    req: S3Request<PutObjectRetentionInput>,
) -> S3Result<S3Response<PutObjectRetentionOutput>> {
    let input = req.input;
    require_lock(store, &input.bucket).await?;
    let asked = input.retention.ok_or_else(malformed_xml)?;
    let asked = match (asked.mode, asked.retain_until_date) {
        (Some(mode), Some(until)) => Some(Retention {
            mode: parse_mode(mode.as_str()).ok_or_else(malformed_xml)?,
            until_ms: future(&until)?,
        }),
        (None, None) => None,
        _ => return Err(malformed_xml()),
    };
    let meta = version(
        store,
        &input.bucket,
        &input.key,
        input.version_id.as_deref(),
    )
    .await?;
    let bypass = input.bypass_governance_retention == Some(true);
    if let Some(current) = meta.attrs.retention.filter(|r| r.until_ms > now_ms()) {
        // Only extending a retention in its own mode is always allowed; any other
        // change (shorter, removed, or of another mode) needs the GOVERNANCE bypass.
        let weakens = asked.is_none_or(|a| a.until_ms < current.until_ms || a.mode != current.mode);
        if weakens && !(current.mode == RetentionMode::Governance && bypass) {
            return Err(locked());
        }
    }
    store
        .objects()
        .set_retention(
            &input.bucket,
            &input.key,
            meta.version_id.as_deref().or(Some("null")),
            asked,
        )
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(PutObjectRetentionOutput::default()))
}

pub(super) async fn get_object_legal_hold(
    store: &Store,
    req: S3Request<GetObjectLegalHoldInput>,
) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
    let input = req.input;
    require_lock(store, &input.bucket).await?;
    let meta = version(
        store,
        &input.bucket,
        &input.key,
        input.version_id.as_deref(),
    )
    .await?;
    let (_, _, status) = lock_headers(&meta);
    let status = status.ok_or_else(no_lock_on_object)?;
    Ok(S3Response::new(GetObjectLegalHoldOutput {
        legal_hold: Some(ObjectLockLegalHold {
            status: Some(status),
        }),
    }))
}

pub(super) async fn put_object_legal_hold(
    store: &Store,
    req: S3Request<PutObjectLegalHoldInput>,
) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
    let input = req.input;
    require_lock(store, &input.bucket).await?;
    let on = match input
        .legal_hold
        .and_then(|h| h.status)
        .as_ref()
        .map(ObjectLockLegalHoldStatus::as_str)
    {
        Some(ObjectLockLegalHoldStatus::ON) => true,
        Some(ObjectLockLegalHoldStatus::OFF) => false,
        _ => return Err(malformed_xml()),
    };
    let meta = version(
        store,
        &input.bucket,
        &input.key,
        input.version_id.as_deref(),
    )
    .await?;
    store
        .objects()
        .set_legal_hold(
            &input.bucket,
            &input.key,
            meta.version_id.as_deref().or(Some("null")),
            on,
        )
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(PutObjectLegalHoldOutput::default()))
}
