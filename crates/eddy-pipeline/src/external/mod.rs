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
//! - `slot`: one process's state; `process`: starting, supervising and restarting the
//!   processes; `runtime_api`: the HTTP endpoint each process talks to.

mod process;
mod runtime_api;
mod slot;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use eddy_events::lambda::SqsEvent;
use futures::future::BoxFuture;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use crate::function::{Function, InvokeError};
pub use process::log_stream_name;
use process::supervise;
pub use runtime_api::parse_response;
use slot::{HostShared, OutputEnds, Slot, lock};

pub use slot::{ExternalFunctionConfig, Failure, INIT_TIMEOUT, Outcome, OutputLine};

/// One invocation with any payload: its request id, what the process answered, and
/// the output it printed meanwhile.
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    pub outcome: Outcome,
    pub log: String,
    /// The output line by line with its times.
    pub lines: Vec<OutputLine>,
    /// The log stream of the process that ran it (empty when none did).
    pub log_stream: String,
    /// The most memory the process had used, in MB, when it could be read.
    pub max_memory_mb: Option<u64>,
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

    /// Waits until no invocation is running, then stops the processes: a replaced
    /// revision finishes what it took (as on Lambda) before it goes.
    pub async fn retire(&self) {
        let all = self.pool.shared.config.max_processes.max(1);
        let _drained = self.pool.permits.acquire_many(all).await;
        self.stop().await;
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
            log: Mutex::new(String::new()),
            lines: Mutex::new(Vec::new()),
            stream: Mutex::new(String::new()),
            pid: Mutex::new(None),
            ends: Mutex::new(OutputEnds::default()),
            ends_changed: Notify::new(),
        });
        let supervised = slot.clone();
        lock(&self.supervisors).spawn(async move { supervise(supervised).await });
        slot
    }
}

impl ExternalFunction {
    /// Invokes the function with any payload (the Lambda API's Invoke), keeping what
    /// the process printed meanwhile.
    pub fn invoke_payload(&self, body: Bytes, timeout: Duration) -> BoxFuture<'static, Invocation> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let request_id = uuid::Uuid::new_v4().to_string();
            // A slot is leased only with a permit, so the pool never exceeds the maximum.
            let Ok(_permit) = pool.permits.clone().acquire_owned().await else {
                return Invocation {
                    request_id,
                    outcome: Err(InvokeError::Function {
                        error_type: "Runtime.Unavailable".into(),
                        message: "the function is shutting down".into(),
                    }
                    .into()),
                    log: String::new(),
                    lines: Vec::new(),
                    log_stream: String::new(),
                    max_memory_mb: None,
                };
            };
            let lease = Lease {
                slot: pool.lease_slot(),
                pool: pool.clone(),
            };
            let outcome = lease.slot.invoke(request_id.clone(), body, timeout).await;
            // The process printed its output before it answered; read all of it.
            let answered = match &outcome {
                Ok(_) => true,
                Err(failure) => failure.document.is_some(),
            };
            lease.slot.wait_for_output(&request_id, answered).await;
            let log = lease.slot.take_log();
            let lines = lease.slot.take_lines();
            let log_stream = lock(&lease.slot.stream).clone();
            let max_memory_mb = lease.slot.max_memory_mb();
            Invocation {
                request_id,
                outcome,
                log,
                lines,
                log_stream,
                max_memory_mb,
            }
        })
    }
}

impl Function for ExternalFunction {
    fn name(&self) -> &str {
        &self.pool.shared.config.name
    }

    fn concurrency(&self) -> Option<u32> {
        Some(self.pool.shared.config.max_processes.max(1))
    }

    fn invoke(
        &self,
        event: SqsEvent,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<serde_json::Value, InvokeError>> {
        let body = match serde_json::to_vec(&event) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                let error = InvokeError::Function {
                    error_type: "Runtime.SerializationError".into(),
                    message: e.to_string(),
                };
                return Box::pin(async move { Err(error) });
            }
        };
        let invocation = self.invoke_payload(body, timeout);
        Box::pin(async move {
            let invocation = invocation.await;
            invocation
                .outcome
                .map(|body| parse_response(&body))
                .map_err(|failure| failure.error)
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
