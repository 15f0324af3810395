//! `eddy worker`, the copy function as a long-running SQS consumer, passing the same
//! end-to-end scenario against eddy and against `moto_server` (an S3 and SQS emulator
//! written by others), and stopping cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::harness::{Eddy, eventually, get_bytes, queue_count};
use crate::util::pipeline::{Pipeline, create_pipeline, run_scenario};
use aws_credential_types::Credentials;
use aws_sdk_s3::primitives::ByteStream;

/// A running `eddy worker`; killed when dropped.
struct Worker {
    child: Child,
    log: std::path::PathBuf,
}

impl Worker {
    fn start(endpoint: &str, queue_url: &str, dir: &Path) -> Self {
        let log = dir.join("worker.log");
        let log_file = std::fs::File::create(&log).expect("worker log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_eddy"))
            .args([
                "worker",
                "--queue-url",
                queue_url,
                "--destination-bucket",
                "wdest",
            ])
            .args([
                "--destination-prefix",
                "copied/",
                "--endpoint-url",
                endpoint,
                "--concurrency",
                "3",
            ])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("EDDY_LOG", "info")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("start eddy worker");
        let mut line = String::new();
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        reader.read_line(&mut line).expect("ready line");
        assert!(
            line.starts_with("eddy worker ready"),
            "no ready line: {line:?}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        Worker { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit code (panics after 15 s).
    fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "the worker did not stop within 15 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("worker log:\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `moto_server` on a free port; killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = match Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                eprintln!(
                    "skipped: moto_server cannot start ({error}); pip install 'moto[server]'"
                );
                return None;
            }
        };
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    async fn clients(&self) -> (aws_sdk_s3::Client, aws_sdk_sqs::Client) {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .load()
            .await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        (s3, aws_sdk_sqs::Client::new(&config))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn scenario_with_worker(
    endpoint: &str,
    s3: &aws_sdk_s3::Client,
    sqs: &aws_sdk_sqs::Client,
    honours_copy_source_if_match: bool,
) {
    let (queue_url, dlq_url) = create_pipeline(
        s3,
        sqs,
        &["wsource", "wdest", "wside"],
        "wsource",
        "worker-events",
        3,
        1,
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut worker = Worker::start(endpoint, &queue_url, dir.path());
    run_scenario(&Pipeline {
        s3,
        sqs,
        source_bucket: "wsource",
        destination_bucket: "wdest",
        destination_prefix: "copied/",
        queue_url: &queue_url,
        dlq_url: &dlq_url,
        max_receive_count: 3,
        side_bucket: "wside",
        region: "us-east-1",
        honours_copy_source_if_match,
    })
    .await;
    assert_eq!(worker.terminate(), Some(0), "{}", worker.log());
    let reported = worker
        .log()
        .contains("the store ignored x-amz-copy-source-if-match");
    assert_eq!(
        reported,
        !honours_copy_source_if_match,
        "a store that ignores the copy condition is reported, and only such a store:\n{}",
        worker.log()
    );
}

#[tokio::test]
async fn worker_against_eddy_passes_the_scenario() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    scenario_with_worker(&eddy.endpoint, &s3, &sqs, true).await;
}

#[tokio::test]
async fn worker_against_moto_server_passes_the_scenario() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let (s3, sqs) = moto.clients().await;
    // moto_server 5.2 ignores x-amz-copy-source-if-match on CopyObject.
    scenario_with_worker(&moto.endpoint, &s3, &sqs, false).await;
}

#[tokio::test]
async fn sigterm_finishes_in_flight_work_and_deletes_nothing_unprocessed() {
    let eddy = Eddy::process();
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let (queue_url, dlq_url) = create_pipeline(
        &s3,
        &sqs,
        &["wsource", "wdest"],
        "wsource",
        "worker-events",
        3,
        30,
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut worker = Worker::start(&eddy.endpoint, &queue_url, dir.path());
    let keys: Vec<String> = (0..40).map(|i| format!("burst/file-{i}.txt")).collect();
    for key in &keys {
        s3.put_object()
            .bucket("wsource")
            .key(key)
            .body(ByteStream::from(key.clone().into_bytes()))
            .send()
            .await
            .expect("upload");
    }
    eventually(Duration::from_secs(10), "a first copy", || {
        get_bytes(&s3, "wdest", "copied/burst/file-0.txt")
    })
    .await;
    let started = Instant::now();
    assert_eq!(worker.terminate(), Some(0), "{}", worker.log());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown waits for in-flight work only, not a 20 s long poll"
    );
    // Every upload is either copied, or its event is still queued (none is lost).
    let mut copied = 0;
    for key in &keys {
        if get_bytes(&s3, "wdest", &format!("copied/{key}"))
            .await
            .is_some()
        {
            copied += 1;
        }
    }
    let queued = queue_count(&sqs, &queue_url, "ApproximateNumberOfMessages").await
        + queue_count(&sqs, &queue_url, "ApproximateNumberOfMessagesNotVisible").await;
    assert!(
        copied as u64 + queued >= keys.len() as u64,
        "copied {copied}, queued {queued}"
    );
    assert_eq!(
        queue_count(&sqs, &dlq_url, "ApproximateNumberOfMessages").await,
        0
    );
    assert!(worker.log().contains("stopped"), "{}", worker.log());
}

