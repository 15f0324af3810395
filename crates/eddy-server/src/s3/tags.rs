//! Object and bucket tags: S3's limits and the conversions between its tag forms
//! (the `x-amz-tagging` header, the XML tag set, the stored map). A leaf.

use std::collections::BTreeMap;

use s3s::dto::{Tag, TagSet, Tagging};
use s3s::{S3Result, s3_error};

use eddy_store::s3::ObjectMeta;

/// The most tags an object may carry, and a bucket.
pub(super) const MAX_OBJECT_TAGS: usize = 10;
pub(super) const MAX_BUCKET_TAGS: usize = 50;

/// Checks a tag set as S3 does (key 1..=128 characters, value up to 256, keys
/// unique, at most `limit` tags).
pub(super) fn check_tags(
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
pub(super) fn tags_from_header(header: Option<&String>) -> S3Result<BTreeMap<String, String>> {
    let Some(header) = header else {
        return Ok(BTreeMap::new());
    };
    check_tags(
        form_urlencoded::parse(header.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
        MAX_OBJECT_TAGS,
    )
}

/// Tags from an XML tag set (PutObjectTagging, PutBucketTagging).
pub(super) fn tags_from_set(tagging: Tagging, limit: usize) -> S3Result<BTreeMap<String, String>> {
    check_tags(
        tagging
            .tag_set
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default())),
        limit,
    )
}

/// The tags of a CreateBucket request (`front` reads them; `s3s` does not know them).
#[derive(Debug, Clone)]
pub(crate) struct CreationTags(pub TagSet);

/// A stored tag map as S3's XML tag set.
pub(super) fn tag_set(tags: &BTreeMap<String, String>) -> TagSet {
    tags.iter()
        .map(|(k, v)| Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

/// The `x-amz-tagging-count` of an object (absent without tags).
pub(super) fn tag_count(meta: &ObjectMeta) -> Option<i32> {
    (!meta.attrs.tags.is_empty()).then_some(meta.attrs.tags.len() as i32)
}
