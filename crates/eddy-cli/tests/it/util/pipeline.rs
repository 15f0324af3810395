//! Shared by the function, mapping and worker tests: the end-to-end scenario every host
//! of the copy function must pass, and the scripted external function (a Python program
//! speaking the Lambda Runtime API) with its invocation log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use crate::util::harness::{eventually, get_bytes, queue_count};

/// The S3 test event S3 sends after a notification configuration is saved.
pub const TEST_EVENT: &str = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-26T00:00:00.000Z","Bucket":"source","RequestId":"TESTREQUEST","HostId":"TESTHOST"}"#;
pub const POISON: &str = "this is not an S3 event";

/// Where the scenario runs.
pub struct Pipeline<'a> {
    pub s3: &'a aws_sdk_s3::Client,
    pub sqs: &'a aws_sdk_sqs::Client,
    pub source_bucket: &'a str,
    pub destination_bucket: &'a str,
    pub destination_prefix: &'a str,
    pub queue_url: &'a str,
    pub dlq_url: &'a str,
    pub max_receive_count: u32,
    /// A bucket without notifications, for the stale-event check.
    pub side_bucket: &'a str,
    /// The region of events the scenario fabricates.
    pub region: &'a str,
    /// Whether the store honours `x-amz-copy-source-if-match` (moto_server 5.2 does
    /// not: there the scenario only checks that the stale copy is reported).
    pub honours_copy_source_if_match: bool,
}

/// An S3 event body for one object, as S3 writes it.
pub fn s3_event(region: &str, bucket: &str, encoded_key: &str, etag: &str, size: usize) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region,
        "eventTime": "2026-11-26T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "test"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "R", "x-amz-id-2": "H"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "scenario",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "test"}, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": encoded_key, "size": size, "eTag": etag, "sequencer": "0A"}}}]})
    .to_string()
}

async fn send(pipeline: &Pipeline<'_>, body: &str) {
    pipeline
        .sqs
        .send_message()
        .queue_url(pipeline.queue_url)
        .message_body(body)
        .send()
        .await
        .expect("send message");
}

async fn put(pipeline: &Pipeline<'_>, bucket: &str, key: &str, body: &[u8]) -> String {
    let output = pipeline
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("text/plain; charset=utf-8")
        .metadata("owner", "eddy-scenario")
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .expect("upload");
    output.e_tag().expect("etag").trim_matches('"').to_owned()
}

