//! Replication (Get/Put/DeleteBucketReplication): rules with a role and destination
//! buckets, accepted on the terms S3 sets (versioning enabled on the source and on
//! each destination that is in this account). A new bucket answers
//! `ReplicationConfigurationNotFoundError`. (eddy stores the configuration; it does
//! not copy objects.)

use std::collections::HashSet;

use s3s::dto::{
    DeleteBucketReplicationInput, DeleteBucketReplicationOutput, GetBucketReplicationInput,
    GetBucketReplicationOutput, PutBucketReplicationInput, PutBucketReplicationOutput,
    ReplicationConfiguration, ReplicationRuleStatus,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{ConfigKind, S3Error};

use super::document::{load, malformed, no_content, remove, save};
use crate::s3::errors::to_wire;

const ROOT: &str = "ReplicationConfiguration";
const MAX_RULES: usize = 1000;

pub(in crate::s3) async fn get_bucket_replication(
    store: &Store,
    req: S3Request<GetBucketReplicationInput>,
) -> S3Result<S3Response<GetBucketReplicationOutput>> {
    let config: ReplicationConfiguration =
        load(store, &req.input.bucket, ConfigKind::Replication, "", ROOT)
            .await?
            .ok_or_else(|| {
                s3_error!(
                    ReplicationConfigurationNotFoundError,
                    "The replication configuration was not found"
                )
            })?;
    Ok(S3Response::new(GetBucketReplicationOutput {
        replication_configuration: Some(config),
    }))
}

pub(in crate::s3) async fn put_bucket_replication(
    store: &Store,
    req: S3Request<PutBucketReplicationInput>,
) -> S3Result<S3Response<PutBucketReplicationOutput>> {
    let input = req.input;
    let config = input.replication_configuration;
    validate(&config)?;
    let versioning = store
        .buckets()
        .versioning(&input.bucket)
        .await
        .map_err(to_wire)?;
    if versioning.status() != Some("Enabled") {
        return Err(s3_error!(
            InvalidRequest,
            "Versioning must be 'Enabled' on the bucket to apply a replication configuration"
        ));
    }
    for rule in &config.rules {
        let destination = &rule.destination.bucket;
        let Some(name) = destination.strip_prefix("arn:aws:s3:::") else {
            return Err(s3_error!(
                InvalidArgument,
                "Invalid bucket ARN: {}",
                destination
            ));
        };
        match store.buckets().versioning(name).await {
            Ok(v) if v.status() == Some("Enabled") => {}
            Ok(_) => {
                return Err(s3_error!(
                    InvalidRequest,
                    "Destination bucket must have versioning enabled."
                ));
            }
            Err(S3Error::NoSuchBucket) => {
                return Err(s3_error!(InvalidRequest, "Destination bucket must exist."));
            }
            Err(error) => return Err(to_wire(error)),
        }
    }
    save(
        store,
        &input.bucket,
        ConfigKind::Replication,
        "",
        ROOT,
        &config,
    )
    .await?;
    Ok(S3Response::new(PutBucketReplicationOutput {}))
}

pub(in crate::s3) async fn delete_bucket_replication(
    store: &Store,
    req: S3Request<DeleteBucketReplicationInput>,
) -> S3Result<S3Response<DeleteBucketReplicationOutput>> {
    remove(store, &req.input.bucket, ConfigKind::Replication, "").await?;
    Ok(no_content(DeleteBucketReplicationOutput {}))
}

fn validate(config: &ReplicationConfiguration) -> S3Result<()> {
    if config.role.is_empty() || config.rules.is_empty() || config.rules.len() > MAX_RULES {
        return Err(malformed());
    }
    let mut ids = HashSet::new();
    let mut priorities = HashSet::new();
    // The newer schema (a Filter) needs a priority and delete marker replication.
    let new_schema = config.rules.iter().any(|r| r.filter.is_some());
    for rule in &config.rules {
        if !matches!(
            rule.status.as_str(),
            ReplicationRuleStatus::ENABLED | ReplicationRuleStatus::DISABLED
        ) {
            return Err(malformed());
        }
        if let Some(id) = &rule.id {
            if id.len() > 255 {
                return Err(s3_error!(
                    InvalidArgument,
                    "ID length should not exceed allowed limit of 255"
                ));
            }
            if !ids.insert(id.as_str()) {
                return Err(s3_error!(
                    InvalidRequest,
                    "Rule Id must be unique. Found same ID for more than one rule"
                ));
            }
        }
        if rule.filter.is_some() && rule.prefix.is_some() {
            return Err(malformed());
        }
        if new_schema {
            if rule.delete_marker_replication.is_none() {
                return Err(s3_error!(
                    InvalidRequest,
                    "DeleteMarkerReplication must be specified for this version of Cross Region Replication configuration schema."
                ));
            }
            if let Some(priority) = rule.priority
                && !priorities.insert(priority)
            {
                return Err(s3_error!(
                    InvalidRequest,
                    "Found duplicate priority {} when priorities must be unique for each rule.",
                    priority
                ));
            }
        }
    }
    Ok(())
}
