//! S3 over the engine, through the `s3s` crate: `s3s` parses requests, verifies SigV4
//! and decodes aws-chunked bodies; this module checks digests against the bytes, maps
//! each operation onto the engine, and shapes the answers as S3 does.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use s3s::dto::*;
use s3s::{S3, S3Error as WireError, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use eddy_engine::Engine;
use eddy_engine::blobs::{Placement, StageError, StagedBlob};
use eddy_engine::notify::{self, ChangeContext, QueueNotification};
use eddy_engine::objects::{ListQuery, ObjectAttrs, ObjectMeta, S3Error};
use eddy_engine::versions::VersionQuery;

use crate::RequestIds;

/// The largest single PUT S3 accepts (5 GiB).
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// The largest key S3 accepts, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;

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
fn default_message(code: &str) -> Option<&'static str> {
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

/// The S3 service of eddy.
#[derive(Clone)]
pub struct EddyS3 {
    engine: Engine,
}

impl EddyS3 {
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

fn to_wire(error: S3Error) -> WireError {
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
        S3Error::Store(eddy_engine::error::StoreError::DiskFull) => {
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
        tracing::error!(%message, "S3 request failed inside the store");
    }
    WireError::with_message(code, message)
}

/// The answer to a read that hit a delete marker: 404 NoSuchKey for the latest
/// version, 405 MethodNotAllowed for the marker's own version id; both say
/// `x-amz-delete-marker: true`.
fn delete_marker_error(
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

/// The most tags an object may carry, and a bucket.
const MAX_OBJECT_TAGS: usize = 10;
const MAX_BUCKET_TAGS: usize = 50;

/// Checks a tag set as S3 does (key 1..=128 characters, value up to 256, keys
/// unique, at most `limit` tags).
fn check_tags(
    pairs: impl IntoIterator<Item = (String, String)>,
    limit: usize,
) -> S3Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    for (key, value) in pairs {
        if key.is_empty() || key.chars().count() > 128 {
            return Err(s3_error!(
                InvalidTag,
                "The TagKey you have provided is invalid"
            ));
        }
        if value.chars().count() > 256 {
            return Err(s3_error!(
                InvalidTag,
                "The TagValue you have provided is invalid"
            ));
        }
        if tags.insert(key, value).is_some() {
            return Err(s3_error!(
                InvalidTag,
                "Cannot provide multiple Tags with the same key"
            ));
        }
    }
    if tags.len() > limit {
        return Err(s3_error!(
            InvalidTag,
            "Object tags cannot be greater than {}",
            limit
        ));
    }
    Ok(tags)
}

/// Tags from an `x-amz-tagging` header (`k1=v1&k2=v2`).
fn tags_from_header(header: Option<&String>) -> S3Result<BTreeMap<String, String>> {
    let Some(header) = header else {
        return Ok(BTreeMap::new());
    };
    check_tags(
        form_urlencoded::parse(header.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
        MAX_OBJECT_TAGS,
    )
}

fn tags_from_set(tagging: Tagging, limit: usize) -> S3Result<BTreeMap<String, String>> {
    check_tags(
        tagging
            .tag_set
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default())),
        limit,
    )
}

fn tag_set(tags: &BTreeMap<String, String>) -> TagSet {
    tags.iter()
        .map(|(k, v)| Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

/// The `x-amz-version-id` to report for an object: its id, or `null` when the null
/// version was asked for by name; nothing for objects of never-versioned buckets.
fn reported_version(meta: &ObjectMeta, requested: Option<&str>) -> Option<String> {
    meta.version_id
        .clone()
        .or_else(|| requested.map(str::to_owned))
}

/// User metadata with ASCII values, for `s3s` to write as `x-amz-meta-*` headers.
fn ascii_metadata(attrs: &ObjectAttrs) -> Option<Metadata> {
    let ascii: Metadata = attrs
        .metadata
        .iter()
        .filter(|(_, v)| v.is_ascii())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!ascii.is_empty()).then_some(ascii)
}

/// User metadata with non-ASCII values, returned as the bytes they came in (S3 does
/// not MIME-encode them): header bytes are read as Latin-1, so a value that fits
/// Latin-1 goes back as Latin-1, any other as UTF-8.
fn raw_metadata_headers(attrs: &ObjectAttrs) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for (name, value) in attrs.metadata.iter().filter(|(_, v)| !v.is_ascii()) {
        let latin1: Option<Vec<u8>> = value.chars().map(|c| u8::try_from(c).ok()).collect();
        let bytes = latin1.unwrap_or_else(|| value.as_bytes().to_vec());
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(format!("x-amz-meta-{name}").as_bytes()),
            http::HeaderValue::from_bytes(&bytes),
        ) {
            headers.insert(name, value);
        }
    }
    headers
}

/// The Content-Encoding to keep: `aws-chunked` describes the upload, not the object.
fn stored_content_encoding(value: Option<&str>) -> Option<String> {
    let kept: Vec<&str> = value?
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// The `x-amz-tagging-count` of an object (absent without tags).
fn tag_count(meta: &ObjectMeta) -> Option<i32> {
    (!meta.attrs.tags.is_empty()).then_some(meta.attrs.tags.len() as i32)
}

/// Buckets have Object Ownership "bucket owner enforced" (S3's default): ACLs other
/// than the owner's own are refused.
fn acls_not_supported() -> WireError {
    s3_error!(
        AccessControlListNotSupported,
        "The bucket does not allow ACLs"
    )
}

/// 304 Not Modified, with the ETag and Last-Modified S3 sends along.
fn not_modified(meta: &ObjectMeta) -> WireError {
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

fn precondition_failed() -> WireError {
    s3_error!(
        PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold"
    )
}

trait WithStatus {
    fn with_status(self, status: http::StatusCode) -> Self;
}

impl WithStatus for WireError {
    fn with_status(mut self, status: http::StatusCode) -> Self {
        self.set_status_code(status);
        self
    }
}

fn stage_error(error: StageError) -> WireError {
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

fn context<T>(req: &S3Request<T>) -> ChangeContext {
    let ids = req
        .extensions
        .get::<RequestIds>()
        .cloned()
        .unwrap_or_else(RequestIds::generate);
    ChangeContext {
        request_id: ids.request_id,
        host_id: ids.host_id,
        source_ip: ids.source_ip,
    }
}

fn check_key(key: &str) -> S3Result<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(s3_error!(KeyTooLongError, "Your key is too long"));
    }
    if key.is_empty() {
        return Err(s3_error!(InvalidArgument, "The key must not be empty"));
    }
    Ok(())
}

fn timestamp(ms: u64) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_millis(ms))
}

fn timestamp_ms(ts: &Timestamp) -> u64 {
    let dt: time::OffsetDateTime = ts.clone().into();
    (dt.unix_timestamp_nanos() / 1_000_000).max(0) as u64
}

fn etag(meta: &ObjectMeta) -> ETag {
    ETag::Strong(meta.etag.clone())
}

/// What a request says about the trailer after its aws-chunked body: the checksum it
/// declared in `x-amz-trailer`, and a handle to the trailing headers, which hold values
/// only once the body has been read to its end.
#[derive(Default)]
struct Trailer {
    declared: Option<http::HeaderValue>,
    handle: Option<s3s::TrailingHeaders>,
}

impl Trailer {
    fn of<T>(req: &S3Request<T>) -> Self {
        Self {
            declared: req.headers.get("x-amz-trailer").cloned(),
            handle: req.trailing_headers.clone(),
        }
    }

    /// The trailing headers; call after the body has been read.
    fn values(&self) -> Option<http::HeaderMap> {
        self.handle.as_ref().and_then(|handle| handle.take())
    }
}

/// Checksum algorithms by name, with the header (or trailer) that carries each.
const TRAILER_HEADERS: [(&str, &str); 5] = [
    ("CRC32", "x-amz-checksum-crc32"),
    ("CRC32C", "x-amz-checksum-crc32c"),
    ("SHA1", "x-amz-checksum-sha1"),
    ("SHA256", "x-amz-checksum-sha256"),
    ("CRC64NVME", "x-amz-checksum-crc64nvme"),
];

/// The checksums a request asks to be checked, by algorithm name.
struct ChecksumRequest {
    hasher: s3s::checksum::ChecksumHasher,
    expected: BTreeMap<&'static str, String>,
}

