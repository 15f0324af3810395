//! The test-suite commands against a running eddy: `eddy reset` (back to the
//! configured pipeline, `POST /_eddy/api/reset`), `eddy wait --idle` (until the
//! pipeline has nothing left to do, `GET /_eddy/api/idle`) and `eddy trace
//! s3://bucket/key` (what became of one file, `GET /_eddy/api/trace`). Each prints
//! eddy's JSON answer on stdout (`trace` its one-sentence summary first); `wait` exits
//! non-zero when the pipeline is still busy at the timeout.

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

#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    #[command(flatten)]
    pub target: EddyTarget,
    /// The object, as s3://bucket/key.
    pub object: String,
    /// Print only the JSON answer.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Deserialize)]
struct TraceSummary {
    summary: String,
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

/// Splits `s3://bucket/key` into its bucket and key.
fn parse_s3_url(url: &str) -> anyhow::Result<(&str, &str)> {
    url.strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
        .with_context(|| format!("{url} is not of the form s3://bucket/key"))
}

pub async fn trace(args: TraceArgs) -> anyhow::Result<()> {
    let (bucket, key) = parse_s3_url(&args.object)?;
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("bucket", bucket)
        .append_pair("key", key)
        .finish();
    let url = format!("{}/_eddy/api/trace?{query}", args.target.endpoint()?);
    let (status, body) = call(hyper::Method::GET, &url, Duration::from_secs(30)).await?;
    if !status.is_success() {
        bail!("trace failed ({status}): {body}");
    }
    if !args.json {
        let summary: TraceSummary = serde_json::from_str(&body).context("trace answer")?;
        println!("{}: {}", args.object, summary.summary);
    }
    println!("{body}");
    Ok(())
}
