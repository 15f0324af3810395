//! S3 to Lambda: bucket notifications with `LambdaFunctionConfigurations` through the
//! AWS SDK for Rust. A Python function that appends every event it gets to a file
//! is the destination: an upload invokes it asynchronously with the S3 event record
//! an SQS destination gets, Get returns the configuration as Put gave it, S3's
//! validation refuses a missing function or one whose policy does not allow S3 (with
//! S3's numbered `ArgumentName`/`ArgumentValue`), and an invocation still to be retried
//! when eddy is killed runs after the restart.

use std::path::Path;
use std::time::Duration;

use aws_sdk_lambda::types::Environment;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
    NotificationConfigurationFilter, S3KeyFilter,
};
use eddy_testing::sign::Service;
use serde_json::Value;

use super::lambda_api::lambda;
use crate::util::harness::{Eddy, EddyOptions, eventually};
use crate::util::lambda::CreatePython;
use crate::util::raw::send_signed;
use crate::util::s3::{create_queue, queue_config, receive_bodies};

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:recorder";

/// Appends each event to `$OUT` (one JSON line); fails while `$FAIL_FIRST` attempts
/// have not yet been made.
const RECORDER: &str = r#"
import json, os

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps(event) + "\n")
    with open(os.environ["OUT"]) as seen:
        attempts = len(seen.readlines())
    if attempts <= int(os.environ.get("FAIL_FIRST", "0")):
        raise RuntimeError("not yet")
    return "ok"
"#;

async fn create_recorder(eddy: &Eddy, out: &Path, fail_first: u32) -> aws_sdk_lambda::Client {
    let client = lambda(eddy).await;
    create_recorder_with(&client, out, fail_first).await;
    client
}

/// Creates the function `recorder` ([`RECORDER`]) through `client`.
pub(crate) async fn create_recorder_with(
    client: &aws_sdk_lambda::Client,
    out: &Path,
    fail_first: u32,
) {
    client
        .create_python("recorder", RECORDER)
        .environment(
            Environment::builder()
                .variables("OUT", out.to_string_lossy())
                .variables("FAIL_FIRST", fail_first.to_string())
                .build(),
        )
        .send()
        .await
        .expect("create function");
}

