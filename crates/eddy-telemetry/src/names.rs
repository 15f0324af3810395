//! Metric names, in Prometheus style, after the CloudWatch metrics of the services eddy
//! stands in for (AWS/SQS, AWS/Lambda, the event source mapping, S3). Tests and
//! dashboards scrape them: a name never changes.

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
pub const LAMBDA_THROTTLES: &str = "eddy_lambda_throttles_total";
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
pub const FAULTS_INJECTED: &str = "eddy_faults_injected_total";
