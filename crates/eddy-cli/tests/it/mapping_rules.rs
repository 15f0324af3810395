//! The event source mapping of `eddy up` against Lambda's rules, through a real external
//! function: a Python program speaking the Runtime API (tests/fixtures/scripted_runtime.py)
//! that answers as each test scripts it and logs every invocation.
//!
//! Partial batch responses (each rule), the batching window, MaximumConcurrency, the
//! function timeout, FilterCriteria, several mappings and functions, the Runtime API's
//! headers and environment, restarts of a dying process, and configuration errors.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::harness::{Eddy, eventually, queue_count};
use crate::util::pipeline::{
    deliveries_by_body, invocations, scripted_function, send_batch, wait_until_empty,
};

/// A fresh invocation log path and the temp dir that holds it.
fn log_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("invocations.jsonl");
    (dir, path)
}

/// eddy with the default mapping sending batches of up to 10 gathered for 1 s to the
/// scripted function in `mode`. The visibility timeout leaves room for starting the
/// function's process on a loaded machine.
fn eddy_with_mode(mode: &str, extra: &str, log: &std::path::Path) -> Eddy {
    Eddy::process_with_config(&format!(
        "visibility_timeout_seconds = 6\nmax_receive_count = 100\nbatch_size = 10\nmaximum_batching_window_seconds = 1\n{extra}\n{}",
        scripted_function("eddy-copy", mode, 1, log)
    ))
}

const BODIES: [&str; 3] = ["ok-1", "fail-2", "ok-3"];

/// Sends the three bodies as one batch and waits until the queue is empty.
async fn expect_full_success(mode: &str, extra: &str) {
    let (_dir, log) = log_file();
    let eddy = eddy_with_mode(mode, extra, &log);
    let sqs = eddy.sqs().await;
    let queue = eddy.queue_url("file-events");
    send_batch(&sqs, &queue, &BODIES).await;
    wait_until_empty(&sqs, &queue, Duration::from_secs(60)).await;
    let deliveries = deliveries_by_body(&log);
    for body in BODIES {
        assert_eq!(
            deliveries.get(body),
            Some(&1),
            "{mode}: {deliveries:?}\n{}",
            eddy.log()
        );
    }
}

/// Sends the three bodies as one batch; every one must come back (nothing deleted).
async fn expect_whole_batch_failure(mode: &str) {
    let (_dir, log) = log_file();
    let eddy = eddy_with_mode(mode, "", &log);
    let sqs = eddy.sqs().await;
    let queue = eddy.queue_url("file-events");
    send_batch(&sqs, &queue, &BODIES).await;
    eventually(
        Duration::from_secs(60),
        "every message delivered twice",
        || async {
            let deliveries = deliveries_by_body(&log);
            BODIES
                .iter()
                .all(|b| deliveries.get(*b).copied().unwrap_or(0) >= 2)
                .then_some(())
        },
    )
    .await;
    let first = &invocations(&log)[0];
    assert_eq!(first.bodies.len(), 3, "one batch of three: {first:?}");
    assert!(
        eddy.log().contains("batch failed; nothing deleted"),
        "{}",
        eddy.log()
    );
}

#[tokio::test]
async fn listed_failures_stay_and_the_rest_are_deleted() {
    let (_dir, log) = log_file();
    let eddy = eddy_with_mode("partial", "", &log);
    let sqs = eddy.sqs().await;
    let queue = eddy.queue_url("file-events");
    send_batch(&sqs, &queue, &BODIES).await;
    eventually(
        Duration::from_secs(60),
        "the failed message delivered three times",
        || async {
            (deliveries_by_body(&log).get("fail-2").copied().unwrap_or(0) >= 3).then_some(())
        },
    )
    .await;
    let deliveries = deliveries_by_body(&log);
    assert_eq!(deliveries.get("ok-1"), Some(&1), "{deliveries:?}");
    assert_eq!(deliveries.get("ok-3"), Some(&1), "{deliveries:?}");
    let all = invocations(&log);
    assert_eq!(
        all[0].bodies.len(),
        3,
        "the first batch has all three: {:?}",
        all[0]
    );
    let counts: Vec<u64> = all
        .iter()
        .filter(|i| i.bodies == ["fail-2"])
        .map(|i| i.receive_counts[0])
        .collect();
    assert_eq!(
        counts[..2],
        [2, 3],
        "a retried message's receive count goes up: {counts:?}"
    );
}

