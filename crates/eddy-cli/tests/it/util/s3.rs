//! Helpers shared by the S3 end-to-end tests: queues that receive bucket events, the
//! exact S3 event record expected for a request, a browser-style form POST upload
//! signed with SigV4 (the Rust SDK cannot make one), and an SDK interceptor that sends
//! `*.localhost` hosts to 127.0.0.1.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::util::harness::Eddy;

/// Creates a standard queue and returns its URL and ARN.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_owned();
    (url, format!("arn:aws:sqs:us-east-1:000000000000:{name}"))
}

/// A queue configuration with optional prefix and suffix filters.
pub fn queue_config(
    id: &str,
    arn: &str,
    events: &[&str],
    prefix: Option<&str>,
    suffix: Option<&str>,
) -> QueueConfiguration {
    let mut builder = QueueConfiguration::builder().id(id).queue_arn(arn);
    for event in events {
        builder = builder.events(Event::from(*event));
    }
    let mut rules = Vec::new();
    if let Some(prefix) = prefix {
        rules.push(
            FilterRule::builder()
                .name(FilterRuleName::Prefix)
                .value(prefix)
                .build(),
        );
    }
    if let Some(suffix) = suffix {
        rules.push(
            FilterRule::builder()
                .name(FilterRuleName::Suffix)
                .value(suffix)
                .build(),
        );
    }
    if !rules.is_empty() {
        builder = builder.filter(
            NotificationConfigurationFilter::builder()
                .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                .build(),
        );
    }
    builder.build().expect("queue configuration")
}

pub fn notification(configs: Vec<QueueConfiguration>) -> NotificationConfiguration {
    NotificationConfiguration::builder()
        .set_queue_configurations(Some(configs))
        .build()
}

/// Receives `count` message bodies from `url` (deleting them), waiting up to 30 s (a
/// deadline for what must arrive, generous for a loaded CI machine).
pub async fn receive_bodies(sqs: &aws_sdk_sqs::Client, url: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut bodies = Vec::new();
    while bodies.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} messages arrived: {bodies:?}",
            bodies.len()
        );
        let output = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for message in output.messages() {
            let body = message.body().expect("body");
            bodies.push(serde_json::from_str(body).expect("message body is JSON"));
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().expect("receipt handle"))
                .send()
                .await
                .expect("delete");
        }
    }
    bodies
}

/// Asserts that no message is waiting in `url`.
pub async fn assert_no_message(sqs: &aws_sdk_sqs::Client, url: &str) {
    let output = sqs
        .receive_message()
        .queue_url(url)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    assert!(
        output.messages().is_empty(),
        "unexpected message: {:?}",
        output.messages()
    );
}

/// What a request did, as the event should tell it.
pub struct Expected<'a> {
    pub event_name: &'a str,
    pub configuration_id: &'a str,
    pub bucket: &'a str,
    /// The key as S3 writes it in the event (form-URL-encoded).
    pub encoded_key: &'a str,
    pub size: Option<i64>,
    pub etag: Option<&'a str>,
    pub version_id: Option<&'a str>,
    pub request_id: &'a str,
    pub host_id: &'a str,
}

/// `2026-01-01T00:00:00.123Z` of now, for ordering checks on eventTime.
pub fn now_iso_millis() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

fn is_iso_millis(value: &str) -> bool {
    let bytes = value.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
    bytes.len() == 24
        && digits.iter().all(|&i| bytes[i].is_ascii_digit())
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && bytes[19] == b'.'
        && bytes[23] == b'Z'
}

