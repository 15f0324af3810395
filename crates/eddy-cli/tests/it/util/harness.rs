//! Test harness: starts the real `eddy` binary on a free port with a fresh data
//! directory, and builds AWS SDK clients pointed at it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;

/// A running `eddy up`; killed when dropped.
pub struct Eddy {
    pub child: Child,
    pub endpoint: String,
    pub data_dir: PathBuf,
    temp: Option<tempfile::TempDir>,
    log: PathBuf,
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
    pub fn start() -> Self {
        Self::start_with(EddyOptions::default())
    }

    pub fn start_with_config(config: &str) -> Self {
        Self::start_with(EddyOptions {
            config: config.to_owned(),
            data_dir: None,
        })
    }

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
            child,
            endpoint,
            data_dir,
            temp,
            log,
        }
    }

    /// What eddy logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
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
        self.temp.take()
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
        let _ = self.child.kill();
        let _ = self.child.wait();
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
