//! Hostile input against the real eddy: keys that try to escape the data directory,
//! malformed XML, JSON, form bodies, aws-chunked framing and headers, and oversized
//! bodies. Every answer must be a 2xx or a 4xx with AWS's error code, never a 5xx or a
//! dropped connection, and eddy must stay healthy and reopen its store afterwards.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::util::harness::{Eddy, EddyOptions};
use crate::util::raw::{RawResponse, assert_healthy, exchange, send, send_signed, signed_headers};
use eddy_testing::sign::Service;

/// A marker in every hostile key, looked for in file names afterwards.
const MARKER: &str = "hostile-escape";

/// Every file below `dir`.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Asserts an answer is a 2xx or a 4xx (not a 5xx, not a dropped connection).
fn assert_not_server_error(answer: &RawResponse, what: &str) {
    assert!(
        (200..500).contains(&answer.status),
        "{what}: expected 2xx or 4xx, got {answer:?}"
    );
}

fn assert_client_error(answer: &RawResponse, what: &str) {
    assert!(
        (400..500).contains(&answer.status),
        "{what}: expected 4xx, got {answer:?}"
    );
}

#[test]
fn hostile_keys_stay_inside_the_data_dir() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    let mut eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir.clone()),
    });
    let endpoint = eddy.endpoint.clone();
    let outside_before: BTreeSet<PathBuf> = files_below(temp.path())
        .into_iter()
        .filter(|p| !p.starts_with(&data_dir))
        .collect();
    let long_key = format!("{MARKER}-{}", "k".repeat(1100));
    // (path segment as sent, expected outcome: None = 2xx or 4xx, Some(code) = that
    // error code).
    let cases: Vec<(String, Option<&str>)> = vec![
        (format!("../../{MARKER}-dotdot"), None),
        (format!("..%2F..%2F..%2F{MARKER}-encoded-dotdot"), None),
        (format!("%2Ftmp%2F{MARKER}-absolute"), None),
        (format!("/tmp/{MARKER}-double-slash"), None),
        (format!("{MARKER}-nul%00after"), None),
        (format!("{MARKER}-control%01%1B%7F%0A%0D"), None),
        (format!("{MARKER}-invalid-utf8-%FF%FE"), None),
        (format!("%C0%AE%C0%AE%2F{MARKER}-overlong"), None),
        (format!("{MARKER}-backslash..%5C..%5C"), None),
        (long_key.clone(), Some("KeyTooLongError")),
    ];
    let mut stored = Vec::new();
    for (segment, expected_code) in &cases {
        let path = format!("/source/{segment}");
        let body = format!("body of {segment}");
        let answer = send_signed(
            Service::S3,
            &endpoint,
            "PUT",
            &path,
            &[("content-type", "application/octet-stream")],
            body.as_bytes(),
        );
        assert_not_server_error(&answer, &format!("PUT {path}"));
        println!("PUT {:.60} -> {} {}", path, answer.status, answer.code());
        if let Some(code) = expected_code {
            assert_eq!(answer.status, 400, "PUT {path}: {answer:?}");
            assert_eq!(answer.code(), *code, "PUT {path}: {answer:?}");
        }
        if answer.status == 200 {
            stored.push((path.clone(), body));
        } else {
            assert!(
                !answer.code().is_empty(),
                "PUT {path}: no error code: {answer:?}"
            );
        }
        assert_healthy(&endpoint, &format!("PUT {path}"));
    }
    assert!(
        stored.len() >= 5,
        "most hostile keys are valid S3 keys and must be stored: {stored:?}"
    );
    for (path, body) in &stored {
        let answer = send_signed(Service::S3, &endpoint, "GET", path, &[], b"");
        assert_eq!(answer.status, 200, "GET {path}: {answer:?}");
        assert_eq!(&answer.body, body, "GET {path} returns what was stored");
    }

    let check_files = || {
        for file in files_below(&data_dir) {
            let name = file.to_string_lossy();
            assert!(!name.contains(MARKER), "a key became a file name: {name}");
        }
        let outside_after: BTreeSet<PathBuf> = files_below(temp.path())
            .into_iter()
            .filter(|p| !p.starts_with(&data_dir))
            .collect();
        let new: Vec<_> = outside_after.difference(&outside_before).collect();
        assert!(
            new.is_empty(),
            "files appeared outside the data dir: {new:?}"
        );
        for dir in [Path::new("/tmp"), Path::new("/")] {
            for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                assert!(
                    !name.contains(MARKER),
                    "a key escaped to {}",
                    entry.path().display()
                );
            }
        }
    };
    check_files();

    // The store still opens and still holds the objects.
    eddy.terminate();
    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir.clone()),
    });
    for (path, body) in &stored {
        let answer = send_signed(Service::S3, &eddy.endpoint, "GET", path, &[], b"");
        assert_eq!(answer.status, 200, "GET {path} after restart: {answer:?}");
        assert_eq!(&answer.body, body);
    }
    let listing = send_signed(
        Service::S3,
        &eddy.endpoint,
        "GET",
        "/source?list-type=2",
        &[],
        b"",
    );
    assert_eq!(listing.status, 200, "{listing:?}");
    assert_eq!(
        listing.body.matches("<Key>").count(),
        stored.len(),
        "{listing:?}"
    );
    check_files();
    println!(
        "hostile keys: {} tried, {} stored inside the data dir, {} refused",
        cases.len(),
        stored.len(),
        cases.len() - stored.len()
    );
}