pub(crate) async fn allow_s3(client: &aws_sdk_lambda::Client, bucket: &str) {
    client
        .add_permission()
        .function_name("recorder")
        .statement_id("s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn(format!("arn:aws:s3:::{bucket}"))
        .source_account("000000000000")
        .send()
        .await
        .expect("add permission");
}

fn function_config(id: &str, arn: &str, prefix: &str) -> LambdaFunctionConfiguration {
    LambdaFunctionConfiguration::builder()
        .id(id)
        .lambda_function_arn(arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(
            NotificationConfigurationFilter::builder()
                .key(
                    S3KeyFilter::builder()
                        .filter_rules(
                            FilterRule::builder()
                                .name(FilterRuleName::Prefix)
                                .value(prefix)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
        .expect("lambda configuration")
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("event line"))
        .collect()
}

async fn events_seen(path: &Path, count: usize) -> Vec<Value> {
    let path = path.to_owned();
    eventually(Duration::from_secs(20), "the function's events", || {
        let seen = lines(&path);
        async move { (seen.len() >= count).then_some(seen) }
    })
    .await
}

/// The structure of a JSON value: its object keys, recursively (arrays by element).
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        _ => Value::Null,
    }
}

#[tokio::test]
async fn an_upload_invokes_the_function_with_the_s3_event_record() {
    let out = tempfile::tempdir().expect("out dir");
    let events = out.path().join("events");
    let eddy = Eddy::start();
    let client = create_recorder(&eddy, &events, 0).await;
    allow_s3(&client, "uploads").await;
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    s3.create_bucket()
        .bucket("uploads")
        .send()
        .await
        .expect("bucket");
    let (queue_url, queue_arn) = create_queue(&sqs, "side").await;
    let configuration = NotificationConfiguration::builder()
        .lambda_function_configurations(function_config("to-function", FUNCTION_ARN, "in/"))
        .queue_configurations(queue_config(
            "to-queue",
            &queue_arn,
            &["s3:ObjectCreated:*"],
            Some("q/"),
            None,
        ))
        .build();
    s3.put_bucket_notification_configuration()
        .bucket("uploads")
        .notification_configuration(configuration)
        .send()
        .await
        .expect("put notification");

    let got = s3
        .get_bucket_notification_configuration()
        .bucket("uploads")
        .send()
        .await
        .expect("get notification");
    let [answered] = got.lambda_function_configurations() else {
        panic!("one function configuration: {got:?}");
    };
    assert_eq!(answered.id(), Some("to-function"));
    assert_eq!(answered.lambda_function_arn(), FUNCTION_ARN);
    assert_eq!(answered.events(), [Event::from("s3:ObjectCreated:*")]);
    // S3 answers the rule name as `Prefix`, whatever case was sent.
    let rules: Vec<_> = answered
        .filter()
        .and_then(NotificationConfigurationFilter::key)
        .map(S3KeyFilter::filter_rules)
        .unwrap_or_default()
        .iter()
        .map(|r| (r.name().map(FilterRuleName::as_str), r.value()))
        .collect();
    assert_eq!(rules, [(Some("Prefix"), Some("in/"))]);
    assert_eq!(got.queue_configurations().len(), 1);
    let test_event = receive_bodies(&sqs, &queue_url, 1).await;
    assert_eq!(test_event[0]["Event"], "s3:TestEvent");

    s3.put_object()
        .bucket("uploads")
        .key("out/ignored.txt")
        .body(ByteStream::from_static(b"no"))
        .send()
        .await
        .expect("put unmatched");
    let put = s3
        .put_object()
        .bucket("uploads")
        .key("in/a b.txt")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .expect("put matched");
    s3.put_object()
        .bucket("uploads")
        .key("q/a b.txt")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .expect("put for the queue");

    let seen = events_seen(&events, 1).await;
    let record = &seen[0]["Records"][0];
    assert_eq!(seen[0]["Records"].as_array().map(Vec::len), Some(1));
    assert_eq!(record["eventSource"], "aws:s3");
    assert_eq!(record["eventVersion"], "2.1");
    assert_eq!(record["awsRegion"], "us-east-1");
    assert_eq!(record["eventName"], "ObjectCreated:Put");
    assert_eq!(record["s3"]["configurationId"], "to-function");
    assert_eq!(record["s3"]["bucket"]["name"], "uploads");
    assert_eq!(record["s3"]["bucket"]["arn"], "arn:aws:s3:::uploads");
    assert_eq!(record["s3"]["object"]["key"], "in/a+b.txt");
    assert_eq!(record["s3"]["object"]["size"], 5);
    assert_eq!(
        record["s3"]["object"]["eTag"],
        put.e_tag().expect("etag").trim_matches('"')
    );

    // The same record as an SQS destination gets, field for field.
    let queued = receive_bodies(&sqs, &queue_url, 1).await;
    let queued_record = &queued[0]["Records"][0];
    assert_eq!(queued_record["s3"]["object"]["key"], "q/a+b.txt");
    assert_eq!(shape(record), shape(queued_record));
    for field in [
        "eventVersion",
        "eventSource",
        "awsRegion",
        "eventName",
        "userIdentity",
    ] {
        assert_eq!(record[field], queued_record[field], "{field}");
    }
    assert_eq!(record["s3"]["bucket"], queued_record["s3"]["bucket"]);
    assert_eq!(
        record["s3"]["object"]["eTag"],
        queued_record["s3"]["object"]["eTag"]
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        lines(&events).len(),
        1,
        "only the matching upload invoked the function"
    );
}

/// PutBucketNotificationConfiguration as raw signed XML: the status and the body.
fn put_raw(eddy: &Eddy, bucket: &str, arn: &str) -> eddy_testing::raw::RawResponse {
    // S3's XML names: `CloudFunctionConfiguration` holding `CloudFunction`.
    let body = format!(
        "<NotificationConfiguration><CloudFunctionConfiguration><Id>f</Id>\
         <CloudFunction>{arn}</CloudFunction><Event>s3:ObjectCreated:*</Event>\
         </CloudFunctionConfiguration></NotificationConfiguration>"
    );
    send_signed(
        Service::S3,
        &eddy.endpoint,
        "PUT",
        &format!("/{bucket}?notification"),
        &[("content-type", "application/xml")],
        body.as_bytes(),
    )
}

fn assert_not_authorized(answer: &eddy_testing::raw::RawResponse, arn: &str) {
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.code(), "InvalidArgument");
    assert_eq!(
        answer.first("Message").as_deref(),
        Some("Unable to validate the following destination configurations")
    );
    assert_eq!(answer.first("ArgumentName1"), Some(format!("{arn}, null")));
    assert_eq!(
        answer.first("ArgumentValue1"),
        Some(format!("Not authorized to invoke function [{arn}]"))
    );
    assert!(answer.header("x-eddy-error-arguments").is_none());
}

#[tokio::test]
async fn a_missing_function_or_permission_is_refused_as_s3_refuses_it() {
    let out = tempfile::tempdir().expect("out dir");
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    s3.create_bucket()
        .bucket("guarded")
        .send()
        .await
        .expect("bucket");

    // No such function.
    assert_not_authorized(&put_raw(&eddy, "guarded", FUNCTION_ARN), FUNCTION_ARN);

    // The function exists but its policy does not let S3 invoke it.
    let client = create_recorder(&eddy, &out.path().join("events"), 0).await;
    assert_not_authorized(&put_raw(&eddy, "guarded", FUNCTION_ARN), FUNCTION_ARN);
    // A statement for another bucket does not do.
    allow_s3(&client, "another-bucket").await;
    let sdk_error = s3
        .put_bucket_notification_configuration()
        .bucket("guarded")
        .notification_configuration(
            NotificationConfiguration::builder()
                .lambda_function_configurations(function_config("f", FUNCTION_ARN, "x/"))
                .build(),
        )
        .send()
        .await
        .expect_err("policy for another bucket")
        .into_service_error();
    let meta = aws_sdk_s3::error::ProvideErrorMetadata::meta(&sdk_error);
    assert_eq!(meta.code(), Some("InvalidArgument"));
    // A version that does not exist is refused too.
    let missing_version = format!("{FUNCTION_ARN}:7");
    assert_not_authorized(
        &put_raw(&eddy, "guarded", &missing_version),
        &missing_version,
    );

    // Nothing was stored by the refused requests.
    let got = s3
        .get_bucket_notification_configuration()
        .bucket("guarded")
        .send()
        .await
        .expect("get");
    assert!(got.lambda_function_configurations().is_empty());

    // With the permission for this bucket it is accepted.
    client
        .remove_permission()
        .function_name("recorder")
        .statement_id("s3")
        .send()
        .await
        .expect("remove permission");
    allow_s3(&client, "guarded").await;
    let answer = put_raw(&eddy, "guarded", FUNCTION_ARN);
    assert_eq!(answer.status, 200, "{}", answer.body);

    // A missing queue beside it is named with S3's reason.
    let missing_queue = "arn:aws:sqs:us-east-1:000000000000:nowhere";
    let body = format!(
        "<NotificationConfiguration><QueueConfiguration><Id>q</Id><Queue>{missing_queue}</Queue>\
         <Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>"
    );
    let answer = send_signed(
        Service::S3,
        &eddy.endpoint,
        "PUT",
        "/guarded?notification",
        &[("content-type", "application/xml")],
        body.as_bytes(),
    );
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        answer.first("ArgumentName1").as_deref(),
        Some(missing_queue)
    );
    assert_eq!(
        answer.first("ArgumentValue1").as_deref(),
        Some("The destination queue does not exist")
    );
}

