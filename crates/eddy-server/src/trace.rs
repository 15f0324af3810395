//! The trace of one file (`GET /_eddy/api/trace?bucket=&key=`, `eddy trace
//! s3://bucket/key`): what eddy knows of that object's way through the pipeline, read
//! from what the store and the telemetry already keep, with no record of its own:
//!
//! - the object as stored now (version, size, ETag, time);
//! - each notification configuration of the bucket, and whether an upload of that key
//!   (`s3:ObjectCreated:Put`) matches it, and if not why (no configuration, event type,
//!   prefix or suffix filter, destination queue missing);
//! - the steps of the recent uploads of that key (the dashboard's journeys, the last
//!   200 uploads: uploaded, enqueued, received with the receive count, failed with the
//!   reason, copied with the destination);
//! - the event messages for that object still in a queue, dead-letter queues included.

use serde::Serialize;

use eddy_events::s3_event::{NotificationBody, encode_key, parse_notification};
use eddy_store::s3::Destination;
use eddy_telemetry::activity::{JourneyStep, Step};

use crate::state::AppState;

/// The event type an upload is checked against.
const UPLOAD_EVENT: &str = "s3:ObjectCreated:Put";

/// How many messages of each queue are searched for the object's events.
const SEARCHED_MESSAGES: usize = 1000;

#[derive(Debug, Serialize)]
pub struct ObjectView {
    pub version_id: String,
    pub size: u64,
    pub etag: String,
    pub last_modified_ms: u64,
}

