//! S3 event notifications as AWS sends them, received from a real queue with the SQS
//! SDK: the exact record of every event type for awkward keys, the sequencer, the test
//! event, filters, and each validation rule of a notification configuration.

use crate::util::harness::Eddy;
use crate::util::s3::{
    Expected, assert_no_message, assert_record, create_queue, form_post, notification,
    now_iso_millis, queue_config, receive_bodies, sequencer_before,
};
use aws_sdk_s3::operation::{RequestId, RequestIdExt};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

/// Keys with the characters S3 encodes in events, and what it writes for them.
const KEYS: &[(&str, &str)] = &[
    ("plain.txt", "plain.txt"),
    ("with space.txt", "with+space.txt"),
    ("a+b.txt", "a%2Bb.txt"),
    ("me@example.com", "me%40example.com"),
    ("k=v", "k%3Dv"),
    ("dossier/été/ü.txt", "dossier/%C3%A9t%C3%A9/%C3%BC.txt"),
    (
        "photos/2026/red flower+1@x=y.jpg",
        "photos/2026/red+flower%2B1%40x%3Dy.jpg",
    ),
];

/// A bucket `golden` whose every created/removed event goes to a fresh queue.
async fn golden_bucket(eddy: &Eddy) -> (aws_sdk_s3::Client, aws_sdk_sqs::Client, String) {
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let (url, arn) = create_queue(&sqs, "golden-events").await;
    s3.create_bucket()
        .bucket("golden")
        .send()
        .await
        .expect("create bucket");
    s3.put_bucket_notification_configuration()
        .bucket("golden")
        .notification_configuration(notification(vec![queue_config(
            "all-events",
            &arn,
            &["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
            None,
            None,
        )]))
        .send()
        .await
        .expect("put notification configuration");
    let test = receive_bodies(&sqs, &url, 1).await;
    assert_eq!(test[0]["Event"], "s3:TestEvent");
    (s3, sqs, url)
}

#[tokio::test]
async fn put_copy_and_delete_events_match_aws_field_by_field() {
    let eddy = Eddy::start();
    let (s3, sqs, url) = golden_bucket(&eddy).await;
    for (key, encoded) in KEYS {
        let body = format!("body of {key}");
        let before = now_iso_millis();
        let put = s3
            .put_object()
            .bucket("golden")
            .key(*key)
            .body(ByteStream::from(body.clone().into_bytes()))
            .send()
            .await
            .expect("put");
        let etag = put.e_tag().expect("etag").trim_matches('"').to_owned();
        let events = receive_bodies(&sqs, &url, 1).await;
        let put_sequencer = assert_record(
            &events[0],
            &Expected {
                event_name: "ObjectCreated:Put",
                configuration_id: "all-events",
                bucket: "golden",
                encoded_key: encoded,
                size: Some(body.len() as i64),
                etag: Some(&etag),
                version_id: None,
                request_id: put.request_id().expect("request id"),
                host_id: put.extended_request_id().expect("x-amz-id-2"),
            },
            &before,
        );

        let copy_key = format!("copies/{key}");
        let copy = s3
            .copy_object()
            .bucket("golden")
            .key(&copy_key)
            .copy_source(format!("golden/{}", urlencode(key)))
            .send()
            .await
            .expect("copy");
        let events = receive_bodies(&sqs, &url, 1).await;
        let encoded_copy = format!("copies/{encoded}");
        assert_record(
            &events[0],
            &Expected {
                event_name: "ObjectCreated:Copy",
                configuration_id: "all-events",
                bucket: "golden",
                encoded_key: &encoded_copy,
                size: Some(body.len() as i64),
                etag: Some(&etag),
                version_id: None,
                request_id: copy.request_id().expect("request id"),
                host_id: copy.extended_request_id().expect("x-amz-id-2"),
            },
            &before,
        );

        let delete = s3
            .delete_object()
            .bucket("golden")
            .key(*key)
            .send()
            .await
            .expect("delete");
        let events = receive_bodies(&sqs, &url, 1).await;
        let delete_sequencer = assert_record(
            &events[0],
            &Expected {
                event_name: "ObjectRemoved:Delete",
                configuration_id: "all-events",
                bucket: "golden",
                encoded_key: encoded,
                size: None,
                etag: None,
                version_id: None,
                request_id: delete.request_id().expect("request id"),
                host_id: delete.extended_request_id().expect("x-amz-id-2"),
            },
            &before,
        );
        assert!(
            sequencer_before(&put_sequencer, &delete_sequencer),
            "sequencer of {key} increases: {put_sequencer} then {delete_sequencer}"
        );
    }
    // Deleting a key that does not exist succeeds and raises ObjectRemoved:Delete all
    // the same, as S3 does (it does not look first).
    s3.delete_object()
        .bucket("golden")
        .key("never-there")
        .send()
        .await
        .expect("delete missing key");
    let body = &receive_bodies(&sqs, &url, 1).await[0];
    assert_eq!(body["Records"][0]["eventName"], "ObjectRemoved:Delete");
    assert_eq!(body["Records"][0]["s3"]["object"]["key"], "never-there");
    assert_no_message(&sqs, &url).await;
}

#[tokio::test]
async fn multipart_and_form_post_events_match_aws_field_by_field() {
    let eddy = Eddy::start();
    let (s3, sqs, url) = golden_bucket(&eddy).await;
    let (key, encoded) = KEYS[KEYS.len() - 1];
    let before = now_iso_millis();
    let created = s3
        .create_multipart_upload()
        .bucket("golden")
        .key(key)
        .send()
        .await
        .expect("create upload");
    let upload_id = created.upload_id().expect("upload id");
    let first = vec![b'a'; 5 * 1024 * 1024];
    let second = b"tail".to_vec();
    let mut parts = Vec::new();
    for (number, bytes) in [(1, first.clone()), (2, second.clone())] {
        let part = s3
            .upload_part()
            .bucket("golden")
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .expect("upload part");
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .e_tag(part.e_tag().expect("part etag"))
                .build(),
        );
    }
    let completed = s3
        .complete_multipart_upload()
        .bucket("golden")
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .expect("complete upload");
    let etag = completed
        .e_tag()
        .expect("etag")
        .trim_matches('"')
        .to_owned();
    assert!(etag.ends_with("-2"), "multipart ETag: {etag}");
    let events = receive_bodies(&sqs, &url, 1).await;
    assert_record(
        &events[0],
        &Expected {
            event_name: "ObjectCreated:CompleteMultipartUpload",
            configuration_id: "all-events",
            bucket: "golden",
            encoded_key: encoded,
            size: Some((first.len() + second.len()) as i64),
            etag: Some(&etag),
            version_id: None,
            request_id: completed.request_id().expect("request id"),
            host_id: completed.extended_request_id().expect("x-amz-id-2"),
        },
        &before,
    );

    let (key, encoded) = KEYS[1];
    let before = now_iso_millis();
    let posted = form_post(&eddy, "golden", key, b"posted bytes", &[]);
    assert_eq!(posted.status, 204, "form POST: {}", posted.body);
    let etag = posted
        .header("etag")
        .expect("ETag header")
        .trim_matches('"')
        .to_owned();
    assert_eq!(etag, hex_md5(b"posted bytes"));
    let events = receive_bodies(&sqs, &url, 1).await;
    assert_record(
        &events[0],
        &Expected {
            event_name: "ObjectCreated:Post",
            configuration_id: "all-events",
            bucket: "golden",
            encoded_key: encoded,
            size: Some(12),
            etag: Some(&etag),
            version_id: None,
            request_id: posted.header("x-amz-request-id").expect("request id"),
            host_id: posted.header("x-amz-id-2").expect("x-amz-id-2"),
        },
        &before,
    );
    let stored = s3
        .get_object()
        .bucket("golden")
        .key(key)
        .send()
        .await
        .expect("get posted object");
    let bytes = stored.body.collect().await.expect("read").into_bytes();
    assert_eq!(&bytes[..], b"posted bytes");
}