/// Checks one notification body against what AWS sends, field by field; returns the
/// record's sequencer. `not_before` bounds eventTime from below.
pub fn assert_record(body: &Value, expected: &Expected<'_>, not_before: &str) -> String {
    let records = body["Records"].as_array().expect("a Records array");
    assert_eq!(records.len(), 1, "one record per message: {body}");
    let record = &records[0];
    let event_time = record["eventTime"].as_str().expect("eventTime").to_owned();
    assert!(
        is_iso_millis(&event_time),
        "eventTime with milliseconds: {event_time}"
    );
    assert!(
        event_time.as_str() >= &not_before[..23],
        "eventTime {event_time} is before the request ({not_before})"
    );
    let sequencer = record["s3"]["object"]["sequencer"]
        .as_str()
        .expect("sequencer")
        .to_owned();
    assert!(
        !sequencer.is_empty() && sequencer.chars().all(|c| c.is_ascii_hexdigit()),
        "sequencer is hex: {sequencer}"
    );
    let (user, owner) = principal_ids(record);
    let mut object = json!({"key": expected.encoded_key, "sequencer": sequencer});
    if let Some(size) = expected.size {
        object["size"] = json!(size);
    }
    if let Some(etag) = expected.etag {
        object["eTag"] = json!(etag);
    }
    if let Some(version_id) = expected.version_id {
        object["versionId"] = json!(version_id);
    }
    let want = json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": event_time,
        "eventName": expected.event_name,
        "userIdentity": {"principalId": user},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": expected.request_id,
            "x-amz-id-2": expected.host_id,
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": expected.configuration_id,
            "bucket": {
                "name": expected.bucket,
                "ownerIdentity": {"principalId": owner},
                "arn": format!("arn:aws:s3:::{}", expected.bucket),
            },
            "object": object,
        },
    });
    for field in [
        "eventVersion",
        "eventSource",
        "awsRegion",
        "eventTime",
        "eventName",
        "userIdentity",
        "requestParameters",
        "responseElements",
    ] {
        assert_eq!(record[field], want[field], "field {field} of {record}");
    }
    for field in ["s3SchemaVersion", "configurationId", "bucket"] {
        assert_eq!(
            record["s3"][field], want["s3"][field],
            "field s3.{field} of {record}"
        );
    }
    assert_eq!(
        record["s3"]["object"], want["s3"]["object"],
        "s3.object of {record}"
    );
    assert_eq!(record, &want, "the whole record");
    sequencer
}

/// The requester's and the bucket owner's principal ids of a record, checked to be
/// shaped as S3's (`AWS:AIDA` and 17 of `[A-Z2-7]`; `A` and 13 of `[A-Z0-9]`), the
/// same for every request of the default credentials, and free of the access key.
pub fn principal_ids(record: &Value) -> (String, String) {
    // One requester, one owner: every event names the same ids.
    static SEEN: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let user = record["userIdentity"]["principalId"]
        .as_str()
        .expect("userIdentity.principalId");
    let owner = record["s3"]["bucket"]["ownerIdentity"]["principalId"]
        .as_str()
        .expect("ownerIdentity.principalId");
    let id = user.strip_prefix("AWS:AIDA").expect("an IAM user id");
    assert!(
        id.len() == 17
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
        "userIdentity {user}"
    );
    let rest = owner.strip_prefix('A').expect("a customer id");
    assert!(
        rest.len() == 13
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
        "ownerIdentity {owner}"
    );
    assert!(!user.contains("test") && !owner.contains("test"));
    let seen = SEEN.get_or_init(|| (user.to_owned(), owner.to_owned()));
    assert_eq!(
        (user, owner),
        (seen.0.as_str(), seen.1.as_str()),
        "stable ids"
    );
    (user.to_owned(), owner.to_owned())
}

/// Whether sequencer `a` orders before `b` (the shorter right-padded with zeros).
pub fn sequencer_before(a: &str, b: &str) -> bool {
    let width = a.len().max(b.len());
    format!("{a:0<width$}") < format!("{b:0<width$}")
}

