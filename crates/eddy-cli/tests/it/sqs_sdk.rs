//! Every SQS operation through the Rust AWS SDK against the real eddy binary, typed
//! errors included (the SDK only yields them when the error code, status and
//! `x-amzn-query-error` header are AWS's).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::util::harness::Eddy;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageAttributeValue, MessageSystemAttributeName, MessageSystemAttributeNameForSends,
    MessageSystemAttributeValue, QueueAttributeName, SendMessageBatchRequestEntry,
};

async fn create(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, &str)],
) -> String {
    let mut request = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(k.clone(), *v);
    }
    request
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("url")
        .to_owned()
}

async fn attribute(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    name: QueueAttributeName,
) -> Option<String> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .expect("get attributes")
        .attributes()
        .and_then(|a| a.get(&name).cloned())
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("attribute")
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_operations_and_their_typed_errors() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = create(
        &sqs,
        "ops-a",
        &[(QueueAttributeName::VisibilityTimeout, "12")],
    )
    .await;
    assert_eq!(url, eddy.queue_url("ops-a"));
    // Same name, same attributes: the same queue. Different attributes: QueueNameExists.
    assert_eq!(
        create(
            &sqs,
            "ops-a",
            &[(QueueAttributeName::VisibilityTimeout, "12")]
        )
        .await,
        url
    );
    let err = sqs
        .create_queue()
        .queue_name("ops-a")
        .attributes(QueueAttributeName::VisibilityTimeout, "13")
        .send()
        .await
        .expect_err("conflicting attributes");
    assert!(err.into_service_error().is_queue_name_exists());

    let err = sqs
        .create_queue()
        .queue_name("ops-b")
        .attributes(QueueAttributeName::VisibilityTimeout, "43201")
        .send()
        .await
        .expect_err("out of range");
    assert!(err.into_service_error().is_invalid_attribute_value());
    let err = sqs
        .create_queue()
        .queue_name("ops-b")
        .attributes(QueueAttributeName::from("Bogus"), "1")
        .send()
        .await
        .expect_err("unknown");
    assert!(err.into_service_error().is_invalid_attribute_name());
    let err = sqs
        .create_queue()
        .queue_name("no spaces")
        .send()
        .await
        .expect_err("bad name");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .create_queue()
        .queue_name("x".repeat(81))
        .send()
        .await
        .expect_err("long name");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );

    let got = sqs
        .get_queue_url()
        .queue_name("ops-a")
        .send()
        .await
        .expect("get url");
    assert_eq!(got.queue_url(), Some(url.as_str()));
    let err = sqs
        .get_queue_url()
        .queue_name("missing")
        .send()
        .await
        .expect_err("missing");
    assert!(err.into_service_error().is_queue_does_not_exist());

    // Attributes: none without names, all with All, timestamps in seconds.
    let none = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .send()
        .await
        .expect("attrs");
    assert!(
        none.attributes()
            .is_none_or(std::collections::HashMap::is_empty)
    );
    let all = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("attrs");
    let all = all.attributes().expect("attributes");
    assert_eq!(all[&QueueAttributeName::VisibilityTimeout], "12");
    assert_eq!(all[&QueueAttributeName::MaximumMessageSize], "1048576");
    assert_eq!(all[&QueueAttributeName::MessageRetentionPeriod], "345600");
    assert_eq!(
        all[&QueueAttributeName::QueueArn],
        "arn:aws:sqs:us-east-1:000000000000:ops-a"
    );
    assert_eq!(all[&QueueAttributeName::CreatedTimestamp].len(), 10);
    assert!(!all.contains_key(&QueueAttributeName::FifoQueue));
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::DelaySeconds, "3")
        .send()
        .await
        .expect("set");
    assert_eq!(
        attribute(&sqs, &url, QueueAttributeName::DelaySeconds)
            .await
            .as_deref(),
        Some("3")
    );
    let err = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect_err("fifo only at creation");
    assert!(err.into_service_error().is_invalid_attribute_name());
    let err = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await
        .expect_err("fifo attribute");
    assert!(err.into_service_error().is_invalid_attribute_name());

    // ListQueues with a prefix and pages.
    for name in ["page-1", "page-2", "page-3"] {
        create(&sqs, name, &[]).await;
    }
    let first = sqs
        .list_queues()
        .queue_name_prefix("page-")
        .max_results(2)
        .send()
        .await
        .expect("list");
    assert_eq!(first.queue_urls().len(), 2);
    let token = first.next_token().expect("next token").to_owned();
    let second = sqs
        .list_queues()
        .queue_name_prefix("page-")
        .max_results(2)
        .next_token(token)
        .send()
        .await
        .expect("list");
    assert_eq!(second.queue_urls(), [eddy.queue_url("page-3")]);
    assert!(second.next_token().is_none());
    let err = sqs
        .list_queues()
        .max_results(0)
        .send()
        .await
        .expect_err("max results");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );

    // Delete, then QueueDoesNotExist, and QueueDeletedRecently on re-creation.
    sqs.delete_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("delete");
    let err = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .send()
        .await
        .expect_err("deleted");
    assert!(err.into_service_error().is_queue_does_not_exist());
    let err = sqs
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .expect_err("deleted");
    assert!(err.into_service_error().is_queue_does_not_exist());
    let err = sqs
        .create_queue()
        .queue_name("ops-a")
        .send()
        .await
        .expect_err("recently deleted");
    assert!(err.into_service_error().is_queue_deleted_recently());
}

