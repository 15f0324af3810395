//! External functions: executables speaking the Lambda Runtime API (a `provided.al2023`
//! `bootstrap`, or another language's runtime interface client), run by `eddy up` as
//! local processes.
//!
//! Each process gets its own loopback Runtime API endpoint (`AWS_LAMBDA_RUNTIME_API`)
//! and the environment Lambda gives a function, with `AWS_ENDPOINT_URL` and the
//! configured credentials pointing its AWS SDK at eddy. One process handles one
//! invocation at a time, so the pool grows to as many processes as the mappings'
//! concurrency needs. The host enforces the deadline (a timed-out invocation fails and
//! its process is killed and restarted), restarts a process that dies, and writes the
//! processes' stdout and stderr into eddy's log tagged with the function name and the
//! request id.
//!
//! Served under `/2018-06-01`: `GET /runtime/invocation/next`,
//! `POST /runtime/invocation/{id}/response`, `POST /runtime/invocation/{id}/error`,
//! `POST /runtime/init/error`.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, Semaphore, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use eddy_engine::mapping::{Function, InvokeError};
use eddy_events::lambda::SqsEvent;

/// How long a process may take to start and ask for its first event (Lambda's init
/// phase is limited to 10 s).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How an external function is started.
#[derive(Debug, Clone)]
pub struct ExternalFunctionConfig {
    pub name: String,
    /// The executable and its arguments.
    pub command: Vec<String>,
    /// `_HANDLER` (a runtime interface client uses it to find the handler).
    pub handler: String,
    /// The directory the process runs in (`LAMBDA_TASK_ROOT`); eddy's own when unset.
    pub working_dir: Option<PathBuf>,
    pub memory_mb: u64,
    /// Variables added to the function's environment.
    pub environment: BTreeMap<String, String>,
    pub region: String,
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// eddy's endpoint, given as `AWS_ENDPOINT_URL`.
    pub endpoint_url: String,
    /// The most processes (concurrent invocations) the function may have.
    pub max_processes: u32,
}

/// What one invocation resolves to.
type Outcome = Result<serde_json::Value, InvokeError>;

/// An invocation waiting for a process to take it.
struct Queued {
    request_id: String,
    body: Bytes,
    timeout: Duration,
    taken: oneshot::Sender<()>,
    outcome: oneshot::Sender<Outcome>,
}

/// One process slot: its supervisor keeps a process running and serves it the
/// Runtime API.
struct Slot {
    host: Arc<HostShared>,
    number: u32,
    queued: Mutex<Option<Queued>>,
    queued_changed: Notify,
    /// Invocations a process took and has not answered, by request id.
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// The request id last handed to the process, for tagging its output (a line
    /// printed just before the answer may be read after it).
    current_request: Mutex<Option<String>>,
    /// Asks the supervisor to kill the process (it then restarts it).
    kill: Notify,
}

struct HostShared {
    config: ExternalFunctionConfig,
    function_arn: String,
    shutdown: watch::Receiver<bool>,
}

/// A Lambda-style function run as local processes; see the module documentation.
pub struct ExternalFunction {
    pool: Arc<Pool>,
}

struct Pool {
    shared: Arc<HostShared>,
    shutdown: watch::Sender<bool>,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Arc<Slot>>>,
    created: Mutex<u32>,
    supervisors: Mutex<JoinSet<()>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn now_epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl ExternalFunction {
    pub fn new(config: ExternalFunctionConfig) -> Self {
        let function_arn = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            config.region, config.account_id, config.name
        );
        let (shutdown, watcher) = watch::channel(false);
        let permits = Arc::new(Semaphore::new(config.max_processes.max(1) as usize));
        Self {
            pool: Arc::new(Pool {
                shared: Arc::new(HostShared {
                    config,
                    function_arn,
                    shutdown: watcher,
                }),
                shutdown,
                permits,
                idle: Mutex::new(Vec::new()),
                created: Mutex::new(0),
                supervisors: Mutex::new(JoinSet::new()),
            }),
        }
    }

