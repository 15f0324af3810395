//! The seam between a mapping and what it invokes: a [`Function`] takes a Lambda SQS
//! event and answers with its JSON response or an [`InvokeError`]. The built-in copy
//! function ([`crate::builtin`]) and external processes ([`crate::external`]) are its
//! hosts.

use std::time::Duration;

use eddy_events::lambda::SqsEvent;
use futures::future::BoxFuture;

/// Why an invocation failed as a whole.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    #[error("function error {error_type}: {message}")]
    Function { error_type: String, message: String },
    #[error("task timed out after {0:?}")]
    Timeout(Duration),
    /// The function did not run: Lambda throttled the invocation (not a function
    /// error; a mapping's batch comes back after its visibility timeout).
    #[error("throttled before the handler ran ({0})")]
    Throttled(Throttle),
}

/// Why Lambda throttles an invocation of a function with reserved concurrency
/// (PutFunctionConcurrency) before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Throttle {
    /// The reserved concurrency is 0: every invocation is throttled.
    #[error("the function's reserved concurrency is 0")]
    ReservedZero,
    /// Every one of the `reserved` concurrent executions is in use.
    #[error("all {reserved} of the function's reserved concurrent executions are in use")]
    ReservedInUse { reserved: u32 },
}

impl Throttle {
    /// Lambda's `Reason` of the `TooManyRequestsException` it answers (the model's
    /// `ThrottleReason`).
    pub const REASON: &'static str = "ReservedFunctionConcurrentInvocationLimitExceeded";
}

/// A function a mapping can invoke.
pub trait Function: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// Invokes the function with an event; resolves to its JSON response, or to
    /// [`InvokeError::Timeout`] when the invocation runs longer than `timeout`.
    fn invoke(
        &self,
        event: SqsEvent,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<serde_json::Value, InvokeError>>;

    /// The most invocations the function runs at once (its processes), or `None` for
    /// no limit. A mapping polls with no more pollers than this.
    fn concurrency(&self) -> Option<u32> {
        None
    }
}
