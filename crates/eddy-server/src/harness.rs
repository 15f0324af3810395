//! eddy in a test suite: `POST /_eddy/api/reset` (back to the configuration of
//! start-up in one transaction) and `GET /_eddy/api/idle?timeout=SECONDS` (answers as
//! soon as the pipeline has nothing left to do, or 408 with what is still pending).
//!
//! The pipeline is idle when no queue with an event source mapping (of `eddy.toml` or
//! of the Lambda API) holds a message (visible, in flight or delayed: a message in
//! flight whose batch failed is a retry still to come), no mapping has a batch in hand
//! (an invocation running, or its messages being deleted), no function created through
//! the Lambda API is running an invocation, and no asynchronous invocation is queued
//! (a first attempt or a retry still to come). S3 events need no separate check: an
//! object change and the messages it raises commit in one transaction, so an
//! undelivered event is a message of a mapped queue.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use eddy_store::reset::Baseline;

/// How often the idle check looks again while the pipeline is busy.
pub(crate) const IDLE_POLL: Duration = Duration::from_millis(5);

/// The longest wait `GET /_eddy/api/idle` accepts, in seconds.
pub const MAX_IDLE_TIMEOUT_SECONDS: f64 = 300.0;

/// Reads how many batches a mapping is handling now.
pub type InHand = Arc<dyn Fn() -> u32 + Send + Sync>;

/// One event source mapping, as the idle check sees it.
pub struct MappingProbe {
    pub queue: String,
    pub function: String,
    pub batches_in_hand: InHand,
}

/// What the test-suite endpoints work with: the configuration captured at start-up and
/// the running mappings.
pub struct Harness {
    pub baseline: Baseline,
    pub mappings: Vec<MappingProbe>,
}

/// A mapped queue that still holds messages.
#[derive(Debug, Serialize)]
pub struct PendingQueue {
    pub queue: String,
    pub function: String,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
    /// How long the oldest message has waited.
    pub oldest_age_ms: u64,
    /// The first few of its messages.
    pub messages: Vec<PendingMessage>,
}

#[derive(Debug, Serialize)]
pub struct PendingMessage {
    pub message_id: String,
    pub receive_count: u32,
    pub visible: bool,
    pub age_ms: u64,
}

/// A mapping with a batch in hand.
#[derive(Debug, Serialize)]
pub struct PendingInvocation {
    pub queue: String,
    pub function: String,
    pub batches_in_hand: u32,
}

/// A function created through the Lambda API with invocations running.
#[derive(Debug, Serialize)]
pub struct PendingFunction {
    pub function: String,
    pub running: u32,
}

/// A queued asynchronous invocation (its first attempt or a retry still to come).
#[derive(Debug, Serialize)]
pub struct PendingAsyncInvocation {
    pub request_id: String,
    pub function: String,
    pub attempts: u32,
    /// How long until its next attempt is due (0: due now, or running).
    pub due_in_ms: u64,
}

/// What keeps the pipeline busy.
#[derive(Debug, Default, Serialize)]
pub struct Pending {
    pub queues: Vec<PendingQueue>,
    pub invocations: Vec<PendingInvocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<PendingFunction>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub async_invocations: Vec<PendingAsyncInvocation>,
}

impl Pending {
    pub fn is_idle(&self) -> bool {
        self.queues.is_empty()
            && self.invocations.is_empty()
            && self.functions.is_empty()
            && self.async_invocations.is_empty()
    }
}

/// The answer of the idle endpoint.
#[derive(Debug, Serialize)]
pub struct IdleAnswer {
    pub idle: bool,
    pub waited_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// Parses the `timeout` parameter (seconds, default 10).
pub fn parse_timeout(value: Option<&str>) -> Result<Duration, String> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(Duration::from_secs(10));
    };
    match value.parse::<f64>() {
        Ok(seconds) if (0.0..=MAX_IDLE_TIMEOUT_SECONDS).contains(&seconds) => {
            Ok(Duration::from_secs_f64(seconds))
        }
        _ => Err(format!(
            "timeout must be a number of seconds from 0 to {MAX_IDLE_TIMEOUT_SECONDS}, not {value:?}"
        )),
    }
}
