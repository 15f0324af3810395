//! A Runtime API server for one function process: it hands out the events a test
//! queues and records, byte for byte, everything the client posts back.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{Mutex, mpsc};

/// An event for the function, with the headers `invocation/next` sends with it.
#[derive(Debug, Clone)]
pub struct Event {
    pub request_id: String,
    pub body: String,
    /// Milliseconds from when the event is handed out to its deadline.
    pub time_limit_ms: u64,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
    pub trace_id: Option<String>,
}

pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:fixture";

impl Event {
    pub fn new(body: serde_json::Value) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        Self {
            request_id: format!("8476a536-e9f4-11e8-9739-{number:012}"),
            body: body.to_string(),
            time_limit_ms: 30_000,
            client_context: None,
            cognito_identity: None,
            trace_id: None,
        }
    }
}

/// Which Runtime API endpoint a post went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostKind {
    Response,
    Error,
    InitError,
}

/// What the client posted.
#[derive(Debug, Clone)]
pub struct Post {
    pub kind: PostKind,
    /// The request id in the path (`None` for `init/error`).
    pub request_id: Option<String>,
    pub error_type_header: Option<String>,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub received: Instant,
}

impl Post {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "posted body is not JSON ({error}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct Shared {
    events: Mutex<mpsc::UnboundedReceiver<Event>>,
    posts: mpsc::UnboundedSender<Post>,
    handed_out: StdMutex<HashMap<String, Instant>>,
}

/// The server; dropped with the test.
pub struct TestRuntimeApi {
    pub address: SocketAddr,
    events: mpsc::UnboundedSender<Event>,
    posts: Mutex<mpsc::UnboundedReceiver<Post>>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestRuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestRuntimeApi {
    pub async fn start() -> Self {
        let (events, events_rx) = mpsc::unbounded_channel();
        let (posts_tx, posts) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(events_rx),
            posts: posts_tx,
            handed_out: StdMutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/{outcome}",
                post(invocation_outcome),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind the Runtime API");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            events,
            posts: Mutex::new(posts),
            shared,
            server,
        }
    }

    /// Queues an event for the function's next `invocation/next`.
    pub fn queue(&self, event: Event) {
        self.events.send(event).expect("the server is running");
    }

    /// The next post, waiting up to `limit` for it.
    pub async fn next_post(&self, limit: Duration) -> Option<Post> {
        let mut posts = self.posts.lock().await;
        tokio::time::timeout(limit, posts.recv())
            .await
            .ok()
            .flatten()
    }

    /// When the event with this request id was handed to the function.
    pub fn handed_out(&self, request_id: &str) -> Option<Instant> {
        lock(&self.shared.handed_out).get(request_id).copied()
    }
}

fn lock<T>(mutex: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let Some(event) = shared.events.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    lock(&shared.handed_out).insert(event.request_id.clone(), Instant::now());
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", event.request_id.clone()),
        (
            "lambda-runtime-deadline-ms",
            (now_ms + event.time_limit_ms).to_string(),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            FUNCTION_ARN.to_owned(),
        ),
    ];
    let optional = [
        ("lambda-runtime-trace-id", &event.trace_id),
        ("lambda-runtime-client-context", &event.client_context),
        ("lambda-runtime-cognito-identity", &event.cognito_identity),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            headers.push((name, value.clone()));
        }
    }
    let mut response = event.body.into_response();
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    response
}

fn record(
    shared: &Shared,
    kind: PostKind,
    request_id: Option<String>,
    headers: &HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let _ = shared.posts.send(Post {
        kind,
        request_id,
        error_type_header: header("lambda-runtime-function-error-type"),
        content_type: header("content-type"),
        body,
        received: Instant::now(),
    });
    StatusCode::ACCEPTED
}

/// `POST invocation/{id}/response` and `POST invocation/{id}/error`.
async fn invocation_outcome(
    State(shared): State<Arc<Shared>>,
    Path((id, outcome)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let kind = match outcome.as_str() {
        "response" => PostKind::Response,
        "error" => PostKind::Error,
        _ => return StatusCode::NOT_FOUND,
    };
    record(&shared, kind, Some(id), &headers, body)
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    record(&shared, PostKind::InitError, None, &headers, body)
}
