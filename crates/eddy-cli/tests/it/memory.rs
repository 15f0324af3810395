//! Bounded memory: uploading, downloading and copying a large object (1 GiB; set
//! `EDDY_BIG_OBJECT_GIB=5` for 5 GiB) keeps eddy's resident memory under 200 MiB, and
//! 1,000 concurrent connections all get answers without exhausting it. RSS is sampled
//! from /proc/<pid>/status while the work runs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::util::harness::Eddy;
use crate::util::raw::{authority, send_signed, signed_headers};
use eddy_testing::sign::Service;
use sha2::{Digest, Sha256};

const LIMIT_MIB: u64 = 200;

/// Samples the peak VmRSS of a process (in KiB) until stopped.
struct RssSampler {
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let peak_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak_kib, stop) = (peak_kib.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak_kib.fetch_max(crate::util::harness::rss_kib(pid), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Self {
            peak_kib,
            stop,
            thread: Some(thread),
        }
    }

    fn peak_mib(&mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("sampler");
        }
        self.peak_kib.load(Ordering::Relaxed) / 1024
    }
}

/// The byte at offset `i` of the test object: a pattern that is not all zeros.
fn pattern(offset: u64, buffer: &mut [u8]) {
    for (i, b) in buffer.iter_mut().enumerate() {
        let at = offset + i as u64;
        *b = (at.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
}

/// Streams `size` bytes of the pattern as a PUT (UNSIGNED-PAYLOAD); returns the
/// status line and the body's SHA-256.
fn put_streaming(endpoint: &str, path: &str, size: u64) -> (String, Vec<u8>) {
    let length = size.to_string();
    let headers = signed_headers(
        Service::S3,
        "PUT",
        endpoint,
        path,
        &[("content-length", &length)],
        b"",
        true,
    );
    let mut stream = TcpStream::connect(authority(endpoint)).expect("connect");
    let mut head = format!("PUT {path} HTTP/1.1\r\nConnection: close");
    for (k, v) in &headers {
        head.push_str(&format!("\r\n{k}: {v}"));
    }
    head.push_str("\r\n\r\n");
    stream.write_all(head.as_bytes()).expect("head");
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1024 * 1024];
    let mut sent = 0u64;
    while sent < size {
        let n = (size - sent).min(buffer.len() as u64) as usize;
        pattern(sent, &mut buffer[..n]);
        hasher.update(&buffer[..n]);
        stream.write_all(&buffer[..n]).expect("body");
        sent += n as u64;
    }
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    (
        answer.lines().next().unwrap_or_default().to_owned(),
        hasher.finalize().to_vec(),
    )
}

/// GETs an object, hashing the body as it streams; returns (status line, size, hash).
fn get_streaming(endpoint: &str, path: &str) -> (String, u64, Vec<u8>) {
    let headers = signed_headers(Service::S3, "GET", endpoint, path, &[], b"", true);
    let mut stream = TcpStream::connect(authority(endpoint)).expect("connect");
    let mut head = format!("GET {path} HTTP/1.1\r\nConnection: close");
    for (k, v) in &headers {
        head.push_str(&format!("\r\n{k}: {v}"));
    }
    head.push_str("\r\n\r\n");
    stream.write_all(head.as_bytes()).expect("head");
    let mut buffer = vec![0u8; 1024 * 1024];
    let mut header_bytes = Vec::new();
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut in_body = false;
    loop {
        let n = stream.read(&mut buffer).expect("read");
        if n == 0 {
            break;
        }
        if in_body {
            hasher.update(&buffer[..n]);
            size += n as u64;
            continue;
        }
        header_bytes.extend_from_slice(&buffer[..n]);
        if let Some(end) = header_bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let body = header_bytes.split_off(end + 4);
            hasher.update(&body);
            size += body.len() as u64;
            in_body = true;
        }
    }
    let status = String::from_utf8_lossy(&header_bytes)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    (status, size, hasher.finalize().to_vec())
}

