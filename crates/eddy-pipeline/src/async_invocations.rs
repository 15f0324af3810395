//! Asynchronous invocations of the functions created through the Lambda API, run from
//! the store's durable queue ([`eddy_store::lambda_async`]) as Lambda runs them: the
//! first attempt at once, two retries after the configured back-offs (Lambda's: 1 and
//! 2 minutes), then the function's dead-letter queue (`DeadLetterConfig.TargetArn`,
//! an SQS queue of this eddy) with Lambda's `RequestID`, `ErrorCode` and
//! `ErrorMessage` attributes. What is queued when eddy stops runs after the restart.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy_store::Store;
use eddy_store::lambda::FunctionRecord;
use eddy_store::lambda_async::AsyncInvocation;
use eddy_store::sqs::{MessageAttributeValue, SendRequest};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::deployed::DeployedFunctions;

/// Lambda's back-offs before the second and third attempts.
pub const LAMBDA_RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];

/// Runs the queued asynchronous invocations.
pub struct AsyncInvoker {
    store: Store,
    deployed: Arc<DeployedFunctions>,
    /// The back-off before each retry; its length is the number of retries.
    retry_delays: Vec<Duration>,
    wake: Notify,
    running: Mutex<HashSet<String>>,
}

impl AsyncInvoker {
    pub fn new(
        store: Store,
        deployed: Arc<DeployedFunctions>,
        retry_delays: Vec<Duration>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            deployed,
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

    async fn record(&self, invocation: &AsyncInvocation) -> Option<FunctionRecord> {
        let found = match invocation.version {
            None => self.store.functions().get(&invocation.function).await,
            Some(version) => {
                self.store
                    .function_versions()
                    .get(&invocation.function, version)
                    .await
            }
        };
        found.ok()
    }

    /// One attempt of an invocation, and what follows it.
    async fn attempt(self: Arc<Self>, invocation: AsyncInvocation) {
        let id = invocation.request_id.clone();
        let outcome = match self.record(&invocation).await {
            None => {
                tracing::warn!(function = %invocation.function, request_id = %id, "asynchronous invocation dropped: the function no longer exists");
                Ok(())
            }
            Some(record) => match self
                .deployed
                .invoke_stored(
                    &self.store,
                    &record,
                    invocation.version,
                    invocation.payload.clone(),
                )
                .await
            {
                Ok(done) => match done.outcome {
                    Ok(_) => Ok(()),
                    Err(failure) => Err((record, failure.error.to_string())),
                },
                Err(error) => Err((record, error.to_string())),
            },
        };
        let result = match outcome {
            Ok(()) => self.store.async_invocations().finish(&id).await,
            Err((record, message)) => {
                let attempts = invocation.attempts + 1;
                tracing::warn!(function = %invocation.function, request_id = %id, attempts, error = %message, "asynchronous invocation failed");
                if let Some(delay) = self.retry_delays.get(attempts as usize - 1) {
                    let due = eddy_store::time::now_ms() + delay.as_millis() as u64;
                    self.store
                        .async_invocations()
                        .retry_at(&id, attempts, due)
                        .await
                } else {
                    self.dead_letter(&record, &invocation, &message).await;
                    self.store.async_invocations().finish(&id).await
                }
            }
        };
        if let Err(error) = result {
            tracing::warn!(request_id = %id, %error, "cannot record the asynchronous invocation's attempt");
        }
        lock(&self.running).remove(&id);
        self.wake();
    }

    /// Sends an invocation that used its attempts to the function's dead-letter queue.
    async fn dead_letter(
        &self,
        record: &FunctionRecord,
        invocation: &AsyncInvocation,
        message: &str,
    ) {
        let Some(target) = &record.dead_letter_target else {
            tracing::warn!(function = %record.name, request_id = %invocation.request_id, "asynchronous invocation discarded after its last attempt (no dead-letter queue)");
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
