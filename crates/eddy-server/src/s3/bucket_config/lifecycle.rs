//! Lifecycle (Get/Put/DeleteBucketLifecycleConfiguration): the rules, validated with
//! S3's rules and messages. A new bucket has none. `lifecycle_sweeper` runs them.

use std::collections::HashSet;

use s3s::dto::{
    BucketLifecycleConfiguration, DeleteBucketLifecycleInput, DeleteBucketLifecycleOutput,
    ExpirationStatus, GetBucketLifecycleConfigurationInput, GetBucketLifecycleConfigurationOutput,
    LifecycleRule, PutBucketLifecycleConfigurationInput, PutBucketLifecycleConfigurationOutput,
    Timestamp, TransitionDefaultMinimumObjectSize,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{Config, ConfigKind};

use super::document::{load, malformed, no_content, parse, remove, save};

const ROOT: &str = "LifecycleConfiguration";
const MAX_RULES: usize = 1000;

pub(in crate::s3) async fn get_bucket_lifecycle_configuration(
    store: &Store,
    req: S3Request<GetBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
    let config: BucketLifecycleConfiguration =
        load(store, &req.input.bucket, ConfigKind::Lifecycle, "", ROOT)
            .await?
            .ok_or_else(|| {
                s3_error!(
                    NoSuchLifecycleConfiguration,
                    "The lifecycle configuration does not exist"
                )
            })?;
    Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
        rules: Some(config.rules),
        transition_default_minimum_object_size: Some(default_minimum_size()),
    }))
}

pub(in crate::s3) async fn put_bucket_lifecycle_configuration(
    store: &Store,
    req: S3Request<PutBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
    let input = req.input;
    let mut config = input.lifecycle_configuration.ok_or_else(malformed)?;
    validate(&config)?;
    // S3 names a rule that comes without an ID.
    for rule in &mut config.rules {
        if rule.id.is_none() {
            rule.id = Some(generated_rule_id());
        }
    }
    save(
        store,
        &input.bucket,
        ConfigKind::Lifecycle,
        "",
        ROOT,
        &config,
    )
    .await?;
    Ok(S3Response::new(PutBucketLifecycleConfigurationOutput {
        transition_default_minimum_object_size: Some(default_minimum_size()),
    }))
}

pub(in crate::s3) async fn delete_bucket_lifecycle(
    store: &Store,
    req: S3Request<DeleteBucketLifecycleInput>,
) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
    remove(store, &req.input.bucket, ConfigKind::Lifecycle, "").await?;
    Ok(no_content(DeleteBucketLifecycleOutput {}))
}

/// A bucket's lifecycle rules (`None`: it has none), for the sweeper.
pub(in crate::s3) async fn bucket_lifecycle(
    store: &Store,
    bucket: &str,
) -> S3Result<Option<BucketLifecycleConfiguration>> {
    load(store, bucket, ConfigKind::Lifecycle, "", ROOT).await
}

/// The lifecycle rules a stored configuration (read with the store's `get_kinds`)
/// holds, or `None`.
pub(super) fn from_stored(config: Config) -> S3Result<Option<BucketLifecycleConfiguration>> {
    parse(config, ROOT)
}

/// An ID like the ones S3 gives rules sent without one: a UUID's text in base64
/// (48 characters).
fn generated_rule_id() -> String {
    use base64::Engine as _;
    let uuid = eddy_store::ids::random_uuid().hyphenated().to_string();
    base64::engine::general_purpose::STANDARD.encode(uuid)
}

/// S3's default since September 2024: objects under 128 KiB do not transition.
fn default_minimum_size() -> TransitionDefaultMinimumObjectSize {
    TransitionDefaultMinimumObjectSize::from(
        TransitionDefaultMinimumObjectSize::ALL_STORAGE_CLASSES_128K.to_owned(),
    )
}

fn validate(config: &BucketLifecycleConfiguration) -> S3Result<()> {
    if config.rules.is_empty() || config.rules.len() > MAX_RULES {
        return Err(malformed());
    }
    let mut ids = HashSet::new();
    for rule in &config.rules {
        if let Some(id) = &rule.id {
            if id.len() > 255 {
                return Err(s3_error!(
                    InvalidArgument,
                    "ID length should not exceed allowed limit of 255"
                ));
            }
            if !ids.insert(id.as_str()) {
                return Err(s3_error!(
                    InvalidArgument,
                    "Rule ID must be unique. Found same ID for more than one rule"
                ));
            }
        }
        validate_rule(rule)?;
    }
    Ok(())
}

