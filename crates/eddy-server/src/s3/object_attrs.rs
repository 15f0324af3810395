//! What an object carries besides its bytes, as writes give it and reads report it:
//! user metadata (its size limit and its header forms), the stored Content-Encoding,
//! and the storage class. Depends only on `limits`.

use std::collections::BTreeMap;

use s3s::dto::{Metadata, StorageClass};
use s3s::{S3Result, s3_error};

use eddy_store::s3::{ObjectAttrs, ObjectMeta};

use super::convert::{format_http_date, timestamp};
use super::limits::MAX_USER_METADATA_BYTES;

/// User metadata with ASCII values, for `s3s` to write as `x-amz-meta-*` headers.
pub(super) fn ascii_metadata(attrs: &ObjectAttrs) -> Option<Metadata> {
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
pub(super) fn raw_metadata_headers(attrs: &ObjectAttrs) -> http::HeaderMap {
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
pub(super) fn stored_content_encoding(value: Option<&str>) -> Option<String> {
    let kept: Vec<&str> = value?
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}
/// User metadata as stored: names in lowercase, within S3's 2 KB limit.
pub(super) fn lowercase_metadata(metadata: Option<Metadata>) -> S3Result<BTreeMap<String, String>> {
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

/// The storage class an object is listed with: its class, STANDARD when none was given.
pub(super) fn storage_class_name(attrs: &ObjectAttrs) -> String {
    attrs
        .storage_class
        .clone()
        .unwrap_or_else(|| "STANDARD".to_owned())
}

/// The `x-amz-storage-class` of GET and HEAD: absent for STANDARD, as in S3.
pub(super) fn storage_class(attrs: &ObjectAttrs) -> Option<StorageClass> {
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
pub(super) fn checked_storage_class(class: Option<&StorageClass>) -> S3Result<Option<String>> {
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

/// Whether reading an object's bytes needs a restore first: an archive class, with
/// no restored copy readable now.
pub(super) fn archived(meta: &ObjectMeta) -> bool {
    let class = meta.attrs.storage_class.as_deref().unwrap_or_default();
    eddy_store::s3::ARCHIVED_CLASSES.contains(&class)
        && !meta
            .attrs
            .restore
            .is_some_and(|r| r.readable(eddy_store::time::now_ms()))
}

/// The `x-amz-restore` header of an object with a restore: under way, or done with
/// the copy's expiry (nothing once the copy expired).
pub(super) fn restore_header(meta: &ObjectMeta) -> Option<String> {
    let restore = meta.attrs.restore?;
    let now = eddy_store::time::now_ms();
    if restore.ongoing(now) {
        return Some("ongoing-request=\"true\"".to_owned());
    }
    let expiry = format_http_date(&timestamp(restore.expires_at_ms))?;
    restore
        .readable(now)
        .then(|| format!("ongoing-request=\"false\", expiry-date=\"{expiry}\""))
}
