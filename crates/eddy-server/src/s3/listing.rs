//! The object listing family: ListObjects, ListObjectsV2 and ListObjectVersions, with
//! prefixes, delimiters, markers or continuation tokens, `encoding-type=url` and
//! `fetch-owner`.

use s3s::dto::{
    CommonPrefix, DeleteMarkerEntry, EncodingType, ListObjectVersionsInput,
    ListObjectVersionsOutput, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input,
    ListObjectsV2Output, Object, ObjectStorageClass, ObjectVersion, ObjectVersionStorageClass,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::VersionQuery;
use eddy_store::s3::{ListQuery, ObjectMeta};

use super::checksums::{checksum_algorithms, checksum_type};
use super::convert::{decode_token, encode_token, etag, maybe_url_encode, owner, timestamp};
use super::errors::{to_wire, with_elements};
use super::object_attrs::storage_class_name;

pub(super) async fn list_objects(
    store: &Store,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let mut input = req.input;
    // An empty delimiter is no delimiter, and is not echoed.
    input.delimiter = input.delimiter.filter(|d| !d.is_empty());
    let max_keys = page_size(input.max_keys)?;
    let page = store
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
    let url = url_encoded(input.encoding_type.as_ref());
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
        contents: Some(contents(&page.objects, true, url, store)),
        common_prefixes: Some(common_prefixes(page.common_prefixes, url)),
        ..Default::default()
    }))
}

pub(super) async fn list_objects_v2(
    store: &Store,
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
    let page = store
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
    let url = url_encoded(input.encoding_type.as_ref());
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
        contents: Some(contents(&page.objects, fetch_owner, url, store)),
        common_prefixes: Some(common_prefixes(page.common_prefixes, url)),
        ..Default::default()
    }))
}

pub(super) async fn list_object_versions(
    store: &Store,
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
    let page = store
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
    let url = url_encoded(input.encoding_type.as_ref());
    let owner = owner(store);
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
                storage_class: Some(ObjectVersionStorageClass::from(storage_class_name(
                    &meta.attrs,
                ))),
                version_id,
                checksum_algorithm: checksum_algorithms(meta),
                checksum_type: checksum_type(meta),
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
        common_prefixes: (!page.common_prefixes.is_empty())
            .then(|| common_prefixes(page.common_prefixes, url)),
        ..Default::default()
    }))
}

/// The objects of a page as a listing shows them, with their owner when asked.
fn contents(objects: &[ObjectMeta], with_owner: bool, url: bool, store: &Store) -> Vec<Object> {
    objects
        .iter()
        .map(|meta| Object {
            key: Some(maybe_url_encode(meta.key.clone(), url)),
            size: Some(meta.size as i64),
            e_tag: Some(etag(meta)),
            last_modified: Some(timestamp(meta.last_modified_ms)),
            storage_class: Some(ObjectStorageClass::from(storage_class_name(&meta.attrs))),
            owner: with_owner.then(|| owner(store)),
            checksum_algorithm: checksum_algorithms(meta),
            checksum_type: checksum_type(meta),
            ..Default::default()
        })
        .collect()
}

/// The common prefixes of a page, as a listing shows them.
fn common_prefixes(prefixes: Vec<String>, url: bool) -> Vec<CommonPrefix> {
    prefixes
        .into_iter()
        .map(|p| CommonPrefix {
            prefix: Some(maybe_url_encode(p, url)),
        })
        .collect()
}

/// Whether the request asked for `encoding-type=url`.
fn url_encoded(encoding_type: Option<&EncodingType>) -> bool {
    encoding_type.is_some_and(|e| e.as_str() == EncodingType::URL)
}

/// The page size of a listing: `max-keys` as S3 takes it. A negative value is refused
/// as S3 refuses it; anything above 1,000 is served as 1,000, as S3 does.
fn page_size(max_keys: Option<i32>) -> S3Result<usize> {
    match max_keys {
        None => Ok(1000),
        Some(n) if n < 0 => Err(with_elements(
            s3_error!(
                InvalidArgument,
                "Argument maxKeys must be an integer between 0 and 2147483647"
            ),
            &[
                ("ArgumentName", "maxKeys"),
                ("ArgumentValue", &n.to_string()),
            ],
        )),
        Some(n) => Ok(n.min(1000) as usize),
    }
}
