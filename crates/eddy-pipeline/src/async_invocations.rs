//! Asynchronous invocations of the functions created through the Lambda API, run from
//! the store's durable queue ([`eddy_store::lambda_async`]) as Lambda runs them: the
//! first attempt at once, two retries after the configured back-offs (Lambda's: 1 and
//! 2 minutes), then the function's dead-letter queue (`DeadLetterConfig.TargetArn`,
//! an SQS queue of this eddy) with Lambda's `RequestID`, `ErrorCode` and
//! `ErrorMessage` attributes. The function's event invoke configuration (for the
//! qualifier invoked) sets fewer retries or a maximum event age, and on-success and
//! on-failure destinations that get Lambda's invocation record ([`crate::destinations`]).
//! What is queued when eddy stops runs after the restart.
//!
//! A throttled event (the function's reserved concurrency is 0 or in use by other
//! invocations, or a `lambda_throttle` fault on demand) is not attempted: as Lambda does, it goes back to the queue and
//! is tried again after a back-off that grows from 1 second to at most 5 minutes
//! ([`throttle_backoff`]), apart from the retries of function errors (a throttle is no
//! attempt), until it runs or is older than its maximum event age (6 hours by default;
//! then the dead-letter queue and the on-failure destination, `EventAgeExceeded`).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy_store::Store;
use eddy_store::error::StoreError;
use eddy_store::lambda::FunctionRecord;
use eddy_store::lambda_async::AsyncInvocation;
use eddy_store::lambda_event_config::{
    DEFAULT_MAXIMUM_EVENT_AGE_SECONDS, DEFAULT_MAXIMUM_RETRY_ATTEMPTS, EventInvokeConfig,
};
use eddy_store::sqs::{MessageAttributeValue, SendRequest};
use eddy_telemetry::InvocationThrottled;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::configured::ConfiguredFunctions;
use crate::deployed::{DeployedFunctions, DeployedInvocation, StoredFunctionError};
use crate::destinations::{Condition, Response, deliver, error_document, invocation_record};
use crate::external::Failure;
use crate::function::InvokeError;

/// One attempt of an invocation that ran, and what decides what follows it.
struct Attempt<'a> {
    record: &'a FunctionRecord,
    invocation: &'a AsyncInvocation,
    config: Option<&'a EventInvokeConfig>,
    /// The attempts made, this one included.
    attempts: u32,
    /// How many retries the configuration allows.
    retries: usize,
}

/// How an invocation ended without success.
struct Ending {
    condition: Condition,
    attempts: u32,
    response: Option<Response>,
    message: String,
}

/// Lambda's back-offs before the second and third attempts.
pub const LAMBDA_RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];

/// The shortest and the longest wait after a throttle (Lambda's: 1 second, 5 minutes).
pub const THROTTLE_BACKOFF: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(300));

/// How long a throttled event waits before it is tried again: as long as it has
/// already waited, within [`THROTTLE_BACKOFF`]. The wait doubles with each throttle
/// (1, 1, 2, 4, 8 ... seconds) and needs no count of the throttles kept.
pub fn throttle_backoff(age: Duration) -> Duration {
    age.clamp(THROTTLE_BACKOFF.0, THROTTLE_BACKOFF.1)
}

/// Runs the queued asynchronous invocations.
pub struct AsyncInvoker {
    store: Store,
    deployed: Arc<DeployedFunctions>,
    /// The functions of `eddy.toml` (run when the API has no function of the name).
    configured: Arc<ConfiguredFunctions>,
    /// The back-off before each retry; its length is the number of retries.
    retry_delays: Vec<Duration>,
    wake: Notify,
    running: Mutex<HashSet<String>>,
}

