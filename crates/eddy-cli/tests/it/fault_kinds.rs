//! Every kind of fault on demand (`eddy_faults`), injected as a test suite would (from
//! `eddy.toml` or `POST /_eddy/api/faults`), observed by a client or by the pipeline's
//! function, counted in `/_eddy/metrics`, shown in the trace of the file, and with
//! nothing lost: after `wait --idle` every stored object has its copy (a duplicate is a
//! second copy of the same object, not a loss).

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;

use crate::util::ephemeral::{Ephemeral, binary, call, keys, put, send};

/// `POST /_eddy/api/faults` with `faults` (a JSON list); returns the status and answer.
pub(crate) async fn set_faults(eddy: &Ephemeral, faults: &str) -> (u16, serde_json::Value) {
    post_faults(eddy, &format!("{{\"faults\": {faults}}}")).await
}

/// `POST /_eddy/api/faults` with `body`; returns the status and the JSON answer.
pub(crate) async fn post_faults(eddy: &Ephemeral, body: &str) -> (u16, serde_json::Value) {
    let url = format!("{}/_eddy/api/faults", eddy.endpoint());
    let (status, text) = send("POST", &url, true, body).await;
    (status, serde_json::from_str(&text).expect("faults JSON"))
}

/// The value of one series of `/_eddy/metrics`.
pub(crate) async fn metric(eddy: &Ephemeral, series: &str) -> Option<f64> {
    let (status, text) = call("GET", &format!("{}/_eddy/metrics", eddy.endpoint()), false).await;
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

pub(crate) async fn injected(eddy: &Ephemeral, kind: &str) -> f64 {
    metric(
        eddy,
        &format!("eddy_faults_injected_total{{kind=\"{kind}\"}}"),
    )
    .await
    .unwrap_or_else(|| panic!("no series for {kind}"))
}

/// `GET /_eddy/api/trace` of `source`/`key`.
async fn trace(eddy: &Ephemeral, key: &str) -> serde_json::Value {
    let (status, body) = call(
        "GET",
        &format!(
            "{}/_eddy/api/trace?bucket=source&key={key}",
            eddy.endpoint()
        ),
        false,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("trace JSON")
}

pub(crate) fn fault_kinds(trace: &serde_json::Value) -> Vec<String> {
    trace["faults"]
        .as_array()
        .map(|faults| {
            faults
                .iter()
                .filter_map(|f| f["kind"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until idle, then checks that every object of `source` has its copy.
pub(crate) async fn nothing_lost(eddy: &Ephemeral) {
    let (status, answer) = eddy.idle(20.0).await;
    assert_eq!(status, 200, "{answer}");
    let s3 = eddy.s3().await;
    let mut stored = keys(&s3, "source").await;
    let mut copied = keys(&s3, "destination").await;
    stored.sort();
    copied.sort();
    assert!(!stored.is_empty());
    assert_eq!(copied, stored, "an object of source has no copy");
}

#[tokio::test]
async fn every_kind_is_counted_from_zero_and_bad_faults_are_refused() {
    let eddy = Ephemeral::start("");
    for kind in [
        "s3_event_duplicate",
        "s3_event_delay",
        "sqs_early_redelivery",
        "lambda_throttle",
        "s3_slow_down",
        "s3_internal_error",
        "s3_latency",
        "sqs_latency",
    ] {
        assert_eq!(injected(&eddy, kind).await, 0.0, "{kind}");
    }
    let (status, answer) = set_faults(&eddy, r#"[{"kind": "s3_event_delay"}]"#).await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"],
        "fault s3_event_delay needs `delay_seconds`: how late the event arrives, 1 to 900"
    );
    let (status, answer) =
        set_faults(&eddy, r#"[{"kind": "lambda_throttle", "queue": "q"}]"#).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "fault lambda_throttle takes no `queue`");
    // Set, listed, cleared with DELETE.
    let (status, answer) = set_faults(
        &eddy,
        r#"[{"kind": "sqs_latency", "latency_ms": 5, "count": 3}]"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["faults"][0]["kind"], "sqs_latency");
    assert_eq!(answer["faults"][0]["injected"], 0);
    let (status, cleared) = call(
        "DELETE",
        &format!("{}/_eddy/api/faults", eddy.endpoint()),
        true,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(cleared, r#"{"faults":[]}"#);
}

#[tokio::test]
async fn a_bad_faults_table_in_eddy_toml_stops_eddy_with_its_name() {
    let work = tempfile::tempdir().expect("temp dir");
    let config = work.path().join("eddy.toml");
    std::fs::write(&config, "[faults.s3_slow_down]\ncount = 1\n").expect("config");
    let output = std::process::Command::new(binary())
        .args(["up", "--ephemeral", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .output()
        .expect("run eddy");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "[faults.s3_slow_down]: fault s3_slow_down needs `bucket`: the bucket whose writes fail"
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_duplicated_event_reaches_a_client_twice_and_the_pipeline_copies_it() {
    let eddy = Ephemeral::start("");
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    // A bucket of the test's own, whose events a client receives.
    s3.create_bucket()
        .bucket("watched")
        .send()
        .await
        .expect("bucket");
    let queue_url = crate::util::sqs::create(&sqs, "watch", &[]).await;
    let queue_config = aws_sdk_s3::types::QueueConfiguration::builder()
        .queue_arn("arn:aws:sqs:us-east-1:000000000000:watch")
        .events(aws_sdk_s3::types::Event::S3ObjectCreated)
        .build()
        .expect("queue configuration");
    s3.put_bucket_notification_configuration()
        .bucket("watched")
        .notification_configuration(
            aws_sdk_s3::types::NotificationConfiguration::builder()
                .queue_configurations(queue_config)
                .build(),
        )
        .send()
        .await
        .expect("notification");
    let (status, answer) =
        set_faults(&eddy, r#"[{"kind": "s3_event_duplicate", "count": 2}]"#).await;
    assert_eq!(status, 200, "{answer}");

    put(&s3, "watched", "w.txt", "watched").await;
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while events.len() < 2 && Instant::now() < deadline {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for message in received.messages() {
            let body = message.body().unwrap_or_default().to_owned();
            if !body.contains("s3:TestEvent") {
                events.push((message.message_id().unwrap_or_default().to_owned(), body));
            }
        }
    }
    assert_eq!(events.len(), 2, "{events:?}");
    assert_ne!(events[0].0, events[1].0, "two messages");
    assert_eq!(events[0].1, events[1].1, "the same event twice");

    put(&s3, "source", "dup.txt", "twice").await;
    nothing_lost(&eddy).await;
    assert_eq!(injected(&eddy, "s3_event_duplicate").await, 2.0);
    let sent = metric(
        &eddy,
        "eddy_sqs_number_of_messages_sent_total{queue=\"file-events\"}",
    )
    .await;
    assert_eq!(sent, Some(2.0));
    let traced = trace(&eddy, "dup.txt").await;
    assert_eq!(fault_kinds(&traced), ["s3_event_duplicate"], "{traced}");
    assert!(
        traced["summary"].as_str().is_some_and(
            |s| s.starts_with("copied") && s.ends_with("(faults injected: s3_event_duplicate)")
        ),
        "{traced}"
    );
}

#[tokio::test]
async fn a_delayed_event_arrives_late_and_idle_waits_for_it() {
    let eddy = Ephemeral::start("");
    let s3 = eddy.s3().await;
    let (status, answer) = set_faults(
        &eddy,
        r#"[{"kind": "s3_event_delay", "bucket": "source", "delay_seconds": 1}]"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let started = Instant::now();
    put(&s3, "source", "late.txt", "late").await;
    // Not yet: the event waits, delayed, in the queue.
    let (status, pending) = eddy.idle(0.0).await;
    assert_eq!(status, 408, "{pending}");
    assert_eq!(pending["pending"]["queues"][0]["delayed"], 1, "{pending}");
    assert!(keys(&s3, "destination").await.is_empty());
    nothing_lost(&eddy).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(injected(&eddy, "s3_event_delay").await, 1.0);
    let traced = trace(&eddy, "late.txt").await;
    assert_eq!(fault_kinds(&traced), ["s3_event_delay"], "{traced}");
    assert_eq!(
        traced["faults"][0]["detail"],
        "the event reaches file-events 1 s late"
    );
}

#[tokio::test]
async fn an_early_redelivery_hands_a_message_out_again_within_its_visibility_timeout() {
    let eddy = Ephemeral::start("");
    let sqs = eddy.sqs().await;
    let queue_url = sqs
        .create_queue()
        .queue_name("work")
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .expect("queue")
        .queue_url()
        .expect("url")
        .to_owned();
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("job")
        .send()
        .await
        .expect("send");
    let (status, answer) = set_faults(
        &eddy,
        r#"[{"kind": "sqs_early_redelivery", "queue": "work", "count": 1}]"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let receive = || async {
        sqs.receive_message()
            .queue_url(&queue_url)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            .send()
            .await
            .expect("receive")
            .messages()
            .to_vec()
    };
    let first = receive().await;
    let second = receive().await;
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 1, "redelivered before its visibility timeout");
    assert_eq!(first[0].message_id(), second[0].message_id());
    let count = |m: &aws_sdk_sqs::types::Message| {
        m.attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
            })
            .cloned()
    };
    assert_eq!(count(&second[0]).as_deref(), Some("2"));
    // The count is used up: the third receive finds it in flight.
    assert!(receive().await.is_empty());
    sqs.delete_message()
        .queue_url(&queue_url)
        .receipt_handle(second[0].receipt_handle().expect("handle"))
        .send()
        .await
        .expect("delete");

    // In the pipeline: the function may get the event twice, and the copy is there.
    set_faults(
        &eddy,
        r#"[{"kind": "sqs_early_redelivery", "queue": "file-events", "count": 1}]"#,
    )
    .await;
    let s3 = eddy.s3().await;
    put(&s3, "source", "again.txt", "again").await;
    nothing_lost(&eddy).await;
    assert_eq!(injected(&eddy, "sqs_early_redelivery").await, 2.0);
    let traced = trace(&eddy, "again.txt").await;
    assert_eq!(fault_kinds(&traced), ["sqs_early_redelivery"], "{traced}");
}

#[tokio::test]
async fn a_throttle_from_eddy_toml_fails_the_batch_before_the_handler_and_it_comes_back() {
    let eddy = Ephemeral::start(
        "visibility_timeout_seconds = 1\nfunction_timeout_seconds = 1\n\n[faults.lambda_throttle]\nfunction = \"eddy-copy\"\ncount = 1\n",
    );
    // The first batch is the s3:TestEvent of the start-up's notification configuration:
    // it meets the throttle, comes back after its visibility timeout, and succeeds.
    let (status, answer) = eddy.idle(20.0).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(injected(&eddy, "lambda_throttle").await, 1.0);
    // A reset brings the configured fault back, from its start.
    eddy.reset().await;
    let listed: serde_json::Value = serde_json::from_str(
        &call(
            "GET",
            &format!("{}/_eddy/api/faults", eddy.endpoint()),
            false,
        )
        .await
        .1,
    )
    .expect("JSON");
    assert_eq!(listed["faults"][0]["kind"], "lambda_throttle");
    assert_eq!(listed["faults"][0]["injected"], 0);
    let s3 = eddy.s3().await;
    put(&s3, "source", "throttled.txt", "t").await;
    nothing_lost(&eddy).await;
    assert_eq!(injected(&eddy, "lambda_throttle").await, 2.0);
    let traced = trace(&eddy, "throttled.txt").await;
    assert_eq!(fault_kinds(&traced), ["lambda_throttle"], "{traced}");
    let steps: Vec<(&str, &str)> = traced["uploads"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap_or_default(),
                s["detail"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        steps[2..],
        [
            ("received", "eddy-copy (receive 1)"),
            (
                "failed",
                "throttled before the handler ran (a fault on demand)"
            ),
            ("received", "eddy-copy (receive 2)"),
            ("copied", "to destination/throttled.txt"),
        ],
        "{traced}"
    );
}

#[tokio::test]
async fn latency_slows_s3_and_sqs_calls_and_shows_in_the_trace() {
    let eddy = Ephemeral::start("");
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let (status, answer) = set_faults(
        &eddy,
        r#"[{"kind": "s3_latency", "bucket": "source", "latency_ms": 300, "count": 1},
            {"kind": "sqs_latency", "latency_ms": 300, "count": 1}]"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let started = Instant::now();
    put(&s3, "source", "slow.txt", "slow").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    sqs.list_queues().send().await.expect("list queues");
    assert!(started.elapsed() >= Duration::from_millis(300));
    nothing_lost(&eddy).await;
    assert_eq!(injected(&eddy, "s3_latency").await, 1.0);
    assert_eq!(injected(&eddy, "sqs_latency").await, 1.0);
    let traced = trace(&eddy, "slow.txt").await;
    assert_eq!(fault_kinds(&traced), ["s3_latency"], "{traced}");
}

#[tokio::test]
async fn a_throttle_answers_a_synchronous_invoke_with_429() {
    use crate::util::lambda::CreatePython as _;
    use aws_sdk_lambda::primitives::Blob;
    let eddy = Ephemeral::start("");
    let lambda = crate::fault_reach::lambda_without_retries(&eddy).await;
    lambda
        .create_python("echo", "def handler(event, context):\n    return event\n")
        .send()
        .await
        .expect("create function");
    let (status, answer) = set_faults(
        &eddy,
        r#"[{"kind": "lambda_throttle", "function": "echo", "count": 1}]"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let invoke = || {
        lambda
            .invoke()
            .function_name("echo")
            .payload(Blob::new(r#"{"n": 1}"#))
            .send()
    };
    let error = invoke().await.expect_err("throttled");
    let error = error.into_service_error();
    assert!(error.is_too_many_requests_exception(), "{error:?}");
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::message(&error),
        Some("Rate Exceeded.")
    );
    let output = invoke().await.expect("the count is used up");
    assert_eq!(output.status_code(), 200);
    assert_eq!(injected(&eddy, "lambda_throttle").await, 1.0);
}
