//! A test suite as a user of `eddy-testing` writes one: 20 short tests against one
//! eddy running in the test process, reset before each. The eddy lives in a `static`
//! (started by the first test) and each test holds a lock, so the tests run one at a
//! time against a pipeline that is as configured.
//!
//! The last test to finish prints how long the 20 took after start-up:
//! `cargo test -p eddy-testing --test suite -- --nocapture`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use eddy_testing::{FaultKind, FaultSpec, HarnessError, TestEddy, TestEddyOptions};
use tokio::sync::{Mutex as AsyncMutex, MutexGuard};

/// Only uploads of `.txt` files raise events (for the trace test).
const CONFIG: &str = "notification_filter_suffix = \".txt\"\n";

struct Shared {
    eddy: TestEddy,
    ready_at: Instant,
    lock: AsyncMutex<()>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let eddy = TestEddy::start_with(TestEddyOptions {
            config: CONFIG.to_owned(),
            // One directory, emptied at each run: a `static` is never dropped.
            data_dir: Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("eddy-suite")),
        })
        .expect("eddy starts");
        Shared {
            eddy,
            ready_at: Instant::now(),
            lock: AsyncMutex::new(()),
        }
    })
}

/// The shared eddy, reset, for the length of one test.
async fn eddy() -> (&'static TestEddy, MutexGuard<'static, ()>) {
    let shared = shared();
    let guard = shared.lock.lock().await;
    shared.eddy.reset().await.expect("reset");
    (&shared.eddy, guard)
}

/// Counts finished tests; the 20th prints the time since start-up.
fn finished() {
    static DONE: AtomicU32 = AtomicU32::new(0);
    static REPORTED: Mutex<bool> = Mutex::new(false);
    if DONE.fetch_add(1, Ordering::SeqCst) + 1 == 20
        && let Ok(mut reported) = REPORTED.lock()
        && !*reported
    {
        *reported = true;
        println!(
            "20 tests with a reset before each: {:.0} ms after start-up",
            shared().ready_at.elapsed().as_secs_f64() * 1000.0
        );
    }
}

const IDLE: Duration = Duration::from_secs(10);

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {bucket}/{key}: {e:?}"));
    let bytes = object.body.collect().await.expect("body").into_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list");
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

async fn bucket_names(s3: &aws_sdk_s3::Client) -> Vec<String> {
    let mut names: Vec<String> = s3
        .list_buckets()
        .send()
        .await
        .expect("list buckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn t01_an_upload_is_copied() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    put(&s3, "source", "a.txt", "hello").await;
    eddy.wait_idle(IDLE).await.expect("idle");
    assert_eq!(get(&s3, "destination", "a.txt").await, "hello");
    finished();
}

#[tokio::test]
async fn t02_a_bucket_of_a_test_is_gone_for_the_next() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    assert_eq!(bucket_names(&s3).await, ["destination", "source"]);
    s3.create_bucket()
        .bucket("scratch-02")
        .send()
        .await
        .expect("create");
    assert_eq!(
        bucket_names(&s3).await,
        ["destination", "scratch-02", "source"]
    );
    finished();
}

#[tokio::test]
async fn t03_the_buckets_start_empty() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    assert!(keys(&s3, "source").await.is_empty());
    assert!(keys(&s3, "destination").await.is_empty());
    put(&s3, "source", "left-behind.txt", "x").await;
    finished();
}

#[tokio::test]
async fn t04_a_message_is_sent_and_received() {
    let (eddy, _guard) = eddy().await;
    let sqs = eddy.sqs().await;
    let url = sqs
        .create_queue()
        .queue_name("t04")
        .send()
        .await
        .expect("queue")
        .queue_url()
        .expect("url")
        .to_owned();
    sqs.send_message()
        .queue_url(&url)
        .message_body("ping")
        .send()
        .await
        .expect("send");
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .expect("receive");
    assert_eq!(received.messages()[0].body(), Some("ping"));
    finished();
}

#[tokio::test]
async fn t05_queues_of_earlier_tests_are_gone() {
    let (eddy, _guard) = eddy().await;
    let sqs = eddy.sqs().await;
    let listed = sqs.list_queues().send().await.expect("list");
    let mut names: Vec<&str> = listed
        .queue_urls()
        .iter()
        .filter_map(|u| u.rsplit('/').next())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["file-events", "file-events-dlq"]);
    finished();
}

#[tokio::test]
async fn t06_a_filtered_out_upload_is_explained_by_its_trace() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    put(&s3, "source", "photo.jpg", "jpeg").await;
    eddy.wait_idle(IDLE).await.expect("idle");
    let trace = eddy.trace("source", "photo.jpg").await.expect("trace");
    assert!(
        trace.summary.contains("suffix filter \".txt\""),
        "{}",
        trace.summary
    );
    assert!(keys(&s3, "destination").await.is_empty());
    finished();
}

#[tokio::test]
async fn t07_a_copied_upload_has_its_steps() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    put(&s3, "source", "steps.txt", "s").await;
    eddy.wait_idle(IDLE).await.expect("idle");
    let trace = eddy.trace("source", "steps.txt").await.expect("trace");
    assert!(trace.summary.starts_with("copied"), "{}", trace.summary);
    assert_eq!(trace.uploads.len(), 1);
    finished();
}

#[tokio::test]
async fn t08_many_uploads_are_all_copied() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    for i in 0..10 {
        put(&s3, "source", &format!("many/{i}.txt"), "m").await;
    }
    eddy.wait_idle(IDLE).await.expect("idle");
    assert_eq!(keys(&s3, "destination").await.len(), 10);
    finished();
}

