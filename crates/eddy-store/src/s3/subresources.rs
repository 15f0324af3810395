//! Changes to an object version's sub-resources that raise S3 events: its tag set
//! (`s3:ObjectTagging:Put` and `:Delete`) and its ACL (`s3:ObjectAcl:Put`). The change
//! and its events are one transaction, as for object writes. These events name the
//! version's ETag and carry no size and no sequencer, as S3's do.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::access_model::AclGrant;
use super::error::S3Error;
use super::history;
use super::model::{ObjectMeta, Versioning, stored_version};
use super::notification_rules::{ChangeContext, EventObject};
use super::notifications::{Woken, enqueue_events};
use super::objects::Objects;
use super::rows::{bucket_versioning, load_object, require_bucket};
use crate::shared::Shared;
use crate::time::now_ms;
use crate::tx::{TxResult, abort};

impl Objects<'_> {
    /// Replaces (or with `None` removes) the tag set of an object version, raising
    /// `s3:ObjectTagging:Put` (or `:Delete`); returns the version it applied to.
    pub async fn set_tags(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        tags: Option<BTreeMap<String, String>>,
        context: ChangeContext,
    ) -> Result<ObjectMeta, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let label = version_id.map(str::to_owned);
        let shared = self.shared().clone();
        let event = if tags.is_some() {
            "s3:ObjectTagging:Put"
        } else {
            "s3:ObjectTagging:Delete"
        };
        let (meta, woken) = self
            .shared()
            .db
            .write(move |conn| {
                require_bucket(conn, &bucket)?;
                let meta = match history::set_tags(conn, &bucket, &key, label.as_deref(), tags)? {
                    Some(meta) => meta,
                    None if label.is_some() => return abort(S3Error::NoSuchVersion),
                    None => return abort(S3Error::NoSuchKey),
                };
                let woken = enqueue_subresource_event(conn, &shared, event, &meta, &context, None)?;
                Ok((meta, woken))
            })
            .await?;
        self.shared().wake_after_events(&woken);
        Ok(meta)
    }

    /// Sets an object version's ACL grants (`None`: the owner's FULL_CONTROL only),
    /// raising `s3:ObjectAcl:Put`.
    pub async fn acl_put(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        grants: Option<Vec<AclGrant>>,
        context: ChangeContext,
    ) -> Result<ObjectMeta, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let label = version_id.map(str::to_owned);
        let shared = self.shared().clone();
        let (meta, woken) = self
            .shared()
            .db
            .write(move |conn| {
                require_bucket(conn, &bucket)?;
                version_of(conn, &bucket, &key, label.as_deref())?;
                let Some(meta) =
                    history::update_attrs(conn, &bucket, &key, label.as_deref(), |a| {
                        a.acl.clone_from(&grants);
                    })?
                else {
                    return abort(S3Error::NoSuchVersion);
                };
                let woken = enqueue_subresource_event(
                    conn,
                    &shared,
                    "s3:ObjectAcl:Put",
                    &meta,
                    &context,
                    None,
                )?;
                Ok((meta, woken))
            })
            .await?;
        self.shared().wake_after_events(&woken);
        Ok(meta)
    }
}

/// The version a label names (the current one for `None`); delete markers have no
/// sub-resources.
pub(super) fn version_of(
    conn: &Connection,
    bucket: &str,
    key: &str,
    label: Option<&str>,
) -> TxResult<ObjectMeta, S3Error> {
    let current = load_object(conn, bucket, key)?;
    match (label, current) {
        (None, Some(meta)) => Ok(meta),
        (None, None) => abort(S3Error::NoSuchKey),
        (Some(label), current) => {
            let wanted = stored_version(label);
            if let Some(meta) = current.filter(|m| m.version_id.as_deref() == wanted) {
                return Ok(meta);
            }
            match history::load_noncurrent(conn, bucket, key, wanted)? {
                Some(row) if !row.entry.delete_marker => Ok(row.entry.meta),
                _ => abort(S3Error::NoSuchVersion),
            }
        }
    }
}

/// Queues the `event` of a change to `meta`'s sub-resources (`restored`: a restore
/// event's expiry and storage class).
pub(super) fn enqueue_subresource_event(
    conn: &Connection,
    shared: &Shared,
    event: &str,
    meta: &ObjectMeta,
    context: &ChangeContext,
    restored: Option<(u64, &str)>,
) -> TxResult<Woken, S3Error> {
    let versioning = bucket_versioning(conn, &meta.bucket)?.unwrap_or(Versioning::Unversioned);
    let version = versioning.event_version_id(meta.version_id.as_deref());
    let object = EventObject {
        bucket: &meta.bucket,
        key: &meta.key,
        size: None,
        etag: Some(&meta.etag),
        version_id: version.as_deref(),
        sequencer: String::new(),
        restored,
    };
    Ok(enqueue_events(
        conn,
        shared,
        event,
        &object,
        context,
        now_ms(),
    )?)
}
