//! S3 event records, the finer points, each compared field by field with what S3
//! sends: opaque principal ids (never the access key), deletes of keys that do not
//! exist, tag and ACL events, and the upload's trace header passed on as
//! `AWSTraceHeader` (with S3's SenderId).

use aws_sdk_s3::operation::{RequestId, RequestIdExt};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectCannedAcl, ObjectIdentifier, Tag, Tagging};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::{Value, json};

use crate::util::harness::Eddy;
use crate::util::s3::{
    Expected, assert_no_message, assert_record, create_queue, notification, now_iso_millis,
    principal_ids, queue_config, receive_bodies,
};

/// A bucket whose events of `events` go to a fresh queue (test event drained).
async fn watched(
    eddy: &Eddy,
    bucket: &str,
    events: &[&str],
) -> (aws_sdk_s3::Client, aws_sdk_sqs::Client, String) {
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let (url, arn) = create_queue(&sqs, &format!("{bucket}-events")).await;
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(notification(vec![queue_config(
            "watch", &arn, events, None, None,
        )]))
        .send()
        .await
        .expect("configure");
    receive_bodies(&sqs, &url, 1).await;
    (s3, sqs, url)
}

#[tokio::test]
async fn deletes_of_missing_keys_raise_one_event_per_key() {
    let eddy = Eddy::start();
    let (s3, sqs, url) = watched(&eddy, "absent", &["s3:ObjectRemoved:*"]).await;
    let before = now_iso_millis();
    let deleted = s3
        .delete_object()
        .bucket("absent")
        .key("never was.txt")
        .send()
        .await
        .expect("delete of a missing key succeeds");
    let bodies = receive_bodies(&sqs, &url, 1).await;
    assert_record(
        &bodies[0],
        &Expected {
            event_name: "ObjectRemoved:Delete",
            configuration_id: "watch",
            bucket: "absent",
            encoded_key: "never+was.txt",
            size: None,
            etag: None,
            version_id: None,
            request_id: deleted.request_id().expect("request id"),
            host_id: deleted.extended_request_id().expect("host id"),
        },
        &before,
    );
    let many = s3
        .delete_objects()
        .bucket("absent")
        .delete(
            Delete::builder()
                .objects(ObjectIdentifier::builder().key("a").build().expect("id"))
                .objects(ObjectIdentifier::builder().key("b").build().expect("id"))
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("delete objects");
    assert_eq!(many.deleted().len(), 2);
    let bodies = receive_bodies(&sqs, &url, 2).await;
    let mut keys: Vec<_> = bodies
        .iter()
        .map(|b| {
            let record = &b["Records"][0];
            assert_eq!(record["eventName"], "ObjectRemoved:Delete");
            record["s3"]["object"]["key"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    keys.sort();
    assert_eq!(keys, ["a", "b"]);
    // A version that does not exist is an error, with no event.
    s3.delete_object()
        .bucket("absent")
        .key("a")
        .version_id("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo")
        .send()
        .await
        .ok();
    assert_no_message(&sqs, &url).await;
}

/// The record of a tag or ACL event: eventVersion 2.3, the ETag, no size, no
/// sequencer.
fn subresource_record(body: &Value, event: &str, key: &str, etag: &str, request_id: &str) {
    let record = &body["Records"][0];
    let (user, owner) = principal_ids(record);
    let want = json!({
        "eventVersion": "2.3",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": record["eventTime"],
        "eventName": event,
        "userIdentity": {"principalId": user},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": request_id,
            "x-amz-id-2": record["responseElements"]["x-amz-id-2"],
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "watch",
            "bucket": {
                "name": "tagged",
                "ownerIdentity": {"principalId": owner},
                "arn": "arn:aws:s3:::tagged",
            },
            "object": {"key": key, "eTag": etag},
        },
    });
    assert_eq!(record, &want);
}

#[tokio::test]
async fn tagging_and_acl_changes_raise_their_events() {
    let eddy = Eddy::start();
    let (s3, sqs, url) =
        watched(&eddy, "tagged", &["s3:ObjectTagging:*", "s3:ObjectAcl:Put"]).await;
    let put = s3
        .put_object()
        .bucket("tagged")
        .key("doc 1.txt")
        .body(ByteStream::from_static(b"tag me"))
        .send()
        .await
        .expect("put");
    let etag = put.e_tag().expect("etag").trim_matches('"').to_owned();
    // The upload is not among the configured event types.
    assert_no_message(&sqs, &url).await;
    let tagged = s3
        .put_object_tagging()
        .bucket("tagged")
        .key("doc 1.txt")
        .tagging(
            Tagging::builder()
                .tag_set(Tag::builder().key("k").value("v").build().expect("tag"))
                .build()
                .expect("tagging"),
        )
        .send()
        .await
        .expect("put tagging");
    let body = &receive_bodies(&sqs, &url, 1).await[0];
    subresource_record(
        body,
        "ObjectTagging:Put",
        "doc+1.txt",
        &etag,
        tagged.request_id().expect("id"),
    );
    let untagged = s3
        .delete_object_tagging()
        .bucket("tagged")
        .key("doc 1.txt")
        .send()
        .await
        .expect("delete tagging");
    let body = &receive_bodies(&sqs, &url, 1).await[0];
    subresource_record(
        body,
        "ObjectTagging:Delete",
        "doc+1.txt",
        &etag,
        untagged.request_id().expect("id"),
    );
    let acl = s3
        .put_object_acl()
        .bucket("tagged")
        .key("doc 1.txt")
        .acl(ObjectCannedAcl::Private)
        .send()
        .await
        .expect("put acl");
    let body = &receive_bodies(&sqs, &url, 1).await[0];
    subresource_record(
        body,
        "ObjectAcl:Put",
        "doc+1.txt",
        &etag,
        acl.request_id().expect("id"),
    );
    // A refused change raises nothing.
    s3.put_object_tagging()
        .bucket("tagged")
        .key("missing")
        .tagging(
            Tagging::builder()
                .set_tag_set(Some(vec![]))
                .build()
                .expect("t"),
        )
        .send()
        .await
        .expect_err("no such key");
    assert_no_message(&sqs, &url).await;
}

#[tokio::test]
async fn the_trace_header_of_an_upload_becomes_aws_trace_header() {
    let eddy = Eddy::start();
    let (s3, sqs, url) = watched(&eddy, "traced", &["s3:ObjectCreated:*"]).await;
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    s3.put_object()
        .bucket("traced")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .customize()
        .mutate_request(move |request| {
            request.headers_mut().insert("X-Amzn-Trace-Id", trace);
        })
        .send()
        .await
        .expect("put");
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .message_system_attribute_names(MessageSystemAttributeName::AwsTraceHeader)
        .wait_time_seconds(5)
        .send()
        .await
        .expect("receive");
    let message = &received.messages()[0];
    assert_eq!(
        message
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::AwsTraceHeader))
            .map(String::as_str),
        Some(trace)
    );
    // Without a trace header the attribute is absent.
    s3.put_object()
        .bucket("traced")
        .key("k2")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put");
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .wait_time_seconds(5)
        .send()
        .await
        .expect("receive");
    let message = received
        .messages()
        .iter()
        .find(|m| m.body().is_some_and(|b| b.contains("\"k2\"")))
        .expect("the second event");
    // S3 sends the message: its SenderId is an AWS-shaped id, not the access key.
    let sender = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::SenderId))
        .expect("SenderId");
    assert!(
        sender.starts_with("AIDA") && sender.len() == 21 && !sender.contains("test"),
        "{sender}"
    );
    assert!(
        message
            .attributes()
            .is_none_or(|a| !a.contains_key(&MessageSystemAttributeName::AwsTraceHeader))
    );
}

