//! Test harness: starts eddy on a free port with a fresh data directory, and builds AWS
//! SDK clients pointed at it.
//!
//! Two ways to run it, one API:
//! - in this test process ([`Eddy::start`], [`Eddy::start_with_config`]), through
//!   `eddy_testing::TestEddy`: for what the API answers and what the pipeline does;
//! - as the real `eddy up` child process ([`Eddy::process`], [`Eddy::start_with`]): for
//!   what needs a process of its own: its log, signals, kills and restarts on the same
//!   data directory, its memory, and `/_eddy/metrics` (the metrics recorder is one per
//!   process, so eddys sharing this one would count into each other's series).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use eddy_testing::{TestEddy, TestEddyOptions};

/// A running eddy; stopped when dropped.
pub struct Eddy {
    pub endpoint: String,
    pub data_dir: PathBuf,
    host: Host,
}

/// Where an [`Eddy`] runs.
enum Host {
    /// `eddy up` as a child process, logging to `log`, its directory in `temp`.
    Process {
        child: Child,
        temp: Option<tempfile::TempDir>,
        log: PathBuf,
    },
    /// eddy inside this process, in a temporary directory of its own; it stops when
    /// dropped.
    InProcess { _running: Box<TestEddy> },
}

/// Options for starting eddy.
#[derive(Default, Clone)]
pub struct EddyOptions {
    /// Contents of eddy.toml (empty: defaults).
    pub config: String,
    /// Reuse this data dir instead of a fresh one.
    pub data_dir: Option<PathBuf>,
}

impl Eddy {
    /// eddy with the default pipeline, in this process.
    pub fn start() -> Self {
        Self::start_with_config("")
    }

    /// eddy with this `eddy.toml`, in this process.
    pub fn start_with_config(config: &str) -> Self {
        let eddy = TestEddy::start_with(TestEddyOptions {
            config: config.to_owned(),
            data_dir: None,
        })
        .unwrap_or_else(|error| panic!("start eddy in-process: {error}"));
        Eddy {
            endpoint: eddy.endpoint().to_owned(),
            data_dir: eddy.data_dir().to_owned(),
            host: Host::InProcess {
                _running: Box::new(eddy),
            },
        }
    }

    /// `eddy up` with the default pipeline, as a child process.
    pub fn process() -> Self {
        Self::start_with(EddyOptions::default())
    }

    /// `eddy up` with this `eddy.toml`, as a child process.
    pub fn process_with_config(config: &str) -> Self {
        Self::start_with(EddyOptions {
            config: config.to_owned(),
            data_dir: None,
        })
    }

    /// `eddy up` as a child process.
    pub fn start_with(options: EddyOptions) -> Self {
        let (temp, data_dir) = if let Some(dir) = options.data_dir {
            (None, dir)
        } else {
            let temp = tempfile::tempdir().expect("temp dir");
            let dir = temp.path().join("data");
            (Some(temp), dir)
        };
        let work = data_dir.parent().expect("data dir has a parent").to_owned();
        std::fs::create_dir_all(&work).expect("work dir");
        let config_path = work.join("eddy.toml");
        std::fs::write(&config_path, &options.config).expect("write config");
        let log = work.join(format!("eddy-{}.log", std::process::id()));
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_eddy"))
            .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .arg("--config")
            .arg(&config_path)
            .env("EDDY_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("start eddy");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("read ready line");
        let endpoint = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| {
                let log_text = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("eddy did not print its ready line: {line:?}\n{log_text}")
            })
            .to_owned();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        Eddy {
            endpoint,
            data_dir,
            host: Host::Process { child, temp, log },
        }
    }

    /// The `eddy up` process; panics for an in-process eddy.
    pub fn child(&mut self) -> &mut Child {
        match &mut self.host {
            Host::Process { child, .. } => child,
            Host::InProcess { .. } => panic!("this test needs eddy as a process: Eddy::process()"),
        }
    }

    /// The `eddy up` process's id; panics for an in-process eddy.
    pub fn pid(&self) -> u32 {
        match &self.host {
            Host::Process { child, .. } => child.id(),
            Host::InProcess { .. } => panic!("this test needs eddy as a process: Eddy::process()"),
        }
    }

    /// What eddy logged so far; panics for an in-process eddy.
    pub fn log(&self) -> String {
        match &self.host {
            Host::Process { log, .. } => std::fs::read_to_string(log).unwrap_or_default(),
            Host::InProcess { .. } => panic!("this test needs eddy as a process: Eddy::process()"),
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = self.child().id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child().try_wait().expect("wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "eddy did not stop within 20 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Keeps the temporary directory alive past this process (for restarts).
    pub fn take_temp(&mut self) -> Option<tempfile::TempDir> {
        match &mut self.host {
            Host::Process { temp, .. } => temp.take(),
            Host::InProcess { .. } => panic!("this test needs eddy as a process: Eddy::process()"),
        }
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "eddy-tests"))
            .load()
            .await
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        path_style_s3(&self.sdk_config().await)
    }

    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }

    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/000000000000/{name}", self.endpoint)
    }

    /// Runs the AWS CLI against this eddy.
    pub fn aws(&self, args: &[&str]) -> std::process::Output {
        Command::new("aws")
            .arg("--endpoint-url")
            .arg(&self.endpoint)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run the aws cli")
    }
}

impl Drop for Eddy {
    fn drop(&mut self) {
        if let Host::Process { child, .. } = &mut self.host {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `check` until it returns Some, or panics after `timeout`.
/// An S3 client for `shared`, addressing buckets in the path as eddy's tests do.
pub fn path_style_s3(shared: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(shared)
            .force_path_style(true)
            .build(),
    )
}

/// Resident memory of a process in KiB (`VmRSS`), 0 if it cannot be read.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads a whole object.
pub async fn get_bytes(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Option<(Vec<u8>, Option<String>)> {
    let output = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    let content_type = output.content_type().map(str::to_owned);
    let bytes = output.body.collect().await.ok()?.into_bytes().to_vec();
    Some((bytes, content_type))
}

/// A queue attribute as a number.
pub async fn queue_count(sqs: &aws_sdk_sqs::Client, url: &str, attribute: &str) -> u64 {
    let name = aws_sdk_sqs::types::QueueAttributeName::from(attribute);
    let output = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .expect("get queue attributes");
    output
        .attributes()
        .and_then(|a| a.get(&name))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Every message of a queue (visible, in flight, delayed), read in one request so the
/// three counts are one consistent snapshot.
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as Name;
    let output = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(Name::ApproximateNumberOfMessages)
        .attribute_names(Name::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(Name::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .expect("get queue attributes");
    let attributes = output.attributes().cloned().unwrap_or_default();
    [
        Name::ApproximateNumberOfMessages,
        Name::ApproximateNumberOfMessagesNotVisible,
        Name::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .map(|n| {
        attributes
            .get(n)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    })
    .sum()
}
