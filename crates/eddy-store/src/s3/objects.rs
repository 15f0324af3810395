//! Objects and their versions with S3 semantics: writes, reads, copies, deletes,
//! listings and tags (the [`Objects`] handle).
//!
//! An object write stages its bytes ([`crate::blobs`]), places the file (or, for a small
//! body, keeps the bytes for the database), then commits the metadata row, the inline
//! bytes and the notification messages in one transaction ([`super::commit`]): the
//! object is visible exactly when its events are queued. The blob of a replaced or
//! deleted object is removed after the commit that stopped naming it.

use std::sync::Arc;

use eddy_telemetry::FileCopied;
use rusqlite::Connection;

use super::commit::{NewBlob, commit_placed, commit_staged};
use super::deletes::{delete_latest, delete_version};
use super::error::S3Error;
use super::history;
use super::listing;
use super::model::{
    Deleted, ListPage, ListQuery, ObjectAttrs, ObjectMeta, Retention, VersionPage, VersionQuery,
    stored_version,
};
use super::notification_rules::{ChangeContext, EventObject};
use super::notifications::{Woken, enqueue_events};
use super::rows::{bucket_versioning, load_object, require_bucket};
use crate::blobs::{self, BlobContent, StagedBlob};
use crate::error::StoreError;
use crate::shared::Shared;
use crate::time::now_ms;
use crate::tx::{TxResult, abort};

