//! eddy's own pages under `/_eddy/`: health, Prometheus metrics, the live dashboard
//! (every asset embedded in the binary) and the small JSON API the dashboard reads.
//!
//! These pages are not SigV4-signed: eddy listens on loopback by default. The actions
//! that change state (redrive, purge, reset) require the `x-eddy-dashboard` header,
//! which a page from another origin cannot send without a CORS preflight eddy never
//! grants.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde::Serialize;
use serde_json::json;

use eddy_store::s3::ListQuery;
use eddy_telemetry::{QueueDepthObserved, QueueKnown};

use crate::state::AppState;

const INDEX_HTML: &str = include_str!("dashboard/index.html");
const APP_JS: &str = include_str!("dashboard/app.js");
const STYLE_CSS: &str = include_str!("dashboard/style.css");

/// A queue as the dashboard and `eddy status` show it.
#[derive(Debug, Serialize)]
pub struct QueueView {
    pub name: String,
    pub url: String,
    pub visible: u64,
    pub not_visible: u64,
    pub delayed: u64,
    pub oldest_age_seconds: u64,
    pub dead_letter_queue: Option<String>,
    pub max_receive_count: Option<u32>,
    pub is_dead_letter_queue: bool,
}

/// Answers a request under `/_eddy/`.
pub async fn handle(state: &AppState, request: Request<Incoming>) -> Response<s3s::Body> {
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:4566")
        .to_owned();
    let query: BTreeMap<String, String> = request
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    let is_post = request.method() == Method::POST;
    let from_dashboard = request.headers().contains_key("x-eddy-dashboard");
    if from_dashboard && is_post && request.uri().path() == "/_eddy/api/faults" {
        return set_faults(state, request).await;
    }
    match (request.method().clone(), request.uri().path()) {
        (Method::GET, "/_eddy" | "/_eddy/") => {
            text(StatusCode::OK, "text/html; charset=utf-8", INDEX_HTML)
        }
        (Method::GET, "/_eddy/assets/app.js") => {
            text(StatusCode::OK, "text/javascript; charset=utf-8", APP_JS)
        }
        (Method::GET, "/_eddy/assets/style.css") => {
            text(StatusCode::OK, "text/css; charset=utf-8", STYLE_CSS)
        }
        (Method::GET, "/_eddy/health") => json_response(
            StatusCode::OK,
            json!({"status": "ok", "uptime_seconds": state.started.elapsed().as_secs()}),
        ),
        (Method::GET, "/_eddy/metrics") => metrics(state).await,
        (Method::GET, "/_eddy/api/overview") => match overview(state, &host).await {
            Ok(body) => json_response(StatusCode::OK, body),
            Err(error) => server_error(error),
        },
        (Method::GET, "/_eddy/api/messages") => {
            let limit = param("limit").parse().unwrap_or(50).min(1000);
            match state.store.messages().peek(&param("queue"), limit).await {
                Ok(messages) => json_response(StatusCode::OK, json!({ "messages": messages })),
                Err(error) => server_error(error.to_string()),
            }
        }
        (Method::GET, "/_eddy/api/objects") => {
            let page = state
                .store
                .objects()
                .list(
                    &param("bucket"),
                    ListQuery {
                        prefix: param("prefix"),
                        delimiter: None,
                        start_after: None,
                        max_keys: 1000,
                    },
                )
                .await;
            match page {
                Ok(page) => {
                    let objects: Vec<_> = page
                        .objects
                        .iter()
                        .map(|o| json!({"key": o.key, "size": o.size, "etag": o.etag, "last_modified_ms": o.last_modified_ms}))
                        .collect();
                    json_response(
                        StatusCode::OK,
                        json!({ "objects": objects, "truncated": page.is_truncated }),
                    )
                }
                Err(error) => {
                    json_response(StatusCode::NOT_FOUND, json!({ "error": error.to_string() }))
                }
            }
        }
        (Method::GET, "/_eddy/api/download") => {
            download(state, &param("bucket"), &param("key")).await
        }
        (Method::GET, "/_eddy/api/trace") => {
            let (bucket, key) = (param("bucket"), param("key"));
            if bucket.is_empty() || key.is_empty() {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "trace needs the bucket and key parameters"}),
                );
            }
            match crate::trace::trace(state, &bucket, &key).await {
                Ok(trace) => json_response(StatusCode::OK, json!(trace)),
                Err(error) => server_error(error),
            }
        }
        (Method::GET, "/_eddy/api/idle") => idle(state, query.get("timeout")).await,
        (Method::GET, "/_eddy/api/faults") => faults_answer(state),
        (
            Method::POST,
            "/_eddy/api/redrive" | "/_eddy/api/purge" | "/_eddy/api/reset" | "/_eddy/api/faults",
        ) if !from_dashboard => json_response(
            StatusCode::FORBIDDEN,
            json!({"error": "dashboard actions need the x-eddy-dashboard header"}),
        ),
        (Method::POST, "/_eddy/api/redrive") => {
            match state
                .store
                .messages()
                .redrive_dead_letters(&param("queue"))
                .await
            {
                Ok(moved) => json_response(StatusCode::OK, json!({ "moved": moved })),
                Err(error) => server_error(error.to_string()),
            }
        }
        (Method::POST, "/_eddy/api/purge") => {
            match state.store.queues().purge(&param("queue")).await {
                Ok(purged) => json_response(StatusCode::OK, json!({ "purged": purged })),
                Err(error) => json_response(
                    StatusCode::BAD_REQUEST,
                    json!({ "error": error.to_string() }),
                ),
            }
        }
        (Method::POST, "/_eddy/api/reset") => reset(state).await,
        _ if is_post => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "no such action"}),
        ),
        _ => json_response(StatusCode::NOT_FOUND, json!({"error": "no such eddy page"})),
    }
}