#[tokio::test(flavor = "multi_thread")]
async fn message_operations_and_their_typed_errors() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = create(&sqs, "msgs", &[]).await;

    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body("derp")
        .send()
        .await
        .expect("send");
    assert_eq!(
        sent.md5_of_message_body(),
        Some("58fd9edd83341c29f1aebba81c31e257")
    );
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    let message = &received.messages()[0];
    assert_eq!(message.message_id(), sent.message_id());
    let attributes = message.attributes().expect("attributes");
    assert_eq!(
        attributes[&MessageSystemAttributeName::ApproximateReceiveCount],
        "1"
    );
    assert_eq!(attributes[&MessageSystemAttributeName::SenderId], "test");
    assert_eq!(
        attributes[&MessageSystemAttributeName::SentTimestamp].len(),
        13
    );
    let handle = message.receipt_handle().expect("handle").to_owned();

    // Visibility: change, the 12 h cap, invalid handles, a change after release.
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&handle)
        .visibility_timeout(100)
        .send()
        .await
        .expect("change");
    let err = sqs
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&handle)
        .visibility_timeout(43_201)
        .send()
        .await
        .expect_err("cap");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle("not-a-handle")
        .visibility_timeout(5)
        .send()
        .await
        .expect_err("invalid");
    assert!(err.into_service_error().is_receipt_handle_is_invalid());
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&handle)
        .visibility_timeout(0)
        .send()
        .await
        .expect("release");
    // As on SQS, the handle still changes the visibility of a message no longer in
    // flight (sqs_fidelity checks that it hides it).
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&handle)
        .visibility_timeout(0)
        .send()
        .await
        .expect("change after release");

    // A new receive gives a new handle; both delete without error (the old one may not).
    let again = sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .expect("receive");
    let new_handle = again.messages()[0]
        .receipt_handle()
        .expect("handle")
        .to_owned();
    assert_ne!(new_handle, handle);
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(&new_handle)
        .send()
        .await
        .expect("delete");
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(&new_handle)
        .send()
        .await
        .expect("delete twice");
    let err = sqs
        .delete_message()
        .queue_url(&url)
        .receipt_handle("garbage")
        .send()
        .await
        .expect_err("invalid");
    assert!(err.into_service_error().is_receipt_handle_is_invalid());

    // Body and attribute validation.
    let err = sqs
        .send_message()
        .queue_url(&url)
        .message_body("bad \u{1} char")
        .send()
        .await
        .expect_err("invalid characters");
    assert!(err.into_service_error().is_invalid_message_contents());
    let err = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x".repeat(1_048_577))
        .send()
        .await
        .expect_err("too large");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .delay_seconds(901)
        .send()
        .await
        .expect_err("delay");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_attributes("AWS.reserved", string_attribute("v"))
        .send()
        .await
        .expect_err("reserved name");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let mut too_many = sqs.send_message().queue_url(&url).message_body("x");
    for i in 0..11 {
        too_many = too_many.message_attributes(format!("a{i}"), string_attribute("v"));
    }
    let err = too_many.send().await.expect_err("eleven attributes");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(11)
        .send()
        .await
        .expect_err("max");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(21)
        .send()
        .await
        .expect_err("wait");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );

    // Purge: once a minute.
    sqs.send_message()
        .queue_url(&url)
        .message_body("to purge")
        .send()
        .await
        .expect("send");
    sqs.purge_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("purge");
    let err = sqs
        .purge_queue()
        .queue_url(&url)
        .send()
        .await
        .expect_err("purge again");
    assert!(err.into_service_error().is_purge_queue_in_progress());
    let empty = sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .expect("receive");
    assert!(empty.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_report_per_entry_failures_and_typed_errors() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = create(&sqs, "batches", &[]).await;
    let entry = |id: &str, body: &str| {
        SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body(body)
            .build()
            .expect("entry")
    };

    let out = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("ok", "fine"))
        .entries(entry("bad", "bad \u{0} char"))
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("late")
                .message_body("later")
                .delay_seconds(901)
                .build()
                .expect("entry"),
        )
        .send()
        .await
        .expect("batch");
    assert_eq!(out.successful().len(), 1);
    assert_eq!(out.successful()[0].id(), "ok");
    let failed: HashMap<&str, &str> = out.failed().iter().map(|f| (f.id(), f.code())).collect();
    assert_eq!(failed["bad"], "InvalidMessageContents");
    assert_eq!(failed["late"], "InvalidParameterValue");
    assert!(
        out.failed()
            .iter()
            .all(aws_sdk_sqs::types::BatchResultErrorEntry::sender_fault)
    );

    let eleven: Vec<_> = (0..11).map(|i| entry(&format!("e{i}"), "x")).collect();
    let err = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(eleven))
        .send()
        .await
        .expect_err("eleven");
    assert!(
        err.into_service_error()
            .is_too_many_entries_in_batch_request()
    );
    let err = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(vec![]))
        .send()
        .await
        .expect_err("empty");
    assert!(err.into_service_error().is_empty_batch_request());
    let err = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("same", "a"))
        .entries(entry("same", "b"))
        .send()
        .await
        .expect_err("dup");
    assert!(err.into_service_error().is_batch_entry_ids_not_distinct());
    let err = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("bad id!", "a"))
        .send()
        .await
        .expect_err("bad id");
    assert!(err.into_service_error().is_invalid_batch_entry_id());
    let big = "x".repeat(600_000);
    let err = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a", &big))
        .entries(entry("b", &big))
        .send()
        .await
        .expect_err("too long");
    assert!(err.into_service_error().is_batch_request_too_long());

    let received = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive");
    let handle = received.messages()[0]
        .receipt_handle()
        .expect("handle")
        .to_owned();
    let out = sqs
        .change_message_visibility_batch()
        .queue_url(&url)
        .entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("ok")
                .receipt_handle(&handle)
                .visibility_timeout(50)
                .build()
                .expect("entry"),
        )
        .entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("bad")
                .receipt_handle("garbage")
                .visibility_timeout(50)
                .build()
                .expect("entry"),
        )
        .send()
        .await
        .expect("visibility batch");
    assert_eq!(out.successful().len(), 1);
    assert_eq!(out.failed()[0].code(), "ReceiptHandleIsInvalid");
    let out = sqs
        .delete_message_batch()
        .queue_url(&url)
        .entries(
            DeleteMessageBatchRequestEntry::builder()
                .id("ok")
                .receipt_handle(&handle)
                .build()
                .expect("entry"),
        )
        .entries(
            DeleteMessageBatchRequestEntry::builder()
                .id("bad")
                .receipt_handle("garbage")
                .build()
                .expect("entry"),
        )
        .send()
        .await
        .expect("delete batch");
    assert_eq!(out.successful()[0].id(), "ok");
    assert_eq!(out.failed()[0].id(), "bad");
    assert_eq!(out.failed()[0].code(), "ReceiptHandleIsInvalid");
    assert_eq!(
        crate::util::harness::queue_count(&sqs, &url, "ApproximateNumberOfMessages").await,
        0
    );
    assert_eq!(
        crate::util::harness::queue_count(&sqs, &url, "ApproximateNumberOfMessagesNotVisible")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_permissions_and_dead_letter_sources() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = sqs
        .create_queue()
        .queue_name("tagged")
        .tags("team", "data")
        .send()
        .await
        .expect("create")
        .queue_url()
        .expect("url")
        .to_owned();
    sqs.tag_queue()
        .queue_url(&url)
        .tags("env", "test")
        .send()
        .await
        .expect("tag");
    let tags = sqs
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .expect("tags");
    let tags = tags.tags().expect("tags");
    assert_eq!(tags.len(), 2);
    assert_eq!(tags["env"], "test");
    sqs.untag_queue()
        .queue_url(&url)
        .tag_keys("team")
        .send()
        .await
        .expect("untag");
    let tags = sqs
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .expect("tags");
    assert_eq!(
        tags.tags().expect("tags").keys().collect::<Vec<_>>(),
        ["env"]
    );
    let err = sqs
        .tag_queue()
        .queue_url(eddy.queue_url("nope"))
        .tags("a", "b")
        .send()
        .await
        .expect_err("missing queue");
    assert!(err.into_service_error().is_queue_does_not_exist());

    sqs.add_permission()
        .queue_url(&url)
        .label("send-from-b")
        .aws_account_ids("111122223333")
        .actions("SendMessage")
        .send()
        .await
        .expect("add permission");
    let policy: serde_json::Value = serde_json::from_str(
        &attribute(&sqs, &url, QueueAttributeName::Policy)
            .await
            .expect("policy"),
    )
    .expect("json");
    assert_eq!(policy["Statement"][0]["Sid"], "send-from-b");
    assert_eq!(policy["Statement"][0]["Action"], "SQS:SendMessage");
    assert_eq!(
        policy["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::111122223333:root"
    );
    assert_eq!(
        policy["Statement"][0]["Resource"],
        "arn:aws:sqs:us-east-1:000000000000:tagged"
    );
    let err = sqs
        .add_permission()
        .queue_url(&url)
        .label("send-from-b")
        .aws_account_ids("1")
        .actions("SendMessage")
        .send()
        .await
        .expect_err("same label");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    sqs.remove_permission()
        .queue_url(&url)
        .label("send-from-b")
        .send()
        .await
        .expect("remove");
    assert_eq!(
        attribute(&sqs, &url, QueueAttributeName::Policy).await,
        None
    );
    let err = sqs
        .remove_permission()
        .queue_url(&url)
        .label("send-from-b")
        .send()
        .await
        .expect_err("gone");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );

    let dlq = create(&sqs, "sources-dlq", &[]).await;
    let dlq_arn = attribute(&sqs, &dlq, QueueAttributeName::QueueArn)
        .await
        .expect("arn");
    let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"2"}}"#);
    for name in ["src-a", "src-b"] {
        create(&sqs, name, &[(QueueAttributeName::RedrivePolicy, &redrive)]).await;
    }
    // Written back as AWS does (maxReceiveCount a number); the same policy again is the
    // same queue.
    let stored = attribute(
        &sqs,
        &eddy.queue_url("src-a"),
        QueueAttributeName::RedrivePolicy,
    )
    .await
    .expect("redrive policy");
    let stored: serde_json::Value = serde_json::from_str(&stored).expect("json");
    assert_eq!(
        stored,
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    );
    create(
        &sqs,
        "src-a",
        &[(QueueAttributeName::RedrivePolicy, &redrive)],
    )
    .await;
    let sources = sqs
        .list_dead_letter_source_queues()
        .queue_url(&dlq)
        .send()
        .await
        .expect("sources");
    assert_eq!(
        sources.queue_urls(),
        [eddy.queue_url("src-a"), eddy.queue_url("src-b")]
    );
    let page = sqs
        .list_dead_letter_source_queues()
        .queue_url(&dlq)
        .max_results(1)
        .send()
        .await
        .expect("page");
    assert_eq!(page.queue_urls().len(), 1);
    assert!(page.next_token().is_some());

    // RedriveAllowPolicy: denyAll refuses new sources, byQueue only the listed ones.
    sqs.set_queue_attributes()
        .queue_url(&dlq)
        .attributes(
            QueueAttributeName::RedriveAllowPolicy,
            r#"{"redrivePermission":"denyAll"}"#,
        )
        .send()
        .await
        .expect("deny all");
    let err = sqs
        .create_queue()
        .queue_name("src-c")
        .attributes(QueueAttributeName::RedrivePolicy, &redrive)
        .send()
        .await
        .expect_err("denied");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let allowed = r#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:src-d"]}"#;
    sqs.set_queue_attributes()
        .queue_url(&dlq)
        .attributes(QueueAttributeName::RedriveAllowPolicy, allowed)
        .send()
        .await
        .expect("by queue");
    create(
        &sqs,
        "src-d",
        &[(QueueAttributeName::RedrivePolicy, &redrive)],
    )
    .await;
    let err = sqs
        .create_queue()
        .queue_name("src-e")
        .attributes(QueueAttributeName::RedrivePolicy, &redrive)
        .send()
        .await
        .expect_err("not listed");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .set_queue_attributes()
        .queue_url(&dlq)
        .attributes(
            QueueAttributeName::RedriveAllowPolicy,
            r#"{"redrivePermission":"byQueue"}"#,
        )
        .send()
        .await
        .expect_err("no arns");
    assert!(err.into_service_error().is_invalid_attribute_value());
}