#[tokio::test]
async fn sequencers_increase_for_every_change_of_one_key() {
    let eddy = Eddy::start();
    let (s3, sqs, url) = golden_bucket(&eddy).await;
    let mut sequencers = Vec::new();
    for round in 0..5 {
        s3.put_object()
            .bucket("golden")
            .key("same key")
            .body(ByteStream::from(format!("round {round}").into_bytes()))
            .send()
            .await
            .expect("put");
        let events = receive_bodies(&sqs, &url, 1).await;
        sequencers.push(
            events[0]["Records"][0]["s3"]["object"]["sequencer"]
                .as_str()
                .expect("sequencer")
                .to_owned(),
        );
    }
    for pair in sequencers.windows(2) {
        assert!(sequencer_before(&pair[0], &pair[1]), "{sequencers:?}");
    }
}

#[tokio::test]
async fn filters_choose_the_configuration_as_aws_does() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let (jpg_url, jpg_arn) = create_queue(&sqs, "jpg-events").await;
    let (removed_url, removed_arn) = create_queue(&sqs, "removed-events").await;
    s3.create_bucket()
        .bucket("filtered")
        .send()
        .await
        .expect("create bucket");
    s3.put_bucket_notification_configuration()
        .bucket("filtered")
        .notification_configuration(notification(vec![
            queue_config(
                "jpg-in-photos",
                &jpg_arn,
                &["s3:ObjectCreated:Put"],
                Some("photos/"),
                Some(".jpg"),
            ),
            queue_config("removed", &removed_arn, &["s3:ObjectRemoved:*"], None, None),
        ]))
        .send()
        .await
        .expect("configure");
    assert_eq!(
        receive_bodies(&sqs, &jpg_url, 1).await[0]["Event"],
        "s3:TestEvent"
    );
    assert_eq!(
        receive_bodies(&sqs, &removed_url, 1).await[0]["Event"],
        "s3:TestEvent"
    );
    for key in [
        "photos/a.jpg",
        "photos/b.png",
        "other/c.jpg",
        "photos/sub dir/d.jpg",
    ] {
        s3.put_object()
            .bucket("filtered")
            .key(key)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect("put");
    }
    let events = receive_bodies(&sqs, &jpg_url, 2).await;
    let mut keys: Vec<_> = events
        .iter()
        .map(|e| {
            e["Records"][0]["s3"]["object"]["key"]
                .as_str()
                .expect("key")
                .to_owned()
        })
        .collect();
    keys.sort();
    assert_eq!(keys, ["photos/a.jpg", "photos/sub+dir/d.jpg"]);
    assert_no_message(&sqs, &jpg_url).await;
    assert_no_message(&sqs, &removed_url).await;
    s3.delete_object()
        .bucket("filtered")
        .key("photos/a.jpg")
        .send()
        .await
        .expect("delete");
    let removed = receive_bodies(&sqs, &removed_url, 1).await;
    assert_eq!(
        removed[0]["Records"][0]["eventName"],
        "ObjectRemoved:Delete"
    );
    assert_eq!(removed[0]["Records"][0]["s3"]["configurationId"], "removed");
}

