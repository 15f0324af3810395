//! The copy family: CopyObject and UploadPartCopy, which share how a copy source is
//! found (a version of it when named) and its `x-amz-copy-source-if-*` conditions.

use s3s::dto::{
    ChecksumAlgorithm, CopyObjectInput, CopyObjectOutput, CopyObjectResult, CopyPartResult,
    CopySource, ETag, ETagCondition, MetadataDirective, TaggingDirective, Timestamp,
    UploadPartCopyInput, UploadPartCopyOutput,
};
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{ChecksumKind, ObjectAttrs, ObjectMeta, S3Error};

use super::authz::acl::object_acl_request;
use super::bucket_config::acl::new_object_acl;
use super::bucket_config::encryption::reported;
use super::bucket_config::new_object::new_object_configs;
use super::checksums::{
    ChecksumRequest, TRAILER_HEADERS, checksum_fields, checksum_of_object, checksum_type,
    stage_copied_part,
};
use super::conditions::check_conditions;
use super::convert::{context, etag, format_http_date, reported_version, timestamp};
use super::errors::{precondition_failed, to_wire};
use super::limits::{MAX_PUT_BYTES, check_key, check_part_number};
use super::multipart_checksums::{DEFAULT_ALGORITHM, upload_algorithm};
use super::object_attrs::{
    archived, checked_storage_class, lowercase_metadata, stored_content_encoding,
};
use super::object_lock::new_object_lock;
use super::sse_c::{copy_source_key, customer_key, echoed, requested_keys};
use super::tags::tags_from_header;

pub(super) async fn copy_object(
    store: &Store,
    req: S3Request<CopyObjectInput>,
) -> S3Result<S3Response<CopyObjectOutput>> {
    let context = context(&req);
    let input = req.input;
    check_key(&input.key)?;
    let (source, source_version) = copy_source(
        store,
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
    copy_source_key!(input).for_read(source.attrs.sse_customer_key_md5.as_deref())?;
    for (directive, name) in [
        (
            input
                .metadata_directive
                .as_ref()
                .map(s3s::dto::MetadataDirective::as_str),
            "metadata",
        ),
        (
            input
                .tagging_directive
                .as_ref()
                .map(s3s::dto::TaggingDirective::as_str),
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
    let same = source.bucket == input.bucket && source.key == input.key && source_version.is_none();
    if same
        && !replace
        && !replace_tags
        && input.storage_class.is_none()
        && input.server_side_encryption.is_none()
        && input.sse_customer_algorithm.is_none()
    {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
        ));
    }
    let requested_class = checked_storage_class(input.storage_class.as_ref())?;
    // The copy is encrypted as its request or its destination bucket says.
    let configs = new_object_configs(store, &input.bucket).await?;
    let (sse_customer_key_md5, kms_encryption) = requested_keys!(configs, input)?;
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
        kms_encryption: kms_encryption.clone(),
        sse_customer_key_md5: sse_customer_key_md5.clone(),
        checksum_type: source.attrs.checksum_type,
        checksum_algorithm: None,
        part_checksums: source.attrs.part_checksums.clone(),
        retention: None,
        legal_hold: None,
        acl: None,
        restore: None,
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
    let mut attrs = attrs.unwrap_or_else(|| source.attrs.clone());
    attrs.kms_encryption = kms_encryption;
    attrs.sse_customer_key_md5 = sse_customer_key_md5;
    // A copy has its own lock: its request's, or its bucket's default.
    let lock = new_object_lock(
        configs.object_lock.as_ref(),
        input.object_lock_mode.as_ref(),
        input.object_lock_retain_until_date.as_ref(),
        input.object_lock_legal_hold_status.as_ref(),
    )?;
    attrs.retention = lock.retention;
    attrs.legal_hold = lock.legal_hold;
    // A copy has its request's ACL, not its source's; and no restore of its own.
    attrs.acl = new_object_acl(store, &input.bucket, &object_acl_request!(input)).await?;
    attrs.restore = None;
    if let Some(algorithm) = copy_checksum_algorithm(&source, input.checksum_algorithm.as_ref())? {
        attrs.checksums = checksum_of_object(store, &source, &algorithm).await?;
        attrs.checksum_type = Some(ChecksumKind::FullObject);
        attrs.part_checksums = Vec::new();
    } else if attrs.checksum_type.is_none() {
        attrs.checksum_type = Some(ChecksumKind::FullObject);
    }
    let meta = store
        .objects()
        .copy_version(
            &source,
            input.copy_source_if_match.is_some(),
            (&input.bucket, &input.key),
            Some(attrs),
            context,
        )
        .await
        .map_err(to_wire)?;
    let sse = reported(store, meta.attrs.kms_encryption.as_ref());
    let echo = echoed(meta.attrs.sse_customer_key_md5.as_ref(), sse.algorithm);
    let [crc32, crc32c, sha1, sha256, crc64nvme] = checksum_fields(&meta, true);
    Ok(S3Response::new(CopyObjectOutput {
        server_side_encryption: echo.sse,
        sse_customer_algorithm: echo.algorithm,
        sse_customer_key_md5: echo.key_md5,
        ssekms_key_id: sse.key_id,
        bucket_key_enabled: sse.bucket_key_enabled,
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(etag(&meta)),
            last_modified: Some(timestamp(meta.last_modified_ms)),
            checksum_crc32: crc32,
            checksum_crc32c: crc32c,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            checksum_crc64nvme: crc64nvme,
            checksum_type: checksum_type(&meta),
        }),
        copy_source_version_id: reported_version(&source, source_version.as_deref()),
        version_id: meta.version_id.clone(),
        ..Default::default()
    }))
}

