//! How a new object version becomes visible: its blob is placed, then one transaction
//! makes its row current (keeping or dropping the previous version as the bucket's
//! versioning says), stores the bytes of an inline blob, and enqueues the notification
//! events. The blobs that no row names any more are removed after the commit.

use std::sync::Arc;

use eddy_telemetry::FileUploaded;
use rusqlite::Connection;

use super::error::S3Error;
use super::history;
use super::model::{ObjectAttrs, ObjectMeta, Versioning, new_version_id};
use super::notification_rules::{ChangeContext, EventObject};
use super::notifications::{Woken, enqueue_events};
use super::rows::{bucket_versioning, insert_current, load_object};
use crate::blobs::{self, StagedBlob};
use crate::shared::Shared;
use crate::time::now_ms;
use crate::tx::{TxResult, abort};

/// The result of a committed object change.
pub(crate) struct Committed {
    pub meta: ObjectMeta,
    /// Blobs no row names any more: inline ones are already deleted in the same
    /// transaction; files are deleted after the commit.
    pub removed_blobs: Vec<String>,
    /// The queues the change's events went to.
    pub woken: Woken,
}

/// Where the bytes of an object row being committed come from.
pub(crate) enum NewBlob {
    /// A file already placed under `blobs/`.
    Placed,
    /// An inline blob's bytes, stored with the row.
    Inline(bytes::Bytes),
    /// A copy of this inline blob's bytes.
    InlineCopyOf(String),
}

/// Makes `meta` the current version of its key, keeping or replacing the previous
/// one as the bucket's versioning says, and enqueues the events.
pub(crate) fn commit_object(
    conn: &Connection,
    shared: &Shared,
    mut meta: ObjectMeta,
    event_name: &str,
    sequencer: &str,
    context: &ChangeContext,
) -> TxResult<Committed, S3Error> {
    let Some(versioning) = bucket_versioning(conn, &meta.bucket)? else {
        return abort(S3Error::NoSuchBucket);
    };
    meta.version_id = (versioning == Versioning::Enabled).then(new_version_id);
    let mut removed_blobs = Vec::new();
    if let Some(previous) = load_object(conn, &meta.bucket, &meta.key)? {
        if previous.version_id.is_some() || versioning == Versioning::Enabled {
            history::archive(conn, &previous)?;
        } else if previous.blob != meta.blob {
            removed_blobs.push(previous.blob);
        }
    }
    if meta.version_id.is_none() {
        removed_blobs.extend(history::remove_noncurrent_null(
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
        restored: None,
    };
    let woken = enqueue_events(
        conn,
        shared,
        event_name,
        &object,
        context,
        meta.last_modified_ms,
    )?;
    // The file's journey starts here, in the writer, before any receive can see its
    // messages: a receive later in the same group commit would otherwise record its
    // steps for a journey that does not exist yet.
    if !woken.queues.is_empty() {
        shared.telemetry.emit(FileUploaded {
            bucket: &meta.bucket,
            key: &meta.key,
            etag: &meta.etag,
            size: meta.size,
            at_ms: meta.last_modified_ms,
            queues: &woken.queues,
        });
    }
    Ok(Committed {
        meta,
        removed_blobs,
        woken,
    })
}

/// After a committed object change: wakes the receivers of the queues its events went
/// to and the invoker of the functions they queued (the file's journey started in
/// [`commit_object`]).
pub(crate) fn announce(shared: &Shared, committed: &Committed) {
    shared.wake_after_events(&committed.woken);
}

/// Places a staged body and commits it as `bucket/key` with this ETag.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn commit_staged(
    shared: &Arc<Shared>,
    bucket: &str,
    key: &str,
    staged: StagedBlob,
    etag: String,
    attrs: ObjectAttrs,
    event_name: &str,
    context: ChangeContext,
) -> Result<ObjectMeta, S3Error> {
    let staged = shared.blobs.place_or_discard(staged).await?;
    let bytes = match staged.inline_data() {
        Some(data) => NewBlob::Inline(data),
        None => NewBlob::Placed,
    };
    let meta = new_version(bucket, key, &staged, etag, attrs);
    commit_placed(shared, meta, bytes, event_name, context).await
}

/// The row of a new version of `bucket/key` whose bytes are `staged` (its version id
/// is chosen when it commits).
pub(crate) fn new_version(
    bucket: &str,
    key: &str,
    staged: &StagedBlob,
    etag: String,
    attrs: ObjectAttrs,
) -> ObjectMeta {
    ObjectMeta {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        blob: staged.id.clone(),
        size: staged.size,
        etag,
        last_modified_ms: now_ms(),
        attrs,
        version_id: None,
    }
}

/// Commits a blob's row (with the bytes of an inline blob); on failure removes the
/// blob again.
pub(crate) async fn commit_placed(
    shared: &Arc<Shared>,
    meta: ObjectMeta,
    bytes: NewBlob,
    event_name: &str,
    context: ChangeContext,
) -> Result<ObjectMeta, S3Error> {
    let blob = meta.blob.clone();
    let sequencer = shared.next_sequencer();
    let event_name = event_name.to_owned();
    let in_writer = shared.clone();
    let result = shared
        .db
        .write(move |conn| {
            // The bytes go in first: a copy onto itself replaces (and deletes) its
            // source's bytes in `commit_object`. A refusal rolls them back.
            let id = &meta.blob;
            match &bytes {
                NewBlob::Placed => {}
                NewBlob::Inline(data) => blobs::insert_inline(conn, id, data)?,
                NewBlob::InlineCopyOf(source) => {
                    if !blobs::copy_inline(conn, source, id)? {
                        return abort(S3Error::NoSuchKey);
                    }
                }
            }
            commit_object(conn, &in_writer, meta, &event_name, &sequencer, &context)
        })
        .await;
    match result {
        Ok(committed) => {
            announce(shared, &committed);
            shared.blobs.remove(committed.removed_blobs).await;
            Ok(committed.meta)
        }
        Err(error) => {
            // A file placed for nothing; an inline blob's bytes went nowhere.
            shared.blobs.remove(vec![blob]).await;
            Err(error)
        }
    }
}
