//! The functions and mappings of `eddy.toml` in the Lambda API, the dashboard's API and
//! `eddy status`, beside those created through the Lambda API: ListFunctions,
//! GetFunction(Configuration), ListEventSourceMappings and GetEventSourceMapping show
//! them in Lambda's shapes (the mapping's UUID stays the same across a restart), and
//! a change or delete of one answers `InvalidParameterValueException`. Invoke runs
//! them: a scripted external command (Python through eddy's Runtime API client)
//! synchronously, with an error, with `LogType: Tail` and as an `Event`; the built-in
//! copy function with an SQS event carrying an S3 event.

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType, Runtime};

use base64::Engine as _;

use super::lambda_api::lambda;
use super::operator::{eddy_command, http_get, stdout};
use crate::util::harness::{Eddy, EddyOptions};
use crate::util::lambda::CreatePython;
use crate::util::s3::create_queue;

const COPY_ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:eddy-copy";
const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:file-events";

/// The code and message of a call that must fail.
fn refused<T, E: ProvideErrorMetadata>(result: Result<T, E>) -> (String, String) {
    match result {
        Ok(_) => panic!("the call must be refused"),
        Err(error) => (
            error.code().unwrap_or_default().to_owned(),
            error.message().unwrap_or_default().to_owned(),
        ),
    }
}

fn assert_read_only((code, message): (String, String)) {
    assert_eq!(code, "InvalidParameterValueException", "{message}");
    assert!(message.contains("configured in eddy.toml"), "{message}");
}

