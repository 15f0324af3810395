//! `eddy worker`: the copy function as a long-running consumer of any SQS-compatible
//! queue, writing to any S3-compatible store (AWS itself, eddy, another emulator).
//!
//! Credentials and region come from the usual AWS environment and profiles. Each of
//! `--concurrency` consumers long-polls for up to 10 messages, hands them to the copy
//! function as a Lambda SQS event, and deletes the successes with one
//! DeleteMessageBatch; failed messages stay and reappear after their visibility timeout
//! (and reach the DLQ after maxReceiveCount). While a batch runs, a heartbeat extends
//! its messages' visibility (ChangeMessageVisibilityBatch) so long copies are not handed
//! to another consumer. SIGTERM or SIGINT stops receiving, lets in-flight batches finish
//! and delete what they processed, and deletes nothing else.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageSystemAttributeName, QueueAttributeName,
};
use tokio::sync::watch;
use tokio::task::JoinSet;

use eddy_events::lambda::{SqsEvent, SqsMessage};
use eddy_function::CopyOptions;
use eddy_function::aws_store::AwsS3Store;

/// What `eddy worker` was asked to do.
pub struct WorkerOptions {
    pub queue_url: String,
    pub destination_bucket: String,
    pub destination_prefix: String,
    pub endpoint_url: Option<String>,
    pub concurrency: u32,
}

/// What every consumer shares.
struct Consumer {
    sqs: aws_sdk_sqs::Client,
    store: AwsS3Store,
    options: CopyOptions,
    queue_url: String,
    queue_arn: String,
    region: String,
    visibility_timeout: u64,
}

pub async fn run(options: WorkerOptions) -> anyhow::Result<()> {
    if options.concurrency == 0 {
        anyhow::bail!("--concurrency must be at least 1");
    }
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    let custom_endpoint =
        options.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            // eddy and other emulators are addressed path-style.
            .force_path_style(custom_endpoint)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&options.queue_url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("cannot read the attributes of {}", options.queue_url))?;
    let attribute = |name: QueueAttributeName| {
        attributes
            .attributes()
            .and_then(|a| a.get(&name))
            .cloned()
            .unwrap_or_default()
    };
    let visibility_timeout = attribute(QueueAttributeName::VisibilityTimeout)
        .parse()
        .unwrap_or(30);
    let queue_arn = attribute(QueueAttributeName::QueueArn);
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let consumer = Arc::new(Consumer {
        sqs,
        store: AwsS3Store::new(s3),
        options: CopyOptions {
            destination_bucket: options.destination_bucket.clone(),
            destination_prefix: options.destination_prefix.clone(),
        },
        queue_url: options.queue_url.clone(),
        queue_arn,
        region,
        visibility_timeout,
    });
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut consumers = JoinSet::new();
    for number in 0..options.concurrency {
        let consumer = consumer.clone();
        let shutdown = shutdown_rx.clone();
        consumers.spawn(async move { consume(consumer, number, shutdown).await });
    }
    println!(
        "eddy worker ready: {} -> s3://{}/{} ({} consumers, visibility timeout {} s)",
        options.queue_url,
        options.destination_bucket,
        options.destination_prefix,
        options.concurrency,
        visibility_timeout
    );
    let signal = crate::up::wait_for_signal().await;
    tracing::info!(signal, "stopping: finishing in-flight batches");
    let _ = shutdown_tx.send(true);
    while consumers.join_next().await.is_some() {}
    tracing::info!("stopped");
    Ok(())
}

/// One consumer: receive, process, delete, until shutdown.
async fn consume(consumer: Arc<Consumer>, number: u32, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = Duration::ZERO;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if !backoff.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
        }
        let receive = consumer
            .sqs
            .receive_message()
            .queue_url(&consumer.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(20)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send();
        // A receive cut short by shutdown hands out nothing this consumer processes;
        // whatever it took reappears after its visibility timeout.
        let received = tokio::select! {
            received = receive => received,
            _ = shutdown.changed() => return,
        };
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(consumer = number, error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "receive failed");
                backoff = (backoff * 2).clamp(Duration::from_millis(250), Duration::from_secs(10));
                continue;
            }
        };
        backoff = Duration::ZERO;
        if !messages.is_empty() {
            process(&consumer, messages).await;
        }
    }
}

/// Runs the copy function on one batch with a visibility heartbeat, then deletes the
/// messages that succeeded.
async fn process(consumer: &Consumer, messages: Vec<Message>) {
    let event = lambda_event(consumer, &messages);
    let (done_tx, done_rx) = watch::channel(false);
    let heartbeat = heartbeat(consumer, &messages, done_rx);
    let work = async {
        let reports =
            eddy_function::process_batch(&consumer.store, &consumer.options, &event).await;
        let _ = done_tx.send(true);
        reports
    };
    let (reports, ()) = tokio::join!(work, heartbeat);
    let failed: std::collections::HashSet<String> = reports
        .iter()
        .filter(|r| r.failed())
        .map(|r| r.message_id.clone())
        .collect();
    let succeeded: Vec<&Message> = messages
        .iter()
        .filter(|m| !failed.contains(m.message_id().unwrap_or_default()))
        .collect();
    if !failed.is_empty() {
        tracing::info!(failed = failed.len(), "messages left for retry");
    }
    for chunk in succeeded.chunks(10) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(index, message)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .build()
                    .ok()
            })
            .collect();
        match consumer
            .sqs
            .delete_message_batch()
            .queue_url(&consumer.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(output) if !output.failed().is_empty() => {
                tracing::warn!(failed = ?output.failed(), "some processed messages could not be deleted")
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "could not delete processed messages")
            }
        }
    }
}

/// Extends the batch's visibility every half visibility timeout until `done`.
async fn heartbeat(consumer: &Consumer, messages: &[Message], mut done: watch::Receiver<bool>) {
    if consumer.visibility_timeout == 0 {
        return;
    }
    let period =
        Duration::from_millis(consumer.visibility_timeout * 500).max(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = done.changed() => return,
        }
        for chunk in messages.chunks(10) {
            let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(index, message)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .visibility_timeout(consumer.visibility_timeout as i32)
                        .build()
                        .ok()
                })
                .collect();
            let result = consumer
                .sqs
                .change_message_visibility_batch()
                .queue_url(&consumer.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            match result {
                Ok(_) => tracing::debug!(messages = chunk.len(), "visibility extended"),
                Err(error) => {
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "could not extend visibility")
                }
            }
        }
    }
}

/// The Lambda SQS event of a received batch, as an event source mapping would build it.
fn lambda_event(consumer: &Consumer, messages: &[Message]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id().map(str::to_owned);
            record.receipt_handle = m.receipt_handle().map(str::to_owned);
            record.body = m.body().map(str::to_owned);
            record.md5_of_body = m.md5_of_body().map(str::to_owned);
            record.attributes = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            record.event_source = Some("aws:sqs".to_owned());
            record.event_source_arn = Some(consumer.queue_arn.clone());
            record.aws_region = Some(consumer.region.clone());
            record
        })
        .collect();
    event
}