impl ChecksumRequest {
    /// `algorithm` is `x-amz-sdk-checksum-algorithm`, `given` the checksum headers, and
    /// `declared_trailer` the `x-amz-trailer` header naming a checksum that follows the body.
    fn new(
        algorithm: Option<&ChecksumAlgorithm>,
        given: [(&'static str, Option<&String>); 5],
        declared_trailer: Option<&http::HeaderValue>,
    ) -> S3Result<Self> {
        let mut hasher = s3s::checksum::ChecksumHasher::default();
        let mut expected = BTreeMap::new();
        let enable = |name: &str, hasher: &mut s3s::checksum::ChecksumHasher| match name {
            "CRC32" => hasher.crc32 = Some(Default::default()),
            "CRC32C" => hasher.crc32c = Some(Default::default()),
            "SHA1" => hasher.sha1 = Some(Default::default()),
            "SHA256" => hasher.sha256 = Some(Default::default()),
            "CRC64NVME" => hasher.crc64nvme = Some(Default::default()),
            _ => {}
        };
        if let Some(algorithm) = algorithm {
            let name = algorithm.as_str().to_ascii_uppercase();
            if !["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"].contains(&name.as_str()) {
                return Err(s3_error!(
                    InvalidRequest,
                    "Value for x-amz-checksum-algorithm header is invalid."
                ));
            }
            enable(&name, &mut hasher);
        }
        if let Some(trailer) = declared_trailer {
            let trailer = trailer
                .to_str()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            match TRAILER_HEADERS
                .iter()
                .find(|(_, header)| *header == trailer)
            {
                Some((name, _)) => enable(name, &mut hasher),
                None => {
                    return Err(s3_error!(
                        InvalidRequest,
                        "The value specified in the x-amz-trailer header is not supported"
                    ));
                }
            }
        }
        for (name, value) in given {
            if let Some(value) = value {
                enable(name, &mut hasher);
                expected.insert(name, value.clone());
            }
        }
        Ok(Self { hasher, expected })
    }

    /// Compares the computed checksums with the header or trailer values; returns the
    /// checksums to store.
    fn finish(self, trailers: Option<http::HeaderMap>) -> S3Result<BTreeMap<String, String>> {
        let mut expected = self.expected;
        if let Some(trailers) = trailers {
            for (name, header) in TRAILER_HEADERS {
                if let Some(value) = trailers.get(header) {
                    let value = value
                        .to_str()
                        .map_err(|_| s3_error!(InvalidArgument, "invalid checksum trailer"))?;
                    expected.insert(name, value.to_owned());
                }
            }
        }
        let computed = self.hasher.finalize();
        let computed_names: Vec<&str> = [
            ("CRC32", computed.checksum_crc32.is_some()),
            ("CRC32C", computed.checksum_crc32c.is_some()),
            ("SHA1", computed.checksum_sha1.is_some()),
            ("SHA256", computed.checksum_sha256.is_some()),
            ("CRC64NVME", computed.checksum_crc64nvme.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect();
        // A checksum that arrived in a trailer nobody declared was not computed; S3 does
        // not store a checksum it could not check, and neither does eddy.
        if let Some(name) = expected.keys().find(|name| !computed_names.contains(name)) {
            return Err(s3_error!(
                InvalidRequest,
                "The {} trailer was sent without being declared in x-amz-trailer.",
                name
            ));
        }
        let mut stored = BTreeMap::new();
        for (name, value) in [
            ("CRC32", computed.checksum_crc32),
            ("CRC32C", computed.checksum_crc32c),
            ("SHA1", computed.checksum_sha1),
            ("SHA256", computed.checksum_sha256),
            ("CRC64NVME", computed.checksum_crc64nvme),
        ] {
            let Some(value) = value else { continue };
            if let Some(want) = expected.get(name)
                && *want != value
            {
                return Err(s3_error!(
                    BadDigest,
                    "The {} you specified did not match the calculated checksum.",
                    name
                ));
            }
            stored.insert(name.to_owned(), value);
        }
        Ok(stored)
    }
}

/// Streams a request body to the staging area while hashing it.
async fn stage_body<S>(
    engine: &Engine,
    body: S,
    checksums: &mut ChecksumRequest,
    limit: u64,
    placement: Placement,
) -> S3Result<StagedBlob>
where
    S: Stream<Item = Result<Bytes, s3s::StdError>> + Unpin,
{
    let hasher = &mut checksums.hasher;
    let stream = body.inspect_ok(|chunk| hasher.update(chunk));
    engine
        .blobs()
        .stage(stream, limit, placement)
        .await
        .map_err(stage_error)
}

fn check_content_md5(content_md5: Option<&String>, staged: &StagedBlob) -> S3Result<()> {
    use base64::Engine as _;
    let Some(given) = content_md5 else {
        return Ok(());
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(given)
        .map_err(|_| s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."))?;
    if decoded.as_slice() != staged.md5.as_slice() {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    Ok(())
}

/// S3 limits user-defined metadata to 2 KB: the UTF-8 bytes of every key and value.
pub const MAX_USER_METADATA_BYTES: usize = 2048;

fn lowercase_metadata(metadata: Option<Metadata>) -> S3Result<BTreeMap<String, String>> {
    let metadata: BTreeMap<String, String> = metadata
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let size: usize = metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_USER_METADATA_BYTES {
        return Err(s3_error!(
            MetadataTooLarge,
            "Your metadata headers exceed the maximum allowed metadata size."
        ));
    }
    Ok(metadata)
}

fn format_http_date(ts: &Timestamp) -> Option<String> {
    let mut out = Vec::new();
    ts.format(TimestampFormat::HttpDate, &mut out).ok()?;
    String::from_utf8(out).ok()
}

fn parse_http_date(value: &str) -> Option<Timestamp> {
    Timestamp::parse(TimestampFormat::HttpDate, value).ok()
}

/// Evaluates If-Match / If-None-Match / If-(Un)Modified-Since against an object, with
/// S3's precedence rules.
fn check_conditions(
    meta: &ObjectMeta,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let current = etag(meta);
    // Compare at second resolution, as HTTP dates carry no more.
    let modified_s = meta.last_modified_ms / 1000;
    if let Some(condition) = if_match {
        let ok = match condition {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => e.value() == current.value(),
        };
        if !ok {
            return Err(precondition_failed());
        }
    } else if let Some(since) = if_unmodified_since
        && modified_s > timestamp_ms(since) / 1000
    {
        return Err(precondition_failed());
    }
    if let Some(condition) = if_none_match {
        let matched = match condition {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => e.value() == current.value(),
        };
        if matched {
            return Err(not_modified(meta));
        }
    } else if let Some(since) = if_modified_since
        && modified_s <= timestamp_ms(since) / 1000
    {
        return Err(not_modified(meta));
    }
    Ok(())
}

fn checksum_fields(meta: &ObjectMeta, enabled: bool) -> [Option<String>; 5] {
    if !enabled {
        return Default::default();
    }
    let get = |name: &str| meta.attrs.checksums.get(name).cloned();
    [
        get("CRC32"),
        get("CRC32C"),
        get("SHA1"),
        get("SHA256"),
        get("CRC64NVME"),
    ]
}

/// The `x-amz-storage-class` of GET and HEAD: absent for STANDARD, as in S3.
fn storage_class(attrs: &ObjectAttrs) -> Option<StorageClass> {
    attrs
        .storage_class
        .clone()
        .filter(|c| c != "STANDARD")
        .map(StorageClass::from)
}

/// The storage classes S3 accepts on a write.
const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
    "FSX_OPENZFS",
];

/// Checks a requested storage class; eddy keeps every class on the same disk and
/// reports the class it was given.
fn checked_storage_class(class: Option<&StorageClass>) -> S3Result<Option<String>> {
    let Some(class) = class else {
        return Ok(None);
    };
    if !STORAGE_CLASSES.contains(&class.as_str()) {
        return Err(s3_error!(
            InvalidStorageClass,
            "The storage class you specified is not valid"
        ));
    }
    Ok(Some(class.as_str().to_owned()))
}

/// Whether reading an object's bytes needs a restore first (archive classes).
fn archived(meta: &ObjectMeta) -> bool {
    matches!(
        meta.attrs.storage_class.as_deref(),
        Some("GLACIER" | "DEEP_ARCHIVE")
    )
}

/// The bytes GetObject/HeadObject serve for `partNumber`: (start, length, and the
/// part count of a multipart object).
fn part_range(meta: &ObjectMeta, part_number: i32) -> S3Result<(u64, u64, Option<i32>)> {
    let sizes = if meta.attrs.part_sizes.is_empty() {
        vec![meta.size]
    } else {
        meta.attrs.part_sizes.clone()
    };
    let index = usize::try_from(part_number)
        .ok()
        .filter(|n| (1..=sizes.len()).contains(n))
        // S3 answers a part the object does not have with 400 InvalidPart.
        .ok_or_else(|| s3_error!(InvalidPart, "The requested partnumber is not satisfiable"))?;
    let start = sizes[..index - 1].iter().sum();
    let count = (!meta.attrs.part_sizes.is_empty()).then_some(sizes.len() as i32);
    Ok((start, sizes[index - 1], count))
}

/// The byte window of a GET: the whole object, a Range, or a part.
struct Window {
    start: u64,
    length: u64,
    content_range: Option<String>,
    parts_count: Option<i32>,
}

fn window(meta: &ObjectMeta, range: Option<&Range>, part_number: Option<i32>) -> S3Result<Window> {
    let content_range = |start: u64, length: u64| {
        (length > 0).then(|| format!("bytes {}-{}/{}", start, start + length - 1, meta.size))
    };
    match (range, part_number) {
        (Some(_), Some(_)) => Err(s3_error!(
            InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter"
        )),
        (None, Some(number)) => {
            let (start, length, parts_count) = part_range(meta, number)?;
            Ok(Window {
                start,
                length,
                content_range: content_range(start, length),
                parts_count,
            })
        }
        (Some(range), None) => {
            let r = range
                .check(meta.size)
                .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?;
            Ok(Window {
                start: r.start,
                length: r.end - r.start,
                content_range: content_range(r.start, r.end - r.start),
                parts_count: None,
            })
        }
        (None, None) => Ok(Window {
            start: 0,
            length: meta.size,
            content_range: None,
            parts_count: (!meta.attrs.part_sizes.is_empty())
                .then_some(meta.attrs.part_sizes.len() as i32),
        }),
    }
}

fn validate_notifications(
    configuration: &NotificationConfiguration,
) -> S3Result<Vec<QueueNotification>> {
    if configuration
        .topic_configurations
        .as_ref()
        .is_some_and(|t| !t.is_empty())
        || configuration
            .lambda_function_configurations
            .as_ref()
            .is_some_and(|l| !l.is_empty())
    {
        return Err(s3_error!(
            InvalidArgument,
            "eddy delivers bucket notifications to SQS queues only (QueueConfigurations)."
        ));
    }
    let mut configs = Vec::new();
    for (i, queue) in configuration
        .queue_configurations
        .iter()
        .flatten()
        .enumerate()
    {
        let events: Vec<String> = queue.events.iter().map(|e| e.as_ref().to_owned()).collect();
        if events.is_empty() {
            return Err(s3_error!(
                InvalidArgument,
                "A QueueConfiguration needs at least one event."
            ));
        }
        for event in &events {
            if !notify::is_known_event_type(event) {
                return Err(s3_error!(
                    InvalidArgument,
                    "The event is not supported for notifications: {}",
                    event
                ));
            }
        }
        let mut prefix = None;
        let mut suffix = None;
        for rule in queue
            .filter
            .as_ref()
            .and_then(|f| f.key.as_ref())
            .and_then(|k| k.filter_rules.as_ref())
            .into_iter()
            .flatten()
        {
            let name = rule
                .name
                .as_ref()
                .map(|n| n.as_str().to_ascii_lowercase())
                .unwrap_or_default();
            let value = rule.value.clone().unwrap_or_default();
            if value.len() > 1024 {
                return Err(s3_error!(
                    InvalidArgument,
                    "The filter rule value is longer than 1024 characters."
                ));
            }
            let slot = match name.as_str() {
                "prefix" => &mut prefix,
                "suffix" => &mut suffix,
                _ => {
                    return Err(s3_error!(
                        InvalidArgument,
                        "filter rule name must be either prefix or suffix"
                    ));
                }
            };
            if slot.is_some() {
                return Err(s3_error!(
                    InvalidArgument,
                    "Cannot specify more than one {} rule in a filter.",
                    name
                ));
            }
            *slot = Some(value);
        }
        let config = QueueNotification {
            id: queue
                .id
                .clone()
                .unwrap_or_else(|| format!("eddy-notification-{}", i + 1)),
            queue_arn: queue.queue_arn.clone(),
            events,
            prefix,
            suffix,
        };
        if let Some(existing) = configs.iter().find(|c| notify::overlaps(c, &config)) {
            let _: &QueueNotification = existing;
            return Err(s3_error!(
                InvalidArgument,
                "Configurations overlap. Configurations on the same bucket cannot share a common event type."
            ));
        }
        configs.push(config);
    }
    Ok(configs)
}

fn valid_bucket_name(name: &str) -> bool {
    let len_ok = (3..=63).contains(&name.len());
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let not_ip = name.parse::<std::net::Ipv4Addr>().is_err();
    len_ok && chars_ok && ends_ok && not_ip && !name.contains("..") && !name.starts_with("xn--")
}

impl EddyS3 {
    /// The owner S3 reports for everything in this account.
    fn owner(&self) -> Owner {
        Owner {
            display_name: Some("eddy".to_owned()),
            id: Some(self.engine.settings().account_id.clone()),
        }
    }

    async fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        self.engine.get_bucket(bucket).await.map_err(to_wire)?;
        Ok(())
    }

    /// The one grant of every bucket and object: the owner's FULL_CONTROL.
    fn owner_grants(&self) -> Grants {
        let owner = self.owner();
        vec![Grant {
            grantee: Some(Grantee {
                display_name: owner.display_name,
                id: owner.id,
                type_: Type::from(Type::CANONICAL_USER.to_owned()),
                email_address: None,
                uri: None,
            }),
            permission: Some(Permission::from(Permission::FULL_CONTROL.to_owned())),
        }]
    }

    /// Conditional writes (PutObject, CompleteMultipartUpload): `If-None-Match` fails
    /// when the current object matches (`*`: when there is one), `If-Match` when it
    /// does not (a missing object is NoSuchKey).
    async fn check_write_conditions(
        &self,
        bucket: &str,
        key: &str,
        if_match: Option<&ETagCondition>,
        if_none_match: Option<&ETagCondition>,
    ) -> S3Result<()> {
        if if_match.is_none() && if_none_match.is_none() {
            return Ok(());
        }
        let current = match self.engine.get_object(bucket, key).await {
            Ok(meta) => Some(meta),
            Err(S3Error::NoSuchKey | S3Error::DeleteMarker { .. }) => None,
            Err(other) => return Err(to_wire(other)),
        };
        let matches = |condition: &ETagCondition, meta: &ObjectMeta| match condition {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => e.value() == meta.etag,
        };
        if let (Some(condition), Some(meta)) = (if_none_match, &current)
            && matches(condition, meta)
        {
            return Err(precondition_failed());
        }
        if let Some(condition) = if_match {
            match &current {
                None => {
                    return Err(s3_error!(NoSuchKey, "The specified key does not exist."));
                }
                Some(meta) if !matches(condition, meta) => return Err(precondition_failed()),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Looks up the source of a copy (a version of it when named) and checks the
    /// `x-amz-copy-source-if-*` conditions; returns it and the version asked for.
    async fn copy_source(
        &self,
        copy_source: &CopySource,
        [if_match, if_none_match]: [Option<&ETagCondition>; 2],
        [if_modified_since, if_unmodified_since]: [Option<&Timestamp>; 2],
    ) -> S3Result<(ObjectMeta, Option<String>)> {
        let CopySource::Bucket {
            bucket,
            key,
            version_id,
        } = copy_source
        else {
            return Err(s3_error!(
                NotImplemented,
                "Only bucket copy sources are supported"
            ));
        };
        let source = self
            .engine
            .get_object_version(bucket, key, version_id.as_deref())
            .await
            .map_err(|e| match e {
                // A delete marker as copy source reads as a missing key.
                S3Error::DeleteMarker { .. } if version_id.is_none() => to_wire(S3Error::NoSuchKey),
                S3Error::DeleteMarker { .. } => s3_error!(
                    InvalidRequest,
                    "The source of a copy request may not specifically refer to a delete marker by version id."
                ),
                other => to_wire(other),
            })?;
        check_conditions(
            &source,
            if_match,
            if_none_match,
            if_modified_since,
            if_unmodified_since,
        )
        .map_err(|e| {
            if *e.code() == S3ErrorCode::NotModified {
                precondition_failed()
            } else {
                e
            }
        })?;
        if archived(&source) {
            return Err(s3_error!(
                InvalidObjectState,
                "The operation is not valid for the source object's storage class"
            ));
        }
        Ok((source, version_id.as_deref().map(str::to_owned)))
    }

    /// Stages a request body and checks it against Content-MD5 and the checksums in
    /// headers or trailers; returns the staged file and the checksums to store.
    async fn receive_body(
        &self,
        body: Option<StreamingBlob>,
        mut checksums: ChecksumRequest,
        content_md5: Option<&String>,
        trailer: &Trailer,
        placement: Placement,
    ) -> S3Result<(StagedBlob, BTreeMap<String, String>)> {
        let body = body.ok_or_else(|| s3_error!(IncompleteBody))?;
        let staged =
            stage_body(&self.engine, body, &mut checksums, MAX_PUT_BYTES, placement).await?;
        // The body has been read to its end, so its trailer (if any) has arrived.
        let verified = check_content_md5(content_md5, &staged)
            .and_then(|()| checksums.finish(trailer.values()));
        match verified {
            Ok(stored) => Ok((staged, stored)),
            Err(error) => {
                self.engine.blobs().discard(staged).await;
                Err(error)
            }
        }
    }

    /// Stores the body of a PUT (or a form POST) as an object, checking limits,
    /// conditions and digests first; `event_name` is the event it raises.
    async fn store_object(
        &self,
        input: PutObjectInput,
        trailer: Trailer,
        event_name: &str,
        context: ChangeContext,
    ) -> S3Result<PutObjectOutput> {
        check_key(&input.key)?;
        if input
            .content_length
            .is_some_and(|l| l as u64 > MAX_PUT_BYTES)
        {
            return Err(s3_error!(
                EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed object size."
            ));
        }
        let tags = tags_from_header(input.tagging.as_ref())?;
        // Refuse early, before reading the body, when the bucket is missing.
        self.engine
            .get_bucket(&input.bucket)
            .await
            .map_err(to_wire)?;
        self.check_write_conditions(
            &input.bucket,
            &input.key,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
        )
        .await?;
        let checksums = ChecksumRequest::new(
            input.checksum_algorithm.as_ref(),
            [
                ("CRC32", input.checksum_crc32.as_ref()),
                ("CRC32C", input.checksum_crc32c.as_ref()),
                ("SHA1", input.checksum_sha1.as_ref()),
                ("SHA256", input.checksum_sha256.as_ref()),
                ("CRC64NVME", input.checksum_crc64nvme.as_ref()),
            ],
            trailer.declared.as_ref(),
        )?;
        let metadata = lowercase_metadata(input.metadata)?;
        let (staged, stored_checksums) = self
            .receive_body(
                input.body,
                checksums,
                input.content_md5.as_ref(),
                &trailer,
                Placement::InlineIfSmall,
            )
            .await?;
        let attrs = ObjectAttrs {
            content_type: input.content_type.clone(),
            content_encoding: stored_content_encoding(input.content_encoding.as_deref()),
            content_disposition: input.content_disposition.clone(),
            content_language: input.content_language.clone(),
            cache_control: input.cache_control.clone(),
            expires: input.expires.as_ref().and_then(format_http_date),
            storage_class: checked_storage_class(input.storage_class.as_ref())?,
            metadata,
            checksums: stored_checksums,
            tags,
            part_sizes: Vec::new(),
        };
        let meta = self
            .engine
            .put_object(
                &input.bucket,
                &input.key,
                staged,
                attrs,
                event_name,
                context,
            )
            .await
            .map_err(to_wire)?;
        let [crc32, crc32c, sha1, sha256, crc64nvme] = checksum_fields(&meta, true);
        Ok(PutObjectOutput {
            e_tag: Some(etag(&meta)),
            version_id: meta.version_id.clone(),
            checksum_crc32: crc32,
            checksum_crc32c: crc32c,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            checksum_crc64nvme: crc64nvme,
            ..Default::default()
        })
    }
}

#[async_trait::async_trait]
impl S3 for EddyS3 {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = &req.input.bucket;
        if !valid_bucket_name(bucket) {
            return Err(s3_error!(
                InvalidBucketName,
                "The specified bucket is not valid."
            ));
        }
        if let Some(constraint) = req
            .input
            .create_bucket_configuration
            .as_ref()
            .and_then(|c| c.location_constraint.as_ref())
        {
            let region = &self.engine.settings().region;
            // us-east-1 is named by leaving the constraint out; naming it is refused.
            if constraint.as_str() == "us-east-1" && region == "us-east-1" {
                return Err(s3_error!(
                    InvalidLocationConstraint,
                    "The specified location-constraint is not valid"
                ));
            }
            if constraint.as_str() != region.as_str()
                && !(region == "us-east-1" && constraint.as_str().is_empty())
            {
                return Err(s3_error!(
                    IllegalLocationConstraintException,
                    "The {} location constraint is incompatible for the region specific endpoint this request was sent to.",
                    constraint.as_str()
                ));
            }
        }
        match self.engine.create_bucket(bucket).await {
            Ok(()) => {}
            // us-east-1 answers a repeated CreateBucket by its owner with 200 OK; every
            // other region with 409 BucketAlreadyOwnedByYou.
            Err(S3Error::BucketAlreadyOwnedByYou)
                if self.engine.settings().region == "us-east-1" => {}
            Err(error) => return Err(to_wire(error)),
        }
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{bucket}")),
        }))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.engine
            .delete_bucket(&req.input.bucket)
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        let bucket = self
            .engine
            .get_bucket(&req.input.bucket)
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(bucket.region),
            ..Default::default()
        }))
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let input = req.input;
        let max = input.max_buckets.unwrap_or(10_000).clamp(1, 10_000) as usize;
        let after = input
            .continuation_token
            .as_deref()
            .map(decode_token)
            .transpose()?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let mut matching: Vec<_> = self
            .engine
            .list_buckets()
            .await
            .map_err(to_wire)?
            .into_iter()
            .filter(|b| b.name.starts_with(&prefix))
            .filter(|b| after.as_ref().is_none_or(|a| b.name > *a))
            .filter(|b| input.bucket_region.as_ref().is_none_or(|r| *r == b.region))
            .collect();
        let truncated = matching.len() > max;
        matching.truncate(max);
        let next = truncated
            .then(|| matching.last().map(|b| encode_token(&b.name)))
            .flatten();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(
                matching
                    .into_iter()
                    .map(|b| Bucket {
                        name: Some(b.name),
                        creation_date: Some(timestamp(b.created_ms)),
                        bucket_region: Some(b.region),
                    })
                    .collect(),
            ),
            owner: Some(self.owner()),
            prefix: input.prefix,
            continuation_token: next,
        }))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let bucket = self
            .engine
            .get_bucket(&req.input.bucket)
            .await
            .map_err(to_wire)?;
        // us-east-1 answers with an empty LocationConstraint.
        let constraint =
            (bucket.region != "us-east-1").then(|| BucketLocationConstraint::from(bucket.region));
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint: constraint,
        }))
    }

    async fn get_bucket_notification_configuration(
        &self,
        req: S3Request<GetBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
        let configs = self
            .engine
            .get_notifications(&req.input.bucket)
            .await
            .map_err(to_wire)?;
        let queue_configurations = configs
            .into_iter()
            .map(|c| {
                let mut rules = Vec::new();
                for (name, value) in [("prefix", c.prefix), ("suffix", c.suffix)] {
                    if let Some(value) = value {
                        rules.push(FilterRule {
                            name: Some(FilterRuleName::from(name.to_owned())),
                            value: Some(value),
                        });
                    }
                }
                QueueConfiguration {
                    events: c.events.into_iter().map(Event::from).collect(),
                    filter: (!rules.is_empty()).then_some(NotificationConfigurationFilter {
                        key: Some(S3KeyFilter {
                            filter_rules: Some(rules),
                        }),
                    }),
                    id: Some(c.id),
                    queue_arn: c.queue_arn,
                }
            })
            .collect::<Vec<_>>();
        Ok(S3Response::new(GetBucketNotificationConfigurationOutput {
            queue_configurations: (!queue_configurations.is_empty())
                .then_some(queue_configurations),
            ..Default::default()
        }))
    }

    async fn put_bucket_notification_configuration(
        &self,
        req: S3Request<PutBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
        let configs = validate_notifications(&req.input.notification_configuration)?;
        let context = context(&req);
        self.engine
            .put_notifications(&req.input.bucket, configs, context)
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(PutBucketNotificationConfigurationOutput {}))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let context = context(&req);
        let trailer = Trailer::of(&req);
        let output = self
            .store_object(req.input, trailer, "s3:ObjectCreated:Put", context)
            .await?;
        Ok(S3Response::new(output))
    }

    /// POST Object (browser form upload): `s3s` has checked the form's policy and
    /// signature; the object is stored as a PUT would store it, with an
    /// `ObjectCreated:Post` event.
    async fn post_object(
        &self,
        req: S3Request<PostObjectInput>,
    ) -> S3Result<S3Response<PostObjectOutput>> {
        let context = context(&req);
        let input = post_as_put(req.input);
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let output = self
            .store_object(input, Trailer::default(), "s3:ObjectCreated:Post", context)
            .await?;
        let mut response = S3Response::new(PostObjectOutput {
            e_tag: output.e_tag.clone(),
            version_id: output.version_id.clone(),
            checksum_crc32: output.checksum_crc32,
            checksum_crc32c: output.checksum_crc32c,
            checksum_sha1: output.checksum_sha1,
            checksum_sha256: output.checksum_sha256,
            checksum_crc64nvme: output.checksum_crc64nvme,
            ..Default::default()
        });
        if let Some(etag) = output.e_tag.as_ref()
            && let Ok(value) = http::HeaderValue::from_str(&format!("\"{}\"", etag.value()))
        {
            response.headers.insert(http::header::ETAG, value);
        }
        let location = format!("/{bucket}/{}", maybe_url_encode(key, true));
        if let Ok(value) = http::HeaderValue::from_str(&location) {
            response.headers.insert(http::header::LOCATION, value);
        }
        Ok(response)
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let (meta, content) = self
            .engine
            .open_object_version(&input.bucket, &input.key, input.version_id.as_deref())
            .await
            .map_err(to_wire)?;
        check_conditions(
            &meta,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
        )?;
        if archived(&meta) {
            return Err(s3_error!(
                InvalidObjectState,
                "The operation is not valid for the object's storage class"
            ));
        }
        let Window {
            start,
            length,
            content_range,
            parts_count,
        } = window(&meta, input.range.as_ref(), input.part_number)?;
        let stream = content
            .into_stream(start, length)
            .await
            .map_err(|e| s3_error!(e, InternalError))?;
        let whole = content_range.is_none() && input.part_number.is_none();
        let checksum_mode = input
            .checksum_mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
        let [crc32, crc32c, sha1, sha256, crc64nvme] =
            checksum_fields(&meta, checksum_mode && whole);
        let mut output = GetObjectOutput {
            body: Some(StreamingBlob::wrap(stream)),
            content_length: Some(length as i64),
            content_range,
            parts_count,
            accept_ranges: Some("bytes".to_owned()),
            last_modified: Some(timestamp(meta.last_modified_ms)),
            e_tag: Some(etag(&meta)),
            content_type: meta.attrs.content_type.clone(),
            content_encoding: meta.attrs.content_encoding.clone(),
            content_disposition: meta.attrs.content_disposition.clone(),
            content_language: meta.attrs.content_language.clone(),
            cache_control: meta.attrs.cache_control.clone(),
            expires: meta.attrs.expires.as_deref().and_then(parse_http_date),
            metadata: ascii_metadata(&meta.attrs),
            storage_class: storage_class(&meta.attrs),
            version_id: reported_version(&meta, input.version_id.as_deref()),
            tag_count: tag_count(&meta),
            checksum_crc32: crc32,
            checksum_crc32c: crc32c,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            checksum_crc64nvme: crc64nvme,
            ..Default::default()
        };
        if let Some(v) = input.response_content_type {
            output.content_type = Some(v);
        }
        if let Some(v) = input.response_content_disposition {
            output.content_disposition = Some(v);
        }
        if let Some(v) = input.response_content_encoding {
            output.content_encoding = Some(v);
        }
        if let Some(v) = input.response_content_language {
            output.content_language = Some(v);
        }
        if let Some(v) = input.response_cache_control {
            output.cache_control = Some(v);
        }
        if let Some(v) = input.response_expires {
            output.expires = Some(v);
        }
        let mut response = S3Response::new(output);
        response.headers.extend(raw_metadata_headers(&meta.attrs));
        if !whole {
            response.status = Some(http::StatusCode::PARTIAL_CONTENT);
        }
        Ok(response)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        let meta = self
            .engine
            .get_object_version(&input.bucket, &input.key, input.version_id.as_deref())
            .await
            .map_err(to_wire)?;
        check_conditions(
            &meta,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
        )?;
        let checksum_mode = input
            .checksum_mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
        let part = window(&meta, input.range.as_ref(), input.part_number)?;
        let whole = part.content_range.is_none() && input.part_number.is_none();
        let [crc32, crc32c, sha1, sha256, crc64nvme] =
            checksum_fields(&meta, checksum_mode && whole);
        let mut response = S3Response::new(HeadObjectOutput {
            content_length: Some(part.length as i64),
            content_range: part.content_range,
            parts_count: part.parts_count,
            accept_ranges: Some("bytes".to_owned()),
            last_modified: Some(timestamp(meta.last_modified_ms)),
            e_tag: Some(etag(&meta)),
            content_type: meta.attrs.content_type.clone(),
            content_encoding: meta.attrs.content_encoding.clone(),
            content_disposition: meta.attrs.content_disposition.clone(),
            content_language: meta.attrs.content_language.clone(),
            cache_control: meta.attrs.cache_control.clone(),
            expires: meta.attrs.expires.as_deref().and_then(parse_http_date),
            metadata: ascii_metadata(&meta.attrs),
            storage_class: storage_class(&meta.attrs),
            version_id: reported_version(&meta, input.version_id.as_deref()),
            checksum_crc32: crc32,
            checksum_crc32c: crc32c,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            checksum_crc64nvme: crc64nvme,
            ..Default::default()
        });
        response.headers.extend(raw_metadata_headers(&meta.attrs));
        // S3 tells the tag count on HEAD too, though its model lists it for GET only.
        if let Some(count) = tag_count(&meta) {
            response
                .headers
                .insert("x-amz-tagging-count", http::HeaderValue::from(count));
        }
        if !whole {
            response.status = Some(http::StatusCode::PARTIAL_CONTENT);
        }
        Ok(response)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let context = context(&req);
        let input = req.input;
        let deleted = self
            .engine
            .delete_object_version(
                &input.bucket,
                &input.key,
                input.version_id.as_deref(),
                context,
            )
            .await
            .map_err(to_wire)?;
        let mut response = S3Response::new(DeleteObjectOutput {
            delete_marker: deleted.delete_marker.then_some(true),
            version_id: deleted.version_id,
            ..Default::default()
        });
        response.status = Some(http::StatusCode::NO_CONTENT);
        Ok(response)
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let context = context(&req);
        let input = req.input;
        if input.delete.objects.len() > 1000 {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        self.engine
            .get_bucket(&input.bucket)
            .await
            .map_err(to_wire)?;
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in input.delete.objects {
            match self
                .engine
                .delete_object_version(
                    &input.bucket,
                    &object.key,
                    object.version_id.as_deref(),
                    context.clone(),
                )
                .await
            {
                Ok(outcome) => {
                    if !quiet {
                        let marker_created = outcome.delete_marker && object.version_id.is_none();
                        deleted.push(DeletedObject {
                            key: Some(object.key),
                            version_id: object.version_id,
                            delete_marker: outcome.delete_marker.then_some(true),
                            delete_marker_version_id: if marker_created {
                                outcome.version_id
                            } else {
                                None
                            },
                        });
                    }
                }
                Err(error) => {
                    let wire = to_wire(error);
                    errors.push(Error {
                        code: Some(wire.code().as_str().to_owned()),
                        key: Some(object.key),
                        message: wire.message().map(str::to_owned),
                        ..Default::default()
                    });
                }
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!deleted.is_empty()).then_some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let context = context(&req);
        let input = req.input;
        check_key(&input.key)?;
        let (source, source_version) = self
            .copy_source(
                &input.copy_source,
                [
                    input.copy_source_if_match.as_ref(),
                    input.copy_source_if_none_match.as_ref(),
                ],
                [
                    input.copy_source_if_modified_since.as_ref(),
                    input.copy_source_if_unmodified_since.as_ref(),
                ],
            )
            .await?;
        if source.size > MAX_PUT_BYTES {
            return Err(s3_error!(
                InvalidRequest,
                "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120"
            ));
        }
        for (directive, name) in [
            (
                input.metadata_directive.as_ref().map(|d| d.as_str()),
                "metadata",
            ),
            (
                input.tagging_directive.as_ref().map(|d| d.as_str()),
                "tagging",
            ),
        ] {
            if directive.is_some_and(|d| d != "COPY" && d != "REPLACE") {
                return Err(s3_error!(InvalidArgument, "Unknown {} directive.", name));
            }
        }
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let replace_tags = input
            .tagging_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
        let same =
            source.bucket == input.bucket && source.key == input.key && source_version.is_none();
        if same && !replace && !replace_tags && input.storage_class.is_none() {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let requested_class = checked_storage_class(input.storage_class.as_ref())?;
        let replaced_metadata = lowercase_metadata(input.metadata.clone())?;
        let mut attrs = replace.then(|| ObjectAttrs {
            content_type: input.content_type.clone(),
            content_encoding: stored_content_encoding(input.content_encoding.as_deref()),
            content_disposition: input.content_disposition.clone(),
            content_language: input.content_language.clone(),
            cache_control: input.cache_control.clone(),
            expires: input.expires.as_ref().and_then(format_http_date),
            storage_class: requested_class.clone(),
            metadata: replaced_metadata,
            checksums: source.attrs.checksums.clone(),
            tags: source.attrs.tags.clone(),
            part_sizes: source.attrs.part_sizes.clone(),
        });
        if replace_tags {
            let mut replaced = attrs.unwrap_or_else(|| source.attrs.clone());
            replaced.tags = tags_from_header(input.tagging.as_ref())?;
            attrs = Some(replaced);
        } else if !replace && input.storage_class.is_some() {
            let mut changed = source.attrs.clone();
            changed.storage_class = requested_class;
            attrs = Some(changed);
        }
        let meta = self
            .engine
            .copy_version(
                &source,
                input.copy_source_if_match.is_some(),
                (&input.bucket, &input.key),
                attrs,
                context,
            )
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(etag(&meta)),
                last_modified: Some(timestamp(meta.last_modified_ms)),
                ..Default::default()
            }),
            copy_source_version_id: reported_version(&source, source_version.as_deref()),
            version_id: meta.version_id.clone(),
            ..Default::default()
        }))
    }

    async fn get_bucket_acl(
        &self,
        req: S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(GetBucketAclOutput {
            grants: Some(self.owner_grants()),
            owner: Some(self.owner()),
        }))
    }

    async fn put_bucket_acl(
        &self,
        req: S3Request<PutBucketAclInput>,
    ) -> S3Result<S3Response<PutBucketAclOutput>> {
        let input = req.input;
        self.require_bucket(&input.bucket).await?;
        let canned_ok = input
            .acl
            .as_ref()
            .is_none_or(|acl| acl.as_str() == BucketCannedACL::PRIVATE);
        let grants = input.grant_full_control.is_some()
            || input.grant_read.is_some()
            || input.grant_read_acp.is_some()
            || input.grant_write.is_some()
            || input.grant_write_acp.is_some()
            || input.access_control_policy.is_some();
        if !canned_ok || grants {
            return Err(acls_not_supported());
        }
        Ok(S3Response::new(PutBucketAclOutput {}))
    }

    async fn get_object_acl(
        &self,
        req: S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        let input = req.input;
        self.engine
            .get_object_version(&input.bucket, &input.key, input.version_id.as_deref())
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(GetObjectAclOutput {
            grants: Some(self.owner_grants()),
            owner: Some(self.owner()),
            ..Default::default()
        }))
    }

    async fn put_object_acl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        let input = req.input;
        self.engine
            .get_object_version(&input.bucket, &input.key, input.version_id.as_deref())
            .await
            .map_err(to_wire)?;
        let canned_ok = input.acl.as_ref().is_none_or(|acl| {
            acl.as_str() == ObjectCannedACL::PRIVATE
                || acl.as_str() == ObjectCannedACL::BUCKET_OWNER_FULL_CONTROL
        });
        let grants = input.grant_full_control.is_some()
            || input.grant_read.is_some()
            || input.grant_read_acp.is_some()
            || input.grant_write_acp.is_some()
            || input.access_control_policy.is_some();
        if !canned_ok || grants {
            return Err(acls_not_supported());
        }
        Ok(S3Response::new(PutObjectAclOutput::default()))
    }

    async fn get_bucket_ownership_controls(
        &self,
        req: S3Request<GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(GetBucketOwnershipControlsOutput {
            ownership_controls: Some(OwnershipControls {
                rules: vec![OwnershipControlsRule {
                    object_ownership: ObjectOwnership::from(
                        ObjectOwnership::BUCKET_OWNER_ENFORCED.to_owned(),
                    ),
                }],
            }),
        }))
    }

    async fn get_bucket_encryption(
        &self,
        req: S3Request<GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        // Every S3 bucket has SSE-S3 (AES256) as its default encryption.
        Ok(S3Response::new(GetBucketEncryptionOutput {
            server_side_encryption_configuration: Some(ServerSideEncryptionConfiguration {
                rules: vec![ServerSideEncryptionRule {
                    apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                        kms_master_key_id: None,
                        sse_algorithm: ServerSideEncryption::from(
                            ServerSideEncryption::AES256.to_owned(),
                        ),
                    }),
                    bucket_key_enabled: Some(false),
                }],
            }),
        }))
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        Err(s3_error!(
            NoSuchBucketPolicy,
            "The bucket policy does not exist"
        ))
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        Err(s3_error!(
            NoSuchCORSConfiguration,
            "The CORS configuration does not exist"
        ))
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        Err(s3_error!(
            NoSuchLifecycleConfiguration,
            "The lifecycle configuration does not exist"
        ))
    }

    async fn get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let input = req.input;
        let meta = self
            .engine
            .get_object_version(&input.bucket, &input.key, input.version_id.as_deref())
            .await
            .map_err(to_wire)?;
        // The header is one comma-separated list.
        let wanted = |name: &str| {
            input
                .object_attributes
                .iter()
                .flat_map(|a| a.as_str().split(','))
                .any(|a| a.trim() == name)
        };
        let [crc32, crc32c, sha1, sha256, crc64nvme] = checksum_fields(&meta, true);
        let has_checksum = [&crc32, &crc32c, &sha1, &sha256, &crc64nvme]
            .iter()
            .any(|c| c.is_some());
        let parts = (wanted(ObjectAttributes::OBJECT_PARTS) && !meta.attrs.part_sizes.is_empty())
            .then(|| {
                let marker = input.part_number_marker.unwrap_or(0).max(0) as usize;
                let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
                let listed: Vec<ObjectPart> = meta
                    .attrs
                    .part_sizes
                    .iter()
                    .enumerate()
                    .skip(marker)
                    .take(max)
                    .map(|(i, size)| ObjectPart {
                        part_number: Some(i as i32 + 1),
                        size: Some(*size as i64),
                        ..Default::default()
                    })
                    .collect();
                let last = listed.last().and_then(|p| p.part_number).unwrap_or(0);
                let truncated = (last as usize) < meta.attrs.part_sizes.len();
                GetObjectAttributesParts {
                    total_parts_count: Some(meta.attrs.part_sizes.len() as i32),
                    part_number_marker: Some(marker as i32),
                    next_part_number_marker: Some(last),
                    max_parts: Some(max as i32),
                    is_truncated: Some(truncated),
                    parts: Some(listed),
                }
            });
        Ok(S3Response::new(GetObjectAttributesOutput {
            e_tag: wanted(ObjectAttributes::ETAG).then(|| etag(&meta)),
            object_size: wanted(ObjectAttributes::OBJECT_SIZE).then_some(meta.size as i64),
            storage_class: wanted(ObjectAttributes::STORAGE_CLASS).then(|| {
                StorageClass::from(
                    meta.attrs
                        .storage_class
                        .clone()
                        .unwrap_or_else(|| "STANDARD".to_owned()),
                )
            }),
            checksum: (wanted(ObjectAttributes::CHECKSUM) && has_checksum).then(|| Checksum {
                checksum_crc32: crc32,
                checksum_crc32c: crc32c,
                checksum_sha1: sha1,
                checksum_sha256: sha256,
                checksum_crc64nvme: crc64nvme,
                ..Default::default()
            }),
            object_parts: parts,
            last_modified: Some(timestamp(meta.last_modified_ms)),
            version_id: reported_version(&meta, input.version_id.as_deref()),
            ..Default::default()
        }))
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let versioning = self
            .engine
            .get_versioning(&req.input.bucket)
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(GetBucketVersioningOutput {
            status: versioning
                .status()
                .map(|s| BucketVersioningStatus::from(s.to_owned())),
            mfa_delete: None,
        }))
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let input = req.input;
        let enabled = match input
            .versioning_configuration
            .status
            .as_ref()
            .map(|s| s.as_str())
        {
            Some(BucketVersioningStatus::ENABLED) => true,
            Some(BucketVersioningStatus::SUSPENDED) => false,
            _ => {
                return Err(s3_error!(
                    MalformedXML,
                    "The XML you provided was not well-formed or did not validate against our published schema"
                ));
            }
        };
        if input
            .versioning_configuration
            .mfa_delete
            .as_ref()
            .is_some_and(|m| m.as_str() == MFADelete::ENABLED)
        {
            return Err(s3_error!(
                InvalidArgument,
                "MFA Delete can only be enabled with an MFA device, which eddy does not have."
            ));
        }
        self.engine
            .set_versioning(&input.bucket, enabled)
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(PutBucketVersioningOutput {}))
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let mut input = req.input;
        // An empty delimiter is no delimiter, and is not echoed.
        input.delimiter = input.delimiter.filter(|d| !d.is_empty());
        let max_keys = page_size(input.max_keys)?;
        if input.version_id_marker.is_some() && input.key_marker.is_none() {
            return Err(s3_error!(
                InvalidArgument,
                "A version-id marker cannot be specified without a key marker."
            ));
        }
        let page = self
            .engine
            .list_object_versions(
                &input.bucket,
                VersionQuery {
                    prefix: input.prefix.clone().unwrap_or_default(),
                    delimiter: input.delimiter.clone(),
                    key_marker: input.key_marker.clone(),
                    version_id_marker: input.version_id_marker.clone(),
                    max_keys,
                },
            )
            .await
            .map_err(to_wire)?;
        let url = input
            .encoding_type
            .as_ref()
            .is_some_and(|e| e.as_str() == EncodingType::URL);
        let owner = self.owner();
        let mut versions = Vec::new();
        let mut markers = Vec::new();
        for entry in page.entries {
            let meta = &entry.meta;
            let key = Some(maybe_url_encode(meta.key.clone(), url));
            let version_id = Some(meta.version_label().to_owned());
            if entry.delete_marker {
                markers.push(DeleteMarkerEntry {
                    is_latest: Some(entry.is_latest),
                    key,
                    last_modified: Some(timestamp(meta.last_modified_ms)),
                    owner: Some(owner.clone()),
                    version_id,
                });
            } else {
                versions.push(ObjectVersion {
                    e_tag: Some(etag(meta)),
                    is_latest: Some(entry.is_latest),
                    key,
                    last_modified: Some(timestamp(meta.last_modified_ms)),
                    owner: Some(owner.clone()),
                    size: Some(meta.size as i64),
                    storage_class: Some(ObjectVersionStorageClass::from(
                        meta.attrs
                            .storage_class
                            .clone()
                            .unwrap_or_else(|| "STANDARD".to_owned()),
                    )),
                    version_id,
                    ..Default::default()
                });
            }
        }
        let (next_key_marker, next_version_id_marker) = if page.is_truncated {
            (
                page.next_key_marker.map(|k| maybe_url_encode(k, url)),
                page.next_version_id_marker,
            )
        } else {
            (None, None)
        };
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(input.bucket),
            prefix: Some(maybe_url_encode(input.prefix.unwrap_or_default(), url)),
            delimiter: input.delimiter,
            key_marker: Some(input.key_marker.unwrap_or_default()),
            version_id_marker: Some(input.version_id_marker.unwrap_or_default()),
            max_keys: Some(max_keys as i32),
            is_truncated: Some(page.is_truncated),
            next_key_marker,
            next_version_id_marker,
            encoding_type: input.encoding_type,
            versions: (!versions.is_empty()).then_some(versions),
            delete_markers: (!markers.is_empty()).then_some(markers),
            common_prefixes: (!page.common_prefixes.is_empty()).then(|| {
                page.common_prefixes
                    .into_iter()
                    .map(|p| CommonPrefix {
                        prefix: Some(maybe_url_encode(p, url)),
                    })
                    .collect()
            }),
            ..Default::default()
        }))
    }

    async fn get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        let tags = self
            .engine
            .get_bucket_tags(&req.input.bucket)
            .await
            .map_err(to_wire)?
            .ok_or_else(|| s3_error!(NoSuchTagSet, "The TagSet does not exist"))?;
        Ok(S3Response::new(GetBucketTaggingOutput {
            tag_set: tag_set(&tags),
        }))
    }

    async fn put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        let input = req.input;
        let tags = tags_from_set(input.tagging, MAX_BUCKET_TAGS)?;
        self.engine
            .set_bucket_tags(&input.bucket, Some(tags))
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(PutBucketTaggingOutput {}))
    }

    async fn delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        self.engine
            .set_bucket_tags(&req.input.bucket, None)
            .await
            .map_err(to_wire)?;
        let mut response = S3Response::new(DeleteBucketTaggingOutput {});
        response.status = Some(http::StatusCode::NO_CONTENT);
        Ok(response)
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let input = req.input;
        let meta = self
            .engine
            .get_object_version(&input.bucket, &input.key, input.version_id.as_deref())
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set: tag_set(&meta.attrs.tags),
            version_id: reported_version(&meta, input.version_id.as_deref()),
        }))
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let input = req.input;
        let tags = tags_from_set(input.tagging, MAX_OBJECT_TAGS)?;
        let meta = self
            .engine
            .set_object_tags(
                &input.bucket,
                &input.key,
                input.version_id.as_deref(),
                Some(tags),
            )
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(PutObjectTaggingOutput {
            version_id: reported_version(&meta, input.version_id.as_deref()),
        }))
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        let input = req.input;
        let meta = self
            .engine
            .set_object_tags(&input.bucket, &input.key, input.version_id.as_deref(), None)
            .await
            .map_err(to_wire)?;
        let mut response = S3Response::new(DeleteObjectTaggingOutput {
            version_id: reported_version(&meta, input.version_id.as_deref()),
        });
        response.status = Some(http::StatusCode::NO_CONTENT);
        Ok(response)
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let mut input = req.input;
        // An empty delimiter is no delimiter, and is not echoed.
        input.delimiter = input.delimiter.filter(|d| !d.is_empty());
        let max_keys = page_size(input.max_keys)?;
        let page = self
            .engine
            .list_objects(
                &input.bucket,
                ListQuery {
                    prefix: input.prefix.clone().unwrap_or_default(),
                    delimiter: input.delimiter.clone(),
                    start_after: input.marker.clone(),
                    max_keys,
                },
            )
            .await
            .map_err(to_wire)?;
        let url = input
            .encoding_type
            .as_ref()
            .is_some_and(|e| e.as_str() == EncodingType::URL);
        let next_marker = (page.is_truncated && input.delimiter.is_some())
            .then(|| page.last.clone())
            .flatten();
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket),
            // ListObjects (v1) encodes keys, markers and the delimiter, not the prefix.
            prefix: Some(input.prefix.unwrap_or_default()),
            marker: Some(maybe_url_encode(input.marker.unwrap_or_default(), url)),
            next_marker: next_marker.map(|m| maybe_url_encode(m, url)),
            delimiter: input.delimiter.map(|d| maybe_url_encode(d, url)),
            max_keys: Some(max_keys as i32),
            is_truncated: Some(page.is_truncated),
            encoding_type: input.encoding_type,
            contents: Some(
                page.objects
                    .iter()
                    .map(|m| list_entry(m, true, url, &self.engine))
                    .collect(),
            ),
            common_prefixes: Some(
                page.common_prefixes
                    .into_iter()
                    .map(|p| CommonPrefix {
                        prefix: Some(maybe_url_encode(p, url)),
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let mut input = req.input;
        // An empty delimiter is no delimiter, and is not echoed.
        input.delimiter = input.delimiter.filter(|d| !d.is_empty());
        let max_keys = page_size(input.max_keys)?;
        let start_after = match &input.continuation_token {
            Some(token) => Some(decode_token(token)?),
            None => input.start_after.clone(),
        };
        let page = self
            .engine
            .list_objects(
                &input.bucket,
                ListQuery {
                    prefix: input.prefix.clone().unwrap_or_default(),
                    delimiter: input.delimiter.clone(),
                    start_after,
                    max_keys,
                },
            )
            .await
            .map_err(to_wire)?;
        let url = input
            .encoding_type
            .as_ref()
            .is_some_and(|e| e.as_str() == EncodingType::URL);
        let fetch_owner = input.fetch_owner.unwrap_or(false);
        let key_count = (page.objects.len() + page.common_prefixes.len()) as i32;
        let next = page
            .is_truncated
            .then(|| page.last.as_deref().map(encode_token))
            .flatten();
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: Some(maybe_url_encode(input.prefix.unwrap_or_default(), url)),
            delimiter: input.delimiter.map(|d| maybe_url_encode(d, url)),
            max_keys: Some(max_keys as i32),
            key_count: Some(key_count),
            is_truncated: Some(page.is_truncated),
            continuation_token: input.continuation_token,
            next_continuation_token: next,
            start_after: input.start_after.map(|s| maybe_url_encode(s, url)),
            encoding_type: input.encoding_type,
            contents: Some(
                page.objects
                    .iter()
                    .map(|m| list_entry(m, fetch_owner, url, &self.engine))
                    .collect(),
            ),
            common_prefixes: Some(
                page.common_prefixes
                    .into_iter()
                    .map(|p| CommonPrefix {
                        prefix: Some(maybe_url_encode(p, url)),
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        check_key(&input.key)?;
        let attrs = ObjectAttrs {
            content_type: input.content_type.clone(),
            content_encoding: stored_content_encoding(input.content_encoding.as_deref()),
            content_disposition: input.content_disposition.clone(),
            content_language: input.content_language.clone(),
            cache_control: input.cache_control.clone(),
            expires: input.expires.as_ref().and_then(format_http_date),
            storage_class: checked_storage_class(input.storage_class.as_ref())?,
            metadata: lowercase_metadata(input.metadata)?,
            checksums: BTreeMap::new(),
            tags: tags_from_header(input.tagging.as_ref())?,
            part_sizes: Vec::new(),
        };
        let upload = self
            .engine
            .create_upload(&input.bucket, &input.key, attrs)
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload.upload_id),
            checksum_algorithm: input.checksum_algorithm,
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let trailer = Trailer::of(&req);
        let input = req.input;
        check_part_number(input.part_number)?;
        self.engine
            .get_upload(&input.bucket, &input.key, &input.upload_id)
            .await
            .map_err(to_wire)?;
        let checksums = ChecksumRequest::new(
            input.checksum_algorithm.as_ref(),
            [
                ("CRC32", input.checksum_crc32.as_ref()),
                ("CRC32C", input.checksum_crc32c.as_ref()),
                ("SHA1", input.checksum_sha1.as_ref()),
                ("SHA256", input.checksum_sha256.as_ref()),
                ("CRC64NVME", input.checksum_crc64nvme.as_ref()),
            ],
            trailer.declared.as_ref(),
        )?;
        let (staged, stored) = self
            .receive_body(
                input.body,
                checksums,
                input.content_md5.as_ref(),
                &trailer,
                Placement::File,
            )
            .await?;
        let part_etag = hex::encode(staged.md5);
        let part = self
            .engine
            .put_part(
                &input.bucket,
                &input.key,
                &input.upload_id,
                input.part_number as u32,
                staged,
                part_etag,
            )
            .await
            .map_err(to_wire)?;
        let get = |name: &str| stored.get(name).cloned();
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(ETag::Strong(part.etag)),
            checksum_crc32: get("CRC32"),
            checksum_crc32c: get("CRC32C"),
            checksum_sha1: get("SHA1"),
            checksum_sha256: get("SHA256"),
            checksum_crc64nvme: get("CRC64NVME"),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let context = context(&req);
        let input = req.input;
        let parts: Vec<_> = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        self.check_write_conditions(
            &input.bucket,
            &input.key,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
        )
        .await?;
        if parts.is_empty() {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        let parts = parts
            .into_iter()
            .map(|p| {
                (
                    p.part_number.unwrap_or(0).max(0) as u32,
                    p.e_tag.map(|e| e.value().to_owned()).unwrap_or_default(),
                )
            })
            .collect();
        let meta = self
            .engine
            .complete_upload(&input.bucket, &input.key, &input.upload_id, parts, context)
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(meta.bucket.clone()),
            key: Some(meta.key.clone()),
            e_tag: Some(etag(&meta)),
            version_id: meta.version_id.clone(),
            location: Some(format!("/{}/{}", meta.bucket, meta.key)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        self.engine
            .abort_upload(&input.bucket, &input.key, &input.upload_id)
            .await
            .map_err(to_wire)?;
        let mut response = S3Response::new(AbortMultipartUploadOutput::default());
        response.status = Some(http::StatusCode::NO_CONTENT);
        Ok(response)
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        let parts = self
            .engine
            .list_parts(&input.bucket, &input.key, &input.upload_id)
            .await
            .map_err(to_wire)?;
        let marker = input.part_number_marker.unwrap_or(0).max(0) as u32;
        let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
        let remaining: Vec<_> = parts
            .into_iter()
            .filter(|p| p.part_number > marker)
            .collect();
        let truncated = remaining.len() > max;
        let page: Vec<_> = remaining.into_iter().take(max).collect();
        let next = page.last().map(|p| p.part_number as i32);
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            max_parts: Some(max as i32),
            is_truncated: Some(truncated),
            next_part_number_marker: next,
            parts: Some(
                page.into_iter()
                    .map(|p| Part {
                        part_number: Some(p.part_number as i32),
                        e_tag: Some(ETag::Strong(p.etag)),
                        size: Some(p.size as i64),
                        last_modified: Some(timestamp(p.last_modified_ms)),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let input = req.input;
        check_part_number(input.part_number)?;
        self.engine
            .get_upload(&input.bucket, &input.key, &input.upload_id)
            .await
            .map_err(to_wire)?;
        let (source, source_version) = self
            .copy_source(
                &input.copy_source,
                [
                    input.copy_source_if_match.as_ref(),
                    input.copy_source_if_none_match.as_ref(),
                ],
                [
                    input.copy_source_if_modified_since.as_ref(),
                    input.copy_source_if_unmodified_since.as_ref(),
                ],
            )
            .await?;
        let (start, length) = match input.copy_source_range.as_deref() {
            None => (0, source.size),
            Some(range) => copy_source_range(range, source.size)?,
        };
        if length > MAX_PUT_BYTES {
            return Err(s3_error!(
                InvalidRequest,
                "The specified copy range is larger than the maximum allowable size for a part: 5368709120"
            ));
        }
        let content = self
            .engine
            .open_blob(&source.blob)
            .await
            .map_err(|e| s3_error!(e, NoSuchKey, "The specified key does not exist."))?;
        let staged = self
            .engine
            .blobs()
            .stage_range(content, start, length)
            .await
            .map_err(stage_error)?;
        let part_etag = hex::encode(staged.md5);
        let part = self
            .engine
            .put_part(
                &input.bucket,
                &input.key,
                &input.upload_id,
                input.part_number as u32,
                staged,
                part_etag,
            )
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(UploadPartCopyOutput {
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(ETag::Strong(part.etag)),
                last_modified: Some(timestamp(part.last_modified_ms)),
                ..Default::default()
            }),
            copy_source_version_id: reported_version(&source, source_version.as_deref()),
            ..Default::default()
        }))
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let mut input = req.input;
        // An empty delimiter is no delimiter, and is not echoed.
        input.delimiter = input.delimiter.filter(|d| !d.is_empty());
        let prefix = input.prefix.clone().unwrap_or_default();
        let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
        let uploads = self
            .engine
            .list_uploads(&input.bucket, &prefix)
            .await
            .map_err(to_wire)?;
        let key_marker = input.key_marker.clone().unwrap_or_default();
        // Uploads come ordered by key, then by initiation: resume after the upload
        // the markers name, or after every upload of the marker key.
        let resume_at = match input
            .upload_id_marker
            .as_deref()
            .filter(|id| !id.is_empty())
        {
            _ if key_marker.is_empty() => 0,
            Some(id) => uploads
                .iter()
                .position(|u| u.key == key_marker && u.upload_id == id)
                .map(|i| i + 1)
                .unwrap_or_else(|| uploads.partition_point(|u| u.key <= key_marker)),
            None => uploads.partition_point(|u| u.key <= key_marker),
        };
        let delimiter = input.delimiter.as_deref().filter(|d| !d.is_empty());
        let owner = self.owner();
        let mut page = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut truncated = false;
        let mut next: Option<(String, String)> = None;
        for upload in uploads.into_iter().skip(resume_at) {
            let folded = delimiter.and_then(|d| {
                upload.key[prefix.len()..]
                    .find(d)
                    .map(|i| upload.key[..prefix.len() + i + d.len()].to_owned())
            });
            if let Some(common) = &folded
                && (prefixes.last() == Some(common) || key_marker.starts_with(common.as_str()))
            {
                continue;
            }
            if page.len() + prefixes.len() == max {
                truncated = true;
                break;
            }
            match folded {
                Some(common) => {
                    next = Some((common.clone(), String::new()));
                    prefixes.push(common);
                }
                None => {
                    next = Some((upload.key.clone(), upload.upload_id.clone()));
                    page.push(MultipartUpload {
                        key: Some(upload.key),
                        upload_id: Some(upload.upload_id),
                        initiated: Some(timestamp(upload.created_ms)),
                        storage_class: Some(StorageClass::from(
                            upload
                                .attrs
                                .storage_class
                                .unwrap_or_else(|| "STANDARD".to_owned()),
                        )),
                        owner: Some(owner.clone()),
                        initiator: Some(Initiator {
                            display_name: owner.display_name.clone(),
                            id: owner.id.clone(),
                        }),
                        ..Default::default()
                    });
                }
            }
        }
        let (next_key_marker, next_upload_id_marker) = match next.filter(|_| truncated) {
            Some((key, id)) => (Some(key), Some(id)),
            None => (None, None),
        };
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: Some(prefix),
            delimiter: input.delimiter,
            key_marker: Some(key_marker),
            upload_id_marker: Some(input.upload_id_marker.unwrap_or_default()),
            max_uploads: Some(max as i32),
            is_truncated: Some(truncated),
            next_key_marker,
            next_upload_id_marker,
            encoding_type: input.encoding_type,
            uploads: (!page.is_empty()).then_some(page),
            common_prefixes: (!prefixes.is_empty()).then(|| {
                prefixes
                    .into_iter()
                    .map(|p| CommonPrefix { prefix: Some(p) })
                    .collect()
            }),
            ..Default::default()
        }))
    }
}

/// The fields of a form upload that a PUT of the same object would carry.
fn post_as_put(post: PostObjectInput) -> PutObjectInput {
    PutObjectInput {
        body: post.body,
        bucket: post.bucket,
        key: post.key,
        cache_control: post.cache_control,
        checksum_algorithm: post.checksum_algorithm,
        checksum_crc32: post.checksum_crc32,
        checksum_crc32c: post.checksum_crc32c,
        checksum_crc64nvme: post.checksum_crc64nvme,
        checksum_sha1: post.checksum_sha1,
        checksum_sha256: post.checksum_sha256,
        content_disposition: post.content_disposition,
        content_encoding: post.content_encoding,
        content_language: post.content_language,
        content_length: post.content_length,
        content_md5: post.content_md5,
        content_type: post.content_type,
        expires: post.expires,
        metadata: post.metadata,
        storage_class: post.storage_class,
        tagging: post.tagging,
        ..Default::default()
    }
}

fn check_part_number(part_number: i32) -> S3Result<()> {
    if !(1..=10_000).contains(&part_number) {
        return Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ));
    }
    Ok(())
}

