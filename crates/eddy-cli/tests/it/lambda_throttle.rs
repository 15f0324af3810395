//! Reserved concurrency (PutFunctionConcurrency) enforced as Lambda enforces it, with
//! the AWS SDK for Rust against `eddy up`: while an invocation holds the only slot, a
//! synchronous Invoke answers 429 `TooManyRequestsException` with `Reason:
//! ReservedFunctionConcurrentInvocationLimitExceeded` and an `Event` one is throttled
//! and retried until it runs; an SQS event source mapping over a reserved concurrency
//! of 0 is throttled (counted in `eddy_lambda_throttles_total`, never as a function
//! error), so its message is not deleted and reaches the dead-letter queue after
//! `maxReceiveCount` receives.

use std::path::Path;
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, InvocationType, ThrottleReason};
use aws_sdk_sqs::types::QueueAttributeName;

use super::fault_kinds::metric;
use super::fault_reach::lambda_without_retries;
use crate::util::ephemeral::Ephemeral;
use crate::util::harness::eventually;
use crate::util::lambda::CreatePython;

/// Writes `<OUT>/<event["name"]>` when it starts, then sleeps `event["sleep"]` seconds.
const SLEEPER: &str = r#"
import os, time

def handler(event, context):
    with open(os.path.join(os.environ["OUT"], event["name"]), "w") as out:
        out.write("started")
    time.sleep(event.get("sleep", 0))
    return "done"
"#;

async fn create_function(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    out: &Path,
    (timeout, reserved): (i32, i32),
) {
    lambda
        .create_python(name, SLEEPER)
        .timeout(timeout)
        .environment(
            Environment::builder()
                .variables("OUT", out.to_string_lossy())
                .build(),
        )
        .send()
        .await
        .expect("create function");
    lambda
        .put_function_concurrency()
        .function_name(name)
        .reserved_concurrent_executions(reserved)
        .send()
        .await
        .expect("reserve concurrency");
}

async fn counter(eddy: &Ephemeral, name: &str, function: &str) -> f64 {
    metric(eddy, &format!("{name}{{function=\"{function}\"}}"))
        .await
        .unwrap_or(0.0)
}

/// A synchronous Invoke of `single`.
async fn invoke(
    lambda: &aws_sdk_lambda::Client,
    payload: &str,
) -> Result<
    aws_sdk_lambda::operation::invoke::InvokeOutput,
    aws_sdk_lambda::error::SdkError<aws_sdk_lambda::operation::invoke::InvokeError>,
> {
    lambda
        .invoke()
        .function_name("single")
        .payload(Blob::new(payload.to_owned()))
        .send()
        .await
}

#[tokio::test]
async fn an_invocation_beyond_the_reserved_concurrency_is_throttled_not_held() {
    let out = tempfile::tempdir().expect("out dir");
    let eddy = Ephemeral::start("");
    let lambda = lambda_without_retries(&eddy).await;
    create_function(&lambda, "single", out.path(), (3, 1)).await;

    // One invocation holds the only slot for a second.
    let holder = {
        let lambda = lambda.clone();
        tokio::spawn(async move { invoke(&lambda, r#"{"name": "holder", "sleep": 1}"#).await })
    };
    let holder_started = out.path().join("holder");
    eventually(Duration::from_secs(10), "the holder runs", || {
        let path = holder_started.clone();
        async move { path.exists().then_some(()) }
    })
    .await;

    // A synchronous Invoke meanwhile: 429 at once, with Lambda's reason and message.
    let refused = invoke(&lambda, r#"{"name": "refused"}"#)
        .await
        .expect_err("throttled");
    let status = refused.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(429));
    let refused = refused.into_service_error();
    let aws_sdk_lambda::operation::invoke::InvokeError::TooManyRequestsException(throttle) =
        &refused
    else {
        panic!("not a TooManyRequestsException: {refused:?}");
    };
    assert_eq!(
        throttle.reason(),
        Some(&ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded)
    );
    assert_eq!(throttle.message(), Some("Rate Exceeded."));
    assert_eq!(throttle.r#type(), Some("User"));
    assert!(
        !out.path().join("refused").exists(),
        "the handler never ran"
    );

    // An asynchronous one meanwhile: accepted, throttled while the slot is held, run
    // after the throttle back-off.
    let accepted = lambda
        .invoke()
        .function_name("single")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"name": "event"}"#))
        .send()
        .await
        .expect("invoke event");
    assert_eq!(accepted.status_code(), 202);

    let held = holder.await.expect("join").expect("the holder's invoke");
    assert_eq!(
        held.payload().map(|p| p.as_ref().to_vec()),
        Some(br#""done""#.to_vec())
    );
    let (status, answer) = eddy.idle(20.0).await;
    assert_eq!(status, 200, "{answer}");
    assert!(out.path().join("event").exists(), "the event ran at last");
    assert!(
        counter(&eddy, "eddy_lambda_throttles_total", "single").await >= 2.0,
        "the synchronous and the asynchronous throttle are counted"
    );

    // The slot is free again: a synchronous Invoke runs.
    let after = invoke(&lambda, r#"{"name": "after"}"#)
        .await
        .expect("invoke once the slot is free");
    assert_eq!(after.function_error(), None);
}

#[tokio::test]
async fn a_mapping_over_a_reserved_concurrency_of_zero_is_throttled_not_failed() {
    let out = tempfile::tempdir().expect("out dir");
    let eddy = Ephemeral::start("");
    let lambda = lambda_without_retries(&eddy).await;
    create_function(&lambda, "closed", out.path(), (1, 0)).await;
    let sqs = eddy.sqs().await;
    let dlq = crate::util::sqs::create(&sqs, "closed-dlq", &[]).await;
    let redrive = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:closed-dlq","maxReceiveCount":"2"}"#;
    let work = crate::util::sqs::create(
        &sqs,
        "closed-work",
        &[
            (QueueAttributeName::VisibilityTimeout, "1"),
            (QueueAttributeName::RedrivePolicy, redrive),
        ],
    )
    .await;
    lambda
        .create_event_source_mapping()
        .function_name("closed")
        .event_source_arn("arn:aws:sqs:us-east-1:000000000000:closed-work")
        .batch_size(1)
        .send()
        .await
        .expect("create mapping");
    sqs.send_message()
        .queue_url(&work)
        .message_body(r#"{"name": "never"}"#)
        .send()
        .await
        .expect("send");

    // Throttled at each receive, the message is never deleted: after two receives it
    // moves to the dead-letter queue.
    let dead = eventually(
        Duration::from_secs(15),
        "the message reaches the DLQ",
        || {
            let (sqs, dlq) = (sqs.clone(), dlq.clone());
            async move {
                let received = sqs
                    .receive_message()
                    .queue_url(&dlq)
                    .message_system_attribute_names(
                        aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
                    )
                    .send()
                    .await
                    .expect("receive from the DLQ");
                received.messages().first().cloned()
            }
        },
    )
    .await;
    assert_eq!(dead.body(), Some(r#"{"name": "never"}"#));
    assert!(!out.path().join("never").exists(), "the handler never ran");
    assert!(
        counter(&eddy, "eddy_lambda_throttles_total", "closed").await >= 2.0,
        "each receive is a throttle"
    );
    assert_eq!(
        counter(&eddy, "eddy_lambda_errors_total", "closed").await,
        0.0
    );
    assert_eq!(
        counter(&eddy, "eddy_lambda_invocations_total", "closed").await,
        0.0
    );
}
