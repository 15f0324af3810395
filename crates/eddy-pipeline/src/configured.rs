//! The functions of `eddy.toml` invoked through the Lambda API (Invoke, synchronous or
//! queued by [`crate::async_invocations`]): [`ConfiguredFunctions`] holds the running
//! instances `eddy up` created for its mappings (handed over once the pipeline has
//! started) and runs one with any payload as Lambda would, writing `START`, the
//! function's output, `END` and `REPORT` to `/aws/lambda/<name>`.
//!
//! An external command gets the payload as is through its Runtime API host. The
//! built-in copy function reads the payload as an SQS event (as the copy function's
//! Rust `bootstrap` does on Lambda); a payload that is not one is a function error,
//! the one the Rust runtime reports.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use eddy_events::lambda::SqsEvent;
use eddy_store::Store;
use eddy_store::lambda::FunctionRecord;
use eddy_store::logs::LogBatch;

use crate::builtin::BuiltinCopyFunction;
use crate::deployed::{DeployedInvocation, finish_invocation, joined, lambda_log};
use crate::external::{ExternalFunction, Failure, log_stream_name};
use crate::function::{Function, InvokeError};

/// `ExecutedVersion` of a configured function: it has no versions.
const LATEST: &str = "$LATEST";

/// How a configured function runs.
#[derive(Clone)]
pub enum ConfiguredHost {
    /// The built-in copy function, in-process.
    Builtin(Arc<BuiltinCopyFunction>),
    /// An external command behind the Runtime API host.
    External(Arc<ExternalFunction>),
}

/// One configured function, as `eddy up` runs it.
#[derive(Clone)]
pub struct ConfiguredInstance {
    pub host: ConfiguredHost,
    pub timeout: Duration,
    pub memory_mb: u32,
}

struct Running {
    instance: ConfiguredInstance,
    /// The log stream of the built-in function (it has no processes of its own).
    builtin_stream: String,
}

/// The configured functions the Lambda API can invoke; empty until the pipeline runs.
#[derive(Default)]
pub struct ConfiguredFunctions {
    running: RwLock<HashMap<String, Running>>,
}

impl ConfiguredFunctions {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Hands over the running instances (once the pipeline has started).
    pub fn set(&self, instances: BTreeMap<String, ConfiguredInstance>) {
        let running = instances
            .into_iter()
            .map(|(name, instance)| {
                let running = Running {
                    instance,
                    builtin_stream: log_stream_name(LATEST),
                };
                (name, running)
            })
            .collect();
        *self
            .running
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = running;
    }

    fn get(&self, name: &str) -> Option<(ConfiguredInstance, String)> {
        self.running
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .map(|r| (r.instance.clone(), r.builtin_stream.clone()))
    }

    /// Whether `name` is a configured function that runs.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A configured function as the asynchronous invoker needs it (no dead-letter
    /// queue, no reserved concurrency: `eddy.toml` sets neither).
    pub fn record(&self, name: &str) -> Option<FunctionRecord> {
        let (instance, _) = self.get(name)?;
        Some(FunctionRecord {
            name: name.to_owned(),
            runtime: "provided.al2023".to_owned(),
            handler: String::new(),
            role: String::new(),
            description: String::new(),
            timeout: u32::try_from(instance.timeout.as_secs()).unwrap_or(u32::MAX),
            memory_size: instance.memory_mb,
            environment: BTreeMap::new(),
            architectures: Vec::new(),
            tags: BTreeMap::new(),
            code_sha256: String::new(),
            code_size: 0,
            last_modified_ms: 0,
            revision_id: String::new(),
            dead_letter_target: None,
            permissions: Vec::new(),
            reserved_concurrency: None,
        })
    }

    /// Invokes configured function `name` with `payload` and stores its log; `None`
    /// when no such function runs.
    pub async fn invoke(
        &self,
        store: &Store,
        name: &str,
        payload: Bytes,
    ) -> Option<DeployedInvocation> {
        let (instance, builtin_stream) = self.get(name)?;
        let started = Instant::now();
        let started_ms = eddy_store::time::now_ms() as i64;
        let invocation = match &instance.host {
            ConfiguredHost::External(host) => {
                let invocation = host.invoke_payload(payload, instance.timeout).await;
                finish_invocation(LATEST, instance.memory_mb, invocation, started, started_ms)
            }
            ConfiguredHost::Builtin(function) => {
                let request_id = uuid::Uuid::new_v4().to_string();
                let outcome = run_builtin(function, &payload, instance.timeout).await;
                let log_events = lambda_log(
                    (LATEST, instance.memory_mb),
                    &request_id,
                    &[],
                    (started, started_ms),
                    None,
                );
                DeployedInvocation {
                    request_id,
                    outcome,
                    log: joined(&log_events),
                    log_events,
                    log_stream: builtin_stream,
                }
            }
        };
        if !invocation.log_events.is_empty() && !invocation.log_stream.is_empty() {
            store.logs().append(LogBatch {
                group: format!("/aws/lambda/{name}"),
                stream: invocation.log_stream.clone(),
                events: invocation.log_events.clone(),
            });
        }
        Some(invocation)
    }
}

/// The built-in copy function run with `payload` read as an SQS event.
async fn run_builtin(
    function: &BuiltinCopyFunction,
    payload: &[u8],
    timeout: Duration,
) -> crate::external::Outcome {
    let event: SqsEvent = serde_json::from_slice(payload).map_err(|error| {
        Failure::from(InvokeError::Function {
            error_type: "lambda_runtime::deserializer::DeserializeError".to_owned(),
            message: format!(
                "failed to deserialize the incoming data into the function's payload type: {error}"
            ),
        })
    })?;
    let response = function
        .invoke(event, timeout)
        .await
        .map_err(Failure::from)?;
    serde_json::to_vec(&response)
        .map(Bytes::from)
        .map_err(|error| {
            Failure::from(InvokeError::Function {
                error_type: "Runtime.SerializationError".to_owned(),
                message: error.to_string(),
            })
        })
}