/// A TCP proxy in front of eddy that holds every request starting with `PUT ` (the
/// worker's CopyObject; its SQS calls are POSTs) for `delay` before passing it on: a
/// copy that outlasts the visibility timeout, with the real worker and the real eddy.
async fn slow_copy_proxy(upstream: &str, delay: Duration) -> String {
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let address = listener.local_addr().expect("proxy address");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let requests = async move {
                    let mut buffer = vec![0u8; 64 * 1024];
                    loop {
                        let n = match client_read.read(&mut buffer).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if buffer[..n].starts_with(b"PUT ") {
                            tokio::time::sleep(delay).await;
                        }
                        if server_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let responses = async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                };
                tokio::join!(requests, responses);
            });
        }
    });
    format!("http://{address}")
}

// The proxy runs on the runtime while the test blocks on the worker process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_keeps_a_long_copy_invisible_past_the_visibility_timeout() {
    let eddy = Eddy::process();
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    // Visibility 1 s and maxReceiveCount 1: a second receive would dead-letter it.
    let (queue_url, dlq_url) = create_pipeline(
        &s3,
        &sqs,
        &["wsource", "wdest"],
        "wsource",
        "worker-events",
        1,
        1,
    )
    .await;
    let proxy = slow_copy_proxy(&eddy.endpoint, Duration::from_millis(3500)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut worker = Worker::start(&proxy, &queue_url, dir.path());
    s3.put_object()
        .bucket("wsource")
        .key("slow/copy.txt")
        .body(ByteStream::from_static(b"slow"))
        .send()
        .await
        .expect("upload");
    let (bytes, _) = eventually(Duration::from_secs(20), "the slow copy", || {
        get_bytes(&s3, "wdest", "copied/slow/copy.txt")
    })
    .await;
    assert_eq!(bytes, b"slow");
    crate::util::pipeline::wait_until_empty(&sqs, &queue_url, Duration::from_secs(10)).await;
    assert_eq!(
        queue_count(&sqs, &dlq_url, "ApproximateNumberOfMessages").await,
        0,
        "the message was received again while its copy ran:\n{}",
        worker.log()
    );
    assert_eq!(worker.terminate(), Some(0));
}

// The proxy runs on the runtime while the test blocks on the worker process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_waits_for_the_copy_in_hand_and_deletes_its_message() {
    let eddy = Eddy::process();
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let (queue_url, _) = create_pipeline(
        &s3,
        &sqs,
        &["wsource", "wdest"],
        "wsource",
        "worker-events",
        3,
        30,
    )
    .await;
    let proxy = slow_copy_proxy(&eddy.endpoint, Duration::from_millis(2000)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut worker = Worker::start(&proxy, &queue_url, dir.path());
    s3.put_object()
        .bucket("wsource")
        .key("in-hand.txt")
        .body(ByteStream::from_static(b"in hand"))
        .send()
        .await
        .expect("upload");
    // The test event and the upload's event are received; the copy is being held.
    eventually(
        Duration::from_secs(10),
        "the upload's event in flight",
        || async {
            let visible = queue_count(&sqs, &queue_url, "ApproximateNumberOfMessages").await;
            let hidden =
                queue_count(&sqs, &queue_url, "ApproximateNumberOfMessagesNotVisible").await;
            (visible == 0 && hidden >= 1).then_some(())
        },
    )
    .await;
    assert!(
        get_bytes(&s3, "wdest", "copied/in-hand.txt")
            .await
            .is_none(),
        "the copy is still held"
    );
    assert_eq!(worker.terminate(), Some(0), "{}", worker.log());
    // It finished the copy and deleted the message before exiting.
    assert!(
        get_bytes(&s3, "wdest", "copied/in-hand.txt")
            .await
            .is_some(),
        "{}",
        worker.log()
    );
    let visible = queue_count(&sqs, &queue_url, "ApproximateNumberOfMessages").await;
    let hidden = queue_count(&sqs, &queue_url, "ApproximateNumberOfMessagesNotVisible").await;
    assert_eq!(visible + hidden, 0, "the processed message was deleted");
}

#[tokio::test]
async fn a_queue_that_does_not_exist_stops_the_worker_with_its_url() {
    let eddy = Eddy::start();
    let url = eddy.queue_url("no-such-queue");
    let output = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args([
            "worker",
            "--queue-url",
            &url,
            "--destination-bucket",
            "destination",
        ])
        .args(["--endpoint-url", &eddy.endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run eddy worker");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&url), "{stderr}");
    assert!(
        stderr.contains("NonExistentQueue") || stderr.contains("QueueDoesNotExist"),
        "{stderr}"
    );
}
