//! Invoke: `RequestResponse` (the function's answer, `X-Amz-Function-Error:
//! Unhandled` with Lambda's error document when it fails, `X-Amz-Log-Result` with the
//! last 4 KB of the log for `LogType: Tail`, `X-Amz-Executed-Version`; 429
//! `TooManyRequestsException` when throttled, with Lambda's `Reason`: the function's
//! reserved concurrency is 0 or in use by other invocations
//! (`ReservedFunctionConcurrentInvocationLimitExceeded`), or a `lambda_throttle` fault
//! on demand (`ConcurrentInvocationLimitExceeded`)), `Event` (202 once queued durably;
//! [`eddy_pipeline::async_invocations`] runs and retries it, throttles included) and
//! `DryRun` (204 after the checks). The function runs through the pipeline's
//! [`eddy_pipeline::deployed::DeployedFunctions`], or, for a function of `eddy.toml`,
//! its [`eddy_pipeline::configured::ConfiguredFunctions`].

use base64::Engine as _;
use bytes::Bytes;
use eddy_pipeline::deployed::{
    DeployedFunctions, DeployedInvocation, DeployedSpec, StoredFunctionError,
};
use eddy_pipeline::destinations::error_document;
use eddy_pipeline::function::Throttle;
use eddy_store::lambda::FunctionRecord;
use eddy_store::lambda_async::AsyncInvocation;
use eddy_telemetry::InvocationThrottled;
use http::{HeaderValue, Response, StatusCode};

use super::context::LambdaContext;
use super::error::{LambdaError, LambdaErrorKind, json_response};

/// The largest synchronous invocation payload (6 MB).
pub const MAX_SYNC_PAYLOAD: usize = 6_291_456;
/// The largest asynchronous invocation payload (1 MB).
const MAX_ASYNC_PAYLOAD: usize = 1_048_576;
/// The `Reason` of a throttle on demand (`lambda_throttle`): the account's
/// concurrency, the limit any function can meet.
const FAULT_THROTTLE_REASON: &str = "ConcurrentInvocationLimitExceeded";
/// `LogType: Tail` returns this much of the end of the log.
const LOG_TAIL_BYTES: usize = 4096;

/// How the caller asked to invoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

impl InvocationType {
    fn parse(value: Option<&str>) -> Result<Self, LambdaError> {
        match value {
            None | Some("RequestResponse") => Ok(Self::RequestResponse),
            Some("Event") => Ok(Self::Event),
            Some("DryRun") => Ok(Self::DryRun),
            Some(other) => Err(LambdaError::validation(
                other,
                "invocationType",
                "Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
            )),
        }
    }
}

/// What the caller sent to Invoke.
pub struct InvokeInput<'a> {
    pub name: &'a str,
    pub qualifier: Option<&'a str>,
    pub invocation_type: Option<&'a str>,
    pub log_type: Option<&'a str>,
    pub payload: Bytes,
}

