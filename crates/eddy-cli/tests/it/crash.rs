//! Crash safety: eddy runs as a child process under mixed load (uploads, multipart
//! uploads, SQS sends, receives and deletes, the mapping copying) and is killed with
//! SIGKILL at random moments, then restarted on the same data directory. After every
//! restart, and once more at the end, the harness checks that nothing acknowledged was
//! lost:
//!
//! - every upload that got a success response is present, byte-identical, and is copied
//!   to the destination (now or once the queue drains);
//! - every message whose send succeeded is in its queue, or was deleted by a consumer;
//! - every object visible in the source bucket had its event enqueued (it reaches the
//!   destination), and the store opens cleanly every time.
//!
//! The last round ends with SIGTERM under load instead, which must exit cleanly within
//! a deadline. Duplicates (at-least-once) are counted and reported, losses fail the
//! test. `EDDY_CRASH_ROUNDS` (default 30) and `EDDY_CRASH_SEED` (default 7) make a run
//! repeatable.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::harness::{Eddy, EddyOptions, eventually, get_bytes, queue_count, queue_depth};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

const CONFIG: &str =
    "visibility_timeout_seconds = 2\nfunction_timeout_seconds = 2\nmax_receive_count = 1000\n";
const QUEUE: &str = "crash-queue";

/// What the load saw acknowledged.
#[derive(Default)]
struct Ledger {
    /// Key -> SHA-256 of the bytes, for uploads that got a success response.
    uploads: HashMap<String, [u8; 32]>,
    /// Bodies of messages whose send succeeded.
    sent: HashSet<String>,
    /// Bodies of messages whose delete succeeded.
    deleted: HashSet<String>,
    /// Bodies of messages a delete was sent for whose answer never came (the kill cut
    /// it off): deleted or not, the consumer did its part.
    delete_in_doubt: HashSet<String>,
    received_twice: u64,
}

type Shared = Arc<Mutex<Ledger>>;

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

async fn fast_clients(eddy: &Eddy) -> (aws_sdk_s3::Client, aws_sdk_sqs::Client) {
    let base = eddy.sdk_config().await;
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(1))
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&base)
            .force_path_style(true)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(timeouts.clone())
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&base)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(timeouts)
            .build(),
    );
    (s3, sqs)
}

fn random_bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rng.fill(bytes.as_mut_slice());
    bytes
}

