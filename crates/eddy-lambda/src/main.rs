//! The AWS Lambda `bootstrap` (`provided.al2023`): eddy's copy function, unchanged, over
//! the AWS SDK for S3, behind the Lambda Runtime API client of `lambda_runtime`.
//!
//! Configured by environment variables, as Terraform sets them:
//! - `DESTINATION_BUCKET` (required): the bucket objects are copied into;
//! - `DESTINATION_PREFIX` (optional): put before every destination key.
//!
//! The AWS SDK reads credentials, region and `AWS_ENDPOINT_URL` from the environment,
//! which is how `eddy up` runs this same binary against itself. Every invocation returns
//! an `SqsBatchResponse` listing the failed messages (ReportBatchItemFailures).
//!
//! Build: `cargo lambda build --release --output-format zip -p eddy-lambda` writes
//! `target/lambda/eddy-lambda/bootstrap.zip`.

use eddy_events::lambda::{SqsBatchResponse, SqsEvent};
use eddy_function::CopyOptions;
use eddy_function::aws_store::AwsS3Store;
use lambda_runtime::{Error, LambdaEvent, service_fn};

/// Reads the function's options from the environment.
fn options_from_env() -> Result<CopyOptions, Error> {
    let destination_bucket = std::env::var("DESTINATION_BUCKET")
        .ok()
        .filter(|b| !b.is_empty())
        .ok_or("DESTINATION_BUCKET is not set: the function needs a destination bucket")?;
    let destination_prefix = std::env::var("DESTINATION_PREFIX").unwrap_or_default();
    Ok(CopyOptions {
        destination_bucket,
        destination_prefix,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .without_time()
        .init();
    let options = options_from_env()?;
    let sdk_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(eddy_function::sdk_http::https_client())
        .load()
        .await;
    // A custom endpoint (eddy, another emulator) is addressed path-style.
    let s3_config = aws_sdk_s3::config::Builder::from(&sdk_config)
        .force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some())
        .build();
    let store = AwsS3Store::new(aws_sdk_s3::Client::from_conf(s3_config));
    let (store, options) = (&store, &options);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(
            eddy_function::handle_batch(store, options, &event.payload).await,
        )
    }))
    .await
}
