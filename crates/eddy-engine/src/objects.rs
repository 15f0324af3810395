//! Buckets, objects and multipart uploads with S3 semantics.
//!
//! An object write stages its bytes ([`crate::blobs`]), places the file (or, for a small
//! body, keeps the bytes for the database), then commits the metadata row, the inline
//! bytes and the notification messages in one transaction: the object is visible
//! exactly when its events are queued. The blob of a replaced or deleted object is
//! removed after the commit that stopped naming it.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::Engine;
use crate::blobs::{self, BlobContent, StagedBlob};
use crate::error::StoreError;
use crate::notify::{ChangeContext, EventObject, QueueNotification, event_body};
use crate::sqs::{self, SendRequest};
use crate::time::now_ms;
use crate::versions::{self, NULL_VERSION, Versioning, stored_version};

/// An S3-level failure of an engine operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum S3Error {
    #[error("The specified bucket does not exist")]
    NoSuchBucket,
    #[error("The specified key does not exist.")]
    NoSuchKey,
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou,
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty,
    #[error("At least one of the pre-conditions you specified did not hold")]
    PreconditionFailed,
    #[error(
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )]
    NoSuchUpload,
    #[error("{0}")]
    InvalidPart(String),
    #[error("The list of parts was not in ascending order. Parts must be ordered by part number.")]
    InvalidPartOrder,
    #[error("Your proposed upload is smaller than the minimum allowed object size.")]
    EntityTooSmall,
    #[error("{0}")]
    InvalidArgument(String),
    #[error("The specified version does not exist.")]
    NoSuchVersion,
    /// The version asked for (or the latest, when `requested` is false) is a delete
    /// marker: 404 NoSuchKey for a plain read, 405 for a read of that version.
    #[error("{}", if *requested { "The specified method is not allowed against this resource." } else { "The specified key does not exist." })]
    DeleteMarker {
        version_id: String,
        last_modified_ms: u64,
        requested: bool,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for S3Error {
    fn from(error: rusqlite::Error) -> Self {
        S3Error::Store(error.into())
    }
}

/// Stored attributes of an object besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAttrs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// User metadata (`x-amz-meta-*`), names lowercased.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Checksums by algorithm name (`CRC32`, `SHA256`, ...), base64.
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
    /// The object's tag set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The sizes of the parts of a multipart object, in order (GetObject
    /// `partNumber`); empty for an object uploaded in one piece.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sizes: Vec<u64>,
}

/// An object's metadata row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub bucket: String,
    pub key: String,
    pub blob: String,
    pub size: u64,
    /// Without quotes.
    pub etag: String,
    pub last_modified_ms: u64,
    pub attrs: ObjectAttrs,
    /// `None` for the `null` version (written while versioning was off).
    pub version_id: Option<String>,
}

impl ObjectMeta {
    /// The version id as S3 reports it (`null` for the null version).
    pub fn version_label(&self) -> &str {
        self.version_id.as_deref().unwrap_or(NULL_VERSION)
    }
}

/// What a DeleteObject did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// The version removed, or the id of the delete marker created
    /// (`x-amz-version-id`); `None` on buckets that never had versioning.
    pub version_id: Option<String>,
    /// Whether a delete marker was created or removed (`x-amz-delete-marker`).
    pub delete_marker: bool,
    /// Whether anything changed (a missing key changes nothing).
    pub changed: bool,
}

/// A bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
    pub created_ms: u64,
    pub region: String,
}

/// What a listing asks for.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// List keys strictly after this one.
    pub start_after: Option<String>,
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub objects: Vec<ObjectMeta>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or common prefix of the page: where the next page starts after.
    pub last: Option<String>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone)]
pub struct Upload {
    pub upload_id: String,
    pub bucket: String,
    pub key: String,
    pub created_ms: u64,
    pub attrs: ObjectAttrs,
}

/// An uploaded part.
#[derive(Debug, Clone)]
pub struct Part {
    pub part_number: u32,
    pub blob: String,
    pub size: u64,
    pub etag: String,
    pub last_modified_ms: u64,
}

/// The smallest part but the last of a multipart upload.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

fn bucket_exists(conn: &Connection, bucket: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM buckets WHERE name = ?1")?
        .query_row([bucket], |_| Ok(()))
        .optional()?
        .is_some())
}

fn require_bucket(conn: &Connection, bucket: &str) -> Result<(), S3Error> {
    if bucket_exists(conn, bucket)? {
        Ok(())
    } else {
        Err(S3Error::NoSuchBucket)
    }
}

const OBJECT_COLUMNS: &str = "key, blob, size, etag, last_modified_ms, attrs, version_id";

fn object_from_row(bucket: &str, row: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectMeta> {
    Ok(ObjectMeta {
        bucket: bucket.to_owned(),
        key: row.get(0)?,
        blob: row.get(1)?,
        size: row.get(2)?,
        etag: row.get(3)?,
        last_modified_ms: row.get(4)?,
        attrs: serde_json::from_str(&row.get::<_, String>(5)?).unwrap_or_default(),
        version_id: row.get(6)?,
    })
}

/// The current version of a key, when it is an object.
pub(crate) fn load_object(
    conn: &Connection,
    bucket: &str,
    key: &str,
) -> Result<Option<ObjectMeta>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?1 AND key = ?2"
        ))?
        .query_row(params![bucket, key], |row| object_from_row(bucket, row))
        .optional()?)
}

/// Makes `meta` the current version of its key.
pub(crate) fn insert_current(conn: &Connection, meta: &ObjectMeta) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO objects (bucket, key, blob, size, etag, last_modified_ms, attrs, version_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        meta.bucket,
        meta.key,
        meta.blob,
        meta.size,
        meta.etag,
        meta.last_modified_ms,
        serde_json::to_string(&meta.attrs)?,
        meta.version_id,
    ])?;
    Ok(())
}

