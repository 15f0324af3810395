//! The object write family: PutObject and POST Object (browser form upload), which
//! store a request body as an object after checking its key, size, conditions,
//! metadata, tags and digests, and raise the object-created event.

use s3s::dto::{PostObjectInput, PostObjectOutput, PutObjectInput, PutObjectOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::blobs::Placement;
use eddy_store::s3::ChangeContext;
use eddy_store::s3::{ChecksumKind, ObjectAttrs};

use super::authz::acl::object_acl_request;
use super::bucket_config::acl::new_object_acl;
use super::bucket_config::encryption::reported;
use super::bucket_config::new_object::new_object_configs;
use super::checksums::{ChecksumRequest, Trailer, checksum_fields, checksum_type, receive_body};
use super::conditions::check_write_conditions;
use super::convert::{context, etag, format_http_date, maybe_url_encode};
use super::errors::to_wire;
use super::lifecycle_expiration::expiration_by;
use super::limits::{MAX_PUT_BYTES, check_key};
use super::object_attrs::{checked_storage_class, lowercase_metadata, stored_content_encoding};
use super::object_lock::new_object_lock;
use super::sse_c::{echoed, requested_keys};
use super::tags::tags_from_header;

pub(super) async fn put_object(
    store: &Store,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let context = context(&req);
    let trailer = Trailer::of(&req);
    let output = store_object(store, req.input, trailer, "s3:ObjectCreated:Put", context).await?;
    Ok(S3Response::new(output))
}

/// POST Object (browser form upload): `s3s` has checked the form's policy and
/// signature; the object is stored as a PUT would store it, with an
/// `ObjectCreated:Post` event.
pub(super) async fn post_object(
    store: &Store,
    req: S3Request<PostObjectInput>,
) -> S3Result<S3Response<PostObjectOutput>> {
    let context = context(&req);
    let input = post_as_put(req.input);
    let (bucket, key) = (input.bucket.clone(), input.key.clone());
    let output = store_object(
        store,
        input,
        Trailer::default(),
        "s3:ObjectCreated:Post",
        context,
    )
    .await?;
    let mut response = S3Response::new(PostObjectOutput {
        e_tag: output.e_tag.clone(),
        version_id: output.version_id.clone(),
        checksum_crc32: output.checksum_crc32,
        checksum_crc32c: output.checksum_crc32c,
        checksum_sha1: output.checksum_sha1,
        checksum_sha256: output.checksum_sha256,
        checksum_crc64nvme: output.checksum_crc64nvme,
        checksum_type: output.checksum_type.clone(),
        server_side_encryption: output.server_side_encryption,
        ssekms_key_id: output.ssekms_key_id,
        bucket_key_enabled: output.bucket_key_enabled,
        sse_customer_algorithm: output.sse_customer_algorithm,
        sse_customer_key_md5: output.sse_customer_key_md5,
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

/// Stores the body of a PUT (or a form POST) as an object, checking limits,
/// conditions and digests first; `event_name` is the event it raises.
async fn store_object(
    store: &Store,
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
    // Refuses early, before reading the body, when the bucket is missing. The bucket's
    // encryption, Object Lock and lifecycle rules come in one read of the store.
    let configs = new_object_configs(store, &input.bucket).await?;
    let (sse_customer_key_md5, kms_encryption) = requested_keys!(configs, input)?;
    let lock = new_object_lock(
        configs.object_lock.as_ref(),
        input.object_lock_mode.as_ref(),
        input.object_lock_retain_until_date.as_ref(),
        input.object_lock_legal_hold_status.as_ref(),
    )?;
    check_write_conditions(
        store,
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
    // S3 wants the bytes of a locked object checked on their way in.
    let lock_asked = input.object_lock_mode.is_some()
        || input.object_lock_retain_until_date.is_some()
        || input.object_lock_legal_hold_status.is_some();
    if lock_asked
        && event_name == "s3:ObjectCreated:Put"
        && input.content_md5.is_none()
        && checksums.algorithms().is_empty()
    {
        return Err(s3_error!(
            InvalidRequest,
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"
        ));
    }
    let acl = new_object_acl(store, &input.bucket, &object_acl_request!(input)).await?;
    let checksums = checksums.with_default_crc64nvme();
    let metadata = lowercase_metadata(input.metadata)?;
    let (staged, stored_checksums) = receive_body(
        store,
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
        kms_encryption,
        sse_customer_key_md5,
        checksum_type: Some(ChecksumKind::FullObject),
        checksum_algorithm: None,
        part_checksums: Vec::new(),
        retention: lock.retention,
        legal_hold: lock.legal_hold,
        acl,
        restore: None,
    };
    let meta = store
        .objects()
        .put(
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
    let sse = reported(store, meta.attrs.kms_encryption.as_ref());
    let echo = echoed(meta.attrs.sse_customer_key_md5.as_ref(), sse.algorithm);
    Ok(PutObjectOutput {
        expiration: configs
            .lifecycle
            .as_ref()
            .and_then(|rules| expiration_by(rules, store.lifecycle_day_ms(), &meta)),
        checksum_type: checksum_type(&meta),
        server_side_encryption: echo.sse,
        sse_customer_algorithm: echo.algorithm,
        sse_customer_key_md5: echo.key_md5,
        ssekms_key_id: sse.key_id,
        bucket_key_enabled: sse.bucket_key_enabled,
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
        server_side_encryption: post.server_side_encryption,
        ssekms_key_id: post.ssekms_key_id,
        bucket_key_enabled: post.bucket_key_enabled,
        sse_customer_algorithm: post.sse_customer_algorithm,
        sse_customer_key: post.sse_customer_key,
        sse_customer_key_md5: post.sse_customer_key_md5,
        object_lock_mode: post.object_lock_mode,
        object_lock_retain_until_date: post.object_lock_retain_until_date,
        object_lock_legal_hold_status: post.object_lock_legal_hold_status,
        ..Default::default()
    }
}
