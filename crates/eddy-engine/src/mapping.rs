//! Event source mappings: pollers that take batches from a queue, invoke a function
//! with the Lambda SQS event, and delete what succeeded, following Lambda's rules.
//!
//! - A batch is up to `batch_size` messages, gathered for at most
//!   `maximum_batching_window_seconds` (a window of 0 sends what one receive returns),
//!   and cut to Lambda's 6 MB invocation payload (messages cut off are released).
//! - With `ReportBatchItemFailures`, the response's `batchItemFailures` stay in the queue
//!   and the rest are deleted; `{}`, `null` and an empty list are full success; an entry
//!   without a usable `itemIdentifier`, an id not in the batch, or a response of the
//!   wrong shape fail the whole batch. Without it, any returned response is success.
//! - A function error or a batch that overruns the function timeout fails the whole
//!   batch: nothing is deleted, every message reappears after its visibility timeout,
//!   and the poller backs off.
//! - FilterCriteria: records that match none of the patterns are deleted without
//!   invoking the function.
//! - Concurrency: the mapping starts with 5 concurrent batches, adds pollers while the
//!   queue has work and never runs more than ScalingConfig.MaximumConcurrency.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use eddy_events::lambda::{SqsEvent, SqsMessage, SqsMessageAttribute};
use eddy_function::{CopyOptions, process_batch};

use crate::Engine;
use crate::event_filter::{self, FilterPattern};
use crate::local_store::LocalStore;
use crate::sqs::{ReceiveRequest, ReceivedMessage};
use crate::telemetry;
use eddy_events::s3_event::{NotificationBody, decode_key, parse_notification};

/// Why an invocation failed as a whole.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    #[error("function error {error_type}: {message}")]
    Function { error_type: String, message: String },
    #[error("task timed out after {0:?}")]
    Timeout(Duration),
}

/// A function a mapping can invoke.
pub trait Function: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// Invokes the function with an event; resolves to its JSON response, or to
    /// [`InvokeError::Timeout`] when the invocation runs longer than `timeout`.
    fn invoke(
        &self,
        event: SqsEvent,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<serde_json::Value, InvokeError>>;
}

/// The built-in copy function over the local store.
pub struct BuiltinCopyFunction {
    name: String,
    store: LocalStore,
    options: CopyOptions,
}

impl BuiltinCopyFunction {
    pub fn new(name: String, engine: Engine, options: CopyOptions) -> Self {
        Self {
            name,
            store: LocalStore::new(engine),
            options,
        }
    }
}

impl Function for BuiltinCopyFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn invoke(
        &self,
        event: SqsEvent,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<serde_json::Value, InvokeError>> {
        let store = self.store.clone();
        let options = self.options.clone();
        Box::pin(async move {
            let reports = tokio::time::timeout(timeout, process_batch(&store, &options, &event))
                .await
                .map_err(|_| InvokeError::Timeout(timeout))?;
            let response = eddy_events::lambda::batch_response(
                reports
                    .into_iter()
                    .filter(|r| r.failed())
                    .map(|r| r.message_id),
            );
            serde_json::to_value(response).map_err(|e| InvokeError::Function {
                error_type: "Runtime.SerializationError".into(),
                message: e.to_string(),
            })
        })
    }
}

/// The settings of one event source mapping, with Lambda's names.
#[derive(Debug, Clone)]
pub struct MappingSettings {
    pub queue_name: String,
    pub batch_size: u32,
    pub maximum_batching_window: Duration,
    pub report_batch_item_failures: bool,
    pub function_timeout: Duration,
    pub maximum_concurrency: u32,
    /// FilterCriteria: records matching none are deleted without invoking.
    pub filters: Vec<FilterPattern>,
}