#[tokio::test]
async fn a_pending_invocation_survives_a_kill_and_runs_after_the_restart() {
    let out = tempfile::tempdir().expect("out dir");
    let events = out.path().join("events");
    let config = "lambda_async_retry_delays_seconds = [2, 2]\n";
    let mut eddy = Eddy::process_with_config(config);
    // The first attempt fails: the retry is due 2 s later, and eddy is killed before.
    let client = create_recorder(&eddy, &events, 1).await;
    allow_s3(&client, "durable").await;
    let s3 = eddy.s3().await;
    s3.create_bucket()
        .bucket("durable")
        .send()
        .await
        .expect("bucket");
    s3.put_bucket_notification_configuration()
        .bucket("durable")
        .notification_configuration(
            NotificationConfiguration::builder()
                .lambda_function_configurations(function_config("f", FUNCTION_ARN, "in/"))
                .build(),
        )
        .send()
        .await
        .expect("put notification");
    s3.put_object()
        .bucket("durable")
        .key("in/kept")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put");
    events_seen(&events, 1).await;
    let data_dir = eddy.data_dir.clone();
    let temp = eddy.take_temp();
    eddy.child().kill().expect("kill eddy");
    eddy.child().wait().expect("wait for eddy");
    drop(eddy);

    let eddy = Eddy::start_with(EddyOptions {
        config: config.to_owned(),
        data_dir: Some(data_dir),
    });
    let seen = events_seen(&events, 2).await;
    assert_eq!(seen[1], seen[0], "the retry carries the same event");
    assert_eq!(seen[1]["Records"][0]["s3"]["object"]["key"], "in/kept");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        lines(&events).len(),
        2,
        "the retry succeeded: no third attempt"
    );
    drop(eddy);
    drop(temp);
}