/// Every queue with its counts and redrive relations.
pub async fn queue_views(state: &AppState, host: &str) -> Result<Vec<QueueView>, String> {
    let store = &state.store;
    let snapshot = store.queues().snapshot().await.map_err(|e| e.to_string())?;
    let now = eddy_store::time::now_ms();
    let home = &store.settings().region;
    let mut views = Vec::with_capacity(snapshot.len());
    for (queue, counts) in snapshot {
        let policy = queue.attributes.redrive_policy.as_ref();
        views.push(QueueView {
            url: format!(
                "http://{host}/{}/{}",
                store.settings().account_id,
                eddy_store::sqs::split_queue_key(home, &queue.name).1
            ),
            visible: counts.visible,
            not_visible: counts.not_visible,
            delayed: counts.delayed,
            oldest_age_seconds: counts
                .oldest_sent_ms
                .map_or(0, |s| now.saturating_sub(s) / 1000),
            dead_letter_queue: policy
                .as_ref()
                .and_then(|p| eddy_store::sqs::regions::arn_key(home, &p.dead_letter_target_arn)),
            max_receive_count: policy.map(|p| p.max_receive_count),
            is_dead_letter_queue: false,
            name: queue.name,
        });
    }
    let targets: Vec<String> = views
        .iter()
        .filter_map(|v| v.dead_letter_queue.clone())
        .collect();
    for view in &mut views {
        view.is_dead_letter_queue = targets.contains(&view.name);
    }
    Ok(views)
}

async fn overview(state: &AppState, host: &str) -> Result<serde_json::Value, String> {
    let queues = queue_views(state, host).await?;
    let buckets: Vec<String> = state
        .store
        .buckets()
        .list()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|b| b.name)
        .collect();
    let activity = state.store.telemetry().activity();
    let recent = activity.recent(25);
    let summary = activity.latency_summary();
    let counters = activity.counters();
    Ok(json!({
        "endpoint": format!("http://{host}"),
        "pipeline": crate::configured::pipeline_view(state).await,
        "queues": queues,
        "buckets": buckets,
        "recent": recent,
        "latency": summary,
        "files_copied": counters.copied,
        "records_failed": counters.failed,
    }))
}

