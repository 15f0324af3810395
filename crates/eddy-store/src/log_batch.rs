//! What function output is appended to CloudWatch Logs as: a batch of events for one
//! stream, buffered by the store until its flush ([`crate::logs::Logs::append`]).

/// An event to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogEvent {
    pub timestamp_ms: i64,
    pub message: String,
}

/// Events appended to a stream (created with its group when missing), waiting for the
/// next flush.
#[derive(Debug, Clone)]
pub struct LogBatch {
    pub group: String,
    pub stream: String,
    pub events: Vec<NewLogEvent>,
}
