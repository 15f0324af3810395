//! S3 error answers from the handlers: the store's errors as S3 codes (with the
//! headers S3 adds to some), and the errors several operations share. Depends only
//! on `convert`.

use s3s::{S3Error as WireError, S3ErrorCode, s3_error};

use eddy_store::blobs::StageError;
use eddy_store::s3::{ObjectMeta, S3Error};

use super::convert::{format_http_date, timestamp};

/// The S3 answer to an store error. (Both error types are foreign to this crate, so
/// no `From` can join them: handlers write `.map_err(to_wire)`.)
pub(super) fn to_wire(error: S3Error) -> WireError {
    let message = error.to_string();
    let code = match &error {
        S3Error::NoSuchBucket => S3ErrorCode::NoSuchBucket,
        S3Error::NoSuchKey => S3ErrorCode::NoSuchKey,
        S3Error::BucketAlreadyOwnedByYou => S3ErrorCode::BucketAlreadyOwnedByYou,
        S3Error::BucketNotEmpty => S3ErrorCode::BucketNotEmpty,
        // Only copies fail a condition inside the store (the source changed meanwhile).
        S3Error::PreconditionFailed => return precondition_failed("x-amz-copy-source-If-Match"),
        S3Error::NoSuchUpload => S3ErrorCode::NoSuchUpload,
        S3Error::InvalidPart(_) => S3ErrorCode::InvalidPart,
        S3Error::InvalidPartOrder => S3ErrorCode::InvalidPartOrder,
        S3Error::EntityTooSmall => S3ErrorCode::EntityTooSmall,
        S3Error::InvalidArgument(_) => S3ErrorCode::InvalidArgument,
        S3Error::NoSuchVersion => S3ErrorCode::NoSuchVersion,
        S3Error::RestoreNotAllowed => S3ErrorCode::InvalidObjectState,
        S3Error::RestoreAlreadyInProgress => S3ErrorCode::RestoreAlreadyInProgress,
        S3Error::UnvalidatedDestinations(arguments) => {
            return unvalidated_destinations(message, arguments);
        }
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

/// S3's `InvalidArgument` for destinations it could not validate. `s3s` writes only
/// `Code` and `Message`; the numbered `ArgumentName`/`ArgumentValue` elements S3 adds
/// travel in the [`ERROR_ARGUMENTS_HEADER`] to the front, which writes them into the
/// body (`front::error_body`) and drops the header.
fn unvalidated_destinations(message: String, arguments: &[(String, String)]) -> WireError {
    let mut error = WireError::with_message(S3ErrorCode::InvalidArgument, message);
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    for (name, value) in arguments {
        encoded.append_pair(name, value);
    }
    if let Ok(value) = http::HeaderValue::from_str(&encoded.finish()) {
        let mut headers = http::HeaderMap::new();
        headers.insert(ERROR_ARGUMENTS_HEADER, value);
        error.set_headers(headers);
    }
    error
}

/// Carries an error's `ArgumentName`/`ArgumentValue` pairs (form-encoded) from the
/// handler to the front; never sent to the client.
pub(super) const ERROR_ARGUMENTS_HEADER: &str = "x-eddy-error-arguments";

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

/// An XML body that does not describe what the operation needs.
pub(super) fn malformed_xml() -> WireError {
    s3_error!(
        MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema"
    )
}

/// 412 PreconditionFailed naming the header whose condition did not hold
/// (`<Condition>If-Match</Condition>`), as S3 writes it.
pub(super) fn precondition_failed(condition: &str) -> WireError {
    with_elements(
        s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        ),
        &[("Condition", condition)],
    )
}

/// The header that carries the extra elements of an error body (`ArgumentName`,
/// `BucketName`, `Condition`...) from the operation to `front`, which writes them into
/// the body after `<Message>` and drops the header: `s3s` writes only Code and Message.
pub(crate) const ERROR_ELEMENTS_HEADER: &str = "x-eddy-error-elements";

/// Adds elements to an error's body, in this order, as S3 writes them.
pub(super) fn with_elements(mut error: WireError, elements: &[(&str, &str)]) -> WireError {
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    for (name, value) in elements {
        encoded.append_pair(name, value);
    }
    let mut headers = error.headers().cloned().unwrap_or_default();
    if let Ok(value) = http::HeaderValue::from_str(&encoded.finish()) {
        headers.insert(ERROR_ELEMENTS_HEADER, value);
    }
    error.set_headers(headers);
    error
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

/// An error whose code `s3s` does not know, with the status S3 gives it.
pub(super) fn custom_error(
    code: &'static str,
    status: http::StatusCode,
    message: &str,
) -> WireError {
    WireError::with_message(S3ErrorCode::Custom(code.into()), message.to_owned())
        .with_status(status)
}