#[tokio::test]
async fn t09_user_metadata_travels_with_the_copy() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    s3.put_object()
        .bucket("source")
        .key("meta.txt")
        .metadata("owner", "t09")
        .content_type("text/plain")
        .body(ByteStream::from_static(b"m"))
        .send()
        .await
        .expect("put");
    eddy.wait_idle(IDLE).await.expect("idle");
    let head = s3
        .head_object()
        .bucket("destination")
        .key("meta.txt")
        .send()
        .await
        .expect("head");
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("owner"))
            .map(String::as_str),
        Some("t09")
    );
    assert_eq!(head.content_type(), Some("text/plain"));
    finished();
}

#[tokio::test]
async fn t10_a_delete_removes_the_object() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    put(&s3, "destination", "d.bin", "d").await;
    s3.delete_object()
        .bucket("destination")
        .key("d.bin")
        .send()
        .await
        .expect("delete");
    assert!(keys(&s3, "destination").await.is_empty());
    finished();
}

#[tokio::test]
async fn t11_a_duplicated_event_still_gives_one_object() {
    let (eddy, _guard) = eddy().await;
    eddy.set_faults(vec![FaultSpec {
        count: Some(1),
        ..FaultSpec::new(FaultKind::S3EventDuplicate)
    }])
    .expect("faults");
    let s3 = eddy.s3().await;
    put(&s3, "source", "twice.txt", "2").await;
    eddy.wait_idle(IDLE).await.expect("idle");
    assert_eq!(keys(&s3, "destination").await, ["twice.txt"]);
    let trace = eddy.trace("source", "twice.txt").await.expect("trace");
    assert_eq!(trace.faults[0].kind, "s3_event_duplicate");
    finished();
}

#[tokio::test]
async fn t12_faults_of_an_earlier_test_are_cleared() {
    let (eddy, _guard) = eddy().await;
    eddy.set_faults(vec![FaultSpec {
        bucket: Some("destination".to_owned()),
        ..FaultSpec::new(FaultKind::S3SlowDown)
    }])
    .expect("faults");
    eddy.reset().await.expect("reset");
    let s3 = eddy.s3().await;
    put(&s3, "destination", "ok.txt", "ok").await;
    finished();
}

#[tokio::test]
async fn t13_a_message_waiting_for_its_retry_keeps_the_pipeline_busy() {
    let (eddy, _guard) = eddy().await;
    let sqs = eddy.sqs().await;
    sqs.send_message()
        .queue_url(eddy.queue_url("file-events"))
        .message_body("not an S3 event")
        .send()
        .await
        .expect("send");
    // With a visibility timeout of 30 s the retries are far away: the message waits.
    let busy = eddy.wait_idle(Duration::from_millis(200)).await;
    assert!(matches!(busy, Err(HarnessError::Busy { .. })), "{busy:?}");
    finished();
}

#[tokio::test]
async fn t14_versioning_keeps_both_versions() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    s3.create_bucket()
        .bucket("versions-14")
        .send()
        .await
        .expect("bucket");
    s3.put_bucket_versioning()
        .bucket("versions-14")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
    put(&s3, "versions-14", "k", "1").await;
    put(&s3, "versions-14", "k", "2").await;
    let versions = s3
        .list_object_versions()
        .bucket("versions-14")
        .send()
        .await
        .expect("versions");
    assert_eq!(versions.versions().len(), 2);
    finished();
}

#[tokio::test]
async fn t15_no_function_of_the_lambda_api_is_left() {
    let (eddy, _guard) = eddy().await;
    let lambda = eddy.lambda().await;
    lambda
        .delete_function()
        .function_name("not-there")
        .send()
        .await
        .expect_err("no such function");
    // Only the function of eddy.toml, listed read-only.
    let listed = lambda.list_functions().send().await.expect("list");
    let names: Vec<&str> = listed
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(names, ["eddy-copy"]);
    finished();
}

#[tokio::test]
async fn t16_a_copy_lands_under_the_same_key() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    put(&s3, "source", "dir/with space.txt", "space").await;
    eddy.wait_idle(IDLE).await.expect("idle");
    assert_eq!(keys(&s3, "destination").await, ["dir/with space.txt"]);
    finished();
}

#[tokio::test]
async fn t17_a_batch_of_messages_is_received_in_order_of_sending() {
    let (eddy, _guard) = eddy().await;
    let sqs = eddy.sqs().await;
    let url = sqs
        .create_queue()
        .queue_name("t17")
        .send()
        .await
        .expect("queue")
        .queue_url()
        .expect("url")
        .to_owned();
    for i in 0..5 {
        sqs.send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .expect("send");
    }
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive");
    assert_eq!(received.messages().len(), 5);
    finished();
}

#[tokio::test]
async fn t18_an_overwrite_is_copied_again() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    put(&s3, "source", "over.txt", "first").await;
    eddy.wait_idle(IDLE).await.expect("idle");
    put(&s3, "source", "over.txt", "second").await;
    eddy.wait_idle(IDLE).await.expect("idle");
    assert_eq!(get(&s3, "destination", "over.txt").await, "second");
    finished();
}

#[tokio::test]
async fn t19_idle_answers_at_once_when_nothing_happened() {
    let (eddy, _guard) = eddy().await;
    let answer = eddy.wait_idle(IDLE).await.expect("idle");
    assert!(answer.waited_ms < 50, "{}", answer.waited_ms);
    finished();
}

#[tokio::test]
async fn t20_a_reset_reports_what_it_removed() {
    let (eddy, _guard) = eddy().await;
    let s3 = eddy.s3().await;
    put(&s3, "destination", "r1", "x").await;
    put(&s3, "destination", "r2", "x").await;
    let report = eddy.reset().await.expect("reset");
    assert_eq!(report.objects_removed, 2);
    finished();
}
