//! Provisioning the configured pipeline in the store: the buckets, queues (with the
//! dead-letter queue's redrive policy) and the source bucket's notification of
//! `eddy.toml`, created or brought up to date; and the description of the mappings
//! and functions that `eddy status` and the dashboard show.

use std::collections::BTreeMap;

use anyhow::Context;

use eddy_store::Store;
use eddy_store::s3::{ChangeContext, QueueNotification, S3Error};

use crate::config::EddyConfig;

/// Creates the buckets, queues and notification of the configured pipeline, keeping
/// what exists and bringing changed settings up to date.
pub(crate) async fn provision(store: &Store, config: &EddyConfig) -> anyhow::Result<()> {
    for bucket in [&config.source_bucket_name, &config.destination_bucket_name] {
        match store.buckets().create(bucket).await {
            Ok(()) | Err(S3Error::BucketAlreadyOwnedByYou) => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot create bucket {bucket}"));
            }
        }
    }
    let dlq_attributes = BTreeMap::from([(
        "MessageRetentionPeriod".to_owned(),
        config.dlq_message_retention_seconds.to_string(),
    )]);
    ensure_queue(store, &config.dlq_name, dlq_attributes).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": store.queue_arn(&config.dlq_name),
        "maxReceiveCount": config.max_receive_count,
    })
    .to_string();
    let queue_attributes = BTreeMap::from([
        (
            "VisibilityTimeout".to_owned(),
            config.visibility_timeout_seconds.to_string(),
        ),
        (
            "MessageRetentionPeriod".to_owned(),
            config.message_retention_seconds.to_string(),
        ),
        ("RedrivePolicy".to_owned(), redrive),
    ]);
    ensure_queue(store, &config.queue_name, queue_attributes).await?;

    let wanted = vec![QueueNotification {
        id: "eddy-file-events".to_owned(),
        queue_arn: store.queue_arn(&config.queue_name),
        events: vec!["s3:ObjectCreated:*".to_owned()],
        prefix: Some(config.notification_filter_prefix.clone()).filter(|p| !p.is_empty()),
        suffix: Some(config.notification_filter_suffix.clone()).filter(|s| !s.is_empty()),
    }];
    let current = store
        .notifications()
        .get(&config.source_bucket_name)
        .await?;
    if current != wanted {
        let context = ChangeContext {
            request_id: "EDDYPROVISIONING".to_owned(),
            host_id: "eddy".to_owned(),
            source_ip: "127.0.0.1".to_owned(),
        };
        store
            .notifications()
            .put(&config.source_bucket_name, wanted, context)
            .await
            .context("cannot configure the source bucket's notification")?;
    }
    Ok(())
}

async fn ensure_queue(
    store: &Store,
    name: &str,
    attributes: BTreeMap<String, String>,
) -> anyhow::Result<()> {
    match store.queues().get(name).await {
        Ok(_) => store
            .queues()
            .set_attributes(name, attributes)
            .await
            .with_context(|| format!("cannot update queue {name}")),
        Err(_) => store
            .queues()
            .create(name.to_owned(), attributes, BTreeMap::new())
            .await
            .map(|_| ())
            .with_context(|| format!("cannot create queue {name}")),
    }
}

/// What `eddy status` and the dashboard show of the mappings and functions.
pub(crate) fn describe_pipeline(config: &EddyConfig) -> serde_json::Value {
    let mappings: Vec<serde_json::Value> = config
        .all_mappings()
        .iter()
        .map(|m| {
            serde_json::json!({
                "queue": m.queue,
                "function": m.function,
                "batch_size": m.batch_size,
                "maximum_batching_window_seconds": m.maximum_batching_window_seconds,
                "maximum_concurrency": m.maximum_concurrency,
                "function_response_types": m.function_response_types,
                "filter_criteria": m.filter_criteria,
            })
        })
        .collect();
    let functions: Vec<serde_json::Value> = config
        .all_functions()
        .iter()
        .map(|f| {
            let bucket = f.destination_bucket.clone().unwrap_or_else(|| config.destination_bucket_name.clone());
            let prefix = f.destination_prefix.clone().unwrap_or_default();
            serde_json::json!({
                "name": f.name,
                "kind": if f.is_builtin() { "builtin-copy".to_owned() } else { f.command.join(" ") },
                "timeout_seconds": f.timeout,
                "memory_mb": f.memory_size,
                "destination": format!("s3://{bucket}/{prefix}"),
            })
        })
        .collect();
    serde_json::json!({ "mappings": mappings, "functions": functions })
}
