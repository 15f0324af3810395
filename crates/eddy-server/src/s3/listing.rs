//! Pieces of the object listings: entries, URL encoding of keys, page sizes and
//! continuation tokens.

use super::*;

pub(super) fn maybe_url_encode(value: String, url: bool) -> String {
    if url {
        percent_encoding::utf8_percent_encode(&value, URL_ENCODE).to_string()
    } else {
        value
    }
}

pub(super) const URL_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

pub(super) fn list_entry(meta: &ObjectMeta, owner: bool, url: bool, store: &Store) -> Object {
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
            id: Some(store.settings().account_id.clone()),
        }),
        ..Default::default()
    }
}

pub(super) fn encode_token(last: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last)
}

/// The page size of a listing: `max-keys` as S3 takes it. A negative value is refused
/// as S3 refuses it; anything above 1,000 is served as 1,000, as S3 does.
pub(super) fn page_size(max_keys: Option<i32>) -> S3Result<usize> {
    match max_keys {
        None => Ok(1000),
        Some(n) if n < 0 => Err(s3_error!(
            InvalidArgument,
            "Argument maxKeys must be an integer between 0 and 2147483647"
        )),
        Some(n) => Ok(n.min(1000) as usize),
    }
}

pub(super) fn decode_token(token: &str) -> S3Result<String> {
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
