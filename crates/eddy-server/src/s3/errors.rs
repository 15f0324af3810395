//! S3 error answers: request ids in error bodies, requests refused before `s3s` reads
//! them, S3's default messages, and the mapping of store errors onto S3 codes.

use super::*;

/// Adds `<RequestId>` and `<HostId>` to an S3 error body, as S3 writes them (the
/// same ids as the response's `x-amz-request-id` and `x-amz-id-2` headers).
pub fn add_request_ids_to_error(response: &mut http::Response<s3s::Body>, ids: &RequestIds) {
    if response.status().as_u16() < 400 {
        return;
    }
    let Some(bytes) = response.body().bytes() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return;
    };
    if text.contains("<RequestId>") {
        return;
    }
    let Some(end) = text.rfind("</Error>") else {
        return;
    };
    let mut head = text[..end].to_owned();
    // Errors `s3s` raises itself may come without a message; S3 always has one.
    if !head.contains("<Message>")
        && let Some(code_end) = head.find("</Code>").map(|i| i + "</Code>".len())
        && let Some(message) = head[..code_end]
            .rsplit_once("<Code>")
            .and_then(|(_, code)| default_message(code.trim_end_matches("</Code>")))
    {
        head.insert_str(code_end, &format!("<Message>{message}</Message>"));
    }
    let body = format!(
        "{head}<RequestId>{}</RequestId><HostId>{}</HostId>{}",
        ids.request_id,
        ids.host_id,
        &text[end..]
    );
    if let Ok(length) = http::HeaderValue::from_str(&body.len().to_string()) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, length);
    }
    *response.body_mut() = s3s::Body::from(body);
}

