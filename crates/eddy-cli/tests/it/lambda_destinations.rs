//! Destinations of asynchronous invocations through the AWS SDK for Rust:
//! Put/Get/Update/Delete/ListFunctionEventInvokeConfigs with Lambda's shapes and
//! validation errors, configurations surviving a kill, and the invocation records
//! Lambda sends: a success to an SQS queue, a failure (after the configured retries) to
//! another function.

use std::time::Duration;

use aws_sdk_lambda::operation::RequestId as _;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{DestinationConfig, Environment, InvocationType, OnFailure, OnSuccess};
use serde_json::{Value, json};

use super::lambda_api::lambda;
use crate::util::harness::{Eddy, EddyOptions, eventually};
use crate::util::lambda::CreatePython;
use crate::util::s3::{create_queue, receive_bodies};

const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function";

/// Counts its attempts in `$OUT`; fails for `{"n": "fail"}`.
const WORKER: &str = r#"
import os

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(event["n"] + "\n")
    if event["n"] == "fail":
        raise RuntimeError("boom")
    return {"ok": event["n"]}
"#;

/// Appends each event it gets to `$OUT`, one JSON line.
const CATCHER: &str = r#"
import json, os

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps(event) + "\n")
"#;

async fn create(client: &aws_sdk_lambda::Client, name: &str, source: &str, out: &str) {
    client
        .create_python(name, source)
        .environment(Environment::builder().variables("OUT", out).build())
        .send()
        .await
        .expect("create function");
}

fn destinations(on_success: Option<&str>, on_failure: Option<&str>) -> DestinationConfig {
    let mut config = DestinationConfig::builder();
    if let Some(arn) = on_success {
        config = config.on_success(OnSuccess::builder().destination(arn).build());
    }
    if let Some(arn) = on_failure {
        config = config.on_failure(OnFailure::builder().destination(arn).build());
    }
    config.build()
}

/// The code and message of a call that must fail.
fn refused<T, E: aws_sdk_lambda::error::ProvideErrorMetadata>(
    result: Result<T, E>,
) -> (String, String) {
    match result {
        Ok(_) => panic!("the call must be refused"),
        Err(error) => refusal(&error),
    }
}