/// The algorithm of the checksum a copy computes anew, if any: the one the request
/// names; else the source's, when its checksum is composite (a copy is one piece);
/// else S3's default, when the source has no checksum. A source's full-object
/// checksum is kept as it is.
fn copy_checksum_algorithm(
    source: &ObjectMeta,
    asked: Option<&ChecksumAlgorithm>,
) -> S3Result<Option<String>> {
    if let Some(asked) = asked {
        let name = asked.as_str().to_ascii_uppercase();
        if !TRAILER_HEADERS.iter().any(|(known, _)| *known == name) {
            return Err(s3_error!(
                InvalidRequest,
                "Value for x-amz-checksum-algorithm header is invalid."
            ));
        }
        return Ok(Some(name));
    }
    let source_algorithm = source.attrs.checksums.keys().next().cloned();
    Ok(match (source_algorithm, source.attrs.checksum_type) {
        (None, _) => Some(DEFAULT_ALGORITHM.to_owned()),
        (Some(name), Some(ChecksumKind::Composite)) => Some(name),
        (Some(_), _) => None,
    })
}

pub(super) async fn upload_part_copy(
    store: &Store,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let input = req.input;
    check_part_number(input.part_number)?;
    let upload = store
        .uploads()
        .get(&input.bucket, &input.key, &input.upload_id)
        .await
        .map_err(to_wire)?;
    customer_key!(input).for_part(upload.attrs.sse_customer_key_md5.as_deref())?;
    let sse = reported(store, upload.attrs.kms_encryption.as_ref());
    let echo = echoed(upload.attrs.sse_customer_key_md5.as_ref(), sse.algorithm);
    let (source, source_version) = copy_source(
        store,
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
    copy_source_key!(input).for_read(source.attrs.sse_customer_key_md5.as_deref())?;
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
    let checksums = ChecksumRequest::computing(upload_algorithm(&upload));
    let (staged, stored) = stage_copied_part(store, &source.blob, start, length, checksums).await?;
    let part_etag = hex::encode(staged.md5);
    let part = store
        .uploads()
        .put_part(
            &input.bucket,
            &input.key,
            &input.upload_id,
            input.part_number as u32,
            staged,
            part_etag,
            stored,
        )
        .await
        .map_err(to_wire)?;
    let get = |name: &str| part.checksums.get(name).cloned();
    Ok(S3Response::new(UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(ETag::Strong(part.etag.clone())),
            last_modified: Some(timestamp(part.last_modified_ms)),
            checksum_crc32: get("CRC32"),
            checksum_crc32c: get("CRC32C"),
            checksum_sha1: get("SHA1"),
            checksum_sha256: get("SHA256"),
            checksum_crc64nvme: get("CRC64NVME"),
        }),
        copy_source_version_id: reported_version(&source, source_version.as_deref()),
        server_side_encryption: echo.sse,
        sse_customer_algorithm: echo.algorithm,
        sse_customer_key_md5: echo.key_md5,
        ssekms_key_id: sse.key_id,
        bucket_key_enabled: sse.bucket_key_enabled,
        ..Default::default()
    }))
}

/// Looks up the source of a copy (a version of it when named) and checks the
/// `x-amz-copy-source-if-*` conditions; returns it and the version asked for.
async fn copy_source(
    store: &Store,
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
    let source = store
        .objects().get_version(bucket, key, version_id.as_deref())
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
        // A copy names its failed condition by the copy-source header.
        let condition = if *e.code() == S3ErrorCode::NotModified {
            if if_none_match.is_some() {
                "If-None-Match"
            } else {
                "If-Modified-Since"
            }
        } else if if_match.is_some() {
            "If-Match"
        } else {
            "If-Unmodified-Since"
        };
        if *e.code() == S3ErrorCode::NotModified || *e.code() == S3ErrorCode::PreconditionFailed {
            precondition_failed(&format!("x-amz-copy-source-{condition}"))
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