fn load_notifications(
    conn: &Connection,
    bucket: &str,
) -> Result<Vec<QueueNotification>, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT notification FROM buckets WHERE name = ?1")?
        .query_row([bucket], |row| row.get(0))
        .optional()?;
    Ok(json
        .map(|j| serde_json::from_str(&j))
        .transpose()?
        .unwrap_or_default())
}

/// Enqueues the events of one object change into every matching configuration's queue.
/// Returns the queues written to.
fn enqueue_events(
    conn: &Connection,
    engine: &EventSettings,
    event_name: &str,
    object: &EventObject<'_>,
    context: &ChangeContext,
    now: u64,
) -> Result<Vec<String>, StoreError> {
    let mut queues = Vec::new();
    for config in load_notifications(conn, object.bucket)? {
        if !config.matches(event_name, object.key) {
            continue;
        }
        let Some(arn) = eddy_events::arn::parse_queue_arn(&config.queue_arn) else {
            continue;
        };
        let queue = match sqs_load_queue(conn, &arn.queue_name) {
            Some(queue) => queue,
            None => {
                tracing::warn!(queue = %arn.queue_name, bucket = %object.bucket, "notification queue is gone; event dropped");
                continue;
            }
        };
        let body = event_body(
            &engine.region,
            &engine.principal,
            event_name,
            &config.id,
            object,
            context,
            now,
        );
        let request = SendRequest {
            body,
            ..SendRequest::default()
        };
        if let Err(error) = sqs::insert_message(conn, &queue, &request, &engine.principal, now)? {
            tracing::warn!(queue = %queue.name, %error, "notification could not be enqueued");
            continue;
        }
        queues.push(queue.name);
    }
    Ok(queues)
}

fn sqs_load_queue(conn: &Connection, name: &str) -> Option<sqs::Queue> {
    sqs::load_queue_for_notifications(conn, name)
}

/// What event records need from the engine's settings.
#[derive(Debug, Clone)]
struct EventSettings {
    region: String,
    principal: String,
}

/// The result of a committed object change.
struct Committed {
    meta: ObjectMeta,
    /// Blobs no row names any more: inline ones are already deleted in the same
    /// transaction; files are deleted after the commit.
    removed_blobs: Vec<String>,
    woken: Vec<String>,
}

/// Makes `meta` the current version of its key, keeping or replacing the previous
/// one as the bucket's versioning says, and enqueues the events.
fn commit_object(
    conn: &Connection,
    settings: &EventSettings,
    mut meta: ObjectMeta,
    event_name: &str,
    sequencer: &str,
    context: &ChangeContext,
) -> Result<Committed, S3Error> {
    let Some(versioning) = versions::bucket_versioning(conn, &meta.bucket)? else {
        return Err(S3Error::NoSuchBucket);
    };
    meta.version_id = (versioning == Versioning::Enabled).then(versions::new_version_id);
    let mut removed_blobs = Vec::new();
    if let Some(previous) = load_object(conn, &meta.bucket, &meta.key)? {
        if previous.version_id.is_some() || versioning == Versioning::Enabled {
            versions::archive(conn, &previous)?;
        } else if previous.blob != meta.blob {
            removed_blobs.push(previous.blob);
        }
    }
    if meta.version_id.is_none() {
        removed_blobs.extend(versions::remove_noncurrent_null(
            conn,
            &meta.bucket,
            &meta.key,
        )?);
    }
    blobs::delete_inline(conn, &removed_blobs)?;
    insert_current(conn, &meta)?;
    let event_version = versioning.event_version_id(meta.version_id.as_deref());
    let object = EventObject {
        bucket: &meta.bucket,
        key: &meta.key,
        size: Some(meta.size),
        etag: Some(&meta.etag),
        version_id: event_version.as_deref(),
        sequencer: sequencer.to_owned(),
    };
    let woken = enqueue_events(
        conn,
        settings,
        event_name,
        &object,
        context,
        meta.last_modified_ms,
    )?;
    Ok(Committed {
        meta,
        removed_blobs,
        woken,
    })
}

impl Engine {
    /// After a committed object change: wakes the receivers of the queues its events
    /// went to, counts the messages, and starts the file's journey for the dashboard.
    fn announce(&self, committed: &Committed) {
        if committed.woken.is_empty() {
            return;
        }
        self.wake_queues(committed.woken.iter());
        let meta = &committed.meta;
        let activity = self.activity();
        activity.uploaded(
            &meta.bucket,
            &meta.key,
            &meta.etag,
            meta.size,
            meta.last_modified_ms,
        );
        activity.step(
            &meta.bucket,
            &meta.key,
            Some(&meta.etag),
            "enqueued",
            meta.last_modified_ms,
            Some(committed.woken.join(", ")),
        );
        for queue in &committed.woken {
            crate::telemetry::messages_sent(queue, 1);
        }
    }

    fn event_settings(&self) -> EventSettings {
        EventSettings {
            region: self.settings().region.clone(),
            principal: self.settings().access_key_id.clone(),
        }
    }

    pub async fn create_bucket(&self, name: &str) -> Result<(), S3Error> {
        let name = name.to_owned();
        let region = self.settings().region.clone();
        self.db()
            .write(move |conn| {
                if bucket_exists(conn, &name)? {
                    return Ok(Err(S3Error::BucketAlreadyOwnedByYou));
                }
                conn.execute(
                    "INSERT INTO buckets (name, created_ms, region) VALUES (?1, ?2, ?3)",
                    params![name, now_ms(), region],
                )?;
                Ok(Ok(()))
            })
            .await?
    }