/// Why a mapping cannot start (Lambda refuses to create such a mapping).
#[derive(Debug, Clone, thiserror::Error)]
pub enum MappingError {
    #[error("queue {0} does not exist")]
    NoSuchQueue(String),
    #[error(
        "queue {queue} has a visibility timeout of {visibility_timeout} s, less than the function timeout of {function_timeout} s (Lambda refuses such a mapping; AWS recommends 6 times the timeout)"
    )]
    VisibilityTimeoutTooShort {
        queue: String,
        visibility_timeout: u64,
        function_timeout: u64,
    },
    #[error("queue {0} is a FIFO queue: eddy maps standard queues only")]
    FifoQueue(String),
}

/// The start-up check of a mapping: the queue exists, is standard, and its visibility
/// timeout is at least the function timeout.
pub async fn check(engine: &Engine, settings: &MappingSettings) -> Result<(), MappingError> {
    let queue = engine
        .get_queue(&settings.queue_name)
        .await
        .map_err(|_| MappingError::NoSuchQueue(settings.queue_name.clone()))?;
    if queue.attributes.fifo() {
        return Err(MappingError::FifoQueue(settings.queue_name.clone()));
    }
    let visibility_timeout = queue.attributes.visibility_timeout();
    let function_timeout = settings.function_timeout.as_secs();
    if visibility_timeout < function_timeout {
        return Err(MappingError::VisibilityTimeoutTooShort {
            queue: settings.queue_name.clone(),
            visibility_timeout,
            function_timeout,
        });
    }
    Ok(())
}

/// What the mapping does with a batch after the invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchVerdict {
    /// Delete every message but these (message ids).
    DeleteAllBut(HashSet<String>),
    /// Delete nothing; the reason is logged.
    FailWhole(String),
}

/// Applies Lambda's partial batch response rules to a function's response.
pub fn judge_response(
    response: &serde_json::Value,
    batch_ids: &HashSet<String>,
    report_failures: bool,
) -> BatchVerdict {
    use serde_json::Value;
    if !report_failures {
        return BatchVerdict::DeleteAllBut(HashSet::new());
    }
    let failures = match response {
        Value::Null => return BatchVerdict::DeleteAllBut(HashSet::new()),
        Value::Object(map) => match map.get("batchItemFailures") {
            None | Some(Value::Null) => return BatchVerdict::DeleteAllBut(HashSet::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return BatchVerdict::FailWhole("batchItemFailures is not a list".into()),
        },
        _ => return BatchVerdict::FailWhole("the response is not a JSON object".into()),
    };
    let mut failed = HashSet::new();
    for item in failures {
        let id = item
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if id.is_empty() {
            return BatchVerdict::FailWhole("a batch item failure has no itemIdentifier".into());
        }
        if !batch_ids.contains(id) {
            return BatchVerdict::FailWhole(format!(
                "itemIdentifier {id} is not a message of the batch"
            ));
        }
        failed.insert(id.to_owned());
    }
    BatchVerdict::DeleteAllBut(failed)
}

/// Builds the Lambda SQS event of a batch.
pub fn lambda_event(engine: &Engine, queue: &str, messages: &[ReceivedMessage]) -> SqsEvent {
    let arn = engine.queue_arn(queue);
    let region = engine.settings().region.clone();
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = Some(m.message_id.clone());
            record.receipt_handle = Some(m.receipt_handle.clone());
            record.body = Some(m.body.clone());
            record.md5_of_body = Some(m.md5_of_body.clone());
            record.md5_of_message_attributes = m.md5_of_message_attributes.clone();
            record.attributes = m.attributes.clone().into_iter().collect::<HashMap<_, _>>();
            record.message_attributes = m
                .message_attributes
                .iter()
                .map(|(name, value)| {
                    let mut attribute = SqsMessageAttribute::default();
                    attribute.data_type = Some(value.data_type.clone());
                    attribute.string_value = value.string_value.clone();
                    attribute.binary_value = value.binary_value.clone().map(|bytes| {
                        let mut data = eddy_events::lambda::Base64Data::default();
                        *data = bytes;
                        data
                    });
                    (name.clone(), attribute)
                })
                .collect();
            record.event_source = Some("aws:sqs".to_owned());
            record.event_source_arn = Some(arn.clone());
            record.aws_region = Some(region.clone());
            record
        })
        .collect();
    event
}