/// What a form POST returned.
pub struct PostResult {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl PostResult {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("hmac key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Uploads `content` to `bucket/key` with a browser-style POST form (SigV4 policy),
/// through curl. `extra` adds form fields (and matching policy conditions).
pub fn form_post(
    eddy: &Eddy,
    bucket: &str,
    key: &str,
    content: &[u8],
    extra: &[(&str, &str)],
) -> PostResult {
    use base64::Engine as _;
    let now = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let amz_date = format!(
        "{date}T{:02}{:02}{:02}Z",
        now.hour(),
        now.minute(),
        now.second()
    );
    let expires = now + time::Duration::hours(1);
    let expiration = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        expires.year(),
        u8::from(expires.month()),
        expires.day(),
        expires.hour(),
        expires.minute(),
        expires.second()
    );
    let credential = format!("test/{date}/us-east-1/s3/aws4_request");
    let mut conditions = vec![
        json!({"bucket": bucket}),
        json!(["starts-with", "$key", ""]),
        json!({"x-amz-algorithm": "AWS4-HMAC-SHA256"}),
        json!({"x-amz-credential": credential}),
        json!({"x-amz-date": amz_date}),
    ];
    for (name, value) in extra {
        conditions.push(json!({ *name: value }));
    }
    let policy = json!({"expiration": expiration, "conditions": conditions}).to_string();
    let policy_b64 = base64::engine::general_purpose::STANDARD.encode(policy);
    let mut key_bytes = hmac(b"AWS4test", date.as_bytes());
    for part in ["us-east-1", "s3", "aws4_request"] {
        key_bytes = hmac(&key_bytes, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key_bytes, policy_b64.as_bytes()));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("upload.bin");
    std::fs::write(&file, content).expect("write upload");
    let mut command = Command::new("curl");
    command.args(["-s", "-i", "-X", "POST"]);
    let mut fields: Vec<(String, String)> = vec![
        ("key".into(), key.into()),
        ("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()),
        ("x-amz-credential".into(), credential),
        ("x-amz-date".into(), amz_date),
        ("policy".into(), policy_b64),
        ("x-amz-signature".into(), signature),
    ];
    fields.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    for (name, value) in fields {
        command.arg("--form-string").arg(format!("{name}={value}"));
    }
    command
        .arg("-F")
        .arg(format!("file=@{}", file.display()))
        .arg(format!("{}/{bucket}", eddy.endpoint));
    let output = command.output().expect("run curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    PostResult {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Creates bucket `name` and returns an S3 client.
pub async fn bucket(eddy: &Eddy, name: &str) -> Client {
    let s3 = eddy.s3().await;
    s3.create_bucket()
        .bucket(name)
        .send()
        .await
        .expect("create bucket");
    s3
}

/// Puts `body` at `key`; returns the ETag.
pub async fn put(s3: &Client, bucket: &str, key: &str, body: &[u8]) -> String {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .expect("put")
        .e_tag()
        .expect("etag")
        .to_owned()
}

/// The service error code and HTTP status of a failed call.
pub fn failure<E: ProvideErrorMetadata>(
    error: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> (String, u16) {
    let status = error.raw_response().map_or(0, |r| r.status().as_u16());
    (error.code().unwrap_or_default().to_owned(), status)
}

/// The whole body of a GetObject answer.
pub async fn bytes_of(output: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Vec<u8> {
    output
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

/// Sends `*.localhost` requests to 127.0.0.1 with their Host header kept, as a resolver
/// that knows `*.localhost` would (the test machine's does not).
#[derive(Debug)]
pub struct LoopbackHosts;

impl aws_sdk_s3::config::Intercept for LoopbackHosts {
    fn name(&self) -> &'static str {
        "LoopbackHosts"
    }

    fn modify_before_transmit(
        &self,
        context: &mut aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _components: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let request = context.request_mut();
        let uri = request.uri().to_owned();
        let rest = uri.strip_prefix("http://").ok_or("not http")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (host, port) = authority.rsplit_once(':').ok_or("no port")?;
        if host.ends_with(".localhost") {
            request.headers_mut().insert("host", authority.to_owned());
            request.set_uri(format!("http://127.0.0.1:{port}{path}"))?;
        }
        Ok(())
    }
}