#[tokio::test]
async fn configured_functions_and_mappings_appear_in_the_api_read_only() {
    let mut eddy = Eddy::process();
    let client = lambda(&eddy).await;
    let sqs = eddy.sqs().await;
    let (_, api_queue) = create_queue(&sqs, "api-events").await;
    client
        .create_python("api-fn", "def handler(e, c):\n    return 1\n")
        .send()
        .await
        .expect("create");
    let api_mapping = client
        .create_event_source_mapping()
        .function_name("api-fn")
        .event_source_arn(&api_queue)
        .send()
        .await
        .expect("create mapping")
        .uuid()
        .expect("uuid")
        .to_owned();

    let listed = client.list_functions().send().await.expect("list");
    let names: Vec<&str> = listed
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(names, ["api-fn", "eddy-copy"]);
    let copy = client
        .get_function()
        .function_name("eddy-copy")
        .send()
        .await
        .expect("get configured function");
    let configuration = copy.configuration().expect("configuration");
    assert_eq!(configuration.function_arn(), Some(COPY_ARN));
    assert_eq!(configuration.runtime(), Some(&Runtime::Providedal2023));
    assert_eq!(configuration.version(), Some("$LATEST"));
    assert_eq!(
        configuration.state(),
        Some(&aws_sdk_lambda::types::State::Active)
    );
    assert!(
        configuration
            .description()
            .is_some_and(|d| d.contains("built-in copy function")),
        "{configuration:?}"
    );
    assert!(copy.code().is_none(), "no deployment package");
    let by_arn = client
        .get_function_configuration()
        .function_name(COPY_ARN)
        .send()
        .await
        .expect("get configuration by ARN");
    assert_eq!(by_arn.timeout(), configuration.timeout());
    let no_version = refused(
        client
            .get_function()
            .function_name("eddy-copy")
            .qualifier("1")
            .send()
            .await,
    );
    assert_eq!(
        no_version,
        (
            "ResourceNotFoundException".to_owned(),
            format!("Function not found: {COPY_ARN}:1")
        )
    );

    assert_read_only(refused(
        client
            .update_function_configuration()
            .function_name("eddy-copy")
            .timeout(9)
            .send()
            .await,
    ));
    assert_read_only(refused(
        client
            .delete_function()
            .function_name("eddy-copy")
            .send()
            .await,
    ));
    let dry_run = client
        .invoke()
        .function_name("eddy-copy")
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .expect("DryRun of a configured function");
    assert_eq!(dry_run.status_code(), 204);
    let taken = refused(
        client
            .create_python("eddy-copy", "def handler(e, c):\n    return 1\n")
            .send()
            .await,
    );
    assert_eq!(taken.0, "ResourceConflictException", "{taken:?}");

    let mappings = client
        .list_event_source_mappings()
        .send()
        .await
        .expect("list mappings");
    let configured = mappings
        .event_source_mappings()
        .iter()
        .find(|m| m.event_source_arn() == Some(QUEUE_ARN))
        .expect("the eddy.toml mapping is listed");
    assert_eq!(configured.function_arn(), Some(COPY_ARN));
    assert_eq!(configured.batch_size(), Some(10));
    assert_eq!(configured.state(), Some("Enabled"));
    assert_eq!(
        configured.function_response_types(),
        [aws_sdk_lambda::types::FunctionResponseType::ReportBatchItemFailures]
    );
    assert!(
        mappings
            .event_source_mappings()
            .iter()
            .any(|m| m.uuid() == Some(api_mapping.as_str()))
    );
    let uuid = configured.uuid().expect("uuid").to_owned();
    let got = client
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .expect("get configured mapping");
    assert_eq!(got.event_source_arn(), Some(QUEUE_ARN));
    let only_copy = client
        .list_event_source_mappings()
        .function_name("eddy-copy")
        .send()
        .await
        .expect("filtered list");
    assert_eq!(only_copy.event_source_mappings().len(), 1);
    assert_read_only(refused(
        client
            .update_event_source_mapping()
            .uuid(&uuid)
            .batch_size(5)
            .send()
            .await,
    ));
    assert_read_only(refused(
        client
            .delete_event_source_mapping()
            .uuid(&uuid)
            .send()
            .await,
    ));

    // The dashboard's API and `eddy status` show both kinds.
    let (status, body) = http_get(&format!("{}/_eddy/api/overview", eddy.endpoint)).await;
    assert_eq!(status, 200);
    let overview: serde_json::Value = serde_json::from_str(&body).expect("json");
    let functions = overview["pipeline"]["functions"]
        .as_array()
        .expect("functions");
    let sources: Vec<(&str, &str)> = functions
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or(""),
                f["source"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(sources, [("eddy-copy", "eddy.toml"), ("api-fn", "api")]);
    let mapping_sources: Vec<(&str, &str)> = overview["pipeline"]["mappings"]
        .as_array()
        .expect("mappings")
        .iter()
        .map(|m| {
            (
                m["queue"].as_str().unwrap_or(""),
                m["source"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        mapping_sources,
        [("file-events", "eddy.toml"), ("api-events", "api")]
    );
    let text = stdout(&eddy_command(&eddy, &["status"]));
    let api_line = text
        .lines()
        .find(|l| l.starts_with("api-fn"))
        .expect("the API function's row");
    assert!(
        api_line.contains("python3.12") && api_line.ends_with("api"),
        "{text}"
    );
    let mapping_line = text
        .lines()
        .find(|l| l.starts_with("api-events") && l.contains("api-fn"))
        .expect("the API mapping's row");
    assert!(
        mapping_line.contains("Enabled") && mapping_line.ends_with("api"),
        "{text}"
    );

    // The configured mapping's UUID is the same after a restart.
    let data_dir = eddy.data_dir.clone();
    let temp = eddy.take_temp();
    eddy.terminate();
    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir),
    });
    let client = lambda(&eddy).await;
    let again = client
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .expect("same UUID after a restart");
    assert_eq!(again.function_arn(), Some(COPY_ARN));
    drop(temp);
}

/// A Python handler run as an `eddy.toml` command: it echoes the event, fails when
/// asked to, and writes a file when asked to (the effect of an `Event` invocation).
const SCRIPTED_HANDLER: &str = r#"import json, os

def handler(event, context):
    print("handling " + json.dumps(event, sort_keys=True))
    if event.get("fail"):
        raise ValueError("asked to fail")
    if "fail_first" in event and not os.path.exists(event["fail_first"]):
        open(event["fail_first"], "w").close()
        raise RuntimeError("the first attempt fails")
    if "touch" in event:
        # Written whole, then renamed: the test waits for the file and reads it at once.
        with open(event["touch"] + ".part", "w") as f:
            f.write(event["text"])
        os.replace(event["touch"] + ".part", event["touch"])
    return {"echo": event, "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}
"#;

/// The configuration of eddy with the scripted function `scripted` (and the default
/// pipeline), its handler written into `dir`.
fn scripted_config(dir: &std::path::Path) -> String {
    std::fs::write(dir.join("app.py"), SCRIPTED_HANDLER).expect("write handler");
    let client = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../eddy-runtimes/python/bootstrap.py");
    format!(
        "destination_prefix = \"copied/\"\nlambda_async_retry_delays_seconds = [3, 3]\n\n[[functions]]\nname = \"scripted\"\ncommand = [\"python3\", \"{}\"]\nhandler = \"app.handler\"\nworking_dir = \"{}\"\ntimeout = 5\n",
        client.display(),
        dir.display()
    )
}

/// Waits until `path` exists (an effect of the function), up to 40 s.
async fn wait_for_file(path: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Every message of log group `/aws/lambda/<function>` (FilterLogEvents, signed raw).
fn logged(eddy: &Eddy, function: &str) -> String {
    let request = serde_json::json!({ "logGroupName": format!("/aws/lambda/{function}") });
    let answer = crate::util::raw::send_signed(
        eddy_testing::sign::Service::Named("logs"),
        &eddy.endpoint,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "Logs_20140328.FilterLogEvents"),
        ],
        request.to_string().as_bytes(),
    );
    if answer.status != 200 {
        return String::new();
    }
    let events: serde_json::Value = serde_json::from_str(&answer.body).expect("JSON");
    events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .collect()
}

fn body(output: &aws_sdk_lambda::operation::invoke::InvokeOutput) -> serde_json::Value {
    let payload = output.payload().expect("payload").as_ref();
    serde_json::from_slice(payload)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(payload)))
}

