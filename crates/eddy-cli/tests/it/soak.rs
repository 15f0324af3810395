//! Soak: the whole pipeline under mixed load for `EDDY_SOAK_SECONDS` (default 30; longer runs with e.g. `EDDY_SOAK_SECONDS=600`):
//! uploads to the source bucket (copied by the mapping), reads and listings, and an
//! SQS producer/consumer on its own queue. Asserts zero errors, zero loss (every
//! upload copied byte-identical, every message received and deleted) and no growth of
//! eddy's memory (VmRSS) or open files (/proc/<pid>/fd) between the end of the
//! warm-up and the end of the run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::harness::{Eddy, eventually, get_bytes, queue_depth};
use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};

/// Resident memory (KiB) and open file descriptors of a process.
fn footprint(pid: u32) -> (u64, usize) {
    let rss = crate::util::harness::rss_kib(pid);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, std::iter::Iterator::count);
    (rss, fds)
}

#[derive(Default)]
struct Tally {
    errors: Vec<String>,
    uploaded: BTreeMap<String, Vec<u8>>,
    sent: BTreeSet<String>,
    deleted: BTreeSet<String>,
    reads: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pipeline_runs_under_mixed_load_without_errors_loss_or_growth() {
    let seconds: u64 = std::env::var("EDDY_SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let eddy = Eddy::process();
    let pid = eddy.pid();
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let jobs = crate::util::sqs::create(&sqs, "soak-jobs", &[]).await;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let warm_up = Duration::from_secs((seconds / 5).max(5));
    let mut tasks = tokio::task::JoinSet::new();

    for uploader in 0..3 {
        let (s3, tally) = (s3.clone(), tally.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < end {
                let key = format!("soak/{uploader}/{n}.bin");
                let size = 512 + ((n * 7919 + uploader * 104_729) % 48_000) as usize;
                let body: Vec<u8> = (0..size).map(|i| (i as u64 ^ n) as u8).collect();
                let digest = Sha256::digest(&body).to_vec();
                match s3
                    .put_object()
                    .bucket("source")
                    .key(&key)
                    .body(ByteStream::from(body))
                    .send()
                    .await
                {
                    Ok(_) => {
                        tally.lock().expect("tally").uploaded.insert(key, digest);
                    }
                    Err(e) => tally
                        .lock()
                        .expect("tally")
                        .errors
                        .push(format!("put {key}: {e:?}")),
                }
                n += 1;
            }
        });
    }
    {
        let (s3, tally) = (s3.clone(), tally.clone());
        tasks.spawn(async move {
            while Instant::now() < end {
                let key = tally
                    .lock()
                    .expect("tally")
                    .uploaded
                    .keys()
                    .next_back()
                    .cloned();
                if let Some(key) = key {
                    match s3.get_object().bucket("source").key(&key).send().await {
                        Ok(output) => {
                            if let Err(e) = output.body.collect().await {
                                tally
                                    .lock()
                                    .expect("tally")
                                    .errors
                                    .push(format!("read {key}: {e:?}"));
                            }
                        }
                        Err(e) => tally
                            .lock()
                            .expect("tally")
                            .errors
                            .push(format!("get {key}: {e:?}")),
                    }
                }
                if let Err(e) = s3
                    .list_objects_v2()
                    .bucket("destination")
                    .max_keys(100)
                    .send()
                    .await
                {
                    tally
                        .lock()
                        .expect("tally")
                        .errors
                        .push(format!("list: {e:?}"));
                }
                tally.lock().expect("tally").reads += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    {
        let (sqs, tally, jobs) = (sqs.clone(), tally.clone(), jobs.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < end {
                let body = format!("job-{n}");
                match sqs
                    .send_message()
                    .queue_url(&jobs)
                    .message_body(&body)
                    .send()
                    .await
                {
                    Ok(_) => {
                        tally.lock().expect("tally").sent.insert(body);
                    }
                    Err(e) => tally
                        .lock()
                        .expect("tally")
                        .errors
                        .push(format!("send: {e:?}")),
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
    }
    for _ in 0..2 {
        let (sqs, tally, jobs) = (sqs.clone(), tally.clone(), jobs.clone());
        tasks.spawn(async move {
            // Consumers go on a little past the end to drain the queue.
            while Instant::now() < end + Duration::from_secs(10) {
                let received = match sqs
                    .receive_message()
                    .queue_url(&jobs)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .send()
                    .await
                {
                    Ok(r) => r,
                    Err(e) => {
                        tally
                            .lock()
                            .expect("tally")
                            .errors
                            .push(format!("receive: {e:?}"));
                        continue;
                    }
                };
                for message in received.messages() {
                    let handle = message.receipt_handle().unwrap_or_default();
                    match sqs
                        .delete_message()
                        .queue_url(&jobs)
                        .receipt_handle(handle)
                        .send()
                        .await
                    {
                        Ok(_) => {
                            tally
                                .lock()
                                .expect("tally")
                                .deleted
                                .insert(message.body().unwrap_or_default().to_owned());
                        }
                        Err(e) => tally
                            .lock()
                            .expect("tally")
                            .errors
                            .push(format!("delete: {e:?}")),
                    }
                }
            }
        });
    }

    tokio::time::sleep(warm_up).await;
    let (rss_warm, fds_warm) = footprint(pid);
    let mut rss_peak = rss_warm;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss_peak = rss_peak.max(footprint(pid).0);
    }
    while tasks.join_next().await.is_some() {}

    // Zero loss: every upload copied byte-identical, every message consumed.
    let uploaded = tally.lock().expect("tally").uploaded.clone();
    for (key, digest) in &uploaded {
        let copied = eventually(Duration::from_secs(120), "the copy", || {
            get_bytes(&s3, "destination", key)
        })
        .await;
        assert_eq!(
            &Sha256::digest(&copied.0).to_vec(),
            digest,
            "{key} copied with other bytes"
        );
    }
    eventually(
        Duration::from_secs(60),
        "the event queues drained",
        || async {
            (queue_depth(&sqs, &eddy.queue_url("file-events")).await == 0
                && queue_depth(&sqs, &eddy.queue_url("file-events-dlq")).await == 0)
                .then_some(())
        },
    )
    .await;
    let tally = tally.lock().expect("tally");
    let lost: Vec<_> = tally.sent.difference(&tally.deleted).collect();
    let (rss_end, fds_end) = footprint(pid);
    println!(
        "soak {seconds} s: {} uploads copied, {} messages sent and consumed, {} read rounds, {} errors, {} lost; RSS {} MiB after warm-up, {} MiB peak, {} MiB at the end; open files {fds_warm} -> {fds_end}",
        uploaded.len(),
        tally.sent.len(),
        tally.reads,
        tally.errors.len(),
        lost.len(),
        rss_warm / 1024,
        rss_peak / 1024,
        rss_end / 1024
    );
    assert!(
        tally.errors.is_empty(),
        "errors: {:?}",
        &tally.errors[..tally.errors.len().min(5)]
    );
    assert!(lost.is_empty(), "messages lost: {lost:?}");
    assert!(
        !uploaded.is_empty() && !tally.sent.is_empty(),
        "the load ran"
    );
    // No growth: memory within 25% + 16 MiB of the warmed-up size, open files within 16.
    assert!(
        rss_end <= rss_warm + rss_warm / 4 + 16 * 1024,
        "RSS grew from {} MiB to {} MiB",
        rss_warm / 1024,
        rss_end / 1024
    );
    assert!(
        fds_end <= fds_warm + 16,
        "open files grew from {fds_warm} to {fds_end}"
    );
}
