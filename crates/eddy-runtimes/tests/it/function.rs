//! One function process started the way eddy starts it: the command and environment
//! from [`ManagedRuntimes::launch`], plus the environment the host gives every function,
//! talking to its own [`TestRuntimeApi`].

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eddy_runtimes::{InterpreterOverrides, Launch, ManagedRuntimes, Runtime};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use crate::runtime_api::{Event, Post, PostKind, TestRuntimeApi};

/// How long a test waits for what a process should do at once.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub const FUNCTION_NAME: &str = "fixture";
pub const LOG_GROUP: &str = "/aws/lambda/fixture";
pub const LOG_STREAM: &str = "2026/11/29/[$LATEST]0123456789abcdef0123456789abcdef";

pub fn fixtures(language: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(language)
}

/// A running function process and its Runtime API.
pub struct FunctionProcess {
    pub api: TestRuntimeApi,
    pub launch: Launch,
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
    _clients_dir: tempfile::TempDir,
}

impl FunctionProcess {
    /// Starts `handler` of `task_root` under `runtime`.
    pub async fn start(
        runtime: Runtime,
        overrides: &InterpreterOverrides,
        task_root: &Path,
        handler: &str,
    ) -> Self {
        let clients_dir = tempfile::tempdir().expect("temp dir");
        let runtimes = ManagedRuntimes::new(clients_dir.path(), overrides.clone())
            .expect("install the clients");
        let launch = runtimes
            .launch(runtime, task_root)
            .unwrap_or_else(|error| panic!("{runtime} cannot be launched: {error}"));
        let api = TestRuntimeApi::start().await;
        let (program, arguments) = launch.command.split_first().expect("a command");
        let mut child = Command::new(program)
            .args(arguments)
            .current_dir(task_root)
            .env_remove("AWS_LAMBDA_LOG_LEVEL")
            .env_remove("NODE_OPTIONS")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
            .env("_HANDLER", handler)
            .env("LAMBDA_TASK_ROOT", task_root)
            .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", LOG_GROUP)
            .env("AWS_LAMBDA_LOG_STREAM_NAME", LOG_STREAM)
            .env("TZ", ":UTC")
            .envs(&launch.environment)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {:?}: {error}", launch.command));
        let output = Arc::new(Mutex::new(Vec::new()));
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn AsyncRead + Send + Unpin>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn AsyncRead + Send + Unpin>);
        for (stream, prefix) in [(stdout, ""), (stderr, "stderr: ")] {
            if let Some(stream) = stream {
                tokio::spawn(collect_lines(stream, prefix, output.clone()));
            }
        }
        Self {
            api,
            launch,
            child,
            output,
            _clients_dir: clients_dir,
        }
    }

    /// Hands `event` to the function and returns what it posts for it.
    pub async fn invoke(&self, event: Event) -> Post {
        let request_id = event.request_id.clone();
        self.api.queue(event);
        let post = self.next_post().await;
        assert_eq!(
            post.request_id.as_deref(),
            Some(request_id.as_str()),
            "{}",
            self.describe()
        );
        post
    }

    /// The next post, failing the test (with the process's output) when none comes.
    pub async fn next_post(&self) -> Post {
        match self.api.next_post(PATIENCE).await {
            Some(post) => post,
            None => panic!(
                "the function posted nothing within {PATIENCE:?}; {}",
                self.describe()
            ),
        }
    }

    /// The `init/error` the function posts when its handler cannot be loaded; the
    /// process then exits with `expected_status`.
    pub async fn init_error(mut self, expected_status: i32) -> (Post, Vec<String>) {
        let post = self.next_post().await;
        assert_eq!(post.kind, PostKind::InitError, "{}", self.describe());
        let status = self.exit_status().await;
        assert_eq!(status.code(), Some(expected_status), "{}", self.describe());
        let lines = self.output_lines_after_exit().await;
        (post, lines)
    }

    pub async fn exit_status(&mut self) -> ExitStatus {
        let Ok(status) = tokio::time::timeout(PATIENCE, self.child.wait()).await else {
            panic!("the process did not exit; {}", self.describe())
        };
        status.expect("wait for the process")
    }

    /// Lines printed so far (stderr lines start with `stderr: `).
    pub fn output_lines(&self) -> Vec<String> {
        self.output
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    async fn output_lines_after_exit(&self) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.output_lines()
    }

    /// Waits until a printed line satisfies `wanted`, and returns it.
    pub async fn wait_for_line(&self, wanted: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self.output_lines().into_iter().find(|line| wanted(line)) {
                return line;
            }
            assert!(
                started.elapsed() <= PATIENCE,
                "no such line was printed; {}",
                self.describe()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "command {:?}, output:\n{}",
            self.launch.command,
            self.output_lines().join("\n")
        )
    }
}

async fn collect_lines(
    stream: Box<dyn AsyncRead + Send + Unpin>,
    prefix: &'static str,
    output: Arc<Mutex<Vec<String>>>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        output
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(format!("{prefix}{line}"));
    }
}

/// Whether `text` is a UTC timestamp as Lambda's logs print it: `2026-11-29T13:44:32.123Z`.
pub fn is_log_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        range
            .clone()
            .all(|i| bytes.get(i).is_some_and(u8::is_ascii_digit))
    };
    bytes.len() == 24
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && bytes[19] == b'.'
        && digits(20..23)
        && bytes[23] == b'Z'
}

/// Whether each of `fields` occurs in `text`, in that order (JSON key order).
pub fn post_text_order(text: &str, fields: &[&str]) -> bool {
    let positions: Vec<Option<usize>> = fields.iter().map(|field| text.find(field)).collect();
    positions.iter().all(Option::is_some) && positions.windows(2).all(|pair| pair[0] < pair[1])
}
