//! S3 over the store, through the `s3s` crate: `s3s` parses requests, verifies SigV4
//! and decodes aws-chunked bodies; this module checks digests against the bytes, maps
//! each operation onto the store, and shapes the answers as S3 does.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use s3s::dto::*;
use s3s::{S3, S3Error as WireError, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::blobs::{Placement, StageError, StagedBlob};
use eddy_store::s3::VersionQuery;
use eddy_store::s3::{ChangeContext, QueueNotification, notification_rules as notify};
use eddy_store::s3::{ListQuery, ObjectAttrs, ObjectMeta, S3Error};

use crate::RequestIds;

mod checksums;
mod errors;
mod listing;
mod notification_config;
mod reads;
mod tags;

use checksums::*;
use errors::*;
pub use errors::{add_request_ids_to_error, close_after_refused_body, has_body, refuse_early};
use listing::*;
use notification_config::*;
use reads::*;
use tags::*;

/// The largest single PUT S3 accepts (5 GiB).
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// The largest key S3 accepts, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// The S3 service of eddy.
#[derive(Clone)]
pub struct EddyS3 {
    store: Store,
}

impl EddyS3 {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
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

impl EddyS3 {
    /// The owner S3 reports for everything in this account.
    fn owner(&self) -> Owner {
        Owner {
            display_name: Some("eddy".to_owned()),
            id: Some(self.store.settings().account_id.clone()),
        }
    }

    async fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        self.store.buckets().get(bucket).await.map_err(to_wire)?;
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
        let current = match self.store.objects().get(bucket, key).await {
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
            .store
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
            stage_body(&self.store, body, &mut checksums, MAX_PUT_BYTES, placement).await?;
        // The body has been read to its end, so its trailer (if any) has arrived.
        let verified = check_content_md5(content_md5, &staged)
            .and_then(|()| checksums.finish(trailer.values()));
        match verified {
            Ok(stored) => Ok((staged, stored)),
            Err(error) => {
                self.store.blobs().discard(staged).await;
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
        self.store
            .buckets()
            .get(&input.bucket)
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
            .store
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
            let region = &self.store.settings().region;
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
        match self.store.buckets().create(bucket).await {
            Ok(()) => {}
            // us-east-1 answers a repeated CreateBucket by its owner with 200 OK; every
            // other region with 409 BucketAlreadyOwnedByYou.
            Err(S3Error::BucketAlreadyOwnedByYou)
                if self.store.settings().region == "us-east-1" => {}
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
        self.store
            .buckets()
            .delete(&req.input.bucket)
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        let bucket = self
            .store
            .buckets()
            .get(&req.input.bucket)
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
            .store
            .buckets()
            .list()
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
            .store
            .buckets()
            .get(&req.input.bucket)
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
            .store
            .notifications()
            .get(&req.input.bucket)
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
        self.store
            .notifications()
            .put(&req.input.bucket, configs, context)
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
            .store
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
            .store
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
            .store
            .objects()
            .delete_version(
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
        self.store
            .buckets()
            .get(&input.bucket)
            .await
            .map_err(to_wire)?;
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in input.delete.objects {
            match self
                .store
                .objects()
                .delete_version(
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
            .store
            .objects()
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
        self.store
            .objects()
            .get_version(&input.bucket, &input.key, input.version_id.as_deref())
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
        self.store
            .objects()
            .get_version(&input.bucket, &input.key, input.version_id.as_deref())
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
            .store
            .objects()
            .get_version(&input.bucket, &input.key, input.version_id.as_deref())
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
            .store
            .buckets()
            .versioning(&req.input.bucket)
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
        self.store
            .buckets()
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
            .store
            .objects()
            .list_versions(
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
            .store
            .buckets()
            .tags(&req.input.bucket)
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
        self.store
            .buckets()
            .set_tags(&input.bucket, Some(tags))
            .await
            .map_err(to_wire)?;
        Ok(S3Response::new(PutBucketTaggingOutput {}))
    }

    async fn delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        self.store
            .buckets()
            .set_tags(&req.input.bucket, None)
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
            .store
            .objects()
            .get_version(&input.bucket, &input.key, input.version_id.as_deref())
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
            .store
            .objects()
            .set_tags(
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
            .store
            .objects()
            .set_tags(&input.bucket, &input.key, input.version_id.as_deref(), None)
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
            .store
            .objects()
            .list(
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
                    .map(|m| list_entry(m, true, url, &self.store))
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
            .store
            .objects()
            .list(
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
                    .map(|m| list_entry(m, fetch_owner, url, &self.store))
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
            .store
            .uploads()
            .create(&input.bucket, &input.key, attrs)
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
        self.store
            .uploads()
            .get(&input.bucket, &input.key, &input.upload_id)
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
            .store
            .uploads()
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
            .store
            .uploads()
            .complete(&input.bucket, &input.key, &input.upload_id, parts, context)
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
        self.store
            .uploads()
            .abort(&input.bucket, &input.key, &input.upload_id)
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
            .store
            .uploads()
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
        self.store
            .uploads()
            .get(&input.bucket, &input.key, &input.upload_id)
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
            .store
            .objects()
            .open_blob(&source.blob)
            .await
            .map_err(|e| s3_error!(e, NoSuchKey, "The specified key does not exist."))?;
        let staged = self
            .store
            .blobs()
            .stage_range(content, start, length)
            .await
            .map_err(stage_error)?;
        let part_etag = hex::encode(staged.md5);
        let part = self
            .store
            .uploads()
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
            .store
            .uploads()
            .list(&input.bucket, &prefix)
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
