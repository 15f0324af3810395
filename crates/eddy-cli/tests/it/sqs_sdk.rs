//! SQS queue, message and batch operations through the Rust AWS SDK against the real
//! eddy binary, typed errors included (the SDK only yields them when the error code,
//! status and `x-amzn-query-error` header are AWS's). Tags, permissions, redrive,
//! move tasks, long polling and MD5 digests are in `sqs_sdk_redrive`.

use std::collections::HashMap;

use crate::util::harness::Eddy;
use crate::util::sqs::{attribute, create, string_attribute};
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};

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
