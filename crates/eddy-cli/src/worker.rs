//! `eddy worker`: the copy function as a long-running consumer of any SQS-compatible
//! queue, writing to any S3-compatible store (AWS itself, eddy, another emulator).
//!
//! Credentials and region come from the usual AWS environment and profiles. The worker
//! runs the pipeline's poller (`eddy_pipeline::poller`, the loop event source mappings
//! use) over the AWS SDK: each of `--concurrency` pollers long-polls for up to 10
//! messages, hands them to the copy function as a Lambda SQS event, and deletes the
//! successes with DeleteMessageBatch; failed messages stay and reappear after their
//! visibility timeout (and reach the DLQ after maxReceiveCount). While a batch runs, a
//! heartbeat extends its messages' visibility (ChangeMessageVisibilityBatch) so long
//! copies are not handed to another consumer. SIGTERM or SIGINT stops receiving, lets
//! in-flight batches finish and delete what they processed, and deletes nothing else.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
};
use futures::future::BoxFuture;

use eddy_events::lambda::{
    EventSourceQueue, ReceivedSqsMessage, SqsMessage, message_attribute, sqs_event,
};
use eddy_function::CopyOptions;
use eddy_function::aws_store::AwsS3Store;
use eddy_pipeline::poller::{
    self, BatchHandler, BatchOutcome, MessageQueue, PollerSettings, QueueError,
};

/// What `eddy worker` was asked to do.
pub struct WorkerOptions {
    pub queue_url: String,
    pub destination_bucket: String,
    pub destination_prefix: String,
    pub endpoint_url: Option<String>,
    pub concurrency: u32,
}

pub async fn run(options: WorkerOptions) -> anyhow::Result<()> {
    if options.concurrency == 0 {
        anyhow::bail!("--concurrency must be at least 1");
    }
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(eddy_function::sdk_http::https_client());
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
    let region = sdk
        .region()
        .map_or_else(|| "us-east-1".to_owned(), std::string::ToString::to_string);
    let queue = Arc::new(SdkQueue {
        sqs,
        queue_url: options.queue_url.clone(),
        source: EventSourceQueue {
            arn: attribute(QueueAttributeName::QueueArn),
            region,
        },
    });
    let copier = Arc::new(CopyBatches {
        store: AwsS3Store::new(s3),
        options: CopyOptions {
            destination_bucket: options.destination_bucket.clone(),
            destination_prefix: options.destination_prefix.clone(),
        },
    });
    let pollers = poller::start(
        queue,
        copier,
        PollerSettings {
            name: options.queue_url.clone(),
            batch_size: 10,
            batching_window: Duration::ZERO,
            max_payload_bytes: None,
            heartbeat: (visibility_timeout > 0).then(|| Duration::from_secs(visibility_timeout)),
            initial_pollers: options.concurrency,
            maximum_pollers: options.concurrency,
        },
    );
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
    pollers.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// The worker's queue, through the AWS SDK.
struct SdkQueue {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    source: EventSourceQueue,
}

/// An SDK error with its causes, for the poller's logs.
fn sdk_error<E>(error: E) -> QueueError
where
    E: std::error::Error + Send + Sync + 'static,
{
    Box::new(error)
}

/// The record of a message the SDK received.
fn record(source: &EventSourceQueue, message: Message) -> SqsMessage {
    let message_attributes = message
        .message_attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value): (String, MessageAttributeValue)| {
            let attribute = message_attribute(
                value.data_type,
                value.string_value,
                value
                    .binary_value
                    .map(aws_sdk_sqs::primitives::Blob::into_inner),
            );
            (name, attribute)
        })
        .collect();
    source.record(ReceivedSqsMessage {
        message_id: message.message_id.unwrap_or_default(),
        receipt_handle: message.receipt_handle.unwrap_or_default(),
        body: message.body.unwrap_or_default(),
        md5_of_body: message.md5_of_body.unwrap_or_default(),
        md5_of_message_attributes: message.md5_of_message_attributes,
        attributes: message
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name.as_str().to_owned(), value))
            .collect(),
        message_attributes,
    })
}

impl MessageQueue for SdkQueue {
    fn receive(
        &self,
        max_messages: u32,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<SqsMessage>, QueueError>> {
        Box::pin(async move {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(max_messages as i32)
                .wait_time_seconds(wait.as_secs() as i32)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(sdk_error)?;
            Ok(output
                .messages
                .unwrap_or_default()
                .into_iter()
                .map(|m| record(&self.source, m))
                .collect())
        })
    }

    fn delete(&self, receipt_handles: Vec<String>) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let mut failed = Vec::new();
            for chunk in receipt_handles.chunks(10) {
                let entries = chunk
                    .iter()
                    .enumerate()
                    .map(|(index, handle)| {
                        DeleteMessageBatchRequestEntry::builder()
                            .id(index.to_string())
                            .receipt_handle(handle)
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(sdk_error)?;
                let output = self
                    .sqs
                    .delete_message_batch()
                    .queue_url(&self.queue_url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(sdk_error)?;
                failed.extend(output.failed);
            }
            if failed.is_empty() {
                Ok(())
            } else {
                Err(format!("some processed messages could not be deleted: {failed:?}").into())
            }
        })
    }

    fn change_visibility(
        &self,
        receipt_handles: Vec<String>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let mut first_error = None;
            for chunk in receipt_handles.chunks(10) {
                let entries = chunk
                    .iter()
                    .enumerate()
                    .map(|(index, handle)| {
                        ChangeMessageVisibilityBatchRequestEntry::builder()
                            .id(index.to_string())
                            .receipt_handle(handle)
                            .visibility_timeout(timeout.as_secs() as i32)
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(sdk_error)?;
                let result = self
                    .sqs
                    .change_message_visibility_batch()
                    .queue_url(&self.queue_url)
                    .set_entries(Some(entries))
                    .send()
                    .await;
                if let Err(error) = result {
                    first_error.get_or_insert(sdk_error(error));
                }
            }
            match first_error {
                None => Ok(()),
                Some(error) => Err(error),
            }
        })
    }
}

/// The copy function over the AWS SDK, as the worker's batch handler: every record it
/// did not fail is done.
struct CopyBatches {
    store: AwsS3Store,
    options: CopyOptions,
}

impl BatchHandler for CopyBatches {
    fn handle(&self, records: Vec<SqsMessage>) -> BoxFuture<'_, BatchOutcome> {
        Box::pin(async move {
            let event = sqs_event(records);
            let reports = eddy_function::process_batch(&self.store, &self.options, &event).await;
            let failed: HashSet<String> = reports
                .into_iter()
                .filter(eddy_function::MessageReport::failed)
                .map(|r| r.message_id)
                .collect();
            if !failed.is_empty() {
                tracing::info!(failed = failed.len(), "messages left for retry");
            }
            let done = event
                .records
                .into_iter()
                .filter(|r| !failed.contains(r.message_id.as_deref().unwrap_or_default()))
                .filter_map(|r| r.receipt_handle)
                .collect();
            BatchOutcome {
                done,
                succeeded: true,
            }
        })
    }
}