impl LambdaContext<'_> {
    fn host(&self) -> Result<&std::sync::Arc<DeployedFunctions>, LambdaError> {
        self.state.functions.as_ref().ok_or_else(|| {
            LambdaError::new(
                LambdaErrorKind::Service,
                "this eddy runs no functions (it was started without a function host)",
            )
        })
    }

    /// Unpacks a function's code where its processes will run it.
    pub(crate) async fn unpack(
        &self,
        record: &FunctionRecord,
        zip: Bytes,
    ) -> Result<(), LambdaError> {
        let Ok(host) = self.host() else {
            return Ok(());
        };
        let host = host.clone();
        let spec = DeployedSpec::from_record(record, None)
            .map_err(|rejection| LambdaError::invalid_parameter(rejection.to_string()))?;
        tokio::task::spawn_blocking(move || host.unpack(&spec, &zip))
            .await
            .map_err(LambdaError::internal)?
            .map_err(LambdaError::internal)
    }

    /// Invoke.
    pub(crate) async fn invoke(
        &self,
        input: InvokeInput<'_>,
    ) -> Result<Response<s3s::Body>, LambdaError> {
        let invocation_type = InvocationType::parse(input.invocation_type)?;
        // A function of `eddy.toml` ([`super::configured`]) has only `$LATEST`.
        let (record, version, configured) =
            if let Some(read) = self.configured_read(input.name, input.qualifier).await {
                (read?, None, true)
            } else {
                let (record, version) = self.qualified(input.name, input.qualifier).await?;
                (record, version, false)
            };
        // A synchronous invocation is refused when throttled (a fault on demand here,
        // the reserved concurrency when it would run); an asynchronous one is queued
        // and throttled when it is run (`eddy_pipeline::async_invocations`).
        if invocation_type == InvocationType::RequestResponse
            && self.state.store.faults().throttle(&record.name, &[])
        {
            return Err(self.throttled(&record.name, "a fault on demand", FAULT_THROTTLE_REASON));
        }
        let limit = if invocation_type == InvocationType::Event {
            MAX_ASYNC_PAYLOAD
        } else {
            MAX_SYNC_PAYLOAD
        };
        if input.payload.len() > limit {
            return Err(LambdaError::new(
                LambdaErrorKind::RequestTooLarge,
                format!(
                    "Request must be smaller than {limit} bytes for the InvokeFunction operation"
                ),
            ));
        }
        if !input.payload.is_empty()
            && let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&input.payload)
        {
            return Err(LambdaError::new(
                LambdaErrorKind::InvalidRequestContent,
                format!(
                    "Could not parse request body into json: Could not parse payload into json: {error}"
                ),
            ));
        }
        let payload = if input.payload.is_empty() {
            Bytes::from_static(b"{}")
        } else {
            input.payload
        };
        match invocation_type {
            InvocationType::DryRun => Ok(self.answer(StatusCode::NO_CONTENT, Bytes::new())),
            InvocationType::Event => {
                let request_id = eddy_store::ids::random_uuid().to_string();
                let now = eddy_store::time::now_ms();
                self.store()
                    .async_invocations()
                    .enqueue(AsyncInvocation {
                        request_id: request_id.clone(),
                        function: record.name.clone(),
                        version,
                        qualifier: input.qualifier.map(str::to_owned),
                        payload,
                        attempts: 0,
                        due_ms: now,
                        enqueued_ms: now,
                    })
                    .await
                    .map_err(LambdaError::internal)?;
                if let Some(invoker) = &self.state.async_invoker {
                    invoker.wake();
                }
                let mut response = self.answer(StatusCode::ACCEPTED, Bytes::new());
                if let Ok(value) = HeaderValue::from_str(&request_id) {
                    response.headers_mut().insert("x-amzn-requestid", value);
                }
                Ok(response)
            }
            InvocationType::RequestResponse if configured => {
                let invocation = self
                    .state
                    .configured_functions
                    .invoke(self.store(), &record.name, payload)
                    .await
                    .ok_or_else(|| {
                        LambdaError::new(
                            LambdaErrorKind::Service,
                            "the functions of eddy.toml are not running yet",
                        )
                    })?;
                Ok(self.invocation_response(invocation, None, input.log_type == Some("Tail")))
            }
            InvocationType::RequestResponse => {
                let invocation = self
                    .host()?
                    .invoke_stored(self.store(), &record, version, payload)
                    .await
                    .map_err(|error| match error {
                        StoredFunctionError::Throttled(throttle) => {
                            self.throttled(&record.name, &throttle.to_string(), Throttle::REASON)
                        }
                        other => LambdaError::internal(other),
                    })?;
                Ok(self.invocation_response(invocation, version, input.log_type == Some("Tail")))
            }
        }
    }

    /// A throttled synchronous invocation (`cause` says why): logged, counted, and
    /// answered with 429 and Lambda's `reason`.
    fn throttled(&self, function: &str, cause: &str, reason: &'static str) -> LambdaError {
        self.state
            .store
            .telemetry()
            .emit(InvocationThrottled { function });
        tracing::warn!(function, cause, reason, "synchronous invocation throttled");
        LambdaError::throttled(reason)
    }

    fn answer(&self, status: StatusCode, body: Bytes) -> Response<s3s::Body> {
        let mut response = json_response(status, String::new(), self.ids);
        *response.body_mut() = s3s::Body::from(body);
        response
    }

    fn invocation_response(
        &self,
        invocation: DeployedInvocation,
        version: Option<u32>,
        tail: bool,
    ) -> Response<s3s::Body> {
        let (body, function_error) = match invocation.outcome {
            Ok(body) => (body, false),
            Err(failure) => (error_document(&invocation.request_id, failure), true),
        };
        let mut response = self.answer(StatusCode::OK, body);
        let headers = response.headers_mut();
        let executed = version.map_or_else(|| "$LATEST".to_owned(), |v| v.to_string());
        if let Ok(value) = HeaderValue::from_str(&executed) {
            headers.insert("x-amz-executed-version", value);
        }
        if function_error {
            headers.insert(
                "x-amz-function-error",
                HeaderValue::from_static("Unhandled"),
            );
        }
        if tail {
            let log = invocation.log.as_bytes();
            let tail = &log[log.len().saturating_sub(LOG_TAIL_BYTES)..];
            let encoded = base64::engine::general_purpose::STANDARD.encode(tail);
            if let Ok(value) = HeaderValue::from_str(&encoded) {
                headers.insert("x-amz-log-result", value);
            }
        }
        response
    }
}