/// Objects and their versions; see [`crate::Store::objects`].
pub struct Objects<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Objects<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    pub(super) fn shared(&self) -> &'s Arc<Shared> {
        self.shared
    }

    /// Places a staged body and commits it as `bucket/key`, enqueueing its events.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        staged: StagedBlob,
        attrs: ObjectAttrs,
        event_name: &str,
        context: ChangeContext,
    ) -> Result<ObjectMeta, S3Error> {
        let etag = hex::encode(staged.md5);
        commit_staged(
            self.shared,
            bucket,
            key,
            staged,
            etag,
            attrs,
            event_name,
            context,
        )
        .await
    }

    /// The current version of an object.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<ObjectMeta, S3Error> {
        self.get_version(bucket, key, None).await
    }

    /// One version of an object (`version_id` as S3 names it, `null` included), or
    /// the current version when `None`.
    pub async fn get_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<ObjectMeta, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let label = version_id.map(str::to_owned);
        self.shared
            .db
            .read(move |conn| find_version(conn, &bucket, &key, label.as_deref()))
            .await
    }

    /// An object version's row and its bytes, opened for reading. A small object's row
    /// and bytes are read in one read transaction (one trip to the database). A file
    /// replaced between reading its row and opening it (the old file is removed after
    /// the commit) is read again, so a reader racing a writer gets the old or the new
    /// object, as on S3, not an error.
    pub async fn open_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<(ObjectMeta, BlobContent), S3Error> {
        let mut previous: Option<String> = None;
        loop {
            let (bucket, key) = (bucket.to_owned(), key.to_owned());
            let label = version_id.map(str::to_owned);
            let (meta, inline) = self
                .shared
                .db
                .read(move |conn| {
                    let snapshot = conn.unchecked_transaction()?;
                    let meta = find_version(&snapshot, &bucket, &key, label.as_deref())?;
                    let inline = if blobs::is_inline(&meta.blob) {
                        blobs::read_inline(&snapshot, &meta.blob)?
                    } else {
                        None
                    };
                    Ok((meta, inline))
                })
                .await?;
            if let Some(bytes) = inline {
                return Ok((meta, BlobContent::Inline(bytes)));
            }
            match self.open_blob(&meta.blob).await {
                Ok(content) => return Ok((meta, content)),
                // The same blob twice: it is really missing.
                Err(error) if previous.as_deref() == Some(meta.blob.as_str()) => {
                    return Err(error.into());
                }
                Err(_) => previous = Some(meta.blob),
            }
        }
    }

    /// Opens a blob's bytes for reading.
    pub async fn open_blob(&self, id: &str) -> Result<BlobContent, StoreError> {
        if blobs::is_inline(id) {
            let owned = id.to_owned();
            let data = self
                .shared
                .db
                .read::<_, StoreError, _>(move |conn| Ok(blobs::read_inline(conn, &owned)?))
                .await?;
            return data
                .map(BlobContent::Inline)
                .ok_or_else(|| StoreError::Corrupt(format!("object data {id} is missing")));
        }
        let file = tokio::fs::File::open(self.shared.blobs.path(id)).await?;
        Ok(BlobContent::File(file))
    }

    /// Deletes the current version of an object as S3 does: on a bucket that never had
    /// versioning the object goes (a missing key is no error); with versioning a delete
    /// marker becomes the latest version.
    pub async fn delete(
        &self,
        bucket: &str,
        key: &str,
        context: ChangeContext,
    ) -> Result<Deleted, S3Error> {
        self.delete_version(bucket, key, None, context).await
    }

    /// Deletes an object, or with `version_id` that one version for good (an object
    /// version or a delete marker). Emits `ObjectRemoved:Delete` or
    /// `ObjectRemoved:DeleteMarkerCreated` when something changed.
    pub async fn delete_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        context: ChangeContext,
    ) -> Result<Deleted, S3Error> {
        self.remove(bucket, key, version_id, context, false).await
    }

    /// A delete by a lifecycle rule: as [`Self::delete_version`], raising
    /// `LifecycleExpiration:Delete` or `LifecycleExpiration:DeleteMarkerCreated`.
    pub async fn expire(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        context: ChangeContext,
    ) -> Result<Deleted, S3Error> {
        self.remove(bucket, key, version_id, context, true).await
    }

    async fn remove(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        context: ChangeContext,
        lifecycle: bool,
    ) -> Result<Deleted, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let label = version_id.map(str::to_owned);
        let shared = self.shared.clone();
        let sequencer = self.shared.next_sequencer();
        let (deleted, blobs, woken) = self
            .shared
            .db
            .write(move |conn| {
                let Some(versioning) = bucket_versioning(conn, &bucket)? else {
                    return abort(S3Error::NoSuchBucket);
                };
                let now = now_ms();
                let (event_name, deleted, blobs) = match label.as_deref() {
                    None => delete_latest(conn, versioning, &bucket, &key, now)?,
                    Some(label) => delete_version(conn, versioning, &bucket, &key, label)?,
                };
                // Inline bytes go with the row that named them, in this transaction.
                blobs::delete_inline(conn, &blobs)?;
                // S3 raises `ObjectRemoved:Delete` for a delete of a key that does not
                // exist too (it does not look); not for a version that does not.
                if !deleted.changed && (lifecycle || label.is_some()) {
                    return Ok((deleted, blobs, Woken::default()));
                }
                let event_version = deleted
                    .version_id
                    .as_deref()
                    .and_then(|v| versioning.event_version_id(stored_version(v)));
                let object = EventObject {
                    bucket: &bucket,
                    key: &key,
                    size: None,
                    etag: None,
                    version_id: event_version.as_deref(),
                    sequencer,
                    restored: None,
                };
                let event_name = if lifecycle {
                    match event_name {
                        "s3:ObjectRemoved:DeleteMarkerCreated" => {
                            "s3:LifecycleExpiration:DeleteMarkerCreated"
                        }
                        _ => "s3:LifecycleExpiration:Delete",
                    }
                } else {
                    event_name
                };
                let woken = enqueue_events(conn, &shared, event_name, &object, &context, now)?;
                Ok((deleted, blobs, woken))
            })
            .await?;
        self.shared.wake_after_events(&woken);
        self.shared.blobs.remove(blobs).await;
        Ok(deleted)
    }

    /// Copies an object by hard-linking its file. `if_match` conditions the copy on the
    /// source's current eTag; `attrs` replaces the metadata (`None` copies it).
    pub async fn copy(
        &self,
        source: (&str, &str),
        if_match: Option<&str>,
        destination: (&str, &str),
        attrs: Option<ObjectAttrs>,
        context: ChangeContext,
    ) -> Result<ObjectMeta, S3Error> {
        let source_meta = self.get(source.0, source.1).await?;
        if if_match.is_some_and(|etag| etag.trim_matches('"') != source_meta.etag && etag != "*") {
            return Err(S3Error::PreconditionFailed);
        }
        self.copy_version(
            &source_meta,
            if_match.is_some(),
            destination,
            attrs,
            context,
        )
        .await
    }

    /// Copies the given source version (looked up by the caller) to `destination`.
    /// `conditional` reports a source replaced meanwhile as a failed precondition.
    pub async fn copy_version(
        &self,
        source_meta: &ObjectMeta,
        conditional: bool,
        destination: (&str, &str),
        attrs: Option<ObjectAttrs>,
        context: ChangeContext,
    ) -> Result<ObjectMeta, S3Error> {
        let (blob, bytes) = if blobs::is_inline(&source_meta.blob) {
            (
                blobs::new_inline_id(),
                NewBlob::InlineCopyOf(source_meta.blob.clone()),
            )
        } else {
            match self.shared.blobs.link(&source_meta.blob).await? {
                Some(blob) => (blob, NewBlob::Placed),
                // The source was replaced or deleted between the lookup and the link.
                None if conditional => return Err(S3Error::PreconditionFailed),
                None => return Err(S3Error::NoSuchKey),
            }
        };
        let meta = ObjectMeta {
            bucket: destination.0.to_owned(),
            key: destination.1.to_owned(),
            blob,
            size: source_meta.size,
            etag: source_meta.etag.clone(),
            last_modified_ms: now_ms(),
            attrs: attrs.unwrap_or_else(|| source_meta.attrs.clone()),
            version_id: None,
        };
        let copied =
            match commit_placed(self.shared, meta, bytes, "s3:ObjectCreated:Copy", context).await {
                // An inline source replaced or deleted between the lookup and the copy.
                Err(S3Error::NoSuchKey) if conditional => return Err(S3Error::PreconditionFailed),
                other => other?,
            };
        // A copy of a file on its way through the pipeline ends its journey.
        self.shared.telemetry.emit(FileCopied {
            source_bucket: &source_meta.bucket,
            source_key: &source_meta.key,
            source_etag: &source_meta.etag,
            destination_bucket: &copied.bucket,
            destination_key: &copied.key,
            at_ms: copied.last_modified_ms,
        });
        Ok(copied)
    }

    /// Sets (or with `None` removes) the Object Lock retention of an object version;
    /// returns the version it applied to.
    pub async fn set_retention(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        retention: Option<Retention>,
    ) -> Result<ObjectMeta, S3Error> {
        self.update_attrs(bucket, key, version_id, move |attrs| {
            attrs.retention = retention;
        })
        .await
    }

    /// Sets the Object Lock legal hold of an object version (`ON` is `true`).
    pub async fn set_legal_hold(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        on: bool,
    ) -> Result<ObjectMeta, S3Error> {
        self.update_attrs(bucket, key, version_id, move |attrs| {
            attrs.legal_hold = Some(on);
        })
        .await
    }

    async fn update_attrs(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        change: impl Fn(&mut ObjectAttrs) + Send + 'static,
    ) -> Result<ObjectMeta, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let label = version_id.map(str::to_owned);
        self.shared
            .db
            .write(move |conn| {
                require_bucket(conn, &bucket)?;
                match history::update_attrs(conn, &bucket, &key, label.as_deref(), &change)? {
                    Some(meta) => Ok(meta),
                    None if label.is_some() => abort(S3Error::NoSuchVersion),
                    None => abort(S3Error::NoSuchKey),
                }
            })
            .await
    }

    /// One page of the keys of a bucket, with common prefixes folded.
    pub async fn list(&self, bucket: &str, query: ListQuery) -> Result<ListPage, S3Error> {
        let bucket = bucket.to_owned();
        self.shared
            .db
            .read(move |conn| {
                require_bucket(conn, &bucket)?;
                Ok(listing::list_page(conn, &bucket, &query)?)
            })
            .await
    }

    /// One page of ListObjectVersions.
    pub async fn list_versions(
        &self,
        bucket: &str,
        query: VersionQuery,
    ) -> Result<VersionPage, S3Error> {
        let bucket = bucket.to_owned();
        self.shared
            .db
            .read(move |conn| {
                require_bucket(conn, &bucket)?;
                Ok(listing::list_versions(conn, &bucket, &query)?)
            })
            .await
    }
}

