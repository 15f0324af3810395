//! The processes of an external function: each slot's supervisor binds a fresh
//! loopback Runtime API endpoint, starts the process with the environment Lambda gives
//! a function, forwards its output into eddy's log, and restarts it when it dies or is
//! killed after a timeout.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::runtime_api::serve;
use super::slot::{ExternalFunctionConfig, OutputStream, Slot, lock};

/// Keeps a process running for the slot: binds a fresh Runtime API endpoint, starts the
/// process, and when the process exits (or is killed after a timeout) fails what it
/// had taken and starts a new one, backing off while it keeps crashing at start.
pub(crate) async fn supervise(slot: Arc<Slot>) {
    let mut shutdown = slot.host.shutdown.clone();
    let mut backoff = Duration::from_millis(100);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let started = Instant::now();
        let (exit, killed) = match run_process(&slot, &mut shutdown).await {
            Ok(ended) => ended,
            Err(error) => (format!("could not start: {error}"), false),
        };
        slot.fail_pending(&format!("Runtime exited: {exit}"));
        if *shutdown.borrow() {
            return;
        }
        tracing::warn!(function = %slot.host.config.name, process = %slot.tag(), %exit, "function process ended; restarting it");
        // Only a process that keeps dying on its own is restarted ever more slowly.
        if killed || started.elapsed() > Duration::from_secs(5) {
            backoff = Duration::from_millis(100);
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Runs one process to its end; returns how it ended, and whether eddy killed it.
async fn run_process(
    slot: &Arc<Slot>,
    shutdown: &mut watch::Receiver<bool>,
) -> std::io::Result<(String, bool)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    let mut server = JoinSet::new();
    let served = slot.clone();
    server.spawn(async move { serve(listener, served).await });
    let stream = log_stream_name(
        slot.host
            .config
            .environment
            .get("AWS_LAMBDA_FUNCTION_VERSION")
            .map_or("$LATEST", String::as_str),
    );
    (*lock(&slot.stream)).clone_from(&stream);
    let mut child = spawn_child(&slot.host.config, &address.to_string(), &stream)?;
    for (stream, output) in [
        (
            OutputStream::Stdout,
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn AsyncRead + Send + Unpin>),
        ),
        (
            OutputStream::Stderr,
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn AsyncRead + Send + Unpin>),
        ),
    ] {
        if let Some(output) = output {
            server.spawn(forward_output(slot.clone(), stream, output));
        }
    }
    *lock(&slot.pid) = child.id();
    tracing::debug!(function = %slot.host.config.name, process = %slot.tag(), runtime_api = %address, "function process started");
    let ended = tokio::select! {
        status = child.wait() => (status.map_or_else(|e| e.to_string(), |s| s.to_string()), false),
        () = slot.kill.notified() => {
            let _ = child.kill().await;
            ("killed after its invocation timed out".to_owned(), true)
        }
        _ = shutdown.changed() => {
            let _ = child.kill().await;
            ("stopped with eddy".to_owned(), true)
        }
    };
    // Let the last output lines through before the forwarders are dropped.
    let drain = async { while server.len() > 1 && server.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_millis(200), drain).await;
    server.abort_all();
    Ok(ended)
}

/// A new process's log stream, named as Lambda names it:
/// `YYYY/MM/DD/[<version>]<32 hex digits>`.
pub fn log_stream_name(version: &str) -> String {
    let date = time::OffsetDateTime::now_utc();
    format!(
        "{:04}/{:02}/{:02}/[{version}]{}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        uuid::Uuid::new_v4().simple()
    )
}

fn spawn_child(
    config: &ExternalFunctionConfig,
    runtime_api: &str,
    log_stream: &str,
) -> std::io::Result<Child> {
    let Some((program, args)) = config.command.split_first() else {
        return Err(std::io::Error::other("the function has an empty command"));
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_ENDPOINT_URL_SQS")
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", &config.name)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
        .env("AWS_REGION", &config.region)
        .env("AWS_DEFAULT_REGION", &config.region)
        .env("_HANDLER", &config.handler)
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", config.name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", log_stream)
        .env("TZ", ":UTC")
        .env("AWS_ACCESS_KEY_ID", &config.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &config.secret_access_key)
        .env("AWS_ENDPOINT_URL", &config.endpoint_url)
        .envs(&config.environment)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = &config.working_dir {
        command.current_dir(dir).env("LAMBDA_TASK_ROOT", dir);
    } else if let Ok(dir) = std::env::current_dir() {
        command.env("LAMBDA_TASK_ROOT", dir);
    }
    command.spawn()
}

/// Writes each line a process prints into eddy's log, tagged with the function name
/// and the request id being handled.
async fn forward_output(
    slot: Arc<Slot>,
    stream: OutputStream,
    output: Box<dyn AsyncRead + Send + Unpin>,
) {
    let mut lines = BufReader::new(output).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Some(kept) = slot.read_line(stream, &line) else {
            continue;
        };
        let request_id = lock(&slot.current_request).clone().unwrap_or_default();
        let stream = stream.name();
        tracing::info!(target: "eddy::function", function = %slot.host.config.name, %request_id, stream, "{kept}");
    }
}