/// Parses `x-amz-copy-source-range: bytes=first-last` against the source size;
/// returns (start, length).
fn copy_source_range(range: &str, size: u64) -> S3Result<(u64, u64)> {
    let bounds = range
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)));
    let Some((first, last)) = bounds.filter(|(first, last)| first <= last) else {
        return Err(s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        ));
    };
    if last >= size {
        return Err(s3_error!(
            InvalidRange,
            "The requested range is not satisfiable"
        ));
    }
    Ok((first, last - first + 1))
}

fn maybe_url_encode(value: String, url: bool) -> String {
    if url {
        percent_encoding::utf8_percent_encode(&value, URL_ENCODE).to_string()
    } else {
        value
    }
}

const URL_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

fn list_entry(meta: &ObjectMeta, owner: bool, url: bool, engine: &Engine) -> Object {
    Object {
        key: Some(maybe_url_encode(meta.key.clone(), url)),
        size: Some(meta.size as i64),
        e_tag: Some(etag(meta)),
        last_modified: Some(timestamp(meta.last_modified_ms)),
        storage_class: Some(ObjectStorageClass::from(
            meta.attrs
                .storage_class
                .clone()
                .unwrap_or_else(|| "STANDARD".to_owned()),
        )),
        owner: owner.then(|| Owner {
            display_name: Some("eddy".to_owned()),
            id: Some(engine.settings().account_id.clone()),
        }),
        ..Default::default()
    }
}

fn encode_token(last: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last)
}

/// The page size of a listing: `max-keys` as S3 takes it. A negative value is refused
/// as S3 refuses it; anything above 1,000 is served as 1,000, as S3 does.
fn page_size(max_keys: Option<i32>) -> S3Result<usize> {
    match max_keys {
        None => Ok(1000),
        Some(n) if n < 0 => Err(s3_error!(
            InvalidArgument,
            "Argument maxKeys must be an integer between 0 and 2147483647"
        )),
        Some(n) => Ok(n.min(1000) as usize),
    }
}

fn decode_token(token: &str) -> S3Result<String> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        assert!(valid_bucket_name("source"));
        assert!(valid_bucket_name("my.bucket-1"));
        assert!(!valid_bucket_name("ab"));
        assert!(!valid_bucket_name("Upper"));
        assert!(!valid_bucket_name("_eddy"));
        assert!(!valid_bucket_name("192.168.1.1"));
        assert!(!valid_bucket_name("a..b"));
    }

    #[test]
    fn continuation_tokens_round_trip() {
        assert_eq!(
            decode_token(&encode_token("a/b c")).ok().as_deref(),
            Some("a/b c")
        );
        assert!(decode_token("!!!").is_err());
    }
}
