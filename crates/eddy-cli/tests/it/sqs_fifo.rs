//! FIFO queues through the Rust AWS SDK: deduplication, ordering and locking per
//! message group, sequence numbers, FIFO dead-letter queues and the FIFO-only rules.

use crate::util::harness::{Eddy, EddyOptions};
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};

async fn fifo_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    extra: &[(QueueAttributeName, &str)],
) -> String {
    let mut request = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true");
    for (k, v) in extra {
        request = request.attributes(k.clone(), *v);
    }
    request
        .send()
        .await
        .expect("create fifo queue")
        .queue_url()
        .expect("url")
        .to_owned()
}

async fn send(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    body: &str,
    group: &str,
    dedup: &str,
) -> aws_sdk_sqs::operation::send_message::SendMessageOutput {
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .message_group_id(group)
        .message_deduplication_id(dedup)
        .send()
        .await
        .expect("send")
}

async fn receive_bodies(sqs: &aws_sdk_sqs::Client, url: &str, max: i32) -> Vec<(String, String)> {
    receive_attempt(sqs, url, max, None).await
}

/// Bodies and receipt handles of one receive, with an optional ReceiveRequestAttemptId.
async fn receive_attempt(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    max: i32,
    attempt: Option<&str>,
) -> Vec<(String, String)> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .set_receive_request_attempt_id(attempt.map(str::to_owned))
        .send()
        .await
        .expect("receive");
    out.messages()
        .iter()
        .map(|m| {
            (
                m.body().expect("body").to_owned(),
                m.receipt_handle().expect("handle").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn fifo_rules_at_creation_and_send() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let err = sqs
        .create_queue()
        .queue_name("no-suffix")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect_err("needs .fifo");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .create_queue()
        .queue_name("suffix-only.fifo")
        .send()
        .await
        .expect_err("needs FifoQueue");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let url = fifo_queue(&sqs, "rules.fifo", &[]).await;
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
        "false"
    );
    assert_eq!(attributes[&QueueAttributeName::DeduplicationScope], "queue");
    assert_eq!(
        attributes[&QueueAttributeName::FifoThroughputLimit],
        "perQueue"
    );

    let err = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_deduplication_id("d")
        .send()
        .await
        .expect_err("group required");
    assert_eq!(err.into_service_error().code(), Some("MissingParameter"));
    let err = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_group_id("g")
        .send()
        .await
        .expect_err("dedup required");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_group_id("g")
        .message_deduplication_id("d")
        .delay_seconds(5)
        .send()
        .await
        .expect_err("no per-message delay");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_group_id("g".repeat(129))
        .message_deduplication_id("d")
        .send()
        .await
        .expect_err("group too long");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let err = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::FifoQueue, "false")
        .send()
        .await
        .expect_err("type fixed");
    // AWS: InvalidAttributeValue, "Modifying queue type is not supported."
    assert!(err.into_service_error().is_invalid_attribute_value());
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("a FIFO queue may be told it is one");

    // A standard queue refuses a deduplication id.
    let standard = crate::util::sqs::create(&sqs, "standard", &[]).await;
    let err = sqs
        .send_message()
        .queue_url(&standard)
        .message_body("x")
        .message_deduplication_id("d")
        .send()
        .await
        .expect_err("not fifo");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deduplication_within_the_window() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = fifo_queue(&sqs, "dedup.fifo", &[]).await;
    let first = send(&sqs, &url, "one", "g", "same-id").await;
    let again = send(&sqs, &url, "one, again", "g", "same-id").await;
    assert_eq!(first.message_id(), again.message_id());
    assert_eq!(first.sequence_number(), again.sequence_number());
    let other = send(&sqs, &url, "two", "g", "other-id").await;
    assert_ne!(other.message_id(), first.message_id());
    let first_number: u128 = first
        .sequence_number()
        .expect("sequence number")
        .parse()
        .expect("digits");
    let other_number: u128 = other
        .sequence_number()
        .expect("sequence number")
        .parse()
        .expect("digits");
    assert!(other_number > first_number);
    assert!(first.sequence_number().expect("sequence number").len() >= 20);

    let bodies: Vec<String> = receive_bodies(&sqs, &url, 10)
        .await
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    assert_eq!(bodies, ["one", "two"]);

    // Deleting does not reopen the window: a resend is still a duplicate.
    let dup = send(&sqs, &url, "one", "g", "same-id").await;
    assert_eq!(dup.message_id(), first.message_id());

    // Content-based deduplication: the SHA-256 of the body.
    let content = fifo_queue(
        &sqs,
        "content.fifo",
        &[(QueueAttributeName::ContentBasedDeduplication, "true")],
    )
    .await;
    let a = sqs
        .send_message()
        .queue_url(&content)
        .message_body("same body")
        .message_group_id("g")
        .send()
        .await
        .expect("send");
    let b = sqs
        .send_message()
        .queue_url(&content)
        .message_body("same body")
        .message_group_id("h")
        .send()
        .await
        .expect("send");
    let c = sqs
        .send_message()
        .queue_url(&content)
        .message_body("other body")
        .message_group_id("g")
        .send()
        .await
        .expect("send");
    assert_eq!(a.message_id(), b.message_id());
    assert_ne!(a.message_id(), c.message_id());
    let got = sqs
        .receive_message()
        .queue_url(&content)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    assert_eq!(got.messages().len(), 2);
    let dedup_id = &got.messages()[0].attributes().expect("attributes")
        [&MessageSystemAttributeName::MessageDeduplicationId];
    let expected = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"same body"));
    assert_eq!(dedup_id, &expected);

    // Batches deduplicate too, also within one batch.
    let batch = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("a")
                .message_body("b1")
                .message_group_id("g2")
                .message_deduplication_id("batch-dup")
                .build()
                .expect("entry"),
        )
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("b")
                .message_body("b2")
                .message_group_id("g2")
                .message_deduplication_id("batch-dup")
                .build()
                .expect("entry"),
        )
        .send()
        .await
        .expect("batch");
    assert_eq!(batch.successful().len(), 2);
    assert_eq!(
        batch.successful()[0].message_id(),
        batch.successful()[1].message_id()
    );
    assert!(batch.successful()[0].sequence_number().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_are_ordered_and_blocked_while_in_flight() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = fifo_queue(
        &sqs,
        "order.fifo",
        &[(QueueAttributeName::VisibilityTimeout, "30")],
    )
    .await;
    for (body, group) in [
        ("a1", "A"),
        ("b1", "B"),
        ("a2", "A"),
        ("a3", "A"),
        ("b2", "B"),
    ] {
        send(&sqs, &url, body, group, body).await;
    }
    // One at a time: A's head, then B's head (A is in flight), then nothing.
    let first = receive_bodies(&sqs, &url, 1).await;
    assert_eq!(first[0].0, "a1");
    let second = receive_bodies(&sqs, &url, 1).await;
    assert_eq!(second[0].0, "b1");
    assert!(
        receive_bodies(&sqs, &url, 10).await.is_empty(),
        "both groups are blocked"
    );

    // Deleting A's message unblocks A, in order.
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(&first[0].1)
        .send()
        .await
        .expect("delete");
    let next: Vec<String> = receive_bodies(&sqs, &url, 10)
        .await
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    assert_eq!(next, ["a2", "a3"]);

    // A message whose visibility ends comes back before the rest of its group.
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&second[0].1)
        .visibility_timeout(0)
        .send()
        .await
        .expect("release");
    let again: Vec<String> = receive_bodies(&sqs, &url, 10)
        .await
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    assert_eq!(again, ["b1", "b2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn fifo_dead_letter_queue() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let dlq = fifo_queue(&sqs, "dead.fifo", &[]).await;
    let standard_dlq = crate::util::sqs::create(&sqs, "dead-standard", &[]).await;
    let arn_of = |name: &str| format!("arn:aws:sqs:us-east-1:000000000000:{name}");
    let err = sqs
        .create_queue()
        .queue_name("src-wrong.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(
                r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":1}}"#,
                arn_of("dead-standard")
            ),
        )
        .send()
        .await
        .expect_err("standard DLQ for a FIFO queue");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
    let _ = standard_dlq;
    let source = fifo_queue(
        &sqs,
        "src.fifo",
        &[
            (
                QueueAttributeName::RedrivePolicy,
                &format!(
                    r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":1}}"#,
                    arn_of("dead.fifo")
                ),
            ),
            (QueueAttributeName::VisibilityTimeout, "0"),
        ],
    )
    .await;
    let sent = send(&sqs, &source, "poison", "g", "p1").await;
    assert_eq!(receive_bodies(&sqs, &source, 1).await.len(), 1);
    assert!(
        receive_bodies(&sqs, &source, 1).await.is_empty(),
        "the second receive moves it"
    );
    let got = sqs
        .receive_message()
        .queue_url(&dlq)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    let message = &got.messages()[0];
    assert_eq!(message.message_id(), sent.message_id());
    let attributes = message.attributes().expect("attributes");
    assert_eq!(attributes[&MessageSystemAttributeName::MessageGroupId], "g");
    assert_eq!(
        attributes[&MessageSystemAttributeName::DeadLetterQueueSourceArn],
        arn_of("src.fifo")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_wakes_a_receiver_waiting_on_a_blocked_group() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = fifo_queue(
        &sqs,
        "wake.fifo",
        &[(QueueAttributeName::VisibilityTimeout, "60")],
    )
    .await;
    send(&sqs, &url, "first", "g", "1").await;
    send(&sqs, &url, "second", "g", "2").await;
    let head = receive_bodies(&sqs, &url, 1).await;
    assert_eq!(head[0].0, "first");
    let waiting = {
        let sqs = sqs.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let out = sqs
                .receive_message()
                .queue_url(&url)
                .wait_time_seconds(20)
                .send()
                .await
                .expect("receive");
            (
                std::time::Instant::now(),
                out.messages()
                    .iter()
                    .map(|m| m.body().unwrap_or_default().to_owned())
                    .collect::<Vec<_>>(),
            )
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(&head[0].1)
        .send()
        .await
        .expect("delete");
    let deleted_at = std::time::Instant::now();
    let (returned, bodies) = waiting.await.expect("receiver");
    assert_eq!(bodies, ["second"]);
    // Without the wake-up it would wait for the 20 s long poll or the 60 s visibility.
    assert!(returned.saturating_duration_since(deleted_at) < std::time::Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_receive_attempt_gets_the_same_messages() {
    let eddy = Eddy::start();
    let sqs = eddy.sqs().await;
    let url = fifo_queue(&sqs, "attempts.fifo", &[]).await;
    send(&sqs, &url, "m1", "g", "1").await;
    send(&sqs, &url, "m2", "h", "2").await;
    let receive = |attempt: &'static str| receive_attempt(&sqs, &url, 1, Some(attempt));
    let first = receive("attempt-1").await;
    assert_eq!(first.len(), 1);
    let retried = receive("attempt-1").await;
    assert_eq!(retried, first, "same messages, same receipt handles");
    let other = receive("attempt-2").await;
    assert_eq!(other.len(), 1);
    assert_ne!(other[0].0, first[0].0);
    // Once a message of the attempt is deleted, the retry is a new receive.
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(&first[0].1)
        .send()
        .await
        .expect("delete");
    assert!(receive("attempt-1").await.is_empty());
    let err = sqs
        .receive_message()
        .queue_url(&url)
        .receive_request_attempt_id("x".repeat(129))
        .send()
        .await
        .expect_err("too long");
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deduplication_and_move_tasks_across_a_restart() {
    let mut first = Eddy::process();
    let _temp = first.take_temp().expect("temp dir");
    let data_dir = first.data_dir.clone();
    let sqs = first.sqs().await;
    let url = fifo_queue(&sqs, "durable.fifo", &[]).await;
    let sent = send(&sqs, &url, "once", "g", "dedup-across-restart").await;
    // A move task that cannot finish before the restart (1 message a second).
    let dlq = crate::util::sqs::create(&sqs, "restart-dlq", &[]).await;
    let dlq_arn = "arn:aws:sqs:us-east-1:000000000000:restart-dlq";
    sqs.create_queue()
        .queue_name("restart-src")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#),
        )
        .send()
        .await
        .expect("create source");
    for i in 0..5 {
        sqs.send_message()
            .queue_url(&dlq)
            .message_body(format!("dead {i}"))
            .send()
            .await
            .expect("send");
    }
    sqs.start_message_move_task()
        .source_arn(dlq_arn)
        .destination_arn("arn:aws:sqs:us-east-1:000000000000:restart-src")
        .max_number_of_messages_per_second(1)
        .send()
        .await
        .expect("start");
    assert_eq!(first.terminate(), Some(0), "clean exit:\n{}", first.log());
    drop(first);

    let second = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir),
    });
    let sqs = second.sqs().await;
    let again = send(&sqs, &url, "once", "g", "dedup-across-restart").await;
    assert_eq!(
        again.message_id(),
        sent.message_id(),
        "the deduplication window survives a restart"
    );
    assert_eq!(receive_bodies(&sqs, &url, 10).await.len(), 1);
    let tasks = sqs
        .list_message_move_tasks()
        .source_arn(dlq_arn)
        .send()
        .await
        .expect("list");
    let task = &tasks.results()[0];
    assert_eq!(task.status(), Some("FAILED"));
    assert!(task.failure_reason().is_some());
    // It can be started again.
    sqs.start_message_move_task()
        .source_arn(dlq_arn)
        .destination_arn("arn:aws:sqs:us-east-1:000000000000:restart-src")
        .send()
        .await
        .expect("restart the task");
}
