//! SQS over HTTP. Requests arrive in the AWS JSON 1.0 protocol (`X-Amz-Target:
//! AmazonSQS.<Operation>`); each is SigV4-verified, decoded into the operation's JSON
//! input, run by [`operations`] against the engine, and answered in the same protocol.
//! Errors carry `__type` and the `x-amzn-query-error` header the SDKs match on.

pub mod operations;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

use eddy_engine::sqs::{SqsError, SqsErrorKind};

use crate::sigv4::{self, AuthError, SignedRequest};
use crate::{AppState, RequestIds};

/// The largest SQS request body accepted (a 1 MiB batch, JSON-escaped, with room).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

fn auth_error(error: AuthError) -> SqsError {
    let kind = match error {
        AuthError::Missing => SqsErrorKind::MissingAuthenticationToken,
        AuthError::Incomplete(_) => SqsErrorKind::IncompleteSignature,
        AuthError::UnknownAccessKey => SqsErrorKind::InvalidClientTokenId,
        AuthError::SignatureMismatch | AuthError::Expired(_) => SqsErrorKind::SignatureDoesNotMatch,
    };
    SqsError::new(kind, error.to_string())
}

/// Handles one SQS request whose body has been read.
pub async fn handle(
    state: &AppState,
    parts: &http::request::Parts,
    body: Bytes,
    ids: &RequestIds,
) -> Response<s3s::Body> {
    let now = eddy_engine::time::now_ms() as i64 / 1000;
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    if let Err(error) = sigv4::verify(&signed, now, |key| state.secret_for(key)) {
        return json_error(&auth_error(error), ids);
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(operation) = target.strip_prefix("AmazonSQS.") else {
        return json_error(
            &SqsError::new(
                SqsErrorKind::InvalidAction,
                "eddy serves SQS in the AWS JSON 1.0 protocol (X-Amz-Target: AmazonSQS.<Operation>).",
            ),
            ids,
        );
    };
    let input: Value = if body.is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(&body) {
            Ok(value @ Value::Object(_)) => value,
            _ => {
                return json_error(
                    &SqsError::new(
                        SqsErrorKind::InvalidParameterValue,
                        "The request body is not a JSON object.",
                    ),
                    ids,
                );
            }
        }
    };
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:4566")
        .to_owned();
    let context = operations::Context { state, host };
    match operations::run(&context, operation, &input).await {
        Ok(output) => json_response(StatusCode::OK, output.to_string(), ids),
        Err(error) => json_error(&error, ids),
    }
}

fn json_response(status: StatusCode, body: String, ids: &RequestIds) -> Response<s3s::Body> {
    let mut response = Response::new(s3s::Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}

/// An error in the JSON protocol: `__type`, `message`, and `x-amzn-query-error`.
pub fn json_error(error: &SqsError, ids: &RequestIds) -> Response<s3s::Body> {
    if error.kind == SqsErrorKind::InternalError {
        tracing::error!(%error, "SQS request failed inside the engine");
    }
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.sqs#{}", error.kind.name()),
        "message": error.message,
    });
    let status = StatusCode::from_u16(error.kind.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = json_response(status, body.to_string(), ids);
    let query_error = format!("{};{}", error.kind.query_code(), error.kind.fault());
    if let Ok(v) = HeaderValue::from_str(&query_error) {
        response.headers_mut().insert("x-amzn-query-error", v);
    }
    response
}
