//! Issue 15's SQS fidelity categories against the real eddy binary, through the AWS SDK
//! for Rust (JSON protocol) and signed raw requests (JSON and query protocol):
//! boolean attribute values, error shapes and messages, the query protocol without or
//! with a foreign `Action`, FIFO group order and batches, ChangeMessageVisibility after
//! expiry, MessageAttributeNames prefixes, AWSTraceHeader, queues per region with the
//! queue URL host forms, and message counts kept across a kill. The expected answers are
//! those AWS gave in LocalStack's AWS-validated SQS tests.

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use eddy_testing::raw::send;
use eddy_testing::sign::Location;
use serde_json::Value;

use crate::util::harness::{Eddy, EddyOptions, queue_count};
use crate::util::query::{QueryClient, RawResponse};

/// A signed AWS JSON 1.0 request of `AmazonSQS.<target>` with `body`.
fn json_call(client: &QueryClient, target: &str, body: &str) -> RawResponse {
    let url = format!("{}/", client.endpoint);
    let headers = vec![
        (
            "host".to_owned(),
            client.endpoint.trim_start_matches("http://").to_owned(),
        ),
        (
            "content-type".to_owned(),
            "application/x-amz-json-1.0".to_owned(),
        ),
        ("x-amz-target".to_owned(), format!("AmazonSQS.{target}")),
    ];
    let (headers, _) =
        client.sign_headers("POST", &url, &headers, body.as_bytes(), Location::Headers);
    send(&client.endpoint, "POST", "/", &headers, body.as_bytes())
}

/// The `__type`, `x-amzn-query-error` and message of a JSON error answer.
fn json_error(response: &RawResponse) -> (String, String, String) {
    let body: Value = serde_json::from_str(&response.body).expect("a JSON error");
    (
        body["__type"].as_str().unwrap_or_default().to_owned(),
        response
            .header("x-amzn-query-error")
            .unwrap_or_default()
            .to_owned(),
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest[rest.find('/').expect("path")..].to_owned()
}

async fn create(sqs: &aws_sdk_sqs::Client, name: &str, attributes: &[(&str, &str)]) -> String {
    let mut request = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(QueueAttributeName::from(*k), *v);
    }
    request
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("url")
        .to_owned()
}

async fn send_grouped(sqs: &aws_sdk_sqs::Client, url: &str, body: &str, group: &str) {
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .message_group_id(group)
        .send()
        .await
        .expect("send");
}

