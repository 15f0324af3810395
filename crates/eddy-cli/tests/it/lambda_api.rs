//! The Lambda API through the AWS SDK for Rust: a Python function deployed as on AWS
//! (a zip, CreateFunction, the `function_active_v2` waiter), invoked, updated (the next
//! invocation runs the new code), failing and timing out with Lambda's error shapes,
//! refused with Lambda's codes and messages, and kept across a restart. Runs the
//! handlers with the local `python3` (eddy's Runtime API client needs no package).

use std::time::Duration;

use crate::util::harness::{Eddy, EddyOptions};
use crate::util::lambda::{CreatePython, ROLE, python_zip};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::client::Waiters as _;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, InvocationType, LogType, Runtime};
use base64::Engine as _;

const ECHO: &str = r#"
import os

def handler(event, context):
    print("handling", event.get("n"))
    return {"n": event.get("n"), "greeting": os.environ.get("GREETING"), "version": 1}
"#;

const ECHO_V2: &str = r#"
def handler(event, context):
    return {"n": event.get("n"), "version": 2}
"#;

pub(crate) async fn lambda(eddy: &Eddy) -> Client {
    Client::new(&eddy.sdk_config().await)
}

async fn create(client: &Client, name: &str, source: &str, timeout: i32) {
    client
        .create_python(name, source)
        .timeout(timeout)
        .environment(
            Environment::builder()
                .variables("GREETING", "hello")
                .build(),
        )
        .send()
        .await
        .expect("create function");
    client
        .wait_until_function_active_v2()
        .function_name(name)
        .wait(Duration::from_secs(10))
        .await
        .expect("function becomes active");
}

async fn invoke_json(client: &Client, name: &str, payload: &str) -> serde_json::Value {
    let output = client
        .invoke()
        .function_name(name)
        .payload(Blob::new(payload))
        .send()
        .await
        .expect("invoke");
    assert_eq!(output.status_code(), 200);
    assert_eq!(output.function_error(), None, "{output:?}");
    serde_json::from_slice(output.payload().expect("payload").as_ref()).expect("json payload")
}

