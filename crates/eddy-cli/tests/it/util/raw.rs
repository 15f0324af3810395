//! Signed raw requests for the hostile-input and memory tests: requests signed as the
//! `test`/`test` credentials by `eddy_testing`'s signer and sent over a plain
//! connection that survives any answer (or none).

pub use eddy_testing::raw::{RawResponse, authority, exchange, read_response, send};
use eddy_testing::sign::{Location, Payload, Service, Signer};

/// Signs a request as the `test`/`test` credentials; returns the headers to send
/// (including `host`). A payload hash given as `x-amz-content-sha256` (the streaming
/// kinds) is what gets signed; else the body's hash, or `UNSIGNED-PAYLOAD`.
pub fn signed_headers(
    service: Service,
    method: &str,
    endpoint: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    unsigned_payload: bool,
) -> Vec<(String, String)> {
    let given_hash = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-content-sha256"))
        .map(|(_, v)| (*v).to_owned());
    let payload = match given_hash {
        Some(hash) => Payload::Precomputed(hash),
        None if unsigned_payload => Payload::Unsigned,
        None => Payload::Bytes(body),
    };
    let url = format!("{}{path_and_query}", endpoint.trim_end_matches('/'));
    let mut all = vec![("host".to_owned(), authority(endpoint))];
    all.extend(
        headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Signer::default()
        .sign_parts(service, method, &url, &all, payload, Location::Headers)
        .expect("sign")
        .headers
}

/// A signed request, sent raw: returns the answer.
pub fn send_signed(
    service: Service,
    endpoint: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let signed = signed_headers(
        service,
        method,
        endpoint,
        path_and_query,
        headers,
        body,
        false,
    );
    send(endpoint, method, path_and_query, &signed, body)
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
