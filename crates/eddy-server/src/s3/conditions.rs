//! Conditional requests: If-Match, If-None-Match and If-(Un)Modified-Since on reads
//! and copy sources, with S3's precedence rules, and If-Match / If-None-Match on
//! writes. Depends on `convert` and `errors`.

use s3s::dto::{ETagCondition, Timestamp};
use s3s::{S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{ObjectMeta, S3Error};

use super::convert::{etag, timestamp_ms};
use super::errors::{not_modified, precondition_failed, to_wire};

/// Evaluates If-Match / If-None-Match / If-(Un)Modified-Since against an object, with
/// S3's precedence rules.
pub(super) fn check_conditions(
    meta: &ObjectMeta,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let current = etag(meta);
    // Compare at second resolution, as HTTP dates carry no more.
    let modified_s = meta.last_modified_ms / 1000;
    if let Some(condition) = if_match {
        let ok = match condition {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => e.value() == current.value(),
        };
        if !ok {
            return Err(precondition_failed("If-Match"));
        }
    } else if let Some(since) = if_unmodified_since
        && modified_s > timestamp_ms(since) / 1000
    {
        return Err(precondition_failed("If-Unmodified-Since"));
    }
    if let Some(condition) = if_none_match {
        let matched = match condition {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => e.value() == current.value(),
        };
        if matched {
            return Err(not_modified(meta));
        }
    } else if let Some(since) = if_modified_since
        && modified_s <= timestamp_ms(since) / 1000
    {
        return Err(not_modified(meta));
    }
    Ok(())
}

/// Conditional writes (PutObject, CompleteMultipartUpload): `If-None-Match` fails
/// when the current object matches (`*`: when there is one), `If-Match` when it
/// does not (a missing object is NoSuchKey).
pub(super) async fn check_write_conditions(
    store: &Store,
    bucket: &str,
    key: &str,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<()> {
    if if_match.is_none() && if_none_match.is_none() {
        return Ok(());
    }
    let current = match store.objects().get(bucket, key).await {
        Ok(meta) => Some(meta),
        Err(S3Error::NoSuchKey | S3Error::DeleteMarker { .. }) => None,
        Err(other) => return Err(to_wire(other)),
    };
    let matches = |condition: &ETagCondition, meta: &ObjectMeta| match condition {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == meta.etag,
    };
    if let (Some(condition), Some(meta)) = (if_none_match, &current)
        && matches(condition, meta)
    {
        return Err(precondition_failed("If-None-Match"));
    }
    if let Some(condition) = if_match {
        match &current {
            None => {
                return Err(s3_error!(NoSuchKey, "The specified key does not exist."));
            }
            Some(meta) if !matches(condition, meta) => {
                return Err(precondition_failed("If-Match"));
            }
            Some(_) => {}
        }
    }
    Ok(())
}
