//! Seeing into eddy from a test suite: the trace of one file (`GET /_eddy/api/trace`,
//! `eddy trace`) and faults on demand (`POST /_eddy/api/faults`), against an
//! `eddy up --ephemeral` (see `test_suite`).

use aws_sdk_s3::primitives::ByteStream;

use crate::fault_kinds::post_faults;
use crate::util::ephemeral::{Ephemeral, call, keys, put};

/// `GET /_eddy/api/trace` for `bucket`/`key`.
async fn trace(eddy: &Ephemeral, bucket: &str, key: &str) -> serde_json::Value {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("bucket", bucket)
        .append_pair("key", key)
        .finish();
    let (status, body) = call(
        "GET",
        &format!("{}/_eddy/api/trace?{query}", eddy.endpoint()),
        false,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("trace JSON")
}

fn step_names(upload: &serde_json::Value) -> Vec<String> {
    upload["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter_map(|s| s["step"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn trace_explains_a_filtered_out_upload_and_follows_a_copied_one() {
    let eddy = Ephemeral::start("notification_filter_suffix = \".txt\"\n");
    let s3 = eddy.s3().await;
    put(&s3, "source", "photos/cat.jpg", "meow").await;
    put(&s3, "source", "notes/a b.txt", "text").await;
    assert_eq!(eddy.idle(10.0).await.0, 200);

    let filtered = trace(&eddy, "source", "photos/cat.jpg").await;
    let summary = filtered["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("no notification configuration"),
        "{filtered}"
    );
    assert!(summary.contains("suffix filter \".txt\""), "{filtered}");
    assert_eq!(
        filtered["configurations"][0]["matched"], false,
        "{filtered}"
    );
    assert_eq!(filtered["object"]["size"], 4);
    // It raised no event, so no pipeline step follows it (the journeys are of files
    // that raised one).
    assert_eq!(filtered["uploads"], serde_json::json!([]), "{filtered}");

    let copied = trace(&eddy, "source", "notes/a b.txt").await;
    assert_eq!(copied["configurations"][0]["matched"], true, "{copied}");
    assert_eq!(
        step_names(&copied["uploads"][0]),
        ["uploaded", "enqueued", "received", "copied"],
        "{copied}"
    );
    assert!(
        copied["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("copied")),
        "{copied}"
    );

    let nothing = trace(&eddy, "no-such-bucket", "k").await;
    assert_eq!(nothing["summary"], "bucket no-such-bucket does not exist");

    // The CLI prints the summary first.
    let output = eddy.cli(&["trace", "s3://source/photos/cat.jpg"]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("s3://source/photos/cat.jpg: no notification configuration"),
        "{stdout}"
    );
}

#[tokio::test]
async fn trace_follows_a_failing_file_into_the_dead_letter_queue() {
    let eddy = Ephemeral::start(
        "visibility_timeout_seconds = 1\nfunction_timeout_seconds = 1\nmax_receive_count = 1\n",
    );
    let s3 = eddy.s3().await;
    // With the destination bucket gone, every copy fails.
    s3.delete_bucket()
        .bucket("destination")
        .send()
        .await
        .expect("delete bucket");
    put(&s3, "source", "doomed.txt", "x").await;
    let (status, answer) = eddy.idle(10.0).await;
    assert_eq!(status, 200, "{answer}");
    let traced = trace(&eddy, "source", "doomed.txt").await;
    assert!(
        traced["summary"]
            .as_str()
            .is_some_and(|s| s.contains("dead-letter queue file-events-dlq")),
        "{traced}"
    );
    let steps = step_names(&traced["uploads"][0]);
    assert!(steps.contains(&"failed".to_owned()), "{traced}");
    let message = &traced["messages"][0];
    assert_eq!(message["queue"], "file-events-dlq", "{traced}");
    assert_eq!(message["dead_letter"], true, "{traced}");
}

/// Puts `n` keys `prefix{i}` with a client that does not retry; returns which failed,
/// with their error codes.
async fn put_without_retries(
    s3: &aws_sdk_s3::Client,
    prefix: &str,
    n: usize,
) -> Vec<Option<String>> {
    let mut outcomes = Vec::new();
    for i in 0..n {
        let result = s3
            .put_object()
            .bucket("source")
            .key(format!("{prefix}{i}.txt"))
            .body(ByteStream::from_static(b"payload"))
            .send()
            .await;
        outcomes.push(result.err().map(|e| {
            e.into_service_error()
                .meta()
                .code()
                .unwrap_or("?")
                .to_owned()
        }));
    }
    outcomes
}

#[tokio::test]
async fn s3_write_faults_on_demand_are_reproducible_counted_and_lose_nothing() {
    let eddy = Ephemeral::start("");
    let shared = eddy.sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build(),
    );
    let (status, answer) = post_faults(
        &eddy,
        r#"{"faults": [{"kind": "s3_slow_down", "bucket": "source", "count": 2}]}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let outcomes = put_without_retries(&s3, "count/", 4).await;
    assert_eq!(
        outcomes,
        [
            Some("SlowDown".to_owned()),
            Some("SlowDown".to_owned()),
            None,
            None
        ]
    );
    // Reads are never refused; the failed writes stored nothing.
    assert_eq!(keys(&s3, "source").await, ["count/2.txt", "count/3.txt"]);

    // A probability with a seed fails the same requests in every run.
    let seeded = r#"{"faults": [{"kind": "s3_internal_error", "bucket": "source", "probability": 0.5, "seed": 7}]}"#;
    post_faults(&eddy, seeded).await;
    let first = put_without_retries(&s3, "p/", 16).await;
    post_faults(&eddy, seeded).await;
    let second = put_without_retries(&s3, "q/", 16).await;
    assert_eq!(first, second);
    let failed = first.iter().flatten().count();
    assert!((2..=14).contains(&failed), "{first:?}");
    assert!(first.iter().flatten().all(|code| code == "InternalError"));

    // Counted, listed, and the pipeline copies exactly what was stored.
    let (status, text) = call("GET", &format!("{}/_eddy/metrics", eddy.endpoint()), false).await;
    assert_eq!(status, 200);
    let injected = format!(
        "eddy_faults_injected_total{{kind=\"s3_internal_error\"}} {}",
        failed * 2
    );
    assert!(text.lines().any(|l| l == injected), "{injected} missing");
    assert!(
        text.lines()
            .any(|l| l == "eddy_faults_injected_total{kind=\"s3_slow_down\"} 2")
    );
    let (status, listed) = call(
        "GET",
        &format!("{}/_eddy/api/faults", eddy.endpoint()),
        false,
    )
    .await;
    assert_eq!(status, 200);
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("JSON");
    assert_eq!(listed["faults"][0]["injected"], failed as u64);
    assert_eq!(eddy.idle(10.0).await.0, 200);
    let mut stored = keys(&s3, "source").await;
    let mut copied = keys(&s3, "destination").await;
    stored.sort();
    copied.sort();
    assert_eq!(stored.len(), 2 + 2 * (16 - failed));
    assert_eq!(copied, stored);

    // Bad faults are refused; a reset clears the faults in force.
    let (status, _) = post_faults(
        &eddy,
        r#"{"faults": [{"kind": "s3_slow_down", "bucket": "source", "probability": 2}]}"#,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post_faults(&eddy, r#"{"faults": [{"kind": "nope", "bucket": "b"}]}"#).await;
    assert_eq!(status, 400);
    eddy.reset().await;
    assert_eq!(
        put_without_retries(&s3, "after/", 3).await,
        [None, None, None]
    );
}
