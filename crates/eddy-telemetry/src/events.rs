//! Every telemetry event eddy emits, and what each one updates: the metrics (names in
//! [`crate::names`], labels as written here) and, for the pipeline's files, the
//! dashboard journey step. The series of every known queue, function and mapping are
//! registered at 0 when they become known ([`QueueKnown`], [`FunctionKnown`],
//! [`MappingKnown`]), so they exist before anything happened.

use std::time::Duration;

use crate::activity::{Activity, Step};
use crate::names;

/// Something that happened, which knows what it updates.
pub trait Event {
    /// Updates the metrics (and the journeys in `activity`) this event stands for.
    fn emit(self, activity: &Activity);
}

/// Messages enqueued into a queue by SendMessage(Batch) or as bucket notifications
/// (`eddy_sqs_number_of_messages_sent_total{queue}`).
#[derive(Debug, Clone, Copy)]
pub struct MessagesSent<'a> {
    pub queue: &'a str,
    pub count: u64,
}

impl Event for MessagesSent<'_> {
    fn emit(self, _: &Activity) {
        if self.count > 0 {
            metrics::counter!(names::SQS_SENT, "queue" => self.queue.to_owned())
                .increment(self.count);
        }
    }
}

/// A receive on a queue that returned `count` messages; 0 is an empty receive
/// (`..._received_total{queue}` or `eddy_sqs_number_of_empty_receives_total{queue}`).
#[derive(Debug, Clone, Copy)]
pub struct MessagesReceived<'a> {
    pub queue: &'a str,
    pub count: u64,
}

impl Event for MessagesReceived<'_> {
    fn emit(self, _: &Activity) {
        if self.count == 0 {
            metrics::counter!(names::SQS_EMPTY_RECEIVES, "queue" => self.queue.to_owned())
                .increment(1);
        } else {
            metrics::counter!(names::SQS_RECEIVED, "queue" => self.queue.to_owned())
                .increment(self.count);
        }
    }
}

/// Messages deleted from a queue (`eddy_sqs_number_of_messages_deleted_total{queue}`).
#[derive(Debug, Clone, Copy)]
pub struct MessagesDeleted<'a> {
    pub queue: &'a str,
    pub count: u64,
}

impl Event for MessagesDeleted<'_> {
    fn emit(self, _: &Activity) {
        if self.count > 0 {
            metrics::counter!(names::SQS_DELETED, "queue" => self.queue.to_owned())
                .increment(self.count);
        }
    }
}

/// The depths of a queue, read from the store when metrics are scraped (the
/// `eddy_sqs_approximate_*{queue}` gauges).
#[derive(Debug, Clone, Copy)]
pub struct QueueDepthObserved<'a> {
    pub queue: &'a str,
    pub visible: u64,
    pub not_visible: u64,
    pub delayed: u64,
    pub oldest_age_seconds: u64,
}

impl Event for QueueDepthObserved<'_> {
    fn emit(self, _: &Activity) {
        let queue = self.queue.to_owned();
        metrics::gauge!(names::SQS_VISIBLE, "queue" => queue.clone()).set(self.visible as f64);
        metrics::gauge!(names::SQS_NOT_VISIBLE, "queue" => queue.clone())
            .set(self.not_visible as f64);
        metrics::gauge!(names::SQS_DELAYED, "queue" => queue.clone()).set(self.delayed as f64);
        metrics::gauge!(names::SQS_OLDEST_AGE, "queue" => queue)
            .set(self.oldest_age_seconds as f64);
    }
}

/// A new object version whose notification events were enqueued: its journey starts
/// (steps `uploaded`, then `enqueued` naming the queues) and each queue counts one
/// message sent.
#[derive(Debug, Clone, Copy)]
pub struct FileUploaded<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub etag: &'a str,
    pub size: u64,
    pub at_ms: u64,
    /// The queues its events went to.
    pub queues: &'a [String],
}

impl Event for FileUploaded<'_> {
    fn emit(self, activity: &Activity) {
        activity.uploaded(self.bucket, self.key, self.etag, self.size, self.at_ms);
        activity.step(
            self.bucket,
            self.key,
            Some(self.etag),
            Step::Enqueued,
            self.at_ms,
            Some(self.queues.join(", ")),
        );
        for queue in self.queues {
            MessagesSent { queue, count: 1 }.emit(activity);
        }
    }
}