/// Upload, copy, poison message to the DLQ after maxReceiveCount, test event dropped,
/// a key with spaces and unicode, and a source overwritten between the event and the
/// copy never copied in its newer version under the older event.
pub async fn run_scenario(pipeline: &Pipeline<'_>) {
    let s3 = pipeline.s3;
    let sqs = pipeline.sqs;
    send(pipeline, TEST_EVENT).await;
    send(pipeline, POISON).await;

    // Upload: the notification carries the key encoded; the copy has the same key.
    let key = "inbox/dir with spaces/ünïcödé rapport été 2026.txt";
    let body: Vec<u8> = (0..50_000u32).flat_map(u32::to_le_bytes).collect();
    put(pipeline, pipeline.source_bucket, key, &body).await;
    let copied_key = format!("{}{key}", pipeline.destination_prefix);
    let (bytes, content_type) =
        eventually(Duration::from_secs(30), "the copy of the upload", || {
            get_bytes(s3, pipeline.destination_bucket, &copied_key)
        })
        .await;
    assert_eq!(bytes, body, "the copy differs from the upload");
    assert_eq!(content_type.as_deref(), Some("text/plain; charset=utf-8"));
    let head = s3
        .head_object()
        .bucket(pipeline.destination_bucket)
        .key(&copied_key)
        .send()
        .await
        .expect("head the copy");
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("owner"))
            .map(String::as_str),
        Some("eddy-scenario"),
        "user metadata is kept"
    );

    // A stale event: the source was overwritten after the event was raised.
    let stale_key = "stale/report.txt";
    let old_etag = put(pipeline, pipeline.side_bucket, stale_key, b"version one").await;
    let new_etag = put(
        pipeline,
        pipeline.side_bucket,
        stale_key,
        b"version two, newer",
    )
    .await;
    assert_ne!(old_etag, new_etag);
    send(
        pipeline,
        &s3_event(
            pipeline.region,
            pipeline.side_bucket,
            "stale/report.txt",
            &old_etag,
            11,
        ),
    )
    .await;

    // Everything but the poison message is consumed; the poison message reaches the DLQ.
    let dlq_message = eventually(
        Duration::from_secs(60),
        "the poison message in the DLQ",
        || async {
            let visible = queue_count(sqs, pipeline.queue_url, "ApproximateNumberOfMessages").await;
            let hidden = queue_count(
                sqs,
                pipeline.queue_url,
                "ApproximateNumberOfMessagesNotVisible",
            )
            .await;
            let dead = queue_count(sqs, pipeline.dlq_url, "ApproximateNumberOfMessages").await;
            if visible + hidden > 0 || dead == 0 {
                return None;
            }
            let output = sqs
                .receive_message()
                .queue_url(pipeline.dlq_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .ok()?;
            Some(output.messages().to_vec())
        },
    )
    .await;
    let bodies: Vec<&str> = dlq_message.iter().filter_map(|m| m.body()).collect();
    assert_eq!(
        bodies,
        vec![POISON],
        "only the poison message is dead-lettered"
    );
    let receives: u32 = dlq_message[0]
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    assert!(
        receives > pipeline.max_receive_count,
        "moved after {} receives, but its receive count is {receives}",
        pipeline.max_receive_count
    );
    // The stale event copied nothing: the newer version is not copied under it.
    let stale_copy = format!("{}{stale_key}", pipeline.destination_prefix);
    if pipeline.honours_copy_source_if_match {
        assert!(
            get_bytes(s3, pipeline.destination_bucket, &stale_copy)
                .await
                .is_none(),
            "the newer version was copied under the older event"
        );
    }
    // The event of the current version copies it.
    send(
        pipeline,
        &s3_event(
            pipeline.region,
            pipeline.side_bucket,
            "stale/report.txt",
            &new_etag,
            18,
        ),
    )
    .await;
    let (bytes, _) = eventually(
        Duration::from_secs(30),
        "the copy of the current version",
        || get_bytes(s3, pipeline.destination_bucket, &stale_copy),
    )
    .await;
    assert_eq!(bytes, b"version two, newer");
}

/// Creates buckets, a queue with a DLQ and the notification, through the APIs only (for
/// hosts that are not `eddy up`'s own pipeline). Returns (queue URL, DLQ URL).
pub async fn create_pipeline(
    s3: &aws_sdk_s3::Client,
    sqs: &aws_sdk_sqs::Client,
    buckets: &[&str],
    source_bucket: &str,
    queue: &str,
    max_receive_count: u32,
    visibility_timeout: u32,
) -> (String, String) {
    for bucket in buckets {
        s3.create_bucket()
            .bucket(*bucket)
            .send()
            .await
            .expect("create bucket");
    }
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{queue}-dlq"))
        .send()
        .await
        .expect("create DLQ");
    let dlq_url = dlq.queue_url().expect("DLQ url").to_owned();
    let dlq_arn = queue_arn(sqs, &dlq_url).await;
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count.to_string()});
    let main = sqs
        .create_queue()
        .queue_name(queue)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_timeout.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .expect("create queue");
    let queue_url = main.queue_url().expect("queue url").to_owned();
    let arn = queue_arn(sqs, &queue_url).await;
    let configuration = aws_sdk_s3::types::NotificationConfiguration::builder()
        .queue_configurations(
            aws_sdk_s3::types::QueueConfiguration::builder()
                .id("scenario")
                .queue_arn(arn)
                .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                .build()
                .expect("queue configuration"),
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket(source_bucket)
        .notification_configuration(configuration)
        .send()
        .await
        .expect("put notification configuration");
    (queue_url, dlq_url)
}

pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .expect("queue arn")
}

// --- the scripted external function ------------------------------------------------------

/// The scripted Runtime API function.
pub fn scripted_runtime() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scripted_runtime.py")
}

/// A `[[functions]]` table that replaces the default function with the scripted one.
pub fn scripted_function(name: &str, mode: &str, timeout: u64, log: &Path) -> String {
    format!(
        "[[functions]]\nname = \"{name}\"\ncommand = [\"python3\", \"{}\"]\ntimeout = {timeout}\nmemory_size = 256\nenvironment = {{ MODE = \"{mode}\", INVOCATION_LOG = \"{}\" }}\n",
        scripted_runtime().display(),
        log.display()
    )
}

/// One invocation the scripted function logged.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub pid: u64,
    pub request_id: String,
    pub ids: Vec<String>,
    pub bodies: Vec<String>,
    pub receive_counts: Vec<u64>,
    pub start: f64,
    pub end: f64,
    pub raw: serde_json::Value,
}

/// Every invocation logged so far, without the s3:TestEvent records that provisioning
/// the default pipeline enqueues (and without invocations left empty by that).
pub fn invocations(log: &Path) -> Vec<Invocation> {
    all_invocations(log)
        .into_iter()
        .filter_map(|mut invocation| {
            let keep: Vec<bool> = invocation
                .bodies
                .iter()
                .map(|b| !b.contains("s3:TestEvent"))
                .collect();
            let pick = |values: Vec<String>| -> Vec<String> {
                values
                    .into_iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(v, _)| v)
                    .collect()
            };
            invocation.ids = pick(invocation.ids);
            invocation.bodies = pick(invocation.bodies);
            invocation.receive_counts = invocation
                .receive_counts
                .into_iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| v)
                .collect();
            (!invocation.bodies.is_empty()).then_some(invocation)
        })
        .collect()
}

/// Every invocation logged so far, as logged.
pub fn all_invocations(log: &Path) -> Vec<Invocation> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|raw| {
            let strings = |name: &str| -> Vec<String> {
                raw[name]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            Invocation {
                pid: raw["pid"].as_u64().unwrap_or(0),
                request_id: raw["request_id"].as_str().unwrap_or_default().to_owned(),
                ids: strings("ids"),
                bodies: strings("bodies"),
                receive_counts: raw["receive_counts"]
                    .as_array()
                    .map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect())
                    .unwrap_or_default(),
                start: raw["start"].as_f64().unwrap_or(0.0),
                end: raw["end"].as_f64().unwrap_or(0.0),
                raw,
            }
        })
        .collect()
}

/// How many times each body was handed to the function.
pub fn deliveries_by_body(log: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for invocation in invocations(log) {
        for body in invocation.bodies {
            *counts.entry(body).or_insert(0) += 1;
        }
    }
    counts
}

/// Sends bodies as one SendMessageBatch.
pub async fn send_batch(sqs: &aws_sdk_sqs::Client, queue_url: &str, bodies: &[&str]) {
    let entries = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .message_body(*body)
                .build()
                .expect("entry")
        })
        .collect::<Vec<_>>();
    for chunk in entries.chunks(10) {
        let output = sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(chunk.to_vec()))
            .send()
            .await
            .expect("send batch");
        assert!(output.failed().is_empty(), "{:?}", output.failed());
    }
}

/// Waits until the queue holds no message, visible or in flight.
pub async fn wait_until_empty(sqs: &aws_sdk_sqs::Client, queue_url: &str, timeout: Duration) {
    eventually(timeout, "an empty queue", || async {
        let visible = queue_count(sqs, queue_url, "ApproximateNumberOfMessages").await;
        let hidden = queue_count(sqs, queue_url, "ApproximateNumberOfMessagesNotVisible").await;
        (visible + hidden == 0).then_some(())
    })
    .await;
}
