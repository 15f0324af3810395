//! SQS event source mappings created through the Lambda API with the AWS SDK for Rust:
//! a mapping runs a Python function on each batch (it writes one file per record, so
//! the test sees every invocation), follows UpdateFunctionCode on the next batch, is
//! disabled and enabled, is kept across a restart, and is refused with Lambda's codes
//! and messages.

use std::path::Path;
use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::ProvideErrorMetadata as _;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionResponseType};
use aws_sdk_sqs::types::QueueAttributeName;

use super::lambda_api::lambda;
use crate::util::harness::{Eddy, EddyOptions, eventually};
use crate::util::lambda::{CreatePython, python_zip};

/// Writes `<OUT_DIR>/<body>` holding `version` for each record.
fn writer(version: u32) -> String {
    format!(
        r#"
import os

def handler(event, context):
    for record in event["Records"]:
        with open(os.path.join(os.environ["OUT_DIR"], record["body"]), "w") as out:
            out.write("{version}")
    return {{"batchItemFailures": []}}
"#
    )
}

async fn create_writer(client: &Client, out: &Path, timeout: i32) {
    client
        .create_python("writer", &writer(1))
        .timeout(timeout)
        .environment(
            Environment::builder()
                .variables("OUT_DIR", out.to_string_lossy())
                .build(),
        )
        .send()
        .await
        .expect("create function");
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str, visibility: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, visibility)
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_owned()
}

async fn written(out: &Path, name: &str) -> String {
    let path = out.join(name);
    eventually(Duration::from_secs(15), name, || {
        let path = path.clone();
        async move { std::fs::read_to_string(path).ok() }
    })
    .await
}

const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:work";

#[tokio::test]
async fn a_mapping_runs_the_function_follows_its_updates_and_survives_a_restart() {
    let out = tempfile::tempdir().expect("out dir");
    let mut eddy = Eddy::process();
    let client = lambda(&eddy).await;
    let sqs = eddy.sqs().await;
    let url = create_queue(&sqs, "work", "30").await;
    create_writer(&client, out.path(), 3).await;
    let created = client
        .create_event_source_mapping()
        .event_source_arn(QUEUE_ARN)
        .function_name("writer")
        .batch_size(5)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .send()
        .await
        .expect("create mapping");
    assert_eq!(created.state(), Some("Creating"));
    let uuid = created.uuid().expect("uuid").to_owned();
    let got = client
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .expect("get mapping");
    assert_eq!(got.state(), Some("Enabled"));
    assert_eq!(got.batch_size(), Some(5));
    assert_eq!(
        got.function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:writer")
    );

    sqs.send_message()
        .queue_url(&url)
        .message_body("first")
        .send()
        .await
        .expect("send");
    assert_eq!(written(out.path(), "first").await, "1");

    client
        .update_function_code()
        .function_name("writer")
        .zip_file(Blob::new(python_zip(&writer(2))))
        .send()
        .await
        .expect("update code");
    sqs.send_message()
        .queue_url(&url)
        .message_body("second")
        .send()
        .await
        .expect("send");
    assert_eq!(written(out.path(), "second").await, "2");

    let disabled = client
        .update_event_source_mapping()
        .uuid(&uuid)
        .enabled(false)
        .send()
        .await
        .expect("disable");
    assert_eq!(disabled.state(), Some("Disabling"));
    sqs.send_message()
        .queue_url(&url)
        .message_body("third")
        .send()
        .await
        .expect("send");

    let data_dir = eddy.data_dir.clone();
    let temp = eddy.take_temp();
    assert_eq!(eddy.terminate(), Some(0));
    drop(eddy);
    assert!(
        !out.path().join("third").exists(),
        "a disabled mapping invoked"
    );

    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir),
    });
    let client = lambda(&eddy).await;
    let listed = client
        .list_event_source_mappings()
        .function_name("writer")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.event_source_mappings().len(), 1);
    assert_eq!(listed.event_source_mappings()[0].state(), Some("Disabled"));
    client
        .update_event_source_mapping()
        .uuid(&uuid)
        .enabled(true)
        .send()
        .await
        .expect("enable");
    assert_eq!(written(out.path(), "third").await, "2");

    let deleted = client
        .delete_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.state(), Some("Deleting"));
    let gone = client
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .expect_err("deleted")
        .into_service_error();
    assert!(gone.is_resource_not_found_exception(), "{gone:?}");
    assert_eq!(
        gone.message(),
        Some("The resource you requested does not exist.")
    );
    drop(temp);
}

#[tokio::test]
async fn mappings_are_refused_with_lambdas_messages() {
    let out = tempfile::tempdir().expect("out dir");
    let eddy = Eddy::start();
    let client = lambda(&eddy).await;
    let sqs = eddy.sqs().await;
    create_queue(&sqs, "work", "30").await;
    create_queue(&sqs, "short", "2").await;
    create_writer(&client, out.path(), 3).await;

    let refusal = |result: Result<_, aws_sdk_lambda::error::SdkError<_, _>>| {
        let error: aws_sdk_lambda::operation::create_event_source_mapping::CreateEventSourceMappingError =
            result.expect_err("refused").into_service_error();
        (
            error.code().unwrap_or_default().to_owned(),
            error.message().unwrap_or_default().to_owned(),
        )
    };
    let create = || {
        client
            .create_event_source_mapping()
            .event_source_arn(QUEUE_ARN)
            .function_name("writer")
    };

    let (code, message) = refusal(create().batch_size(20).send().await.map(|_| ()));
    assert_eq!(code, "InvalidParameterValueException");
    assert_eq!(
        message,
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
    );

    let (code, message) = refusal(
        create()
            .event_source_arn("arn:aws:sqs:us-east-1:000000000000:missing")
            .send()
            .await
            .map(|_| ()),
    );
    assert_eq!(code, "InvalidParameterValueException");
    assert!(
        message.contains("AWS.SimpleQueueService.NonExistentQueue"),
        "{message}"
    );

    let (code, message) = refusal(
        create()
            .event_source_arn("arn:aws:sqs:us-east-1:000000000000:short")
            .send()
            .await
            .map(|_| ()),
    );
    assert_eq!(code, "InvalidParameterValueException");
    assert_eq!(
        message,
        "Queue visibility timeout: 2 seconds is less than Function timeout: 3 seconds"
    );

    let (code, _) = refusal(create().function_name("nobody").send().await.map(|_| ()));
    assert_eq!(code, "ResourceNotFoundException");

    let first = create().send().await.expect("first mapping");
    let (code, message) = refusal(create().send().await.map(|_| ()));
    assert_eq!(code, "ResourceConflictException");
    assert!(
        message.ends_with(&format!(
            "Please update or delete the existing mapping with UUID {}",
            first.uuid().unwrap_or_default()
        )),
        "{message}"
    );
}