/// A copy of an object was stored. When the source is a file on its way through the
/// pipeline, its journey ends (step `copied`) and the time from its upload counts
/// (`eddy_pipeline_files_copied_total`, `eddy_pipeline_upload_to_copied_seconds`).
#[derive(Debug, Clone, Copy)]
pub struct FileCopied<'a> {
    pub source_bucket: &'a str,
    pub source_key: &'a str,
    pub source_etag: &'a str,
    pub destination_bucket: &'a str,
    pub destination_key: &'a str,
    pub at_ms: u64,
}

impl Event for FileCopied<'_> {
    fn emit(self, activity: &Activity) {
        let Some(uploaded_ms) =
            activity.uploaded_at(self.source_bucket, self.source_key, self.source_etag)
        else {
            return;
        };
        let latency_ms = self.at_ms.saturating_sub(uploaded_ms);
        activity.step(
            self.source_bucket,
            self.source_key,
            Some(self.source_etag),
            Step::Copied,
            self.at_ms,
            Some(format!(
                "to {}/{}",
                self.destination_bucket, self.destination_key
            )),
        );
        activity.copied_after(latency_ms);
        metrics::counter!(names::PIPELINE_COPIED).increment(1);
        metrics::histogram!(names::PIPELINE_LATENCY)
            .record(Duration::from_millis(latency_ms).as_secs_f64());
    }
}

/// A file announced by a message reached a step of its journey (`received` by a
/// function, or `failed` by it). Journeys of files eddy did not see uploaded are left
/// alone.
#[derive(Debug, Clone)]
pub struct FileStepReached<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    /// The version the event announced, when it named one.
    pub etag: Option<&'a str>,
    pub step: Step,
    pub at_ms: u64,
    pub detail: String,
}

impl Event for FileStepReached<'_> {
    fn emit(self, activity: &Activity) {
        activity.step(
            self.bucket,
            self.key,
            self.etag,
            self.step,
            self.at_ms,
            Some(self.detail),
        );
    }
}

/// An event source mapping received messages (`eddy_esm_polled_event_count_total{mapping}`).
#[derive(Debug, Clone, Copy)]
pub struct MappingPolled<'a> {
    pub mapping: &'a str,
    pub count: u64,
}

impl Event for MappingPolled<'_> {
    fn emit(self, _: &Activity) {
        mapping_counter(names::ESM_POLLED, self.mapping, self.count);
    }
}

/// Records that matched no filter pattern, deleted without invoking
/// (`eddy_esm_filtered_out_event_count_total{mapping}`).
#[derive(Debug, Clone, Copy)]
pub struct MappingFilteredOut<'a> {
    pub mapping: &'a str,
    pub count: u64,
}

impl Event for MappingFilteredOut<'_> {
    fn emit(self, _: &Activity) {
        mapping_counter(names::ESM_FILTERED, self.mapping, self.count);
    }
}

/// A mapping invokes a function with `records` records
/// (`eddy_esm_invoked_event_count_total{mapping}`, and one more
/// `eddy_lambda_concurrent_executions{function}` until [`InvocationFinished`]).
#[derive(Debug, Clone, Copy)]
pub struct InvocationStarted<'a> {
    pub mapping: &'a str,
    pub function: &'a str,
    pub records: u64,
}

impl Event for InvocationStarted<'_> {
    fn emit(self, _: &Activity) {
        mapping_counter(names::ESM_INVOKED, self.mapping, self.records);
        metrics::gauge!(names::LAMBDA_CONCURRENT, "function" => self.function.to_owned())
            .increment(1.0);
    }
}

/// An invocation ended (`eddy_lambda_invocations_total`, `eddy_lambda_errors_total`
/// when it failed, `eddy_lambda_duration_seconds`, all by function; one fewer
/// concurrent execution). A throttled one counts only in
/// `eddy_lambda_throttles_total` (Lambda counts no invocation and no error for it).
#[derive(Debug, Clone, Copy)]
pub struct InvocationFinished<'a> {
    pub function: &'a str,
    pub outcome: InvocationOutcome,
    pub duration: Duration,
}

/// How a started invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationOutcome {
    Succeeded,
    /// A function error or a timeout.
    Failed,
    /// Throttled before the handler ran (the function's reserved concurrency).
    Throttled,
}

impl Event for InvocationFinished<'_> {
    fn emit(self, activity: &Activity) {
        let function = self.function.to_owned();
        metrics::gauge!(names::LAMBDA_CONCURRENT, "function" => function.clone()).decrement(1.0);
        if self.outcome == InvocationOutcome::Throttled {
            InvocationThrottled {
                function: self.function,
            }
            .emit(activity);
            return;
        }
        metrics::counter!(names::LAMBDA_INVOCATIONS, "function" => function.clone()).increment(1);
        if self.outcome == InvocationOutcome::Failed {
            metrics::counter!(names::LAMBDA_ERRORS, "function" => function.clone()).increment(1);
        }
        metrics::histogram!(names::LAMBDA_DURATION, "function" => function)
            .record(self.duration.as_secs_f64());
    }
}

