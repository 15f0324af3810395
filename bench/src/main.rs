//! `eddy-bench`: `all` runs the benchmark and prints the report; `load` drives one
//! workload against an endpoint that is already running (for profiling it);
//! `stub-server` is the trivial endpoint that measures the load generator's ceiling.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use eddy_bench::http::{Api, Connection};
use eddy_bench::load::{Budget, closed_loop};
use eddy_bench::report::format_number;
use eddy_bench::suite::{self, Options};
use eddy_bench::workloads::{
    CopyClock, PutObject, SendMessage, SendMessageBatch, create_bucket, create_queue, drain,
    pipeline,
};
use eddy_testing::sign::Signer;

#[derive(Parser)]
#[command(
    name = "eddy-bench",
    about = "Benchmarks eddy side by side with moto_server."
)]
struct Cli {
    /// Worker threads of the load generator's async runtime.
    #[arg(long, default_value_t = 2, global = true)]
    client_threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the benchmark (every part, or those of --only) and print the report.
    All {
        #[command(flatten)]
        options: Options,
        /// Also write the report to this file.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Drive one workload against a running endpoint (e.g. eddy under perf).
    Load {
        /// The endpoint, http://IP:PORT.
        #[arg(long)]
        endpoint: String,
        #[arg(long, value_enum)]
        workload: LoadWorkload,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Files uploaded by the pipeline workload.
        #[arg(long, default_value_t = 10_000)]
        files: u64,
        /// Messages deleted by the drain workload.
        #[arg(long, default_value_t = 10_000)]
        messages: u64,
    },
    /// Serve the fixed SendMessage answer on a free loopback port.
    StubServer,
}

#[derive(Clone, Copy, ValueEnum)]
enum LoadWorkload {
    /// SQS SendMessage to queue bench-send (created if missing).
    SendMessage,
    /// SQS SendMessageBatch of ten messages to queue bench-batch (created if missing).
    SendMessageBatch,
    /// Receive (10 at a time) and DeleteMessageBatch from queue bench-batch until
    /// `--messages` are deleted (fill it first with send-message-batch).
    Drain,
    /// S3 PutObject of 4 KiB to bucket bench-put (created if missing).
    PutObject,
    /// 4 KiB files into eddy's `source` bucket until each copy is in `destination`.
    Pipeline,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.client_threads.max(1))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("eddy-bench: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("eddy-bench: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::All { options, output } => {
            let report = suite::run(options).await?;
            println!("{report}");
            if let Some(path) = output {
                std::fs::write(&path, &report)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            Ok(())
        }
        Command::Load {
            endpoint,
            workload,
            connections,
            seconds,
            files,
            messages,
        } => {
            let counts = LoadCounts { files, messages };
            load(&endpoint, workload, connections, seconds, counts).await
        }
        Command::StubServer => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            println!("stub ready on http://{}", listener.local_addr()?);
            eddy_bench::stub::serve(listener).await
        }
    }
}

/// The fixed amounts of the workloads that run to completion rather than for a time.
struct LoadCounts {
    files: u64,
    messages: u64,
}

async fn load(
    endpoint: &str,
    workload: LoadWorkload,
    connections: usize,
    seconds: f64,
    counts: LoadCounts,
) -> anyhow::Result<()> {
    let api = Api::new(endpoint, Signer::new("test", "test", "us-east-1"))?;
    let mut admin = Connection::open(api.clone()).await?;
    let budget = Budget::For(Duration::from_secs_f64(seconds));
    let mut stats = match workload {
        LoadWorkload::SendMessage => {
            let url = create_queue(&mut admin, "bench-send", serde_json::json!({})).await?;
            closed_loop(
                &api,
                connections,
                budget,
                Arc::new(SendMessage::new(&url)),
                false,
            )
            .await?
        }
        LoadWorkload::SendMessageBatch => {
            let url = create_queue(&mut admin, "bench-batch", serde_json::json!({})).await?;
            closed_loop(
                &api,
                connections,
                budget,
                Arc::new(SendMessageBatch::new(&url)),
                false,
            )
            .await?
        }
        LoadWorkload::Drain => {
            let url = create_queue(&mut admin, "bench-batch", serde_json::json!({})).await?;
            let limit = Duration::from_secs_f64(seconds);
            let stats = drain(&api, connections, &url, counts.messages, limit).await?;
            println!(
                "{} messages/s ({} deleted in {:.2} s); {} empty receives; {} errors{}",
                format_number(stats.rate()),
                stats.deleted,
                stats.elapsed.as_secs_f64(),
                stats.empty_receives,
                stats.errors,
                stats
                    .first_error
                    .map(|e| format!(" (first: {e})"))
                    .unwrap_or_default()
            );
            return Ok(());
        }
        LoadWorkload::PutObject => {
            if create_bucket(&mut admin, "bench-put").await.is_err() {
                eprintln!("bucket bench-put exists already; using it");
            }
            let put = PutObject::new("bench-put", &format!("obj-{}/", std::process::id()), 4096);
            closed_loop(&api, connections, budget, Arc::new(put), false).await?
        }
        LoadWorkload::Pipeline => {
            let queue = admin
                .sqs(
                    "GetQueueUrl",
                    &serde_json::json!({"QueueName": "file-events"}),
                )
                .await?;
            let url = queue["QueueUrl"].as_str().context("no QueueUrl")?;
            let mut stats = pipeline(
                &api,
                connections,
                counts.files,
                4096,
                "source",
                "destination",
                url,
                CopyClock::LastModified,
                Duration::from_secs(600),
            )
            .await?;
            println!(
                "{} files/s (uploads {} /s); upload-to-copied p50 {} ms, p99 {} ms",
                format_number(stats.rate()),
                format_number(stats.upload.rate()),
                format_number(stats.latencies.quantile_ms(0.5).unwrap_or(f64::NAN)),
                format_number(stats.latencies.quantile_ms(0.99).unwrap_or(f64::NAN)),
            );
            return Ok(());
        }
    };
    println!(
        "{} items/s over {:.2} s; p50 {} ms, p99 {} ms; {} errors{}",
        format_number(stats.rate()),
        stats.elapsed.as_secs_f64(),
        format_number(stats.latencies.quantile_ms(0.5).unwrap_or(f64::NAN)),
        format_number(stats.latencies.quantile_ms(0.99).unwrap_or(f64::NAN)),
        stats.errors,
        stats
            .first_error
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    Ok(())
}
