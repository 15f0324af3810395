//! Asynchronous invocations (`InvocationType: Event`) through the AWS SDK for Rust: a
//! 202 once queued, the function runs in the background, and a failing one is
//! attempted three times (retry back-offs shortened in eddy.toml) and then lands in
//! its dead-letter queue with Lambda's `RequestID`/`ErrorCode`/`ErrorMessage`.

use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{DeadLetterConfig, Environment, InvocationType};

use super::lambda_api::lambda;
use crate::util::harness::{Eddy, eventually};
use crate::util::lambda::CreatePython;

const APPEND_AND_FAIL: &str = r#"
import os

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(event["n"] + "\n")
    if event["n"] == "fail":
        raise RuntimeError("always fails")
    return "ok"
"#;

#[tokio::test]
async fn event_invocations_run_in_the_background_and_failures_reach_the_dead_letter_queue() {
    let out = tempfile::tempdir().expect("out dir");
    let attempts_file = out.path().join("attempts");
    let eddy = Eddy::start_with_config("lambda_async_retry_delays_seconds = [1, 1]\n");
    let client = lambda(&eddy).await;
    let sqs = eddy.sqs().await;
    let dlq = crate::util::sqs::create(&sqs, "async-dlq", &[]).await;
    client
        .create_python("background", APPEND_AND_FAIL)
        .environment(
            Environment::builder()
                .variables("OUT", attempts_file.to_string_lossy())
                .build(),
        )
        .dead_letter_config(
            DeadLetterConfig::builder()
                .target_arn("arn:aws:sqs:us-east-1:000000000000:async-dlq")
                .build(),
        )
        .send()
        .await
        .expect("create");

    let accepted = client
        .invoke()
        .function_name("background")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"n": "fine"}"#))
        .send()
        .await
        .expect("invoke event");
    assert_eq!(accepted.status_code(), 202);
    let failing = client
        .invoke()
        .function_name("background")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"n": "fail"}"#))
        .send()
        .await
        .expect("invoke failing event");
    assert_eq!(failing.status_code(), 202);

    let message = eventually(Duration::from_secs(20), "the dead letter", || {
        let (sqs, dlq) = (sqs.clone(), dlq.clone());
        async move {
            sqs.receive_message()
                .queue_url(&dlq)
                .message_attribute_names("All")
                .send()
                .await
                .ok()?
                .messages()
                .first()
                .cloned()
        }
    })
    .await;
    assert_eq!(message.body(), Some(r#"{"n": "fail"}"#));
    let attributes = message.message_attributes().expect("attributes");
    assert!(attributes["RequestID"].string_value().is_some());
    assert_eq!(attributes["ErrorCode"].string_value(), Some("200"));
    assert!(
        attributes["ErrorMessage"]
            .string_value()
            .is_some_and(|m| m.contains("always fails")),
        "{attributes:?}"
    );
    let attempts = std::fs::read_to_string(&attempts_file).expect("attempts");
    let mut lines: Vec<&str> = attempts.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["fail", "fail", "fail", "fine"],
        "one attempt and two retries"
    );
}