    /// Stops every process of the function and waits for their supervisors.
    pub async fn stop(&self) {
        let _ = self.pool.shutdown.send(true);
        self.pool.permits.close();
        let mut supervisors = std::mem::take(&mut *lock(&self.pool.supervisors));
        while supervisors.join_next().await.is_some() {}
    }
}

impl Pool {
    /// An idle slot, or a new one (with its supervisor) when none is idle.
    fn lease_slot(&self) -> Arc<Slot> {
        if let Some(slot) = lock(&self.idle).pop() {
            return slot;
        }
        let number = {
            let mut created = lock(&self.created);
            *created += 1;
            *created
        };
        let slot = Arc::new(Slot {
            host: self.shared.clone(),
            number,
            queued: Mutex::new(None),
            queued_changed: Notify::new(),
            pending: Mutex::new(HashMap::new()),
            current_request: Mutex::new(None),
            kill: Notify::new(),
        });
        let supervised = slot.clone();
        lock(&self.supervisors).spawn(async move { supervise(supervised).await });
        slot
    }
}

impl Function for ExternalFunction {
    fn name(&self) -> &str {
        &self.pool.shared.config.name
    }

    fn invoke(&self, event: SqsEvent, timeout: Duration) -> BoxFuture<'static, Outcome> {
        let pool = self.pool.clone();
        let body = serde_json::to_vec(&event).map(Bytes::from);
        Box::pin(async move {
            let body = body.map_err(|e| InvokeError::Function {
                error_type: "Runtime.SerializationError".into(),
                message: e.to_string(),
            })?;
            // A slot is leased only with a permit, so the pool never exceeds the maximum.
            let _permit =
                pool.permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| InvokeError::Function {
                        error_type: "Runtime.Unavailable".into(),
                        message: "the function is shutting down".into(),
                    })?;
            let lease = Lease {
                slot: pool.lease_slot(),
                pool: pool.clone(),
            };
            lease.slot.invoke(body, timeout).await
        })
    }
}

/// A slot in use by one invocation; it goes back to the idle list when dropped, even
/// when the invocation is abandoned midway (its process is then restarted, so a stale
/// event never holds it).
struct Lease {
    pool: Arc<Pool>,
    slot: Arc<Slot>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let abandoned_queued = lock(&self.slot.queued).take().is_some();
        let abandoned_pending = !lock(&self.slot.pending).is_empty();
        if abandoned_queued || abandoned_pending {
            lock(&self.slot.pending).clear();
            self.slot.kill.notify_one();
        }
        lock(&self.pool.idle).push(self.slot.clone());
    }
}

impl Slot {
    fn tag(&self) -> String {
        format!("{}#{}", self.host.config.name, self.number)
    }

    /// Hands an event to this slot's process and waits for its answer.
    async fn invoke(&self, body: Bytes, timeout: Duration) -> Outcome {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (taken_tx, taken_rx) = oneshot::channel();
        let (outcome_tx, outcome_rx) = oneshot::channel();
        *lock(&self.queued) = Some(Queued {
            request_id: request_id.clone(),
            body,
            timeout,
            taken: taken_tx,
            outcome: outcome_tx,
        });
        self.queued_changed.notify_waiters();
        // The deadline runs from when the process takes the event; starting a process
        // (Lambda's init phase) has its own limit.
        if tokio::time::timeout(INIT_TIMEOUT, taken_rx).await.is_err() {
            lock(&self.queued).take();
            self.kill.notify_one();
            return Err(InvokeError::Function {
                error_type: "Runtime.InitError".into(),
                message: format!(
                    "the process did not ask for an event within {INIT_TIMEOUT:?} of being started"
                ),
            });
        }
        match tokio::time::timeout(timeout, outcome_rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(InvokeError::Function {
                error_type: "Runtime.ExitError".into(),
                message: "the process exited before answering".into(),
            }),
            Err(_) => {
                lock(&self.pending).remove(&request_id);
                tracing::warn!(function = %self.host.config.name, %request_id, ?timeout, "invocation timed out; restarting its process");
                self.kill.notify_one();
                Err(InvokeError::Timeout(timeout))
            }
        }
    }