/// Runs the pollers of a mapping: it starts with [`INITIAL_POLLERS`] (or the maximum
/// concurrency when lower), adds one each time a poller finds work while below the
/// maximum, and lets the added ones go when the queue is empty.
pub struct MappingHandle {
    shutdown: watch::Sender<bool>,
    pollers: Arc<Pollers>,
}

/// How many concurrent batches a mapping starts with (Lambda starts with 5).
pub const INITIAL_POLLERS: u32 = 5;
/// How long past the function timeout the mapping waits for a function that does not
/// enforce its own deadline: more than the 10 s an external process may take to start.
pub const INIT_ALLOWANCE: Duration = Duration::from_secs(15);

struct Pollers {
    engine: Engine,
    settings: MappingSettings,
    function: Arc<dyn Function>,
    watcher: watch::Receiver<bool>,
    /// Pollers alive now.
    alive: AtomicU32,
    /// Batches being invoked now, and the most ever at once.
    invoking: AtomicU32,
    peak_invoking: AtomicU32,
    stopped: Notify,
}

impl MappingHandle {
    /// Stops polling, lets in-flight batches finish, and waits for the pollers.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        loop {
            let stopped = self.pollers.stopped.notified();
            if self.pollers.alive.load(Ordering::SeqCst) == 0 {
                break;
            }
            stopped.await;
        }
        tracing::info!(
            queue = %self.pollers.settings.queue_name,
            peak_concurrency = self.pollers.peak_invoking.load(Ordering::SeqCst),
            "event source mapping stopped"
        );
    }
}

/// Starts the pollers of a mapping.
pub fn start(
    engine: Engine,
    settings: MappingSettings,
    function: Arc<dyn Function>,
) -> MappingHandle {
    let (shutdown, watcher) = watch::channel(false);
    let initial = settings.maximum_concurrency.clamp(1, INITIAL_POLLERS);
    let pollers = Arc::new(Pollers {
        engine,
        settings,
        function,
        watcher,
        alive: AtomicU32::new(0),
        invoking: AtomicU32::new(0),
        peak_invoking: AtomicU32::new(0),
        stopped: Notify::new(),
    });
    for _ in 0..initial {
        spawn_poller(&pollers, true);
    }
    MappingHandle { shutdown, pollers }
}

/// Starts one more poller unless the maximum is reached; returns whether it did.
fn spawn_poller(pollers: &Arc<Pollers>, permanent: bool) -> bool {
    let maximum = pollers.settings.maximum_concurrency.max(1);
    let claimed = pollers
        .alive
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |alive| {
            (alive < maximum).then_some(alive + 1)
        });
    let Ok(number) = claimed else {
        return false;
    };
    if !permanent {
        tracing::debug!(queue = %pollers.settings.queue_name, pollers = number + 1, "scaling up");
    }
    let pollers = pollers.clone();
    tokio::spawn(async move {
        poll_loop(&pollers, number, permanent).await;
        pollers.alive.fetch_sub(1, Ordering::SeqCst);
        pollers.stopped.notify_waiters();
    });
    true
}