#[tokio::test]
async fn a_function_on_the_pipelines_source_bucket_stays_configured_across_a_restart() {
    let out = tempfile::tempdir().expect("out dir");
    let events = out.path().join("events");
    let mut eddy = Eddy::process();
    let client = create_recorder(&eddy, &events, 0).await;
    allow_s3(&client, "source").await;
    let s3 = eddy.s3().await;
    let own = s3
        .get_bucket_notification_configuration()
        .bucket("source")
        .send()
        .await
        .expect("eddy's own configuration");
    assert_eq!(own.queue_configurations().len(), 1);
    let removals = LambdaFunctionConfiguration::builder()
        .id("on-delete")
        .lambda_function_arn(FUNCTION_ARN)
        .events(Event::from("s3:ObjectRemoved:*"))
        .build()
        .expect("configuration");
    s3.put_bucket_notification_configuration()
        .bucket("source")
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(own.queue_configurations().to_vec()))
                .lambda_function_configurations(removals.clone())
                .build(),
        )
        .send()
        .await
        .expect("add a function for removals");

    let data_dir = eddy.data_dir.clone();
    let temp = eddy.take_temp();
    eddy.terminate();
    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir),
    });
    let s3 = eddy.s3().await;
    let kept = s3
        .get_bucket_notification_configuration()
        .bucket("source")
        .send()
        .await
        .expect("after the restart");
    assert_eq!(kept.lambda_function_configurations(), [removals]);
    assert_eq!(kept.queue_configurations(), own.queue_configurations());
    s3.put_object()
        .bucket("source")
        .key("gone")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put");
    s3.delete_object()
        .bucket("source")
        .key("gone")
        .send()
        .await
        .expect("delete");
    let seen = events_seen(&events, 1).await;
    assert_eq!(seen[0]["Records"][0]["eventName"], "ObjectRemoved:Delete");
    drop(temp);
}