/// The code and message of a failed call.
fn refusal<E: aws_sdk_lambda::error::ProvideErrorMetadata>(error: &E) -> (String, String) {
    (
        error.code().unwrap_or_default().to_owned(),
        error.message().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn event_invoke_configs_round_trip_validate_and_survive_a_kill() {
    let mut eddy = Eddy::process();
    let client = lambda(&eddy).await;
    create(&client, "configured", WORKER, "/dev/null").await;
    create(&client, "other", CATCHER, "/dev/null").await;
    let queue = "arn:aws:sqs:us-east-1:000000000000:failures";

    let put = client
        .put_function_event_invoke_config()
        .function_name("configured")
        .maximum_retry_attempts(0)
        .maximum_event_age_in_seconds(60)
        .destination_config(destinations(None, Some(queue)))
        .send()
        .await
        .expect("put");
    assert_eq!(
        put.function_arn(),
        Some(format!("{ARN}:configured:$LATEST").as_str())
    );
    assert_eq!(put.maximum_retry_attempts(), Some(0));
    assert_eq!(put.maximum_event_age_in_seconds(), Some(60));
    let config = put.destination_config().expect("destination config");
    assert_eq!(
        config.on_failure().and_then(|d| d.destination()),
        Some(queue)
    );
    assert_eq!(config.on_success().and_then(|d| d.destination()), None);
    assert!(put.last_modified().is_some());

    let updated = client
        .update_function_event_invoke_config()
        .function_name("configured")
        .maximum_retry_attempts(1)
        .send()
        .await
        .expect("update");
    assert_eq!(updated.maximum_retry_attempts(), Some(1));
    assert_eq!(updated.maximum_event_age_in_seconds(), Some(60), "kept");
    assert_eq!(
        updated
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|d| d.destination()),
        Some(queue),
        "kept"
    );

    // Validation, with Lambda's codes and messages.
    let cases: Vec<((String, String), &str, &str)> = vec![
        (
            refused(
                client
                    .put_function_event_invoke_config()
                    .function_name("configured")
                    .maximum_retry_attempts(3)
                    .send()
                    .await,
            ),
            "ValidationException",
            "1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2",
        ),
        (
            refused(
                client
                    .put_function_event_invoke_config()
                    .function_name("configured")
                    .maximum_event_age_in_seconds(59)
                    .send()
                    .await,
            ),
            "ValidationException",
            "1 validation error detected: Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60",
        ),
        (
            refused(
                client
                    .put_function_event_invoke_config()
                    .function_name("configured")
                    .send()
                    .await,
            ),
            "InvalidParameterValueException",
            "You must specify at least one of error handling or destination setting.",
        ),
        (
            refused(
                client
                    .put_function_event_invoke_config()
                    .function_name("configured")
                    .destination_config(destinations(Some("arn:aws:s3:::bucket"), None))
                    .send()
                    .await,
            ),
            "InvalidParameterValueException",
            "The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=arn:aws:s3:::bucket), onFailure=null) is invalid.",
        ),
        (
            refused(
                client
                    .put_function_event_invoke_config()
                    .function_name("configured")
                    .destination_config(destinations(None, Some(&format!("{ARN}:missing"))))
                    .send()
                    .await,
            ),
            "InvalidParameterValueException",
            "The destination ARN arn:aws:lambda:us-east-1:000000000000:function:missing is invalid.",
        ),
        (
            refused(
                client
                    .put_function_event_invoke_config()
                    .function_name("configured")
                    .destination_config(destinations(None, Some(&format!("{ARN}:configured"))))
                    .send()
                    .await,
            ),
            "InvalidParameterValueException",
            "You can't specify the function as a destination for itself.",
        ),
        (
            refused(
                client
                    .put_function_event_invoke_config()
                    .function_name("missing")
                    .maximum_retry_attempts(1)
                    .send()
                    .await,
            ),
            "ResourceNotFoundException",
            "The function doesn't exist.",
        ),
        (
            refused(
                client
                    .update_function_event_invoke_config()
                    .function_name("other")
                    .maximum_retry_attempts(1)
                    .send()
                    .await,
            ),
            "ResourceNotFoundException",
            "The function arn:aws:lambda:us-east-1:000000000000:function:other:$LATEST doesn't have an EventInvokeConfig",
        ),
    ];
    for (refusal, code, message) in cases {
        assert_eq!(refusal, (code.to_owned(), message.to_owned()));
    }
    let missing = client
        .get_function_event_invoke_config()
        .function_name("other")
        .send()
        .await
        .expect_err("no configuration");
    assert_eq!(refusal(&missing).0, "ResourceNotFoundException");

    // A Lambda destination that exists, for another qualifier's configuration.
    client
        .publish_version()
        .function_name("configured")
        .send()
        .await
        .expect("publish");
    client
        .put_function_event_invoke_config()
        .function_name("configured")
        .qualifier("1")
        .destination_config(destinations(Some(&format!("{ARN}:other")), None))
        .send()
        .await
        .expect("put for version 1");
    let listed = client
        .list_function_event_invoke_configs()
        .function_name("configured")
        .send()
        .await
        .expect("list");
    let arns: Vec<&str> = listed
        .function_event_invoke_configs()
        .iter()
        .filter_map(|c| c.function_arn())
        .collect();
    assert_eq!(
        arns,
        [
            format!("{ARN}:configured:$LATEST"),
            format!("{ARN}:configured:1")
        ]
    );

    // An alias's configuration goes with the alias.
    client
        .create_alias()
        .function_name("configured")
        .name("live")
        .function_version("1")
        .send()
        .await
        .expect("alias");
    client
        .put_function_event_invoke_config()
        .function_name("configured:live")
        .maximum_retry_attempts(2)
        .send()
        .await
        .expect("put for the alias");
    client
        .delete_alias()
        .function_name("configured")
        .name("live")
        .send()
        .await
        .expect("delete alias");
    let gone = client
        .get_function_event_invoke_config()
        .function_name("configured")
        .qualifier("live")
        .send()
        .await;
    assert_eq!(refused(gone).0, "ResourceNotFoundException");

    // SIGKILL: the configurations were acknowledged, so they are durable.
    let data_dir = eddy.data_dir.clone();
    let temp = eddy.take_temp();
    eddy.child().kill().expect("kill eddy");
    eddy.child().wait().expect("wait for eddy");
    drop(eddy);
    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir),
    });
    let client = lambda(&eddy).await;
    let kept = client
        .get_function_event_invoke_config()
        .function_name("configured")
        .send()
        .await
        .expect("get after restart");
    assert_eq!(kept.maximum_retry_attempts(), Some(1));
    client
        .delete_function_event_invoke_config()
        .function_name("configured")
        .qualifier("1")
        .send()
        .await
        .expect("delete");
    let deleted = client
        .delete_function_event_invoke_config()
        .function_name("configured")
        .qualifier("1")
        .send()
        .await
        .expect_err("deleted already");
    assert_eq!(refusal(&deleted).0, "ResourceNotFoundException");
    drop(temp);
}