#[tokio::test]
async fn configured_command_function_is_invoked_through_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let eddy = Eddy::start_with_config(&scripted_config(dir.path()));
    let client = lambda(&eddy).await;

    let ok = client
        .invoke()
        .function_name("scripted")
        .payload(Blob::new(r#"{"n": 1}"#))
        .send()
        .await
        .expect("invoke");
    assert_eq!(ok.status_code(), 200);
    assert_eq!(ok.function_error(), None);
    assert_eq!(ok.executed_version(), Some("$LATEST"));
    assert_eq!(
        body(&ok),
        serde_json::json!({"echo": {"n": 1}, "function": "scripted"})
    );

    let failed = client
        .invoke()
        .function_name("arn:aws:lambda:us-east-1:000000000000:function:scripted")
        .payload(Blob::new(r#"{"fail": true}"#))
        .log_type(LogType::Tail)
        .send()
        .await
        .expect("invoke with an error");
    assert_eq!(failed.status_code(), 200);
    assert_eq!(failed.function_error(), Some("Unhandled"));
    let error = body(&failed);
    assert_eq!(error["errorType"], "ValueError", "{error}");
    assert_eq!(error["errorMessage"], "asked to fail", "{error}");
    let tail = base64::engine::general_purpose::STANDARD
        .decode(failed.log_result().expect("LogType Tail returns the log"))
        .expect("base64");
    let tail = String::from_utf8(tail).expect("utf-8");
    let request_id = tail
        .lines()
        .find_map(|l| l.strip_prefix("START RequestId: "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("START line: {tail}"))
        .to_owned();
    assert!(
        tail.contains("START RequestId: ") && tail.contains("Version: $LATEST"),
        "{tail}"
    );
    assert!(tail.contains(r#"handling {"fail": true}"#), "{tail}");
    assert!(
        tail.contains(&format!("END RequestId: {request_id}")),
        "{tail}"
    );
    assert!(
        tail.contains(&format!("REPORT RequestId: {request_id}\tDuration: ")),
        "{tail}"
    );
    assert!(tail.contains("Memory Size: 128 MB"), "{tail}");

    // The log went to the function's log group too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !logged(&eddy, "scripted").contains(&format!("END RequestId: {request_id}")) {
        assert!(
            std::time::Instant::now() < deadline,
            "no log in /aws/lambda/scripted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let dry = client
        .invoke()
        .function_name("scripted")
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .expect("DryRun");
    assert_eq!(dry.status_code(), 204);
    let version = refused(
        client
            .invoke()
            .function_name("scripted")
            .qualifier("1")
            .send()
            .await,
    );
    assert_eq!(version.0, "ResourceNotFoundException", "{version:?}");

    // Event: queued, run by the asynchronous invoker, its effect lands.
    let marker = dir.path().join("event-ran");
    let queued = client
        .invoke()
        .function_name("scripted")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(
            serde_json::json!({"touch": marker, "text": "queued"}).to_string(),
        ))
        .send()
        .await
        .expect("Event invoke");
    assert_eq!(queued.status_code(), 202);
    wait_for_file(&marker).await;
    assert_eq!(std::fs::read_to_string(&marker).expect("read"), "queued");

    // Still read-only.
    assert_read_only(refused(
        client
            .delete_function()
            .function_name("scripted")
            .send()
            .await,
    ));
    assert_read_only(refused(
        client
            .update_function_configuration()
            .function_name("scripted")
            .timeout(9)
            .send()
            .await,
    ));
}

#[tokio::test]
async fn configured_event_invocation_is_retried_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The retry is due 10 s after the first attempt: time enough to stop eddy before it
    // even on a loaded machine.
    let config = scripted_config(dir.path()).replace(
        "lambda_async_retry_delays_seconds = [3, 3]",
        "lambda_async_retry_delays_seconds = [10, 10]",
    );
    assert!(config.contains("[10, 10]"));
    let mut eddy = Eddy::process_with_config(&config);
    let client = lambda(&eddy).await;
    let (first, done) = (dir.path().join("first"), dir.path().join("done"));
    let queued = client
        .invoke()
        .function_name("scripted")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(
            serde_json::json!({"fail_first": first, "touch": done, "text": "retried"}).to_string(),
        ))
        .send()
        .await
        .expect("Event invoke");
    assert_eq!(queued.status_code(), 202);
    // The first attempt fails; eddy stops before the retry is due.
    wait_for_file(&first).await;
    let data_dir = eddy.data_dir.clone();
    let temp = eddy.take_temp();
    eddy.terminate();
    assert!(!done.exists(), "the retry ran before the restart");
    let eddy = Eddy::start_with(EddyOptions {
        config,
        data_dir: Some(data_dir),
    });
    wait_for_file(&done).await;
    assert_eq!(std::fs::read_to_string(&done).expect("read"), "retried");
    drop((eddy, temp));
}

#[tokio::test]
async fn builtin_copy_function_is_invoked_with_an_sqs_event_payload() {
    let eddy = Eddy::start_with_config("destination_prefix = \"copied/\"\n");
    let client = lambda(&eddy).await;
    let s3 = eddy.s3().await;
    // A bucket with no notification: only the invocation copies its object.
    s3.create_bucket()
        .bucket("side")
        .send()
        .await
        .expect("create side bucket");
    let put = s3
        .put_object()
        .bucket("side")
        .key("report one.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"copied by Invoke",
        ))
        .send()
        .await
        .expect("put");
    let s3_event = serde_json::json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": "side", "arn": "arn:aws:s3:::side"},
            "object": {"key": "report+one.txt", "size": 16, "eTag": put.e_tag().unwrap_or_default().trim_matches('"')}
        }
    }]});
    let sqs_event = serde_json::json!({"Records": [{
        "messageId": "0f7c9d3e-7d1b-4b8e-9a4f-1f2e3d4c5b6a",
        "receiptHandle": "handle",
        "body": s3_event.to_string(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1"
    }]});
    let copied = client
        .invoke()
        .function_name("eddy-copy")
        .payload(Blob::new(sqs_event.to_string()))
        .log_type(LogType::Tail)
        .send()
        .await
        .expect("invoke the built-in copy function");
    assert_eq!(copied.function_error(), None, "{:?}", body(&copied));
    assert_eq!(body(&copied), serde_json::json!({"batchItemFailures": []}));
    let tail = base64::engine::general_purpose::STANDARD
        .decode(copied.log_result().expect("log"))
        .expect("base64");
    let tail = String::from_utf8_lossy(&tail);
    assert!(
        tail.starts_with("START RequestId: ") && tail.contains("REPORT RequestId: "),
        "{tail}"
    );
    let object = s3
        .get_object()
        .bucket("destination")
        .key("copied/report one.txt")
        .send()
        .await
        .expect("the object was copied");
    let bytes = object.body.collect().await.expect("body").into_bytes();
    assert_eq!(&bytes[..], b"copied by Invoke");

    // A payload that is no SQS event is a function error, as the Rust bootstrap's.
    let wrong = client
        .invoke()
        .function_name("eddy-copy")
        .payload(Blob::new(r#"{"hello": 1}"#))
        .send()
        .await
        .expect("invoke with a wrong payload");
    assert_eq!(wrong.function_error(), Some("Unhandled"));
    let error = body(&wrong);
    assert_eq!(
        error["errorType"], "lambda_runtime::deserializer::DeserializeError",
        "{error}"
    );
}