/// Bodies and receipt handles of one receive.
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    max: i32,
    visibility: Option<i32>,
) -> Vec<(String, String)> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .set_visibility_timeout(visibility)
        .send()
        .await
        .expect("receive")
        .messages()
        .iter()
        .map(|m| {
            (
                m.body().unwrap_or_default().to_owned(),
                m.receipt_handle().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn bodies(messages: &[(String, String)]) -> Vec<&str> {
    messages.iter().map(|(b, _)| b.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn boolean_attribute_values_in_any_case() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    for (i, value) in ["true", "True", "TRUE"].into_iter().enumerate() {
        let url = create(
            &sqs,
            &format!("bools-{i}.fifo"),
            &[("FifoQueue", value), ("ContentBasedDeduplication", value)],
        )
        .await;
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .expect("attributes");
        let attributes = attributes.attributes().expect("attributes");
        assert_eq!(attributes[&QueueAttributeName::FifoQueue], "true");
        assert_eq!(
            attributes[&QueueAttributeName::ContentBasedDeduplication],
            "true"
        );
        // Content-based deduplication is on: no deduplication id needed.
        send_grouped(&sqs, &url, "m", "g").await;
    }
    // The query protocol reads them the same way.
    let client = QueryClient::new(&eddy.endpoint);
    let response = client.post(
        "/",
        "CreateQueue",
        &[
            ("QueueName", "query-bools.fifo"),
            ("Attribute.1.Name", "FifoQueue"),
            ("Attribute.1.Value", "TRUE"),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_errors_carry_the_model_shape_and_the_query_code() {
    let eddy = Eddy::start();
    let client = QueryClient::new(&eddy.endpoint);
    let sqs = eddy.sqs().await;
    let url = create(&sqs, "errors", &[]).await;
    let url_json = serde_json::to_string(&url).expect("json");
    let cases: Vec<(&str, String, &str, &str, &str)> = vec![
        (
            "GetQueueUrl",
            r#"{"QueueName":"missing"}"#.to_owned(),
            "com.amazonaws.sqs#QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue;Sender",
            "The specified queue does not exist.",
        ),
        (
            "CreateQueue",
            r#"{"QueueName":"bad name!"}"#.to_owned(),
            "com.amazon.coral.service#InvalidParameterValueException",
            "InvalidParameterValue;Sender",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ),
        (
            "SendMessage",
            format!(r#"{{"QueueUrl":{url_json},"MessageBody":""}}"#),
            "com.amazon.coral.service#MissingRequiredParameterException",
            "MissingParameter;Sender",
            "The request must contain the parameter MessageBody.",
        ),
        (
            "SendMessage",
            format!(
                r#"{{"QueueUrl":{url_json},"MessageBody":"x","MessageAttributes":{{"X":{{"DataType":"String","StringValue":""}}}}}}"#
            ),
            "com.amazon.coral.service#InvalidParameterValueException",
            "InvalidParameterValue;Sender",
            "Message (user) attribute 'X' must contain a non-empty value of type 'String'.",
        ),
        (
            "SetQueueAttributes",
            format!(r#"{{"QueueUrl":{url_json},"Attributes":{{"DeduplicationScope":"queue"}}}}"#),
            "com.amazonaws.sqs#InvalidAttributeName",
            "InvalidAttributeName;Sender",
            "You can specify the DeduplicationScope only when FifoQueue is set to true.",
        ),
        (
            "CreateQueue",
            r#"{"QueueName":"standard","Attributes":{"FifoQueue":"false"}}"#.to_owned(),
            "com.amazonaws.sqs#InvalidAttributeName",
            "InvalidAttributeName;Sender",
            "Unknown Attribute FifoQueue.",
        ),
        (
            "RemovePermission",
            format!(r#"{{"QueueUrl":{url_json},"Label":"L"}}"#),
            "com.amazon.coral.service#InvalidParameterValueException",
            "InvalidParameterValue;Sender",
            "Value L for parameter Label is invalid. Reason: can't find label.",
        ),
        (
            "NoSuchOperation",
            "{}".to_owned(),
            "com.amazon.coral.service#UnknownOperationException",
            "InvalidAction;Sender",
            "The action NoSuchOperation is not valid for this endpoint.",
        ),
    ];
    for (target, body, shape, query_error, message) in cases {
        let response = json_call(&client, target, &body);
        assert_eq!(response.status, 400, "{target}: {}", response.body);
        assert_eq!(
            json_error(&response),
            (shape.to_owned(), query_error.to_owned(), message.to_owned()),
            "{target} {body}"
        );
    }
    // The SDK matches on the query code of x-amzn-query-error.
    let err = sqs
        .create_queue()
        .queue_name("bad name!")
        .send()
        .await
        .expect_err("bad name");
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    let err = sqs
        .get_queue_url()
        .queue_name("missing")
        .send()
        .await
        .expect_err("missing");
    assert!(err.into_service_error().is_queue_does_not_exist());
}

#[tokio::test(flavor = "multi_thread")]
async fn query_errors_and_requests_without_or_with_a_foreign_action() {
    let eddy = Eddy::start();
    let client = QueryClient::new(&eddy.endpoint);
    let response = client.post("/", "GetQueueUrl", &[("QueueName", "missing")]);
    assert_eq!(response.status, 400);
    assert_eq!(
        response.first("Code").as_deref(),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );
    assert_eq!(
        response.first("Message").as_deref(),
        Some("The specified queue does not exist for this wsdl version.")
    );
    let response = client.post("/", "CreateQueue", &[("QueueName", "bad name!")]);
    assert_eq!(
        response.first("Code").as_deref(),
        Some("InvalidParameterValue")
    );

    let sqs = eddy.sqs().await;
    let url = create(&sqs, "q", &[]).await;
    let path = path_of(&url);
    // No Action, over POST (whatever the content) and over GET: 404 UnknownOperation.
    for body in [&b"Version=2012-11-05"[..], b""] {
        for target in ["/", path.as_str()] {
            let response = client.post_body(target, body);
            assert_eq!(response.status, 404, "{target}: {}", response.body);
            assert!(
                response.body.contains("<UnknownOperationException/>"),
                "{}",
                response.body
            );
            assert!(
                response
                    .header("content-type")
                    .is_some_and(|t| t.contains("xml"))
            );
        }
    }
    let get_url = format!("{}{path}?Version=2012-11-05", client.endpoint);
    let headers = vec![
        (
            "host".to_owned(),
            client.endpoint.trim_start_matches("http://").to_owned(),
        ),
        ("accept".to_owned(), "application/json".to_owned()),
    ];
    let (headers, signed_url) =
        client.sign_headers("GET", &get_url, &headers, b"", Location::Headers);
    let path_and_query = signed_url.trim_start_matches(&client.endpoint).to_owned();
    let response = send(&client.endpoint, "GET", &path_and_query, &headers, b"");
    assert_eq!(response.status, 404, "{}", response.body);
    assert!(response.body.contains("<UnknownOperationException/>"));

    // Actions that address no queue are refused on a queue URL; unknown actions too.
    for action in ["CreateQueue", "ListQueues", "NoSuchAction"] {
        let response = client.post(&path, action, &[("QueueName", "other")]);
        assert_eq!(response.status, 400, "{action}: {}", response.body);
        assert_eq!(response.first("Code").as_deref(), Some("InvalidAction"));
        assert_eq!(
            response.first("Message"),
            Some(format!(
                "The action {action} is not valid for this endpoint."
            ))
        );
    }
    let response = client.get(&path, "NoSuchAction", &[], false);
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(response.first("Code").as_deref(), Some("InvalidAction"));
}

#[tokio::test(flavor = "multi_thread")]
async fn fifo_groups_are_received_together_in_the_order_they_became_available() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let attributes = [("FifoQueue", "true"), ("ContentBasedDeduplication", "true")];

    // One receive takes a group's messages together, then the next group's.
    let url = create(&sqs, "order.fifo", &attributes).await;
    for (body, group) in [
        ("g1-m1", "1"),
        ("g2-m1", "2"),
        ("g1-m2", "1"),
        ("g1-m3", "1"),
    ] {
        send_grouped(&sqs, &url, body, group).await;
    }
    let got = receive(&sqs, &url, 10, Some(0)).await;
    assert_eq!(bodies(&got), ["g1-m1", "g1-m2", "g1-m3", "g2-m1"]);

    // A receive with VisibilityTimeout=0 puts its groups behind the ones that waited.
    let url = create(&sqs, "zero.fifo", &attributes).await;
    for (body, group) in [
        ("g1-m1", "1"),
        ("g2-m1", "2"),
        ("g2-m2", "2"),
        ("g3-m1", "3"),
        ("g1-m2", "1"),
    ] {
        send_grouped(&sqs, &url, body, group).await;
    }
    let got = receive(&sqs, &url, 3, Some(0)).await;
    assert_eq!(bodies(&got), ["g1-m1", "g1-m2", "g2-m1"]);
    let got = receive(&sqs, &url, 10, Some(0)).await;
    assert_eq!(bodies(&got), ["g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2"]);

    // A group is blocked while an earlier message of it is in flight; ending one
    // message's visibility frees it, behind the groups that waited.
    let url = create(&sqs, "blocked.fifo", &attributes).await;
    for (body, group) in [("g1-m1", "1"), ("g1-m2", "1"), ("g2-m1", "2")] {
        send_grouped(&sqs, &url, body, group).await;
    }
    let first = receive(&sqs, &url, 2, None).await;
    assert_eq!(bodies(&first), ["g1-m1", "g1-m2"]);
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&first[0].1)
        .visibility_timeout(0)
        .send()
        .await
        .expect("end visibility");
    let got = receive(&sqs, &url, 3, None).await;
    assert_eq!(bodies(&got), ["g2-m1", "g1-m1"], "g1-m2 is still in flight");

    // Deleting part of what was received keeps the group blocked; deleting all of it
    // frees the group, whose rest comes in the order it was sent.
    for (name, delete_all, expected) in [
        ("partial.fifo", false, &["g2-m1", "g2-m2", "g3-m1"][..]),
        (
            "all.fifo",
            true,
            &["g2-m1", "g2-m2", "g1-m3", "g1-m4", "g3-m1"][..],
        ),
    ] {
        let url = create(&sqs, name, &attributes).await;
        for (body, group) in [
            ("g1-m1", "1"),
            ("g2-m1", "2"),
            ("g1-m2", "1"),
            ("g2-m2", "2"),
            ("g1-m3", "1"),
            ("g1-m4", "1"),
            ("g3-m1", "3"),
        ] {
            send_grouped(&sqs, &url, body, group).await;
        }
        let first = receive(&sqs, &url, 2, None).await;
        assert_eq!(bodies(&first), ["g1-m1", "g1-m2"]);
        let deleted = if delete_all { &first[..] } else { &first[..1] };
        for (_, handle) in deleted {
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(handle)
                .send()
                .await
                .expect("delete");
        }
        let got = receive(&sqs, &url, 10, None).await;
        assert_eq!(bodies(&got), expected, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fifo_batches_delay_and_purge() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = create(&sqs, "batch.fifo", &[("FifoQueue", "true")]).await;
    let entry = |id: &str, group: Option<&str>, dedup: Option<&str>| {
        SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body("body")
            .set_message_group_id(group.map(str::to_owned))
            .set_message_deduplication_id(dedup.map(str::to_owned))
            .build()
            .expect("entry")
    };
    let err = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a", Some("g"), Some("d1")))
        .entries(entry("b", None, Some("d2")))
        .send()
        .await
        .expect_err("no group id");
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    let err = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a", Some("g"), Some("d1")))
        .entries(entry("b", Some("g"), None))
        .send()
        .await
        .expect_err("no deduplication id");
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    assert_eq!(
        err.message(),
        Some(
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
        )
    );
    assert!(
        receive(&sqs, &url, 10, None).await.is_empty(),
        "nothing sent"
    );

    // PurgeQueue forgets the deduplication ids: the same id is taken again.
    let send = |dedup: &'static str| {
        sqs.send_message()
            .queue_url(&url)
            .message_body("same")
            .message_group_id("g")
            .message_deduplication_id(dedup)
            .send()
    };
    let first = send("d").await.expect("send");
    let duplicate = send("d").await.expect("send");
    assert_eq!(first.message_id(), duplicate.message_id());
    sqs.purge_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("purge");
    let after = send("d").await.expect("send");
    assert_ne!(after.message_id(), first.message_id());
    assert_eq!(receive(&sqs, &url, 10, None).await.len(), 1);

    // DelaySeconds=0 on a FIFO message: the queue's delay still applies.
    let delayed = create(
        &sqs,
        "delayed.fifo",
        &[
            ("FifoQueue", "true"),
            ("ContentBasedDeduplication", "true"),
            ("DelaySeconds", "1"),
        ],
    )
    .await;
    sqs.send_message()
        .queue_url(&delayed)
        .message_body("later")
        .message_group_id("g")
        .delay_seconds(0)
        .send()
        .await
        .expect("send");
    assert!(receive(&sqs, &delayed, 1, None).await.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = receive(&sqs, &delayed, 1, Some(1)).await;
    assert_eq!(bodies(&later), ["later"]);

    // On a FIFO queue a receipt handle expires with its visibility timeout.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let err = sqs
        .delete_message()
        .queue_url(&delayed)
        .receipt_handle(&later[0].1)
        .send()
        .await
        .expect_err("expired handle");
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    assert_eq!(
        err.message()
            .map(|m| m.ends_with("Reason: The receipt handle has expired.")),
        Some(true)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn change_visibility_after_expiry_and_with_an_earlier_handle() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = create(&sqs, "visibility", &[]).await;
    sqs.send_message()
        .queue_url(&url)
        .message_body("m")
        .send()
        .await
        .expect("send");
    let first = receive(&sqs, &url, 1, Some(1)).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // Expired: the latest handle hides the message again.
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&first[0].1)
        .visibility_timeout(30)
        .send()
        .await
        .expect("change after expiry");
    assert!(
        receive(&sqs, &url, 1, None).await.is_empty(),
        "hidden again"
    );
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&first[0].1)
        .visibility_timeout(0)
        .send()
        .await
        .expect("release");
    let second = receive(&sqs, &url, 1, Some(30)).await;
    assert_ne!(second[0].1, first[0].1);
    // The first receive's handle still changes the visibility while the second holds it.
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&first[0].1)
        .visibility_timeout(0)
        .send()
        .await
        .expect("earlier handle");
    assert_eq!(bodies(&receive(&sqs, &url, 1, Some(0)).await), ["m"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn message_attribute_names_select_by_prefix() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = create(&sqs, "prefixes", &[]).await;
    let value = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .expect("value")
    };
    sqs.send_message()
        .queue_url(&url)
        .message_body("m")
        .message_attributes("Hello", value("1"))
        .message_attributes("Help.Me", value("2"))
        .message_attributes("Other", value("3"))
        .send()
        .await
        .expect("send");
    let cases: [(&[&str], &[&str]); 6] = [
        (&["Hel.*"], &["Hello", "Help.Me"]),
        (&["Help.*"], &["Help.Me"]),
        (&["All"], &["Hello", "Help.Me", "Other"]),
        (&[".*"], &["Hello", "Help.Me", "Other"]),
        (&["Other", "Hello"], &["Hello", "Other"]),
        (&["Nothing.*"], &[]),
    ];
    for (filters, expected) in cases {
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(0)
            .set_message_attribute_names(Some(filters.iter().map(|f| (*f).to_owned()).collect()))
            .send()
            .await
            .expect("receive");
        let message = &out.messages()[0];
        let mut names: Vec<&str> = message
            .message_attributes()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        names.sort_unstable();
        assert_eq!(names, expected, "{filters:?}");
    }
    // The query protocol filters the same way.
    let client = QueryClient::new(&eddy.endpoint);
    let response = client.post(
        &path_of(&url),
        "ReceiveMessage",
        &[
            ("MessageAttributeName.1", "Hel.*"),
            ("VisibilityTimeout", "0"),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let mut names = response.all("Name");
    names.sort_unstable();
    assert_eq!(names, ["Hello", "Help.Me"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_trace_header_from_the_header_or_the_system_attribute() {
    let eddy = Eddy::process();
    let sqs = eddy.sqs().await;
    let url = create(&sqs, "traces", &[]).await;
    let from_header = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
    sqs.send_message()
        .queue_url(&url)
        .message_body("by header")
        .customize()
        .mutate_request(move |request| {
            request.headers_mut().insert("X-Amzn-Trace-Id", from_header);
        })
        .send()
        .await
        .expect("send");
    let from_attribute = "Root=1-5759e988-bd862e3fe1be46a994272794;Sampled=0";
    sqs.send_message()
        .queue_url(&url)
        .message_body("by attribute")
        .message_system_attributes(
            aws_sdk_sqs::types::MessageSystemAttributeNameForSends::AwsTraceHeader,
            aws_sdk_sqs::types::MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(from_attribute)
                .build()
                .expect("value"),
        )
        .send()
        .await
        .expect("send");
    let out = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::AwsTraceHeader)
        .send()
        .await
        .expect("receive");
    let traces: Vec<(&str, &str)> = out
        .messages()
        .iter()
        .map(|m| {
            (
                m.body().unwrap_or_default(),
                m.attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::AwsTraceHeader))
                    .map_or("", String::as_str),
            )
        })
        .collect();
    assert_eq!(
        traces,
        [("by header", from_header), ("by attribute", from_attribute)]
    );
}

/// The kept message counts (migration 6) are exact after eddy is killed and restarted.
#[tokio::test(flavor = "multi_thread")]
async fn queue_counts_survive_a_kill() {
    let temp = tempfile::tempdir().expect("temp dir");
    let options = EddyOptions {
        config: String::new(),
        data_dir: Some(temp.path().join("data")),
    };
    let url = {
        let eddy = Eddy::start_with(options.clone());
        let sqs = eddy.sqs().await;
        let url = create(&sqs, "counted", &[]).await;
        let mut batch = sqs.send_message_batch().queue_url(&url);
        for i in 0..5 {
            batch = batch.entries(
                SendMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .message_body(format!("m{i}"))
                    .build()
                    .expect("entry"),
            );
        }
        batch.send().await.expect("send");
        let received = receive(&sqs, &url, 2, Some(600)).await;
        assert_eq!(received.len(), 2);
        sqs.delete_message()
            .queue_url(&url)
            .receipt_handle(&received[0].1)
            .send()
            .await
            .expect("delete");
        url
        // Dropping eddy kills it (SIGKILL).
    };
    let eddy = Eddy::start_with(options);
    let sqs = eddy.sqs().await;
    let url = format!("{}{}", eddy.endpoint, path_of(&url));
    assert_eq!(
        queue_count(&sqs, &url, "ApproximateNumberOfMessages").await,
        3
    );
    assert_eq!(
        queue_count(&sqs, &url, "ApproximateNumberOfMessagesNotVisible").await,
        1
    );
}

/// An SQS client of the same eddy signing for `region`.
async fn sqs_in(eddy: &Eddy, region: &'static str) -> aws_sdk_sqs::Client {
    let shared = eddy.sdk_config().await;
    let config = aws_sdk_sqs::config::Builder::from(&shared)
        .region(aws_sdk_sqs::config::Region::new(region))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default()
}

async fn listed(sqs: &aws_sdk_sqs::Client) -> Vec<String> {
    let mut urls = sqs
        .list_queues()
        .queue_name_prefix("regional")
        .send()
        .await
        .expect("list")
        .queue_urls()
        .to_vec();
    urls.sort();
    urls
}

#[tokio::test(flavor = "multi_thread")]
async fn queues_live_in_the_region_of_the_signature() {
    let eddy = Eddy::start();
    let east = sqs_in(&eddy, "us-east-1").await;
    let west = sqs_in(&eddy, "eu-west-1").await;
    // The same name in two regions, with different attributes: two queues.
    let east_url = create(&east, "regional", &[("VisibilityTimeout", "5")]).await;
    let west_url = create(&west, "regional", &[("VisibilityTimeout", "7")]).await;
    create(&west, "regional-west-only", &[]).await;
    assert_eq!(
        queue_arn(&east, &east_url).await,
        "arn:aws:sqs:us-east-1:000000000000:regional"
    );
    assert_eq!(
        queue_arn(&west, &west_url).await,
        "arn:aws:sqs:eu-west-1:000000000000:regional"
    );
    assert_eq!(listed(&east).await, std::slice::from_ref(&east_url));
    assert_eq!(listed(&west).await.len(), 2);
    let err = east
        .get_queue_url()
        .queue_name("regional-west-only")
        .send()
        .await
        .expect_err("another region's queue");
    assert!(err.into_service_error().is_queue_does_not_exist());
    assert_eq!(
        west.get_queue_url()
            .queue_name("regional")
            .send()
            .await
            .expect("url")
            .queue_url(),
        Some(west_url.as_str())
    );

    // Messages stay in their region's queue.
    west.send_message()
        .queue_url(&west_url)
        .message_body("in eu-west-1")
        .send()
        .await
        .expect("send");
    assert!(receive(&east, &east_url, 10, None).await.is_empty());
    assert_eq!(
        bodies(&receive(&west, &west_url, 10, None).await),
        ["in eu-west-1"]
    );

    // A dead-letter queue is found in the source queue's region.
    let west_dlq = create(&west, "regional-dlq", &[]).await;
    let dlq_arn = queue_arn(&west, &west_dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}"#);
    west.set_queue_attributes()
        .queue_url(&west_url)
        .attributes(QueueAttributeName::RedrivePolicy, policy.clone())
        .send()
        .await
        .expect("a DLQ of the same region");
    let err = east
        .set_queue_attributes()
        .queue_url(&east_url)
        .attributes(QueueAttributeName::RedrivePolicy, policy)
        .send()
        .await
        .expect_err("a DLQ of another region");
    assert_eq!(err.code(), Some("InvalidParameterValue"));

    // The host forms SDKs send back: sqs.<region>.localhost and <region>.queue.localhost;
    // the queue URLs eddy answers with keep the host the client used.
    let port = eddy.endpoint.rsplit(':').next().expect("port").to_owned();
    for host in [
        format!("sqs.eu-west-1.localhost:{port}"),
        format!("eu-west-1.queue.localhost:{port}"),
    ] {
        let mut client = QueryClient::new(&format!("http://{host}"));
        client.region = "eu-west-1".into();
        let response = client.post("/", "GetQueueUrl", &[("QueueName", "regional")]);
        assert_eq!(response.status, 200, "{host}: {}", response.body);
        let url = response.first("QueueUrl").expect("QueueUrl");
        assert_eq!(url, format!("http://{host}/000000000000/regional"));
        let response = client.post(&path_of(&url), "ReceiveMessage", &[]);
        assert_eq!(response.status, 200, "{}", response.body);
    }
    // A URL that names no queue.
    let err = east
        .send_message()
        .queue_url("http://whatever-incorrect-queue-address")
        .message_body("x")
        .send()
        .await
        .expect_err("not a queue URL");
    assert!(err.into_service_error().is_queue_does_not_exist());
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_urls_in_the_regional_host_form_the_settings_choose() {
    for (setting, host) in [
        ("sqs-region", "sqs.eu-west-1.localhost"),
        ("region-queue", "eu-west-1.queue.localhost"),
    ] {
        let eddy = Eddy::start_with_config(&format!("sqs_queue_url_host = \"{setting}\"\n"));
        let port = eddy.endpoint.rsplit(':').next().expect("port").to_owned();
        let west = sqs_in(&eddy, "eu-west-1").await;
        let url = create(&west, "regional", &[]).await;
        assert_eq!(url, format!("http://{host}:{port}/000000000000/regional"));
        // The URL works as the QueueUrl of later requests.
        west.send_message()
            .queue_url(&url)
            .message_body("m")
            .send()
            .await
            .expect("send");
        assert_eq!(bodies(&receive(&west, &url, 1, None).await), ["m"]);
    }
}