async fn idle(state: &AppState, timeout: Option<&String>) -> Response<s3s::Body> {
    let Some(harness) = state.harness() else {
        return no_harness();
    };
    let timeout = match crate::harness::parse_timeout(timeout.map(String::as_str)) {
        Ok(timeout) => timeout,
        Err(error) => return json_response(StatusCode::BAD_REQUEST, json!({ "error": error })),
    };
    match crate::harness_api::wait_idle(state, harness, timeout).await {
        Ok(answer) => {
            let status = if answer.idle {
                StatusCode::OK
            } else {
                StatusCode::REQUEST_TIMEOUT
            };
            json_response(status, json!(answer))
        }
        Err(error) => server_error(error),
    }
}

async fn reset(state: &AppState) -> Response<s3s::Body> {
    let Some(harness) = state.harness() else {
        return no_harness();
    };
    let started = std::time::Instant::now();
    match crate::harness_api::reset(state, harness).await {
        Ok(report) => json_response(
            StatusCode::OK,
            json!({ "reset": report, "took_ms": started.elapsed().as_secs_f64() * 1000.0 }),
        ),
        Err(error) => server_error(error),
    }
}

fn faults_answer(state: &AppState) -> Response<s3s::Body> {
    json_response(StatusCode::OK, json!({ "faults": state.faults.list() }))
}

/// The largest body `POST /_eddy/api/faults` reads.
const MAX_FAULTS_BODY: usize = 64 * 1024;

async fn set_faults(state: &AppState, request: Request<Incoming>) -> Response<s3s::Body> {
    use http_body_util::BodyExt;
    let body = match http_body_util::Limited::new(request.into_body(), MAX_FAULTS_BODY)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": "the body is too large or broke off"}),
            );
        }
    };
    let parsed: crate::faults::FaultRequest = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(error) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("expected {{\"faults\": [...]}}: {error}")}),
            );
        }
    };
    match state.faults.set(parsed.faults) {
        Ok(()) => faults_answer(state),
        Err(error) => json_response(StatusCode::BAD_REQUEST, json!({"error": error.to_string()})),
    }
}

fn no_harness() -> Response<s3s::Body> {
    json_response(
        StatusCode::NOT_FOUND,
        json!({"error": "this eddy runs no pipeline: reset and idle need `eddy up`"}),
    )
}

async fn metrics(state: &AppState) -> Response<s3s::Body> {
    let Some(handle) = state.metrics.as_ref() else {
        return text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "metrics are not enabled in this process\n",
        );
    };
    // Depths and ages are read from the store at scrape time.
    if let Ok(views) = queue_views(state, "127.0.0.1").await {
        for view in views {
            state
                .store
                .telemetry()
                .emit(QueueKnown { queue: &view.name });
            state.store.telemetry().emit(QueueDepthObserved {
                queue: &view.name,
                visible: view.visible,
                not_visible: view.not_visible,
                delayed: view.delayed,
                oldest_age_seconds: view.oldest_age_seconds,
            });
        }
    }
    handle.run_upkeep();
    text(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        &handle.render(),
    )
}

async fn download(state: &AppState, bucket: &str, key: &str) -> Response<s3s::Body> {
    let (meta, content) = match state.store.objects().open_version(bucket, key, None).await {
        Ok(opened) => opened,
        Err(error) => {
            return json_response(StatusCode::NOT_FOUND, json!({ "error": error.to_string() }));
        }
    };
    let opened = content.into_stream(0, meta.size).await;
    let stream = match opened {
        Ok(stream) => stream,
        Err(error) => return server_error(error.to_string()),
    };
    let body = s3s::Body::from(s3s::dto::StreamingBlob::wrap(stream));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    let content_type = meta
        .attrs
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(http::header::CONTENT_TYPE, v);
    }
    headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(meta.size));
    let file_name = key.rsplit('/').next().unwrap_or(key).replace('"', "");
    let encoded: String =
        percent_encoding::utf8_percent_encode(&file_name, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}")) {
        headers.insert(http::header::CONTENT_DISPOSITION, v);
    }
    response
}

fn text(status: StatusCode, content_type: &'static str, body: &str) -> Response<s3s::Body> {
    let mut response = Response::new(s3s::Body::from(Bytes::copy_from_slice(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<s3s::Body> {
    text(status, "application/json", &body.to_string())
}

fn server_error(error: String) -> Response<s3s::Body> {
    tracing::error!(%error, "dashboard request failed");
    json_response(StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": error }))
}