/// Starts the load tasks of one round; they run until aborted.
fn start_load(
    round: usize,
    seed: u64,
    s3: &aws_sdk_s3::Client,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    ledger: &Shared,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (s3, ledger) = (s3.clone(), ledger.clone());
        let mut rng = StdRng::seed_from_u64(seed ^ (round as u64 * 131 + worker));
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let key = format!("r{round}/w{worker}/file {i}.bin");
                let len = rng.random_range(1..64 * 1024);
                let bytes = random_bytes(&mut rng, len);
                let sha = digest(&bytes);
                let put = s3
                    .put_object()
                    .bucket("source")
                    .key(&key)
                    .body(ByteStream::from(bytes))
                    .send()
                    .await;
                if put.is_ok() {
                    ledger.lock().expect("ledger").uploads.insert(key, sha);
                }
            }
        }));
    }
    {
        let (s3, ledger) = (s3.clone(), ledger.clone());
        let mut rng = StdRng::seed_from_u64(seed ^ (round as u64 * 977));
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let key = format!("r{round}/multipart/{i}.bin");
                let first = random_bytes(&mut rng, 5 * 1024 * 1024);
                let second = random_bytes(&mut rng, 4096);
                let mut all = first.clone();
                all.extend_from_slice(&second);
                let Ok(created) = s3
                    .create_multipart_upload()
                    .bucket("source")
                    .key(&key)
                    .send()
                    .await
                else {
                    continue;
                };
                let upload_id = created.upload_id().unwrap_or_default().to_owned();
                let mut parts = Vec::new();
                for (number, body) in [(1, first), (2, second)] {
                    let Ok(part) = s3
                        .upload_part()
                        .bucket("source")
                        .key(&key)
                        .upload_id(&upload_id)
                        .part_number(number)
                        .body(ByteStream::from(body))
                        .send()
                        .await
                    else {
                        break;
                    };
                    parts.push(
                        CompletedPart::builder()
                            .part_number(number)
                            .e_tag(part.e_tag().unwrap_or_default())
                            .build(),
                    );
                }
                if parts.len() != 2 {
                    continue;
                }
                let done = s3
                    .complete_multipart_upload()
                    .bucket("source")
                    .key(&key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await;
                if done.is_ok() {
                    ledger
                        .lock()
                        .expect("ledger")
                        .uploads
                        .insert(key, digest(&all));
                }
            }
        }));
    }
    for sender in 0..2 {
        let (sqs, ledger, url) = (sqs.clone(), ledger.clone(), queue_url.to_owned());
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let body = format!("r{round}-s{sender}-{i}");
                if sqs
                    .send_message()
                    .queue_url(&url)
                    .message_body(&body)
                    .send()
                    .await
                    .is_ok()
                {
                    ledger.lock().expect("ledger").sent.insert(body);
                }
            }
        }));
    }
    {
        let (sqs, ledger, url) = (sqs.clone(), ledger.clone(), queue_url.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let Ok(received) = sqs
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .send()
                    .await
                else {
                    continue;
                };
                let messages = received.messages().to_vec();
                if messages.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                let entries: Vec<_> = messages
                    .iter()
                    .enumerate()
                    .filter_map(|(i, m)| {
                        DeleteMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .receipt_handle(m.receipt_handle().unwrap_or_default())
                            .build()
                            .ok()
                    })
                    .collect();
                {
                    let mut ledger = ledger.lock().expect("ledger");
                    ledger
                        .delete_in_doubt
                        .extend(messages.iter().filter_map(|m| m.body().map(str::to_owned)));
                }
                let Ok(deleted) = sqs
                    .delete_message_batch()
                    .queue_url(&url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                else {
                    continue;
                };
                let mut ledger = ledger.lock().expect("ledger");
                for ok in deleted.successful() {
                    if let Some(body) = ok
                        .id()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| messages.get(i))
                        .and_then(|m| m.body())
                    {
                        ledger.delete_in_doubt.remove(body);
                        if !ledger.deleted.insert(body.to_owned()) {
                            ledger.received_twice += 1;
                        }
                    }
                }
            }
        }));
    }
    tasks
}