/// Looks up one version of a key (the latest when `label` is `None`).
fn find_version(
    conn: &Connection,
    bucket: &str,
    key: &str,
    label: Option<&str>,
) -> TxResult<ObjectMeta, S3Error> {
    let current = load_object(conn, bucket, key)?;
    let Some(label) = label else {
        if let Some(meta) = current {
            return Ok(meta);
        }
        require_bucket(conn, bucket)?;
        return abort(match history::newest_noncurrent(conn, bucket, key)? {
            Some(newest) if newest.entry.delete_marker => S3Error::DeleteMarker {
                version_id: newest.entry.meta.version_label().to_owned(),
                last_modified_ms: newest.entry.meta.last_modified_ms,
                requested: false,
            },
            _ => S3Error::NoSuchKey,
        });
    };
    let wanted = stored_version(label);
    if let Some(meta) = current.filter(|m| m.version_id.as_deref() == wanted) {
        return Ok(meta);
    }
    require_bucket(conn, bucket)?;
    match history::load_noncurrent(conn, bucket, key, wanted)? {
        Some(row) if row.entry.delete_marker => abort(S3Error::DeleteMarker {
            version_id: label.to_owned(),
            last_modified_ms: row.entry.meta.last_modified_ms,
            requested: true,
        }),
        Some(row) => Ok(row.entry.meta),
        None => abort(S3Error::NoSuchVersion),
    }
}
