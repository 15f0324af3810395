//! Where faults on demand reach, beyond the HTTP requests of `fault_kinds`:
//! `sqs_latency` narrowed to one queue (by name or URL) delays only the calls that
//! address it; the S3 faults of a destination bucket reach the built-in copy function,
//! which writes through the store (its record fails and is retried, nothing is lost);
//! and `lambda_throttle` and a reserved concurrency of 0 throttle asynchronous
//! invocations (Invoke `Event`, S3 notifications to a function), which go back to the
//! queue and run later, counted in `eddy_lambda_throttles_total`.

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use crate::fault_kinds::{fault_kinds, injected, metric, nothing_lost, set_faults};
use crate::s3_lambda::{allow_s3, create_recorder_with};
use crate::util::ephemeral::{Ephemeral, call, put};

/// Puts `faults` (a JSON list) in force.
async fn force(eddy: &Ephemeral, faults: &str) {
    let (status, answer) = set_faults(eddy, faults).await;
    assert_eq!(status, 200, "{answer}");
}

/// `GET /_eddy/api/trace` of `bucket`/`key`.
async fn trace(eddy: &Ephemeral, bucket: &str, key: &str) -> serde_json::Value {
    let url = format!(
        "{}/_eddy/api/trace?bucket={bucket}&key={key}",
        eddy.endpoint()
    );
    let (status, body) = call("GET", &url, false).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("trace JSON")
}

/// The (step, detail) pairs of the first upload of a trace.
fn steps(trace: &serde_json::Value) -> Vec<(String, String, u64)> {
    trace["uploads"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap_or_default().to_owned(),
                s["detail"].as_str().unwrap_or_default().to_owned(),
                s["at_ms"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn sqs_latency_narrowed_to_a_queue_delays_only_the_calls_that_address_it() {
    let eddy = Ephemeral::start("");
    let sqs = eddy.sqs().await;
    let slow = crate::util::sqs::create(&sqs, "slow", &[]).await;
    let fast = crate::util::sqs::create(&sqs, "fast", &[]).await;
    // Narrowed by the queue's URL (a name works the same: see the crate's unit tests).
    force(
        &eddy,
        &format!(r#"[{{"kind": "sqs_latency", "queue": "{slow}", "latency_ms": 300}}]"#),
    )
    .await;
    for queue in [&fast, &slow] {
        sqs.send_message()
            .queue_url(queue)
            .message_body("m")
            .send()
            .await
            .expect("send");
    }
    sqs.list_queues().send().await.expect("list");
    sqs.get_queue_url()
        .queue_name("fast")
        .send()
        .await
        .expect("url");
    // One call to the slow queue so far: its SendMessage.
    assert_eq!(injected(&eddy, "sqs_latency").await, 1.0);

    let started = Instant::now();
    let received = sqs
        .receive_message()
        .queue_url(&slow)
        .send()
        .await
        .expect("receive");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    sqs.get_queue_url()
        .queue_name("slow")
        .send()
        .await
        .expect("url by name");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let handle = received.messages()[0].receipt_handle().expect("handle");
    sqs.delete_message()
        .queue_url(&slow)
        .receipt_handle(handle)
        .send()
        .await
        .expect("delete");
    let fast_messages = sqs
        .receive_message()
        .queue_url(&fast)
        .send()
        .await
        .expect("receive fast");
    assert_eq!(fast_messages.messages().len(), 1, "nothing lost");
    assert_eq!(injected(&eddy, "sqs_latency").await, 4.0);
}

#[tokio::test]
async fn s3_faults_of_the_destination_reach_the_built_in_copy_and_its_record_is_retried() {
    let eddy = Ephemeral::start(
        "visibility_timeout_seconds = 2\nfunction_timeout_seconds = 2\nmax_receive_count = 5\n",
    );
    let s3 = eddy.s3().await;
    force(
        &eddy,
        r#"[{"kind": "s3_latency", "bucket": "destination", "latency_ms": 300, "count": 1},
            {"kind": "s3_slow_down", "bucket": "destination", "count": 1},
            {"kind": "s3_internal_error", "bucket": "destination", "count": 1}]"#,
    )
    .await;
    put(&s3, "source", "reach.txt", "reach").await;
    nothing_lost(&eddy).await;
    for kind in ["s3_latency", "s3_slow_down", "s3_internal_error"] {
        assert_eq!(injected(&eddy, kind).await, 1.0, "{kind}");
    }
    let traced = trace(&eddy, "source", "reach.txt").await;
    assert_eq!(
        fault_kinds(&traced),
        ["s3_latency", "s3_slow_down", "s3_internal_error"],
        "{traced}"
    );
    let steps = steps(&traced);
    let named: Vec<(&str, &str)> = steps
        .iter()
        .map(|(s, d, _)| (s.as_str(), d.as_str()))
        .collect();
    assert_eq!(
        named[2..],
        [
            ("received", "eddy-copy (receive 1)"),
            ("failed", "reported in batchItemFailures"),
            ("received", "eddy-copy (receive 2)"),
            ("failed", "reported in batchItemFailures"),
            ("received", "eddy-copy (receive 3)"),
            ("copied", "to destination/reach.txt"),
        ],
        "{traced}"
    );
    // The latency held the first copy back before it failed.
    assert!(steps[3].2 - steps[2].2 >= 300, "{traced}");
    // The copy written is the object's.
    let copied = s3
        .get_object()
        .bucket("destination")
        .key("reach.txt")
        .send()
        .await
        .expect("copy");
    let body = copied.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"reach");
}

/// A Lambda client without SDK retries (a throttle reaches the test as it is).
pub(crate) async fn lambda_without_retries(eddy: &Ephemeral) -> aws_sdk_lambda::Client {
    let shared = eddy.sdk_config().await;
    aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&shared)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build(),
    )
}