async fn poll_loop(pollers: &Arc<Pollers>, poller: u32, permanent: bool) {
    let settings = &pollers.settings;
    let mut shutdown = pollers.watcher.clone();
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
        let batch = tokio::select! {
            batch = gather_batch(&pollers.engine, settings) => batch,
            _ = shutdown.changed() => return,
        };
        let messages = match batch {
            Ok(messages) if messages.is_empty() && !permanent => return,
            Ok(messages) if messages.is_empty() => continue,
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(queue = %settings.queue_name, poller, %error, "receive failed");
                backoff = next_backoff(backoff);
                continue;
            }
        };
        // The queue has work: add a poller while below the maximum.
        spawn_poller(pollers, false);
        let now = pollers.invoking.fetch_add(1, Ordering::SeqCst) + 1;
        pollers.peak_invoking.fetch_max(now, Ordering::SeqCst);
        let ok = run_batch(
            &pollers.engine,
            settings,
            pollers.function.as_ref(),
            messages,
        )
        .await;
        pollers.invoking.fetch_sub(1, Ordering::SeqCst);
        backoff = if ok {
            Duration::ZERO
        } else {
            next_backoff(backoff)
        };
    }
}

fn next_backoff(current: Duration) -> Duration {
    if current.is_zero() {
        Duration::from_millis(250)
    } else {
        (current * 2).min(Duration::from_secs(10))
    }
}

/// The largest invocation payload Lambda accepts; a batch is cut to fit it.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// What a message adds to the invocation payload: its body plus room for the record's
/// other fields.
fn payload_bytes(message: &ReceivedMessage) -> usize {
    let attributes: usize = message
        .message_attributes
        .iter()
        .map(|(name, value)| {
            name.len()
                + value.string_value.as_ref().map_or(0, String::len)
                + value
                    .binary_value
                    .as_ref()
                    .map_or(0, |b| b.len() * 4 / 3 + 4)
                + 64
        })
        .sum();
    message.body.len() + message.receipt_handle.len() + attributes + 512
}

/// Receives one batch: waits (long poll) for the first messages, then, with a batching
/// window, keeps gathering until the batch is full, reaches the 6 MB payload limit, or
/// the window closes. Receives are never cut short: a receive abandoned midway could
/// take messages (and count a receive) that nobody processes.
async fn gather_batch(
    engine: &Engine,
    settings: &MappingSettings,
) -> Result<Vec<ReceivedMessage>, crate::sqs::SqsError> {
    let want = settings.batch_size.max(1) as usize;
    let mut batch = engine
        .receive_message(
            &settings.queue_name,
            ReceiveRequest {
                max_messages: want.min(10) as u32,
                visibility_timeout: None,
                wait_time_seconds: Some(20),
            },
        )
        .await?;
    if !batch.is_empty() && !settings.maximum_batching_window.is_zero() {
        let window_end = Instant::now() + settings.maximum_batching_window;
        let mut bytes: usize = batch.iter().map(payload_bytes).sum();
        while batch.len() < want && bytes < MAX_PAYLOAD_BYTES {
            let remaining = window_end.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            // Long polls wait whole seconds; the last fraction of a second is polled.
            let wait = remaining.as_secs().min(20);
            let messages = engine
                .receive_message(
                    &settings.queue_name,
                    ReceiveRequest {
                        max_messages: (want - batch.len()).min(10) as u32,
                        visibility_timeout: None,
                        wait_time_seconds: Some(wait),
                    },
                )
                .await?;
            if messages.is_empty() && wait == 0 {
                tokio::time::sleep(remaining.min(Duration::from_millis(50))).await;
            }
            bytes += messages.iter().map(payload_bytes).sum::<usize>();
            batch.extend(messages);
        }
    }
    Ok(release_beyond_payload_limit(engine, settings, batch).await)
}

/// Cuts a batch to the invocation payload limit (always keeping its first message) and
/// makes the messages cut off visible again at once.
async fn release_beyond_payload_limit(
    engine: &Engine,
    settings: &MappingSettings,
    mut batch: Vec<ReceivedMessage>,
) -> Vec<ReceivedMessage> {
    let mut bytes = 0usize;
    let keep = batch
        .iter()
        .position(|m| {
            bytes += payload_bytes(m);
            bytes > MAX_PAYLOAD_BYTES
        })
        .unwrap_or(batch.len())
        .max(1);
    for message in batch.split_off(keep.min(batch.len())) {
        if let Err(error) = engine
            .change_message_visibility(&settings.queue_name, &message.receipt_handle, 0)
            .await
        {
            tracing::warn!(queue = %settings.queue_name, %error, "could not release a message beyond the payload limit");
        }
    }
    batch
}