/// One notification configuration, checked against an upload of the key.
#[derive(Debug, Serialize)]
pub struct ConfigurationCheck {
    pub id: String,
    /// The destination queue's name, or the destination function's ARN.
    pub queue: String,
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub matched: bool,
    /// Why it does not match (or why its event cannot be delivered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One upload of the key and the steps that followed it.
#[derive(Debug, Serialize)]
pub struct UploadTrace {
    pub etag: String,
    pub size: u64,
    pub steps: Vec<JourneyStep>,
}

/// An event message for the object that is still in a queue.
#[derive(Debug, Serialize)]
pub struct MessageView {
    pub queue: String,
    pub message_id: String,
    pub receive_count: u32,
    pub visible: bool,
    pub sent_ms: u64,
    /// Whether it was moved there from a source queue (a dead letter).
    pub dead_letter: bool,
}

#[derive(Debug, Serialize)]
pub struct Trace {
    pub bucket: String,
    pub key: String,
    /// The answer in one sentence.
    pub summary: String,
    pub bucket_exists: bool,
    pub object: Option<ObjectView>,
    pub configurations: Vec<ConfigurationCheck>,
    pub uploads: Vec<UploadTrace>,
    pub messages: Vec<MessageView>,
}

/// Checks each notification configuration of `bucket` against an upload of `key`.
async fn configurations(
    state: &AppState,
    bucket: &str,
    key: &str,
) -> Result<Vec<ConfigurationCheck>, String> {
    let configured = state
        .store
        .notifications()
        .get(bucket)
        .await
        .map_err(|e| e.to_string())?;
    let mut checks = Vec::with_capacity(configured.len());
    for configuration in configured {
        let (queue, is_queue) = match &configuration.destination {
            Destination::Queue(arn) => (
                eddy_events::arn::parse_queue_arn(arn)
                    .map_or_else(|| arn.clone(), |a| a.queue_name),
                true,
            ),
            Destination::Function(arn) => (arn.clone(), false),
        };
        let mut reason = configuration
            .explain(UPLOAD_EVENT, key)
            .err()
            .map(|m| m.to_string());
        let matched = reason.is_none();
        if matched && is_queue && state.store.queues().get(&queue).await.is_err() {
            reason = Some(format!(
                "the destination queue {queue} does not exist: the event is lost"
            ));
        }
        checks.push(ConfigurationCheck {
            id: configuration.id,
            queue,
            events: configuration.events,
            prefix: configuration.prefix,
            suffix: configuration.suffix,
            matched,
            reason,
        });
    }
    Ok(checks)
}

/// The event messages for `bucket`/`key` still in any queue.
async fn messages(state: &AppState, bucket: &str, key: &str) -> Result<Vec<MessageView>, String> {
    let encoded = encode_key(key);
    let snapshot = state
        .store
        .queues()
        .snapshot()
        .await
        .map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    for (queue, counts) in snapshot {
        if counts.visible + counts.not_visible + counts.delayed == 0 {
            continue;
        }
        let peeked = state
            .store
            .messages()
            .peek(&queue.name, SEARCHED_MESSAGES)
            .await
            .map_err(|e| e.to_string())?;
        for message in peeked {
            let Ok(NotificationBody::Event(event)) = parse_notification(&message.body) else {
                continue;
            };
            if event
                .records
                .iter()
                .any(|r| r.s3.bucket.name == bucket && r.s3.object.key == encoded)
            {
                found.push(MessageView {
                    queue: queue.name.clone(),
                    message_id: message.message_id,
                    receive_count: message.receive_count,
                    visible: message.visible,
                    sent_ms: message.sent_ms,
                    dead_letter: message.dead_letter_source_arn.is_some(),
                });
            }
        }
    }
    Ok(found)
}

/// The one-sentence answer.
fn summarize(trace: &Trace) -> String {
    let (bucket, key) = (&trace.bucket, &trace.key);
    if !trace.bucket_exists {
        return format!("bucket {bucket} does not exist");
    }
    if trace.configurations.is_empty() {
        return format!(
            "bucket {bucket} has no notification configuration: an upload raises no event"
        );
    }
    if let Some(dead) = trace.messages.iter().find(|m| m.dead_letter) {
        return format!(
            "its event is in the dead-letter queue {} after {} receives",
            dead.queue, dead.receive_count
        );
    }
    let last = trace.uploads.last().and_then(|u| u.steps.last());
    match last {
        Some(step) if step.step == Step::Copied => format!(
            "copied {}",
            step.detail.as_deref().unwrap_or_default()
        ),
        Some(step) if step.step == Step::Failed => format!(
            "the function failed it ({}); the event waits for its next receive",
            step.detail.as_deref().unwrap_or("no reason given")
        ),
        _ if !trace.configurations.iter().any(|c| c.matched) => {
            let reasons: Vec<String> = trace
                .configurations
                .iter()
                .map(|c| format!("{}: {}", c.id, c.reason.as_deref().unwrap_or("matches")))
                .collect();
            format!(
                "no notification configuration of {bucket} matches an upload of {key} ({})",
                reasons.join("; ")
            )
        }
        _ if trace.object.is_none() && trace.uploads.is_empty() => {
            format!("no object {key} in {bucket}, and no recent upload of it")
        }
        Some(step) if step.step == Step::Received => {
            "a function received its event and is working on it".to_owned()
        }
        _ if !trace.messages.is_empty() => "its event waits in a queue".to_owned(),
        _ => "an upload of it raises an event; no step of it is known (uploaded before the last 200 files, or before eddy started)".to_owned(),
    }
}

/// What eddy knows of `bucket`/`key`.
pub async fn trace(state: &AppState, bucket: &str, key: &str) -> Result<Trace, String> {
    let bucket_exists = state.store.buckets().get(bucket).await.is_ok();
    let object = state
        .store
        .objects()
        .get(bucket, key)
        .await
        .ok()
        .map(|meta| ObjectView {
            version_id: meta.version_label().to_owned(),
            size: meta.size,
            etag: meta.etag,
            last_modified_ms: meta.last_modified_ms,
        });
    let configurations = if bucket_exists {
        configurations(state, bucket, key).await?
    } else {
        Vec::new()
    };
    let uploads = state
        .store
        .telemetry()
        .activity()
        .journeys_of(bucket, key)
        .into_iter()
        .map(|j| UploadTrace {
            etag: j.etag,
            size: j.size,
            steps: j.steps,
        })
        .collect();
    let mut trace = Trace {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        summary: String::new(),
        bucket_exists,
        object,
        configurations,
        uploads,
        messages: messages(state, bucket, key).await?,
    };
    trace.summary = summarize(&trace);
    Ok(trace)
}