/// A Lambda client without SDK retries, and the function `recorder`, which appends
/// each event it gets to `out` (one JSON line).
async fn recorder(eddy: &Ephemeral, out: &Path) -> aws_sdk_lambda::Client {
    let lambda = lambda_without_retries(eddy).await;
    create_recorder_with(&lambda, out, 0).await;
    lambda
}

fn recorded(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("event JSON"))
        .collect()
}

async fn throttles(eddy: &Ephemeral) -> Option<f64> {
    metric(eddy, "eddy_lambda_throttles_total{function=\"recorder\"}").await
}

async fn invoke_event(lambda: &aws_sdk_lambda::Client, payload: &str) {
    let accepted = lambda
        .invoke()
        .function_name("recorder")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(payload))
        .send()
        .await
        .expect("invoke event");
    assert_eq!(accepted.status_code(), 202);
}

#[tokio::test]
async fn a_throttled_event_invocation_goes_back_to_the_queue_and_runs_once() {
    let out = tempfile::tempdir().expect("out dir");
    let events = out.path().join("events");
    let eddy = Ephemeral::start("");
    let lambda = recorder(&eddy, &events).await;
    force(
        &eddy,
        r#"[{"kind": "lambda_throttle", "function": "recorder", "count": 2}]"#,
    )
    .await;
    let started = Instant::now();
    invoke_event(&lambda, r#"{"n": 1}"#).await;
    let (status, answer) = eddy.idle(20.0).await;
    assert_eq!(status, 200, "{answer}");
    // Two throttles, then the one run: the back-offs are 1 s and 1 s.
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(recorded(&events), [serde_json::json!({"n": 1})]);
    assert_eq!(injected(&eddy, "lambda_throttle").await, 2.0);
    assert_eq!(throttles(&eddy).await, Some(2.0));
}

#[tokio::test]
async fn a_throttled_s3_notification_to_a_function_is_retried_and_traced() {
    use aws_sdk_s3::types::{Event, LambdaFunctionConfiguration, NotificationConfiguration};
    let out = tempfile::tempdir().expect("out dir");
    let events = out.path().join("events");
    let eddy = Ephemeral::start("");
    let lambda = recorder(&eddy, &events).await;
    allow_s3(&lambda, "uploads").await;
    let s3 = eddy.s3().await;
    s3.create_bucket()
        .bucket("uploads")
        .send()
        .await
        .expect("bucket");
    let to_function = LambdaFunctionConfiguration::builder()
        .lambda_function_arn("arn:aws:lambda:us-east-1:000000000000:function:recorder")
        .events(Event::S3ObjectCreated)
        .build()
        .expect("configuration");
    s3.put_bucket_notification_configuration()
        .bucket("uploads")
        .notification_configuration(
            NotificationConfiguration::builder()
                .lambda_function_configurations(to_function)
                .build(),
        )
        .send()
        .await
        .expect("notification");
    force(
        &eddy,
        r#"[{"kind": "lambda_throttle", "function": "recorder", "count": 1}]"#,
    )
    .await;
    put(&s3, "uploads", "a.txt", "a").await;
    let (status, answer) = eddy.idle(20.0).await;
    assert_eq!(status, 200, "{answer}");
    let got = recorded(&events);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["Records"][0]["s3"]["object"]["key"], "a.txt");
    assert_eq!(throttles(&eddy).await, Some(1.0));
    let traced = trace(&eddy, "uploads", "a.txt").await;
    assert_eq!(fault_kinds(&traced), ["lambda_throttle"], "{traced}");
    assert_eq!(
        traced["faults"][0]["detail"],
        "the invocation of recorder was throttled before its handler ran"
    );
}

#[tokio::test]
async fn a_reserved_concurrency_of_zero_holds_event_invocations_until_it_is_lifted() {
    let out = tempfile::tempdir().expect("out dir");
    let events = out.path().join("events");
    let eddy = Ephemeral::start("");
    let lambda = recorder(&eddy, &events).await;
    lambda
        .put_function_concurrency()
        .function_name("recorder")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .expect("reserve 0");
    // Synchronous: refused at once. Asynchronous: accepted, and held.
    let refused = lambda
        .invoke()
        .function_name("recorder")
        .send()
        .await
        .expect_err("throttled")
        .into_service_error();
    assert!(refused.is_too_many_requests_exception(), "{refused:?}");
    invoke_event(&lambda, r#"{"n": 2}"#).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while throttles(&eddy).await < Some(2.0) {
        assert!(Instant::now() < deadline, "the event is never throttled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, pending) = eddy.idle(0.0).await;
    assert_eq!(status, 408, "the held event is pending: {pending}");
    assert!(recorded(&events).is_empty());
    lambda
        .delete_function_concurrency()
        .function_name("recorder")
        .send()
        .await
        .expect("lift");
    let (status, answer) = eddy.idle(20.0).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(recorded(&events), [serde_json::json!({"n": 2})]);
}