/// Deletes the records no filter pattern matches and returns the rest.
async fn apply_filters(
    engine: &Engine,
    settings: &MappingSettings,
    messages: Vec<ReceivedMessage>,
    event: SqsEvent,
) -> (Vec<ReceivedMessage>, SqsEvent) {
    if settings.filters.is_empty() {
        return (messages, event);
    }
    let mut kept_messages = Vec::with_capacity(messages.len());
    let mut kept_records = Vec::with_capacity(messages.len());
    let mut dropped = Vec::new();
    for (message, record) in messages.into_iter().zip(event.records) {
        let as_json = serde_json::to_value(&record).unwrap_or_default();
        if event_filter::any_matches(&settings.filters, &as_json) {
            kept_messages.push(message);
            kept_records.push(record);
        } else {
            dropped.push(message.receipt_handle);
        }
    }
    if !dropped.is_empty() {
        tracing::info!(queue = %settings.queue_name, filtered_out = dropped.len(), "deleting records that match no filter pattern");
        if let Err(error) = engine
            .delete_message_batch(&settings.queue_name, dropped)
            .await
        {
            tracing::warn!(queue = %settings.queue_name, %error, "could not delete filtered-out messages");
        }
    }
    let mut event = SqsEvent::default();
    event.records = kept_records;
    (kept_messages, event)
}

/// Adds a step to the dashboard journey of every file the messages announce.
fn journey_step(
    engine: &Engine,
    messages: &[ReceivedMessage],
    step: &str,
    detail: impl Fn(&ReceivedMessage) -> String,
) {
    let now = crate::time::now_ms();
    for message in messages {
        let Ok(NotificationBody::Event(event)) = parse_notification(&message.body) else {
            continue;
        };
        for record in &event.records {
            let Ok(key) = decode_key(&record.s3.object.key) else {
                continue;
            };
            engine.activity().step(
                &record.s3.bucket.name,
                &key,
                record.s3.object.e_tag.as_deref(),
                step,
                now,
                Some(detail(message)),
            );
        }
    }
}

