//! Helpers of the hostile-input tests: raw HTTP/1.1 exchanges that survive any answer
//! (or none), and SigV4 signing of arbitrary requests for S3 and SQS with the
//! `aws-sigv4` crate.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;

/// What came back for one request: the status (0 when the server closed without an
/// answer) and the body, lossily decoded.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// The `<Code>` of an S3 error, or the `__type`/`Code` of an SQS error.
    pub fn code(&self) -> String {
        if let Some(start) = self.body.find("<Code>") {
            let rest = &self.body[start + 6..];
            return rest[..rest.find("</Code>").unwrap_or(0)].to_owned();
        }
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("__type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_default()
    }
}

/// The `host:port` of an endpoint URL.
pub fn authority(endpoint: &str) -> String {
    endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// Sends `head` (request line and headers, without the blank line) and `body`, then
/// reads the answer until the server closes the connection.
pub fn exchange(endpoint: &str, head: &str, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(authority(endpoint)).expect("connect to eddy");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut bytes = format!("{head}\r\nConnection: close\r\n\r\n").into_bytes();
    bytes.extend_from_slice(body);
    // The server may answer and close before reading everything: that is fine.
    let _ = stream.write_all(&bytes);
    read_answer(&mut stream)
}

/// Reads an HTTP/1.1 answer until EOF (or the read timeout).
pub fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Answer { status, body }
}

/// Signs a request as the `test`/`test` credentials; returns the headers to send
/// (including `host`). `payload` is the value for `x-amz-content-sha256` when set
/// (S3 style), else the body hash is only part of the signature (SQS style).
pub fn signed_headers(
    service: &str,
    method: &str,
    endpoint: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    unsigned_payload: bool,
) -> Vec<(String, String)> {
    let identity = Credentials::new("test", "test", None, None, "hostile-tests").into();
    let mut settings = SigningSettings::default();
    if service == "s3" {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
    }
    // A payload hash given as a header (the streaming kinds) is what gets signed.
    let given_hash = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-content-sha256"))
        .map(|(_, v)| v.to_string());
    if given_hash.is_some() {
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .expect("signing params")
        .into();
    let url = format!("{}{path_and_query}", endpoint.trim_end_matches('/'));
    let host = authority(endpoint);
    let mut all: Vec<(String, String)> = vec![("host".to_owned(), host)];
    all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let signable_body = if let Some(hash) = given_hash {
        SignableBody::Precomputed(hash)
    } else if unsigned_payload {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(body)
    };
    let signable = SignableRequest::new(
        method,
        &url,
        all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        signable_body,
    )
    .expect("signable request");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    for (name, value) in instructions.headers() {
        all.push((name.to_owned(), value.to_owned()));
    }
    all
}

/// A signed request, sent raw: returns the answer.
pub fn send_signed(
    service: &str,
    endpoint: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let signed = signed_headers(
        service,
        method,
        endpoint,
        path_and_query,
        headers,
        body,
        false,
    );
    send_with_headers(endpoint, method, path_and_query, &signed, body)
}

/// Sends a request with exactly these headers (plus Content-Length).
pub fn send_with_headers(
    endpoint: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Answer {
    let mut head = format!(
        "{method} {path_and_query} HTTP/1.1\r\nContent-Length: {}",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("\r\n{name}: {value}"));
    }
    exchange(endpoint, &head, body)
}

/// `GET /_eddy/health` answers 200: the server is up.
pub fn assert_healthy(endpoint: &str, after: &str) {
    let answer = exchange(
        endpoint,
        &format!(
            "GET /_eddy/health HTTP/1.1\r\nHost: {}",
            authority(endpoint)
        ),
        b"",
    );
    assert_eq!(
        answer.status, 200,
        "eddy is not healthy after {after}: {answer:?}"
    );
}
