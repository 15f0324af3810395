//! A blocking HTTP/1.1 exchange over a plain TCP connection, for the requests no SDK
//! sends: hostile input, protocol edge cases, signatures built by hand. It survives
//! any answer, or none (status 0), and reads until the server closes the connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long a read may wait for the server before the answer is taken as complete.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// What came back for one request.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code; 0 when the server closed without an answer.
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked), lossily decoded as UTF-8.
    pub body: String,
}

impl RawResponse {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text of every `<tag>` element of an XML body, unescaped.
    pub fn all(&self, tag: &str) -> Vec<String> {
        xml_all(&self.body, tag)
    }

    /// The text of the first `<tag>` element of an XML body.
    pub fn first(&self, tag: &str) -> Option<String> {
        self.all(tag).into_iter().next()
    }

    /// The error code: an XML `<Code>`, the name of a body that is one empty element
    /// (SQS's `<UnknownOperationException/>`), or the part of a JSON `__type` after `#`.
    pub fn code(&self) -> String {
        if let Some(code) = self.first("Code") {
            return code;
        }
        if let Some(name) = self
            .body
            .trim()
            .strip_prefix('<')
            .and_then(|rest| rest.strip_suffix("/>"))
            .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return name.to_owned();
        }
        let Some(start) = self.body.find("\"__type\"") else {
            return String::new();
        };
        let rest = &self.body[start + 8..];
        let value = rest
            .split('"')
            .nth(1)
            .unwrap_or_default()
            .rsplit('#')
            .next()
            .unwrap_or_default();
        value.to_owned()
    }
}

/// The text of every `<tag>...</tag>` in `xml`, with XML's escapes undone.
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
        .replace("&#xA;", "\n")
        .replace("&amp;", "&")
}

/// The `host:port` of an endpoint URL.
pub fn authority(endpoint: &str) -> String {
    endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// The socket address to connect to for an endpoint: `*.localhost` names are the
/// loopback address (RFC 6761) even where no resolver knows them.
fn socket_address(endpoint: &str) -> String {
    let authority = authority(endpoint);
    match authority.rsplit_once(':') {
        Some((host, port)) if host.ends_with(".localhost") => format!("127.0.0.1:{port}"),
        _ => authority,
    }
}

/// Sends `head` (request line and headers, without the blank line; `Connection: close`
/// is added) and `body`, then reads the answer until the server closes the connection.
///
/// # Panics
/// When no connection can be opened: the server is not there at all.
pub fn exchange(endpoint: &str, head: &str, body: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(socket_address(endpoint))
        .unwrap_or_else(|e| panic!("cannot connect to {endpoint}: {e}"));
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let mut bytes = format!("{head}\r\nConnection: close\r\n\r\n").into_bytes();
    bytes.extend_from_slice(body);
    // The server may answer and close before reading everything: that is fine.
    let _ = stream.write_all(&bytes);
    read_response(&mut stream)
}

/// Sends a request with exactly these headers (plus `Content-Length`).
pub fn send(
    endpoint: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> RawResponse {
    let mut head = format!(
        "{method} {path_and_query} HTTP/1.1\r\nContent-Length: {}",
        body.len()
    );
    for (name, value) in headers {
        head.push_str("\r\n");
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
    }
    exchange(endpoint, &head, body)
}

/// Reads an HTTP/1.1 answer until EOF (or the read timeout).
pub fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut raw = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
        }
    }
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> RawResponse {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n");
    let (head, body) = match split {
        Some(at) => (&raw[..at], &raw[at + 4..]),
        None => (raw, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    RawResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Undoes chunked transfer encoding; stops at the last chunk or at a malformed one.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        let start = line_end + 2;
        if size == 0 || data.len() < start + size {
            break;
        }
        out.extend_from_slice(&data[start..start + size]);
        data = data.get(start + size + 2..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_chunked_answer_with_headers() {
        let raw = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nx-amzn-query-error: A;Sender\r\n\r\n5\r\n<Code\r\n9\r\n>X</Code>\r\n0\r\n\r\n";
        let response = parse_response(raw);
        assert_eq!(response.status, 400);
        assert_eq!(response.header("X-Amzn-Query-Error"), Some("A;Sender"));
        assert_eq!(response.body, "<Code>X</Code>");
        assert_eq!(response.code(), "X");
    }

    #[test]
    fn no_answer_is_status_zero() {
        let response = parse_response(b"");
        assert_eq!(response.status, 0);
        assert!(response.body.is_empty());
    }

    #[test]
    fn json_error_code_is_after_the_hash() {
        let response = parse_response(
            b"HTTP/1.1 400 Bad Request\r\n\r\n{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\"}",
        );
        assert_eq!(response.code(), "QueueDoesNotExist");
    }
}