#[tokio::test(flavor = "multi_thread")]
async fn redrive_on_the_exact_receive_and_move_back() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let dlq = create(&sqs, "redrive-dlq", &[]).await;
    let dlq_arn = attribute(&sqs, &dlq, QueueAttributeName::QueueArn)
        .await
        .expect("arn");
    let source = create(
        &sqs,
        "redrive-src",
        &[
            (
                QueueAttributeName::RedrivePolicy,
                &format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":2}}"#),
            ),
            (QueueAttributeName::VisibilityTimeout, "0"),
        ],
    )
    .await;
    let sent = sqs
        .send_message()
        .queue_url(&source)
        .message_body("poison")
        .send()
        .await
        .expect("send");
    for attempt in 1..=2 {
        let got = sqs
            .receive_message()
            .queue_url(&source)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .expect("receive");
        assert_eq!(
            got.messages().len(),
            1,
            "receive {attempt} returns the message"
        );
        assert_eq!(
            got.messages()[0].attributes().expect("attrs")
                [&MessageSystemAttributeName::ApproximateReceiveCount],
            attempt.to_string()
        );
    }
    // The third receive moves it instead of returning it.
    let third = sqs
        .receive_message()
        .queue_url(&source)
        .send()
        .await
        .expect("receive");
    assert!(third.messages().is_empty());
    let in_dlq = sqs
        .receive_message()
        .queue_url(&dlq)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .visibility_timeout(0)
        .send()
        .await
        .expect("receive dlq");
    let moved = &in_dlq.messages()[0];
    assert_eq!(moved.message_id(), sent.message_id());
    let source_arn = attribute(&sqs, &source, QueueAttributeName::QueueArn)
        .await
        .expect("arn");
    assert_eq!(
        moved.attributes().expect("attrs")[&MessageSystemAttributeName::DeadLetterQueueSourceArn],
        source_arn
    );

    // A move task takes it back to its source queue, with a new id.
    let err = sqs
        .start_message_move_task()
        .source_arn(&source_arn)
        .send()
        .await
        .expect_err("not a dlq");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(501)
        .send()
        .await
        .expect_err("rate");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let started = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(10)
        .send()
        .await
        .expect("start");
    let handle = started.task_handle().expect("handle").to_owned();
    let task = crate::util::harness::eventually(
        Duration::from_secs(10),
        "the move task to complete",
        || {
            let sqs = sqs.clone();
            let dlq_arn = dlq_arn.clone();
            async move {
                let tasks = sqs
                    .list_message_move_tasks()
                    .source_arn(dlq_arn)
                    .send()
                    .await
                    .ok()?;
                tasks
                    .results()
                    .first()
                    .filter(|t| t.status() == Some("COMPLETED"))
                    .cloned()
            }
        },
    )
    .await;
    assert_eq!(task.approximate_number_of_messages_moved(), 1);
    assert_eq!(task.approximate_number_of_messages_to_move(), Some(1));
    assert_eq!(task.max_number_of_messages_per_second(), Some(10));
    assert!(task.task_handle().is_none());
    let back = sqs
        .receive_message()
        .queue_url(&source)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    let back = &back.messages()[0];
    assert_eq!(back.body(), Some("poison"));
    assert_ne!(back.message_id(), sent.message_id());
    assert_eq!(
        back.attributes().expect("attrs")[&MessageSystemAttributeName::ApproximateReceiveCount],
        "1"
    );
    assert!(
        !back
            .attributes()
            .expect("attrs")
            .contains_key(&MessageSystemAttributeName::DeadLetterQueueSourceArn)
    );
    let err = sqs
        .cancel_message_move_task()
        .task_handle(&handle)
        .send()
        .await
        .expect_err("completed");
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = sqs
        .list_message_move_tasks()
        .source_arn("arn:aws:sqs:us-east-1:000000000000:nope")
        .send()
        .await
        .expect_err("no queue");
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[tokio::test(flavor = "multi_thread")]
async fn move_tasks_run_at_their_rate_and_can_be_cancelled() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let dlq = create(&sqs, "slow-dlq", &[]).await;
    let dlq_arn = attribute(&sqs, &dlq, QueueAttributeName::QueueArn)
        .await
        .expect("arn");
    create(
        &sqs,
        "slow-src",
        &[(
            QueueAttributeName::RedrivePolicy,
            &format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#),
        )],
    )
    .await;
    let target = create(&sqs, "slow-target", &[]).await;
    let target_arn = attribute(&sqs, &target, QueueAttributeName::QueueArn)
        .await
        .expect("arn");
    for batch in 0..3 {
        let entries = (0..10)
            .map(|i| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .message_body(format!("{batch}-{i}"))
                    .build()
                    .expect("entry")
            })
            .collect();
        sqs.send_message_batch()
            .queue_url(&dlq)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("send");
    }
    let started = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .destination_arn(&target_arn)
        .max_number_of_messages_per_second(1)
        .send()
        .await
        .expect("start");
    let err = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await
        .expect_err("one task at a time");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let running = sqs
        .list_message_move_tasks()
        .source_arn(&dlq_arn)
        .send()
        .await
        .expect("list");
    assert_eq!(running.results()[0].status(), Some("RUNNING"));
    assert!(running.results()[0].task_handle().is_some());
    let moved = running.results()[0].approximate_number_of_messages_moved();
    assert!(
        (1..=3).contains(&moved),
        "1 message a second, moved {moved}"
    );
    sqs.cancel_message_move_task()
        .task_handle(started.task_handle().expect("handle"))
        .send()
        .await
        .expect("cancel");
    crate::util::harness::eventually(Duration::from_secs(5), "the task to be cancelled", || {
        let sqs = sqs.clone();
        let dlq_arn = dlq_arn.clone();
        async move {
            let tasks = sqs
                .list_message_move_tasks()
                .source_arn(dlq_arn)
                .send()
                .await
                .ok()?;
            (tasks.results()[0].status() == Some("CANCELLED")).then_some(())
        }
    })
    .await;
    let in_target =
        crate::util::harness::queue_count(&sqs, &target, "ApproximateNumberOfMessages").await;
    let in_dlq = crate::util::harness::queue_count(&sqs, &dlq, "ApproximateNumberOfMessages").await;
    assert_eq!(in_target + in_dlq, 30);
    assert!(in_target < 10, "cancelled early, moved {in_target}");
}

