//! One process slot of an external function: the invocation waiting for the process,
//! the ones it took and has not answered, and the signal to kill it. The supervisor
//! ([`super::process`]) keeps the slot's process running; the Runtime API
//! ([`super::runtime_api`]) hands the process its events and takes its answers.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Notify, oneshot, watch};

use crate::function::InvokeError;

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
    /// Whether the process marks the end of each invocation on stdout and stderr
    /// ([`eddy_runtimes::INVOCATION_END_MARK`]), so its last lines are waited for.
    pub marks_invocation_end: bool,
}

/// What one invocation resolves to: the response body the process posted, or why it
/// failed.
pub type Outcome = Result<Bytes, Failure>;

/// A failed invocation: the error, and the error document the process posted (Lambda's
/// `errorType`/`errorMessage`/`stackTrace` JSON) when it reported the error itself.
#[derive(Debug, Clone)]
pub struct Failure {
    pub error: InvokeError,
    pub document: Option<Bytes>,
}

impl From<InvokeError> for Failure {
    fn from(error: InvokeError) -> Self {
        Self {
            error,
            document: None,
        }
    }
}

/// The most bytes of output kept for one invocation (Lambda's `LogType: Tail` returns
/// the last 4 KB).
const LOG_CAPTURE_BYTES: usize = 16 * 1024;

/// The most output lines kept, with their times, for one invocation's log stream.
const LOG_CAPTURE_LINES: usize = 10_000;

/// A line a process printed, with when (milliseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub timestamp_ms: i64,
    pub line: String,
}

/// An invocation waiting for a process to take it.
pub(crate) struct Queued {
    pub(crate) request_id: String,
    pub(crate) body: Bytes,
    pub(crate) timeout: Duration,
    pub(crate) taken: oneshot::Sender<()>,
    pub(crate) outcome: oneshot::Sender<Outcome>,
}

/// One process slot: its supervisor keeps a process running and serves it the
/// Runtime API.
pub(crate) struct Slot {
    pub(crate) host: Arc<HostShared>,
    pub(crate) number: u32,
    pub(crate) queued: Mutex<Option<Queued>>,
    pub(crate) queued_changed: Notify,
    /// Invocations a process took and has not answered, by request id.
    pub(crate) pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// The request id last handed to the process, for tagging its output (a line
    /// printed just before the answer may be read after it).
    pub(crate) current_request: Mutex<Option<String>>,
    /// Asks the supervisor to kill the process (it then restarts it).
    pub(crate) kill: Notify,
    /// The output the process printed during the current invocation (its tail).
    pub(crate) log: Mutex<String>,
    /// The same output line by line with its times (for the function's log stream).
    pub(crate) lines: Mutex<Vec<OutputLine>>,
    /// The log stream of the running process (`YYYY/MM/DD/[$LATEST]<32 hex>`).
    pub(crate) stream: Mutex<String>,
    /// The running process's id.
    pub(crate) pid: Mutex<Option<u32>>,
    /// The request ids of the last end marks read from stdout and stderr.
    pub(crate) ends: Mutex<OutputEnds>,
    /// Signalled when an end mark is read.
    pub(crate) ends_changed: Notify,
}

/// Which of a process's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputStream {
    Stdout,
    Stderr,
}

