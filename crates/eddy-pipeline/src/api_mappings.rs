//! Event source mappings created through the Lambda API, run as eddy's mappings are
//! ([`crate::mapping`]): the same pollers, batching, filters and partial batch
//! responses. Each invokes a function stored by the API through [`StoredFunction`],
//! which reads the function's current revision at every batch, so an
//! UpdateFunctionCode applies to the next batch. A mapping polls with no more pollers
//! than the function's processes (its reserved concurrency, else eddy's bound per
//! function), so no batch waits in hand for a process. A batch the function's reserved
//! concurrency throttles (0, or in use by other invocations) fails as a throttle
//! ([`InvokeError::Throttled`]), not as a function error.
//!
//! [`ApiMappings`] keeps one running mapping per enabled stored mapping: started at
//! boot ([`ApiMappings::start_all`]), restarted with new settings on an update, stopped
//! when disabled or deleted, and all brought in line with the store after a reset
//! ([`ApiMappings::restart_all`]). [`ApiMappings::probes`] tells the idle check which
//! queues they poll and how many batches each has in hand.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use eddy_events::lambda::SqsEvent;
use eddy_store::Store;
use eddy_store::event_source_mappings::MappingRecord;
use futures::future::BoxFuture;
use tokio::sync::Mutex;

use crate::deployed::{DeployedFunctions, StoredFunctionError, function_concurrency};
use crate::event_filter::FilterPattern;
use crate::external::parse_response;
use crate::function::{Function, InvokeError};
use crate::mapping::{self, MappingHandle, MappingSettings};
use crate::poller::BatchGauge;

/// A running API mapping, as the idle check sees it.
pub struct ApiMappingProbe {
    pub uuid: String,
    pub queue: String,
    pub function: String,
    pub batches_in_hand: BatchGauge,
}

/// A function stored by the Lambda API, invoked at its current revision.
pub struct StoredFunction {
    name: String,
    store: Store,
    deployed: Arc<DeployedFunctions>,
    /// The processes its revision may run at once, as last read with its record.
    concurrency: Arc<AtomicU32>,
}

impl Function for StoredFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn concurrency(&self) -> Option<u32> {
        Some(self.concurrency.load(Ordering::Relaxed))
    }

    fn invoke(
        &self,
        event: SqsEvent,
        _timeout: Duration,
    ) -> BoxFuture<'static, Result<serde_json::Value, InvokeError>> {
        let (name, store, deployed, concurrency) = (
            self.name.clone(),
            self.store.clone(),
            self.deployed.clone(),
            self.concurrency.clone(),
        );
        Box::pin(async move {
            let failed = |error_type: &str, message: String| InvokeError::Function {
                error_type: error_type.to_owned(),
                message,
            };
            let payload = serde_json::to_vec(&event)
                .map_err(|e| failed("Runtime.SerializationError", e.to_string()))?;
            let record = store
                .functions()
                .get(&name)
                .await
                .map_err(|e| failed("ResourceNotFoundException", e.to_string()))?;
            concurrency.store(function_concurrency(&record), Ordering::Relaxed);
            let invocation = deployed
                .invoke_stored(&store, &record, None, Bytes::from(payload))
                .await
                .map_err(|e| match e {
                    StoredFunctionError::Throttled(throttle) => InvokeError::Throttled(throttle),
                    other => failed("Runtime.InvalidEntrypoint", other.to_string()),
                })?;
            invocation
                .outcome
                .map(|body| parse_response(&body))
                .map_err(|failure| failure.error)
        })
    }
}

/// The running mappings created through the API, by UUID.
pub struct ApiMappings {
    store: Store,
    deployed: Arc<DeployedFunctions>,
    running: Mutex<HashMap<String, Running>>,
}

/// One running mapping and what it runs.
struct Running {
    queue: String,
    function: String,
    handle: MappingHandle,
}