#[tokio::test]
async fn principal_ids_name_each_access_key_without_showing_it() {
    let eddy = Eddy::start_with_config(
        "additional_credentials = [{ access_key_id = \"AKIAEDDYCI\", secret_access_key = \"ci-secret\" }]\n",
    );
    let (s3, sqs, url) = watched(&eddy, "owners", &["s3:ObjectCreated:*"]).await;
    s3.put_object()
        .bucket("owners")
        .key("by-test")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put");
    let ci_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(eddy_function::sdk_http::https_client())
        .endpoint_url(&eddy.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKIAEDDYCI",
            "ci-secret",
            None,
            None,
            "ci",
        ))
        .load()
        .await;
    crate::util::harness::path_style_s3(&ci_config)
        .put_object()
        .bucket("owners")
        .key("by-ci")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put as ci");
    let bodies = receive_bodies(&sqs, &url, 2).await;
    let ids: Vec<(String, String, String)> = bodies
        .iter()
        .map(|b| {
            let record = &b["Records"][0];
            let key = record["s3"]["object"]["key"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let user = record["userIdentity"]["principalId"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let owner = record["s3"]["bucket"]["ownerIdentity"]["principalId"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            (key, user, owner)
        })
        .collect();
    let by = |key: &str| ids.iter().find(|(k, _, _)| k == key).expect("event");
    let (test, ci) = (by("by-test"), by("by-ci"));
    // Each access key is its own IAM user; the bucket has one owner.
    assert_ne!(test.1, ci.1);
    assert_eq!(test.2, ci.2);
    assert!(ci.1.starts_with("AWS:AIDA") && ci.1.len() == 25, "{}", ci.1);
    for text in bodies.iter().map(Value::to_string) {
        assert!(!text.contains("AKIAEDDYCI"), "{text}");
        assert!(!text.contains("AWS:test"), "{text}");
    }
}

#[tokio::test]
async fn lifecycle_expiration_events_name_s3_as_the_requester() {
    // A lifecycle day of a second: the rule acts within seconds.
    let eddy = Eddy::start_with_config("lifecycle_day_seconds = 1\n");
    let (s3, sqs, url) = watched(&eddy, "expiring", &["s3:LifecycleExpiration:*"]).await;
    s3.put_object()
        .bucket("expiring")
        .key("old/log.txt")
        .body(ByteStream::from_static(b"old"))
        .send()
        .await
        .expect("put");
    let rule = aws_sdk_s3::types::LifecycleRule::builder()
        .id("expire-old")
        .status(aws_sdk_s3::types::ExpirationStatus::Enabled)
        .filter(
            aws_sdk_s3::types::LifecycleRuleFilter::builder()
                .prefix("old/")
                .build(),
        )
        .expiration(
            aws_sdk_s3::types::LifecycleExpiration::builder()
                .days(1)
                .build(),
        )
        .build()
        .expect("rule");
    s3.put_bucket_lifecycle_configuration()
        .bucket("expiring")
        .lifecycle_configuration(
            aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .expect("lifecycle"),
        )
        .send()
        .await
        .expect("put lifecycle");
    let body = &receive_bodies(&sqs, &url, 1).await[0];
    let record = &body["Records"][0];
    let owner = record["s3"]["bucket"]["ownerIdentity"]["principalId"].clone();
    assert!(
        owner
            .as_str()
            .is_some_and(|o| o.starts_with('A') && o.len() == 14)
    );
    let sequencer = record["s3"]["object"]["sequencer"].clone();
    assert!(sequencer.as_str().is_some_and(|s| !s.is_empty()));
    let want = json!({
        "eventVersion": "2.3",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": record["eventTime"],
        "eventName": "LifecycleExpiration:Delete",
        "userIdentity": {"principalId": "s3.amazonaws.com"},
        "requestParameters": {"sourceIPAddress": "s3.amazonaws.com"},
        "responseElements": record["responseElements"],
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "watch",
            "bucket": {
                "name": "expiring",
                "ownerIdentity": {"principalId": owner},
                "arn": "arn:aws:s3:::expiring",
            },
            "object": {"key": "old/log.txt", "sequencer": sequencer},
        },
    });
    assert_eq!(record, &want);
}