#[tokio::test]
async fn empty_object_is_full_success() {
    expect_full_success("empty-object", "").await;
}

#[tokio::test]
async fn null_is_full_success() {
    expect_full_success("null", "").await;
}

#[tokio::test]
async fn empty_body_is_full_success() {
    expect_full_success("empty-body", "").await;
}

#[tokio::test]
async fn empty_failure_list_is_full_success() {
    expect_full_success("empty-list", "").await;
}

#[tokio::test]
async fn without_report_batch_item_failures_the_response_is_ignored() {
    // Even an answer that would fail the batch with ReportBatchItemFailures.
    expect_full_success("unknown-id", "report_batch_item_failures = false").await;
}

#[tokio::test]
async fn an_empty_item_identifier_fails_the_whole_batch() {
    expect_whole_batch_failure("empty-id").await;
}

#[tokio::test]
async fn a_missing_item_identifier_fails_the_whole_batch() {
    expect_whole_batch_failure("missing-id").await;
}

#[tokio::test]
async fn an_id_not_in_the_batch_fails_the_whole_batch() {
    expect_whole_batch_failure("unknown-id").await;
}

#[tokio::test]
async fn a_malformed_response_fails_the_whole_batch() {
    expect_whole_batch_failure("malformed").await;
}

#[tokio::test]
async fn a_raised_error_fails_the_whole_batch() {
    expect_whole_batch_failure("error").await;
}

