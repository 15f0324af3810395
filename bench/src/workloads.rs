//! The workloads of BENCHMARKS.md, each run the same way against any system that
//! speaks S3 and SQS: SQS SendMessage / SendMessageBatch / receive-and-delete drain,
//! S3 PutObject of small objects, the upload-to-copy pipeline, and one large upload.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::Method;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde::Deserialize;
use serde_json::json;

use crate::http::{Api, Body, Connection, Reply};
use crate::load::{Budget, Latencies, RunStats, Workload, closed_loop};

/// Creates (or finds) a queue and returns its URL.
pub async fn create_queue(
    connection: &mut Connection,
    name: &str,
    attributes: serde_json::Value,
) -> anyhow::Result<String> {
    let output = connection
        .sqs(
            "CreateQueue",
            &json!({"QueueName": name, "Attributes": attributes}),
        )
        .await?;
    output["QueueUrl"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("CreateQueue {name} returned no QueueUrl: {output}"))
}

/// Creates a bucket in us-east-1.
pub async fn create_bucket(connection: &mut Connection, bucket: &str) -> anyhow::Result<()> {
    connection
        .s3(Method::PUT, &format!("/{bucket}"), Bytes::new())
        .await
        .map(|_| ())
}

/// Messages in a queue: visible plus in flight (`ApproximateNumberOfMessages` +
/// `ApproximateNumberOfMessagesNotVisible`).
pub async fn queue_depth(connection: &mut Connection, queue_url: &str) -> anyhow::Result<u64> {
    let output = connection
        .sqs(
            "GetQueueAttributes",
            &json!({"QueueUrl": queue_url, "AttributeNames": [
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]}),
        )
        .await?;
    let count = |name: &str| -> anyhow::Result<u64> {
        output["Attributes"][name]
            .as_str()
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("GetQueueAttributes returned no {name}: {output}"))
    };
    Ok(count("ApproximateNumberOfMessages")? + count("ApproximateNumberOfMessagesNotVisible")?)
}

/// The body of every benchmark message: 64 bytes of text.
const MESSAGE_BODY: &str = "eddy benchmark message, 64 bytes of body text: 0123456789abcdef.";

/// SQS `SendMessage` of one 64-byte message per request.
pub struct SendMessage {
    body: Bytes,
}

impl SendMessage {
    pub fn new(queue_url: &str) -> Self {
        let body = json!({"QueueUrl": queue_url, "MessageBody": MESSAGE_BODY}).to_string();
        Self {
            body: Bytes::from(body),
        }
    }
}

impl Workload for SendMessage {
    fn request(&self, api: &Api, _sequence: u64) -> anyhow::Result<http::Request<Body>> {
        api.sqs_request("SendMessage", self.body.clone())
    }

    fn items(&self, reply: &Reply) -> anyhow::Result<u64> {
        reply.ok("SendMessage")?;
        Ok(1)
    }
}

/// SQS `SendMessageBatch` of ten 64-byte messages per request.
pub struct SendMessageBatch {
    body: Bytes,
}

impl SendMessageBatch {
    pub fn new(queue_url: &str) -> Self {
        let entries: Vec<_> = (0..10)
            .map(|i| json!({"Id": i.to_string(), "MessageBody": MESSAGE_BODY}))
            .collect();
        let body = json!({"QueueUrl": queue_url, "Entries": entries}).to_string();
        Self {
            body: Bytes::from(body),
        }
    }
}

impl Workload for SendMessageBatch {
    fn request(&self, api: &Api, _sequence: u64) -> anyhow::Result<http::Request<Body>> {
        api.sqs_request("SendMessageBatch", self.body.clone())
    }

    fn items(&self, reply: &Reply) -> anyhow::Result<u64> {
        let output = reply.json("SendMessageBatch")?;
        if let Some(failed) = output["Failed"].as_array().filter(|f| !f.is_empty()) {
            bail!(
                "SendMessageBatch: {} entries failed: {}",
                failed.len(),
                failed[0]
            );
        }
        Ok(output["Successful"]
            .as_array()
            .map_or(0, |s| s.len() as u64))
    }
}

