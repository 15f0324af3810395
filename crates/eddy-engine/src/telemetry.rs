//! What eddy counts and measures, named after the CloudWatch metrics of the services
//! it stands in for (AWS/SQS, AWS/Lambda, the event source mapping, S3), recorded
//! through the `metrics` facade. The binary installs a Prometheus recorder and serves
//! the figures at `/_eddy/metrics`; without a recorder the calls cost nothing.
//!
//! Queue depths and the age of the oldest message are not counted here: they are read
//! from the store when metrics are scraped ([`crate::sqs::QueueCounts`]).

use std::time::Duration;

/// Metric names, in Prometheus style.
pub mod names {
    pub const SQS_SENT: &str = "eddy_sqs_number_of_messages_sent_total";
    pub const SQS_RECEIVED: &str = "eddy_sqs_number_of_messages_received_total";
    pub const SQS_DELETED: &str = "eddy_sqs_number_of_messages_deleted_total";
    pub const SQS_EMPTY_RECEIVES: &str = "eddy_sqs_number_of_empty_receives_total";
    pub const SQS_VISIBLE: &str = "eddy_sqs_approximate_number_of_messages_visible";
    pub const SQS_NOT_VISIBLE: &str = "eddy_sqs_approximate_number_of_messages_not_visible";
    pub const SQS_DELAYED: &str = "eddy_sqs_approximate_number_of_messages_delayed";
    pub const SQS_OLDEST_AGE: &str = "eddy_sqs_approximate_age_of_oldest_message_seconds";
    pub const LAMBDA_INVOCATIONS: &str = "eddy_lambda_invocations_total";
    pub const LAMBDA_ERRORS: &str = "eddy_lambda_errors_total";
    pub const LAMBDA_DURATION: &str = "eddy_lambda_duration_seconds";
    pub const LAMBDA_CONCURRENT: &str = "eddy_lambda_concurrent_executions";
    pub const ESM_POLLED: &str = "eddy_esm_polled_event_count_total";
    pub const ESM_FILTERED: &str = "eddy_esm_filtered_out_event_count_total";
    pub const ESM_INVOKED: &str = "eddy_esm_invoked_event_count_total";
    pub const ESM_FAILED: &str = "eddy_esm_failed_invoke_event_count_total";
    pub const ESM_DELETED: &str = "eddy_esm_deleted_event_count_total";
    pub const S3_REQUESTS: &str = "eddy_s3_requests_total";
    pub const S3_BYTES_IN: &str = "eddy_s3_bytes_uploaded_total";
    pub const S3_BYTES_OUT: &str = "eddy_s3_bytes_downloaded_total";
    pub const SQS_REQUESTS: &str = "eddy_sqs_requests_total";
    pub const PIPELINE_LATENCY: &str = "eddy_pipeline_upload_to_copied_seconds";
    pub const PIPELINE_COPIED: &str = "eddy_pipeline_files_copied_total";
    pub const PIPELINE_FAILED: &str = "eddy_pipeline_records_failed_total";
}

/// Messages enqueued into `queue` (sends and bucket notifications).
pub fn messages_sent(queue: &str, count: u64) {
    if count > 0 {
        metrics::counter!(names::SQS_SENT, "queue" => queue.to_owned()).increment(count);
    }
}

/// A receive on `queue` that returned `count` messages (0 counts as an empty receive).
pub fn messages_received(queue: &str, count: u64) {
    if count == 0 {
        metrics::counter!(names::SQS_EMPTY_RECEIVES, "queue" => queue.to_owned()).increment(1);
    } else {
        metrics::counter!(names::SQS_RECEIVED, "queue" => queue.to_owned()).increment(count);
    }
}

pub fn messages_deleted(queue: &str, count: u64) {
    if count > 0 {
        metrics::counter!(names::SQS_DELETED, "queue" => queue.to_owned()).increment(count);
    }
}

/// One invocation of a function, with its outcome and duration.
pub fn invocation(function: &str, failed: bool, duration: Duration) {
    metrics::counter!(names::LAMBDA_INVOCATIONS, "function" => function.to_owned()).increment(1);
    if failed {
        metrics::counter!(names::LAMBDA_ERRORS, "function" => function.to_owned()).increment(1);
    }
    metrics::histogram!(names::LAMBDA_DURATION, "function" => function.to_owned())
        .record(duration.as_secs_f64());
}

/// Changes the number of invocations of `function` in progress.
pub fn concurrent_executions(function: &str, delta: f64) {
    metrics::gauge!(names::LAMBDA_CONCURRENT, "function" => function.to_owned()).increment(delta);
}

/// Event source mapping counters, labelled by mapping.
pub fn mapping_events(mapping: &str, name: &'static str, count: u64) {
    if count > 0 {
        metrics::counter!(name, "mapping" => mapping.to_owned()).increment(count);
    }
}

/// The time from an upload's acknowledgement to its copy being done.
pub fn file_copied(upload_to_copied: Duration) {
    metrics::counter!(names::PIPELINE_COPIED).increment(1);
    metrics::histogram!(names::PIPELINE_LATENCY).record(upload_to_copied.as_secs_f64());
}

/// A record the function reported as failed.
pub fn record_failed() {
    metrics::counter!(names::PIPELINE_FAILED).increment(1);
}

/// An S3 request, by operation name and HTTP status.
pub fn s3_request(operation: &str, status: u16, bytes_in: u64, bytes_out: u64) {
    metrics::counter!(names::S3_REQUESTS, "operation" => operation.to_owned(), "status" => status.to_string()).increment(1);
    if bytes_in > 0 {
        metrics::counter!(names::S3_BYTES_IN).increment(bytes_in);
    }
    if bytes_out > 0 {
        metrics::counter!(names::S3_BYTES_OUT).increment(bytes_out);
    }
}

/// An SQS API request, by operation name and HTTP status.
pub fn sqs_request(operation: &str, status: u16) {
    metrics::counter!(names::SQS_REQUESTS, "operation" => operation.to_owned(), "status" => status.to_string()).increment(1);
}
