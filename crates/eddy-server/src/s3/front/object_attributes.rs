//! GetObjectAttributes' `<ETag>`: S3 writes it without the quotes every other answer
//! puts around an ETag (`s3s` always quotes it), so SDKs and tools that compare it
//! with a stored unquoted ETag find them equal, as on S3.

/// Removes the quotes around the `<ETag>` of a successful GetObjectAttributes body.
pub(super) fn unquote_etag(response: &mut http::Response<s3s::Body>, operation: &str) {
    if operation != "GetObjectAttributes" || response.status() != http::StatusCode::OK {
        return;
    }
    let Some(bytes) = response.body().bytes() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return;
    };
    let Some(start) = text.find("<ETag>\"").map(|i| i + "<ETag>".len()) else {
        return;
    };
    let Some(end) = text[start..].find("\"</ETag>").map(|i| start + i) else {
        return;
    };
    let body = format!(
        "{}{}{}",
        &text[..start],
        &text[start + 1..end],
        &text[end + 1..]
    );
    if let Ok(length) = http::HeaderValue::from_str(&body.len().to_string()) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, length);
    }
    *response.body_mut() = s3s::Body::from(body);
}