#[tokio::test(flavor = "multi_thread")]
async fn long_poll_wakes_on_send_within_50_ms() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = create(&sqs, "long-poll", &[]).await;
    // Warm up the connections of both clients.
    sqs.get_queue_url()
        .queue_name("long-poll")
        .send()
        .await
        .expect("warm up");
    let sender = eddy.sqs().await;
    sender
        .get_queue_url()
        .queue_name("long-poll")
        .send()
        .await
        .expect("warm up");
    // Wake-up latency: from the send's acknowledgment (the message is committed and
    // visible) to the waiting receive returning it. Also reported: from the start of the
    // send, which adds the send's own durable commit.
    let mut worst_wake = Duration::ZERO;
    let mut worst_total = Duration::ZERO;
    for round in 0..3 {
        let receiver = {
            let sqs = sqs.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let out = sqs
                    .receive_message()
                    .queue_url(&url)
                    .wait_time_seconds(10)
                    .send()
                    .await
                    .expect("receive");
                (Instant::now(), out.messages().len())
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before_send = Instant::now();
        sender
            .send_message()
            .queue_url(&url)
            .message_body(format!("wake {round}"))
            .send()
            .await
            .expect("send");
        let acknowledged = Instant::now();
        let (returned, count) = receiver.await.expect("receiver");
        assert_eq!(count, 1, "the waiting receive got the message");
        worst_wake = worst_wake.max(returned.saturating_duration_since(acknowledged));
        worst_total = worst_total.max(returned.duration_since(before_send));
        let left = sqs
            .receive_message()
            .queue_url(&url)
            .send()
            .await
            .expect("drain");
        assert!(left.messages().is_empty());
    }
    println!(
        "long poll wake-up, worst of 3: {worst_wake:?} after the send's acknowledgment, {worst_total:?} after its start"
    );
    assert!(
        worst_wake < Duration::from_millis(50),
        "long poll woke {worst_wake:?} after the send"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_wait_time_applies_without_a_wait_in_the_request() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = create(
        &sqs,
        "queue-wait",
        &[(QueueAttributeName::ReceiveMessageWaitTimeSeconds, "1")],
    )
    .await;
    let start = Instant::now();
    let out = sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .expect("receive");
    assert!(out.messages().is_empty());
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        start.elapsed()
    );
    let start = Instant::now();
    sqs.receive_message()
        .queue_url(&url)
        .wait_time_seconds(0)
        .send()
        .await
        .expect("receive");
    assert!(start.elapsed() < Duration::from_millis(800));
}

