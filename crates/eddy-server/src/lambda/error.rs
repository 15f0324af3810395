//! Lambda's errors: the exception name (sent as `x-amzn-ErrorType`, which the SDKs
//! match on), its HTTP status, and the message, in Lambda's JSON error body
//! `{"Type": "User", "Message": ...}` (a throttle's: `{"Reason": ..., "Type": "User",
//! "message": "Rate Exceeded."}`, as the model shapes `TooManyRequestsException`).

use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;

use crate::state::RequestIds;

/// The exceptions eddy's Lambda API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaErrorKind {
    ResourceNotFound,
    ResourceConflict,
    ResourceInUse,
    InvalidParameterValue,
    InvalidRequestContent,
    /// A member breaks a constraint of the model (`1 validation error detected: ...`).
    Validation,
    PreconditionFailed,
    RequestTooLarge,
    TooManyRequests,
    UnknownOperation,
    /// SigV4 failures.
    InvalidSignature,
    UnrecognizedClient,
    MissingAuthenticationToken,
    Service,
}

impl LambdaErrorKind {
    /// The exception's name, as in `x-amzn-ErrorType`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::ResourceConflict => "ResourceConflictException",
            Self::ResourceInUse => "ResourceInUseException",
            Self::InvalidParameterValue => "InvalidParameterValueException",
            Self::InvalidRequestContent => "InvalidRequestContentException",
            Self::Validation => "ValidationException",
            Self::PreconditionFailed => "PreconditionFailedException",
            Self::RequestTooLarge => "RequestTooLargeException",
            Self::TooManyRequests => "TooManyRequestsException",
            Self::UnknownOperation => "UnknownOperationException",
            Self::InvalidSignature => "InvalidSignatureException",
            Self::UnrecognizedClient => "UnrecognizedClientException",
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::Service => "ServiceException",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::ResourceNotFound | Self::UnknownOperation => StatusCode::NOT_FOUND,
            Self::ResourceConflict | Self::ResourceInUse => StatusCode::CONFLICT,
            Self::InvalidParameterValue | Self::InvalidRequestContent | Self::Validation => {
                StatusCode::BAD_REQUEST
            }
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::InvalidSignature
            | Self::UnrecognizedClient
            | Self::MissingAuthenticationToken => StatusCode::FORBIDDEN,
            Self::Service => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn fault(self) -> &'static str {
        if self == Self::Service {
            "Service"
        } else {
            "User"
        }
    }
}

/// A refused Lambda request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.name())]
pub struct LambdaError {
    pub kind: LambdaErrorKind,
    pub message: String,
    /// `TooManyRequestsException`'s `Reason` (the model's `ThrottleReason`).
    pub reason: Option<&'static str>,
}

impl LambdaError {
    pub fn new(kind: LambdaErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            reason: None,
        }
    }

    /// A throttled invocation: 429 `TooManyRequestsException`, `Rate Exceeded.`, with
    /// Lambda's `Reason` (e.g. `ReservedFunctionConcurrentInvocationLimitExceeded`).
    pub fn throttled(reason: &'static str) -> Self {
        Self {
            reason: Some(reason),
            ..Self::new(LambdaErrorKind::TooManyRequests, "Rate Exceeded.")
        }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(LambdaErrorKind::InvalidParameterValue, message)
    }

    /// `Function not found: <arn>`.
    pub fn function_not_found(arn: &str) -> Self {
        Self::new(
            LambdaErrorKind::ResourceNotFound,
            format!("Function not found: {arn}"),
        )
    }

    /// A model constraint failure, in Lambda's wording: `1 validation error detected:
    /// Value '<value>' at '<member>' failed to satisfy constraint: <constraint>`.
    pub fn validation(value: &str, member: &str, constraint: &str) -> Self {
        Self::new(
            LambdaErrorKind::Validation,
            format!(
                "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
            ),
        )
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "Lambda request failed inside eddy");
        Self::new(LambdaErrorKind::Service, error.to_string())
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "Type")]
    fault: &'a str,
    #[serde(rename = "Message")]
    message: &'a str,
}

/// `TooManyRequestsException`'s body, as the model shapes it: `Reason`, `Type` and a
/// lowercase `message`.
#[derive(Serialize)]
struct ThrottleBody<'a> {
    #[serde(rename = "Reason", skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(rename = "Type")]
    fault: &'a str,
    message: &'a str,
}

/// The HTTP answer of an error.
pub fn error_response(error: &LambdaError, ids: &RequestIds) -> Response<s3s::Body> {
    let body = if error.kind == LambdaErrorKind::TooManyRequests {
        serde_json::to_string(&ThrottleBody {
            reason: error.reason,
            fault: error.kind.fault(),
            message: &error.message,
        })
    } else {
        serde_json::to_string(&ErrorBody {
            fault: error.kind.fault(),
            message: &error.message,
        })
    }
    .unwrap_or_default();
    let mut response = json_response(error.kind.status(), body, ids);
    response.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static(error.kind.name()),
    );
    response
}

/// A JSON answer with Lambda's headers.
pub fn json_response(status: StatusCode, body: String, ids: &RequestIds) -> Response<s3s::Body> {
    let mut response = Response::new(s3s::Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}