/// An invocation was throttled before the function ran (a synchronous Invoke answered
/// 429, a mapping's batch or an asynchronous event to be retried):
/// `eddy_lambda_throttles_total{function}`, after Lambda's `Throttles` metric.
#[derive(Debug, Clone, Copy)]
pub struct InvocationThrottled<'a> {
    pub function: &'a str,
}

impl Event for InvocationThrottled<'_> {
    fn emit(self, _: &Activity) {
        metrics::counter!(names::LAMBDA_THROTTLES, "function" => self.function.to_owned())
            .increment(1);
    }
}

/// Records of an invoked batch that failed (reported in `batchItemFailures`, or the
/// whole batch): `eddy_esm_failed_invoke_event_count_total{mapping}`,
/// `eddy_pipeline_records_failed_total`, and the dashboard's failure total.
#[derive(Debug, Clone, Copy)]
pub struct RecordsFailed<'a> {
    pub mapping: &'a str,
    pub count: u64,
}

impl Event for RecordsFailed<'_> {
    fn emit(self, activity: &Activity) {
        mapping_counter(names::ESM_FAILED, self.mapping, self.count);
        if self.count > 0 {
            metrics::counter!(names::PIPELINE_FAILED).increment(self.count);
            activity.records_failed(self.count);
        }
    }
}

/// Records a mapping is done with, deleted from its queue
/// (`eddy_esm_deleted_event_count_total{mapping}`).
#[derive(Debug, Clone, Copy)]
pub struct MappingDeleted<'a> {
    pub mapping: &'a str,
    pub count: u64,
}

impl Event for MappingDeleted<'_> {
    fn emit(self, _: &Activity) {
        mapping_counter(names::ESM_DELETED, self.mapping, self.count);
    }
}

/// An S3 request answered (`eddy_s3_requests_total{operation,status}`, and the bytes
/// in `eddy_s3_bytes_uploaded_total` / `eddy_s3_bytes_downloaded_total`).
#[derive(Debug, Clone, Copy)]
pub struct S3RequestServed<'a> {
    pub operation: &'a str,
    pub status: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Event for S3RequestServed<'_> {
    fn emit(self, _: &Activity) {
        metrics::counter!(names::S3_REQUESTS, "operation" => self.operation.to_owned(), "status" => self.status.to_string()).increment(1);
        if self.bytes_in > 0 {
            metrics::counter!(names::S3_BYTES_IN).increment(self.bytes_in);
        }
        if self.bytes_out > 0 {
            metrics::counter!(names::S3_BYTES_OUT).increment(self.bytes_out);
        }
    }
}

/// An SQS API request answered (`eddy_sqs_requests_total{operation,status}`).
#[derive(Debug, Clone, Copy)]
pub struct SqsRequestServed<'a> {
    pub operation: &'a str,
    pub status: u16,
}

impl Event for SqsRequestServed<'_> {
    fn emit(self, _: &Activity) {
        metrics::counter!(names::SQS_REQUESTS, "operation" => self.operation.to_owned(), "status" => self.status.to_string()).increment(1);
    }
}

/// A queue exists (`eddy_sqs_*_total{queue}` registered at 0, so that every series of
/// a known queue is there from the start and alert rules never see it missing).
#[derive(Debug, Clone, Copy)]
pub struct QueueKnown<'a> {
    pub queue: &'a str,
}

impl Event for QueueKnown<'_> {
    fn emit(self, _: &Activity) {
        for name in [
            names::SQS_SENT,
            names::SQS_RECEIVED,
            names::SQS_DELETED,
            names::SQS_EMPTY_RECEIVES,
        ] {
            metrics::counter!(name, "queue" => self.queue.to_owned()).increment(0);
        }
    }
}

/// A function is configured (`eddy_lambda_invocations_total`,
/// `eddy_lambda_errors_total`, `eddy_lambda_throttles_total` and
/// `eddy_lambda_concurrent_executions` by function
/// registered at 0), and so is the pipeline (`eddy_pipeline_*_total` at 0).
#[derive(Debug, Clone, Copy)]
pub struct FunctionKnown<'a> {
    pub function: &'a str,
}

