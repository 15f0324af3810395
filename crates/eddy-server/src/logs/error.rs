//! CloudWatch Logs' errors: the exception name (the JSON body's `__type`, which the
//! SDKs match on), its HTTP status and the message; the store's refusals mapped to them.

use eddy_store::error::StoreError;
use eddy_store::logs::LogsStoreError;
use http::StatusCode;

/// The exceptions eddy's Logs API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogsErrorKind {
    ResourceNotFound,
    ResourceAlreadyExists,
    InvalidParameter,
    UnknownOperation,
    SerializationException,
    InvalidSignature,
    UnrecognizedClient,
    MissingAuthenticationToken,
    ServiceUnavailable,
}

impl LogsErrorKind {
    /// The exception's shape name (`__type`).
    pub fn name(self) -> &'static str {
        match self {
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::ResourceAlreadyExists => "ResourceAlreadyExistsException",
            Self::InvalidParameter => "InvalidParameterException",
            Self::UnknownOperation => "UnknownOperationException",
            Self::SerializationException => "SerializationException",
            Self::InvalidSignature => "InvalidSignatureException",
            Self::UnrecognizedClient => "UnrecognizedClientException",
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::ServiceUnavailable => "ServiceUnavailableException",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidSignature
            | Self::UnrecognizedClient
            | Self::MissingAuthenticationToken => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// A refused Logs request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.name())]
pub struct LogsError {
    pub kind: LogsErrorKind,
    pub message: String,
}

impl LogsError {
    pub fn new(kind: LogsErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(LogsErrorKind::InvalidParameter, message)
    }

    /// A member breaking a constraint of the model, in the service's wording.
    pub fn constraint(value: &str, member: &str, constraint: &str) -> Self {
        Self::invalid(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ))
    }
}

impl From<LogsStoreError> for LogsError {
    fn from(error: LogsStoreError) -> Self {
        let kind = match &error {
            LogsStoreError::GroupNotFound | LogsStoreError::StreamNotFound => {
                LogsErrorKind::ResourceNotFound
            }
            LogsStoreError::GroupExists | LogsStoreError::StreamExists => {
                LogsErrorKind::ResourceAlreadyExists
            }
            LogsStoreError::Store(store) => return store_error(store),
        };
        Self::new(kind, error.to_string())
    }
}

impl From<StoreError> for LogsError {
    fn from(error: StoreError) -> Self {
        store_error(&error)
    }
}

fn store_error(error: &StoreError) -> LogsError {
    tracing::error!(error = %eddy_store::error::report(error), "Logs request failed inside eddy");
    LogsError::new(LogsErrorKind::ServiceUnavailable, error.to_string())
}
