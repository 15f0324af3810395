//! The operator's commands (`eddy status`, `eddy redrive`, `eddy backfill`) and the
//! dashboard's JSON API, against a running eddy.

use std::process::Command;
use std::time::Duration;

use crate::util::harness::{Eddy, eventually, get_bytes, queue_count};
use aws_sdk_s3::primitives::ByteStream;

pub(crate) fn eddy_command(eddy: &Eddy, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(args)
        .arg("--endpoint-url")
        .arg(&eddy.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run eddy")
}

pub(crate) fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "command failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A queue and its DLQ with maxReceiveCount 1 and no mapping: a message reaches the DLQ
/// on its second receive.
async fn dead_letter(eddy: &Eddy, body: &str) -> (String, String) {
    let sqs = eddy.sqs().await;
    let dlq = sqs
        .create_queue()
        .queue_name("work-dlq")
        .send()
        .await
        .expect("dlq");
    let dlq_url = dlq.queue_url().expect("url").to_owned();
    let policy = serde_json::json!({
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:work-dlq",
        "maxReceiveCount": 1
    })
    .to_string();
    let work = sqs
        .create_queue()
        .queue_name("work")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            policy,
        )
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "0",
        )
        .send()
        .await
        .expect("work queue");
    let work_url = work.queue_url().expect("url").to_owned();
    sqs.send_message()
        .queue_url(&work_url)
        .message_body(body)
        .send()
        .await
        .expect("send");
    let first = sqs
        .receive_message()
        .queue_url(&work_url)
        .send()
        .await
        .expect("receive");
    assert_eq!(first.messages().len(), 1);
    let second = sqs
        .receive_message()
        .queue_url(&work_url)
        .send()
        .await
        .expect("receive");
    assert!(
        second.messages().is_empty(),
        "the second receive moves it to the DLQ"
    );
    (work_url, dlq_url)
}

#[tokio::test]
async fn status_shows_queues_dlqs_mappings_and_functions() {
    let eddy = Eddy::start();
    dead_letter(&eddy, "stuck").await;
    let text = stdout(&eddy_command(&eddy, &["status"]));
    let dlq_line = text
        .lines()
        .find(|l| l.starts_with("work-dlq"))
        .expect("DLQ row");
    assert!(dlq_line.contains("DLQ"), "{text}");
    assert_eq!(
        dlq_line.split_whitespace().nth(2),
        Some("1"),
        "one visible message: {text}"
    );
    let work_line = text
        .lines()
        .find(|l| l.starts_with("work "))
        .expect("queue row");
    assert!(work_line.contains("work-dlq after 1"), "{text}");
    assert!(text.contains("file-events-dlq"), "{text}");
    assert!(
        text.contains("EVENT SOURCE MAPPINGS") && text.contains("eddy-copy"),
        "{text}"
    );
    assert!(text.contains("ReportBatchItemFailures"), "{text}");
}

#[tokio::test]
async fn redrive_moves_dead_letters_back_to_their_source() {
    let eddy = Eddy::start();
    let (work_url, dlq_url) = dead_letter(&eddy, "bring me back").await;
    let sqs = eddy.sqs().await;
    let text = stdout(&eddy_command(&eddy, &["redrive", "--queue", "work-dlq"]));
    assert!(text.contains("moved 1 message(s)"), "{text}");
    assert_eq!(
        queue_count(&sqs, &dlq_url, "ApproximateNumberOfMessages").await,
        0
    );
    let received = sqs
        .receive_message()
        .queue_url(&work_url)
        .send()
        .await
        .expect("receive");
    assert_eq!(
        received.messages().first().and_then(|m| m.body()),
        Some("bring me back")
    );
}

#[tokio::test]
async fn backfill_sends_events_for_existing_objects_which_get_copied() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    s3.create_bucket()
        .bucket("legacy")
        .send()
        .await
        .expect("bucket");
    for key in ["old/a.txt", "old/b c.txt", "other/skip.txt"] {
        s3.put_object()
            .bucket("legacy")
            .key(key)
            .body(ByteStream::from(key.as_bytes().to_vec()))
            .send()
            .await
            .expect("put");
    }
    let text = stdout(&eddy_command(
        &eddy,
        &["backfill", "--bucket", "legacy", "--prefix", "old/"],
    ));
    assert!(text.contains("sent 2 ObjectCreated event(s)"), "{text}");
    for key in ["old/a.txt", "old/b c.txt"] {
        let (bytes, _) = eventually(Duration::from_secs(5), "the backfilled copy", || {
            get_bytes(&s3, "destination", key)
        })
        .await;
        assert_eq!(bytes, key.as_bytes());
    }
    assert!(
        get_bytes(&s3, "destination", "other/skip.txt")
            .await
            .is_none()
    );
}

pub(crate) async fn http_get(url: &str) -> (u16, String) {
    let output = tokio::process::Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", url])
        .output()
        .await
        .expect("curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("status line");
    (code.parse().expect("status"), body.to_owned())
}

#[tokio::test]
async fn dashboard_is_served_and_its_api_describes_the_pipeline() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    s3.put_object()
        .bucket("source")
        .key("seen/by dashboard.txt")
        .body(ByteStream::from_static(b"hi"))
        .send()
        .await
        .expect("put");
    eventually(Duration::from_secs(5), "the copy", || {
        get_bytes(&s3, "destination", "seen/by dashboard.txt")
    })
    .await;
    let (status, html) = http_get(&format!("{}/_eddy/", eddy.endpoint)).await;
    assert_eq!(status, 200);
    assert!(html.contains("<title>eddy</title>") && html.contains("/_eddy/assets/app.js"));
    let (status, js) = http_get(&format!("{}/_eddy/assets/app.js", eddy.endpoint)).await;
    assert_eq!(status, 200);
    assert!(js.contains("/_eddy/api/overview"));
    let (status, body) = http_get(&format!("{}/_eddy/api/overview", eddy.endpoint)).await;
    assert_eq!(status, 200);
    let overview: serde_json::Value = serde_json::from_str(&body).expect("json");
    let queues = overview["queues"].as_array().expect("queues");
    let dlq = queues
        .iter()
        .find(|q| q["name"] == "file-events-dlq")
        .expect("dlq listed");
    assert_eq!(dlq["is_dead_letter_queue"], true);
    assert_eq!(overview["pipeline"]["mappings"][0]["queue"], "file-events");
    assert!(
        overview["buckets"]
            .as_array()
            .expect("buckets")
            .iter()
            .any(|b| b == "destination")
    );
    let (status, body) = http_get(&format!(
        "{}/_eddy/api/objects?bucket=destination",
        eddy.endpoint
    ))
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("seen/by dashboard.txt"), "{body}");
    let (status, body) = http_get(&format!(
        "{}/_eddy/api/download?bucket=destination&key=seen%2Fby%20dashboard.txt",
        eddy.endpoint
    ))
    .await;
    assert_eq!((status, body.as_str()), (200, "hi"));
    // State-changing actions need the dashboard's header (no cross-site POSTs).
    let output = tokio::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .arg(format!(
            "{}/_eddy/api/purge?queue=file-events",
            eddy.endpoint
        ))
        .output()
        .await
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "403");
}
