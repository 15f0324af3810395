//! `eddy up --ephemeral` as a suite runs it: on a free port (`--listen 127.0.0.1:0`),
//! found through `--ready-file`, with its own metrics, reset and idle endpoints, killed
//! when dropped; and the few plain requests the tests of those endpoints make.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use http_body_util::BodyExt;

use crate::util::harness::path_style_s3;

/// The ready file `eddy up --ready-file` writes.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ReadyFile {
    pub(crate) endpoint: String,
    pub(crate) region: String,
    pub(crate) account_id: String,
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) data_dir: PathBuf,
    pub(crate) ephemeral: bool,
    pub(crate) fsync: bool,
}

/// A running `eddy up --ephemeral`; killed when dropped.
pub(crate) struct Ephemeral {
    pub(crate) child: Child,
    pub(crate) ready_line: String,
    pub(crate) ready: ReadyFile,
    pub(crate) ready_file: PathBuf,
    pub(crate) log: PathBuf,
    _work: tempfile::TempDir,
}

impl Ephemeral {
    pub(crate) fn start(config: &str) -> Self {
        let work = tempfile::tempdir().expect("temp dir");
        let config_path = work.path().join("eddy.toml");
        std::fs::write(&config_path, config).expect("config");
        let ready_file = work.path().join("ready.json");
        let log = work.path().join("eddy.log");
        let mut child = Command::new(binary())
            .args(["up", "--ephemeral", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config_path)
            .arg("--ready-file")
            .arg(&ready_file)
            .env("EDDY_LOG", "info")
            .env_remove("EDDY_DATA_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log).expect("log")))
            .spawn()
            .expect("start eddy");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut ready_line = String::new();
        reader.read_line(&mut ready_line).expect("ready line");
        assert!(
            ready_line.starts_with("eddy ready on http://"),
            "no ready line: {ready_line:?}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        // The file is written before the line is printed.
        let text = std::fs::read_to_string(&ready_file).expect("ready file");
        let ready: ReadyFile = serde_json::from_str(&text).expect("ready file JSON");
        Ephemeral {
            child,
            ready_line,
            ready,
            ready_file,
            log,
            _work: work,
        }
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.ready.endpoint
    }

    /// Where this eddy keeps its state.
    pub(crate) fn data_dir(&self) -> &std::path::Path {
        &self.ready.data_dir
    }

    pub(crate) async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(eddy_function::sdk_http::https_client())
            .endpoint_url(self.endpoint())
            .region(aws_config::Region::new(self.ready.region.clone()))
            .credentials_provider(Credentials::new(
                self.ready.access_key_id.clone(),
                self.ready.secret_access_key.clone(),
                None,
                None,
                "ready-file",
            ))
            .load()
            .await
    }

    pub(crate) async fn s3(&self) -> aws_sdk_s3::Client {
        path_style_s3(&self.sdk_config().await)
    }

    pub(crate) async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }

    pub(crate) fn queue_url(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.endpoint(), self.ready.account_id)
    }

    /// `POST /_eddy/api/reset`; returns the JSON answer.
    pub(crate) async fn reset(&self) -> serde_json::Value {
        let (status, body) = call(
            "POST",
            &format!("{}/_eddy/api/reset", self.endpoint()),
            true,
        )
        .await;
        assert_eq!(status, 200, "reset failed: {body}");
        serde_json::from_str(&body).expect("reset JSON")
    }

    /// `GET /_eddy/api/idle?timeout=SECONDS`; returns the status and the JSON answer.
    pub(crate) async fn idle(&self, timeout: f64) -> (u16, serde_json::Value) {
        let (status, body) = call(
            "GET",
            &format!("{}/_eddy/api/idle?timeout={timeout}", self.endpoint()),
            false,
        )
        .await;
        (status, serde_json::from_str(&body).expect("idle JSON"))
    }

    /// Runs the `eddy` CLI with `args` against this eddy.
    pub(crate) fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(binary())
            .args(args)
            .arg("--endpoint-url")
            .arg(self.endpoint())
            .output()
            .expect("run eddy")
    }

    pub(crate) fn terminate(&mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "eddy did not stop");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Ephemeral {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The eddy binary: this build's, or `$EDDY_BINARY` (e.g. a release build, for the
/// measurements).
pub(crate) fn binary() -> PathBuf {
    std::env::var_os("EDDY_BINARY")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_eddy")), PathBuf::from)
}

/// One HTTP request to eddy's pages; returns the status and the body.
pub(crate) async fn call(method: &str, url: &str, action: bool) -> (u16, String) {
    send(method, url, action, "").await
}

/// One HTTP request to eddy's pages with `body`; returns the status and the body.
/// `action` marks it as the dashboard's own (the header eddy's actions require).
pub(crate) async fn send(method: &str, url: &str, action: bool, body: &str) -> (u16, String) {
    let mut request = http::Request::builder().method(method).uri(url);
    if action {
        request = request.header("x-eddy-dashboard", "test");
    }
    let request = request
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .expect("request");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let response = client.request(request).await.expect("eddy answers");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

pub(crate) async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
}

pub(crate) async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list")
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}