/// One malformed request and what it must get.
struct Attack {
    name: &'static str,
    service: Service,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn s3(
    name: &'static str,
    method: &'static str,
    path: &str,
    headers: &[(&'static str, &str)],
    body: &[u8],
) -> Attack {
    Attack {
        name,
        service: Service::S3,
        method,
        path: path.to_owned(),
        headers: headers.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        body: body.to_vec(),
    }
}

fn sqs_json(name: &'static str, target: &str, body: &[u8]) -> Attack {
    Attack {
        name,
        service: Service::Sqs,
        method: "POST",
        path: "/".to_owned(),
        headers: vec![
            ("content-type", "application/x-amz-json-1.0".to_owned()),
            ("x-amz-target", format!("AmazonSQS.{target}")),
        ],
        body: body.to_vec(),
    }
}

fn sqs_form(name: &'static str, body: &[u8]) -> Attack {
    Attack {
        name,
        service: Service::Sqs,
        method: "POST",
        path: "/".to_owned(),
        headers: vec![(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
        )],
        body: body.to_vec(),
    }
}

#[test]
fn malformed_requests_get_4xx_and_eddy_stays_up() {
    let eddy = Eddy::start();
    let endpoint = eddy.endpoint.clone();
    let queue_url = eddy.queue_url("file-events");
    // A real multipart upload, to complete with garbage.
    let created = send_signed(
        Service::S3,
        &endpoint,
        "POST",
        "/source/multi?uploads",
        &[],
        b"",
    );
    assert_eq!(created.status, 200, "{created:?}");
    let upload_id = created
        .body
        .split("<UploadId>")
        .nth(1)
        .and_then(|r| r.split("</UploadId>").next())
        .expect("upload id")
        .to_owned();
    let complete = format!("/source/multi?uploadId={upload_id}");
    let deep_xml = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let send = |extra: &str| {
        format!(r#"{{"QueueUrl":"{queue_url}","MessageBody":"x"{extra}}}"#).into_bytes()
    };
    let attacks = vec![
        // XML bodies.
        s3("CompleteMultipartUpload, broken XML", "POST", &complete, &[], b"<CompleteMultipartUpload><Part><PartNumber>1"),
        s3("CompleteMultipartUpload, not XML", "POST", &complete, &[], b"\x00\xff\xfe garbage"),
        s3("CompleteMultipartUpload, no parts", "POST", &complete, &[], b"<CompleteMultipartUpload></CompleteMultipartUpload>"),
        s3("CompleteMultipartUpload, bad part number", "POST", &complete, &[], b"<CompleteMultipartUpload><Part><PartNumber>-5</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>"),
        s3("CompleteMultipartUpload, deep nesting", "POST", &complete, &[], deep_xml.as_bytes()),
        s3("CompleteMultipartUpload, entity expansion", "POST", &complete, &[], b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&b;</ETag></Part></CompleteMultipartUpload>"),
        s3("DeleteObjects, broken XML", "POST", "/source?delete", &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")], b"<Delete><Object><Key>a"),
        s3("DeleteObjects, empty body", "POST", "/source?delete", &[], b""),
        s3("DeleteObjects, wrong root", "POST", "/source?delete", &[], b"<Nope/>"),
        s3("PutBucketNotificationConfiguration, broken XML", "PUT", "/source?notification", &[], b"<NotificationConfiguration><QueueConfiguration>"),
        s3("PutBucketNotificationConfiguration, unknown queue", "PUT", "/source?notification", &[], b"<NotificationConfiguration><QueueConfiguration><Queue>arn:aws:sqs:us-east-1:000000000000:nope</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>"),
        s3("PutBucketNotificationConfiguration, bad event", "PUT", "/source?notification", &[], b"<NotificationConfiguration><QueueConfiguration><Queue>arn:aws:sqs:us-east-1:000000000000:file-events</Queue><Event>s3:Bogus</Event></QueueConfiguration></NotificationConfiguration>"),
        s3("PutBucketVersioning, broken XML", "PUT", "/source?versioning", &[], b"<VersioningConfiguration><Status>Sideways"),
        s3("PutObjectTagging, broken XML", "PUT", "/source/multi?tagging", &[], b"<Tagging><TagSet><Tag>"),
        // Headers.
        s3("Range, not a number", "GET", "/source/none", &[("range", "bytes=abc-def")], b""),
        s3("Range, huge", "GET", "/source/none", &[("range", "bytes=99999999999999999999999-")], b""),
        s3("CopySource, dot-dot", "PUT", "/source/copy", &[("x-amz-copy-source", "/../../etc/passwd")], b""),
        s3("CopySource, invalid UTF-8", "PUT", "/source/copy", &[("x-amz-copy-source", "source/%FF%FE")], b""),
        s3("CopySource, empty", "PUT", "/source/copy", &[("x-amz-copy-source", "")], b""),
        s3("Content-MD5, garbage", "PUT", "/source/md5", &[("content-md5", "not-base64!!")], b"abc"),
        s3("Content-MD5, wrong", "PUT", "/source/md5", &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")], b"abc"),
        s3("x-amz-meta, huge", "PUT", "/source/meta", &[("x-amz-meta-big", &"m".repeat(4000))], b"abc"),
        s3("storage class, bogus", "PUT", "/source/sc", &[("x-amz-storage-class", "BOGUS")], b"abc"),
        s3("max-keys, negative", "GET", "/source?list-type=2&max-keys=-1", &[], b""),
        s3("max-keys, not a number", "GET", "/source?list-type=2&max-keys=lots", &[], b""),
        s3("partNumber, zero", "PUT", &format!("/source/multi?partNumber=0&uploadId={upload_id}"), &[], b"abc"),
        s3("partNumber, huge", "PUT", &format!("/source/multi?partNumber=99999999999&uploadId={upload_id}"), &[], b"abc"),
        s3("uploadId, hostile", "PUT", "/source/multi?partNumber=1&uploadId=..%2F..%2Fetc", &[], b"abc"),
        // SQS JSON protocol.
        sqs_json("SQS JSON, truncated", "SendMessage", b"{\"QueueUrl\":"),
        sqs_json("SQS JSON, not an object", "SendMessage", b"[]"),
        sqs_json("SQS JSON, null", "SendMessage", b"null"),
        sqs_json("SQS JSON, wrong types", "SendMessage", br#"{"QueueUrl":5,"MessageBody":[]}"#),
        sqs_json("SQS JSON, invalid UTF-8", "SendMessage", b"{\"QueueUrl\":\"\xff\xfe\"}"),
        sqs_json("SQS JSON, deep nesting", "SendMessage", deep_json.as_bytes()),
        sqs_json("SQS JSON, huge number", "ReceiveMessage", format!(r#"{{"QueueUrl":"{queue_url}","MaxNumberOfMessages":1e400}}"#).as_bytes()),
        sqs_json("SQS JSON, negative delay", "SendMessage", &send(r#","DelaySeconds":-1"#)),
        sqs_json("SQS JSON, bad attribute", "SendMessage", &send(r#","MessageAttributes":{"a":{"DataType":"Number","StringValue":"NaN-ish"}}"#)),
        sqs_json("SQS JSON, attribute without type", "SendMessage", &send(r#","MessageAttributes":{"a":{}}"#)),
        sqs_json("SQS JSON, unknown operation", "Bogus", b"{}"),
        sqs_json("SQS JSON, receipt handle garbage", "DeleteMessage", format!(r#"{{"QueueUrl":"{queue_url}","ReceiptHandle":"\u0000../..%FF"}}"#).as_bytes()),
        sqs_json("SQS JSON, queue URL traversal", "GetQueueAttributes", br#"{"QueueUrl":"http://x/000000000000/../../etc"}"#),
        sqs_json("SQS JSON, batch with 10000 entries", "SendMessageBatch", format!(r#"{{"QueueUrl":"{queue_url}","Entries":[{}]}}"#, vec![r#"{"Id":"a","MessageBody":"x"}"#; 10_000].join(",")).as_bytes()),
        // SQS query protocol.
        sqs_form("SQS form, no action", b"Version=2012-11-05"),
        sqs_form("SQS form, bad escapes", b"Action=SendMessage&Version=2012-11-05&QueueUrl=%%%&MessageBody=%G0"),
        sqs_form("SQS form, invalid UTF-8", b"Action=SendMessage&Version=2012-11-05&MessageBody=%FF%FE"),
        sqs_form("SQS form, attribute index overflow", format!("Action=SendMessage&Version=2012-11-05&QueueUrl={queue_url}&MessageBody=x&MessageAttribute.99999999999999999999.Name=a").as_bytes()),
        sqs_form("SQS form, attribute without value", format!("Action=SendMessage&Version=2012-11-05&QueueUrl={queue_url}&MessageBody=x&MessageAttribute.1.Name=a").as_bytes()),
        sqs_form("SQS form, batch entry gaps", format!("Action=SendMessageBatch&Version=2012-11-05&QueueUrl={queue_url}&SendMessageBatchRequestEntry.7.Id=a").as_bytes()),
        sqs_form("SQS form, binary garbage", b"\x00\x01\x02\xff=\xfe&&&=="),
    ];
    let mut refused = 0;
    let mut accepted: Vec<&str> = Vec::new();
    for attack in &attacks {
        let headers: Vec<(&str, &str)> = attack
            .headers
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        let answer = send_signed(
            attack.service,
            &endpoint,
            attack.method,
            &attack.path,
            &headers,
            &attack.body,
        );
        assert_not_server_error(&answer, attack.name);
        if (400..500).contains(&answer.status) {
            assert!(
                !answer.code().is_empty(),
                "{}: no error code: {answer:?}",
                attack.name
            );
            refused += 1;
        } else {
            accepted.push(attack.name);
        }
        assert_healthy(&endpoint, attack.name);
    }
    println!(
        "malformed requests: {} tried, {refused} refused with 4xx, none 5xx; accepted: {accepted:?}",
        attacks.len()
    );
    // Known differences, answered 2xx: eddy's query-protocol translation skips malformed
    // MessageAttribute entries; a batch entry without a body fails in the 200
    // answer's Failed list, as on SQS.
    let tolerated = [
        "SQS form, attribute index overflow",
        "SQS form, attribute without value",
        "SQS form, batch entry gaps",
    ];
    for name in &accepted {
        assert!(
            tolerated.contains(name),
            "{name} must be refused with a 4xx"
        );
    }
}

#[test]
fn malformed_framing_and_auth_headers_get_4xx() {
    let eddy = Eddy::start();
    let endpoint = eddy.endpoint.clone();
    let host = crate::util::raw::authority(&endpoint);
    let mut tried = 0;
    // aws-chunked bodies with broken framing: unsigned trailer style (no chunk
    // signatures to get wrong, so the framing itself is what is judged).
    let framings: Vec<&[u8]> = vec![
        b"zz\r\nabc\r\n0\r\n\r\n",
        b"5\r\nabc\r\n0\r\n\r\n",
        b"3\r\nabc",
        b"ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
        b"3;chunk-signature=\r\nabc\r\n0\r\n\r\n",
        b"\r\n\r\n\r\n",
        b"-1\r\n\r\n",
    ];
    for framing in framings {
        for (content_sha, decoded) in [
            ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "3"),
            ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "3"),
            ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "99999999999999"),
        ] {
            let mut signed = signed_headers(
                Service::S3,
                "PUT",
                &endpoint,
                "/source/chunked",
                &[
                    ("content-encoding", "aws-chunked"),
                    ("x-amz-decoded-content-length", decoded),
                    ("x-amz-content-sha256", content_sha),
                    ("x-amz-trailer", "x-amz-checksum-crc32"),
                ],
                framing,
                true,
            );
            // The signer set x-amz-content-sha256 to UNSIGNED-PAYLOAD; keep the
            // streaming value it signed over instead.
            signed.retain(|(k, v)| !(k == "x-amz-content-sha256" && v == "UNSIGNED-PAYLOAD"));
            let answer = send(&endpoint, "PUT", "/source/chunked", &signed, framing);
            let what = format!(
                "aws-chunked {content_sha} {:?}",
                String::from_utf8_lossy(framing)
            );
            assert_client_error(&answer, &what);
            assert_healthy(&endpoint, &what);
            tried += 1;
        }
    }
    // Broken authentication and framing headers, unsigned.
    let heads = vec![
        format!(
            "PUT /source/x HTTP/1.1\r\nHost: {host}\r\nAuthorization: AWS4-HMAC-SHA256 garbage"
        ),
        format!(
            "PUT /source/x HTTP/1.1\r\nHost: {host}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/99999999/../s3/aws4_request, SignedHeaders=host, Signature=zz"
        ),
        format!(
            "PUT /source/x HTTP/1.1\r\nHost: {host}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=\u{1}, SignedHeaders=, Signature="
        ),
        format!("PUT /source/x HTTP/1.1\r\nHost: {host}\r\nAuthorization: AWS test:abc"),
        format!(
            "PUT /source/x HTTP/1.1\r\nHost: {host}\r\nX-Amz-Date: not-a-date\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
        ),
        format!("PUT /source/x HTTP/1.1\r\nHost: {host}\r\nx-amz-content-sha256: nothex"),
        format!(
            "GET /source/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F2&X-Amz-Date=x&X-Amz-Expires=-1&X-Amz-SignedHeaders=host&X-Amz-Signature=00 HTTP/1.1\r\nHost: {host}"
        ),
        format!(
            "GET /source/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=99999999999999999999 HTTP/1.1\r\nHost: {host}"
        ),
        format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: AmazonSQS.SendMessage\r\nContent-Type: application/x-amz-json-1.0\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sqs/aws4_request,SignedHeaders=,Signature=\u{7f}"
        ),
        format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=00"
        ),
        format!(
            "GET /source HTTP/1.1\r\nHost: {host}\r\nAuthorization: AWS4-HMAC-SHA256 Credential={}/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
            "k".repeat(20_000)
        ),
    ];
    for head in &heads {
        let answer = exchange(&endpoint, head, b"abc");
        let what = head.lines().take(3).collect::<Vec<_>>().join(" | ");
        assert_client_error(&answer, &what);
        assert_healthy(&endpoint, &what);
        tried += 1;
    }
    println!("framing and header attacks: {tried} tried, all refused with 4xx");
}

/// Sends `Content-Length: declared` and streams zeros until the server answers or stops
/// reading; returns the answer and how long it took.
fn oversized(endpoint: &str, head: &str, declared: u64) -> (RawResponse, Duration) {
    use std::io::Write;
    let started = Instant::now();
    let mut stream =
        std::net::TcpStream::connect(crate::util::raw::authority(endpoint)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = stream.write_all(
        format!("{head}\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let chunk = vec![b'<'; 1024 * 1024];
    // At most 64 MiB: a server that buffers the whole declared length never answers.
    for _ in 0..64 {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let answer = crate::util::raw::read_response(&mut stream);
    (answer, started.elapsed())
}

#[test]
fn huge_bodies_are_refused_before_buffering() {
    let eddy = Eddy::start();
    let endpoint = eddy.endpoint.clone();
    let declared: u64 = 1 << 30;
    let targets = [
        (
            "S3 notification XML",
            "PUT",
            "/source?notification",
            Service::S3,
            vec![],
        ),
        (
            "S3 DeleteObjects XML",
            "POST",
            "/source?delete",
            Service::S3,
            vec![],
        ),
        (
            "S3 CompleteMultipartUpload XML",
            "POST",
            "/source/k?uploadId=abc",
            Service::S3,
            vec![],
        ),
        (
            "SQS JSON",
            "POST",
            "/",
            Service::Sqs,
            vec![
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", "AmazonSQS.SendMessage"),
            ],
        ),
        (
            "SQS form",
            "POST",
            "/",
            Service::Sqs,
            vec![("content-type", "application/x-www-form-urlencoded")],
        ),
    ];
    for (what, method, path, service, extra) in targets {
        let signed = signed_headers(
            service,
            method,
            &endpoint,
            path,
            &extra,
            b"",
            service == Service::S3,
        );
        let mut head = format!("{method} {path} HTTP/1.1");
        for (k, v) in &signed {
            head.push_str(&format!("\r\n{k}: {v}"));
        }
        let (answer, took) = oversized(&endpoint, &head, declared);
        println!(
            "{what}: 1 GiB declared -> {} {} in {took:?}",
            answer.status,
            answer.code()
        );
        assert_client_error(&answer, what);
        assert!(took < Duration::from_secs(20), "{what} took {took:?}");
        assert_healthy(&endpoint, what);
    }
}

/// A small seeded generator (xorshift), so a failing framing can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// aws-chunked bodies with random chunk sizes (s3s decodes them; eddy stores the
/// result): well-formed framings store exactly the payload, corrupted ones get a 4xx,
/// none a 5xx.
#[test]
fn random_aws_chunked_framing_never_gets_5xx() {
    let eddy = Eddy::start();
    let endpoint = eddy.endpoint.clone();
    let seed: u64 = std::env::var("EDDY_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe);
    let mut rng = Rng(seed);
    let (mut stored, mut refused) = (0, 0);
    for round in 0..60 {
        let payload: Vec<u8> = (0..rng.below(5000)).map(|_| rng.next() as u8).collect();
        let mut framed = Vec::new();
        let mut rest = &payload[..];
        while !rest.is_empty() {
            let size = (1 + rng.below(2000) as usize).min(rest.len());
            framed.extend_from_slice(format!("{size:x}\r\n").as_bytes());
            framed.extend_from_slice(&rest[..size]);
            framed.extend_from_slice(b"\r\n");
            rest = &rest[size..];
        }
        framed.extend_from_slice(b"0\r\n\r\n");
        let corrupt = round % 2 == 1;
        if corrupt && !framed.is_empty() {
            let at = rng.below(framed.len() as u64) as usize;
            match rng.below(3) {
                0 => framed.truncate(at),
                1 => framed[at] = b"xZ\r\n;"[rng.below(5) as usize],
                _ => framed.insert(at, b'\n'),
            }
        }
        let key = format!("/source/chunked-{round}");
        let decoded = payload.len().to_string();
        let mut signed = signed_headers(
            Service::S3,
            "PUT",
            &endpoint,
            &key,
            &[
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", &decoded),
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                ("x-amz-trailer", "x-amz-checksum-crc32"),
            ],
            &framed,
            true,
        );
        signed.retain(|(k, v)| !(k == "x-amz-content-sha256" && v == "UNSIGNED-PAYLOAD"));
        let answer = send(&endpoint, "PUT", &key, &signed, &framed);
        let what = format!("seed {seed} round {round} (corrupt: {corrupt})");
        assert_not_server_error(&answer, &what);
        if answer.status == 200 && !corrupt {
            let got = send_signed(Service::S3, &endpoint, "GET", &key, &[], b"");
            // The body is read lossily; compare the same way.
            assert!(
                got.body == String::from_utf8_lossy(&payload),
                "{what}: stored bytes differ"
            );
            stored += 1;
        } else if answer.status == 200 {
            // A flipped byte inside a chunk's data is still a valid framing.
            stored += 1;
        } else {
            assert!(
                corrupt,
                "{what}: a well-formed framing was refused: {answer:?}"
            );
            refused += 1;
        }
        assert_healthy(&endpoint, &what);
    }
    println!(
        "random aws-chunked framings: 60 tried, {stored} stored intact, {refused} refused with 4xx"
    );
}

/// PUTs `abc` as an unsigned aws-chunked body whose trailer carries `crc32`, declared in
/// `x-amz-trailer` only (no `x-amz-sdk-checksum-algorithm` header).
fn put_with_crc32_trailer(endpoint: &str, path: &str, crc32: &str) -> RawResponse {
    let framed = format!("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:{crc32}\r\n\r\n");
    let mut signed = signed_headers(
        Service::S3,
        "PUT",
        endpoint,
        path,
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "3"),
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ],
        framed.as_bytes(),
        true,
    );
    signed.retain(|(k, v)| !(k == "x-amz-content-sha256" && v == "UNSIGNED-PAYLOAD"));
    send(endpoint, "PUT", path, &signed, framed.as_bytes())
}

#[test]
fn a_trailing_checksum_is_checked_even_without_the_algorithm_header() {
    let eddy = Eddy::start();
    let endpoint = eddy.endpoint.clone();
    // CRC32 of "abc" is 0x352441c2.
    let right = put_with_crc32_trailer(&endpoint, "/source/trailer-right", "NSRBwg==");
    assert_eq!(right.status, 200, "{right:?}");
    let stored = send_signed(
        Service::S3,
        &endpoint,
        "GET",
        "/source/trailer-right",
        &[],
        b"",
    );
    assert_eq!(stored.body, "abc");
    let wrong = put_with_crc32_trailer(&endpoint, "/source/trailer-wrong", "AAAAAA==");
    assert_eq!(
        (wrong.status, wrong.code().as_str()),
        (400, "BadDigest"),
        "{wrong:?}"
    );
    let missing = send_signed(
        Service::S3,
        &endpoint,
        "HEAD",
        "/source/trailer-wrong",
        &[],
        b"",
    );
    assert_eq!(
        missing.status, 404,
        "a body that failed its checksum is not stored"
    );
}
