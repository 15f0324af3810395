//! The Lambda Runtime API one process talks to, served on its own loopback port under
//! `/2018-06-01`: `GET /runtime/invocation/next`, `POST /runtime/invocation/{id}/response`,
//! `POST /runtime/invocation/{id}/error`, `POST /runtime/init/error` (which fails the
//! invocation waiting for the process with the init error).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::slot::{Failure, Slot, lock};
use crate::function::InvokeError;

fn now_epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Serves the Runtime API of one process.
pub(crate) async fn serve(listener: TcpListener, slot: Arc<Slot>) {
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(function = %slot.host.config.name, %error, "Runtime API accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let slot = slot.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let slot = slot.clone();
                async move { Ok::<_, Infallible>(route(&slot, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn error_response(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(
        status,
        serde_json::json!({"errorType": error_type, "errorMessage": message}),
    )
}

fn accepted() -> Response<Full<Bytes>> {
    json_response(StatusCode::ACCEPTED, serde_json::json!({"status": "OK"}))
}

async fn route(slot: &Arc<Slot>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return error_response(StatusCode::NOT_FOUND, "NotFound", "unknown path");
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let method = request.method().clone();
    match (method, segments.as_slice()) {
        (Method::GET, ["invocation", "next"]) => next_invocation(slot).await,
        (Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let id = (*id).to_owned();
            let is_error = *kind == "error";
            let error_type_header = request
                .headers()
                .get("Lambda-Runtime-Function-Error-Type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = match request.into_body().collect().await {
                Ok(body) => body.to_bytes(),
                Err(error) => {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        "InvalidRequest",
                        &error.to_string(),
                    );
                }
            };
            let Some(responder) = lock(&slot.pending).remove(&id) else {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestID",
                    "Invalid request ID",
                );
            };
            let outcome = if is_error {
                Err(Failure {
                    error: function_error(&body, error_type_header),
                    document: Some(body),
                })
            } else {
                Ok(body)
            };
            let _ = responder.send(outcome);
            accepted()
        }
        (Method::POST, ["init", "error"]) => {
            let body = request
                .into_body()
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes)
                .unwrap_or_default();
            let error = function_error(&body, None);
            tracing::warn!(function = %slot.host.config.name, process = %slot.tag(), %error, "function initialisation failed");
            // The invocation waiting for this process fails with the init error, as
            // Lambda answers it (`Runtime.ImportModuleError`, ...).
            if let Some(queued) = lock(&slot.queued).take() {
                let _ = queued.taken.send(());
                let _ = queued.outcome.send(Err(Failure {
                    error,
                    document: Some(body),
                }));
            }
            accepted()
        }
        _ => error_response(StatusCode::NOT_FOUND, "NotFound", "unknown path"),
    }
}

/// The response body as JSON; an empty body is `null`, text that is not JSON a string
/// (which fails a batch that reports item failures, as on Lambda).
pub fn parse_response(body: &[u8]) -> serde_json::Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn function_error(body: &[u8], error_type_header: Option<String>) -> InvokeError {
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |name: &str| parsed.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    InvokeError::Function {
        error_type: field("errorType")
            .or(error_type_header)
            .unwrap_or_else(|| "Unhandled".to_owned()),
        message: field("errorMessage")
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
    }
}

/// `GET /runtime/invocation/next`: waits for the slot's next event.
async fn next_invocation(slot: &Arc<Slot>) -> Response<Full<Bytes>> {
    let queued = loop {
        let changed = slot.queued_changed.notified();
        if let Some(queued) = lock(&slot.queued).take() {
            break queued;
        }
        changed.await;
    };
    let deadline_ms = now_epoch_ms() + queued.timeout.as_millis() as u64;
    lock(&slot.pending).insert(queued.request_id.clone(), queued.outcome);
    *lock(&slot.current_request) = Some(queued.request_id.clone());
    let _ = queued.taken.send(());
    let trace_id = {
        let id = uuid::Uuid::new_v4().simple().to_string();
        format!(
            "Root=1-{:08x}-{};Parent={};Sampled=0",
            now_epoch_ms() / 1000,
            &id[..24],
            &id[16..32]
        )
    };
    let mut response = Response::new(Full::new(queued.body));
    let headers = response.headers_mut();
    let pairs = [
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", queued.request_id),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            slot.host.function_arn.clone(),
        ),
        ("lambda-runtime-trace-id", trace_id),
    ];
    for (name, value) in pairs {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}
