//! Provisioning the configured pipeline in the store: the buckets, queues (with the
//! dead-letter queue's redrive policy) and the source bucket's notification of
//! `eddy.toml`, created or brought up to date.

use std::collections::BTreeMap;

use anyhow::Context;

use eddy_store::Store;
use eddy_store::s3::notification_rules::overlaps;
use eddy_store::s3::{ChangeContext, Destination, NotificationConfig, S3Error};

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

    let own = NotificationConfig {
        id: "eddy-file-events".to_owned(),
        destination: Destination::Queue(store.queue_arn(&config.queue_name)),
        events: vec!["s3:ObjectCreated:*".to_owned()],
        prefix: Some(config.notification_filter_prefix.clone()).filter(|p| !p.is_empty()),
        suffix: Some(config.notification_filter_suffix.clone()).filter(|s| !s.is_empty()),
    };
    let current = store
        .notifications()
        .get(&config.source_bucket_name)
        .await?;
    // What users added to the source bucket (say, a Lambda function for other keys)
    // stays, unless it overlaps eddy's own configuration.
    let mut wanted = vec![own.clone()];
    wanted.extend(
        current
            .iter()
            .filter(|c| c.id != own.id && !overlaps(c, &own))
            .cloned(),
    );
    if current != wanted {
        let context = ChangeContext {
            request_id: "EDDYPROVISIONING".to_owned(),
            host_id: "eddy".to_owned(),
            source_ip: "127.0.0.1".to_owned(),
            ..ChangeContext::default()
        };
        let kept = store
            .notifications()
            .put(&config.source_bucket_name, wanted, context.clone())
            .await;
        if let Err(error) = kept {
            tracing::warn!(bucket = %config.source_bucket_name, %error, "the source bucket's other notification configurations are no longer valid; only eddy's own is kept");
            store
                .notifications()
                .put(&config.source_bucket_name, vec![own], context)
                .await
                .context("cannot configure the source bucket's notification")?;
        }
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
