//! The load generator's HTTP side: one HTTP/1.1 keep-alive connection per simulated
//! client (hyper's connection-level client, no pool in between), and the signed S3 and
//! SQS (AWS JSON 1.0) requests the workloads send.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use eddy_testing::sign::{Payload, Service, Signer};

/// The body of every request the load generator sends.
pub type Body = BoxBody<Bytes, Infallible>;

/// A body held in memory.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// Where a system under test listens, and how requests to it are signed.
pub struct Api {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    host: HeaderValue,
    signer: Signer,
}

impl Api {
    /// `base_url` is `http://IP:PORT` (loopback: the benchmark never leaves the machine).
    pub fn new(base_url: &str, signer: Signer) -> anyhow::Result<Arc<Self>> {
        let authority = base_url
            .strip_prefix("http://")
            .with_context(|| format!("{base_url} is not an http:// URL"))?
            .trim_end_matches('/');
        let addr: SocketAddr = authority
            .parse()
            .with_context(|| format!("{base_url} is not http://IP:PORT"))?;
        Ok(Arc::new(Self {
            addr,
            base_url: format!("http://{authority}"),
            host: HeaderValue::from_str(authority)?,
            signer,
        }))
    }

    /// A signed SQS request in the AWS JSON 1.0 protocol.
    pub fn sqs_request(&self, operation: &str, body: Bytes) -> anyhow::Result<Request<Body>> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(http::header::HOST, self.host.clone())
            .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{operation}"))
            .body(())?;
        let url = format!("{}/", self.base_url);
        self.signer
            .sign(Service::Sqs, &url, &mut request, Payload::Bytes(&body))?;
        Ok(request.map(|()| full(body)))
    }

    /// A signed Lambda API request (REST-JSON), e.g. `POST /2015-03-31/functions`.
    pub fn lambda_request(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> anyhow::Result<Request<Body>> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, self.host.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(())?;
        let url = format!("{}{path}", self.base_url);
        self.signer.sign(
            Service::Named("lambda"),
            &url,
            &mut request,
            Payload::Bytes(&body),
        )?;
        Ok(request.map(|()| full(body)))
    }

    /// A signed path-style S3 request with an in-memory body (its SHA-256 is signed).
    /// `path_and_query` starts with `/` and is already percent-encoded.
    pub fn s3_request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Bytes,
    ) -> anyhow::Result<Request<Body>> {
        let mut request = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(http::header::HOST, self.host.clone())
            .body(())?;
        if !body.is_empty() {
            request
                .headers_mut()
                .insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let url = format!("{}{path_and_query}", self.base_url);
        self.signer
            .sign(Service::S3, &url, &mut request, Payload::Bytes(&body))?;
        Ok(request.map(|()| full(body)))
    }

    /// A signed S3 PUT whose body is streamed (`UNSIGNED-PAYLOAD`), for large objects.
    pub fn s3_streaming_put(
        &self,
        path: &str,
        length: u64,
        body: Body,
    ) -> anyhow::Result<Request<Body>> {
        let mut request = Request::builder()
            .method(Method::PUT)
            .uri(path)
            .header(http::header::HOST, self.host.clone())
            .header(http::header::CONTENT_LENGTH, HeaderValue::from(length))
            .body(())?;
        let url = format!("{}{path}", self.base_url);
        self.signer
            .sign(Service::S3, &url, &mut request, Payload::Unsigned)?;
        Ok(request.map(|()| body))
    }
}

/// A whole response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON when the status is 200, an error naming `what` otherwise.
    pub fn json(&self, what: &str) -> anyhow::Result<serde_json::Value> {
        self.ok(what)?;
        serde_json::from_slice(&self.body)
            .with_context(|| format!("{what}: the response is not JSON"))
    }

    /// An error naming `what` unless the status is 2xx.
    pub fn ok(&self, what: &str) -> anyhow::Result<()> {
        if !self.status.is_success() {
            bail!(
                "{what}: HTTP {} {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            );
        }
        Ok(())
    }
}

/// One keep-alive connection; reconnects when the server closed it.
pub struct Connection {
    api: Arc<Api>,
    sender: Option<http1::SendRequest<Body>>,
    /// How many times the server closed the connection and a new one was opened.
    pub reconnects: u64,
}

impl Connection {
    /// Opens the connection now, so that workloads start with connections established.
    pub async fn open(api: Arc<Api>) -> anyhow::Result<Self> {
        let sender = connect(&api).await?;
        Ok(Self {
            api,
            sender: Some(sender),
            reconnects: 0,
        })
    }

    pub fn api(&self) -> &Arc<Api> {
        &self.api
    }

    /// Sends `request` and reads the whole response.
    pub async fn send(&mut self, request: Request<Body>) -> anyhow::Result<Reply> {
        let mut sender = match self.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => {
                self.reconnects += 1;
                connect(&self.api).await?
            }
        };
        if sender.ready().await.is_err() {
            self.reconnects += 1;
            sender = connect(&self.api).await?;
            sender
                .ready()
                .await
                .context("a new connection is not ready")?;
        }
        let response = sender
            .send_request(request)
            .await
            .with_context(|| format!("request to {} failed", self.api.base_url))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .with_context(|| format!("response body from {} broke off", self.api.base_url))?
            .to_bytes();
        self.sender = Some(sender);
        Ok(Reply {
            status: parts.status,
            body,
        })
    }

    /// Runs one SQS operation and returns its JSON output (an error unless HTTP 200).
    pub async fn sqs(
        &mut self,
        operation: &str,
        input: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let request = self
            .api
            .sqs_request(operation, Bytes::from(input.to_string()))?;
        self.send(request).await?.json(operation)
    }

    /// Runs one Lambda API request and returns its reply, whatever its status.
    pub async fn lambda(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> anyhow::Result<Reply> {
        let request = self.api.lambda_request(method, path, body)?;
        self.send(request).await
    }

    /// Runs one S3 request with an in-memory body; an error unless HTTP 2xx.
    pub async fn s3(
        &mut self,
        method: Method,
        path_and_query: &str,
        body: Bytes,
    ) -> anyhow::Result<Reply> {
        let what = format!("{method} {path_and_query}");
        let request = self.api.s3_request(method, path_and_query, body)?;
        let reply = self.send(request).await?;
        reply.ok(&what)?;
        Ok(reply)
    }
}

async fn connect(api: &Api) -> anyhow::Result<http1::SendRequest<Body>> {
    let stream = TcpStream::connect(api.addr)
        .await
        .with_context(|| format!("cannot connect to {}", api.base_url))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .with_context(|| format!("HTTP handshake with {} failed", api.base_url))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}
