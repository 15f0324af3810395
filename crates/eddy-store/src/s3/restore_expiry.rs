//! Expiry of restored copies of archived object versions: each restore keeps a row in
//! `s3_restore_expiries` (written by `restores`) until its copy's expiry is reported.
//! [`Objects::expire_restores`] takes the rows due, clears the version's restore (its
//! copy is gone; a later RestoreObject starts anew) and raises `s3:ObjectRestore:Delete`,
//! all in one transaction, so the event is raised once even when eddy stops mid-sweep.

use std::cell::Cell;

use super::error::S3Error;
use super::history;
use super::notification_rules::ChangeContext;
use super::objects::Objects;
use super::restores::EXPIRIES;
use super::subresources::enqueue_subresource_event;

/// The event S3 raises when a restored copy expires.
const DELETE_EVENT: &str = "s3:ObjectRestore:Delete";

impl Objects<'_> {
    /// Removes the restored copies expired by `now_ms`: each raises
    /// `s3:ObjectRestore:Delete` with the context `context` makes (a version removed
    /// since, or restored anew, raises none). Returns how many were reported.
    pub async fn expire_restores(
        &self,
        now_ms: u64,
        context: impl Fn() -> ChangeContext + Send + 'static,
    ) -> Result<usize, S3Error> {
        self.report_due(
            EXPIRIES,
            now_ms,
            move |conn, shared, (bucket, key, version)| {
                let expired = Cell::new(false);
                let meta = history::update_attrs(conn, bucket, key, Some(version), |a| {
                    if a.restore.is_some_and(|r| r.expires_at_ms <= now_ms) {
                        a.restore = None;
                        expired.set(true);
                    }
                })?;
                match meta {
                    Some(meta) if expired.get() => Ok(Some(enqueue_subresource_event(
                        conn,
                        shared,
                        DELETE_EVENT,
                        &meta,
                        &context(),
                        None,
                    )?)),
                    _ => Ok(None),
                }
            },
        )
        .await
    }
}
