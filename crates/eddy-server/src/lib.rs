//! eddy's HTTP front: one port serves S3 (through `s3s`), SQS, Lambda and eddy's own
//! pages under `/_eddy/`. A request is routed by what it is: `X-Amz-Target:
//! AmazonSQS.*`, an SQS credential scope, a form-encoded POST or an `Action` query
//! parameter (the SQS query protocol) go to SQS, a `lambda` credential scope to the
//! Lambda API (so an S3 bucket named `2015-03-31` stays S3's), a `logs` credential
//! scope or a `Logs_20140328.*` target to CloudWatch Logs, an `iam` or `sts` scope to
//! IAM or STS (query protocol), `/_eddy/` to the pages, everything else to S3.
//! Every response carries `x-amz-request-id` and `x-amz-id-2`; S3 events repeat them.
//!
//! The server owns HTTP only: it turns requests into operations of the store
//! (`eddy-store`) and their results into AWS's wire shapes; Invoke hands the function
//! to the pipeline's host (`eddy_pipeline::deployed`). It must not know SQL, object
//! files, processes or mappings.

pub mod configured;
pub mod faults;
pub mod harness;
pub mod harness_api;
pub mod iam;
pub mod lambda;
pub mod logs;
pub mod pages;
pub mod s3;
pub mod sigv4;
pub mod sqs;
mod state;
pub mod sts;
pub mod trace;

pub use state::{AppState, Credential, QueueUrlHost, RequestIds, Sessions};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;

use eddy_store::sqs::{SqsError, SqsErrorKind};
use eddy_telemetry::SqsRequestServed;

/// The HTTP front, ready to serve.
#[derive(Clone)]
pub struct Server {
    state: Arc<AppState>,
    s3: s3s::service::S3Service,
}

impl Server {
    pub fn new(state: AppState) -> Self {
        let s3 = s3::front::service(
            state.store.clone(),
            &state.credentials,
            state.sessions.clone(),
        );
        Self {
            state: Arc::new(state),
            s3,
        }
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Serves connections from `listener` until `shutdown` turns true, then waits for
    /// open requests to finish.
    pub async fn serve(self, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = shutdown.changed() => break,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let server = self.clone();
            let mut conn_shutdown = shutdown.clone();
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let server = server.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(server.dispatch(request, peer).await)
                    }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                tokio::pin!(connection);
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                    }
                    _ = conn_shutdown.changed() => {
                        connection.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(Duration::from_secs(10), connection).await;
                    }
                }
            });
            while connections.try_join_next().is_some() {}
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while connections.join_next().await.is_some() {}
        })
        .await;
    }

    async fn dispatch(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<s3s::Body> {
        let mut ids = RequestIds::generate();
        ids.source_ip = peer.ip().to_string();
        let path = request.uri().path().to_owned();
        let mut response = if let Some(rest) = path.strip_prefix(lambda::CODE_DOWNLOAD_PREFIX) {
            lambda::code_download(&self.state, rest, &ids).await
        } else if path == "/_eddy" || path.starts_with("/_eddy/") {
            pages::handle(&self.state, request).await
        } else if let Some(service @ ("iam" | "sts")) = scope_service(&request).as_deref() {
            let is_iam = service == "iam";
            let (parts, body) = request.into_parts();
            let body = Limited::new(body, iam::MAX_BODY_BYTES)
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes);
            if is_iam {
                iam::handle(&self.state, &parts, body, &ids).await
            } else {
                sts::handle(&self.state, &parts, body, &ids).await
            }
        } else if scope_service(&request).as_deref() == Some("lambda") {
            let (parts, body) = request.into_parts();
            match Limited::new(body, lambda::MAX_BODY_BYTES).collect().await {
                Ok(collected) => {
                    lambda::handle(&self.state, &parts, collected.to_bytes(), &ids).await
                }
                Err(_) => lambda::error::error_response(
                    &lambda::error::LambdaError::new(
                        lambda::error::LambdaErrorKind::RequestTooLarge,
                        format!(
                            "Request must be smaller than {} bytes for the operation",
                            lambda::MAX_BODY_BYTES
                        ),
                    ),
                    &ids,
                ),
            }
        } else if scope_service(&request).as_deref() == Some("logs")
            || logs::is_logs_target(request.headers())
        {
            let (parts, body) = request.into_parts();
            match Limited::new(body, logs::MAX_BODY_BYTES).collect().await {
                Ok(collected) => {
                    logs::handle(&self.state, &parts, collected.to_bytes(), &ids).await
                }
                Err(_) => logs::error_response(
                    &logs::LogsError::invalid("The request body is too large or broke off."),
                    &ids,
                ),
            }
        } else if is_sqs(&request) {
            let (parts, body) = request.into_parts();
            let operation = parts
                .headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .and_then(|t| t.strip_prefix("AmazonSQS."))
                .unwrap_or("Query")
                .to_owned();
            let response = match Limited::new(body, sqs::MAX_BODY_BYTES).collect().await {
                Ok(collected) => sqs::handle(&self.state, &parts, collected.to_bytes(), &ids).await,
                Err(_) => sqs::error_response(
                    sqs::Protocol::of(&parts.headers),
                    &SqsError::new(
                        SqsErrorKind::InvalidParameterValue,
                        "The request body is too large or broke off.",
                    ),
                    &ids,
                ),
            };
            self.state.store.telemetry().emit(SqsRequestServed {
                operation: &operation,
                status: response.status().as_u16(),
            });
            response
        } else {
            let store = &self.state.store;
            let fault = if store.faults().any_in_force() {
                s3_fault(store, &request).await
            } else {
                None
            };
            let sessions = &self.state.sessions;
            s3::front::handle(&self.s3, request, &ids, store, sessions, fault).await
        };
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
            headers.insert("x-amz-request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&ids.host_id) {
            headers.insert("x-amz-id-2", v);
        }
        response
    }
}

/// Meets the faults in force for an S3 request: waits out its latency, and returns the
/// error a write meets.
async fn s3_fault<B>(
    store: &eddy_store::Store,
    request: &Request<B>,
) -> Option<eddy_faults::S3WriteFault> {
    let (bucket, key) = faults::request_object(request, &store.settings().region);
    if let Some(latency) = store.faults().s3_latency(&bucket, key.as_deref()) {
        tokio::time::sleep(latency).await;
    }
    if faults::is_write(request.method()) && !bucket.is_empty() {
        store.faults().s3_write(&bucket, key.as_deref())
    } else {
        None
    }
}

/// The service of a request's SigV4 credential scope (header or presigned query).
fn scope_service<B>(request: &Request<B>) -> Option<String> {
    sigv4::scope_service(request.headers())
        .or_else(|| sigv4::presigned_scope_service(request.uri().query().unwrap_or("")))
}

/// Whether a request is for SQS rather than S3: a JSON target, or the service of its
/// SigV4 credential scope (header or presigned query); unsigned, a form-encoded POST or
/// an `Action` query parameter (the SQS query protocol; S3 has neither, but an S3
/// upload may carry a form content type, so a signed request goes by its scope).
fn is_sqs<B>(request: &Request<B>) -> bool {
    let headers = request.headers();
    if headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("AmazonSQS"))
    {
        return true;
    }
    let query = request.uri().query().unwrap_or("");
    if let Some(service) =
        sigv4::scope_service(headers).or_else(|| sigv4::presigned_scope_service(query))
    {
        return service == "sqs";
    }
    let is_form = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    (request.method() == http::Method::POST && is_form)
        || query.split('&').any(|pair| pair.starts_with("Action="))
}