    /// Fails every invocation the process took and did not answer.
    fn fail_pending(&self, reason: &str) {
        let pending: Vec<_> = lock(&self.pending).drain().collect();
        for (_, outcome) in pending {
            let _ = outcome.send(Err(InvokeError::Function {
                error_type: "Runtime.ExitError".into(),
                message: reason.to_owned(),
            }));
        }
        lock(&self.current_request).take();
    }
}

/// Keeps a process running for the slot: binds a fresh Runtime API endpoint, starts the
/// process, and when the process exits (or is killed after a timeout) fails what it
/// had taken and starts a new one, backing off while it keeps crashing at start.
async fn supervise(slot: Arc<Slot>) {
    let mut shutdown = slot.host.shutdown.clone();
    let mut backoff = Duration::from_millis(100);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let started = Instant::now();
        let (exit, killed) = match run_process(&slot, &mut shutdown).await {
            Ok(ended) => ended,
            Err(error) => (format!("could not start: {error}"), false),
        };
        slot.fail_pending(&format!("Runtime exited: {exit}"));
        if *shutdown.borrow() {
            return;
        }
        tracing::warn!(function = %slot.host.config.name, process = %slot.tag(), %exit, "function process ended; restarting it");
        // Only a process that keeps dying on its own is restarted ever more slowly.
        if killed || started.elapsed() > Duration::from_secs(5) {
            backoff = Duration::from_millis(100);
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Runs one process to its end; returns how it ended, and whether eddy killed it.
async fn run_process(
    slot: &Arc<Slot>,
    shutdown: &mut watch::Receiver<bool>,
) -> std::io::Result<(String, bool)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    let mut server = JoinSet::new();
    let served = slot.clone();
    server.spawn(async move { serve(listener, served).await });
    let mut child = spawn_child(&slot.host.config, &address.to_string())?;
    for (stream, output) in [
        (
            "stdout",
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn AsyncRead + Send + Unpin>),
        ),
        (
            "stderr",
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn AsyncRead + Send + Unpin>),
        ),
    ] {
        if let Some(output) = output {
            server.spawn(forward_output(slot.clone(), stream, output));
        }
    }
    tracing::debug!(function = %slot.host.config.name, process = %slot.tag(), runtime_api = %address, "function process started");
    let ended = tokio::select! {
        status = child.wait() => (status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()), false),
        _ = slot.kill.notified() => {
            let _ = child.kill().await;
            ("killed after its invocation timed out".to_owned(), true)
        }
        _ = shutdown.changed() => {
            let _ = child.kill().await;
            ("stopped with eddy".to_owned(), true)
        }
    };
    // Let the last output lines through before the forwarders are dropped.
    let drain = async { while server.len() > 1 && server.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_millis(200), drain).await;
    server.abort_all();
    Ok(ended)
}

fn spawn_child(config: &ExternalFunctionConfig, runtime_api: &str) -> std::io::Result<Child> {
    let Some((program, args)) = config.command.split_first() else {
        return Err(std::io::Error::other("the function has an empty command"));
    };
    let stream_id = uuid::Uuid::new_v4().simple().to_string();
    let date = time::OffsetDateTime::now_utc();
    let mut command = Command::new(program);
    command
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_ENDPOINT_URL_SQS")
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", &config.name)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
        .env("AWS_REGION", &config.region)
        .env("AWS_DEFAULT_REGION", &config.region)
        .env("_HANDLER", &config.handler)
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", config.name),
        )
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!(
                "{:04}/{:02}/{:02}/[$LATEST]{stream_id}",
                date.year(),
                u8::from(date.month()),
                date.day()
            ),
        )
        .env("TZ", ":UTC")
        .env("AWS_ACCESS_KEY_ID", &config.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &config.secret_access_key)
        .env("AWS_ENDPOINT_URL", &config.endpoint_url)
        .envs(&config.environment)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = &config.working_dir {
        command.current_dir(dir).env("LAMBDA_TASK_ROOT", dir);
    } else if let Ok(dir) = std::env::current_dir() {
        command.env("LAMBDA_TASK_ROOT", dir);
    }
    command.spawn()
}

