//! Expiry of restored copies of archived object versions: each restore keeps a row in
//! `s3_restore_expiries` (written by `restores`) until its copy's expiry is reported.
//! [`Objects::expire_restores`] takes the rows due, clears the version's restore (its
//! copy is gone; a later RestoreObject starts anew) and raises `s3:ObjectRestore:Delete`,
//! all in one transaction, so the event is raised once even when eddy stops mid-sweep.

use std::cell::Cell;

use rusqlite::params;

use super::error::S3Error;
use super::history;
use super::notification_rules::ChangeContext;
use super::notifications::Woken;
use super::objects::Objects;
use super::restores::{merge, ms_i64};
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
        // Most sweeps find nothing due: a read finds that without a write.
        let due = self
            .shared()
            .db
            .read(move |conn| {
                let due = conn
                    .prepare_cached(
                        "SELECT 1 FROM s3_restore_expiries WHERE expires_at_ms <= ?1 LIMIT 1",
                    )?
                    .exists(params![ms_i64(now_ms)])?;
                Ok::<bool, crate::tx::TxError<S3Error>>(due)
            })
            .await?;
        if !due {
            return Ok(0);
        }
        let shared = self.shared().clone();
        let (count, woken) = self
            .shared()
            .db
            .write(move |conn| {
                let due: Vec<(String, String, String)> = conn
                    .prepare_cached(
                        "SELECT bucket, key, version FROM s3_restore_expiries WHERE expires_at_ms <= ?1 ORDER BY expires_at_ms LIMIT 100",
                    )?
                    .query_map(params![ms_i64(now_ms)], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?
                    .collect::<Result<_, _>>()?;
                let mut woken = Woken::default();
                let mut count = 0;
                for (bucket, key, version) in due {
                    conn.prepare_cached(
                        "DELETE FROM s3_restore_expiries WHERE bucket = ?1 AND key = ?2 AND version = ?3",
                    )?
                    .execute(params![bucket, key, version])?;
                    let expired = Cell::new(false);
                    let meta = history::update_attrs(conn, &bucket, &key, Some(&version), |a| {
                        if a.restore.is_some_and(|r| r.expires_at_ms <= now_ms) {
                            a.restore = None;
                            expired.set(true);
                        }
                    })?;
                    let Some(meta) = meta else { continue };
                    if !expired.get() {
                        continue;
                    }
                    let event =
                        enqueue_subresource_event(conn, &shared, DELETE_EVENT, &meta, &context(), None)?;
                    merge(&mut woken, event);
                    count += 1;
                }
                Ok((count, woken))
            })
            .await?;
        self.shared().wake_after_events(&woken);
        Ok(count)
    }
}
