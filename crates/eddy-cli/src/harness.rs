//! The test-suite commands against a running eddy: `eddy reset` (back to the
//! configured pipeline, `POST /_eddy/api/reset`) and `eddy wait --idle` (until the
//! pipeline has nothing left to do, `GET /_eddy/api/idle`). Each prints eddy's JSON
//! answer on stdout; `wait` exits non-zero when the pipeline is still busy at the
//! timeout.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use http_body_util::BodyExt;

/// Which eddy to talk to.
#[derive(Debug, Clone, clap::Args)]
pub struct EddyTarget {
    /// eddy's endpoint.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4566"
    )]
    pub endpoint_url: String,
    /// Read the endpoint from this ready file (`eddy up --ready-file`) instead.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    #[command(flatten)]
    pub target: EddyTarget,
}

#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    #[command(flatten)]
    pub target: EddyTarget,
    /// Wait until no event, message or invocation is pending (the only condition so far).
    #[arg(long, required = true)]
    pub idle: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
}

#[derive(serde::Deserialize)]
struct ReadyFile {
    endpoint: String,
}

impl EddyTarget {
    fn endpoint(&self) -> anyhow::Result<String> {
        let endpoint = match &self.ready_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the ready file {}", path.display()))?;
                serde_json::from_str::<ReadyFile>(&text)
                    .with_context(|| format!("{} is not an eddy ready file", path.display()))?
                    .endpoint
            }
            None => self.endpoint_url.clone(),
        };
        Ok(endpoint.trim_end_matches('/').to_owned())
    }
}

/// Sends one request to eddy's pages; returns the status and the body.
async fn call(
    method: hyper::Method,
    url: &str,
    timeout: Duration,
) -> anyhow::Result<(hyper::StatusCode, String)> {
    let request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("x-eddy-dashboard", "cli")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .with_context(|| format!("{url} is not a valid URL"))?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let response = tokio::time::timeout(timeout, client.request(request))
        .await
        .with_context(|| format!("{url} did not answer within {timeout:?}"))?
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .with_context(|| format!("the answer of {url} broke off"))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

pub async fn reset(args: ResetArgs) -> anyhow::Result<()> {
    let url = format!("{}/_eddy/api/reset", args.target.endpoint()?);
    let (status, body) = call(hyper::Method::POST, &url, Duration::from_secs(60)).await?;
    if !status.is_success() {
        bail!("reset failed ({status}): {body}");
    }
    println!("{body}");
    Ok(())
}

pub async fn wait(args: WaitArgs) -> anyhow::Result<()> {
    if !(0.0..=eddy_server::harness::MAX_IDLE_TIMEOUT_SECONDS).contains(&args.timeout) {
        bail!(
            "--timeout must be from 0 to {} seconds",
            eddy_server::harness::MAX_IDLE_TIMEOUT_SECONDS
        );
    }
    let url = format!(
        "{}/_eddy/api/idle?timeout={}",
        args.target.endpoint()?,
        args.timeout
    );
    let allowance = Duration::from_secs_f64(args.timeout) + Duration::from_secs(10);
    let (status, body) = call(hyper::Method::GET, &url, allowance).await?;
    println!("{body}");
    match status {
        hyper::StatusCode::OK => Ok(()),
        hyper::StatusCode::REQUEST_TIMEOUT => {
            bail!("the pipeline is still busy after {} s", args.timeout)
        }
        other => bail!("idle check failed ({other})"),
    }
}
