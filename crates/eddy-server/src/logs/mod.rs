//! CloudWatch Logs over HTTP (AWS JSON 1.1, `X-Amz-Target: Logs_20140328.<Operation>`),
//! on the same port as S3, SQS and Lambda. A request comes here when its SigV4
//! credential scope names the `logs` service, or its target is a Logs operation.
//!
//! A request is SigV4-verified, its body read into the operation's input struct
//! ([`model`]), run against the store's [`eddy_store::logs`] handle ([`ops`]), and
//! answered with the model's member names; errors are `{"__type", "message"}` with
//! CloudWatch Logs' exception names ([`LogsError`]). [`pattern`] is the filter
//! pattern language of FilterLogEvents (terms, quoted phrases, `?` and `-`).

pub mod error;
pub mod model;
pub mod ops;
pub mod pattern;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::sigv4::{self, AuthError, SignedRequest};
use crate::state::{AppState, RequestIds};
pub use error::{LogsError, LogsErrorKind};

/// The largest Logs request body read (PutLogEvents takes up to 1 MB of events).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The target prefix of the Logs operations.
pub const TARGET_PREFIX: &str = "Logs_20140328.";

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    kind: &'a str,
    message: &'a str,
}

fn json_response(status: StatusCode, body: String, ids: &RequestIds) -> Response<s3s::Body> {
    let mut response = Response::new(s3s::Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}

/// The HTTP answer of an error.
pub fn error_response(error: &LogsError, ids: &RequestIds) -> Response<s3s::Body> {
    let body = serde_json::to_string(&ErrorBody {
        kind: error.kind.name(),
        message: &error.message,
    })
    .unwrap_or_default();
    json_response(error.kind.status(), body, ids)
}

/// Whether a request is a Logs request by its target (unsigned requests included).
pub fn is_logs_target(headers: &http::HeaderMap) -> bool {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(TARGET_PREFIX))
}

/// Serves one Logs request.
pub async fn handle(
    state: &AppState,
    parts: &http::request::Parts,
    body: Bytes,
    ids: &RequestIds,
) -> Response<s3s::Body> {
    match run(state, parts, &body).await {
        Ok(output) => json_response(StatusCode::OK, output, ids),
        Err(error) => error_response(&error, ids),
    }
}

fn auth_error(error: AuthError) -> LogsError {
    let kind = match error {
        AuthError::Missing => LogsErrorKind::MissingAuthenticationToken,
        AuthError::UnknownAccessKey | AuthError::InvalidToken | AuthError::ExpiredToken => {
            LogsErrorKind::UnrecognizedClient
        }
        AuthError::Incomplete(_) | AuthError::SignatureMismatch | AuthError::Expired(_) => {
            LogsErrorKind::InvalidSignature
        }
    };
    LogsError::new(kind, error.to_string())
}

fn input<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, LogsError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|error| {
        LogsError::new(
            LogsErrorKind::SerializationException,
            format!("The request body could not be read: {error}"),
        )
    })
}

fn output<T: Serialize>(value: &T) -> Result<String, LogsError> {
    serde_json::to_string(value).map_err(|e| LogsError::invalid(e.to_string()))
}

async fn run(
    state: &AppState,
    parts: &http::request::Parts,
    body: &Bytes,
) -> Result<String, LogsError> {
    let now = eddy_store::time::now_ms() as i64 / 1000;
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body,
    };
    sigv4::verify(&signed, now, |key, token| state.resolve_secret(key, token))
        .map_err(auth_error)?;
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .unwrap_or("");
    let logs = ops::LogsContext { state };
    match operation {
        "CreateLogGroup" => output(&logs.create_log_group(input(body)?).await?),
        "DeleteLogGroup" => output(&logs.delete_log_group(input(body)?).await?),
        "DescribeLogGroups" => output(&logs.describe_log_groups(input(body)?).await?),
        "CreateLogStream" => output(&logs.create_log_stream(input(body)?).await?),
        "DeleteLogStream" => output(&logs.delete_log_stream(input(body)?).await?),
        "DescribeLogStreams" => output(&logs.describe_log_streams(input(body)?).await?),
        "PutLogEvents" => output(&logs.put_log_events(input(body)?).await?),
        "GetLogEvents" => output(&logs.get_log_events(input(body)?).await?),
        "FilterLogEvents" => output(&logs.filter_log_events(input(body)?).await?),
        "PutRetentionPolicy" => output(&logs.put_retention_policy(input(body)?).await?),
        "DeleteRetentionPolicy" => output(&logs.delete_retention_policy(input(body)?).await?),
        "TagLogGroup" => output(&logs.tag_log_group(input(body)?).await?),
        "UntagLogGroup" => output(&logs.untag_log_group(input(body)?).await?),
        "ListTagsLogGroup" => output(&logs.list_tags_log_group(input(body)?).await?),
        "TagResource" => output(&logs.tag_resource(input(body)?).await?),
        "UntagResource" => output(&logs.untag_resource(input(body)?).await?),
        "ListTagsForResource" => output(&logs.list_tags_for_resource(input(body)?).await?),
        other => Err(LogsError::new(
            LogsErrorKind::UnknownOperation,
            format!("Unknown operation {TARGET_PREFIX}{other}"),
        )),
    }
}