#[tokio::test(flavor = "multi_thread")]
async fn md5_digests_match_known_aws_values() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = create(&sqs, "digests", &[]).await;
    let number = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("Number")
            .string_value(v)
            .build()
            .expect("attribute")
    };
    // Values pinned by moto's SQS test suite as what AWS returns.
    for (name, value, digest) in [
        (
            "timestamp",
            "1493147359900",
            "235c5c510d26fb653d073faed50ae77c",
        ),
        (
            "timestamp",
            "1493147359901",
            "994258b45346a2cc3f9cbb611aa7af30",
        ),
        (
            "SOME_Valid.attribute-Name",
            "1493147359900",
            "36655e7e9d7c0e8479fa3f3f42247ae7",
        ),
    ] {
        let sent = sqs
            .send_message()
            .queue_url(&url)
            .message_body("derp")
            .message_attributes(name, number(value))
            .send()
            .await
            .expect("send");
        assert_eq!(sent.md5_of_message_attributes(), Some(digest));
        assert_eq!(
            sent.md5_of_message_body(),
            Some("58fd9edd83341c29f1aebba81c31e257")
        );
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        let message = &got.messages()[0];
        assert_eq!(message.md5_of_message_attributes(), Some(digest));
        sqs.delete_message()
            .queue_url(&url)
            .receipt_handle(message.receipt_handle().expect("handle"))
            .send()
            .await
            .expect("delete");
    }

    // Binary attributes, filters, and the digest of the selected attributes only.
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body("filters")
        .message_attributes("trace.id", string_attribute("abc"))
        .message_attributes("trace.span", string_attribute("def"))
        .message_attributes(
            "payload",
            MessageAttributeValue::builder()
                .data_type("Binary.gzip")
                .binary_value(Blob::new(vec![0u8, 1, 2]))
                .build()
                .expect("attribute"),
        )
        .message_system_attributes(
            MessageSystemAttributeNameForSends::AwsTraceHeader,
            MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value("Root=1-5759e988-bd862e3fe1be46a994272793")
                .build()
                .expect("system attribute"),
        )
        .send()
        .await
        .expect("send");
    // The documented encoding, written out: length-prefixed name and type, transport
    // byte 1 (a String), length-prefixed value.
    let trace = b"Root=1-5759e988-bd862e3fe1be46a994272793";
    let mut encoded = Vec::new();
    for part in [&b"AWSTraceHeader"[..], b"String"] {
        encoded.extend_from_slice(&(part.len() as u32).to_be_bytes());
        encoded.extend_from_slice(part);
    }
    encoded.push(1);
    encoded.extend_from_slice(&(trace.len() as u32).to_be_bytes());
    encoded.extend_from_slice(trace);
    let expected = hex::encode(<md5::Md5 as md5::Digest>::digest(&encoded));
    assert_eq!(
        sent.md5_of_message_system_attributes(),
        Some(expected.as_str())
    );
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("trace.*")
        .message_system_attribute_names(MessageSystemAttributeName::AwsTraceHeader)
        .send()
        .await
        .expect("receive");
    let message = &got.messages()[0];
    let names: Vec<&String> = message
        .message_attributes()
        .expect("attributes")
        .keys()
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.iter().all(|n| n.starts_with("trace.")));
    assert_ne!(
        message.md5_of_message_attributes(),
        sent.md5_of_message_attributes()
    );
    assert_eq!(
        message.attributes().expect("attributes")[&MessageSystemAttributeName::AwsTraceHeader],
        "Root=1-5759e988-bd862e3fe1be46a994272793"
    );
    let err = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_system_attributes(
            MessageSystemAttributeNameForSends::AwsTraceHeader,
            MessageSystemAttributeValue::builder()
                .data_type("Number")
                .string_value("1")
                .build()
                .expect("attr"),
        )
        .send()
        .await
        .expect_err("trace header must be a String");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
}