#[tokio::test]
async fn a_python_function_is_created_invoked_updated_and_deleted() {
    let eddy = Eddy::start();
    let client = lambda(&eddy).await;
    create(&client, "echo", ECHO, 3).await;

    let answer = invoke_json(&client, "echo", r#"{"n": 7}"#).await;
    assert_eq!(
        answer,
        serde_json::json!({"n": 7, "greeting": "hello", "version": 1})
    );

    let tailed = client
        .invoke()
        .function_name("echo")
        .log_type(LogType::Tail)
        .payload(Blob::new(r#"{"n": 8}"#))
        .send()
        .await
        .expect("invoke with tail");
    assert_eq!(tailed.executed_version(), Some("$LATEST"));
    let log = base64::engine::general_purpose::STANDARD
        .decode(tailed.log_result().expect("log result"))
        .expect("base64 log");
    let log = String::from_utf8(log).expect("utf-8 log");
    assert!(log.starts_with("START RequestId: "), "{log}");
    assert!(log.contains("handling 8"), "{log}");
    assert!(log.contains("REPORT RequestId: "), "{log}");

    let updated = client
        .update_function_code()
        .function_name("echo")
        .zip_file(Blob::new(python_zip(ECHO_V2)))
        .send()
        .await
        .expect("update code");
    client
        .wait_until_function_updated_v2()
        .function_name("echo")
        .wait(Duration::from_secs(10))
        .await
        .expect("update completes");
    let answer = invoke_json(&client, "echo", r#"{"n": 9}"#).await;
    assert_eq!(answer, serde_json::json!({"n": 9, "version": 2}));

    let function = client
        .get_function()
        .function_name("echo")
        .send()
        .await
        .expect("get function");
    let configuration = function.configuration().expect("configuration");
    assert_eq!(configuration.code_sha256(), updated.code_sha256());
    assert_eq!(
        configuration.function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:echo")
    );
    assert_eq!(configuration.runtime(), Some(&Runtime::Python312));
    let listed = client.list_functions().send().await.expect("list");
    let names: Vec<_> = listed
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(
        names,
        ["echo", "eddy-copy"],
        "with the function of eddy.toml"
    );

    client
        .update_function_configuration()
        .function_name("echo")
        .timeout(5)
        .send()
        .await
        .expect("update configuration");
    let configuration = client
        .get_function_configuration()
        .function_name("echo")
        .send()
        .await
        .expect("configuration");
    assert_eq!(configuration.timeout(), Some(5));

    client
        .delete_function()
        .function_name("echo")
        .send()
        .await
        .expect("delete");
    let error = client
        .get_function()
        .function_name("echo")
        .send()
        .await
        .expect_err("deleted");
    let service = error.into_service_error();
    assert!(service.is_resource_not_found_exception(), "{service:?}");
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::message(&service),
        Some("Function not found: arn:aws:lambda:us-east-1:000000000000:function:echo")
    );
}

#[tokio::test]
async fn handler_errors_and_timeouts_come_back_in_lambdas_shapes() {
    let eddy = Eddy::start();
    let client = lambda(&eddy).await;
    create(
        &client,
        "fails",
        "def handler(event, context):\n    raise ValueError('bad input')\n",
        3,
    )
    .await;
    let output = client
        .invoke()
        .function_name("fails")
        .send()
        .await
        .expect("invoke");
    assert_eq!(output.status_code(), 200);
    assert_eq!(output.function_error(), Some("Unhandled"));
    let document: serde_json::Value =
        serde_json::from_slice(output.payload().expect("payload").as_ref()).expect("json");
    assert_eq!(document["errorType"], "ValueError");
    assert_eq!(document["errorMessage"], "bad input");
    assert!(document["stackTrace"].is_array(), "{document}");

    create(
        &client,
        "slow",
        "import time\n\ndef handler(event, context):\n    time.sleep(5)\n",
        1,
    )
    .await;
    let output = client
        .invoke()
        .function_name("slow")
        .send()
        .await
        .expect("invoke");
    assert_eq!(output.function_error(), Some("Unhandled"));
    let document: serde_json::Value =
        serde_json::from_slice(output.payload().expect("payload").as_ref()).expect("json");
    let message = document["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.ends_with("Task timed out after 1.00 seconds"),
        "{document}"
    );

    let dry = client
        .invoke()
        .function_name("fails")
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .expect("dry run");
    assert_eq!(dry.status_code(), 204);
}

#[tokio::test]
async fn refusals_use_lambdas_codes_and_messages() {
    let eddy = Eddy::start();
    let client = lambda(&eddy).await;
    create(&client, "taken", ECHO, 3).await;
    let code = || {
        FunctionCode::builder()
            .zip_file(Blob::new(python_zip(ECHO)))
            .build()
    };
    let duplicate = client
        .create_function()
        .function_name("taken")
        .runtime(Runtime::Python312)
        .handler("index.handler")
        .role(ROLE)
        .code(code())
        .send()
        .await
        .expect_err("duplicate")
        .into_service_error();
    assert!(duplicate.is_resource_conflict_exception(), "{duplicate:?}");
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::message(&duplicate),
        Some("Function already exist: taken")
    );

    let not_a_zip = client
        .create_function()
        .function_name("broken")
        .runtime(Runtime::Python312)
        .handler("index.handler")
        .role(ROLE)
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new("not a zip"))
                .build(),
        )
        .send()
        .await
        .expect_err("not a zip")
        .into_service_error();
    assert!(
        not_a_zip.is_invalid_parameter_value_exception(),
        "{not_a_zip:?}"
    );
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::message(&not_a_zip),
        Some("Could not unzip uploaded file. Please check your file, then try to upload again.")
    );

    let retired = client
        .create_function()
        .function_name("old")
        .runtime(Runtime::Python27)
        .handler("index.handler")
        .role(ROLE)
        .code(code())
        .send()
        .await
        .expect_err("retired runtime")
        .into_service_error();
    assert!(
        retired.is_invalid_parameter_value_exception(),
        "{retired:?}"
    );

    let missing_key = client
        .create_function()
        .function_name("from-s3")
        .runtime(Runtime::Python312)
        .handler("index.handler")
        .role(ROLE)
        .code(
            FunctionCode::builder()
                .s3_bucket("code")
                .s3_key("missing.zip")
                .build(),
        )
        .send()
        .await
        .expect_err("missing bucket")
        .into_service_error();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::message(&missing_key),
        Some(
            "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist"
        )
    );

    let long_timeout = client
        .create_function()
        .function_name("too-long")
        .runtime(Runtime::Python312)
        .handler("index.handler")
        .role(ROLE)
        .timeout(901)
        .code(code())
        .send()
        .await
        .expect_err("timeout over 900")
        .into_service_error();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&long_timeout),
        Some("ValidationException")
    );

    let missing = client
        .invoke()
        .function_name("nobody")
        .send()
        .await
        .expect_err("missing function")
        .into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");
}

#[tokio::test]
async fn code_comes_from_eddys_s3_and_an_s3_bucket_named_like_the_lambda_path_stays_s3() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    let client = lambda(&eddy).await;
    s3.create_bucket()
        .bucket("2015-03-31")
        .send()
        .await
        .expect("bucket named like Lambda's path");
    s3.put_object()
        .bucket("2015-03-31")
        .key("functions/echo.zip")
        .body(python_zip(ECHO).into())
        .send()
        .await
        .expect("upload the package");
    client
        .create_function()
        .function_name("from-s3")
        .runtime(Runtime::Python312)
        .handler("index.handler")
        .role(ROLE)
        .code(
            FunctionCode::builder()
                .s3_bucket("2015-03-31")
                .s3_key("functions/echo.zip")
                .build(),
        )
        .send()
        .await
        .expect("create from S3");
    let answer = invoke_json(&client, "from-s3", r#"{"n": 1}"#).await;
    assert_eq!(answer["version"], 1);
    let listed = s3
        .list_objects_v2()
        .bucket("2015-03-31")
        .send()
        .await
        .expect("S3 still answers for the bucket");
    assert_eq!(listed.contents().len(), 1);
}

#[tokio::test]
async fn a_function_survives_a_kill_and_restart() {
    let mut eddy = Eddy::process();
    let client = lambda(&eddy).await;
    create(&client, "durable", ECHO, 3).await;
    let data_dir = eddy.data_dir.clone();
    let temp = eddy.take_temp();
    // SIGKILL: CreateFunction answered, so the function is durable without a clean stop.
    eddy.child().kill().expect("kill eddy");
    eddy.child().wait().expect("wait for eddy");
    drop(eddy);

    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir),
    });
    let client = lambda(&eddy).await;
    let answer = invoke_json(&client, "durable", r#"{"n": 2}"#).await;
    assert_eq!(answer["greeting"], "hello");
    drop(temp);
}
