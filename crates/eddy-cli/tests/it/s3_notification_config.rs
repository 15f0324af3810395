//! Notification configurations as S3 takes them: filter rule names answered as
//! `Prefix`/`Suffix`, bad configurations refused with S3's `ArgumentName` and
//! `ArgumentValue`, and a bucket of another region notifying queues of its region.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    FilterRule, FilterRuleName, NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
};

use crate::util::harness::Eddy;
use crate::util::s3::{create_queue, notification, queue_config, receive_bodies};

#[tokio::test]
async fn filter_rule_names_are_answered_as_s3_writes_them() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let (_, arn) = create_queue(&sqs, "cased").await;
    s3.create_bucket()
        .bucket("cased")
        .send()
        .await
        .expect("create");
    let rule = |name: &str, value: &str| {
        FilterRule::builder()
            .name(FilterRuleName::from(name))
            .value(value)
            .build()
    };
    let config = QueueConfiguration::builder()
        .id("c")
        .queue_arn(&arn)
        .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:*"))
        .filter(
            NotificationConfigurationFilter::builder()
                .key(
                    S3KeyFilter::builder()
                        .filter_rules(rule("prefix", "in/"))
                        .filter_rules(rule("SUFFIX", ".csv"))
                        .build(),
                )
                .build(),
        )
        .build()
        .expect("config");
    s3.put_bucket_notification_configuration()
        .bucket("cased")
        .notification_configuration(notification(vec![config]))
        .send()
        .await
        .expect("put");
    let got = s3
        .get_bucket_notification_configuration()
        .bucket("cased")
        .send()
        .await
        .expect("get");
    let rules: Vec<(String, String)> = got.queue_configurations()[0]
        .filter()
        .and_then(|f| f.key())
        .map(S3KeyFilter::filter_rules)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r.name().map_or("", |n| n.as_str()).to_owned(),
                r.value().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("Prefix".to_owned(), "in/".to_owned()),
            ("Suffix".to_owned(), ".csv".to_owned())
        ]
    );
}

/// The code, message and the argument elements of a refused
/// PutBucketNotification (`ArgumentName`/`ArgumentValue`, or the numbered
/// `ArgumentName1`/`ArgumentValue1` S3 writes for destinations).
async fn refusal(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    config: QueueConfiguration,
) -> (String, String, Option<String>, Option<String>) {
    let error = s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(notification(vec![config]))
        .send()
        .await
        .expect_err("refused");
    let raw = error.raw_response().expect("raw response");
    assert_eq!(raw.status().as_u16(), 400);
    let body = String::from_utf8_lossy(raw.body().bytes().unwrap_or_default()).into_owned();
    let element = |name: &str| eddy_testing::raw::xml_all(&body, name).into_iter().next();
    (
        element("Code").unwrap_or_default(),
        element("Message").unwrap_or_default(),
        element("ArgumentName").or_else(|| element("ArgumentName1")),
        element("ArgumentValue").or_else(|| element("ArgumentValue1")),
    )
}