/// Invokes the function with one batch and deletes what succeeded. Returns whether the
/// batch as a whole succeeded.
async fn run_batch(
    engine: &Engine,
    settings: &MappingSettings,
    function: &dyn Function,
    messages: Vec<ReceivedMessage>,
) -> bool {
    let mapping = settings.queue_name.as_str();
    telemetry::mapping_events(mapping, telemetry::names::ESM_POLLED, messages.len() as u64);
    let polled = messages.len();
    let event = lambda_event(engine, &settings.queue_name, &messages);
    let (messages, event) = apply_filters(engine, settings, messages, event).await;
    telemetry::mapping_events(
        mapping,
        telemetry::names::ESM_FILTERED,
        (polled - messages.len()) as u64,
    );
    if messages.is_empty() {
        return true;
    }
    journey_step(engine, &messages, "received", |m| {
        format!(
            "{} (receive {})",
            function.name(),
            m.attributes
                .get("ApproximateReceiveCount")
                .map(String::as_str)
                .unwrap_or("?")
        )
    });
    let batch_ids: HashSet<String> = messages.iter().map(|m| m.message_id.clone()).collect();
    let timeout = settings.function_timeout;
    let backstop = Instant::now() + timeout + INIT_ALLOWANCE;
    telemetry::mapping_events(
        mapping,
        telemetry::names::ESM_INVOKED,
        messages.len() as u64,
    );
    telemetry::concurrent_executions(function.name(), 1.0);
    let started = Instant::now();
    let response = match tokio::time::timeout_at(backstop, function.invoke(event, timeout)).await {
        Ok(result) => result,
        Err(_) => Err(InvokeError::Timeout(timeout)),
    };
    telemetry::concurrent_executions(function.name(), -1.0);
    telemetry::invocation(function.name(), response.is_err(), started.elapsed());
    let verdict = match response {
        Ok(value) => judge_response(&value, &batch_ids, settings.report_batch_item_failures),
        Err(error) => BatchVerdict::FailWhole(error.to_string()),
    };
    let failed_ids: HashSet<String> = match &verdict {
        BatchVerdict::FailWhole(_) => batch_ids.clone(),
        BatchVerdict::DeleteAllBut(failed) => failed.clone(),
    };
    let failed_messages: Vec<ReceivedMessage> = messages
        .iter()
        .filter(|m| failed_ids.contains(&m.message_id))
        .cloned()
        .collect();
    telemetry::mapping_events(
        mapping,
        telemetry::names::ESM_FAILED,
        failed_messages.len() as u64,
    );
    for _ in &failed_messages {
        telemetry::record_failed();
        engine.activity().record_failed();
    }
    journey_step(engine, &failed_messages, "failed", |_| match &verdict {
        BatchVerdict::FailWhole(reason) => reason.clone(),
        BatchVerdict::DeleteAllBut(_) => "reported in batchItemFailures".to_owned(),
    });
    match verdict {
        BatchVerdict::FailWhole(reason) => {
            tracing::warn!(function = function.name(), queue = %settings.queue_name, messages = messages.len(), %reason, "batch failed; nothing deleted");
            false
        }
        BatchVerdict::DeleteAllBut(failed) => {
            let handles: Vec<String> = messages
                .iter()
                .filter(|m| !failed.contains(&m.message_id))
                .map(|m| m.receipt_handle.clone())
                .collect();
            if !failed.is_empty() {
                let keys: BTreeMap<&str, &str> = messages
                    .iter()
                    .filter(|m| failed.contains(&m.message_id))
                    .map(|m| {
                        (
                            m.message_id.as_str(),
                            m.attributes
                                .get("ApproximateReceiveCount")
                                .map(String::as_str)
                                .unwrap_or("?"),
                        )
                    })
                    .collect();
                tracing::info!(function = function.name(), failed = ?keys, "records left for retry");
            }
            telemetry::mapping_events(mapping, telemetry::names::ESM_DELETED, handles.len() as u64);
            if !handles.is_empty()
                && let Err(error) = engine
                    .delete_message_batch(&settings.queue_name, handles)
                    .await
            {
                tracing::warn!(queue = %settings.queue_name, %error, "could not delete processed messages");
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids() -> HashSet<String> {
        ["a", "b"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn partial_batch_rules() {
        let all = BatchVerdict::DeleteAllBut(HashSet::new());
        assert_eq!(judge_response(&json!(null), &ids(), true), all);
        assert_eq!(judge_response(&json!({}), &ids(), true), all);
        assert_eq!(
            judge_response(&json!({"batchItemFailures": []}), &ids(), true),
            all
        );
        assert_eq!(
            judge_response(
                &json!({"batchItemFailures": [{"itemIdentifier": "a"}]}),
                &ids(),
                true
            ),
            BatchVerdict::DeleteAllBut(["a".to_string()].into_iter().collect())
        );
        for bad in [
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{}]}),
            json!({"batchItemFailures": [{"itemIdentifier": "zzz"}]}),
            json!({"batchItemFailures": "a"}),
            json!("text"),
            json!(42),
        ] {
            assert!(
                matches!(
                    judge_response(&bad, &ids(), true),
                    BatchVerdict::FailWhole(_)
                ),
                "{bad}"
            );
        }
        // Without ReportBatchItemFailures the response is ignored.
        assert_eq!(judge_response(&json!("text"), &ids(), false), all);
    }
}