/// Writes each line a process prints into eddy's log, tagged with the function name
/// and the request id being handled.
async fn forward_output(
    slot: Arc<Slot>,
    stream: &'static str,
    output: Box<dyn AsyncRead + Send + Unpin>,
) {
    let mut lines = BufReader::new(output).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let request_id = lock(&slot.current_request).clone().unwrap_or_default();
        tracing::info!(target: "eddy::function", function = %slot.host.config.name, %request_id, stream, "{line}");
    }
}

/// Serves the Runtime API of one process.
async fn serve(listener: TcpListener, slot: Arc<Slot>) {
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(function = %slot.host.config.name, %error, "Runtime API accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let slot = slot.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let slot = slot.clone();
                async move { Ok::<_, Infallible>(route(&slot, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn error_response(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(
        status,
        serde_json::json!({"errorType": error_type, "errorMessage": message}),
    )
}

fn accepted() -> Response<Full<Bytes>> {
    json_response(StatusCode::ACCEPTED, serde_json::json!({"status": "OK"}))
}

async fn route(slot: &Arc<Slot>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return error_response(StatusCode::NOT_FOUND, "NotFound", "unknown path");
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let method = request.method().clone();
    match (method, segments.as_slice()) {
        (Method::GET, ["invocation", "next"]) => next_invocation(slot).await,
        (Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let id = (*id).to_owned();
            let is_error = *kind == "error";
            let error_type_header = request
                .headers()
                .get("Lambda-Runtime-Function-Error-Type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = match request.into_body().collect().await {
                Ok(body) => body.to_bytes(),
                Err(error) => {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        "InvalidRequest",
                        &error.to_string(),
                    );
                }
            };
            let Some(responder) = lock(&slot.pending).remove(&id) else {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestID",
                    "Invalid request ID",
                );
            };
            let outcome = if is_error {
                Err(function_error(&body, error_type_header))
            } else {
                Ok(parse_response(&body))
            };
            let _ = responder.send(outcome);
            accepted()
        }
        (Method::POST, ["init", "error"]) => {
            let body = request
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let error = function_error(&body, None);
            tracing::warn!(function = %slot.host.config.name, process = %slot.tag(), %error, "function initialisation failed");
            accepted()
        }
        _ => error_response(StatusCode::NOT_FOUND, "NotFound", "unknown path"),
    }
}

/// The response body as JSON; an empty body is `null`, text that is not JSON a string
/// (which fails a batch that reports item failures, as on Lambda).
fn parse_response(body: &[u8]) -> serde_json::Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn function_error(body: &[u8], error_type_header: Option<String>) -> InvokeError {
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |name: &str| parsed.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    InvokeError::Function {
        error_type: field("errorType")
            .or(error_type_header)
            .unwrap_or_else(|| "Unhandled".to_owned()),
        message: field("errorMessage")
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
    }
}

/// `GET /runtime/invocation/next`: waits for the slot's next event.
async fn next_invocation(slot: &Arc<Slot>) -> Response<Full<Bytes>> {
    let queued = loop {
        let changed = slot.queued_changed.notified();
        if let Some(queued) = lock(&slot.queued).take() {
            break queued;
        }
        changed.await;
    };
    let deadline_ms = now_epoch_ms() + queued.timeout.as_millis() as u64;
    lock(&slot.pending).insert(queued.request_id.clone(), queued.outcome);
    *lock(&slot.current_request) = Some(queued.request_id.clone());
    let _ = queued.taken.send(());
    let trace_id = {
        let id = uuid::Uuid::new_v4().simple().to_string();
        format!(
            "Root=1-{:08x}-{};Parent={};Sampled=0",
            now_epoch_ms() / 1000,
            &id[..24],
            &id[16..32]
        )
    };
    let mut response = Response::new(Full::new(queued.body));
    let headers = response.headers_mut();
    let pairs = [
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", queued.request_id),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            slot.host.function_arn.clone(),
        ),
        ("lambda-runtime-trace-id", trace_id),
    ];
    for (name, value) in pairs {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}