#[tokio::test]
async fn runtime_api_headers_and_environment() {
    let (_dir, log) = log_file();
    let eddy = eddy_with_mode("empty-object", "destination_prefix = \"out/\"", &log);
    let sqs = eddy.sqs().await;
    let queue = eddy.queue_url("file-events");
    let sent = Instant::now();
    send_batch(&sqs, &queue, &["hello"]).await;
    wait_until_empty(&sqs, &queue, Duration::from_secs(60)).await;
    let invocation = invocations(&log).remove(0);
    let raw = &invocation.raw;
    assert_eq!(
        raw["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:eddy-copy"
    );
    assert_eq!(
        raw["source_arn"],
        "arn:aws:sqs:us-east-1:000000000000:file-events"
    );
    assert!(
        raw["trace"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Root=1-"),
        "{raw}"
    );
    // The deadline is the function timeout (1 s) after the invocation started.
    let deadline_s = raw["deadline_ms"].as_f64().unwrap_or(0.0) / 1000.0;
    assert!(
        (deadline_s - invocation.start - 1.0).abs() < 0.5,
        "deadline {deadline_s} vs start {}",
        invocation.start
    );
    assert!(sent.elapsed() < Duration::from_secs(15));
    let env = &raw["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "eddy-copy");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
    assert_eq!(env["_HANDLER"], "bootstrap");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/eddy-copy");
    assert!(
        env["AWS_LAMBDA_LOG_STREAM_NAME"]
            .as_str()
            .unwrap_or_default()
            .contains("[$LATEST]"),
        "{env}"
    );
    assert_eq!(env["TZ"], ":UTC");
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "test");
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "test");
    assert_eq!(
        env["AWS_ENDPOINT_URL"].as_str(),
        Some(eddy.endpoint.as_str())
    );
    assert_eq!(env["DESTINATION_BUCKET"], "destination");
    assert_eq!(env["DESTINATION_PREFIX"], "out/");
    // The process's output is in eddy's log, tagged with the function and request id.
    let eddy_log = eddy.log();
    let line = eddy_log
        .lines()
        .find(|l| l.contains("handling") && l.contains(&invocation.request_id))
        .unwrap_or_else(|| panic!("the function's output is not in eddy's log:\n{eddy_log}"));
    assert!(
        line.contains("eddy-copy") && line.contains(&invocation.request_id),
        "{line}"
    );
}

#[tokio::test]
async fn a_batch_waits_for_the_window_or_a_full_batch() {
    let (_dir, log) = log_file();
    let eddy = Eddy::process_with_config(&format!(
        "visibility_timeout_seconds = 10\nbatch_size = 5\nmaximum_batching_window_seconds = 3\n{}",
        scripted_function("eddy-copy", "empty-object", 2, &log)
    ));
    let sqs = eddy.sqs().await;
    let queue = eddy.queue_url("file-events");
    // One message: the batch waits for the window to close.
    let sent = support_now();
    send_batch(&sqs, &queue, &["alone"]).await;
    wait_until_empty(&sqs, &queue, Duration::from_secs(60)).await;
    let first = invocations(&log).remove(0);
    assert_eq!(first.bodies, ["alone"]);
    let waited = first.start - sent;
    assert!(
        (2.7..6.0).contains(&waited),
        "a lone message waits for the 3 s window, waited {waited:.2} s"
    );
    // A full batch goes at once.
    let sent = support_now();
    send_batch(&sqs, &queue, &["f1", "f2", "f3", "f4", "f5"]).await;
    wait_until_empty(&sqs, &queue, Duration::from_secs(60)).await;
    let second = invocations(&log).remove(1);
    assert_eq!(second.bodies.len(), 5, "{second:?}");
    let waited = second.start - sent;
    assert!(
        waited < 2.0,
        "a full batch does not wait for the window, waited {waited:.2} s"
    );
}

#[tokio::test]
async fn a_batch_is_cut_to_the_six_mb_payload_limit() {
    let (_dir, log) = log_file();
    let eddy = Eddy::process_with_config(&format!(
        "visibility_timeout_seconds = 30\nbatch_size = 20\nmaximum_batching_window_seconds = 2\nmaximum_concurrency = 2\n{}",
        scripted_function("eddy-copy", "empty-object", 10, &log)
    ));
    let sqs = eddy.sqs().await;
    let queue = eddy.queue_url("file-events");
    // Eight bodies of 1,000,000 characters: 8 MB, more than one invocation may carry.
    let bodies: Vec<String> = (0..8)
        .map(|i| format!("{i}{}", "x".repeat(999_999)))
        .collect();
    for body in &bodies {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await
            .expect("send");
    }
    wait_until_empty(&sqs, &queue, Duration::from_secs(60)).await;
    let all = invocations(&log);
    let delivered: usize = all.iter().map(|i| i.bodies.len()).sum();
    assert_eq!(delivered, 8, "every message delivered once");
    for invocation in &all {
        let bytes: usize = invocation.bodies.iter().map(String::len).sum();
        assert!(
            bytes <= 6 * 1024 * 1024,
            "an invocation carried {bytes} bytes"
        );
    }
    assert!(all.len() >= 2, "8 MB needs at least two invocations");
}

fn support_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// The most invocations running at once, from their start and end times.
fn peak_overlap(all: &[crate::util::pipeline::Invocation]) -> usize {
    let mut events: Vec<(f64, i32)> = all
        .iter()
        .flat_map(|i| [(i.start, 1), (i.end, -1)])
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut now = 0i32;
    let mut peak = 0i32;
    for (_, change) in events {
        now += change;
        peak = peak.max(now);
    }
    peak as usize
}

#[tokio::test]
async fn maximum_concurrency_is_reached_under_load_and_never_exceeded() {
    let (_dir, log) = log_file();
    let eddy = Eddy::process_with_config(&format!(
        "visibility_timeout_seconds = 30\nbatch_size = 1\nmaximum_concurrency = 8\n{}",
        scripted_function("eddy-copy", "empty-object", 10, &log)
    ));
    let sqs = eddy.sqs().await;
    let queue = eddy.queue_url("file-events");
    let bodies = vec!["sleep:0.6"; 60];
    send_batch(&sqs, &queue, &bodies).await;
    wait_until_empty(&sqs, &queue, Duration::from_secs(60)).await;
    let all = invocations(&log);
    assert_eq!(all.len(), 60);
    let peak = peak_overlap(&all);
    let processes: std::collections::HashSet<u64> = all.iter().map(|i| i.pid).collect();
    assert_eq!(
        peak, 8,
        "the mapping scales up from 5 to exactly MaximumConcurrency 8"
    );
    assert!(
        processes.len() <= 8,
        "at most 8 processes: {}",
        processes.len()
    );
}

#[tokio::test]
async fn a_batch_that_overruns_the_timeout_fails_and_its_process_is_restarted() {
    let (_dir, log) = log_file();
    let eddy = Eddy::process_with_config(&format!(
        "visibility_timeout_seconds = 2\nmax_receive_count = 100\nmaximum_concurrency = 2\nbatch_size = 1\n{}",
        scripted_function("eddy-copy", "empty-object", 1, &log)
    ));
    let sqs = eddy.sqs().await;
    let queue = eddy.queue_url("file-events");
    send_batch(&sqs, &queue, &["sleep:2.5"]).await;
    // The killed process never logs; the message comes back and is received again.
    let received_again = eventually(
        Duration::from_secs(60),
        "the timed-out message received again",
        || async {
            let log = eddy.log();
            (log.matches("invocation timed out").count() >= 2).then_some(log)
        },
    )
    .await;
    assert!(
        received_again.contains("batch failed; nothing deleted"),
        "{received_again}"
    );
    assert!(
        invocations(&log).is_empty(),
        "a timed-out invocation never completes"
    );
    eventually(
        Duration::from_secs(60),
        "only the timed-out message left in the queue",
        || async {
            let visible = queue_count(&sqs, &queue, "ApproximateNumberOfMessages").await;
            let hidden = queue_count(&sqs, &queue, "ApproximateNumberOfMessagesNotVisible").await;
            (visible + hidden == 1).then_some(())
        },
    )
    .await;
    // The restarted processes still work.
    send_batch(&sqs, &queue, &["quick"]).await;
    eventually(
        Duration::from_secs(60),
        "a quick message handled after the restart",
        || async { deliveries_by_body(&log).contains_key("quick").then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn a_process_that_dies_fails_its_batch_and_is_restarted() {
    let (_dir, log) = log_file();
    let eddy = Eddy::process_with_config(&format!(
        "visibility_timeout_seconds = 2\nmax_receive_count = 2\nmaximum_concurrency = 2\n{}",
        scripted_function("eddy-copy", "empty-object", 2, &log)
    ));
    let sqs = eddy.sqs().await;
    let queue = eddy.queue_url("file-events");
    send_batch(&sqs, &queue, &["exit"]).await;
    // Two receives, each killing its process, then the DLQ. About 4 s on a quiet
    // machine; the deadline is generous because each receive starts a process, which
    // takes seconds when CI's other tests are compiling and running beside it.
    let dlq = eddy.queue_url("file-events-dlq");
    eventually(
        Duration::from_secs(120),
        "the killer message in the DLQ",
        || async {
            (queue_count(&sqs, &dlq, "ApproximateNumberOfMessages").await == 1).then_some(())
        },
    )
    .await;
    assert!(
        eddy.log().contains("function process ended; restarting it"),
        "{}",
        eddy.log()
    );
    send_batch(&sqs, &queue, &["after"]).await;
    wait_until_empty(&sqs, &queue, Duration::from_secs(60)).await;
    assert_eq!(deliveries_by_body(&log).get("after"), Some(&1));
}

#[tokio::test]
async fn records_matching_no_filter_are_deleted_without_invoking() {
    let (_dir, log) = log_file();
    let eddy = Eddy::process_with_config(&format!(
        "visibility_timeout_seconds = 5\n{}\n[[event_source_mappings]]\nqueue = \"file-events\"\nfunction = \"eddy-copy\"\nbatch_size = 10\nmaximum_batching_window_seconds = 1\nfunction_response_types = [\"ReportBatchItemFailures\"]\nfilter_criteria = ['{{\"body\": {{\"kind\": [\"keep\"]}}}}', '{{\"body\": [{{\"prefix\": \"plain-keep\"}}]}}']\n",
        scripted_function("eddy-copy", "empty-object", 2, &log)
    ));
    let sqs = eddy.sqs().await;
    let queue = eddy.queue_url("file-events");
    let bodies = [
        r#"{"kind":"keep","n":1}"#,
        r#"{"kind":"drop","n":2}"#,
        "plain-keep text",
        "plain text",
        r#"{"other":1}"#,
    ];
    send_batch(&sqs, &queue, &bodies).await;
    wait_until_empty(&sqs, &queue, Duration::from_secs(60)).await;
    let delivered = deliveries_by_body(&log);
    let mut kept: Vec<&str> = delivered.keys().map(String::as_str).collect();
    kept.sort_unstable();
    assert_eq!(kept, ["plain-keep text", r#"{"kind":"keep","n":1}"#]);
    assert_eq!(
        queue_count(
            &sqs,
            &eddy.queue_url("file-events-dlq"),
            "ApproximateNumberOfMessages"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn several_mappings_and_functions_run_side_by_side() {
    let (_dir, log) = log_file();
    // The built-in copy function on the main queue; a scripted function on the DLQ.
    let eddy = Eddy::process_with_config(&format!(
        "visibility_timeout_seconds = 1\nfunction_timeout_seconds = 1\nmax_receive_count = 1\n{}\n[[event_source_mappings]]\nqueue = \"file-events-dlq\"\nfunction = \"dead-letters\"\nmaximum_concurrency = 2\n",
        scripted_function("dead-letters", "empty-object", 1, &log)
    ));
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    send_batch(
        &sqs,
        &eddy.queue_url("file-events"),
        &["poison for the DLQ"],
    )
    .await;
    s3.put_object()
        .bucket("source")
        .key("both.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"both"))
        .send()
        .await
        .expect("upload");
    eventually(
        Duration::from_secs(60),
        "the copy by the built-in function",
        || crate::util::harness::get_bytes(&s3, "destination", "both.txt"),
    )
    .await;
    eventually(
        Duration::from_secs(60),
        "the dead letter handled by the second function",
        || async {
            deliveries_by_body(&log)
                .contains_key("poison for the DLQ")
                .then_some(())
        },
    )
    .await;
    let invocation = invocations(&log).remove(0);
    assert_eq!(
        invocation.raw["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:dead-letters"
    );
    assert_eq!(
        invocation.raw["source_arn"],
        "arn:aws:sqs:us-east-1:000000000000:file-events-dlq"
    );
}

/// Starts `eddy up` with a configuration that must be refused; returns its stderr.
fn refused(config: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("eddy.toml");
    std::fs::write(&path, config).expect("write config");
    let output = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run eddy");
    assert!(!output.status.success(), "eddy accepted:\n{config}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn invalid_functions_and_mappings_are_refused_naming_the_key() {
    let mapping = "[[event_source_mappings]]\nqueue = \"file-events\"\nfunction = \"eddy-copy\"\n";
    let cases = [
        (format!("{mapping}batch_size = 11\n"), "event_source_mappings[0].maximum_batching_window_seconds"),
        (format!("{mapping}batch_size = 10001\nmaximum_batching_window_seconds = 1\n"), "event_source_mappings[0].batch_size"),
        (format!("{mapping}maximum_batching_window_seconds = 301\n"), "event_source_mappings[0].maximum_batching_window_seconds"),
        (format!("{mapping}maximum_concurrency = 1\n"), "event_source_mappings[0].maximum_concurrency"),
        (format!("{mapping}function_response_types = [\"Everything\"]\n"), "event_source_mappings[0].function_response_types"),
        (format!("{mapping}filter_criteria = ['{{\"body\": \"x\"}}']\n"), "event_source_mappings[0].filter_criteria[0]"),
        (format!("{mapping}filter_criteria = {:?}\n", vec!["{\"body\": [\"x\"]}"; 6]), "event_source_mappings[0].filter_criteria"),
        ("[[event_source_mappings]]\nqueue = \"file-events\"\nfunction = \"nobody\"\n".to_owned(), "event_source_mappings[0].function"),
        ("[[functions]]\nname = \"f\"\ntimeout = 901\n".to_owned(), "functions[0].timeout"),
        ("[[functions]]\nname = \"f\"\nmemory_size = 64\n".to_owned(), "functions[0].memory_size"),
        ("[[functions]]\nname = \"bad name\"\n".to_owned(), "functions[0].name"),
        ("[[functions]]\nname = \"f\"\nhandler = \"app.handler\"\n".to_owned(), "functions[0].handler"),
        ("[[functions]]\nname = \"f\"\nenvironment = { AWS_REGION = \"x\" }\n".to_owned(), "functions[0].environment.AWS_REGION"),
        ("[[functions]]\nname = \"f\"\nbogus = 1\n".to_owned(), "bogus"),
        ("visibility_timeout_seconds = 5\n[[functions]]\nname = \"eddy-copy\"\ntimeout = 6\n".to_owned(), "visibility_timeout_seconds"),
        // Checked against the queue when eddy starts: the DLQ keeps the default 30 s.
        ("[[functions]]\nname = \"slow\"\ntimeout = 60\n[[event_source_mappings]]\nqueue = \"file-events-dlq\"\nfunction = \"slow\"\n".to_owned(), "visibility timeout of 30 s"),
        ("[[event_source_mappings]]\nqueue = \"no-such-queue\"\nfunction = \"eddy-copy\"\n".to_owned(), "queue no-such-queue does not exist"),
    ];
    for (config, key) in cases {
        let stderr = refused(&config);
        assert!(
            stderr.contains(key),
            "expected {key:?} in the error for\n{config}\ngot: {stderr}"
        );
    }
}
