//! The object read family: GetObject, HeadObject and GetObjectAttributes, with the
//! byte window a read serves (the whole object, a `Range`, or a `partNumber`), its
//! conditions, and the headers S3 answers with.

use s3s::dto::{
    Checksum, ChecksumMode, GetObjectAttributesInput, GetObjectAttributesOutput,
    GetObjectAttributesParts, GetObjectInput, GetObjectOutput, HeadObjectInput, HeadObjectOutput,
    ObjectAttributes, ObjectPart, Range, StorageClass, StreamingBlob,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::ObjectMeta;

use super::bucket_config::encryption::reported;
use super::checksums::{checksum_fields, checksum_type, read_checksums};
use super::conditions::check_conditions;
use super::convert::{etag, parse_http_date, reported_version, timestamp};
use super::errors::{to_wire, with_elements};
use super::lifecycle_expiration::expiration_header;
use super::object_attrs::{
    archived, ascii_metadata, raw_metadata_headers, restore_header, storage_class,
    storage_class_name,
};
use super::object_lock::lock_headers;
use super::sse_c::{customer_key, echoed};
use super::tags::tag_count;

pub(super) async fn get_object(
    store: &Store,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    refuse_encryption_header(&req.headers)?;
    let input = req.input;
    let (meta, content) = store
        .objects()
        .open_version(&input.bucket, &input.key, input.version_id.as_deref())
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
    // As S3, a missing part or range is told before a missing key.
    customer_key!(input).for_read(meta.attrs.sse_customer_key_md5.as_deref())?;
    let stream = content
        .into_stream(start, length)
        .await
        .map_err(|e| s3_error!(e, InternalError))?;
    let whole = content_range.is_none() && input.part_number.is_none();
    let checksum_mode = input
        .checksum_mode
        .as_ref()
        .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
    let ([crc32, crc32c, sha1, sha256, crc64nvme], reported_type) =
        read_checksums(&meta, checksum_mode, whole, input.part_number);
    let sse = reported(store, meta.attrs.kms_encryption.as_ref());
    let echo = echoed(meta.attrs.sse_customer_key_md5.as_ref(), sse.algorithm);
    let (object_lock_mode, object_lock_retain_until_date, object_lock_legal_hold_status) =
        lock_headers(&meta);
    let mut output = GetObjectOutput {
        object_lock_mode,
        object_lock_retain_until_date,
        object_lock_legal_hold_status,
        checksum_type: reported_type,
        server_side_encryption: echo.sse,
        sse_customer_algorithm: echo.algorithm,
        sse_customer_key_md5: echo.key_md5,
        ssekms_key_id: sse.key_id,
        bucket_key_enabled: sse.bucket_key_enabled,
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
        restore: restore_header(&meta),
        expiration: current_expiration(store, &meta, input.version_id.as_deref()).await,
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

pub(super) async fn head_object(
    store: &Store,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    refuse_encryption_header(&req.headers)?;
    let input = req.input;
    let meta = store
        .objects()
        .get_version(&input.bucket, &input.key, input.version_id.as_deref())
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
    customer_key!(input).for_read(meta.attrs.sse_customer_key_md5.as_deref())?;
    let whole = part.content_range.is_none() && input.part_number.is_none();
    let ([crc32, crc32c, sha1, sha256, crc64nvme], reported_type) =
        read_checksums(&meta, checksum_mode, whole, input.part_number);
    let sse = reported(store, meta.attrs.kms_encryption.as_ref());
    let echo = echoed(meta.attrs.sse_customer_key_md5.as_ref(), sse.algorithm);
    let (object_lock_mode, object_lock_retain_until_date, object_lock_legal_hold_status) =
        lock_headers(&meta);
    let mut response = S3Response::new(HeadObjectOutput {
        object_lock_mode,
        object_lock_retain_until_date,
        object_lock_legal_hold_status,
        checksum_type: reported_type,
        server_side_encryption: echo.sse,
        sse_customer_algorithm: echo.algorithm,
        sse_customer_key_md5: echo.key_md5,
        ssekms_key_id: sse.key_id,
        bucket_key_enabled: sse.bucket_key_enabled,
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
        restore: restore_header(&meta),
        expiration: current_expiration(store, &meta, input.version_id.as_deref()).await,
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

/// S3 refuses a read that names a server-side encryption: the object has its own.
fn refuse_encryption_header(headers: &http::HeaderMap) -> S3Result<()> {
    if let Some(value) = headers.get("x-amz-server-side-encryption") {
        return Err(with_elements(
            s3_error!(
                InvalidArgument,
                "x-amz-server-side-encryption header is not supported for this operation."
            ),
            &[
                ("ArgumentName", "x-amz-server-side-encryption"),
                ("ArgumentValue", value.to_str().unwrap_or_default()),
            ],
        ));
    }
    Ok(())
}

pub(super) async fn get_object_attributes(
    store: &Store,
    req: S3Request<GetObjectAttributesInput>,
) -> S3Result<S3Response<GetObjectAttributesOutput>> {
    let input = req.input;
    let meta = store
        .objects()
        .get_version(&input.bucket, &input.key, input.version_id.as_deref())
        .await
        .map_err(to_wire)?;
    customer_key!(input).for_read(meta.attrs.sse_customer_key_md5.as_deref())?;
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
    let parts =
        (wanted(ObjectAttributes::OBJECT_PARTS) && !meta.attrs.part_sizes.is_empty()).then(|| {
            let marker = input.part_number_marker.unwrap_or(0).max(0) as usize;
            let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
            let listed: Vec<ObjectPart> = meta
                .attrs
                .part_sizes
                .iter()
                .enumerate()
                .skip(marker)
                .take(max)
                .map(|(i, size)| {
                    let sums = meta.attrs.part_checksums.get(i);
                    let get = |name: &str| sums.and_then(|s| s.get(name).cloned());
                    ObjectPart {
                        part_number: Some(i as i32 + 1),
                        size: Some(*size as i64),
                        checksum_crc32: get("CRC32"),
                        checksum_crc32c: get("CRC32C"),
                        checksum_sha1: get("SHA1"),
                        checksum_sha256: get("SHA256"),
                        checksum_crc64nvme: get("CRC64NVME"),
                    }
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
        storage_class: wanted(ObjectAttributes::STORAGE_CLASS)
            .then(|| StorageClass::from(storage_class_name(&meta.attrs))),
        checksum: (wanted(ObjectAttributes::CHECKSUM) && has_checksum).then(|| Checksum {
            checksum_crc32: crc32,
            checksum_crc32c: crc32c,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            checksum_crc64nvme: crc64nvme,
            checksum_type: checksum_type(&meta),
        }),
        object_parts: parts,
        last_modified: Some(timestamp(meta.last_modified_ms)),
        version_id: reported_version(&meta, input.version_id.as_deref()),
        ..Default::default()
    }))
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

/// `x-amz-expiration` of a read: for the current object (a request naming no version).
async fn current_expiration(
    store: &Store,
    meta: &ObjectMeta,
    version_id: Option<&str>,
) -> Option<String> {
    match version_id {
        None => expiration_header(store, meta).await,
        Some(_) => None,
    }
}
