//! SQS over HTTP, in both wire protocols on one endpoint: AWS JSON 1.0 (`X-Amz-Target:
//! AmazonSQS.<Operation>`) and query (form `Action=...`, XML answers, see [`query`]).
//! Each request is SigV4-verified, decoded into the operation's JSON input, run by
//! [`operations`] against the store, and answered in the protocol it came in. JSON
//! errors carry `__type` and the `x-amzn-query-error` header the SDKs match on.

pub mod operations;
pub mod query;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

use eddy_store::sqs::{SqsError, SqsErrorKind};

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

/// The wire protocol of a request: AWS JSON 1.0 (`X-Amz-Target`) or query (form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
}

impl Protocol {
    /// The protocol of a request, from its headers.
    pub fn of(headers: &http::HeaderMap) -> Self {
        if headers.contains_key("x-amz-target") {
            Protocol::Json
        } else {
            Protocol::Query
        }
    }
}

/// An error response in the request's protocol.
pub fn error_response(
    protocol: Protocol,
    error: &SqsError,
    ids: &RequestIds,
) -> Response<s3s::Body> {
    match protocol {
        Protocol::Json => json_error(error, ids),
        Protocol::Query => query_error(error, ids),
    }
}

/// The form parameters of a query request: the query string, then a form body.
fn query_params(parts: &http::request::Parts, body: &[u8]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let is_form = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("application/x-www-form-urlencoded"));
    if is_form && !body.is_empty() {
        params.extend(form_urlencoded::parse(body).into_owned());
    }
    params
}

/// Handles one SQS request whose body has been read.
pub async fn handle(
    state: &AppState,
    parts: &http::request::Parts,
    body: Bytes,
    ids: &RequestIds,
) -> Response<s3s::Body> {
    let protocol = Protocol::of(&parts.headers);
    let now = eddy_store::time::now_ms() as i64 / 1000;
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    if let Err(error) = sigv4::verify(&signed, now, |key| state.secret_for(key)) {
        return error_response(protocol, &auth_error(error), ids);
    }
    let (operation, input) = match protocol {
        Protocol::Json => {
            let target = parts
                .headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let Some(operation) = target.strip_prefix("AmazonSQS.") else {
                return json_error(
                    &SqsError::new(
                        SqsErrorKind::InvalidAction,
                        format!("The action {target} is not valid for this endpoint."),
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
            (operation.to_owned(), input)
        }
        Protocol::Query => {
            match query::parse_request(query_params(parts, &body), parts.uri.path()) {
                Ok(request) => (request.action, request.input),
                Err(error) => return query_error(&error, ids),
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
    match (
        operations::run(&context, &operation, &input).await,
        protocol,
    ) {
        (Ok(output), Protocol::Json) => json_response(StatusCode::OK, output.to_string(), ids),
        (Ok(output), Protocol::Query) => xml_response(
            StatusCode::OK,
            query::response_xml(&operation, &output, &ids.request_id),
            ids,
        ),
        (Err(error), protocol) => error_response(protocol, &error, ids),
    }
}

fn xml_response(status: StatusCode, body: String, ids: &RequestIds) -> Response<s3s::Body> {
    response(status, "text/xml", body, ids)
}

/// An error in the query protocol: an XML `ErrorResponse`.
pub fn query_error(error: &SqsError, ids: &RequestIds) -> Response<s3s::Body> {
    if error.kind == SqsErrorKind::InternalError {
        tracing::error!(%error, "SQS request failed inside the store");
    }
    let status = StatusCode::from_u16(error.kind.status()).unwrap_or(StatusCode::BAD_REQUEST);
    xml_response(status, query::error_xml(error, &ids.request_id), ids)
}

fn json_response(status: StatusCode, body: String, ids: &RequestIds) -> Response<s3s::Body> {
    response(status, "application/x-amz-json-1.0", body, ids)
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: String,
    ids: &RequestIds,
) -> Response<s3s::Body> {
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

/// An error in the JSON protocol: `__type`, `message`, and `x-amzn-query-error`.
pub fn json_error(error: &SqsError, ids: &RequestIds) -> Response<s3s::Body> {
    if error.kind == SqsErrorKind::InternalError {
        tracing::error!(%error, "SQS request failed inside the store");
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