    pub async fn delete_bucket(&self, name: &str) -> Result<(), S3Error> {
        let name = name.to_owned();
        let removed_uploads = self
            .db()
            .write(move |conn| {
                if !bucket_exists(conn, &name)? {
                    return Ok(Err(S3Error::NoSuchBucket));
                }
                let has_objects = conn
                    .prepare_cached("SELECT 1 FROM objects WHERE bucket = ?1 LIMIT 1")?
                    .query_row([&name], |_| Ok(()))
                    .optional()?
                    .is_some();
                if has_objects || versions::has_history(conn, &name)? {
                    return Ok(Err(S3Error::BucketNotEmpty));
                }
                let blobs = part_blobs_of_bucket(conn, &name)?;
                conn.execute("DELETE FROM uploads WHERE bucket = ?1", [&name])?;
                conn.execute("DELETE FROM object_versions WHERE bucket = ?1", [&name])?;
                conn.execute("DELETE FROM buckets WHERE name = ?1", [&name])?;
                Ok(Ok(blobs))
            })
            .await??;
        self.blobs().remove(removed_uploads).await;
        Ok(())
    }

    pub async fn get_bucket(&self, name: &str) -> Result<Bucket, S3Error> {
        let name = name.to_owned();
        self.db()
            .read(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT created_ms, region FROM buckets WHERE name = ?1")?
                    .query_row([&name], |row| {
                        Ok(Bucket {
                            name: name.clone(),
                            created_ms: row.get(0)?,
                            region: row.get(1)?,
                        })
                    })
                    .optional()?)
            })
            .await?
            .ok_or(S3Error::NoSuchBucket)
    }

    pub async fn list_buckets(&self) -> Result<Vec<Bucket>, S3Error> {
        Ok(self
            .db()
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT name, created_ms, region FROM buckets ORDER BY name")?;
                let rows = stmt
                    .query_map([], |row| {
                        Ok(Bucket {
                            name: row.get(0)?,
                            created_ms: row.get(1)?,
                            region: row.get(2)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?)
    }

    pub async fn get_notifications(&self, bucket: &str) -> Result<Vec<QueueNotification>, S3Error> {
        let bucket = bucket.to_owned();
        self.db()
            .read(move |conn| {
                if !bucket_exists(conn, &bucket)? {
                    return Ok(Err(S3Error::NoSuchBucket));
                }
                Ok(Ok(load_notifications(conn, &bucket)?))
            })
            .await?
    }

    /// Saves a bucket's notification configuration (validated by the caller with
    /// [`crate::notify`]) and sends the `s3:TestEvent` to each destination queue, in the
    /// same transaction.
    pub async fn put_notifications(
        &self,
        bucket: &str,
        configs: Vec<QueueNotification>,
        context: ChangeContext,
    ) -> Result<(), S3Error> {
        let bucket = bucket.to_owned();
        let principal = self.settings().access_key_id.clone();
        let woken = self
            .db()
            .write(move |conn| {
                if !bucket_exists(conn, &bucket)? {
                    return Ok(Err(S3Error::NoSuchBucket));
                }
                let mut queues = Vec::new();
                for config in &configs {
                    let queue = eddy_events::arn::parse_queue_arn(&config.queue_arn)
                        .and_then(|arn| sqs_load_queue(conn, &arn.queue_name));
                    let Some(queue) = queue else {
                        return Ok(Err(S3Error::InvalidArgument(
                            "Unable to validate the following destination configurations".into(),
                        )));
                    };
                    if queue.attributes.fifo() {
                        return Ok(Err(S3Error::InvalidArgument(
                            "Unable to validate the following destination configurations: FIFO queues are not supported as destinations".into(),
                        )));
                    }
                    if !queues.iter().any(|q: &sqs::Queue| q.name == queue.name) {
                        queues.push(queue);
                    }
                }
                conn.execute(
                    "UPDATE buckets SET notification = ?2 WHERE name = ?1",
                    params![bucket, serde_json::to_string(&configs).map_err(StoreError::from)?],
                )?;
                let now = now_ms();
                let test_event = serde_json::json!({
                    "Service": "Amazon S3",
                    "Event": "s3:TestEvent",
                    "Time": crate::time::iso8601_millis(now),
                    "Bucket": bucket,
                    "RequestId": context.request_id,
                    "HostId": context.host_id,
                })
                .to_string();
                let mut woken = Vec::new();
                for queue in &queues {
                    let request = SendRequest {
                        body: test_event.clone(),
                        ..SendRequest::default()
                    };
                    if sqs::insert_message(conn, queue, &request, &principal, now)?.is_ok() {
                        woken.push(queue.name.clone());
                    }
                }
                Ok(Ok(woken))
            })
            .await??;
        self.wake_queues(woken.iter());
        for queue in &woken {
            crate::telemetry::messages_sent(queue, 1);
        }
        Ok(())
    }

    /// Places a staged body and commits it as `bucket/key`, enqueueing its events.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        staged: StagedBlob,
        attrs: ObjectAttrs,
        event_name: &str,
        context: ChangeContext,
    ) -> Result<ObjectMeta, S3Error> {
        let etag = hex::encode(staged.md5);
        self.commit_staged(bucket, key, staged, etag, attrs, event_name, context)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn commit_staged(
        &self,
        bucket: &str,
        key: &str,
        staged: StagedBlob,
        etag: String,
        attrs: ObjectAttrs,
        event_name: &str,
        context: ChangeContext,
    ) -> Result<ObjectMeta, S3Error> {
        if let Err(error) = self.blobs().place(&staged).await {
            self.blobs().discard(staged).await;
            return Err(error.into());
        }
        let bytes = match staged.inline_data() {
            Some(data) => NewBlob::Inline(data),
            None => NewBlob::Placed,
        };
        let meta = ObjectMeta {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            blob: staged.id.clone(),
            size: staged.size,
            etag,
            last_modified_ms: now_ms(),
            attrs,
            version_id: None,
        };
        self.commit_placed(meta, bytes, event_name, context).await
    }

    /// Commits a blob's row (with the bytes of an inline blob); on failure removes the
    /// blob again.
    async fn commit_placed(
        &self,
        meta: ObjectMeta,
        bytes: NewBlob,
        event_name: &str,
        context: ChangeContext,
    ) -> Result<ObjectMeta, S3Error> {
        let blob = meta.blob.clone();
        let settings = self.event_settings();
        let sequencer = self.next_sequencer();
        let event_name = event_name.to_owned();
        let result = self
            .db()
            .write(move |conn| {
                // The bytes go in first: a copy onto itself replaces (and deletes) its
                // source's bytes in `commit_object`.
                let id = meta.blob.clone();
                match &bytes {
                    NewBlob::Placed => {}
                    NewBlob::Inline(data) => blobs::insert_inline(conn, &id, data)?,
                    NewBlob::InlineCopyOf(source) => {
                        if !blobs::copy_inline(conn, source, &id)? {
                            return Ok(Err(S3Error::NoSuchKey));
                        }
                    }
                }
                let committed = store_failures_abort(commit_object(
                    conn,
                    &settings,
                    meta,
                    &event_name,
                    &sequencer,
                    &context,
                ))?;
                if committed.is_err() {
                    // Refused: the job's savepoint is kept, so take the bytes out again.
                    blobs::delete_inline(conn, std::slice::from_ref(&id))?;
                }
                Ok(committed)
            })
            .await
            .map_err(S3Error::from)
            .and_then(|r| r);
        match result {
            Ok(committed) => {
                self.announce(&committed);
                self.blobs().remove(committed.removed_blobs).await;
                Ok(committed.meta)
            }
            Err(error) => {
                // A file placed for nothing; an inline blob's bytes went nowhere.
                self.blobs().remove(vec![blob]).await;
                Err(error)
            }
        }
    }

    /// The current version of an object.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<ObjectMeta, S3Error> {
        self.get_object_version(bucket, key, None).await
    }

    /// One version of an object (`version_id` as S3 names it, `null` included), or
    /// the current version when `None`.
    pub async fn get_object_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<ObjectMeta, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let label = version_id.map(str::to_owned);
        self.db()
            .read(move |conn| Ok(find_version(conn, &bucket, &key, label.as_deref())))
            .await?
    }

    /// Deletes the current version of an object as S3 does: on a bucket that never had
    /// versioning the object goes (a missing key is no error); with versioning a delete
    /// marker becomes the latest version.
    pub async fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        context: ChangeContext,
    ) -> Result<Deleted, S3Error> {
        self.delete_object_version(bucket, key, None, context).await
    }

    /// Deletes an object, or with `version_id` that one version for good (an object
    /// version or a delete marker). Emits `ObjectRemoved:Delete` or
    /// `ObjectRemoved:DeleteMarkerCreated` when something changed.
    pub async fn delete_object_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        context: ChangeContext,
    ) -> Result<Deleted, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let label = version_id.map(str::to_owned);
        let settings = self.event_settings();
        let sequencer = self.next_sequencer();
        let (deleted, blobs, woken) = self
            .db()
            .write(move |conn| {
                let Some(versioning) = versions::bucket_versioning(conn, &bucket)? else {
                    return Ok(Err(S3Error::NoSuchBucket));
                };
                let now = now_ms();
                let (event_name, deleted, blobs) = match label.as_deref() {
                    None => delete_latest(conn, versioning, &bucket, &key, now)?,
                    Some(label) => delete_version(conn, versioning, &bucket, &key, label)?,
                };
                // Inline bytes go with the row that named them, in this transaction.
                blobs::delete_inline(conn, &blobs)?;
                if !deleted.changed {
                    return Ok(Ok((deleted, blobs, Vec::new())));
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
                };
                let woken = enqueue_events(conn, &settings, event_name, &object, &context, now)?;
                Ok(Ok((deleted, blobs, woken)))
            })
            .await??;
        self.wake_queues(woken.iter());
        self.blobs().remove(blobs).await;
        Ok(deleted)
    }

    /// Copies an object by hard-linking its file. `if_match` conditions the copy on the
    /// source's current eTag; `attrs` replaces the metadata (`None` copies it).
    pub async fn copy_object(
        &self,
        source: (&str, &str),
        if_match: Option<&str>,
        destination: (&str, &str),
        attrs: Option<ObjectAttrs>,
        context: ChangeContext,
    ) -> Result<ObjectMeta, S3Error> {
        let source_meta = self.get_object(source.0, source.1).await?;
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
            match self.blobs().link(&source_meta.blob).await? {
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
        let copied = match self
            .commit_placed(meta, bytes, "s3:ObjectCreated:Copy", context)
            .await
        {
            // An inline source replaced or deleted between the lookup and the copy.
            Err(S3Error::NoSuchKey) if conditional => return Err(S3Error::PreconditionFailed),
            other => other?,
        };
        self.note_copy(source_meta, &copied);
        Ok(copied)
    }

    /// A copy of a file on its way through the pipeline ends its journey: the step, and
    /// the time from its upload to the copy being done.
    fn note_copy(&self, source: &ObjectMeta, copy: &ObjectMeta) {
        let activity = self.activity();
        let Some(uploaded_ms) = activity.uploaded_at(&source.bucket, &source.key, &source.etag)
        else {
            return;
        };
        let latency_ms = copy.last_modified_ms.saturating_sub(uploaded_ms);
        activity.step(
            &source.bucket,
            &source.key,
            Some(&source.etag),
            "copied",
            copy.last_modified_ms,
            Some(format!("to {}/{}", copy.bucket, copy.key)),
        );
        activity.copied_after(latency_ms);
        crate::telemetry::file_copied(std::time::Duration::from_millis(latency_ms));
    }

    /// The versioning state of a bucket.
    pub async fn get_versioning(&self, bucket: &str) -> Result<Versioning, S3Error> {
        let bucket = bucket.to_owned();
        self.db()
            .read(move |conn| versions::bucket_versioning(conn, &bucket))
            .await?
            .ok_or(S3Error::NoSuchBucket)
    }

    /// Turns versioning on (`true`) or suspends it (`false`).
    pub async fn set_versioning(&self, bucket: &str, enabled: bool) -> Result<(), S3Error> {
        let bucket = bucket.to_owned();
        let status = if enabled { "Enabled" } else { "Suspended" };
        let updated = self
            .db()
            .write(move |conn| {
                Ok(conn.execute(
                    "UPDATE buckets SET versioning = ?2 WHERE name = ?1",
                    params![bucket, status],
                )?)
            })
            .await?;
        if updated == 0 {
            return Err(S3Error::NoSuchBucket);
        }
        Ok(())
    }

    /// One page of ListObjectVersions.
    pub async fn list_object_versions(
        &self,
        bucket: &str,
        query: versions::VersionQuery,
    ) -> Result<versions::VersionPage, S3Error> {
        let bucket = bucket.to_owned();
        self.db()
            .read(move |conn| {
                if !bucket_exists(conn, &bucket)? {
                    return Ok(Err(S3Error::NoSuchBucket));
                }
                Ok(Ok(versions::list_versions(conn, &bucket, &query)?))
            })
            .await?
    }

    /// A bucket's tag set (`None`: it has none).
    pub async fn get_bucket_tags(
        &self,
        bucket: &str,
    ) -> Result<Option<BTreeMap<String, String>>, S3Error> {
        let bucket = bucket.to_owned();
        let stored: Option<Option<String>> = self
            .db()
            .read(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT tags FROM buckets WHERE name = ?1")?
                    .query_row([&bucket], |row| row.get(0))
                    .optional()?)
            })
            .await?;
        let Some(json) = stored.ok_or(S3Error::NoSuchBucket)? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_str(&json).map_err(StoreError::from)?))
    }

    /// Replaces (or with `None` removes) a bucket's tag set.
    pub async fn set_bucket_tags(
        &self,
        bucket: &str,
        tags: Option<BTreeMap<String, String>>,
    ) -> Result<(), S3Error> {
        let bucket = bucket.to_owned();
        let json = tags
            .map(|t| serde_json::to_string(&t))
            .transpose()
            .map_err(StoreError::from)?;
        let updated = self
            .db()
            .write(move |conn| {
                Ok(conn.execute(
                    "UPDATE buckets SET tags = ?2 WHERE name = ?1",
                    params![bucket, json],
                )?)
            })
            .await?;
        if updated == 0 {
            return Err(S3Error::NoSuchBucket);
        }
        Ok(())
    }

    /// Replaces (or with `None` removes) the tag set of an object version; returns
    /// the version it applied to.
    pub async fn set_object_tags(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        tags: Option<BTreeMap<String, String>>,
    ) -> Result<ObjectMeta, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let label = version_id.map(str::to_owned);
        self.db()
            .write(move |conn| {
                if !bucket_exists(conn, &bucket)? {
                    return Ok(Err(S3Error::NoSuchBucket));
                }
                Ok(
                    match versions::set_tags(conn, &bucket, &key, label.as_deref(), tags)? {
                        Some(meta) => Ok(meta),
                        None if label.is_some() => Err(S3Error::NoSuchVersion),
                        None => Err(S3Error::NoSuchKey),
                    },
                )
            })
            .await?
    }

    /// One page of the keys of a bucket, with common prefixes folded.
    pub async fn list_objects(&self, bucket: &str, query: ListQuery) -> Result<ListPage, S3Error> {
        let bucket = bucket.to_owned();
        self.db()
            .read(move |conn| {
                if !bucket_exists(conn, &bucket)? {
                    return Ok(Err(S3Error::NoSuchBucket));
                }
                Ok(Ok(list_page(conn, &bucket, &query)?))
            })
            .await?
    }

    pub async fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        attrs: ObjectAttrs,
    ) -> Result<Upload, S3Error> {
        let upload = Upload {
            upload_id: crate::ids::random_uuid().simple().to_string(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            created_ms: now_ms(),
            attrs,
        };
        let row = upload.clone();
        self.db()
            .write(move |conn| {
                if !bucket_exists(conn, &row.bucket)? {
                    return Ok(Err(S3Error::NoSuchBucket));
                }
                conn.execute(
                    "INSERT INTO uploads (upload_id, bucket, key, created_ms, attrs) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        row.upload_id,
                        row.bucket,
                        row.key,
                        row.created_ms,
                        serde_json::to_string(&row.attrs).map_err(StoreError::from)?
                    ],
                )?;
                Ok(Ok(()))
            })
            .await??;
        Ok(upload)
    }

    pub async fn get_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Upload, S3Error> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.db()
            .read(move |conn| Ok(load_upload(conn, &bucket, &key, &upload_id)))
            .await?
    }

    /// Stores a part (replacing an earlier part of the same number); returns its ETag.
    pub async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        staged: StagedBlob,
        etag: String,
    ) -> Result<Part, S3Error> {
        if staged.inline_data().is_some() {
            // Completion concatenates part files; stage parts with `Placement::File`.
            return Err(StoreError::Io("a multipart part must be staged as a file".into()).into());
        }
        if let Err(error) = self.blobs().place(&staged).await {
            self.blobs().discard(staged).await;
            return Err(error.into());
        }
        let part = Part {
            part_number,
            blob: staged.id.clone(),
            size: staged.size,
            etag,
            last_modified_ms: now_ms(),
        };
        let row = part.clone();
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        let result = self
            .db()
            .write(move |conn| {
                if let Err(error) = load_upload(conn, &bucket, &key, &upload_id) {
                    return Ok(Err(error));
                }
                let previous: Option<String> = conn
                    .query_row(
                        "SELECT blob FROM parts WHERE upload_id = ?1 AND part_number = ?2",
                        params![upload_id, row.part_number],
                        |r| r.get(0),
                    )
                    .optional()?;
                conn.execute(
                    "INSERT OR REPLACE INTO parts (upload_id, part_number, blob, size, etag, last_modified_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![upload_id, row.part_number, row.blob, row.size, row.etag, row.last_modified_ms],
                )?;
                Ok(Ok(previous))
            })
            .await
            .map_err(S3Error::from)
            .and_then(|r| r);
        match result {
            Ok(previous) => {
                self.blobs().remove(previous.into_iter().collect()).await;
                Ok(part)
            }
            Err(error) => {
                self.blobs().remove(vec![part.blob]).await;
                Err(error)
            }
        }
    }

    /// The result of an upload completed in the last day, for a retried completion.
    async fn completed_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<ObjectMeta>, S3Error> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        Ok(self
            .db()
            .read(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT etag, version_id, size, completed_ms FROM completed_uploads
                         WHERE upload_id = ?1 AND bucket = ?2 AND key = ?3",
                    )?
                    .query_row(params![upload_id, bucket, key], |row| {
                        Ok(ObjectMeta {
                            bucket: bucket.clone(),
                            key: key.clone(),
                            blob: String::new(),
                            etag: row.get(0)?,
                            version_id: row.get(1)?,
                            size: row.get(2)?,
                            last_modified_ms: row.get(3)?,
                            attrs: ObjectAttrs::default(),
                        })
                    })
                    .optional()?)
            })
            .await?)
    }

    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<Part>, S3Error> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.db()
            .read(move |conn| {
                if let Err(error) = load_upload(conn, &bucket, &key, &upload_id) {
                    return Ok(Err(error));
                }
                Ok(Ok(load_parts(conn, &upload_id)?))
            })
            .await?
    }

    pub async fn list_uploads(&self, bucket: &str, prefix: &str) -> Result<Vec<Upload>, S3Error> {
        let (bucket, prefix) = (bucket.to_owned(), prefix.to_owned());
        self.db()
            .read(move |conn| {
                if !bucket_exists(conn, &bucket)? {
                    return Ok(Err(S3Error::NoSuchBucket));
                }
                let mut stmt = conn.prepare_cached(
                    "SELECT upload_id, key, created_ms, attrs FROM uploads WHERE bucket = ?1 ORDER BY key, created_ms",
                )?;
                let uploads = stmt
                    .query_map([&bucket], |row| {
                        Ok(Upload {
                            upload_id: row.get(0)?,
                            bucket: bucket.clone(),
                            key: row.get(1)?,
                            created_ms: row.get(2)?,
                            attrs: serde_json::from_str(&row.get::<_, String>(3)?).unwrap_or_default(),
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Ok(uploads.into_iter().filter(|u| u.key.starts_with(&prefix)).collect()))
            })
            .await?
    }

    pub async fn abort_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), S3Error> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        let blobs = self
            .db()
            .write(move |conn| {
                if let Err(error) = load_upload(conn, &bucket, &key, &upload_id) {
                    return Ok(Err(error));
                }
                let blobs: Vec<String> = load_parts(conn, &upload_id)?
                    .into_iter()
                    .map(|p| p.blob)
                    .collect();
                conn.execute("DELETE FROM uploads WHERE upload_id = ?1", [&upload_id])?;
                Ok(Ok(blobs))
            })
            .await??;
        self.blobs().remove(blobs).await;
        Ok(())
    }

    /// Completes a multipart upload from the listed parts (number, ETag), in order.
    pub async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        requested: Vec<(u32, String)>,
        context: ChangeContext,
    ) -> Result<ObjectMeta, S3Error> {
        let upload = match self.get_upload(bucket, key, upload_id).await {
            Err(S3Error::NoSuchUpload) => {
                // A retry of a completion that succeeded gets the same answer.
                return match self.completed_upload(bucket, key, upload_id).await? {
                    Some(meta) => Ok(meta),
                    None => Err(S3Error::NoSuchUpload),
                };
            }
            other => other?,
        };
        let stored = self.list_parts(bucket, key, upload_id).await?;
        if requested.is_empty() {
            return Err(S3Error::InvalidArgument(
                "You must specify at least one part".into(),
            ));
        }
        let mut chosen = Vec::with_capacity(requested.len());
        let mut previous_number = 0;
        for (number, etag) in &requested {
            if *number <= previous_number {
                return Err(S3Error::InvalidPartOrder);
            }
            previous_number = *number;
            let part = stored
                .iter()
                .find(|p| p.part_number == *number && p.etag == etag.trim_matches('"'))
                .ok_or_else(|| {
                    S3Error::InvalidPart(
                        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.".into(),
                    )
                })?;
            chosen.push(part.clone());
        }
        if chosen[..chosen.len() - 1]
            .iter()
            .any(|p| p.size < MIN_PART_SIZE)
        {
            return Err(S3Error::EntityTooSmall);
        }
        let mut md5_of_md5s = Md5::new();
        for part in &chosen {
            let raw = hex::decode(&part.etag)
                .map_err(|_| StoreError::Corrupt(format!("part ETag {}", part.etag)))?;
            md5_of_md5s.update(&raw);
        }
        let etag = format!(
            "{}-{}",
            hex::encode(md5_of_md5s.finalize().as_slice()),
            chosen.len()
        );
        let staged = self
            .blobs()
            .concat(chosen.iter().map(|p| p.blob.clone()).collect())
            .await?;
        if let Err(error) = self.blobs().place(&staged).await {
            self.blobs().discard(staged).await;
            return Err(error.into());
        }
        let meta = ObjectMeta {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            blob: staged.id.clone(),
            size: staged.size,
            etag,
            last_modified_ms: now_ms(),
            attrs: ObjectAttrs {
                part_sizes: chosen.iter().map(|p| p.size).collect(),
                ..upload.attrs
            },
            version_id: None,
        };
        // The row, the upload's removal and the events commit together.
        let blob = meta.blob.clone();
        let settings = self.event_settings();
        let sequencer = self.next_sequencer();
        let upload_id = upload_id.to_owned();
        let result = self
            .db()
            .write(move |conn| {
                let parts: Vec<String> = load_parts(conn, &upload_id)?
                    .into_iter()
                    .map(|p| p.blob)
                    .collect();
                if load_upload(conn, &meta.bucket, &meta.key, &upload_id).is_err() {
                    return Ok(Err(S3Error::NoSuchUpload));
                }
                let committed = match store_failures_abort(commit_object(
                    conn,
                    &settings,
                    meta,
                    "s3:ObjectCreated:CompleteMultipartUpload",
                    &sequencer,
                    &context,
                ))? {
                    Ok(c) => c,
                    Err(e) => return Ok(Err(e)),
                };
                conn.execute("DELETE FROM uploads WHERE upload_id = ?1", [&upload_id])?;
                remember_completion(conn, &upload_id, &committed.meta)?;
                Ok(Ok((committed, parts)))
            })
            .await
            .map_err(S3Error::from)
            .and_then(|r| r);
        match result {
            Ok((committed, parts)) => {
                let mut remove = parts;
                self.announce(&committed);
                remove.extend(committed.removed_blobs);
                self.blobs().remove(remove).await;
                Ok(committed.meta)
            }
            Err(error) => {
                // A file placed for nothing; an inline blob's bytes went nowhere.
                self.blobs().remove(vec![blob]).await;
                Err(error)
            }
        }
    }
}

