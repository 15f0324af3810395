//! Reset and wait-until-idle know the Lambda API: idle waits for the queues of mappings
//! created through the API, for running invocations of API functions and for queued
//! asynchronous invocations (retries included); a reset removes the functions,
//! mappings, asynchronous invocations and log groups created since start, stops their
//! processes and pollers, and leaves the configured pipeline working.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use crate::util::ephemeral::{Ephemeral, keys, put};
use crate::util::lambda::CreatePython;

/// Sleeps `sleep` seconds (default 0.2) and fails when asked to.
const HANDLER: &str = r#"
import time

def handler(event, context):
    time.sleep(float(event.get("sleep", 0.2)) if isinstance(event, dict) else 0.2)
    if isinstance(event, dict) and event.get("fail"):
        raise RuntimeError("asked to fail")
    return {"ok": True}
"#;

async fn create_function(lambda: &aws_sdk_lambda::Client, name: &str) {
    lambda
        .create_python(name, HANDLER)
        .send()
        .await
        .expect("create function");
}

/// The names of the log groups (CloudWatch Logs DescribeLogGroups, signed raw).
fn log_groups(eddy: &Ephemeral) -> Vec<String> {
    let answer = crate::util::raw::send_signed(
        eddy_testing::sign::Service::Named("logs"),
        eddy.endpoint(),
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "Logs_20140328.DescribeLogGroups"),
        ],
        b"{}",
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let groups: serde_json::Value = serde_json::from_str(&answer.body).expect("JSON");
    groups["logGroups"]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .filter_map(|g| g["logGroupName"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The processes whose working directory is under `dir` (a function's code).
fn processes_in(dir: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd: PathBuf| cwd.starts_with(dir))
        })
        .collect()
}

