//! What every request handler shares: the store, the accepted credentials (configured
//! pairs and the temporary credentials STS issued), the host of API-deployed functions, the ids of the request being served, and the little state the HTTP front keeps itself (the
//! PurgeQueue rate limit). Handlers of every service import it from here; it imports
//! none of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use eddy_pipeline::api_mappings::ApiMappings;
use eddy_pipeline::async_invocations::AsyncInvoker;
use eddy_pipeline::configured::ConfiguredFunctions;
use eddy_pipeline::deployed::DeployedFunctions;
use eddy_store::Store;
use eddy_store::sqs::{SqsError, SqsErrorKind};
use eddy_store::sts::SessionRecord;

use crate::sigv4::AuthError;

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

/// The temporary credentials STS issued, by access key id: a copy in memory of the
/// store's `sts_sessions` (loaded at start, added to by AssumeRole after the store has
/// it), so SigV4 checks need no database read.
#[derive(Debug, Default)]
pub struct Sessions {
    by_key: RwLock<HashMap<String, SessionRecord>>,
}

fn by_access_key(records: Vec<SessionRecord>) -> HashMap<String, SessionRecord> {
    records
        .into_iter()
        .map(|r| (r.access_key_id.clone(), r))
        .collect()
}

impl Sessions {
    pub fn new(records: Vec<SessionRecord>) -> Self {
        Self {
            by_key: RwLock::new(by_access_key(records)),
        }
    }

    /// Adds newly issued credentials (after the store has them).
    pub fn insert(&self, record: SessionRecord) {
        if let Ok(mut map) = self.by_key.write() {
            map.insert(record.access_key_id.clone(), record);
        }
    }

    /// Replaces every session with `records` (after a reset of the store).
    pub fn replace(&self, records: Vec<SessionRecord>) {
        if let Ok(mut map) = self.by_key.write() {
            *map = by_access_key(records);
        }
    }

    /// The session of an access key id, if STS issued it.
    pub fn get(&self, access_key_id: &str) -> Option<SessionRecord> {
        self.by_key.read().ok()?.get(access_key_id).cloned()
    }

    /// The secret of temporary credentials presented with `token` at `now_ms`:
    /// refused when the token is not theirs or they have expired.
    pub fn check(
        &self,
        access_key_id: &str,
        token: Option<&str>,
        now_ms: u64,
    ) -> Result<String, AuthError> {
        let session = self.get(access_key_id).ok_or(AuthError::UnknownAccessKey)?;
        if token != Some(session.session_token.as_str()) {
            return Err(AuthError::InvalidToken);
        }
        if now_ms >= session.expiration_ms {
            return Err(AuthError::ExpiredToken);
        }
        Ok(session.secret_access_key)
    }
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
    /// Temporary credentials issued by STS AssumeRole.
    pub sessions: Arc<Sessions>,
    pub started: Instant,
    /// The Prometheus recorder's handle, when metrics are enabled.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The functions and mappings configured in `eddy.toml`.
    pub configured: crate::configured::Configured,
    /// Reset and wait-until-idle, when a pipeline runs behind this front.
    /// Set once the pipeline runs (it starts after the server, which its external
    /// functions call).
    harness: std::sync::OnceLock<crate::harness::Harness>,
    /// Runs the functions created through the Lambda API (Invoke needs it).
    pub functions: Option<Arc<DeployedFunctions>>,
    /// Runs the event source mappings of the Lambda API.
    pub mappings: Option<Arc<ApiMappings>>,
    /// Runs the queued asynchronous invocations (woken when Invoke queues one).
    pub async_invoker: Option<Arc<AsyncInvoker>>,
    /// Runs the functions of `eddy.toml` when Invoke names one (empty until the
    /// pipeline runs).
    pub configured_functions: Arc<ConfiguredFunctions>,
    purges: Mutex<HashMap<String, Instant>>,
}

impl AppState {
    pub fn new(store: Store, credentials: Vec<Credential>) -> Self {
        Self {
            store,
            queue_url_host: QueueUrlHost::default(),
            credentials,
            sessions: Arc::new(Sessions::default()),
            started: Instant::now(),
            metrics: None,
            configured: crate::configured::Configured::default(),
            harness: std::sync::OnceLock::new(),
            functions: None,
            mappings: None,
            async_invoker: None,
            configured_functions: Arc::new(ConfiguredFunctions::default()),
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

    /// Runs the functions of `eddy.toml` on `functions` for Invoke.
    pub fn with_configured_functions(mut self, functions: Arc<ConfiguredFunctions>) -> Self {
        self.configured_functions = functions;
        self
    }

    /// Accepts the temporary credentials STS issued before (from the store).
    pub fn with_sessions(mut self, records: Vec<SessionRecord>) -> Self {
        self.sessions = Arc::new(Sessions::new(records));
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

    /// The secret of an access key for SigV4: a configured pair's, or that of
    /// temporary credentials STS issued, presented with their session token and not
    /// expired.
    pub fn resolve_secret(
        &self,
        access_key_id: &str,
        token: Option<&str>,
    ) -> Result<String, AuthError> {
        if let Some(secret) = self.secret_for(access_key_id) {
            return Ok(secret);
        }
        self.sessions
            .check(access_key_id, token, eddy_store::time::now_ms())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expiration_ms: u64) -> SessionRecord {
        SessionRecord {
            access_key_id: "ASIAEXAMPLE000000001".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
            expiration_ms,
            role_arn: "arn:aws:iam::000000000000:role/r".into(),
            assumed_role_id: "AROAEXAMPLE:s".into(),
            assumed_role_arn: "arn:aws:sts::000000000000:assumed-role/r/s".into(),
        }
    }

    #[test]
    fn temporary_credentials_need_their_token_and_expire() {
        let sessions = Sessions::new(vec![session(10_000)]);
        let key = "ASIAEXAMPLE000000001";
        assert_eq!(
            sessions.check(key, Some("token"), 9_999),
            Ok("secret".into())
        );
        assert_eq!(
            sessions.check(key, Some("token"), 10_000),
            Err(AuthError::ExpiredToken)
        );
        assert_eq!(
            sessions.check(key, Some("other"), 9_999),
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            sessions.check(key, None, 9_999),
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            sessions.check("ASIAUNKNOWN", Some("token"), 0),
            Err(AuthError::UnknownAccessKey)
        );
    }

    #[test]
    fn configured_keys_come_before_sessions() {
        let store_dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let store = runtime.block_on(async {
            eddy_store::Store::open(
                store_dir.path(),
                eddy_store::StoreSettings {
                    region: "us-east-1".into(),
                    account_id: "000000000000".into(),
                    access_key_id: "test".into(),
                },
                eddy_telemetry::Telemetry::default(),
            )
            .expect("store")
        });
        let state = AppState::new(
            store,
            vec![Credential {
                access_key_id: "test".into(),
                secret_access_key: "test-secret".into(),
            }],
        )
        .with_sessions(vec![session(1)]);
        assert_eq!(state.resolve_secret("test", None), Ok("test-secret".into()));
        assert_eq!(
            state.resolve_secret("ASIAEXAMPLE000000001", Some("token")),
            Err(AuthError::ExpiredToken)
        );
    }
}
