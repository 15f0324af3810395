//! The whole pipeline of `eddy up`, end to end, with real clients: an upload to the
//! source bucket is copied to the destination; poison messages reach the DLQ after
//! maxReceiveCount receives; test events are dropped; state survives a restart.

use std::time::{Duration, Instant};

use crate::util::harness::{Eddy, EddyOptions, eventually, get_bytes, queue_count, queue_depth};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn upload_is_copied_byte_identical_with_content_type() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    let key = "reports/2026 Q1/a+b=c été ü.txt";
    let body: Vec<u8> = (0..200_000u32).flat_map(u32::to_le_bytes).collect();
    s3.put_object()
        .bucket("source")
        .key(key)
        .content_type("text/plain; charset=utf-8")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect("upload");
    let acknowledged = Instant::now();
    let (copied, content_type) = eventually(
        Duration::from_secs(1),
        "the copy in the destination bucket",
        || get_bytes(&s3, "destination", key),
    )
    .await;
    let elapsed = acknowledged.elapsed();
    assert_eq!(copied, body, "copied bytes differ");
    assert_eq!(content_type.as_deref(), Some("text/plain; charset=utf-8"));
    eprintln!("copy visible {elapsed:?} after the upload was acknowledged");
    // The event was consumed: nothing left in the queue or its DLQ.
    let sqs = eddy.sqs().await;
    eventually(Duration::from_secs(5), "an empty queue", || async {
        (queue_depth(&sqs, &eddy.queue_url("file-events")).await == 0).then_some(())
    })
    .await;
    assert_eq!(
        queue_count(
            &sqs,
            &eddy.queue_url("file-events-dlq"),
            "ApproximateNumberOfMessages"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn large_multipart_upload_with_the_aws_cli_is_copied_intact() {
    let eddy = Eddy::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.bin");
    let mut data = vec![0u8; 100 * 1024 * 1024];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for chunk in data.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(&path, &data).expect("write test file");
    let expected = Sha256::digest(&data);
    let output = eddy.aws(&[
        "s3",
        "cp",
        path.to_str().expect("utf-8 path"),
        "s3://source/big/file.bin",
    ]);
    assert!(
        output.status.success(),
        "aws s3 cp failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let s3 = eddy.s3().await;
    let head = eventually(
        Duration::from_secs(30),
        "the copied 100 MiB file",
        || async {
            s3.head_object()
                .bucket("destination")
                .key("big/file.bin")
                .send()
                .await
                .ok()
        },
    )
    .await;
    assert!(
        head.e_tag().unwrap_or_default().contains('-'),
        "a multipart ETag: {:?}",
        head.e_tag()
    );
    assert_eq!(head.content_length(), Some(data.len() as i64));
    let download = dir.path().join("down.bin");
    let output = eddy.aws(&[
        "s3",
        "cp",
        "s3://destination/big/file.bin",
        download.to_str().expect("utf-8 path"),
    ]);
    assert!(
        output.status.success(),
        "download failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let downloaded = std::fs::read(&download).expect("read download");
    assert_eq!(
        Sha256::digest(&downloaded),
        expected,
        "the copy differs from the upload"
    );
}

#[tokio::test]
async fn poison_message_reaches_the_dlq_after_exactly_max_receive_count_receives() {
    let eddy =
        Eddy::process_with_config("visibility_timeout_seconds = 1\nfunction_timeout_seconds = 1\n");
    let sqs = eddy.sqs().await;
    sqs.send_message()
        .queue_url(eddy.queue_url("file-events"))
        .message_body("this is not an S3 event")
        .send()
        .await
        .expect("send poison message");
    let dlq = eddy.queue_url("file-events-dlq");
    let message = eventually(
        Duration::from_secs(20),
        "the poison message in the DLQ",
        || async {
            let output = sqs
                .receive_message()
                .queue_url(&dlq)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .ok()?;
            output.messages().first().cloned()
        },
    )
    .await;
    assert_eq!(message.body(), Some("this is not an S3 event"));
    let attributes = message.attributes().expect("system attributes");
    // Three receives by the mapping; our receive from the DLQ is the fourth.
    assert_eq!(
        attributes
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .map(String::as_str),
        Some("4"),
        "{attributes:?}"
    );
    assert_eq!(
        attributes
            .get(&MessageSystemAttributeName::DeadLetterQueueSourceArn)
            .map(String::as_str),
        Some("arn:aws:sqs:us-east-1:000000000000:file-events")
    );
    let log = eddy.log();
    let failures = log.matches("record failed").count();
    assert_eq!(
        failures, 3,
        "the function saw the message exactly 3 times:\n{log}"
    );
}

#[tokio::test]
async fn test_events_are_dropped_without_reaching_the_dlq() {
    let eddy = Eddy::process_with_config(
        "visibility_timeout_seconds = 1\nfunction_timeout_seconds = 1\nmax_receive_count = 1\n",
    );
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    // Saving a notification configuration makes S3 send an s3:TestEvent.
    let configuration = aws_sdk_s3::types::NotificationConfiguration::builder()
        .queue_configurations(
            aws_sdk_s3::types::QueueConfiguration::builder()
                .id("again")
                .queue_arn("arn:aws:sqs:us-east-1:000000000000:file-events")
                .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                .build()
                .expect("queue configuration"),
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket("source")
        .notification_configuration(configuration)
        .send()
        .await
        .expect("put notification configuration");
    let queue = eddy.queue_url("file-events");
    eventually(
        Duration::from_secs(5),
        "the test event to be consumed",
        || async { (queue_depth(&sqs, &queue).await == 0).then_some(()) },
    )
    .await;
    // Had it failed, it would have reached the DLQ after one receive and one second.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        queue_count(
            &sqs,
            &eddy.queue_url("file-events-dlq"),
            "ApproximateNumberOfMessages"
        )
        .await,
        0
    );
    assert_eq!(
        eddy.log().matches("record failed").count(),
        0,
        "{}",
        eddy.log()
    );
    assert!(
        eddy.log().contains("") && !eddy.log().contains("ERROR"),
        "{}",
        eddy.log()
    );
}

#[tokio::test]
async fn state_survives_sigterm_and_pending_events_are_processed_after_restart() {
    // First run: a long batching window keeps the events gathered, not yet copied.
    let gathering = "batch_size = 100\nmaximum_batching_window_seconds = 300\nvisibility_timeout_seconds = 2\nfunction_timeout_seconds = 1\n";
    let mut first = Eddy::process_with_config(gathering);
    let temp = first.take_temp().expect("temp dir of the first run");
    let data_dir = first.data_dir.clone();
    let s3 = first.s3().await;
    let sqs = first.sqs().await;
    for i in 0..3 {
        s3.put_object()
            .bucket("source")
            .key(format!("pending/file-{i}.txt"))
            .body(ByteStream::from(format!("pending {i}").into_bytes()))
            .send()
            .await
            .expect("upload");
    }
    let own = sqs
        .create_queue()
        .queue_name("my-queue")
        .send()
        .await
        .expect("create queue");
    let own_url = own.queue_url().expect("queue url").to_owned();
    sqs.send_message()
        .queue_url(&own_url)
        .message_body("kept across restarts")
        .send()
        .await
        .expect("send");
    s3.create_bucket()
        .bucket("extra-bucket")
        .send()
        .await
        .expect("create bucket");
    let listed = s3
        .list_objects_v2()
        .bucket("destination")
        .send()
        .await
        .expect("list");
    assert_eq!(
        listed.key_count(),
        Some(0),
        "nothing is copied while the batch gathers"
    );
    assert_eq!(
        first.terminate(),
        Some(0),
        "eddy exits cleanly on SIGTERM:\n{}",
        first.log()
    );
    drop(first);

    // Second run on the same data dir, with the default batching.
    let second = Eddy::start_with(EddyOptions {
        config: "visibility_timeout_seconds = 2\nfunction_timeout_seconds = 1\n".to_owned(),
        data_dir: Some(data_dir),
    });
    let s3 = second.s3().await;
    let sqs = second.sqs().await;
    for i in 0..3 {
        let key = format!("pending/file-{i}.txt");
        let (bytes, _) = eventually(
            Duration::from_secs(15),
            "a pending event to be processed",
            || get_bytes(&s3, "destination", &key),
        )
        .await;
        assert_eq!(bytes, format!("pending {i}").into_bytes());
    }
    s3.head_bucket()
        .bucket("extra-bucket")
        .send()
        .await
        .expect("bucket kept");
    let url = sqs
        .get_queue_url()
        .queue_name("my-queue")
        .send()
        .await
        .expect("queue kept");
    let received = sqs
        .receive_message()
        .queue_url(url.queue_url().expect("url"))
        .send()
        .await
        .expect("receive");
    assert_eq!(
        received.messages().first().and_then(|m| m.body()),
        Some("kept across restarts")
    );
    drop(temp);
}
