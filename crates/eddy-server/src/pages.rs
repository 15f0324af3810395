//! eddy's own pages under `/_eddy/`: health now; metrics and the dashboard build on it.

use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::AppState;

/// Answers a request under `/_eddy/`.
pub async fn handle(state: &AppState, request: Request<Incoming>) -> Response<s3s::Body> {
    match request.uri().path() {
        "/_eddy/health" => {
            let body = serde_json::json!({
                "status": "ok",
                "uptime_seconds": state.started.elapsed().as_secs(),
            });
            json(StatusCode::OK, body.to_string())
        }
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "no such eddy page"}).to_string(),
        ),
    }
}

fn json(status: StatusCode, body: String) -> Response<s3s::Body> {
    let mut response = Response::new(s3s::Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