/// Checks that every acknowledged upload of `round` is present and intact.
async fn check_uploads(s3: &aws_sdk_s3::Client, ledger: &Shared, prefix: &str) -> usize {
    let expected: Vec<(String, [u8; 32])> = ledger
        .lock()
        .expect("ledger")
        .uploads
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    for (key, sha) in &expected {
        let (bytes, _) = get_bytes(s3, "source", key)
            .await
            .unwrap_or_else(|| panic!("acknowledged upload {key} is missing after a crash"));
        assert_eq!(
            &digest(&bytes),
            sha,
            "acknowledged upload {key} is corrupt after a crash"
        );
    }
    expected.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_work_survives_sigkill_and_sigterm() {
    let rounds: usize = std::env::var("EDDY_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let seed: u64 = std::env::var("EDDY_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let mut rng = StdRng::seed_from_u64(seed);
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    let ledger: Shared = Arc::default();
    let started = Instant::now();
    let mut checked_files = 0;

    let options = EddyOptions {
        config: CONFIG.to_owned(),
        data_dir: Some(data_dir.clone()),
    };
    {
        let eddy = Eddy::start_with(options.clone());
        let sqs = eddy.sqs().await;
        sqs.create_queue()
            .queue_name(QUEUE)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "2",
            )
            .send()
            .await
            .expect("create queue");
    }

    for round in 0..=rounds {
        let mut eddy = Eddy::start_with(options.clone());
        let (s3, sqs) = fast_clients(&eddy).await;
        let queue_url = eddy.queue_url(QUEUE);
        // The previous round's acknowledged uploads are all there after the restart.
        if round > 0 {
            checked_files += check_uploads(&s3, &ledger, &format!("r{}/", round - 1)).await;
        }
        let tasks = start_load(round, seed, &s3, &sqs, &queue_url, &ledger);
        let run_for = Duration::from_millis(rng.random_range(100..1200));
        tokio::time::sleep(run_for).await;
        if round == rounds {
            let stop = Instant::now();
            assert_eq!(
                eddy.terminate(),
                Some(0),
                "eddy exits cleanly on SIGTERM under load:\n{}",
                eddy.log()
            );
            eprintln!("SIGTERM under load: exited in {:?}", stop.elapsed());
        } else {
            let _ = eddy.child().kill();
            let _ = eddy.child().wait();
        }
        for task in tasks {
            task.abort();
        }
    }

    // Let everything settle on a last run: every upload copied, the queue drained.
    let eddy = Eddy::start_with(options.clone());
    let (s3, sqs) = fast_clients(&eddy).await;
    checked_files += check_uploads(&s3, &ledger, &format!("r{rounds}/")).await;
    let mut source_keys = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket("source")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.expect("list source");
        source_keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
    }
    let acknowledged: HashMap<String, [u8; 32]> = ledger.lock().expect("ledger").uploads.clone();
    for key in acknowledged.keys() {
        assert!(
            source_keys.contains(key),
            "acknowledged upload {key} is not listed"
        );
    }
    // Every visible source object had its event enqueued: it reaches the destination.
    let file_events = eddy.queue_url("file-events");
    eventually(Duration::from_secs(60), "file-events to drain", || async {
        (queue_depth(&sqs, &file_events).await == 0).then_some(())
    })
    .await;
    let mut destination_keys = HashSet::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket("destination")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.expect("list destination");
        destination_keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
    }
    let missing: Vec<&String> = source_keys
        .iter()
        .filter(|k| !destination_keys.contains(*k))
        .collect();
    if !missing.is_empty() {
        let log = eddy.log();
        let notable: Vec<&str> = log
            .lines()
            .filter(|l| {
                l.contains("nothing to copy")
                    || l.contains("failed")
                    || l.contains("WARN")
                    || l.contains("ERROR")
            })
            .collect();
        panic!(
            "{} visible objects were never copied (lost events): {:?}\n{}",
            missing.len(),
            &missing[..missing.len().min(10)],
            notable.join("\n")
        );
    }
    for (key, sha) in acknowledged.iter().take(200) {
        let (bytes, _) = get_bytes(&s3, "destination", key)
            .await
            .expect("copied object");
        assert_eq!(&digest(&bytes), sha, "copy of {key} differs");
    }
    assert_eq!(
        queue_count(
            &sqs,
            &eddy.queue_url("file-events-dlq"),
            "ApproximateNumberOfMessages"
        )
        .await,
        0
    );

    // Every acknowledged send is still queued, or was deleted by the consumer.
    let queue_url = eddy.queue_url(QUEUE);
    let mut remaining: Vec<String> = Vec::new();
    let drain_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .send()
            .await
            .expect("receive");
        remaining.extend(
            received
                .messages()
                .iter()
                .filter_map(|m| m.body().map(str::to_owned)),
        );
        // Done when nothing is left but what this loop holds in flight.
        let depth = queue_depth(&sqs, &queue_url).await;
        if received.messages().is_empty() && depth as usize == remaining.len() {
            break;
        }
        assert!(
            Instant::now() < drain_deadline,
            "the test queue did not drain"
        );
        if received.messages().is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let ledger = ledger.lock().expect("ledger");
    let remaining_set: HashSet<&String> = remaining.iter().collect();
    let lost: Vec<&String> = ledger
        .sent
        .iter()
        .filter(|b| {
            !remaining_set.contains(b)
                && !ledger.deleted.contains(*b)
                && !ledger.delete_in_doubt.contains(*b)
        })
        .collect();
    let duplicates = ledger.received_twice + remaining.len() as u64 - remaining_set.len() as u64
        + remaining_set
            .iter()
            .filter(|b| ledger.deleted.contains(**b))
            .count() as u64;
    eprintln!(
        "crash harness: seed {seed}, {rounds} SIGKILLs + 1 SIGTERM in {:?}; uploads acknowledged {}, files checked {}, \
         messages acknowledged {}, deleted by the consumer {} (+{} deletes cut off by a kill), still queued {}, duplicates {}, lost {}",
        started.elapsed(),
        acknowledged.len(),
        checked_files,
        ledger.sent.len(),
        ledger.deleted.len(),
        ledger
            .delete_in_doubt
            .iter()
            .filter(|b| !remaining_set.contains(b) && !ledger.deleted.contains(*b))
            .count(),
        remaining_set.len(),
        duplicates,
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "{} acknowledged messages were lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    assert!(
        acknowledged.len() > rounds,
        "the load made too little progress to test anything"
    );
    assert!(
        ledger.sent.len() > rounds,
        "the load sent too few messages to test anything"
    );
}