#[tokio::test]
async fn every_successful_configuration_sends_a_test_event_and_failed_ones_none() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let (url, arn) = create_queue(&sqs, "tests").await;
    s3.create_bucket()
        .bucket("tested")
        .send()
        .await
        .expect("create bucket");
    for round in 0..2 {
        let put = s3
            .put_bucket_notification_configuration()
            .bucket("tested")
            .notification_configuration(notification(vec![queue_config(
                &format!("config-{round}"),
                &arn,
                &["s3:ObjectCreated:*"],
                None,
                None,
            )]))
            .send()
            .await
            .expect("configure");
        let test = &receive_bodies(&sqs, &url, 1).await[0];
        let fields: Vec<&str> = test
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = fields.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            ["Bucket", "Event", "HostId", "RequestId", "Service", "Time"]
        );
        assert_eq!(test["Service"], "Amazon S3");
        assert_eq!(test["Event"], "s3:TestEvent");
        assert_eq!(test["Bucket"], "tested");
        assert_eq!(test["RequestId"], put.request_id().expect("request id"));
        assert_eq!(test["HostId"], put.extended_request_id().expect("host id"));
        assert!(test["Time"].as_str().expect("Time").ends_with('Z'));
    }
    // A configuration that fails validation changes nothing and sends nothing.
    let failed = s3
        .put_bucket_notification_configuration()
        .bucket("tested")
        .notification_configuration(notification(vec![queue_config(
            "bad",
            "arn:aws:sqs:us-east-1:000000000000:missing-queue",
            &["s3:ObjectCreated:*"],
            None,
            None,
        )]))
        .send()
        .await;
    assert!(failed.is_err());
    assert_no_message(&sqs, &url).await;
    let current = s3
        .get_bucket_notification_configuration()
        .bucket("tested")
        .send()
        .await
        .expect("get configuration");
    assert_eq!(current.queue_configurations()[0].id(), Some("config-1"));
}

