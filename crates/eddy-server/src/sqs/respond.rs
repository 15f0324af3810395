//! Answers in the wire protocol of the request: JSON (the output struct through
//! `serde_json`; errors with `__type` and the `x-amzn-query-error` header the SDKs match
//! on) or query XML ([`super::xml`]). Every answer carries `x-amzn-RequestId`.
//!
//! Output structs declare their members in the order of their wire names, the order eddy
//! has always written them in.

use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;

use eddy_store::sqs::{SqsError, SqsErrorKind};

use super::xml;
use crate::state::RequestIds;

/// The wire protocol of a request: AWS JSON 1.0 (`X-Amz-Target`) or query (form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
}

impl Protocol {
    /// The protocol of a request, from its headers: `X-Amz-Target`, or a body typed
    /// as AWS JSON (which without a target names no operation).
    pub fn of(headers: &http::HeaderMap) -> Self {
        let json_body = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/x-amz-json"));
        if headers.contains_key("x-amz-target") || json_body {
            Protocol::Json
        } else {
            Protocol::Query
        }
    }
}

/// Writes the bodies of successful answers in the request's protocol.
#[derive(Debug, Clone, Copy)]
pub struct Reply<'a> {
    pub protocol: Protocol,
    /// Repeated in query answers.
    pub request_id: &'a str,
}

impl Reply<'_> {
    /// The body of the answer of `action` with its output.
    pub fn output<T: Serialize>(self, action: &str, output: &T) -> Result<String, SqsError> {
        let body = match self.protocol {
            Protocol::Json => serde_json::to_string(output).map_err(|e| e.to_string()),
            Protocol::Query => {
                xml::response(action, output, self.request_id).map_err(|e| e.to_string())
            }
        };
        body.map_err(|message| SqsError::new(SqsErrorKind::InternalError, message))
    }

    /// The body of the answer of `action`, an operation whose model has no output.
    pub fn empty(self, action: &str) -> String {
        match self.protocol {
            Protocol::Json => "{}".to_owned(),
            Protocol::Query => xml::empty_response(action, self.request_id),
        }
    }
}

/// A successful answer whose body [`Reply`] wrote.
pub fn success(protocol: Protocol, body: String, ids: &RequestIds) -> Response<s3s::Body> {
    response(protocol, StatusCode::OK, body, ids)
}

/// An error answer in the request's protocol.
pub fn error_response(
    protocol: Protocol,
    error: &SqsError,
    ids: &RequestIds,
) -> Response<s3s::Body> {
    if error.kind == SqsErrorKind::InternalError {
        tracing::error!(%error, "SQS request failed inside the store");
    }
    let status = StatusCode::from_u16(error.kind.status()).unwrap_or(StatusCode::BAD_REQUEST);
    match protocol {
        Protocol::Json => {
            let body = serde_json::json!({
                "__type": error.kind.json_type(),
                "message": error.message,
            });
            let mut response = response(protocol, status, body.to_string(), ids);
            let query_error = format!("{};{}", error.kind.query_code(), error.kind.fault());
            if let Ok(v) = HeaderValue::from_str(&query_error) {
                response.headers_mut().insert("x-amzn-query-error", v);
            }
            response
        }
        Protocol::Query if error.kind == SqsErrorKind::QueueDoesNotExist => {
            // The query protocol still words it as the 2012 WSDL did.
            let error = SqsError::new(
                error.kind,
                "The specified queue does not exist for this wsdl version.",
            );
            response(protocol, status, xml::error(&error, &ids.request_id), ids)
        }
        Protocol::Query => response(protocol, status, xml::error(error, &ids.request_id), ids),
    }
}

/// The answer of SQS to a query request that names no `Action`: 404 with an empty
/// `UnknownOperationException` element.
pub fn unknown_operation(ids: &RequestIds) -> Response<s3s::Body> {
    response(
        Protocol::Query,
        StatusCode::NOT_FOUND,
        "<UnknownOperationException/>".to_owned(),
        ids,
    )
}

fn response(
    protocol: Protocol,
    status: StatusCode,
    body: String,
    ids: &RequestIds,
) -> Response<s3s::Body> {
    let content_type = match protocol {
        Protocol::Json => "application/x-amz-json-1.0",
        Protocol::Query => "text/xml",
    };
    let mut response = Response::new(s3s::Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}
