//! The copy function: one piece of code that handles an SQS batch of S3 events and
//! returns the batch item failures. It runs unchanged inside `eddy up` (over the local
//! store), as the AWS Lambda `bootstrap` (over the AWS SDK) and in `eddy worker`.
//!
//! Behaviour, per record of the batch:
//! - an `s3:TestEvent` is dropped (success);
//! - a body that is not an S3 event is a failed item (it reaches the DLQ after
//!   maxReceiveCount receives);
//! - for each `ObjectCreated:*` record, the key is decoded and the object is copied to
//!   the destination bucket, conditioned on the event's eTag so that a newer version is
//!   never copied under an older event. "Source changed" and "source gone" are successes
//!   with a log line: a newer event is on its way, or there is nothing left to copy;
//! - any other failure fails that record alone.

#[cfg(feature = "aws")]
pub mod aws_store;
#[cfg(feature = "aws")]
pub mod sdk_http;

use std::future::Future;

use eddy_events::lambda::{SqsBatchResponse, SqsEvent, SqsMessage, batch_response};
use eddy_events::s3_event::{NotificationBody, decode_key, parse_notification};
use futures::future::join_all;

/// Where the function copies to.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// The bucket objects are copied into.
    pub destination_bucket: String,
    /// Put before every destination key (empty keeps the source key).
    pub destination_prefix: String,
}

/// One copy the function asks its store to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRequest {
    pub source_bucket: String,
    /// The decoded key.
    pub source_key: String,
    /// The eTag of the version the event announced (without quotes); the copy must only
    /// happen while the source still has it.
    pub source_etag: Option<String>,
    /// The size the event announced, when it did.
    pub source_size: Option<u64>,
    pub destination_bucket: String,
    pub destination_key: String,
}

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source no longer has the event's eTag: a newer event is on its way.
    #[error("source object changed since the event")]
    SourceChanged,
    /// The source object (or its bucket) is gone.
    #[error("source object no longer exists")]
    SourceGone,
    /// Anything else: the record fails and will be retried.
    #[error("{0}")]
    Failed(String),
}

/// An object store the function can copy within: the local store or Amazon S3.
pub trait ObjectStore: Send + Sync {
    /// Copies `source` to `destination`, keeping content type and user metadata, only if
    /// the source still has `source_etag` (when given).
    fn copy_object(
        &self,
        request: &CopyRequest,
    ) -> impl Future<Output = Result<(), CopyError>> + Send;
}

/// What happened to one record of a batch; the host logs and counts these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Copied (one entry per S3 record in the message).
    Copied {
        source_key: String,
        destination_key: String,
    },
    /// A test event, or an event type the function does not act on.
    Skipped { reason: String },
    /// Nothing to do: the source changed or is gone.
    Superseded { source_key: String, reason: String },
    /// The record failed and is reported in `batchItemFailures`.
    Failed { reason: String },
}

/// The outcome of one SQS message.
#[derive(Debug, Clone)]
pub struct MessageReport {
    pub message_id: String,
    pub outcomes: Vec<RecordOutcome>,
}

impl MessageReport {
    pub fn failed(&self) -> bool {
        self.outcomes
            .iter()
            .any(|o| matches!(o, RecordOutcome::Failed { .. }))
    }
}

/// Handles a batch and returns the response Lambda expects: the failed message ids.
pub async fn handle_batch<S: ObjectStore>(
    store: &S,
    options: &CopyOptions,
    event: &SqsEvent,
) -> SqsBatchResponse {
    let reports = process_batch(store, options, event).await;
    batch_response(
        reports
            .into_iter()
            .filter(MessageReport::failed)
            .map(|r| r.message_id),
    )
}

/// Handles a batch and returns what happened to each message, in batch order. Messages
/// are processed concurrently; every outcome is logged.
pub async fn process_batch<S: ObjectStore>(
    store: &S,
    options: &CopyOptions,
    event: &SqsEvent,
) -> Vec<MessageReport> {
    join_all(
        event
            .records
            .iter()
            .map(|message| process_message(store, options, message)),
    )
    .await
}

async fn process_message<S: ObjectStore>(
    store: &S,
    options: &CopyOptions,
    message: &SqsMessage,
) -> MessageReport {
    let message_id = message.message_id.clone().unwrap_or_default();
    let body = message.body.as_deref().unwrap_or_default();
    let outcomes = match parse_notification(body) {
        Ok(NotificationBody::Test(_)) => vec![RecordOutcome::Skipped {
            reason: "s3:TestEvent".to_owned(),
        }],
        Ok(NotificationBody::Event(event)) if event.records.is_empty() => {
            vec![RecordOutcome::Failed {
                reason: "S3 event without records".to_owned(),
            }]
        }
        Ok(NotificationBody::Event(event)) => {
            let mut outcomes = Vec::with_capacity(event.records.len());
            for record in &event.records {
                outcomes.push(copy_record(store, options, record).await);
            }
            outcomes
        }
        Err(error) => vec![RecordOutcome::Failed {
            reason: error.to_string(),
        }],
    };
    for outcome in &outcomes {
        match outcome {
            RecordOutcome::Copied {
                source_key,
                destination_key,
            } => tracing::debug!(%message_id, %source_key, %destination_key, "copied"),
            RecordOutcome::Skipped { reason } => tracing::debug!(%message_id, %reason, "skipped"),
            RecordOutcome::Superseded { source_key, reason } => {
                tracing::info!(%message_id, key = %source_key, %reason, "nothing to copy");
            }
            RecordOutcome::Failed { reason } => {
                tracing::warn!(%message_id, %reason, "record failed");
            }
        }
    }
    MessageReport {
        message_id,
        outcomes,
    }
}

async fn copy_record<S: ObjectStore>(
    store: &S,
    options: &CopyOptions,
    record: &eddy_events::s3_event::S3EventRecord,
) -> RecordOutcome {
    if !record.event_name.starts_with("ObjectCreated:") {
        return RecordOutcome::Skipped {
            reason: format!("event {} is not an ObjectCreated event", record.event_name),
        };
    }
    let source_key = match decode_key(&record.s3.object.key) {
        Ok(key) => key,
        Err(error) => {
            return RecordOutcome::Failed {
                reason: error.to_string(),
            };
        }
    };
    let request = CopyRequest {
        source_bucket: record.s3.bucket.name.clone(),
        destination_key: format!("{}{}", options.destination_prefix, source_key),
        source_key,
        source_etag: record.s3.object.e_tag.clone().filter(|e| !e.is_empty()),
        source_size: record.s3.object.size,
        destination_bucket: options.destination_bucket.clone(),
    };
    match store.copy_object(&request).await {
        Ok(()) => RecordOutcome::Copied {
            source_key: request.source_key,
            destination_key: request.destination_key,
        },
        Err(error @ (CopyError::SourceChanged | CopyError::SourceGone)) => {
            RecordOutcome::Superseded {
                source_key: request.source_key,
                reason: error.to_string(),
            }
        }
        Err(CopyError::Failed(reason)) => RecordOutcome::Failed {
            reason: format!(
                "copy of {}/{} failed: {reason}",
                request.source_bucket, request.source_key
            ),
        },
    }
}

#[cfg(test)]
mod tests;