/// Puts a configuration that must fail; returns the error code, message and HTTP status.
async fn rejected(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    configs: Vec<aws_sdk_s3::types::QueueConfiguration>,
) -> (String, String, u16) {
    let error = s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(notification(configs))
        .send()
        .await
        .expect_err("the configuration must be rejected");
    let status = error.raw_response().map_or(0, |r| r.status().as_u16());
    let service = error.into_service_error();
    let meta = aws_sdk_s3::error::ProvideErrorMetadata::meta(&service);
    (
        meta.code().unwrap_or_default().to_owned(),
        meta.message().unwrap_or_default().to_owned(),
        status,
    )
}

async fn validation_setup() -> (Eddy, aws_sdk_s3::Client, String, String) {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let (_, arn) = create_queue(&sqs, "valid-a").await;
    let (_, arn_b) = create_queue(&sqs, "valid-b").await;
    s3.create_bucket()
        .bucket("rules")
        .send()
        .await
        .expect("create bucket");
    (eddy, s3, arn, arn_b)
}

#[tokio::test]
async fn overlapping_configurations_are_rejected() {
    let (_eddy, s3, a, b) = validation_setup().await;
    let cases = [
        // No filter overlaps everything with a common event type.
        (
            queue_config("x", &a, &["s3:ObjectCreated:*"], None, None),
            queue_config("y", &b, &["s3:ObjectCreated:Put"], Some("in/"), None),
        ),
        // Prefixes where one starts the other.
        (
            queue_config("x", &a, &["s3:ObjectCreated:Put"], Some("in/"), None),
            queue_config("y", &b, &["s3:ObjectCreated:*"], Some("in/sub/"), None),
        ),
        // Suffixes where one ends the other.
        (
            queue_config("x", &a, &["s3:ObjectRemoved:Delete"], None, Some(".jpg")),
            queue_config("y", &b, &["s3:ObjectRemoved:*"], None, Some("x.jpg")),
        ),
    ];
    for (first, second) in cases {
        let (code, message, status) = rejected(&s3, "rules", vec![first, second]).await;
        assert_eq!(
            (code.as_str(), status),
            ("InvalidArgument", 400),
            "{message}"
        );
        assert!(message.contains("Configurations overlap"), "{message}");
    }
    // Disjoint filters, or different event types, are fine.
    s3.put_bucket_notification_configuration()
        .bucket("rules")
        .notification_configuration(notification(vec![
            queue_config("x", &a, &["s3:ObjectCreated:*"], Some("in/"), None),
            queue_config("y", &b, &["s3:ObjectCreated:*"], Some("out/"), None),
            queue_config("z", &b, &["s3:ObjectRemoved:*"], None, None),
            queue_config("j", &a, &["s3:ObjectCreated:*"], Some("j/"), Some(".jpg")),
            queue_config("p", &b, &["s3:ObjectCreated:*"], Some("j/"), Some(".png")),
        ]))
        .send()
        .await
        .expect("non-overlapping configurations are accepted");
}

#[tokio::test]
async fn a_missing_destination_queue_is_rejected() {
    let (_eddy, s3, _, _) = validation_setup().await;
    assert_destination_rejected(&s3, "arn:aws:sqs:us-east-1:000000000000:no-such-queue").await;
}

async fn assert_destination_rejected(s3: &aws_sdk_s3::Client, arn: &str) {
    let (code, message, status) = rejected(
        s3,
        "rules",
        vec![queue_config("x", arn, &["s3:ObjectCreated:*"], None, None)],
    )
    .await;
    assert_eq!((code.as_str(), status), ("InvalidArgument", 400));
    assert!(
        message.contains("Unable to validate the following destination configurations"),
        "{message}"
    );
}

#[tokio::test]
async fn a_fifo_destination_queue_is_rejected() {
    let (eddy, s3, _, _) = validation_setup().await;
    let sqs = eddy.sqs().await;
    sqs.create_queue()
        .queue_name("ordered.fifo")
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("create fifo queue");
    assert_destination_rejected(&s3, "arn:aws:sqs:us-east-1:000000000000:ordered.fifo").await;
}

