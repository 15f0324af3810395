//! A trivial endpoint that answers every request with a fixed SQS `SendMessage`
//! response, without verifying anything: the ceiling of the load generator itself.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The fixed answer: what SQS returns for `SendMessage` in the JSON protocol.
pub const SEND_MESSAGE_RESPONSE: &str = r#"{"MD5OfMessageBody":"a7f3a0a4b4a4f1f2f0a1b0a9d6c0e3d1","MessageId":"5fea7756-0ea4-451a-a703-a558b933e274"}"#;

/// Serves connections from `listener` until the process ends.
pub async fn serve(listener: TcpListener) -> anyhow::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(answer);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body like a real server would before answering.
    let _ = request.into_body().collect().await;
    let mut response = Response::new(Full::new(Bytes::from_static(
        SEND_MESSAGE_RESPONSE.as_bytes(),
    )));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    Ok(response)
}
