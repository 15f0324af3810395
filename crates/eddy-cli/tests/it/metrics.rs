//! `/_eddy/metrics` tells the truth: scraped during a run, its figures match what
//! happened (files uploaded and copied, records failed, messages in the DLQ, requests).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::util::harness::{Eddy, eventually, get_bytes};
use aws_sdk_s3::primitives::ByteStream;

/// Parses Prometheus text into `name{labels}` -> value.
fn parse(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(eddy: &Eddy) -> BTreeMap<String, f64> {
    let output = tokio::process::Command::new("curl")
        .args(["-sf", &format!("{}/_eddy/metrics", eddy.endpoint)])
        .output()
        .await
        .expect("curl");
    assert!(output.status.success(), "metrics endpoint failed");
    parse(&String::from_utf8_lossy(&output.stdout))
}

fn value(metrics: &BTreeMap<String, f64>, name: &str) -> f64 {
    metrics.get(name).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_match_what_happened() {
    const FILES: usize = 12;
    let eddy =
        Eddy::process_with_config("visibility_timeout_seconds = 1\nfunction_timeout_seconds = 1\n");
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    for i in 0..FILES {
        s3.put_object()
            .bucket("source")
            .key(format!("m/{i}.txt"))
            .body(ByteStream::from(vec![b'x'; 1000 + i]))
            .send()
            .await
            .expect("upload");
    }
    sqs.send_message()
        .queue_url(eddy.queue_url("file-events"))
        .message_body("poison")
        .send()
        .await
        .expect("send poison");
    for i in 0..FILES {
        let key = format!("m/{i}.txt");
        eventually(Duration::from_secs(10), "a copy", || {
            get_bytes(&s3, "destination", &key)
        })
        .await;
    }
    // The poison message fails 3 receives, then sits in the DLQ; the mapping's counters
    // move after its deletes, so wait for them too.
    let metrics = eventually(
        Duration::from_secs(20),
        "the poison message in the DLQ and the mapping's counters",
        || async {
            let metrics = scrape(&eddy).await;
            let settled = value(
                &metrics,
                r#"eddy_sqs_approximate_number_of_messages_visible{queue="file-events-dlq"}"#,
            ) == 1.0
                && value(
                    &metrics,
                    r#"eddy_esm_deleted_event_count_total{mapping="file-events"}"#,
                ) >= FILES as f64 + 1.0
                && value(&metrics, "eddy_pipeline_upload_to_copied_seconds_count") >= FILES as f64;
            settled.then_some(metrics)
        },
    )
    .await;
    let text: Vec<String> = metrics.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let text = text.join("\n");
    assert_eq!(
        value(&metrics, "eddy_pipeline_files_copied_total"),
        FILES as f64,
        "{text}"
    );
    assert_eq!(
        value(&metrics, "eddy_pipeline_records_failed_total"),
        3.0,
        "{text}"
    );
    assert_eq!(
        value(
            &metrics,
            r#"eddy_s3_requests_total{operation="PutObject",status="200"}"#
        ),
        FILES as f64,
        "{text}"
    );
    // Sent to file-events: the uploads' events, the poison message, and the test event
    // sent when eddy configured the bucket notification.
    assert_eq!(
        value(
            &metrics,
            r#"eddy_sqs_number_of_messages_sent_total{queue="file-events"}"#
        ),
        FILES as f64 + 2.0,
        "{text}"
    );
    // Deleted by the mapping: every upload's event and the test event.
    assert_eq!(
        value(
            &metrics,
            r#"eddy_esm_deleted_event_count_total{mapping="file-events"}"#
        ),
        FILES as f64 + 1.0,
        "{text}"
    );
    assert_eq!(
        value(
            &metrics,
            r#"eddy_esm_failed_invoke_event_count_total{mapping="file-events"}"#
        ),
        3.0,
        "{text}"
    );
    assert_eq!(
        value(
            &metrics,
            r#"eddy_sqs_approximate_number_of_messages_visible{queue="file-events"}"#
        ),
        0.0,
        "{text}"
    );
    assert!(
        value(
            &metrics,
            r#"eddy_lambda_invocations_total{function="eddy-copy"}"#
        ) >= 4.0,
        "{text}"
    );
    assert_eq!(
        value(&metrics, "eddy_pipeline_upload_to_copied_seconds_count"),
        FILES as f64,
        "{text}"
    );
    assert!(
        value(
            &metrics,
            r#"eddy_s3_requests_total{operation="GetObject",status="200"}"#
        ) >= FILES as f64,
        "{text}"
    );
}
