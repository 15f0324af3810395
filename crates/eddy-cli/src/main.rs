//! The `eddy` binary: `eddy up` runs the whole pipeline on this machine; `eddy worker`
//! runs the copy function as a consumer of any SQS queue, writing to any S3 store.

mod backfill;
mod clients;
mod config;
mod configured;
mod harness;
mod ready;
mod redrive;
mod status;
mod up;
mod worker;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "eddy",
    version,
    about = "Event-driven file processing on the AWS model, on one machine."
)]
struct Cli {
    /// Log format: readable text, or one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true, env = "EDDY_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run S3, SQS, the event source mapping and the copy function on one port.
    Up {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:4566", env = "EDDY_LISTEN")]
        listen: String,
        /// Directory that keeps buckets, objects, queues and messages.
        #[arg(long, default_value = ".eddy", env = "EDDY_DATA_DIR")]
        data_dir: PathBuf,
        /// Configuration file (defaults to ./eddy.toml when it exists).
        #[arg(long, env = "EDDY_CONFIG")]
        config: Option<PathBuf>,
        /// Keep everything in a fresh temporary directory removed at exit, and skip
        /// fsync (for test suites).
        #[arg(long, conflicts_with = "data_dir")]
        ephemeral: bool,
        /// Once ready, write a JSON file with the endpoint, region, account and
        /// credentials here (removed at exit).
        #[arg(long, env = "EDDY_READY_FILE")]
        ready_file: Option<PathBuf>,
    },
    /// Return a running eddy to its configured pipeline: buckets and queues created
    /// since it started are gone, the configured ones are empty (for test suites).
    Reset(harness::ResetArgs),
    /// Wait until a running eddy's pipeline is idle: no message in a mapped queue, no
    /// invocation running (for test suites).
    Wait(harness::WaitArgs),
    /// Show what became of one file in a running eddy: its upload, each notification
    /// configuration and why it matched or not, receives, invocations, the copy or the
    /// dead-letter queue.
    Trace(harness::TraceArgs),
    /// Show queues, dead-letter queues, mappings and functions.
    Status(status::StatusArgs),
    /// Move the messages of a dead-letter queue back to where they came from.
    Redrive(redrive::RedriveArgs),
    /// Send ObjectCreated events for objects already in a bucket.
    Backfill(backfill::BackfillArgs),
    /// Run the copy function as a long-running consumer of an SQS queue (AWS, eddy, or
    /// any compatible service); credentials and region come from the AWS environment.
    Worker {
        /// The queue to consume.
        #[arg(long, env = "EDDY_QUEUE_URL")]
        queue_url: String,
        /// The bucket objects are copied into.
        #[arg(long, env = "DESTINATION_BUCKET")]
        destination_bucket: String,
        /// Put before every destination key.
        #[arg(long, default_value = "", env = "DESTINATION_PREFIX")]
        destination_prefix: String,
        /// Endpoint of S3 and SQS (default: AWS, or AWS_ENDPOINT_URL).
        #[arg(long)]
        endpoint_url: Option<String>,
        /// Batches processed at once.
        #[arg(long, default_value_t = 4)]
        concurrency: u32,
    },
}

fn init_logging(format: LogFormat) {
    // `s3s::ops` logs every error answer (NoSuchKey included) at ERROR as a debug dump;
    // the S3 front logs the answers that are eddy's fault (5xx) instead.
    let filter = tracing_subscriber::EnvFilter::try_from_env("EDDY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,s3s=warn,s3s::ops=off"));
    // Colour only on a terminal: a log written to a file or a pipe stays plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("eddy: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Up {
                listen,
                data_dir,
                config,
                ephemeral,
                ready_file,
            } => {
                up::run(up::UpOptions {
                    listen,
                    data_dir,
                    config,
                    ephemeral,
                    ready_file,
                })
                .await
            }
            Command::Reset(args) => harness::reset(args).await,
            Command::Wait(args) => harness::wait(args).await,
            Command::Trace(args) => harness::trace(args).await,
            Command::Status(args) => status::run(args).await,
            Command::Redrive(args) => redrive::run(args).await,
            Command::Backfill(args) => backfill::run(args).await,
            Command::Worker {
                queue_url,
                destination_bucket,
                destination_prefix,
                endpoint_url,
                concurrency,
            } => {
                worker::run(worker::WorkerOptions {
                    queue_url,
                    destination_bucket,
                    destination_prefix,
                    endpoint_url,
                    concurrency,
                })
                .await
            }
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("eddy: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
