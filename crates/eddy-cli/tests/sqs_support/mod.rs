//! Helpers of the SQS tests: SigV4-signed query-protocol requests (form bodies signed
//! with the `aws-sigv4` crate, sent over a plain HTTP/1.1 connection) and small XML
//! readers for their answers.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text of every `<tag>` element, in document order.
    pub fn all(&self, tag: &str) -> Vec<String> {
        xml_all(&self.body, tag)
    }

    /// The text of the first `<tag>` element.
    pub fn first(&self, tag: &str) -> Option<String> {
        self.all(tag).into_iter().next()
    }
}

/// The contents of every `<tag>...</tag>` in `xml`, entities decoded.
pub fn xml_all(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#xD;", "\r")
        .replace("&amp;", "&")
}

/// Sends a raw HTTP/1.1 request and reads the whole response.
pub fn send_raw(
    endpoint: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> RawResponse {
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/');
    // `*.localhost` names are the loopback address (RFC 6761) even where no resolver
    // knows them.
    let address = match authority.rsplit_once(':') {
        Some((host, port)) if host.ends_with(".localhost") => format!("127.0.0.1:{port}"),
        _ => authority.to_owned(),
    };
    let mut stream = TcpStream::connect(address).expect("connect to eddy");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut request = format!(
        "{method} {path_and_query} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).expect("write request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    RawResponse {
        status,
        headers,
        body: String::from_utf8(body).expect("utf-8 body"),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 4 + size..];
    }
    out
}

/// A query-protocol client signing like an AWS SDK.
pub struct QueryClient {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl QueryClient {
    pub fn new(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            access_key: "test".into(),
            secret_key: "test".into(),
            region: "us-east-1".into(),
        }
    }

    fn host(&self) -> String {
        self.endpoint.trim_start_matches("http://").to_owned()
    }

    /// POSTs a signed form `Action=...&Version=2012-11-05&<params>` to `path`.
    pub fn post(&self, path: &str, action: &str, params: &[(&str, &str)]) -> RawResponse {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action);
        form.append_pair("Version", "2012-11-05");
        for (k, v) in params {
            form.append_pair(k, v);
        }
        let body = form.finish();
        self.post_body(path, body.as_bytes())
    }

    /// POSTs a signed form body as it is.
    pub fn post_body(&self, path: &str, body: &[u8]) -> RawResponse {
        let url = format!("{}{path}", self.endpoint);
        let headers = vec![
            ("host".to_owned(), self.host()),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
        ];
        let signed = self.sign_headers("POST", &url, &headers, body, SignatureLocation::Headers);
        send_raw(&self.endpoint, "POST", path, &signed.0, body)
    }

    /// GETs `path?Action=...&<params>`, signed in headers, or presigned in the query.
    pub fn get(
        &self,
        path: &str,
        action: &str,
        params: &[(&str, &str)],
        presigned: bool,
    ) -> RawResponse {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("Action", action);
        query.append_pair("Version", "2012-11-05");
        for (k, v) in params {
            query.append_pair(k, v);
        }
        let query = query.finish().replace('+', "%20");
        let url = format!("{}{path}?{query}", self.endpoint);
        let headers = vec![("host".to_owned(), self.host())];
        let location = if presigned {
            SignatureLocation::QueryParams
        } else {
            SignatureLocation::Headers
        };
        let (headers, url) = self.sign_headers("GET", &url, &headers, b"", location);
        let path_and_query = url.trim_start_matches(&self.endpoint).to_owned();
        send_raw(&self.endpoint, "GET", &path_and_query, &headers, b"")
    }

    /// Signs a request; returns the headers to send and the (maybe presigned) URL.
    pub fn sign_headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
        location: SignatureLocation,
    ) -> (Vec<(String, String)>, String) {
        let identity =
            Credentials::new(&self.access_key, &self.secret_key, None, None, "tests").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = location;
        if location == SignatureLocation::QueryParams {
            settings.expires_in = Some(Duration::from_secs(300));
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("sqs")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .expect("signing params")
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .expect("signable request");
        let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
        let mut request = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let mut request = request.body(()).expect("request");
        instructions.apply_to_request_http1x(&mut request);
        let out_headers = request
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().expect("ascii header").to_owned(),
                )
            })
            .collect();
        (out_headers, request.uri().to_string())
    }
}
