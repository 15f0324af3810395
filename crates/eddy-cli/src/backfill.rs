//! `eddy backfill`: sends an `ObjectCreated:Put` event for every object already in a
//! bucket (or under a prefix), for objects that were there before the notification
//! existed. The events have the JSON S3 itself sends, and go to the queue through the
//! SQS API, so the same command backfills eddy and AWS.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use indicatif::{ProgressBar, ProgressStyle};

use eddy_store::s3::{ChangeContext, EventObject, EventPrincipals, event_body};

use crate::clients::{Target, resolve_queue_url};

#[derive(Debug, clap::Args)]
pub struct BackfillArgs {
    #[command(flatten)]
    pub target: Target,
    /// The bucket whose objects get events.
    #[arg(long)]
    pub bucket: String,
    /// Only objects under this prefix.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// The queue that receives the events (name or URL).
    #[arg(long, default_value = "file-events")]
    pub queue: String,
    /// The notification configuration id written into the events.
    #[arg(long, default_value = "eddy-backfill")]
    pub configuration_id: String,
}

pub async fn run(args: BackfillArgs) -> anyhow::Result<()> {
    let s3 = args.target.s3().await;
    let sqs = args.target.sqs().await;
    let queue_url = resolve_queue_url(&sqs, &args.queue).await?;
    let config = args.target.sdk_config().await;
    let region = config
        .region()
        .map_or_else(|| "us-east-1".into(), std::string::ToString::to_string);
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} backfill {pos} events sent ({per_sec}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let context = ChangeContext {
        request_id: "EDDYBACKFILL".to_owned(),
        host_id: "eddy-backfill".to_owned(),
        source_ip: "127.0.0.1".to_owned(),
        ..ChangeContext::default()
    };
    let mut sent = 0u64;
    let mut pages = s3
        .list_objects_v2()
        .bucket(&args.bucket)
        .prefix(&args.prefix)
        .into_paginator()
        .send();
    let mut pending: Vec<String> = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow::anyhow!(
                "listing {} failed: {}",
                args.bucket,
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            let etag = object.e_tag().map(|e| e.trim_matches('"').to_owned());
            let sequencer = format!("{:016X}", eddy_store::time::now_ms() * 1_000_000 + sent);
            let body = event_body(
                &region,
                EventPrincipals {
                    user: "AWS:eddy-backfill",
                    owner: "eddy-backfill",
                },
                "s3:ObjectCreated:Put",
                &args.configuration_id,
                &EventObject {
                    bucket: &args.bucket,
                    key,
                    size: object.size().map(|s| s.max(0) as u64),
                    etag: etag.as_deref(),
                    version_id: None,
                    sequencer,
                    restored: None,
                },
                &context,
                eddy_store::time::now_ms(),
            );
            pending.push(body);
            if pending.len() == 10 {
                sent += send(&sqs, &queue_url, std::mem::take(&mut pending)).await?;
                bar.set_position(sent);
            }
        }
    }
    if !pending.is_empty() {
        sent += send(&sqs, &queue_url, pending).await?;
    }
    bar.finish_and_clear();
    println!(
        "sent {sent} ObjectCreated event(s) for s3://{}/{} to {queue_url}",
        args.bucket, args.prefix
    );
    Ok(())
}

async fn send(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    bodies: Vec<String>,
) -> anyhow::Result<u64> {
    let count = bodies.len() as u64;
    let entries = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body(body)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let output = sqs
        .send_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "SendMessageBatch failed: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?;
    if let Some(failure) = output.failed().first() {
        anyhow::bail!(
            "an event was refused: {} {}",
            failure.code(),
            failure.message().unwrap_or_default()
        );
    }
    Ok(count)
}