#[tokio::test]
async fn idle_waits_for_api_mappings_invocations_and_async_retries() {
    let eddy = Ephemeral::start("lambda_async_retry_delays_seconds = [1]\n");
    let lambda = aws_sdk_lambda::Client::new(&eddy.sdk_config().await);
    let sqs = eddy.sqs().await;
    create_function(&lambda, "worker").await;
    let queue_url = crate::util::sqs::create(&sqs, "jobs", &[]).await;
    lambda
        .create_event_source_mapping()
        .event_source_arn("arn:aws:sqs:us-east-1:000000000000:jobs")
        .function_name("worker")
        .batch_size(1)
        .send()
        .await
        .expect("mapping");

    // A message of the API mapping's queue keeps the pipeline busy until it is done.
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("job")
        .send()
        .await
        .expect("send");
    let (status, pending) = eddy.idle(0.0).await;
    assert_eq!(status, 408, "{pending}");
    let busy = pending["pending"].to_string();
    assert!(busy.contains("\"jobs\""), "{pending}");
    assert!(busy.contains("\"worker\""), "{pending}");
    let (status, answer) = eddy.idle(20.0).await;
    assert_eq!(status, 200, "{answer}");
    let depth = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .expect("attributes");
    let attributes = depth.attributes().expect("attributes");
    for name in [
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ] {
        assert_eq!(attributes.get(&name).map(String::as_str), Some("0"));
    }

    // A synchronous invocation in progress.
    let running = {
        let lambda = lambda.clone();
        tokio::spawn(async move {
            lambda
                .invoke()
                .function_name("worker")
                .payload(Blob::new(r#"{"sleep": 1.0}"#))
                .send()
                .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen_running = false;
    while !seen_running && Instant::now() < deadline && !running.is_finished() {
        let (status, pending) = eddy.idle(0.0).await;
        seen_running = status == 408
            && pending["pending"]["functions"][0]["function"] == "worker"
            && pending["pending"]["functions"][0]["running"] == 1;
    }
    assert!(seen_running, "no running invocation seen");
    let (status, answer) = eddy.idle(20.0).await;
    assert_eq!(status, 200, "{answer}");
    assert!(running.is_finished());
    running.await.expect("join").expect("invoke");

    // An asynchronous invocation that fails once is retried after 1 s: idle waits.
    let started = Instant::now();
    let queued = lambda
        .invoke()
        .function_name("worker")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"sleep": 0, "fail": true}"#))
        .send()
        .await
        .expect("invoke async");
    assert_eq!(queued.status_code(), 202);
    let (status, pending) = eddy.idle(0.0).await;
    assert_eq!(status, 408, "{pending}");
    assert_eq!(
        pending["pending"]["async_invocations"][0]["function"], "worker",
        "{pending}"
    );
    let (status, answer) = eddy.idle(20.0).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "idle answered before the retry"
    );
}

#[tokio::test]
async fn reset_removes_what_the_lambda_api_created_and_stops_its_work() {
    let eddy = Ephemeral::start("");
    let config = eddy.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let sqs = eddy.sqs().await;
    let s3 = eddy.s3().await;
    create_function(&lambda, "worker").await;
    lambda
        .publish_version()
        .function_name("worker")
        .send()
        .await
        .expect("version");
    lambda
        .create_alias()
        .function_name("worker")
        .name("live")
        .function_version("1")
        .send()
        .await
        .expect("alias");
    let queue_url = crate::util::sqs::create(&sqs, "jobs", &[]).await;
    lambda
        .create_event_source_mapping()
        .event_source_arn("arn:aws:sqs:us-east-1:000000000000:jobs")
        .function_name("worker")
        .batch_size(1)
        .send()
        .await
        .expect("mapping");
    lambda
        .invoke()
        .function_name("worker")
        .payload(Blob::new(r#"{"sleep": 0}"#))
        .send()
        .await
        .expect("invoke");
    // A queued asynchronous invocation that would sleep long.
    lambda
        .invoke()
        .function_name("worker")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"sleep": 30}"#))
        .send()
        .await
        .expect("invoke async");
    assert!(log_groups(&eddy).contains(&"/aws/lambda/worker".to_owned()));
    let code = eddy.data_dir().join("lambda/functions/worker");
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes_in(&code).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let processes = processes_in(&code);
    assert!(!processes.is_empty(), "no process of worker under {code:?}");

    let report = eddy.reset().await;
    assert_eq!(report["reset"]["functions_removed"], 1, "{report}");
    assert_eq!(
        report["reset"]["event_source_mappings_removed"], 1,
        "{report}"
    );
    assert_eq!(report["reset"]["log_groups_removed"], 1, "{report}");
    // The asynchronous invocation was still running (its row stays until it ends).
    assert_eq!(report["reset"]["async_invocations_removed"], 1, "{report}");

    // Gone from the API, the store and the machine.
    // The function and mapping of eddy.toml stay (listed read-only).
    let functions = lambda.list_functions().send().await.expect("list");
    let names: Vec<&str> = functions
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(names, ["eddy-copy"], "{functions:?}");
    let mappings = lambda
        .list_event_source_mappings()
        .send()
        .await
        .expect("list mappings");
    assert!(
        mappings.event_source_mappings().iter().all(|m| m
            .event_source_arn()
            .is_some_and(|a| a.ends_with(":file-events"))),
        "{mappings:?}"
    );
    let missing = lambda
        .get_alias()
        .function_name("worker")
        .name("live")
        .send()
        .await
        .expect_err("alias gone")
        .into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");
    assert!(log_groups(&eddy).is_empty());
    assert!(!code.exists(), "the code of worker is still at {code:?}");
    assert!(
        processes
            .iter()
            .all(|pid| !Path::new(&format!("/proc/{pid}")).exists()),
        "processes of worker still run: {processes:?}"
    );
    // Nothing polls a new queue of the old name, and idle does not wait for it.
    let queue_url_again = crate::util::sqs::create(&sqs, "jobs", &[]).await;
    assert_eq!(queue_url_again, queue_url);
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("nobody takes it")
        .send()
        .await
        .expect("send");
    let (status, answer) = eddy.idle(5.0).await;
    assert_eq!(status, 200, "{answer}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left = sqs
        .receive_message()
        .queue_url(&queue_url)
        .send()
        .await
        .expect("receive");
    assert_eq!(left.messages().len(), 1, "the old mapping still polls");

    // The configured pipeline stays.
    put(&s3, "source", "after-reset.txt", "x").await;
    let (status, answer) = eddy.idle(10.0).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(keys(&s3, "destination").await, ["after-reset.txt"]);
}