/// S3 `PutObject` of the same bytes under a new key per request:
/// `/{bucket}/{prefix}{sequence:08}`.
pub struct PutObject {
    bucket: String,
    prefix: String,
    body: Bytes,
}

impl PutObject {
    pub fn new(bucket: &str, prefix: &str, size: usize) -> Self {
        // Not all one byte, so that nothing along the way can shortcut it.
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            body: Bytes::from(body),
        }
    }

    pub fn key(&self, sequence: u64) -> String {
        format!("{}{sequence:08}", self.prefix)
    }
}

impl Workload for PutObject {
    fn request(&self, api: &Api, sequence: u64) -> anyhow::Result<http::Request<Body>> {
        let path = format!("/{}/{}", self.bucket, self.key(sequence));
        api.s3_request(Method::PUT, &path, self.body.clone())
    }

    fn items(&self, reply: &Reply) -> anyhow::Result<u64> {
        reply.ok("PutObject")?;
        Ok(1)
    }
}

/// Result of a drain: how many messages were received and deleted, and how fast.
#[derive(Debug, Default)]
pub struct DrainStats {
    pub deleted: u64,
    pub elapsed: Duration,
    pub errors: u64,
    pub first_error: Option<String>,
    pub empty_receives: u64,
}

impl DrainStats {
    pub fn rate(&self) -> f64 {
        self.deleted as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Receives (10 at a time, no wait) and batch-deletes `total` messages from a queue on
/// `connections` connections; the clock stops when the last one is deleted.
pub async fn drain(
    api: &Arc<Api>,
    connections: usize,
    queue_url: &str,
    total: u64,
    limit: Duration,
) -> anyhow::Result<DrainStats> {
    let deleted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let finished_at: Arc<std::sync::Mutex<Option<Duration>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let mut connection = Connection::open(api.clone()).await?;
        let deleted = deleted.clone();
        let finished_at = finished_at.clone();
        let receive =
            json!({"QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0});
        let queue_url = queue_url.to_owned();
        tasks.spawn(async move {
            let mut stats = DrainStats::default();
            while deleted.load(Ordering::Relaxed) < total && started.elapsed() < limit {
                match drain_once(&mut connection, &receive, &queue_url).await {
                    Ok(0) => {
                        stats.empty_receives += 1;
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    Ok(n) => {
                        let before = deleted.fetch_add(n, Ordering::Relaxed);
                        if before < total
                            && before + n >= total
                            && let Ok(mut at) = finished_at.lock()
                        {
                            *at = Some(started.elapsed());
                        }
                    }
                    Err(error) => {
                        stats.errors += 1;
                        stats.first_error.get_or_insert(format!("{error:#}"));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            stats
        });
    }
    let mut total_stats = DrainStats::default();
    while let Some(joined) = tasks.join_next().await {
        let stats = joined.context("a drain task panicked")?;
        total_stats.errors += stats.errors;
        total_stats.empty_receives += stats.empty_receives;
        if total_stats.first_error.is_none() {
            total_stats.first_error = stats.first_error;
        }
    }
    total_stats.deleted = deleted.load(Ordering::Relaxed);
    total_stats.elapsed = finished_at
        .lock()
        .ok()
        .and_then(|at| *at)
        .unwrap_or_else(|| started.elapsed());
    Ok(total_stats)
}

/// One receive and the batch delete of what it returned; the number deleted.
async fn drain_once(
    connection: &mut Connection,
    receive: &serde_json::Value,
    queue_url: &str,
) -> anyhow::Result<u64> {
    let output = connection.sqs("ReceiveMessage", receive).await?;
    let Some(messages) = output["Messages"].as_array().filter(|m| !m.is_empty()) else {
        return Ok(0);
    };
    let entries: Vec<_> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"Id": i.to_string(), "ReceiptHandle": m["ReceiptHandle"]}))
        .collect();
    let output = connection
        .sqs(
            "DeleteMessageBatch",
            &json!({"QueueUrl": queue_url, "Entries": entries}),
        )
        .await?;
    if let Some(failed) = output["Failed"].as_array().filter(|f| !f.is_empty()) {
        bail!(
            "DeleteMessageBatch: {} entries failed: {}",
            failed.len(),
            failed[0]
        );
    }
    Ok(output["Successful"]
        .as_array()
        .map_or(0, |s| s.len() as u64))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    contents: Vec<ListedObject>,
    next_continuation_token: Option<String>,
    #[serde(default)]
    is_truncated: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedObject {
    key: String,
    last_modified: String,
}

/// An object in a listing, with its `LastModified` in milliseconds since the epoch.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub last_modified_ms: i64,
}

/// Every object of `bucket` (ListObjectsV2, 1,000 per page).
pub async fn list_all(connection: &mut Connection, bucket: &str) -> anyhow::Result<Vec<Listed>> {
    const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("/{bucket}?list-type=2&max-keys=1000");
        if let Some(token) = &token {
            path.push_str("&continuation-token=");
            path.extend(percent_encoding::utf8_percent_encode(token, QUERY_VALUE));
        }
        let reply = connection.s3(Method::GET, &path, Bytes::new()).await?;
        let text = std::str::from_utf8(&reply.body).context("ListObjectsV2: not UTF-8")?;
        let page: ListBucketResult =
            quick_xml::de::from_str(text).context("ListObjectsV2: unexpected XML")?;
        for object in page.contents {
            listed.push(Listed {
                last_modified_ms: parse_timestamp_ms(&object.last_modified)?,
                key: object.key,
            });
        }
        match page.next_continuation_token {
            Some(next) if page.is_truncated => token = Some(next),
            _ => return Ok(listed),
        }
    }
}

/// An ISO 8601 timestamp of S3 (`2026-11-26T22:50:01.123Z`) in ms since the epoch.
pub fn parse_timestamp_ms(text: &str) -> anyhow::Result<i64> {
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("{text:?} is not an ISO 8601 timestamp"))?;
    Ok((parsed.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn epoch_ms(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// How the pipeline learns when each copy appeared in the destination bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyClock {
    /// From the copy's `LastModified`, read once at the end (needs millisecond precision,
    /// which eddy has); the run itself is watched through the queue depth only.
    LastModified,
    /// By listing the destination over and over during the run (the first listing that
    /// shows a key dates its copy); for systems whose `LastModified` has whole seconds.
    Polling,
}

/// The pipeline's outcome.
#[derive(Debug, Default)]
pub struct PipelineStats {
    pub files: u64,
    pub upload: RunStats,
    /// From the first upload to the last copy.
    pub total: Duration,
    pub latencies: Latencies,
    pub copied: u64,
    pub note: String,
}

impl PipelineStats {
    pub fn rate(&self) -> f64 {
        self.copied as f64 / self.total.as_secs_f64().max(1e-9)
    }
}

/// Uploads `files` objects of `size` bytes to `source` on `connections` connections
/// and waits until every copy is in `destination` (same key); `queue_url` is the queue
/// the events go through.
#[allow(clippy::too_many_arguments)]
pub async fn pipeline(
    api: &Arc<Api>,
    connections: usize,
    files: u64,
    size: usize,
    source: &str,
    destination: &str,
    queue_url: &str,
    clock: CopyClock,
    limit: Duration,
) -> anyhow::Result<PipelineStats> {
    let upload = Arc::new(PutObject::new(source, "in/", size));
    let started_at = SystemTime::now();
    let started = Instant::now();
    let deadline = started + limit;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let poller = (clock == CopyClock::Polling).then(|| {
        let api = api.clone();
        let destination = destination.to_owned();
        tokio::spawn(poll_copies(api, destination, files, stop_rx))
    });

    let uploads = closed_loop(
        api,
        connections,
        Budget::Requests(files),
        upload.clone(),
        true,
    )
    .await
    .context("uploading the pipeline's files")?;
    if uploads.errors > 0 {
        let _ = stop_tx.send(true);
        bail!(
            "{} of {files} uploads failed; first: {}",
            uploads.errors,
            uploads.first_error.as_deref().unwrap_or("?")
        );
    }

    let mut watcher = Connection::open(api.clone()).await?;
    let first_seen: HashMap<String, f64> = if let Some(poller) = poller {
        let waited = tokio::time::timeout_at(deadline.into(), poller).await;
        let _ = stop_tx.send(true);
        match waited {
            Ok(joined) => joined.context("the copy poller panicked")??,
            Err(_) => bail!("not every copy appeared within {limit:?}"),
        }
    } else {
        // Every event is in the queue once its upload is acknowledged; the queue is
        // empty once every event's copy is done and its message deleted.
        loop {
            if queue_depth(&mut watcher, queue_url).await? == 0 {
                let copied = list_all(&mut watcher, destination).await?.len() as u64;
                if copied >= files {
                    break;
                }
            }
            if Instant::now() > deadline {
                bail!("not every copy appeared within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        list_all(&mut watcher, destination)
            .await?
            .into_iter()
            .map(|o| (o.key, o.last_modified_ms as f64))
            .collect()
    };

    let mut stats = PipelineStats {
        files,
        ..Default::default()
    };
    let mut last_copy_ms = epoch_ms(started_at);
    let mut whole_seconds = true;
    for (sequence, acked) in &uploads.acks {
        let key = upload.key(*sequence);
        let Some(&copied_ms) = first_seen.get(&key) else {
            continue;
        };
        stats.copied += 1;
        whole_seconds &= copied_ms % 1000.0 == 0.0;
        last_copy_ms = last_copy_ms.max(copied_ms);
        let latency_ms = (copied_ms - epoch_ms(*acked)).max(0.0);
        stats
            .latencies
            .record(Duration::from_secs_f64(latency_ms / 1000.0));
    }
    stats.total =
        Duration::from_secs_f64(((last_copy_ms - epoch_ms(started_at)) / 1000.0).max(1e-3));
    stats.note = match clock {
        CopyClock::LastModified if whole_seconds => {
            "copy times from LastModified, which had whole seconds only (1 s resolution)".into()
        }
        CopyClock::LastModified => "copy times from each copy's LastModified (ms)".into(),
        CopyClock::Polling => "copy times by repeated listing of the destination".into(),
    };
    stats.upload = uploads;
    Ok(stats)
}

/// Lists `destination` until `files` objects are there or `stop`; the first time each
/// key was seen, in ms since the epoch.
async fn poll_copies(
    api: Arc<Api>,
    destination: String,
    files: u64,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<HashMap<String, f64>> {
    let mut connection = Connection::open(api).await?;
    let mut first_seen = HashMap::new();
    while !*stop.borrow() && (first_seen.len() as u64) < files {
        let listed = list_all(&mut connection, &destination).await?;
        let now = epoch_ms(SystemTime::now());
        for object in listed {
            first_seen.entry(object.key).or_insert(now);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(first_seen)
}

/// One large object's upload (and copy, where something copies it).
#[derive(Debug, Default)]
pub struct LargeStats {
    pub bytes: u64,
    pub upload: Duration,
    /// From the upload's acknowledgement to the copy answering HEAD.
    pub copy: Option<Duration>,
}

impl LargeStats {
    /// Decimal megabytes per second.
    pub fn megabytes_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.upload.as_secs_f64().max(1e-9)
    }
}

/// A body of `length` zero bytes streamed in 1 MiB chunks (never all in memory).
fn zero_stream(length: u64) -> Body {
    const CHUNK: u64 = 1 << 20;
    let chunk = Bytes::from(vec![0u8; CHUNK as usize]);
    let chunks = length.div_ceil(CHUNK);
    let frames = (0..chunks).map(move |i| {
        let size = (length - i * CHUNK).min(CHUNK) as usize;
        Ok::<_, Infallible>(Frame::data(chunk.slice(..size)))
    });
    StreamBody::new(futures::stream::iter(frames)).boxed()
}

/// Uploads one object of `length` bytes with a single streamed PutObject, then (when
/// `copy_to` names a bucket) polls HEAD on the copy every 2 ms until it exists.
pub async fn large_upload(
    api: &Arc<Api>,
    bucket: &str,
    key: &str,
    length: u64,
    copy_to: Option<&str>,
    limit: Duration,
) -> anyhow::Result<LargeStats> {
    let mut connection = Connection::open(api.clone()).await?;
    let request = api.s3_streaming_put(&format!("/{bucket}/{key}"), length, zero_stream(length))?;
    let started = Instant::now();
    let reply = connection.send(request).await?;
    let upload = started.elapsed();
    reply.ok("large PutObject")?;
    let acked = Instant::now();
    let mut copy = None;
    if let Some(destination) = copy_to {
        let path = format!("/{destination}/{key}");
        loop {
            let request = api.s3_request(Method::HEAD, &path, Bytes::new())?;
            let reply = connection.send(request).await?;
            if reply.status.is_success() {
                copy = Some(acked.elapsed());
                break;
            }
            if acked.elapsed() > limit {
                bail!("the copy of {key} did not appear within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    Ok(LargeStats {
        bytes: length,
        upload,
        copy,
    })
}

/// Hashes `mib` MiB of zeros with MD5 on one core, in 1 MiB updates, with the `md-5`
/// crate eddy uses, and returns decimal MB/s: the most a single PutObject can reach,
/// since S3's ETag of a single-part upload is the MD5 of its bytes.
pub fn md5_rate(mib: u64) -> f64 {
    use md5::Digest;
    let chunk = vec![0u8; 1 << 20];
    let started = Instant::now();
    let mut hasher = md5::Md5::new();
    for _ in 0..mib {
        hasher.update(&chunk);
    }
    std::hint::black_box(hasher.finalize());
    (mib << 20) as f64 / 1e6 / started.elapsed().as_secs_f64().max(1e-9)
}

/// Writes `mib` MiB of zeros with `dd ... bs=1M conv=fsync` into `dir` and returns
/// decimal MB/s (the file is removed afterwards).
pub fn dd_rate(dir: &Path, mib: u64) -> anyhow::Result<f64> {
    let target = dir.join("dd-reference.bin");
    let started = Instant::now();
    let output = std::process::Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", target.display()))
        .arg("bs=1M")
        .arg(format!("count={mib}"))
        .arg("conv=fsync")
        .output()
        .context("cannot run dd")?;
    let elapsed = started.elapsed();
    let _ = std::fs::remove_file(&target);
    if !output.status.success() {
        bail!("dd failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok((mib << 20) as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_timestamps_to_milliseconds() {
        assert_eq!(
            parse_timestamp_ms("1970-01-01T00:00:01.250Z").expect("timestamp"),
            1250
        );
        assert!(parse_timestamp_ms("yesterday").is_err());
    }

    #[test]
    fn reads_a_listing_page() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><KeyCount>2</KeyCount>
<Contents><Key>in/1</Key><LastModified>2026-11-26T22:50:01.123Z</LastModified><Size>4</Size></Contents>
<Contents><Key>in/2</Key><LastModified>2026-11-26T22:50:02.000Z</LastModified><Size>4</Size></Contents>
<IsTruncated>true</IsTruncated><NextContinuationToken>abc+/=</NextContinuationToken></ListBucketResult>"#;
        let page: ListBucketResult = quick_xml::de::from_str(xml).expect("listing");
        assert_eq!(page.contents.len(), 2);
        assert_eq!(page.contents[1].key, "in/2");
        assert!(page.is_truncated);
        assert_eq!(page.next_continuation_token.as_deref(), Some("abc+/="));
    }
}