#[tokio::test]
async fn bad_configurations_are_refused_with_s3s_arguments() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let (_, arn) = create_queue(&sqs, "targets").await;
    s3.create_bucket()
        .bucket("strict")
        .send()
        .await
        .expect("create");
    let with_rule = |rule: FilterRule| {
        QueueConfiguration::builder()
            .queue_arn(&arn)
            .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:*"))
            .filter(
                NotificationConfigurationFilter::builder()
                    .key(S3KeyFilter::builder().filter_rules(rule).build())
                    .build(),
            )
            .build()
            .expect("config")
    };
    // A rule without a value, or without a name: malformed XML.
    let (code, ..) = refusal(
        &s3,
        "strict",
        with_rule(FilterRule::builder().name(FilterRuleName::Prefix).build()),
    )
    .await;
    assert_eq!(code, "MalformedXML");
    let (code, ..) = refusal(
        &s3,
        "strict",
        with_rule(FilterRule::builder().value("x").build()),
    )
    .await;
    assert_eq!(code, "MalformedXML");
    // An event type S3 does not know.
    let (code, message, ..) = refusal(
        &s3,
        "strict",
        queue_config("e", &arn, &["s3:ObjectCreated:Upload"], None, None),
    )
    .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "InvalidArgument",
            "The event is not supported for notifications"
        )
    );
    // An unknown rule name.
    let refused = refusal(
        &s3,
        "strict",
        with_rule(
            FilterRule::builder()
                .name(FilterRuleName::from("Middle"))
                .value("x")
                .build(),
        ),
    )
    .await;
    assert_eq!(
        refused,
        (
            "InvalidArgument".to_owned(),
            "filter rule name must be either prefix or suffix".to_owned(),
            Some("FilterRule.Name".to_owned()),
            Some("Middle".to_owned())
        )
    );
    // The ARN of something that is not a queue.
    let topic = "arn:aws:sns:us-east-1:000000000000:a-topic";
    let refused = refusal(
        &s3,
        "strict",
        queue_config("t", topic, &["s3:ObjectCreated:*"], None, None),
    )
    .await;
    assert_eq!(
        refused,
        (
            "InvalidArgument".to_owned(),
            "The ARN could not be parsed".to_owned(),
            Some("QueueArn".to_owned()),
            Some(topic.to_owned())
        )
    );
    // A queue that does not exist.
    let missing = "arn:aws:sqs:us-east-1:000000000000:nowhere";
    let refused = refusal(
        &s3,
        "strict",
        queue_config("m", missing, &["s3:ObjectCreated:*"], None, None),
    )
    .await;
    assert_eq!(
        refused,
        (
            "InvalidArgument".to_owned(),
            "Unable to validate the following destination configurations".to_owned(),
            Some(missing.to_owned()),
            Some("The destination queue does not exist".to_owned())
        )
    );
    // Nothing was stored.
    let got = s3
        .get_bucket_notification_configuration()
        .bucket("strict")
        .send()
        .await
        .expect("get");
    assert!(got.queue_configurations().is_empty());
}

#[tokio::test]
async fn a_bucket_of_another_region_notifies_queues_of_its_region() {
    let eddy = Eddy::start();
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(eddy_function::sdk_http::https_client())
        .endpoint_url(&eddy.endpoint)
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "t",
        ))
        .load()
        .await;
    let s3 = crate::util::harness::path_style_s3(&shared);
    let sqs = aws_sdk_sqs::Client::new(&shared);
    let url = crate::util::sqs::create(&sqs, "irish-events", &[]).await;
    let arn = "arn:aws:sqs:eu-west-1:000000000000:irish-events";
    s3.create_bucket()
        .bucket("irish-bucket")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create");
    // A queue of another region is refused.
    let (code, message, ..) = refusal(
        &s3,
        "irish-bucket",
        queue_config(
            "x",
            "arn:aws:sqs:us-east-1:000000000000:source-events",
            &["s3:ObjectCreated:*"],
            None,
            None,
        ),
    )
    .await;
    assert_eq!(code, "InvalidArgument");
    assert_eq!(
        message,
        "The notification destination service region is not valid for the bucket location constraint"
    );
    s3.put_bucket_notification_configuration()
        .bucket("irish-bucket")
        .notification_configuration(notification(vec![queue_config(
            "eu",
            arn,
            &["s3:ObjectCreated:*"],
            None,
            None,
        )]))
        .send()
        .await
        .expect("configure");
    receive_bodies(&sqs, &url, 1).await;
    s3.put_object()
        .bucket("irish-bucket")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put");
    let body = &receive_bodies(&sqs, &url, 1).await[0];
    assert_eq!(body["Records"][0]["awsRegion"], "eu-west-1");
    assert_eq!(body["Records"][0]["eventName"], "ObjectCreated:Put");
}
