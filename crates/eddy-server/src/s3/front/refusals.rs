//! Requests S3 refuses on their face, answered before `s3s` reads them (a presigned
//! URL with a bad expiry, a foreign expected bucket owner), and the connection of an
//! answer that left a request body unread.

use s3s::{S3Error as WireError, S3ErrorCode};

use crate::s3::errors::WithStatus;

/// Answers, before `s3s` sees it, a request S3 refuses on its face: a presigned URL
/// with a bad expiry, or an `x-amz-expected-bucket-owner` (or
/// `x-amz-source-expected-bucket-owner`) that is not this account (403 AccessDenied).
pub(super) fn refuse_early<B>(
    request: &http::Request<B>,
    account_id: &str,
) -> Option<http::Response<s3s::Body>> {
    if let Some(response) = refuse_bad_presigned_expiry(request.uri()) {
        return Some(response);
    }
    let foreign_owner = [
        "x-amz-expected-bucket-owner",
        "x-amz-source-expected-bucket-owner",
    ]
    .iter()
    .filter_map(|name| request.headers().get(*name))
    .any(|owner| owner.as_bytes() != account_id.as_bytes());
    if foreign_owner {
        let error = WireError::with_message(S3ErrorCode::AccessDenied, "Access Denied");
        return error.to_http_response().ok();
    }
    None
}

/// The answer of an injected fault (see [`crate::faults`]), as S3 words it.
pub(super) fn injected_fault(kind: eddy_faults::S3WriteFault) -> Option<http::Response<s3s::Body>> {
    let code = match kind {
        eddy_faults::S3WriteFault::SlowDown => S3ErrorCode::SlowDown,
        eddy_faults::S3WriteFault::InternalError => S3ErrorCode::InternalError,
    };
    WireError::with_message(code, kind.message())
        .to_http_response()
        .ok()
}

/// The longest a SigV4 presigned URL may be valid for: one week.
const MAX_PRESIGNED_EXPIRES_S: i64 = 604_800;

/// Refuses a SigV4 presigned URL whose `X-Amz-Expires` is negative or longer than a
/// week, as S3 does (403 AuthorizationQueryParametersError) before anything else.
fn refuse_bad_presigned_expiry(uri: &http::Uri) -> Option<http::Response<s3s::Body>> {
    let query = uri.query()?;
    let mut presigned = false;
    let mut expires = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "X-Amz-Algorithm" => presigned = true,
            "X-Amz-Expires" => expires = Some(value.into_owned()),
            _ => {}
        }
    }
    let expires = expires.filter(|_| presigned)?;
    let message = match expires.parse::<i64>() {
        Ok(seconds) if (0..=MAX_PRESIGNED_EXPIRES_S).contains(&seconds) => return None,
        Ok(seconds) if seconds > MAX_PRESIGNED_EXPIRES_S => {
            "X-Amz-Expires must be less than a week (in seconds) that is 604800"
        }
        _ => "X-Amz-Expires must be non-negative",
    };
    let error = WireError::with_message(S3ErrorCode::AuthorizationQueryParametersError, message)
        .with_status(http::StatusCode::FORBIDDEN);
    error.to_http_response().ok()
}

/// Whether a request comes with a body (a length above zero, or chunked).
pub(super) fn has_body(headers: &http::HeaderMap) -> bool {
    headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|length| length > 0)
}

/// An error answered before the request body was read leaves the body's bytes on
/// the connection, where they would be read as the start of the next request: such
/// a connection is closed after the answer (clients open a new one).
pub(super) fn close_after_refused_body(response: &mut http::Response<s3s::Body>, has_body: bool) {
    if has_body && response.status().as_u16() >= 300 {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
}
