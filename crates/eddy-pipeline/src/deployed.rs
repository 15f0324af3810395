//! Functions deployed through the Lambda API, run as local processes of a managed
//! runtime ([`eddy_runtimes`]) behind the Runtime API host ([`crate::external`]).
//!
//! [`DeployedFunctions`] owns the unpacked code (`<data dir>/lambda/<function>/<code>`,
//! one directory per deployment package, written once and renamed into place) and
//! the warm processes of each function. A function's processes are reused while its
//! revision stays the same; an update (new code or configuration) stops them, so the
//! next invocation runs the new revision. The configuration itself lives in the store;
//! the caller hands it over as a [`DeployedSpec`]. It counts the invocations running
//! now ([`DeployedFunctions::running`], for the idle check) and, after a reset, stops
//! and removes the functions the store no longer has ([`DeployedFunctions::keep_only`]).
//!
//! Reserved concurrency (PutFunctionConcurrency) is enforced as Lambda enforces it: an
//! invocation that would exceed it (every one when it is 0) is throttled before it
//! runs ([`StoredFunctionError::Throttled`]), counted across all the function's
//! versions; without it, an invocation above eddy's bound of processes waits for one.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use eddy_runtimes::{InterpreterOverrides, ManagedRuntimes, Runtime, RuntimeRejection};
use eddy_store::Store;
use eddy_store::lambda::{FunctionRecord, FunctionStoreError};
use eddy_store::logs::{LogBatch, NewLogEvent};

use crate::external::{
    ExternalFunction, ExternalFunctionConfig, Failure, Outcome, OutputLine, log_stream_name,
};
use crate::function::{InvokeError, Throttle};

/// How many invocations of one deployed function run at once (its processes).
pub const MAX_PROCESSES_PER_FUNCTION: u32 = 10;

/// The processes a stored function may run at once: its reserved concurrency, else
/// [`MAX_PROCESSES_PER_FUNCTION`].
pub fn function_concurrency(record: &FunctionRecord) -> u32 {
    record
        .reserved_concurrency
        .unwrap_or(MAX_PROCESSES_PER_FUNCTION)
}

/// The reserved concurrency in force for an invocation of `record` (`$LATEST`, or the
/// published `version` it is the configuration of): the function's, whatever version
/// is invoked (a version keeps the value it was published with; Lambda's is the
/// function's now). A function that cannot be read has none.
pub async fn reserved_concurrency(
    store: &Store,
    record: &FunctionRecord,
    version: Option<u32>,
) -> Option<u32> {
    match version {
        None => record.reserved_concurrency,
        Some(_) => store
            .functions()
            .get(&record.name)
            .await
            .ok()
            .and_then(|f| f.reserved_concurrency),
    }
}

/// Who the function processes act as, and where they reach eddy.
#[derive(Debug, Clone)]
pub struct HostIdentity {
    pub region: String,
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// eddy's endpoint, given to the processes as `AWS_ENDPOINT_URL`.
    pub endpoint_url: String,
}

/// What running one revision of a function takes.
#[derive(Debug, Clone)]
pub struct DeployedSpec {
    pub name: String,
    pub runtime: Runtime,
    pub handler: String,
    pub timeout: Duration,
    pub memory_mb: u32,
    pub environment: BTreeMap<String, String>,
    /// Changes whenever the code or configuration does.
    pub revision_id: String,
    /// The base64 SHA-256 of the deployment package (names its directory).
    pub code_sha256: String,
    /// The published version this is, or `None` for `$LATEST`.
    pub version: Option<u32>,
    /// The most invocations at once: the reserved concurrency, else
    /// [`MAX_PROCESSES_PER_FUNCTION`].
    pub max_processes: u32,
}

impl DeployedSpec {
    /// `$LATEST` or the version number, as `ExecutedVersion` reports it.
    pub fn version_label(&self) -> String {
        self.version
            .map_or_else(|| "$LATEST".to_owned(), |v| v.to_string())
    }

    /// Warm processes are kept per function and version.
    fn warm_key(&self) -> String {
        format!("{}:{}", self.name, self.version_label())
    }
}