impl Event for FunctionKnown<'_> {
    fn emit(self, _: &Activity) {
        let function = self.function.to_owned();
        metrics::counter!(names::LAMBDA_INVOCATIONS, "function" => function.clone()).increment(0);
        metrics::counter!(names::LAMBDA_ERRORS, "function" => function.clone()).increment(0);
        metrics::counter!(names::LAMBDA_THROTTLES, "function" => function.clone()).increment(0);
        metrics::gauge!(names::LAMBDA_CONCURRENT, "function" => function).increment(0.0);
        metrics::counter!(names::PIPELINE_COPIED).increment(0);
        metrics::counter!(names::PIPELINE_FAILED).increment(0);
    }
}

/// An event source mapping is configured (`eddy_esm_*_total{mapping}` registered at 0).
#[derive(Debug, Clone, Copy)]
pub struct MappingKnown<'a> {
    pub mapping: &'a str,
}

impl Event for MappingKnown<'_> {
    fn emit(self, _: &Activity) {
        for name in [
            names::ESM_POLLED,
            names::ESM_FILTERED,
            names::ESM_INVOKED,
            names::ESM_FAILED,
            names::ESM_DELETED,
        ] {
            metrics::counter!(name, "mapping" => self.mapping.to_owned()).increment(0);
        }
    }
}

/// A kind of fault exists (`eddy_faults_injected_total{kind}` registered at 0).
#[derive(Debug, Clone, Copy)]
pub struct FaultKindKnown<'a> {
    pub kind: &'a str,
}

impl Event for FaultKindKnown<'_> {
    fn emit(self, _: &Activity) {
        metrics::counter!(names::FAULTS_INJECTED, "kind" => self.kind.to_owned()).increment(0);
    }
}

/// A fault was injected on demand (`eddy_faults_injected_total{kind}`), concerning the
/// files (bucket, key) it names: each keeps it for its trace.
#[derive(Debug, Clone, Copy)]
pub struct FaultInjected<'a> {
    pub kind: &'a str,
    pub files: &'a [(&'a str, &'a str)],
    /// What the fault did, in words.
    pub detail: &'a str,
    pub at_ms: u64,
}

impl Event for FaultInjected<'_> {
    fn emit(self, activity: &Activity) {
        metrics::counter!(names::FAULTS_INJECTED, "kind" => self.kind.to_owned()).increment(1);
        for (bucket, key) in self.files {
            activity.fault(bucket, key, self.kind, self.detail, self.at_ms);
        }
    }
}

/// Adds `count` to an event source mapping counter.
fn mapping_counter(name: &'static str, mapping: &str, count: u64) {
    if count > 0 {
        metrics::counter!(name, "mapping" => mapping.to_owned()).increment(count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_file_journey_from_upload_to_copy() {
        let activity = Activity::default();
        let queues = ["file-events".to_owned()];
        FileUploaded {
            bucket: "source",
            key: "a.txt",
            etag: "e",
            size: 3,
            at_ms: 1_000,
            queues: &queues,
        }
        .emit(&activity);
        FileStepReached {
            bucket: "source",
            key: "a.txt",
            etag: Some("e"),
            step: Step::Received,
            at_ms: 1_001,
            detail: "eddy-copy (receive 1)".into(),
        }
        .emit(&activity);
        FileCopied {
            source_bucket: "source",
            source_key: "a.txt",
            source_etag: "e",
            destination_bucket: "destination",
            destination_key: "a.txt",
            at_ms: 1_005,
        }
        .emit(&activity);
        let journey = &activity.recent(1)[0];
        let steps: Vec<Step> = journey.steps.iter().map(|s| s.step).collect();
        assert_eq!(
            steps,
            [Step::Uploaded, Step::Enqueued, Step::Received, Step::Copied]
        );
        assert_eq!(journey.steps[1].detail.as_deref(), Some("file-events"));
        assert_eq!(
            journey.steps[3].detail.as_deref(),
            Some("to destination/a.txt")
        );
        assert_eq!(activity.counters().copied, 1);
        assert_eq!(activity.latency_summary().p50_ms, 5);
    }

    #[test]
    fn a_copy_of_a_file_without_a_journey_changes_nothing() {
        let activity = Activity::default();
        FileCopied {
            source_bucket: "b",
            source_key: "k",
            source_etag: "e",
            destination_bucket: "d",
            destination_key: "k",
            at_ms: 1,
        }
        .emit(&activity);
        assert_eq!(activity.counters().copied, 0);
        RecordsFailed {
            mapping: "q",
            count: 2,
        }
        .emit(&activity);
        assert_eq!(activity.counters().failed, 2);
    }
}