impl AsyncInvoker {
    pub fn new(
        store: Store,
        deployed: Arc<DeployedFunctions>,
        configured: Arc<ConfiguredFunctions>,
        retry_delays: Vec<Duration>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            deployed,
            configured,
            retry_delays,
            wake: Notify::new(),
            running: Mutex::new(HashSet::new()),
        })
    }

    /// Says that an invocation was queued (it runs at once rather than at the next poll).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs due invocations until `shutdown` turns true.
    pub fn start(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let now = eddy_store::time::now_ms();
                match this.store.async_invocations().due(now, 64).await {
                    Ok(due) => {
                        for invocation in due {
                            if lock(&this.running).insert(invocation.request_id.clone()) {
                                let runner = this.clone();
                                tokio::spawn(async move { runner.attempt(invocation).await });
                            }
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the asynchronous invocations");
                    }
                }
                tokio::select! {
                    () = this.wake.notified() => {}
                    () = this.store.async_invocations().notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                    _ = shutdown.changed() => return,
                }
            }
        })
    }

    /// The function an invocation runs, and whether it is one of `eddy.toml`.
    async fn record(&self, invocation: &AsyncInvocation) -> Option<(FunctionRecord, bool)> {
        let found = match invocation.version {
            None => self.store.functions().get(&invocation.function).await,
            Some(version) => {
                self.store
                    .function_versions()
                    .get(&invocation.function, version)
                    .await
            }
        };
        match found {
            Ok(record) => Some((record, false)),
            Err(_) if invocation.version.is_none() => self
                .configured
                .record(&invocation.function)
                .map(|record| (record, true)),
            Err(_) => None,
        }
    }

    /// Runs an invocation on the API's function or the configured one.
    async fn run(
        &self,
        record: &FunctionRecord,
        configured: bool,
        invocation: &AsyncInvocation,
    ) -> Result<DeployedInvocation, StoredFunctionError> {
        if configured
            && let Some(done) = self
                .configured
                .invoke(&self.store, &record.name, invocation.payload.clone())
                .await
        {
            return Ok(done);
        }
        self.deployed
            .invoke_stored(
                &self.store,
                record,
                invocation.version,
                invocation.payload.clone(),
            )
            .await
    }

    /// One attempt of an invocation, and what follows it: done and its on-success
    /// destination, a retry after the back-off, or (retries used, or the event too old)
    /// the dead-letter queue and the on-failure destination. The function's event
    /// invoke configuration (for the qualifier invoked) sets the retries and the age.
    async fn attempt(self: Arc<Self>, invocation: AsyncInvocation) {
        let id = invocation.request_id.clone();
        let qualifier = invocation.qualifier.as_deref().unwrap_or("$LATEST");
        let config = match self
            .store
            .event_invoke_configs()
            .get(&invocation.function, qualifier)
            .await
        {
            Ok(config) => config,
            Err(error) => {
                tracing::warn!(request_id = %id, %error, "cannot read the event invoke configuration");
                None
            }
        };
        let retries = config
            .as_ref()
            .and_then(|c| c.maximum_retry_attempts)
            .unwrap_or(DEFAULT_MAXIMUM_RETRY_ATTEMPTS) as usize;
        let max_age_ms = u64::from(
            config
                .as_ref()
                .and_then(|c| c.maximum_event_age_seconds)
                .unwrap_or(DEFAULT_MAXIMUM_EVENT_AGE_SECONDS),
        ) * 1000;
        let attempts = invocation.attempts + 1;
        let result = match self.record(&invocation).await {
            None => {
                tracing::warn!(function = %invocation.function, request_id = %id, "asynchronous invocation dropped: the function no longer exists");
                self.store.async_invocations().finish(&id).await
            }
            Some((record, _))
                if eddy_store::time::now_ms().saturating_sub(invocation.enqueued_ms)
                    > max_age_ms =>
            {
                tracing::warn!(function = %invocation.function, request_id = %id, "asynchronous invocation discarded: its event is older than the maximum event age");
                let ending = Ending {
                    condition: Condition::EventAgeExceeded,
                    attempts: invocation.attempts,
                    response: None,
                    message: "the event is older than the maximum event age".to_owned(),
                };
                self.fail(&record, &invocation, config.as_ref(), ending)
                    .await;
                self.store.async_invocations().finish(&id).await
            }
            Some(_) if self.fault_throttles(&invocation) => {
                self.throttled(&invocation, "a fault on demand").await
            }
            Some((record, configured)) => match self.run(&record, configured, &invocation).await {
                Err(StoredFunctionError::Throttled(throttle)) => {
                    self.throttled(&invocation, &throttle.to_string()).await
                }
                ran => {
                    let attempt = Attempt {
                        record: &record,
                        invocation: &invocation,
                        config: config.as_ref(),
                        attempts,
                        retries,
                    };
                    self.conclude(attempt, ran).await
                }
            },
        };
        if let Err(error) = result {
            tracing::warn!(request_id = %id, %error, "cannot record the asynchronous invocation's attempt");
        }
        lock(&self.running).remove(&id);
        self.wake();
    }

    /// What follows an attempt that ran (or could not start): done and its on-success
    /// destination, a retry after the back-off, or (retries used) the dead-letter
    /// queue and the on-failure destination.
    async fn conclude(
        &self,
        attempt: Attempt<'_>,
        ran: Result<DeployedInvocation, StoredFunctionError>,
    ) -> Result<(), StoreError> {
        let Attempt {
            record,
            invocation,
            config,
            attempts,
            retries,
        } = attempt;
        let id = &invocation.request_id;
        let executed_version = invocation
            .version
            .map_or_else(|| "$LATEST".to_owned(), |v| v.to_string());
        let (response, failure) = match ran {
            Ok(done) => match done.outcome {
                Ok(payload) => (
                    Response {
                        executed_version,
                        function_error: None,
                        payload,
                    },
                    None,
                ),
                Err(failure) => {
                    let message = failure.error.to_string();
                    (
                        Response {
                            executed_version,
                            function_error: Some("Unhandled"),
                            payload: error_document(&done.request_id, failure),
                        },
                        Some(message),
                    )
                }
            },
            Err(error) => {
                let failure = Failure::from(InvokeError::Function {
                    error_type: "Runtime.Unknown".to_owned(),
                    message: error.to_string(),
                });
                (
                    Response {
                        executed_version,
                        function_error: Some("Unhandled"),
                        payload: error_document(id, failure),
                    },
                    Some(error.to_string()),
                )
            }
        };
        match failure {
            None => {
                if let Some(destination) = config.and_then(|c| c.on_success.as_deref()) {
                    let arn = self.function_arn(&record.name);
                    let body = invocation_record(
                        &arn,
                        invocation,
                        Condition::Success,
                        attempts,
                        Some(&response),
                    );
                    deliver(&self.store, destination, body).await;
                }
                self.store.async_invocations().finish(id).await
            }
            Some(message) => {
                tracing::warn!(function = %invocation.function, request_id = %id, attempts, error = %message, "asynchronous invocation failed");
                let retry = (attempts as usize <= retries)
                    .then(|| self.retry_delays.get(attempts as usize - 1))
                    .flatten();
                if let Some(delay) = retry {
                    let due = eddy_store::time::now_ms() + delay.as_millis() as u64;
                    self.store
                        .async_invocations()
                        .retry_at(id, attempts, due)
                        .await
                } else {
                    let ending = Ending {
                        condition: Condition::RetriesExhausted,
                        attempts,
                        response: Some(response),
                        message,
                    };
                    self.fail(record, invocation, config, ending).await;
                    self.store.async_invocations().finish(id).await
                }
            }
        }
    }

    /// Whether a throttle on demand fires for the invocation (kept for the trace of
    /// the files an S3 event payload announces).
    fn fault_throttles(&self, invocation: &AsyncInvocation) -> bool {
        let payload = String::from_utf8_lossy(&invocation.payload);
        let files = eddy_faults::files_of_event(&payload);
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(b, k)| (b.as_str(), k.as_str()))
            .collect();
        self.store.faults().throttle(&invocation.function, &files)
    }

    /// A throttled invocation (`cause` says why) is no attempt: it is logged, counted,
    /// and tried again after the throttle back-off.
    async fn throttled(&self, invocation: &AsyncInvocation, cause: &str) -> Result<(), StoreError> {
        let function = invocation.function.as_str();
        self.store
            .telemetry()
            .emit(InvocationThrottled { function });
        tracing::warn!(function, request_id = %invocation.request_id, cause, "asynchronous invocation throttled; it will be tried again");
        let now = eddy_store::time::now_ms();
        let age = now.saturating_sub(invocation.enqueued_ms);
        let due = now + throttle_backoff(Duration::from_millis(age)).as_millis() as u64;
        self.store
            .async_invocations()
            .retry_at(&invocation.request_id, invocation.attempts, due)
            .await
    }

    fn function_arn(&self, name: &str) -> String {
        let settings = self.store.settings();
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            settings.region, settings.account_id
        )
    }

    /// An invocation that will not be attempted again: its dead-letter queue and its
    /// on-failure destination.
    async fn fail(
        &self,
        record: &FunctionRecord,
        invocation: &AsyncInvocation,
        config: Option<&EventInvokeConfig>,
        ending: Ending,
    ) {
        self.dead_letter(record, invocation, &ending.message).await;
        if let Some(destination) = config.and_then(|c| c.on_failure.as_deref()) {
            let body = invocation_record(
                &self.function_arn(&record.name),
                invocation,
                ending.condition,
                ending.attempts,
                ending.response.as_ref(),
            );
            deliver(&self.store, destination, body).await;
        }
    }

    /// Sends an invocation that used its attempts to the function's dead-letter queue.
    async fn dead_letter(
        &self,
        record: &FunctionRecord,
        invocation: &AsyncInvocation,
        message: &str,
    ) {
        let Some(target) = &record.dead_letter_target else {
            tracing::warn!(function = %record.name, request_id = %invocation.request_id, "asynchronous invocation has no dead-letter queue");
            return;
        };
        let Some(queue) = target
            .rsplit(':')
            .next()
            .filter(|_| target.starts_with("arn:aws:sqs:"))
        else {
            return;
        };
        let attribute = |value: &str| MessageAttributeValue {
            data_type: "String".to_owned(),
            string_value: Some(value.to_owned()),
            binary_value: None,
        };
        let request = SendRequest {
            body: String::from_utf8_lossy(&invocation.payload).into_owned(),
            message_attributes: BTreeMap::from([
                ("RequestID".to_owned(), attribute(&invocation.request_id)),
                ("ErrorCode".to_owned(), attribute("200")),
                ("ErrorMessage".to_owned(), attribute(message)),
            ]),
            ..SendRequest::default()
        };
        if let Err(error) = self.store.messages().send(queue, request).await {
            tracing::warn!(function = %record.name, %target, %error, "cannot send the failed invocation to the dead-letter queue");
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bytes::Bytes;
    use eddy_store::{Store, StoreSettings};

    use super::*;
    use crate::deployed::HostIdentity;

    #[test]
    fn the_throttle_back_off_doubles_from_one_second_to_five_minutes() {
        let mut age = Duration::ZERO;
        let mut waits = Vec::new();
        for _ in 0..12 {
            let wait = throttle_backoff(age);
            waits.push(wait.as_secs());
            age += wait;
        }
        assert_eq!(waits, [1, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[tokio::test]
    async fn an_event_older_than_its_maximum_age_is_not_attempted_and_reaches_on_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = StoreSettings {
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            access_key_id: "test".to_owned(),
        };
        let store =
            Store::open(dir.path(), settings, eddy_telemetry::Telemetry::default()).expect("open");
        store
            .queues()
            .create("failures".to_owned(), BTreeMap::new(), BTreeMap::new())
            .await
            .expect("queue");
        let record = FunctionRecord {
            name: "old".to_owned(),
            // Never started: the invocation must not be attempted.
            runtime: "python3.12".to_owned(),
            handler: "missing.handler".to_owned(),
            role: "arn:aws:iam::000000000000:role/r".to_owned(),
            description: String::new(),
            timeout: 3,
            memory_size: 128,
            environment: BTreeMap::new(),
            architectures: vec!["x86_64".to_owned()],
            tags: BTreeMap::new(),
            code_sha256: String::new(),
            code_size: 0,
            last_modified_ms: 1,
            revision_id: "r".to_owned(),
            dead_letter_target: None,
            permissions: Vec::new(),
            reserved_concurrency: None,
        };
        store
            .functions()
            .create(record, Bytes::new())
            .await
            .expect("function");
        store
            .event_invoke_configs()
            .put(EventInvokeConfig {
                function: "old".to_owned(),
                qualifier: "$LATEST".to_owned(),
                maximum_retry_attempts: None,
                maximum_event_age_seconds: Some(60),
                on_success: None,
                on_failure: Some("arn:aws:sqs:us-east-1:000000000000:failures".to_owned()),
                last_modified_ms: 1,
            })
            .await
            .expect("config");
        let now = eddy_store::time::now_ms();
        store
            .async_invocations()
            .enqueue(AsyncInvocation {
                request_id: "stale".to_owned(),
                function: "old".to_owned(),
                version: None,
                qualifier: None,
                payload: Bytes::from_static(br#"{"late": true}"#),
                attempts: 0,
                due_ms: now,
                enqueued_ms: now - 61_000,
            })
            .await
            .expect("enqueue");
        let identity = HostIdentity {
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            access_key_id: "test".to_owned(),
            secret_access_key: "test".to_owned(),
            endpoint_url: "http://127.0.0.1:9".to_owned(),
        };
        let deployed = Arc::new(DeployedFunctions::new(dir.path(), identity).expect("host"));
        let invoker = AsyncInvoker::new(
            store.clone(),
            deployed,
            ConfiguredFunctions::new(),
            vec![Duration::ZERO; 2],
        );
        let (stop, stopped) = watch::channel(false);
        let running = invoker.start(stopped);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let body = loop {
            let peeked = store.messages().peek("failures", 1).await.expect("peek");
            if let Some(message) = peeked.into_iter().next() {
                break message.body;
            }
            assert!(std::time::Instant::now() < deadline, "no record arrived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let _ = stop.send(true);
        running.await.expect("invoker stops");
        let record: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(record["requestContext"]["condition"], "EventAgeExceeded");
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 0);
        assert_eq!(record["requestContext"]["requestId"], "stale");
        assert_eq!(record["requestPayload"], serde_json::json!({"late": true}));
        assert!(record.get("responseContext").is_none(), "{record}");
        assert!(
            store
                .async_invocations()
                .due(u64::MAX / 2, 10)
                .await
                .expect("due")
                .is_empty(),
            "the invocation is finished"
        );
    }
}