#[test]
fn a_large_object_upload_download_and_copy_stay_under_200_mib() {
    let gib: u64 = std::env::var("EDDY_BIG_OBJECT_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let size = gib << 30;
    let eddy = Eddy::process();
    let endpoint = eddy.endpoint.clone();
    // A bucket without notifications: the pipeline does not copy the object again.
    let created = send_signed(Service::S3, &endpoint, "PUT", "/big", &[], b"");
    assert_eq!(created.status, 200, "{created:?}");
    let mut sampler = RssSampler::start(eddy.pid());
    let (status, sent_hash) = put_streaming(&endpoint, "/big/object", size);
    assert!(status.contains(" 200 "), "PUT: {status}");
    let (status, got_size, got_hash) = get_streaming(&endpoint, "/big/object");
    assert!(status.contains(" 200 "), "GET: {status}");
    assert_eq!(got_size, size);
    assert_eq!(got_hash, sent_hash, "downloaded bytes differ");
    let copied = send_signed(
        Service::S3,
        &endpoint,
        "PUT",
        "/big/copy",
        &[("x-amz-copy-source", "/big/object")],
        b"",
    );
    assert_eq!(copied.status, 200, "CopyObject: {copied:?}");
    let (status, got_size, got_hash) = get_streaming(&endpoint, "/big/copy");
    assert!(status.contains(" 200 "), "GET copy: {status}");
    assert_eq!(got_size, size);
    assert_eq!(got_hash, sent_hash, "copied bytes differ");
    let peak = sampler.peak_mib();
    println!("{gib} GiB object: upload, download, copy, download: peak RSS {peak} MiB");
    assert!(peak > 0, "RSS was sampled");
    assert!(peak < LIMIT_MIB, "peak RSS {peak} MiB >= {LIMIT_MIB} MiB");
    // Free the disk space now rather than at drop.
    for key in ["/big/object", "/big/copy"] {
        let deleted = send_signed(Service::S3, &endpoint, "DELETE", key, &[], b"");
        assert_eq!(deleted.status, 204, "{deleted:?}");
    }
}

#[test]
fn a_thousand_concurrent_connections_all_get_answers() {
    let eddy = Eddy::process();
    let endpoint = eddy.endpoint.clone();
    let mut sampler = RssSampler::start(eddy.pid());
    let connections = 1000;
    let mut streams: Vec<TcpStream> = (0..connections)
        .map(|i| {
            let stream = TcpStream::connect(authority(&endpoint))
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
            stream
                .set_read_timeout(Some(Duration::from_secs(60)))
                .expect("timeout");
            stream
        })
        .collect();
    // Every connection is open before any request is sent.
    for (i, stream) in streams.iter_mut().enumerate() {
        let headers = signed_headers(
            Service::S3,
            "GET",
            &endpoint,
            "/source?list-type=2",
            &[],
            b"",
            true,
        );
        let mut head = "GET /source?list-type=2 HTTP/1.1\r\nConnection: close".to_owned();
        for (k, v) in &headers {
            head.push_str(&format!("\r\n{k}: {v}"));
        }
        head.push_str("\r\n\r\n");
        stream
            .write_all(head.as_bytes())
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
    }
    let mut answered = 0;
    for (i, stream) in streams.iter_mut().enumerate() {
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .unwrap_or_else(|e| panic!("answer {i}: {e}"));
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "connection {i}: {}",
            answer.lines().next().unwrap_or_default()
        );
        answered += 1;
    }
    drop(streams);
    let health = crate::util::raw::exchange(
        &endpoint,
        &format!(
            "GET /_eddy/health HTTP/1.1\r\nHost: {}",
            authority(&endpoint)
        ),
        b"",
    );
    assert_eq!(health.status, 200, "eddy is up after 1,000 connections");
    let peak = sampler.peak_mib();
    println!("{answered} concurrent connections answered; peak RSS {peak} MiB");
    assert_eq!(answered, connections);
    assert!(peak < LIMIT_MIB, "peak RSS {peak} MiB >= {LIMIT_MIB} MiB");
}
