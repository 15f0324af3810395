//! What the configurations a bucket has several of (analytics, inventory, metrics,
//! Intelligent-Tiering) share: each is named by an id in the URL that its body
//! repeats, up to 1,000 a bucket, listed 100 a page, and a missing one answers
//! `NoSuchConfiguration`. Each kind's file implements [`Keyed`] for its type.

use s3s::xml::{DeserializeContent, SerializeContent};
use s3s::{S3Error as WireError, S3Result};

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::{check_config_id, from_document, load, remove, save};
use crate::s3::errors::{custom_error, to_wire};

/// The most configurations of one keyed kind a bucket may have.
const MAX_PER_BUCKET: usize = 1000;
/// The most configurations a List answer holds.
const PAGE: usize = 100;

/// A configuration kept by id.
pub(super) trait Keyed: SerializeContent + for<'x> DeserializeContent<'x> {
    const KIND: ConfigKind;
    const ROOT: &'static str;
    fn id(&self) -> &str;
    /// S3's checks of the body (the id is checked by [`put`]).
    fn validate(&self) -> S3Result<()>;
}

/// A page of configurations and the token of the next one.
pub(super) struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

pub(super) async fn get<T: Keyed>(store: &Store, bucket: &str, id: &str) -> S3Result<T> {
    load(store, bucket, T::KIND, id, T::ROOT)
        .await?
        .ok_or_else(no_such_configuration)
}

pub(super) async fn put<T: Keyed>(
    store: &Store,
    bucket: &str,
    id: &str,
    config: &T,
) -> S3Result<()> {
    check_config_id(id, config.id())?;
    config.validate()?;
    let existing = store
        .bucket_configs()
        .list(bucket, T::KIND)
        .await
        .map_err(to_wire)?;
    if existing.len() >= MAX_PER_BUCKET && !existing.iter().any(|(i, _)| i == id) {
        return Err(custom_error(
            "TooManyConfigurations",
            http::StatusCode::BAD_REQUEST,
            "You are attempting to create a new configuration but have already reached the 1,000-configuration limit.",
        ));
    }
    save(store, bucket, T::KIND, id, T::ROOT, config).await
}

pub(super) async fn delete<T: Keyed>(store: &Store, bucket: &str, id: &str) -> S3Result<()> {
    if remove(store, bucket, T::KIND, id).await? {
        Ok(())
    } else {
        Err(no_such_configuration())
    }
}

/// The configurations after `token` (an id), by id.
pub(super) async fn list<T: Keyed>(
    store: &Store,
    bucket: &str,
    token: Option<&str>,
) -> S3Result<Page<T>> {
    let all = store
        .bucket_configs()
        .list(bucket, T::KIND)
        .await
        .map_err(to_wire)?;
    let mut items = Vec::new();
    let mut next = None;
    for (id, document) in all
        .into_iter()
        .filter(|(id, _)| token.is_none_or(|t| id.as_str() > t))
    {
        if items.len() == PAGE {
            next = Some(id);
            break;
        }
        items.push(from_document(T::ROOT, &document)?);
    }
    // The token names the last id answered, so the next page starts after it.
    let next = next.and(items.last().map(|item: &T| item.id().to_owned()));
    Ok(Page { items, next })
}

fn no_such_configuration() -> WireError {
    custom_error(
        "NoSuchConfiguration",
        http::StatusCode::NOT_FOUND,
        "The specified configuration does not exist.",
    )
}
