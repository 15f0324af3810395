//! Event source mappings: the pollers of a queue of the store that invoke a function
//! with the Lambda SQS event and delete what succeeded, following Lambda's rules.
//!
//! - A batch is up to `batch_size` messages, gathered for at most
//!   `maximum_batching_window` (a window of 0 sends what one receive returns), and cut
//!   to Lambda's 6 MB invocation payload (messages cut off are released).
//! - Concurrency: the mapping starts with 5 concurrent batches, adds pollers while the
//!   queue has work and never runs more than ScalingConfig.MaximumConcurrency.
//! - What happens to each batch (filters, invocation, partial batch responses) is the
//!   [`crate::invoker`]'s; receiving and deleting is the [`crate::poller`]'s.

use std::sync::Arc;
use std::time::Duration;

use eddy_store::Store;

use crate::event_filter::FilterPattern;
use crate::function::Function;
use crate::invoker::Invoker;
use crate::poller::{self, BatchGauge, PollerSettings, Pollers};
use crate::store_queue::StoreQueue;

/// How many concurrent batches a mapping starts with (Lambda starts with 5).
pub const INITIAL_POLLERS: u32 = 5;

/// The largest invocation payload Lambda accepts; a batch is cut to fit it.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

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
pub async fn check(store: &Store, settings: &MappingSettings) -> Result<(), MappingError> {
    let queue = store
        .queues()
        .get(&settings.queue_name)
        .await
        .map_err(|_| MappingError::NoSuchQueue(settings.queue_name.clone()))?;
    if queue.attributes.is_fifo() {
        return Err(MappingError::FifoQueue(settings.queue_name.clone()));
    }
    let visibility_timeout = queue.attributes.visibility_timeout;
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

/// A running mapping.
pub struct MappingHandle {
    queue: String,
    pollers: Pollers,
}

impl MappingHandle {
    /// Reads how many batches the mapping is handling now (wait-until-idle).
    pub fn batches_in_hand(&self) -> BatchGauge {
        self.pollers.gauge()
    }

    /// Stops polling, lets in-flight batches finish, and waits for the pollers.
    pub async fn stop(self) {
        let peak = self.pollers.stop().await;
        tracing::info!(
            queue = %self.queue,
            peak_concurrency = peak,
            "event source mapping stopped"
        );
    }
}

/// Starts the pollers of a mapping.
pub fn start(
    store: Store,
    settings: MappingSettings,
    function: Arc<dyn Function>,
) -> MappingHandle {
    let queue = settings.queue_name.clone();
    let poller_settings = PollerSettings {
        name: queue.clone(),
        batch_size: settings.batch_size,
        batching_window: settings.maximum_batching_window,
        max_payload_bytes: Some(MAX_PAYLOAD_BYTES),
        heartbeat: None,
        initial_pollers: INITIAL_POLLERS,
        maximum_pollers: settings.maximum_concurrency,
    };
    let telemetry = store.telemetry().clone();
    let store_faults = store.faults().clone();
    let source = Arc::new(StoreQueue::new(store, queue.clone()));
    let invoker = Arc::new(Invoker {
        mapping: settings.queue_name,
        filters: settings.filters,
        report_batch_item_failures: settings.report_batch_item_failures,
        function_timeout: settings.function_timeout,
        function,
        telemetry,
        faults: store_faults,
    });
    MappingHandle {
        queue,
        pollers: poller::start(source, invoker, poller_settings),
    }
}