/// Answers, before `s3s` sees it, a request S3 refuses on its face: a presigned URL
/// with a bad expiry, or an `x-amz-expected-bucket-owner` (or
/// `x-amz-source-expected-bucket-owner`) that is not this account (403 AccessDenied).
pub fn refuse_early<B>(
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

/// The longest a SigV4 presigned URL may be valid for: one week.
pub(super) const MAX_PRESIGNED_EXPIRES_S: i64 = 604_800;

/// Refuses a SigV4 presigned URL whose `X-Amz-Expires` is negative or longer than a
/// week, as S3 does (403 AuthorizationQueryParametersError) before anything else.
pub(super) fn refuse_bad_presigned_expiry(uri: &http::Uri) -> Option<http::Response<s3s::Body>> {
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
pub fn has_body(headers: &http::HeaderMap) -> bool {
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
pub fn close_after_refused_body(response: &mut http::Response<s3s::Body>, has_body: bool) {
    if has_body && response.status().as_u16() >= 300 {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
}

/// S3's message for an error code, for errors that arrive without one.
pub(super) fn default_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "InvalidBucketName" => "The specified bucket is not valid.",
        "AccessDenied" => "Access Denied",
        "SignatureDoesNotMatch" => {
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        }
        "InvalidAccessKeyId" => "The AWS Access Key Id you provided does not exist in our records.",
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "MalformedXML" => {
            "The XML you provided was not well-formed or did not validate against our published schema"
        }
        "NotImplemented" => "A header you provided implies functionality that is not implemented",
        "RequestTimeTooSkewed" => {
            "The difference between the request time and the current time is too large."
        }
        "InvalidRequest" => "Invalid Request",
        "PreconditionFailed" => "At least one of the pre-conditions you specified did not hold",
        "InvalidArgument" => "Invalid Argument",
        "MissingContentLength" => "You must provide the Content-Length HTTP header.",
        "EntityTooLarge" => "Your proposed upload exceeds the maximum allowed object size.",
        _ => return None,
    })
}

pub(super) fn to_wire(error: S3Error) -> WireError {
    let message = error.to_string();
    let code = match &error {
        S3Error::NoSuchBucket => S3ErrorCode::NoSuchBucket,
        S3Error::NoSuchKey => S3ErrorCode::NoSuchKey,
        S3Error::BucketAlreadyOwnedByYou => S3ErrorCode::BucketAlreadyOwnedByYou,
        S3Error::BucketNotEmpty => S3ErrorCode::BucketNotEmpty,
        S3Error::PreconditionFailed => S3ErrorCode::PreconditionFailed,
        S3Error::NoSuchUpload => S3ErrorCode::NoSuchUpload,
        S3Error::InvalidPart(_) => S3ErrorCode::InvalidPart,
        S3Error::InvalidPartOrder => S3ErrorCode::InvalidPartOrder,
        S3Error::EntityTooSmall => S3ErrorCode::EntityTooSmall,
        S3Error::InvalidArgument(_) => S3ErrorCode::InvalidArgument,
        S3Error::NoSuchVersion => S3ErrorCode::NoSuchVersion,
        S3Error::DeleteMarker {
            version_id,
            last_modified_ms,
            requested,
        } => return delete_marker_error(message, version_id, *last_modified_ms, *requested),
        S3Error::Store(store) if store.is_disk_full() => {
            // S3's "try again" error: SDKs retry it, and nothing was stored.
            return WireError::with_message(
                S3ErrorCode::ServiceUnavailable,
                "Not enough space on the data directory to store the object; nothing was stored. Please try again when space is freed.".to_owned(),
            )
            .with_status(http::StatusCode::SERVICE_UNAVAILABLE);
        }
        S3Error::Store(_) => S3ErrorCode::InternalError,
    };
    if code == S3ErrorCode::InternalError {
        tracing::error!(error = %eddy_store::error::report(&error), "S3 request failed inside the store");
    }
    WireError::with_message(code, message)
}

/// The answer to a read that hit a delete marker: 404 NoSuchKey for the latest
/// version, 405 MethodNotAllowed for the marker's own version id; both say
/// `x-amz-delete-marker: true`.
pub(super) fn delete_marker_error(
    message: String,
    version_id: &str,
    last_modified_ms: u64,
    requested: bool,
) -> WireError {
    let mut error = if requested {
        WireError::with_message(S3ErrorCode::MethodNotAllowed, message)
            .with_status(http::StatusCode::METHOD_NOT_ALLOWED)
    } else {
        WireError::with_message(S3ErrorCode::NoSuchKey, message)
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-amz-delete-marker",
        http::HeaderValue::from_static("true"),
    );
    if let Ok(value) = http::HeaderValue::from_str(version_id) {
        headers.insert("x-amz-version-id", value);
    }
    if requested
        && let Some(date) = format_http_date(&timestamp(last_modified_ms))
        && let Ok(value) = http::HeaderValue::from_str(&date)
    {
        headers.insert(http::header::LAST_MODIFIED, value);
    }
    error.set_headers(headers);
    error
}

/// Buckets have Object Ownership "bucket owner enforced" (S3's default): ACLs other
/// than the owner's own are refused.
pub(super) fn acls_not_supported() -> WireError {
    s3_error!(
        AccessControlListNotSupported,
        "The bucket does not allow ACLs"
    )
}

/// 304 Not Modified, with the ETag and Last-Modified S3 sends along.
pub(super) fn not_modified(meta: &ObjectMeta) -> WireError {
    let mut error = s3_error!(NotModified, "Not Modified");
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(&format!("\"{}\"", meta.etag)) {
        headers.insert(http::header::ETAG, value);
    }
    if let Some(date) = format_http_date(&timestamp(meta.last_modified_ms))
        && let Ok(value) = http::HeaderValue::from_str(&date)
    {
        headers.insert(http::header::LAST_MODIFIED, value);
    }
    error.set_headers(headers);
    error
}

pub(super) fn precondition_failed() -> WireError {
    s3_error!(
        PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold"
    )
}

pub(super) trait WithStatus {
    fn with_status(self, status: http::StatusCode) -> Self;
}

impl WithStatus for WireError {
    fn with_status(mut self, status: http::StatusCode) -> Self {
        self.set_status_code(status);
        self
    }
}

pub(super) fn stage_error(error: StageError) -> WireError {
    match error {
        // The body failed the payload hash or a chunk signature it was signed with.
        StageError::Body(message) if message.contains("Sha256Mismatch") => WireError::with_message(
            S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            "The provided 'x-amz-content-sha256' header does not match what was computed."
                .to_owned(),
        )
        .with_status(http::StatusCode::BAD_REQUEST),
        StageError::Body(message) if message.contains("Signature") => WireError::with_message(
            S3ErrorCode::SignatureDoesNotMatch,
            format!("A chunk signature does not match: {message}"),
        ),
        StageError::Body(message) => WireError::with_message(S3ErrorCode::IncompleteBody, message),
        StageError::TooLarge { .. } => s3_error!(
            EntityTooLarge,
            "Your proposed upload exceeds the maximum allowed object size."
        ),
        StageError::Store(store) => to_wire(S3Error::Store(store)),
    }
}