impl OutputStream {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// The request id of the last end mark read on each output stream.
#[derive(Debug, Default)]
pub(crate) struct OutputEnds {
    stdout: Option<String>,
    stderr: Option<String>,
}

impl OutputEnds {
    fn both_at(&self, request_id: &str) -> bool {
        self.stdout.as_deref() == Some(request_id) && self.stderr.as_deref() == Some(request_id)
    }
}

/// How long the end marks are waited for after the process answered. They were printed
/// before the answer, so they are normally read at once; the bound covers a handler
/// that replaced its output streams.
const END_MARK_WAIT: Duration = Duration::from_millis(500);

pub(crate) struct HostShared {
    pub(crate) config: ExternalFunctionConfig,
    pub(crate) function_arn: String,
    pub(crate) shutdown: watch::Receiver<bool>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Slot {
    pub(crate) fn tag(&self) -> String {
        format!("{}#{}", self.host.config.name, self.number)
    }

    /// Keeps a line the process printed for the current invocation's log.
    pub(crate) fn capture(&self, line: &str) {
        {
            let mut lines = lock(&self.lines);
            if lines.len() < LOG_CAPTURE_LINES {
                lines.push(OutputLine {
                    timestamp_ms: eddy_store::time::now_ms() as i64,
                    line: line.to_owned(),
                });
            }
        }
        let mut log = lock(&self.log);
        log.push_str(line);
        log.push('\n');
        if log.len() > LOG_CAPTURE_BYTES {
            let mut cut = log.len() - LOG_CAPTURE_BYTES;
            while !log.is_char_boundary(cut) {
                cut += 1;
            }
            log.drain(..cut);
        }
    }

    /// Reads one line of output: an end mark is noted (and what precedes it on the
    /// line kept); anything else is kept for the invocation's log. Returns the text kept.
    pub(crate) fn read_line<'a>(&self, stream: OutputStream, line: &'a str) -> Option<&'a str> {
        let Some((before, request_id)) = line.split_once(eddy_runtimes::INVOCATION_END_MARK) else {
            self.capture(line);
            return Some(line);
        };
        {
            let mut ends = lock(&self.ends);
            let end = match stream {
                OutputStream::Stdout => &mut ends.stdout,
                OutputStream::Stderr => &mut ends.stderr,
            };
            *end = Some(request_id.to_owned());
        }
        self.ends_changed.notify_waiters();
        if before.is_empty() {
            return None;
        }
        self.capture(before);
        Some(before)
    }

    /// Waits until everything the process printed during invocation `request_id` has
    /// been read: both end marks when the process prints them (bounded by
    /// [`END_MARK_WAIT`]), else a few turns of the scheduler for the readers.
    pub(crate) async fn wait_for_output(&self, request_id: &str, process_answered: bool) {
        if !(self.host.config.marks_invocation_end && process_answered) {
            for _ in 0..4 {
                tokio::task::yield_now().await;
            }
            return;
        }
        let both_read = async {
            loop {
                let changed = self.ends_changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if lock(&self.ends).both_at(request_id) {
                    return;
                }
                changed.await;
            }
        };
        if tokio::time::timeout(END_MARK_WAIT, both_read)
            .await
            .is_err()
        {
            tracing::debug!(function = %self.host.config.name, %request_id, "the end of the invocation's output was not seen; its last lines may go to the next one");
        }
    }

    /// Takes the output captured since the last invocation began.
    pub(crate) fn take_log(&self) -> String {
        std::mem::take(&mut *lock(&self.log))
    }

    /// The most memory the running process has used, in MB (Linux's `VmHWM`).
    pub(crate) fn max_memory_mb(&self) -> Option<u64> {
        let pid = (*lock(&self.pid))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb.div_ceil(1024))
    }

    /// Takes the output lines captured since the last invocation began.
    pub(crate) fn take_lines(&self) -> Vec<OutputLine> {
        std::mem::take(&mut *lock(&self.lines))
    }

    /// Hands an event to this slot's process and waits for its answer.
    pub(crate) async fn invoke(
        &self,
        request_id: String,
        body: Bytes,
        timeout: Duration,
    ) -> Outcome {
        lock(&self.log).clear();
        lock(&self.lines).clear();
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
            }
            .into());
        }
        match tokio::time::timeout(timeout, outcome_rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(InvokeError::Function {
                error_type: "Runtime.ExitError".into(),
                message: "the process exited before answering".into(),
            }
            .into()),
            Err(_) => {
                lock(&self.pending).remove(&request_id);
                tracing::warn!(function = %self.host.config.name, %request_id, ?timeout, "invocation timed out; restarting its process");
                self.kill.notify_one();
                Err(InvokeError::Timeout(timeout).into())
            }
        }
    }

    /// Fails every invocation the process took and did not answer.
    pub(crate) fn fail_pending(&self, reason: &str) {
        let pending: Vec<_> = lock(&self.pending).drain().collect();
        for (_, outcome) in pending {
            let _ = outcome.send(Err(InvokeError::Function {
                error_type: "Runtime.ExitError".into(),
                message: reason.to_owned(),
            }
            .into()));
        }
        lock(&self.current_request).take();
    }
}