impl DeployedSpec {
    /// What running a function stored by the Lambda API takes.
    pub fn from_record(
        record: &FunctionRecord,
        version: Option<u32>,
    ) -> Result<Self, RuntimeRejection> {
        Ok(Self {
            name: record.name.clone(),
            runtime: record.runtime.parse()?,
            handler: record.handler.clone(),
            timeout: Duration::from_secs(u64::from(record.timeout)),
            memory_mb: record.memory_size,
            environment: record.environment.clone(),
            revision_id: record.revision_id.clone(),
            code_sha256: record.code_sha256.clone(),
            version,
            max_processes: function_concurrency(record),
        })
    }
}

/// Why a stored function could not be run.
#[derive(Debug, thiserror::Error)]
pub enum StoredFunctionError {
    #[error(transparent)]
    Runtime(#[from] RuntimeRejection),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("cannot read the function's code: {0}")]
    Store(#[from] FunctionStoreError),
    #[error("the unpacking task stopped")]
    Stopped,
    /// Throttled by the function's reserved concurrency: nothing ran.
    #[error("throttled before the handler ran: {0}")]
    Throttled(Throttle),
}

/// A deployment package that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("the deployment package is not a zip file: {0}")]
    NotAZip(#[source] zip::result::ZipError),
    #[error("cannot unpack the deployment package into {}", path.display())]
    Unpack {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One invocation of a deployed function, as Lambda reports it.
#[derive(Debug)]
pub struct DeployedInvocation {
    pub request_id: String,
    pub outcome: Outcome,
    /// Everything logged for the invocation: `START`, the function's output, `END`,
    /// `REPORT`.
    pub log: String,
    /// The same, one event per line, for the function's log stream.
    pub log_events: Vec<NewLogEvent>,
    /// The log stream of the process that ran it.
    pub log_stream: String,
}

/// The functions deployed through the API and their warm processes.
pub struct DeployedFunctions {
    runtimes: Arc<ManagedRuntimes>,
    code_root: PathBuf,
    identity: HostIdentity,
    warm: Mutex<HashMap<String, Warm>>,
    /// Invocations running now, by function.
    running: Arc<Mutex<BTreeMap<String, u32>>>,
    /// How many resets happened: an invocation that spans one keeps no log (its log
    /// group may be gone with the reset).
    resets: std::sync::atomic::AtomicU64,
}

/// Counts one running invocation of a function while it lives.
struct RunningGuard {
    running: Arc<Mutex<BTreeMap<String, u32>>>,
    function: String,
}

impl RunningGuard {
    /// Counts one more invocation of `function`, unless its `reserved` concurrency
    /// (when set) is in use already: then the invocation is throttled.
    fn admit(
        running: &Arc<Mutex<BTreeMap<String, u32>>>,
        function: &str,
        reserved: Option<u32>,
    ) -> Result<Self, Throttle> {
        {
            let mut counts = lock(running);
            let count = counts.get(function).copied().unwrap_or(0);
            match reserved {
                Some(0) => return Err(Throttle::ReservedZero),
                Some(reserved) if count >= reserved => {
                    return Err(Throttle::ReservedInUse { reserved });
                }
                _ => {
                    counts.insert(function.to_owned(), count + 1);
                }
            }
        }
        Ok(Self {
            running: running.clone(),
            function: function.to_owned(),
        })
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let mut running = lock(&self.running);
        if let Some(count) = running.get_mut(&self.function) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.remove(&self.function);
            }
        }
    }
}

struct Warm {
    revision_id: String,
    max_processes: u32,
    host: Arc<ExternalFunction>,
}

/// Checks that a deployment package is a zip eddy can unpack.
pub fn check_package(zip: &[u8]) -> Result<(), PackageError> {
    zip::ZipArchive::new(Cursor::new(zip))
        .map(|_| ())
        .map_err(PackageError::NotAZip)
}

impl DeployedFunctions {
    /// Keeps code and runtime clients under `data_dir/lambda`.
    pub fn new(
        data_dir: &Path,
        identity: HostIdentity,
    ) -> Result<Self, eddy_runtimes::InstallError> {
        let root = data_dir.join("lambda");
        let runtimes =
            ManagedRuntimes::new(&root.join("runtimes"), InterpreterOverrides::default())?;
        Ok(Self {
            runtimes: Arc::new(runtimes),
            code_root: root.join("functions"),
            identity,
            warm: Mutex::new(HashMap::new()),
            running: Arc::new(Mutex::new(BTreeMap::new())),
            resets: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The directory a revision's code runs in (`LAMBDA_TASK_ROOT`).
    pub fn task_root(&self, spec: &DeployedSpec) -> PathBuf {
        let key: String = spec
            .code_sha256
            .chars()
            .filter_map(|c| match c {
                '/' => Some('_'),
                '+' => Some('-'),
                '=' => None,
                c => Some(c),
            })
            .collect();
        self.code_root.join(&spec.name).join(key)
    }

    /// Whether the revision's code is unpacked already (after a restart it usually is).
    pub fn is_unpacked(&self, spec: &DeployedSpec) -> bool {
        self.task_root(spec).is_dir()
    }

    /// Unpacks the deployment package of `spec` (blocking: call off the async threads).
    pub fn unpack(&self, spec: &DeployedSpec, zip: &[u8]) -> Result<(), PackageError> {
        let target = self.task_root(spec);
        if target.is_dir() {
            return Ok(());
        }
        let parent = target.parent().unwrap_or(&self.code_root).to_owned();
        let io = |source| PackageError::Unpack {
            path: target.clone(),
            source,
        };
        std::fs::create_dir_all(&parent).map_err(io)?;
        let staging = tempfile::Builder::new()
            .prefix(".unpacking-")
            .tempdir_in(&parent)
            .map_err(io)?;
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(PackageError::NotAZip)?;
        archive
            .extract(staging.path())
            .map_err(|error| match error {
                zip::result::ZipError::Io(source) => io(source),
                other => PackageError::NotAZip(other),
            })?;
        let staged = staging.keep();
        if let Err(source) = std::fs::rename(&staged, &target) {
            let _ = std::fs::remove_dir_all(&staged);
            if !target.is_dir() {
                return Err(io(source));
            }
        }
        Ok(())
    }

    /// Unpacks a stored function's code from the store unless it is unpacked already
    /// (the usual case: CreateFunction and UpdateFunctionCode unpack it).
    pub async fn ensure_unpacked(
        self: &Arc<Self>,
        store: &Store,
        spec: &DeployedSpec,
    ) -> Result<(), StoredFunctionError> {
        if self.is_unpacked(spec) {
            return Ok(());
        }
        let zip = match spec.version {
            None => store.functions().code(&spec.name).await?,
            Some(version) => store.function_versions().code(&spec.name, version).await?,
        };
        let (host, spec) = (self.clone(), spec.clone());
        tokio::task::spawn_blocking(move || host.unpack(&spec, &zip))
            .await
            .map_err(|_| StoredFunctionError::Stopped)??;
        Ok(())
    }

    /// Invokes a function stored by the Lambda API (`$LATEST`, or the published
    /// `version` whose configuration `record` is), unpacking its code first when needed.
    pub async fn invoke_stored(
        self: &Arc<Self>,
        store: &Store,
        record: &FunctionRecord,
        version: Option<u32>,
        payload: Bytes,
    ) -> Result<DeployedInvocation, StoredFunctionError> {
        let reserved = reserved_concurrency(store, record, version).await;
        let _running = RunningGuard::admit(&self.running, &record.name, reserved)
            .map_err(StoredFunctionError::Throttled)?;
        let resets = self.resets.load(std::sync::atomic::Ordering::SeqCst);
        let mut spec = DeployedSpec::from_record(record, version)?;
        spec.max_processes = reserved.unwrap_or(MAX_PROCESSES_PER_FUNCTION);
        self.ensure_unpacked(store, &spec).await?;
        let invocation = self.invoke(&spec, payload).await;
        let reset_since = self.resets.load(std::sync::atomic::Ordering::SeqCst) != resets;
        if !invocation.log_events.is_empty() && !reset_since {
            store.logs().append(LogBatch {
                group: format!("/aws/lambda/{}", spec.name),
                stream: invocation.log_stream.clone(),
                events: invocation.log_events.clone(),
            });
        }
        Ok(invocation)
    }

    /// Invokes a revision of a function with `payload`, starting its processes when
    /// none of this revision is warm. The code must be unpacked.
    pub async fn invoke(&self, spec: &DeployedSpec, payload: Bytes) -> DeployedInvocation {
        let started = Instant::now();
        let started_ms = eddy_store::time::now_ms() as i64;
        let host = match self.host(spec).await {
            Ok(host) => host,
            Err(error) => {
                let request_id = uuid::Uuid::new_v4().to_string();
                let failure = Failure {
                    error: InvokeError::Function {
                        error_type: eddy_runtimes::LaunchError::ERROR_TYPE.to_owned(),
                        message: error.to_string(),
                    },
                    document: None,
                };
                let output = [OutputLine {
                    timestamp_ms: started_ms,
                    line: error.to_string(),
                }];
                let log_events = lambda_log(
                    (&spec.version_label(), spec.memory_mb),
                    &request_id,
                    &output,
                    (started, started_ms),
                    None,
                );
                return DeployedInvocation {
                    request_id,
                    outcome: Err(failure),
                    log: joined(&log_events),
                    log_events,
                    log_stream: log_stream_name(&spec.version_label()),
                };
            }
        };
        let invocation = host.invoke_payload(payload, spec.timeout).await;
        finish_invocation(
            &spec.version_label(),
            spec.memory_mb,
            invocation,
            started,
            started_ms,
        )
    }

    /// Stops a function's processes and removes its unpacked code (DeleteFunction).
    pub async fn forget(&self, name: &str) {
        let prefix = format!("{name}:");
        let gone: Vec<Warm> = {
            let mut warm = lock(&self.warm);
            let keys: Vec<String> = warm
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            keys.iter().filter_map(|k| warm.remove(k)).collect()
        };
        for warm in gone {
            warm.host.stop().await;
        }
        let dir = self.code_root.join(name);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
    }

    /// The functions with invocations running now, and how many each.
    pub fn running(&self) -> Vec<(String, u32)> {
        lock(&self.running)
            .iter()
            .map(|(name, count)| (name.clone(), *count))
            .collect()
    }

    /// Stops the processes and removes the code of every function not in `names` (after
    /// a reset: the functions created since start are gone), including those whose
    /// code is unpacked but that never ran.
    pub async fn keep_only(&self, names: &[String]) {
        self.resets
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut gone: Vec<String> = lock(&self.warm)
            .keys()
            .filter_map(|key| key.split_once(':').map(|(name, _)| name.to_owned()))
            .collect();
        if let Ok(entries) = std::fs::read_dir(&self.code_root) {
            gone.extend(
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().into_string().ok()),
            );
        }
        gone.sort();
        gone.dedup();
        for name in gone.iter().filter(|n| !names.contains(n)) {
            self.forget(name).await;
        }
    }

    /// Stops every process (eddy is shutting down).
    pub async fn stop(&self) {
        let all: Vec<Warm> = lock(&self.warm).drain().map(|(_, warm)| warm).collect();
        for warm in all {
            warm.host.stop().await;
        }
    }

    /// The warm host of this revision, or a new one (the previous revision's stops).
    async fn host(
        &self,
        spec: &DeployedSpec,
    ) -> Result<Arc<ExternalFunction>, eddy_runtimes::LaunchError> {
        if let Some(warm) = lock(&self.warm).get(&spec.warm_key())
            && warm.revision_id == spec.revision_id
            && warm.max_processes == spec.max_processes
        {
            return Ok(warm.host.clone());
        }
        let runtimes = self.runtimes.clone();
        let runtime = spec.runtime;
        let task_root = self.task_root(spec);
        let launch = tokio::task::spawn_blocking(move || runtimes.launch(runtime, &task_root))
            .await
            .map_err(|_| eddy_runtimes::LaunchError::MissingBootstrap {
                path: self.task_root(spec),
            })??;
        if let Some(notice) = &launch.notice {
            tracing::info!(function = %spec.name, "{notice}");
        }
        let mut environment = spec.environment.clone();
        environment.extend(launch.environment);
        environment.insert(
            "AWS_LAMBDA_FUNCTION_VERSION".to_owned(),
            spec.version_label(),
        );
        let host = Arc::new(ExternalFunction::new(ExternalFunctionConfig {
            name: spec.name.clone(),
            command: launch.command,
            handler: spec.handler.clone(),
            working_dir: Some(self.task_root(spec)),
            memory_mb: u64::from(spec.memory_mb),
            environment,
            region: self.identity.region.clone(),
            account_id: self.identity.account_id.clone(),
            access_key_id: self.identity.access_key_id.clone(),
            secret_access_key: self.identity.secret_access_key.clone(),
            endpoint_url: self.identity.endpoint_url.clone(),
            max_processes: spec.max_processes,
            marks_invocation_end: launch.marks_invocation_end,
        }));
        let replaced = lock(&self.warm).insert(
            spec.warm_key(),
            Warm {
                revision_id: spec.revision_id.clone(),
                max_processes: spec.max_processes,
                host: host.clone(),
            },
        );
        if let Some(old) = replaced {
            tokio::spawn(async move { old.host.retire().await });
        }
        Ok(host)
    }
}

/// A finished invocation of a Runtime API process as Lambda reports it: its output
/// with `Task timed out after` on a timeout, framed by `START`, `END` and `REPORT`
/// for `version_label` of a function of `memory_mb`.
pub(crate) fn finish_invocation(
    version_label: &str,
    memory_mb: u32,
    invocation: crate::external::Invocation,
    started: Instant,
    started_ms: i64,
) -> DeployedInvocation {
    let mut output = invocation.lines;
    if let Err(Failure {
        error: InvokeError::Timeout(timeout),
        ..
    }) = &invocation.outcome
    {
        let now = eddy_store::time::now_ms();
        output.push(OutputLine {
            timestamp_ms: now as i64,
            line: format!(
                "{} {} Task timed out after {:.2} seconds",
                eddy_store::time::iso8601_millis(now),
                invocation.request_id,
                timeout.as_secs_f64()
            ),
        });
    }
    let log_events = lambda_log(
        (version_label, memory_mb),
        &invocation.request_id,
        &output,
        (started, started_ms),
        invocation.max_memory_mb,
    );
    DeployedInvocation {
        log: joined(&log_events),
        log_events,
        log_stream: invocation.log_stream,
        request_id: invocation.request_id,
        outcome: invocation.outcome,
    }
}

/// The log of one invocation the way Lambda writes it, one event per line: `START`,
/// the function's output, `END`, `REPORT` (each message ends with a newline, as
/// Lambda's do), for a version (label) of a function of some memory (MB).
pub(crate) fn lambda_log(
    (version_label, memory_mb): (&str, u32),
    request_id: &str,
    output: &[OutputLine],
    (started, started_ms): (Instant, i64),
    max_memory_mb: Option<u64>,
) -> Vec<NewLogEvent> {
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    // Wall-clock times of lines and the monotonic duration round differently: END is
    // never before a line the invocation printed.
    let last_line_ms = output.iter().map(|line| line.timestamp_ms).max();
    let ended_ms = (started_ms + duration_ms as i64).max(last_line_ms.unwrap_or(i64::MIN));
    let mut events = Vec::with_capacity(output.len() + 3);
    events.push(NewLogEvent {
        timestamp_ms: started_ms,
        message: format!("START RequestId: {request_id} Version: {version_label}\n"),
    });
    events.extend(output.iter().map(|line| NewLogEvent {
        timestamp_ms: line.timestamp_ms.max(started_ms),
        message: format!("{}\n", line.line),
    }));
    events.push(NewLogEvent {
        timestamp_ms: ended_ms,
        message: format!("END RequestId: {request_id}\n"),
    });
    let used = max_memory_mb.map_or_else(String::new, |mb| format!("Max Memory Used: {mb} MB\t"));
    events.push(NewLogEvent {
        timestamp_ms: ended_ms,
        message: format!(
            "REPORT RequestId: {request_id}\tDuration: {duration_ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\t{used}\n",
            duration_ms.ceil() as u64,
            memory_mb
        ),
    });
    events
}

/// The log as one text (what `LogType: Tail` returns the end of).
pub(crate) fn joined(events: &[NewLogEvent]) -> String {
    events.iter().map(|e| e.message.as_str()).collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_concurrency_admits_up_to_its_value_across_invocations() {
        let running = Arc::new(Mutex::new(BTreeMap::new()));
        let closed = RunningGuard::admit(&running, "f", Some(0)).map(|_| ());
        assert_eq!(closed, Err(Throttle::ReservedZero));
        assert!(
            lock(&running).is_empty(),
            "a throttle counts nothing running"
        );

        let first = RunningGuard::admit(&running, "f", Some(2)).expect("first");
        let second = RunningGuard::admit(&running, "f", Some(2)).expect("second");
        let third = RunningGuard::admit(&running, "f", Some(2)).map(|_| ());
        assert_eq!(third, Err(Throttle::ReservedInUse { reserved: 2 }));
        // Another function has its own count; no reservation means no throttle.
        let other = RunningGuard::admit(&running, "g", None).expect("unreserved");
        drop(first);
        let again = RunningGuard::admit(&running, "f", Some(2)).expect("a slot is free");
        assert_eq!(lock(&running).get("f"), Some(&2));
        drop((second, again, other));
        assert!(lock(&running).is_empty());
    }
}