#[tokio::test]
async fn a_bad_filter_rule_name_is_rejected() {
    let (_eddy, s3, a, _) = validation_setup().await;
    let config = aws_sdk_s3::types::QueueConfiguration::builder()
        .id("x")
        .queue_arn(&a)
        .events(aws_sdk_s3::types::Event::S3ObjectCreated)
        .filter(
            aws_sdk_s3::types::NotificationConfigurationFilter::builder()
                .key(
                    aws_sdk_s3::types::S3KeyFilter::builder()
                        .filter_rules(
                            aws_sdk_s3::types::FilterRule::builder()
                                .name(aws_sdk_s3::types::FilterRuleName::from("middle"))
                                .value("x")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
        .expect("config");
    let (code, message, status) = rejected(&s3, "rules", vec![config]).await;
    assert_eq!((code.as_str(), status), ("InvalidArgument", 400));
    assert!(message.contains("prefix or suffix"), "{message}");
}

#[tokio::test]
async fn two_rules_of_one_name_are_rejected() {
    let (_eddy, s3, a, _) = validation_setup().await;
    let rule = |value: &str| {
        aws_sdk_s3::types::FilterRule::builder()
            .name(aws_sdk_s3::types::FilterRuleName::Prefix)
            .value(value)
            .build()
    };
    let config = aws_sdk_s3::types::QueueConfiguration::builder()
        .id("x")
        .queue_arn(&a)
        .events(aws_sdk_s3::types::Event::S3ObjectCreated)
        .filter(
            aws_sdk_s3::types::NotificationConfigurationFilter::builder()
                .key(
                    aws_sdk_s3::types::S3KeyFilter::builder()
                        .filter_rules(rule("a/"))
                        .filter_rules(rule("b/"))
                        .build(),
                )
                .build(),
        )
        .build()
        .expect("config");
    let (code, _, status) = rejected(&s3, "rules", vec![config]).await;
    assert_eq!((code.as_str(), status), ("InvalidArgument", 400));
}

#[tokio::test]
async fn a_filter_value_over_1024_characters_is_rejected() {
    let (_eddy, s3, a, _) = validation_setup().await;
    let long = "p".repeat(1025);
    let (code, _, status) = rejected(
        &s3,
        "rules",
        vec![queue_config(
            "x",
            &a,
            &["s3:ObjectCreated:*"],
            Some(&long),
            None,
        )],
    )
    .await;
    assert_eq!((code.as_str(), status), ("InvalidArgument", 400));
    // 1024 characters is still allowed.
    let limit = "p".repeat(1024);
    s3.put_bucket_notification_configuration()
        .bucket("rules")
        .notification_configuration(notification(vec![queue_config(
            "x",
            &a,
            &["s3:ObjectCreated:*"],
            Some(&limit),
            None,
        )]))
        .send()
        .await
        .expect("a 1024-character prefix is accepted");
}

#[tokio::test]
async fn an_unknown_event_type_is_rejected() {
    let (_eddy, s3, a, _) = validation_setup().await;
    for event in [
        "s3:ObjectCreated:Upload",
        "s3:Everything",
        "ObjectCreated:Put",
        "s3:ObjectRestore:Bogus",
        "s3:*",
    ] {
        let (code, message, status) = rejected(
            &s3,
            "rules",
            vec![queue_config("x", &a, &[event], None, None)],
        )
        .await;
        assert_eq!(
            (code.as_str(), status),
            ("InvalidArgument", 400),
            "{event}: {message}"
        );
    }
    // Event types of the model that eddy never raises are still accepted.
    s3.put_bucket_notification_configuration()
        .bucket("rules")
        .notification_configuration(notification(vec![queue_config(
            "x",
            &a,
            &["s3:ObjectTagging:*", "s3:ObjectRestore:Completed"],
            None,
            None,
        )]))
        .send()
        .await
        .expect("known event types are accepted");
}

#[tokio::test]
async fn a_missing_bucket_is_no_such_bucket() {
    let (_eddy, s3, a, _) = validation_setup().await;
    let (code, _, status) = rejected(
        &s3,
        "no-such-bucket",
        vec![queue_config("x", &a, &["s3:ObjectCreated:*"], None, None)],
    )
    .await;
    assert_eq!((code.as_str(), status), ("NoSuchBucket", 404));
}

fn hex_md5(bytes: &[u8]) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(bytes))
}

/// Percent-encodes a key for `x-amz-copy-source`, keeping `/`.
fn urlencode(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