/// The settings a stored mapping runs with, for a function of `function_timeout`.
pub fn settings(record: &MappingRecord, function_timeout: Duration) -> MappingSettings {
    MappingSettings {
        queue_name: record.queue_name.clone(),
        batch_size: record.batch_size,
        maximum_batching_window: Duration::from_secs(u64::from(
            record.maximum_batching_window_seconds,
        )),
        report_batch_item_failures: record
            .function_response_types
            .iter()
            .any(|t| t == "ReportBatchItemFailures"),
        function_timeout,
        maximum_concurrency: record.maximum_concurrency.unwrap_or(1000),
        // Checked when the mapping was created or updated.
        filters: record
            .filter_patterns
            .iter()
            .filter_map(|p| FilterPattern::parse(p).ok())
            .collect(),
    }
}

impl ApiMappings {
    pub fn new(store: Store, deployed: Arc<DeployedFunctions>) -> Self {
        Self {
            store,
            deployed,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Starts every enabled stored mapping whose queue and function still pass
    /// Lambda's start-up checks (the others are logged and left stopped).
    pub async fn start_all(&self) {
        let records = match self.store.event_source_mappings().list().await {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(%error, "cannot read the event source mappings");
                return;
            }
        };
        for record in records.iter().filter(|r| r.enabled) {
            self.apply(record).await;
        }
    }

    /// Runs a stored mapping as it now is: stops the running one, and starts it again
    /// when enabled.
    pub async fn apply(&self, record: &MappingRecord) {
        self.remove(&record.uuid).await;
        if !record.enabled {
            return;
        }
        let (timeout, concurrency) = match self.store.functions().get(&record.function_name).await {
            Ok(function) => (
                Duration::from_secs(u64::from(function.timeout)),
                function_concurrency(&function),
            ),
            Err(error) => {
                tracing::warn!(uuid = %record.uuid, %error, "event source mapping not started");
                return;
            }
        };
        let settings = settings(record, timeout);
        if let Err(error) = mapping::check(&self.store, &settings).await {
            tracing::warn!(uuid = %record.uuid, %error, "event source mapping not started");
            return;
        }
        let function = Arc::new(StoredFunction {
            name: record.function_name.clone(),
            store: self.store.clone(),
            deployed: self.deployed.clone(),
            concurrency: Arc::new(AtomicU32::new(concurrency)),
        });
        tracing::info!(uuid = %record.uuid, queue = %record.queue_name, function = %record.function_name, batch_size = record.batch_size, "event source mapping enabled");
        let handle = mapping::start(self.store.clone(), settings, function);
        self.running.lock().await.insert(
            record.uuid.clone(),
            Running {
                queue: record.queue_name.clone(),
                function: record.function_name.clone(),
                handle,
            },
        );
    }

    /// Stops a mapping (in-flight batches finish).
    pub async fn remove(&self, uuid: &str) {
        let running = self.running.lock().await.remove(uuid);
        if let Some(running) = running {
            running.handle.stop().await;
        }
    }

    /// Stops every mapping (eddy is shutting down).
    pub async fn stop(&self) {
        let all: Vec<Running> = self.running.lock().await.drain().map(|(_, r)| r).collect();
        for running in all {
            running.handle.stop().await;
        }
    }

    /// Runs the mappings the store holds now, and only them (after a reset: the
    /// mappings created since start are gone, the ones of the start are back as they
    /// were). Every running mapping stops first (in-flight batches finish).
    pub async fn restart_all(&self) {
        self.stop().await;
        self.start_all().await;
    }

    /// The running mappings: queue, function and batches in hand.
    pub async fn probes(&self) -> Vec<ApiMappingProbe> {
        self.running
            .lock()
            .await
            .iter()
            .map(|(uuid, running)| ApiMappingProbe {
                uuid: uuid.clone(),
                queue: running.queue.clone(),
                function: running.function.clone(),
                batches_in_hand: running.handle.batches_in_hand(),
            })
            .collect()
    }
}