#[tokio::test]
async fn destinations_get_lambdas_invocation_records() {
    let out = tempfile::tempdir().expect("out dir");
    let attempts = out.path().join("attempts");
    let caught = out.path().join("caught");
    let eddy = Eddy::start_with_config("lambda_async_retry_delays_seconds = [1, 1]\n");
    let client = lambda(&eddy).await;
    let sqs = eddy.sqs().await;
    let (queue_url, queue_arn) = create_queue(&sqs, "successes").await;
    create(&client, "worker", WORKER, &attempts.to_string_lossy()).await;
    create(&client, "catcher", CATCHER, &caught.to_string_lossy()).await;
    client
        .put_function_event_invoke_config()
        .function_name("worker")
        .maximum_retry_attempts(1)
        .destination_config(destinations(
            Some(&queue_arn),
            Some(&format!("{ARN}:catcher")),
        ))
        .send()
        .await
        .expect("put config");

    let invoke = |payload: &'static str| {
        client
            .invoke()
            .function_name("worker")
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
    };
    let fine = invoke(r#"{"n": "fine"}"#).await.expect("invoke fine");
    let fine_id = fine.request_id().map(str::to_owned);
    invoke(r#"{"n": "fail"}"#).await.expect("invoke fail");

    let success = receive_bodies(&sqs, &queue_url, 1).await.remove(0);
    assert_eq!(success["version"], "1.0");
    assert!(
        success["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let context = &success["requestContext"];
    assert_eq!(context["functionArn"], format!("{ARN}:worker:$LATEST"));
    assert_eq!(context["condition"], "Success");
    assert_eq!(context["approximateInvokeCount"], 1);
    assert!(
        context["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    if let Some(id) = fine_id {
        assert_eq!(context["requestId"], id);
    }
    assert_eq!(success["requestPayload"], json!({"n": "fine"}));
    assert_eq!(
        success["responseContext"],
        json!({"statusCode": 200, "executedVersion": "$LATEST"})
    );
    assert_eq!(success["responsePayload"], json!({"ok": "fine"}));

    let failure: Value = eventually(Duration::from_secs(20), "the on-failure record", || {
        let caught = caught.clone();
        async move {
            let text = std::fs::read_to_string(&caught).ok()?;
            serde_json::from_str(text.lines().next()?).ok()
        }
    })
    .await;
    let context = &failure["requestContext"];
    assert_eq!(context["condition"], "RetriesExhausted");
    assert_eq!(
        context["approximateInvokeCount"], 2,
        "one attempt and one retry"
    );
    assert_eq!(failure["requestPayload"], json!({"n": "fail"}));
    assert_eq!(
        failure["responseContext"],
        json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
    );
    assert_eq!(failure["responsePayload"]["errorType"], "RuntimeError");
    assert_eq!(failure["responsePayload"]["errorMessage"], "boom");

    let made = std::fs::read_to_string(&attempts).expect("attempts");
    let mut lines: Vec<&str> = made.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["fail", "fail", "fine"],
        "MaximumRetryAttempts 1: one retry"
    );
}