/// How long a completed upload's result is kept for retried completions.
const COMPLETION_MEMORY_MS: u64 = 24 * 60 * 60 * 1000;

/// Records a completed upload's result, and forgets those older than a day.
fn remember_completion(
    conn: &Connection,
    upload_id: &str,
    meta: &ObjectMeta,
) -> Result<(), StoreError> {
    let now = now_ms();
    conn.prepare_cached("DELETE FROM completed_uploads WHERE completed_ms < ?1")?
        .execute([now.saturating_sub(COMPLETION_MEMORY_MS)])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO completed_uploads (upload_id, bucket, key, etag, version_id, size, completed_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        upload_id,
        meta.bucket,
        meta.key,
        meta.etag,
        meta.version_id,
        meta.size,
        now
    ])?;
    Ok(())
}

/// Keeps a store failure as the closure's error, so that its savepoint rolls back
/// whatever the write did before failing; S3-level refusals stay answers.
fn store_failures_abort<T>(result: Result<T, S3Error>) -> Result<Result<T, S3Error>, StoreError> {
    match result {
        Err(S3Error::Store(error)) => Err(error),
        other => Ok(other),
    }
}

/// Where the bytes of an object row being committed come from.
enum NewBlob {
    /// A file already placed under `blobs/`.
    Placed,
    /// An inline blob's bytes, stored with the row.
    Inline(bytes::Bytes),
    /// A copy of this inline blob's bytes.
    InlineCopyOf(String),
}