fn validate_rule(rule: &LifecycleRule) -> S3Result<()> {
    if !matches!(
        rule.status.as_str(),
        ExpirationStatus::ENABLED | ExpirationStatus::DISABLED
    ) {
        return Err(malformed());
    }
    // A rule names its objects with a Filter or (the older form) a Prefix, not both.
    if rule.filter.is_some() && rule.prefix.is_some() {
        return Err(malformed());
    }
    let has_tags = rule
        .filter
        .as_ref()
        .is_some_and(|f| f.tag.is_some() || f.and.as_ref().is_some_and(|a| a.tags.is_some()));
    if let Some(filter) = &rule.filter {
        let set = [
            filter.prefix.is_some(),
            filter.tag.is_some(),
            filter.and.is_some(),
            filter.object_size_greater_than.is_some(),
            filter.object_size_less_than.is_some(),
        ];
        if set.iter().filter(|s| **s).count() > 1 {
            return Err(malformed());
        }
    }
    let has_action = rule.expiration.is_some()
        || rule.noncurrent_version_expiration.is_some()
        || rule.abort_incomplete_multipart_upload.is_some()
        || rule.transitions.as_ref().is_some_and(|t| !t.is_empty())
        || rule
            .noncurrent_version_transitions
            .as_ref()
            .is_some_and(|t| !t.is_empty());
    if !has_action {
        return Err(s3_error!(
            InvalidRequest,
            "At least one action needs to be specified in a rule"
        ));
    }
    if let Some(expiration) = &rule.expiration {
        let given = [
            expiration.days.is_some(),
            expiration.date.is_some(),
            expiration.expired_object_delete_marker.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(malformed());
        }
        if expiration.days.is_some_and(|d| d <= 0) {
            return Err(s3_error!(
                InvalidArgument,
                "'Days' for Expiration action must be a positive integer"
            ));
        }
        if let Some(date) = &expiration.date {
            check_midnight(date)?;
        }
        if expiration.expired_object_delete_marker.is_some() && has_tags {
            return Err(s3_error!(
                InvalidRequest,
                "ExpiredObjectDeleteMarker cannot be specified with tags."
            ));
        }
    }
    if let Some(noncurrent) = &rule.noncurrent_version_expiration {
        if noncurrent.noncurrent_days.is_none_or(|d| d <= 0) {
            return Err(s3_error!(
                InvalidArgument,
                "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"
            ));
        }
        if noncurrent
            .newer_noncurrent_versions
            .is_some_and(|n| !(1..=100).contains(&n))
        {
            return Err(s3_error!(
                InvalidArgument,
                "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer up to 100"
            ));
        }
    }
    if let Some(abort) = &rule.abort_incomplete_multipart_upload {
        if abort.days_after_initiation.is_none_or(|d| d <= 0) {
            return Err(s3_error!(
                InvalidArgument,
                "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"
            ));
        }
        if has_tags {
            return Err(s3_error!(
                InvalidRequest,
                "AbortIncompleteMultipartUpload cannot be specified with Tags."
            ));
        }
    }
    for transition in rule.transitions.iter().flatten() {
        if transition.days.is_some() == transition.date.is_some() {
            return Err(malformed());
        }
        if transition.days.is_some_and(|d| d < 0) {
            return Err(s3_error!(
                InvalidArgument,
                "'Days' in Transition action must be nonnegative"
            ));
        }
        if let Some(date) = &transition.date {
            check_midnight(date)?;
        }
        if transition.storage_class.is_none() {
            return Err(malformed());
        }
    }
    for transition in rule.noncurrent_version_transitions.iter().flatten() {
        if transition.noncurrent_days.is_none_or(|d| d < 0) || transition.storage_class.is_none() {
            return Err(malformed());
        }
    }
    Ok(())
}

/// S3 takes dates in lifecycle rules at midnight UTC only.
fn check_midnight(date: &Timestamp) -> S3Result<()> {
    let at = time::OffsetDateTime::from(date.clone());
    if at.time() == time::Time::MIDNIGHT {
        Ok(())
    } else {
        Err(s3_error!(InvalidArgument, "'Date' must be at midnight GMT"))
    }
}
