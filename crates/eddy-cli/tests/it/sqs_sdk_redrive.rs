//! SQS through the Rust AWS SDK: tags, permissions and dead-letter sources, redrive on
//! the exact receive and back, message move tasks, long polling and the queue's wait
//! time, and MD5 digests checked against values AWS returned.

use std::time::{Duration, Instant};

use crate::util::harness::Eddy;
use crate::util::sqs::{attribute, create, string_attribute};
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, MessageSystemAttributeNameForSends,
    MessageSystemAttributeValue, QueueAttributeName, SendMessageBatchRequestEntry,
};

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
async fn long_poll_wakes_on_send_before_its_wait_ends() {
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
    // The receive waits up to 10 s: returning within a second means the send woke it.
    // How fast (a few milliseconds when the machine is quiet) is the benchmark's to say;
    // a bound here would fail on a loaded machine.
    assert!(
        worst_wake < Duration::from_secs(1),
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