impl Engine {
    /// An object version's row and its bytes, opened for reading. A small object's row
    /// and bytes are read in one read transaction (one trip to the database). A file
    /// replaced between reading its row and opening it (the old file is removed after
    /// the commit) is read again, so a reader racing a writer gets the old or the new
    /// object, as on S3, not an error.
    pub async fn open_object_version(
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
                .db()
                .read(move |conn| {
                    let snapshot = conn.unchecked_transaction()?;
                    let meta = match find_version(&snapshot, &bucket, &key, label.as_deref()) {
                        Ok(meta) => meta,
                        Err(error) => return Ok(Err(error)),
                    };
                    let inline = if blobs::is_inline(&meta.blob) {
                        blobs::read_inline(&snapshot, &meta.blob)?
                    } else {
                        None
                    };
                    Ok(Ok((meta, inline)))
                })
                .await??;
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
                .db()
                .read(move |conn| blobs::read_inline(conn, &owned))
                .await?;
            return data
                .map(BlobContent::Inline)
                .ok_or_else(|| StoreError::Io(format!("object data {id} is missing")));
        }
        let file = tokio::fs::File::open(self.blobs().path(id)).await?;
        Ok(BlobContent::File(file))
    }
}

fn part_blobs_of_bucket(conn: &Connection, bucket: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.blob FROM parts p JOIN uploads u ON u.upload_id = p.upload_id WHERE u.bucket = ?1",
    )?;
    let rows = stmt
        .query_map([bucket], |row| row.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn load_upload(
    conn: &Connection,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<Upload, S3Error> {
    conn.prepare_cached("SELECT bucket, key, created_ms, attrs FROM uploads WHERE upload_id = ?1")?
        .query_row([upload_id], |row| {
            Ok(Upload {
                upload_id: upload_id.to_owned(),
                bucket: row.get(0)?,
                key: row.get(1)?,
                created_ms: row.get(2)?,
                attrs: serde_json::from_str(&row.get::<_, String>(3)?).unwrap_or_default(),
            })
        })
        .optional()?
        .filter(|u| u.bucket == bucket && u.key == key)
        .ok_or(S3Error::NoSuchUpload)
}

fn load_parts(conn: &Connection, upload_id: &str) -> Result<Vec<Part>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT part_number, blob, size, etag, last_modified_ms FROM parts WHERE upload_id = ?1 ORDER BY part_number",
    )?;
    let parts = stmt
        .query_map([upload_id], |row| {
            Ok(Part {
                part_number: row.get(0)?,
                blob: row.get(1)?,
                size: row.get(2)?,
                etag: row.get(3)?,
                last_modified_ms: row.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts)
}

fn list_page(conn: &Connection, bucket: &str, query: &ListQuery) -> Result<ListPage, StoreError> {
    let mut page = ListPage::default();
    if query.max_keys == 0 {
        return Ok(page);
    }
    let mut after = match &query.start_after {
        Some(s) if s.as_str() >= query.prefix.as_str() => s.clone(),
        _ => String::new(),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {OBJECT_COLUMNS} FROM objects
         WHERE bucket = ?1 AND key > ?2 AND key >= ?3 ORDER BY key LIMIT 1000"
    ))?;
    loop {
        let rows = stmt
            .query_map(params![bucket, after, query.prefix], |row| {
                object_from_row(bucket, row)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Ok(page);
        }
        for meta in rows {
            after = meta.key.clone();
            if !meta.key.starts_with(&query.prefix) {
                return Ok(page);
            }
            let entries = page.objects.len() + page.common_prefixes.len();
            let folded = query
                .delimiter
                .as_deref()
                .filter(|d| !d.is_empty())
                .and_then(|d| {
                    meta.key[query.prefix.len()..]
                        .find(d)
                        .map(|i| meta.key[..query.prefix.len() + i + d.len()].to_owned())
                });
            if let Some(common) = folded {
                // A common prefix already listed, on this page or (as the marker) on
                // the previous one, is not listed again.
                let marker_covers = query
                    .start_after
                    .as_deref()
                    .is_some_and(|after| after.starts_with(common.as_str()));
                if page.common_prefixes.last() == Some(&common) || marker_covers {
                    continue;
                }
                if entries == query.max_keys {
                    page.is_truncated = true;
                    return Ok(page);
                }
                page.last = Some(common.clone());
                page.common_prefixes.push(common);
            } else {
                if entries == query.max_keys {
                    page.is_truncated = true;
                    return Ok(page);
                }
                page.last = Some(meta.key.clone());
                page.objects.push(meta);
            }
        }
    }
}

/// Looks up one version of a key (the latest when `label` is `None`).
fn find_version(
    conn: &Connection,
    bucket: &str,
    key: &str,
    label: Option<&str>,
) -> Result<ObjectMeta, S3Error> {
    let current = load_object(conn, bucket, key)?;
    let Some(label) = label else {
        if let Some(meta) = current {
            return Ok(meta);
        }
        require_bucket(conn, bucket)?;
        return Err(match versions::newest_noncurrent(conn, bucket, key)? {
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
    match versions::load_noncurrent(conn, bucket, key, wanted)? {
        Some(row) if row.entry.delete_marker => Err(S3Error::DeleteMarker {
            version_id: label.to_owned(),
            last_modified_ms: row.entry.meta.last_modified_ms,
            requested: true,
        }),
        Some(row) => Ok(row.entry.meta),
        None => Err(S3Error::NoSuchVersion),
    }
}

/// A delete without a version id: removes the object, or on a versioned bucket puts
/// a delete marker on top. Returns the event, what happened and the blobs to delete.
fn delete_latest(
    conn: &Connection,
    versioning: Versioning,
    bucket: &str,
    key: &str,
    now: u64,
) -> Result<(&'static str, Deleted, Vec<String>), StoreError> {
    let previous = load_object(conn, bucket, key)?;
    let mut blobs = Vec::new();
    if let Some(previous) = &previous {
        conn.prepare_cached("DELETE FROM objects WHERE bucket = ?1 AND key = ?2")?
            .execute(params![bucket, key])?;
        if previous.version_id.is_some() || versioning == Versioning::Enabled {
            versions::archive(conn, previous)?;
        } else {
            blobs.push(previous.blob.clone());
        }
    }
    if versioning == Versioning::Unversioned {
        let deleted = Deleted {
            version_id: None,
            delete_marker: false,
            changed: previous.is_some(),
        };
        return Ok(("s3:ObjectRemoved:Delete", deleted, blobs));
    }
    let marker = (versioning == Versioning::Enabled).then(versions::new_version_id);
    if marker.is_none() {
        blobs.extend(versions::remove_noncurrent_null(conn, bucket, key)?);
    }
    versions::insert_delete_marker(conn, bucket, key, marker.as_deref(), now)?;
    let deleted = Deleted {
        version_id: Some(marker.unwrap_or_else(|| NULL_VERSION.to_owned())),
        delete_marker: true,
        changed: true,
    };
    Ok(("s3:ObjectRemoved:DeleteMarkerCreated", deleted, blobs))
}

/// A delete of one version for good; the newest remaining version becomes current.
fn delete_version(
    conn: &Connection,
    versioning: Versioning,
    bucket: &str,
    key: &str,
    label: &str,
) -> Result<(&'static str, Deleted, Vec<String>), StoreError> {
    let wanted = stored_version(label);
    let mut deleted = Deleted {
        version_id: (versioning != Versioning::Unversioned || wanted.is_some())
            .then(|| label.to_owned()),
        delete_marker: false,
        changed: false,
    };
    let mut blobs = Vec::new();
    if let Some(current) =
        load_object(conn, bucket, key)?.filter(|m| m.version_id.as_deref() == wanted)
    {
        conn.prepare_cached("DELETE FROM objects WHERE bucket = ?1 AND key = ?2")?
            .execute(params![bucket, key])?;
        blobs.push(current.blob);
        deleted.changed = true;
    } else if let Some(row) = versions::load_noncurrent(conn, bucket, key, wanted)? {
        versions::delete_noncurrent(conn, row.seq)?;
        if !row.entry.delete_marker {
            blobs.push(row.entry.meta.blob);
        }
        deleted.delete_marker = row.entry.delete_marker;
        deleted.changed = true;
    }
    if deleted.changed {
        versions::promote_newest(conn, bucket, key)?;
    }
    Ok(("s3:ObjectRemoved:Delete", deleted, blobs))
}
