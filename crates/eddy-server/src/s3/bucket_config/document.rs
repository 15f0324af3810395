//! Storing a bucket configuration: the typed `s3s` value, validated by its kind's file,
//! is written as its S3 XML document under the kind's root element, and read back into
//! the same type. The answers each kind shares live here too (204 for deletes).

use s3s::xml::{DeserializeContent, Deserializer, SerializeContent, Serializer};
use s3s::{S3Error as WireError, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{Config, ConfigKind};

use crate::s3::errors::to_wire;

/// The XML document of `value` under `root`.
pub(super) fn to_document<T: SerializeContent>(root: &str, value: &T) -> S3Result<String> {
    let mut buf = Vec::new();
    Serializer::new(&mut buf)
        .content(root, value)
        .map_err(|e| internal(&format!("serializing {root}: {e:?}")))?;
    String::from_utf8(buf).map_err(|e| internal(&format!("serializing {root}: {e}")))
}

/// The value a stored document holds.
pub(super) fn from_document<T>(root: &str, document: &str) -> S3Result<T>
where
    T: for<'x> DeserializeContent<'x>,
{
    let mut d = Deserializer::new(document.as_bytes());
    let value = d
        .named_element(root, Deserializer::content)
        .map_err(|e| internal(&format!("reading the stored {root}: {e:?}")))?;
    Ok(value)
}

/// A bucket's configuration of `kind` (NoSuchBucket when the bucket does not exist).
pub(super) async fn load_config(
    store: &Store,
    bucket: &str,
    kind: ConfigKind,
    id: &str,
) -> S3Result<Config> {
    store
        .bucket_configs()
        .get(bucket, kind, id)
        .await
        .map_err(to_wire)
}

/// The stored value of `kind`, or `None` when the bucket has none (never set or deleted).
pub(super) async fn load<T>(
    store: &Store,
    bucket: &str,
    kind: ConfigKind,
    id: &str,
    root: &str,
) -> S3Result<Option<T>>
where
    T: for<'x> DeserializeContent<'x>,
{
    parse(load_config(store, bucket, kind, id).await?, root)
}

/// The value a configuration read from the store holds, or `None` when it has none.
pub(super) fn parse<T>(config: Config, root: &str) -> S3Result<Option<T>>
where
    T: for<'x> DeserializeContent<'x>,
{
    config
        .document()
        .map(|document| from_document(root, &document))
        .transpose()
}

/// Stores `value` as the bucket's configuration of `kind`.
pub(super) async fn save<T: SerializeContent>(
    store: &Store,
    bucket: &str,
    kind: ConfigKind,
    id: &str,
    root: &str,
    value: &T,
) -> S3Result<()> {
    let document = to_document(root, value)?;
    store
        .bucket_configs()
        .put(bucket, kind, id, document)
        .await
        .map_err(to_wire)
}

/// Deletes the bucket's configuration of `kind`; returns whether it had one.
pub(super) async fn remove(
    store: &Store,
    bucket: &str,
    kind: ConfigKind,
    id: &str,
) -> S3Result<bool> {
    store
        .bucket_configs()
        .delete(bucket, kind, id)
        .await
        .map_err(to_wire)
}

/// S3's answer to a successful delete of a configuration: 204 No Content.
pub(super) fn no_content<T>(output: T) -> S3Response<T> {
    let mut response = S3Response::new(output);
    response.status = Some(http::StatusCode::NO_CONTENT);
    response
}

/// The answer to a document that S3 would not have accepted: 400 MalformedXML.
pub(super) fn malformed() -> WireError {
    s3_error!(
        MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema"
    )
}

/// `true` for the values S3 takes as an id of a keyed configuration (analytics,
/// inventory, metrics, intelligent tiering): 1 to 64 letters, digits, `.`, `-`, `_`.
pub(super) fn valid_config_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// The check that the id in a keyed configuration's body is the one in its URL.
pub(super) fn check_config_id(query_id: &str, body_id: &str) -> S3Result<()> {
    if !valid_config_id(query_id) {
        return Err(s3_error!(InvalidArgument, "Invalid id"));
    }
    if query_id != body_id {
        return Err(s3_error!(
            InvalidArgument,
            "The ID in the configuration does not match the ID in the request"
        ));
    }
    Ok(())
}

pub(super) fn internal(detail: &str) -> WireError {
    tracing::error!(detail, "a stored bucket configuration could not be used");
    s3_error!(
        InternalError,
        "We encountered an internal error. Please try again."
    )
}
