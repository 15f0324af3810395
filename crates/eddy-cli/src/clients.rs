//! AWS SDK clients for the operator commands: eddy's endpoint when `--endpoint-url` is
//! given, AWS itself otherwise, with credentials and region from the usual AWS
//! environment variables and profiles.

use http_body_util::BodyExt;
use std::time::Duration;

/// Where the operator commands send their requests.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The endpoint to talk to (eddy: http://127.0.0.1:4566); omit for AWS itself.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Region (default: from the AWS environment, else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
}

impl Target {
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(eddy_function::sdk_http::https_client());
        if let Some(endpoint) = &self.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &self.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        // Without --region, the loader's own chain (environment, profile, instance
        // metadata over the client above) decides; us-east-1 when none answers.
        let config = loader.load().await;
        if config.region().is_some() {
            return config;
        }
        config
            .into_builder()
            .region(aws_config::Region::new("us-east-1"))
            .build()
    }

    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(self.endpoint_url.is_some())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// eddy's JSON view of the pipeline, when the endpoint is an eddy.
    pub async fn eddy_overview(&self) -> Option<serde_json::Value> {
        let endpoint = self.endpoint_url.as_ref()?;
        let url: hyper::Uri = format!("{}/_eddy/api/overview", endpoint.trim_end_matches('/'))
            .parse()
            .ok()?;
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Empty<bytes::Bytes>>();
        let response = tokio::time::timeout(Duration::from_secs(5), client.get(url))
            .await
            .ok()?
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body = response.into_body().collect().await.ok()?.to_bytes();
        serde_json::from_slice(&body).ok()
    }
}

/// The queue URL for a name or URL: URLs pass through, names are looked up.
pub async fn resolve_queue_url(sqs: &aws_sdk_sqs::Client, queue: &str) -> anyhow::Result<String> {
    if queue.starts_with("http://") || queue.starts_with("https://") {
        return Ok(queue.to_owned());
    }
    let output = sqs
        .get_queue_url()
        .queue_name(queue)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot find queue {queue}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?;
    output
        .queue_url()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("GetQueueUrl returned no URL for {queue}"))
}

/// The last path segment of a queue URL: its name.
pub fn queue_name(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}
