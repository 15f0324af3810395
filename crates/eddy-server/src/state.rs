//! What every request handler shares: the store, the accepted credentials, the host of
//! API-deployed functions, the ids of the request being served, and the little state the HTTP front keeps itself (the
//! PurgeQueue rate limit). Handlers of every service import it from here; it imports
//! none of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eddy_pipeline::api_mappings::ApiMappings;
use eddy_pipeline::async_invocations::AsyncInvoker;
use eddy_pipeline::deployed::DeployedFunctions;
use eddy_store::Store;
use eddy_store::sqs::{SqsError, SqsErrorKind};

/// Request ids of one request, shared by its response headers and its S3 events.
#[derive(Debug, Clone)]
pub struct RequestIds {
    pub request_id: String,
    pub host_id: String,
    pub source_ip: String,
}

impl RequestIds {
    pub fn generate() -> Self {
        use base64::Engine as _;
        let id = eddy_store::ids::random_uuid();
        let request_id = id.simple().to_string().to_uppercase()[..16].to_owned();
        let host_id = base64::engine::general_purpose::STANDARD.encode(id.as_bytes());
        Self {
            request_id,
            host_id,
            source_ip: "127.0.0.1".to_owned(),
        }
    }
}

/// Credentials accepted for SigV4.
#[derive(Debug, Clone)]
pub struct Credential {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// State shared by every request.
/// The host of the queue URLs SQS answers with (`sqs_queue_url_host` in eddy.toml). Every
/// form reaches eddy where `*.localhost` resolves to the loopback address (RFC 6761;
/// systemd-resolved and curl do, plain glibc does not); only the last two carry
/// the queue's region, as AWS's `sqs.<region>.amazonaws.com` does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueUrlHost {
    /// The Host the request came to (`127.0.0.1:4566`).
    #[default]
    Request,
    /// `sqs.<region>.localhost:<port>`.
    SqsRegion,
    /// `<region>.queue.localhost:<port>`.
    RegionQueue,
}

pub struct AppState {
    pub store: Store,
    /// The host of the queue URLs SQS answers with.
    pub queue_url_host: QueueUrlHost,
    pub credentials: Vec<Credential>,
    pub started: Instant,
    /// The Prometheus recorder's handle, when metrics are enabled.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The functions and mappings configured in `eddy.toml`.
    pub configured: crate::configured::Configured,
    /// Reset and wait-until-idle, when a pipeline runs behind this front.
    /// Set once the pipeline runs (it starts after the server, which its external
    /// functions call).
    harness: std::sync::OnceLock<crate::harness::Harness>,
    /// Faults injected on demand.
    pub faults: crate::faults::Faults,
    /// Runs the functions created through the Lambda API (Invoke needs it).
    pub functions: Option<Arc<DeployedFunctions>>,
    /// Runs the event source mappings of the Lambda API.
    pub mappings: Option<Arc<ApiMappings>>,
    /// Runs the queued asynchronous invocations (woken when Invoke queues one).
    pub async_invoker: Option<Arc<AsyncInvoker>>,
    purges: Mutex<HashMap<String, Instant>>,
}

impl AppState {
    pub fn new(store: Store, credentials: Vec<Credential>) -> Self {
        Self {
            store,
            queue_url_host: QueueUrlHost::default(),
            credentials,
            started: Instant::now(),
            metrics: None,
            configured: crate::configured::Configured::default(),
            harness: std::sync::OnceLock::new(),
            faults: crate::faults::Faults::default(),
            functions: None,
            mappings: None,
            async_invoker: None,
            purges: Mutex::new(HashMap::new()),
        }
    }

    /// Chooses the host of the queue URLs SQS answers with.
    pub fn with_queue_url_host(mut self, host: QueueUrlHost) -> Self {
        self.queue_url_host = host;
        self
    }

    /// The functions and mappings configured in `eddy.toml` (shown by the Lambda API,
    /// the dashboard and `eddy status`).
    pub fn with_configured(mut self, configured: crate::configured::Configured) -> Self {
        self.configured = configured;
        self
    }

    /// Serves `/_eddy/api/reset` and `/_eddy/api/idle` with this harness from now on
    /// (the first one set stays).
    pub fn set_harness(&self, harness: crate::harness::Harness) {
        let _ = self.harness.set(harness);
    }

    /// The harness, once the pipeline runs.
    pub fn harness(&self) -> Option<&crate::harness::Harness> {
        self.harness.get()
    }

    /// Runs the functions of the Lambda API on `functions`.
    pub fn with_functions(mut self, functions: Arc<DeployedFunctions>) -> Self {
        self.functions = Some(functions);
        self
    }

    /// Runs the event source mappings of the Lambda API on `mappings`.
    pub fn with_mappings(mut self, mappings: Arc<ApiMappings>) -> Self {
        self.mappings = Some(mappings);
        self
    }

    /// Runs asynchronous invocations on `invoker`.
    pub fn with_async_invoker(mut self, invoker: Arc<AsyncInvoker>) -> Self {
        self.async_invoker = Some(invoker);
        self
    }

    /// Serves `/_eddy/metrics` from this Prometheus recorder.
    pub fn with_metrics(mut self, handle: metrics_exporter_prometheus::PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }

    /// The secret of an access key id.
    pub fn secret_for(&self, access_key_id: &str) -> Option<String> {
        self.credentials
            .iter()
            .find(|c| c.access_key_id == access_key_id)
            .map(|c| c.secret_access_key.clone())
    }

    /// Forgets the PurgeQueue rate limit (a reset of the store).
    pub fn forget_purges(&self) {
        if let Ok(mut purges) = self.purges.lock() {
            purges.clear();
        }
    }

    /// SQS allows one PurgeQueue per queue every 60 seconds.
    pub fn check_purge(&self, queue: &str) -> Result<(), SqsError> {
        let mut purges = self
            .purges
            .lock()
            .map_err(|_| SqsError::new(SqsErrorKind::InternalError, "lock poisoned"))?;
        let now = Instant::now();
        if let Some(last) = purges.get(queue)
            && now.duration_since(*last) < Duration::from_secs(60)
        {
            return Err(SqsError::new(
                SqsErrorKind::PurgeQueueInProgress,
                format!("Only one PurgeQueue operation on {queue} is allowed every 60 seconds."),
            ));
        }
        purges.insert(queue.to_owned(), now);
        Ok(())
    }
}
