//! Restores of archived object versions (RestoreObject): a version stored as
//! `GLACIER` or `DEEP_ARCHIVE` gets a temporary readable copy, after a delay the
//! caller chooses, for the days the request asks. The restore is kept in the
//! version's attributes ([`RestoreState`]) and, until its completion is reported, in
//! the `s3_restores` table, which [`Objects::complete_restores`] reads to raise
//! `s3:ObjectRestore:Completed`. Starting raises `s3:ObjectRestore:Post`. Each change
//! and its events are one transaction.

use std::sync::atomic::Ordering;

use rusqlite::{Connection, params};

use super::access_model::RestoreState;
use super::error::S3Error;
use super::history;
use super::model::{NULL_VERSION, ObjectMeta};
use super::notification_rules::ChangeContext;
use super::notifications::Woken;
use super::objects::Objects;
use super::rows::require_bucket;
use super::subresources::{enqueue_subresource_event, version_of};
use crate::shared::Shared;
use crate::time::now_ms;
use crate::tx::{TxResult, abort};

/// The storage classes whose objects must be restored to be read.
pub const ARCHIVED_CLASSES: &[&str] = &["GLACIER", "DEEP_ARCHIVE"];

const DAY_MS: u64 = 86_400_000;

/// What a RestoreObject did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreOutcome {
    /// A restore was started (S3's 202 Accepted).
    Started(RestoreState),
    /// The version was restored already: its copy's expiry was moved (S3's 200).
    Extended(RestoreState),
}

/// When a copy restored at `ready_ms` for `days` expires: S3 rounds up to the next
/// midnight UTC.
fn expiry(ready_ms: u64, days: u32) -> u64 {
    let end = ready_ms + u64::from(days) * DAY_MS;
    end.div_ceil(DAY_MS) * DAY_MS
}

impl Objects<'_> {
    /// Restores an archived version (the current one for `None`) for `days`; the copy
    /// is readable `delay_ms` from now (at once, with its completion event, for 0).
    pub async fn restore(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        days: u32,
        delay_ms: u64,
        context: ChangeContext,
    ) -> Result<RestoreOutcome, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let label = version_id.map(str::to_owned);
        let shared = self.shared().clone();
        let (outcome, woken) = self
            .shared()
            .db
            .write(move |conn| {
                require_bucket(conn, &bucket)?;
                let meta = version_of(conn, &bucket, &key, label.as_deref())?;
                let class = meta.attrs.storage_class.as_deref().unwrap_or("STANDARD");
                if !ARCHIVED_CLASSES.contains(&class) {
                    return abort(S3Error::RestoreNotAllowed);
                }
                let now = now_ms();
                let (outcome, state) = match meta.attrs.restore {
                    Some(state) if state.ongoing(now) => {
                        return abort(S3Error::RestoreAlreadyInProgress);
                    }
                    Some(state) if state.readable(now) => {
                        let state = RestoreState {
                            expires_at_ms: expiry(now, days),
                            ..state
                        };
                        (RestoreOutcome::Extended(state), state)
                    }
                    _ => {
                        let completes_at_ms = now + delay_ms;
                        let state = RestoreState {
                            requested_at_ms: now,
                            completes_at_ms,
                            expires_at_ms: expiry(completes_at_ms, days),
                            completion_reported: delay_ms == 0,
                        };
                        (RestoreOutcome::Started(state), state)
                    }
                };
                let meta = set_restore(conn, &meta, state)?;
                let mut woken = Woken::default();
                if let RestoreOutcome::Started(_) = outcome {
                    let post = "s3:ObjectRestore:Post";
                    merge(&mut woken, enqueue_subresource_event(conn, &shared, post, &meta, &context, None)?);
                    if delay_ms == 0 {
                        merge(&mut woken, completed_event(conn, &shared, &meta, &state, &context)?);
                    } else {
                        conn.prepare_cached(
                            "INSERT OR REPLACE INTO s3_restores (bucket, key, version, completes_at_ms) VALUES (?1, ?2, ?3, ?4)",
                        )?
                        .execute(params![
                            meta.bucket,
                            meta.key,
                            meta.version_label(),
                            completes_at_ms_i64(state.completes_at_ms)
                        ])?;
                        shared
                            .restores_due_ms
                            .fetch_min(state.completes_at_ms, Ordering::AcqRel);
                    }
                }
                Ok((outcome, woken))
            })
            .await?;
        self.shared().wake_after_events(&woken);
        Ok(outcome)
    }

    /// Reports the restores complete by `now_ms`: each raises
    /// `s3:ObjectRestore:Completed` with the context `context` makes. Returns how many.
    pub async fn complete_restores(
        &self,
        now_ms: u64,
        context: impl Fn() -> ChangeContext + Send + 'static,
    ) -> Result<usize, S3Error> {
        // Most sweeps come before the next restore completes: they read nothing.
        if now_ms < self.shared().restores_due_ms.load(Ordering::Acquire) {
            return Ok(0);
        }
        let shared = self.shared().clone();
        let done = self
            .shared()
            .db
            .write(move |conn| {
                let due: Vec<(String, String, String)> = conn
                    .prepare_cached(
                        "SELECT bucket, key, version FROM s3_restores WHERE completes_at_ms <= ?1 ORDER BY completes_at_ms LIMIT 100",
                    )?
                    .query_map(params![completes_at_ms_i64(now_ms)], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?
                    .collect::<Result<_, _>>()?;
                let mut woken = Woken::default();
                let mut count = 0;
                for (bucket, key, version) in due {
                    conn.prepare_cached(
                        "DELETE FROM s3_restores WHERE bucket = ?1 AND key = ?2 AND version = ?3",
                    )?
                    .execute(params![bucket, key, version])?;
                    let reported = history::update_attrs(conn, &bucket, &key, Some(&version), |a| {
                        if let Some(restore) = &mut a.restore {
                            restore.completion_reported = true;
                        }
                    })?;
                    let Some(meta) = reported else { continue };
                    let Some(state) = meta.attrs.restore else { continue };
                    merge(&mut woken, completed_event(conn, &shared, &meta, &state, &context())?);
                    count += 1;
                }
                let next: Option<i64> = conn
                    .prepare_cached("SELECT MIN(completes_at_ms) FROM s3_restores")?
                    .query_row([], |row| row.get(0))?;
                let next = next.map_or(u64::MAX, |ms| u64::try_from(ms).unwrap_or(0));
                shared.restores_due_ms.store(next, Ordering::Release);
                Ok((count, woken))
            })
            .await;
        let (count, woken) = match done {
            Ok(done) => done,
            Err(error) => {
                // The transaction may have been undone: look at the table next time.
                self.shared().restores_due_ms.store(0, Ordering::Release);
                return Err(error);
            }
        };
        self.shared().wake_after_events(&woken);
        Ok(count)
    }
}

fn completes_at_ms_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn set_restore(
    conn: &Connection,
    meta: &ObjectMeta,
    state: RestoreState,
) -> TxResult<ObjectMeta, S3Error> {
    let label = meta.version_id.as_deref().unwrap_or(NULL_VERSION);
    match history::update_attrs(conn, &meta.bucket, &meta.key, Some(label), |a| {
        a.restore = Some(state);
    })? {
        Some(meta) => Ok(meta),
        None => abort(S3Error::NoSuchVersion),
    }
}

fn completed_event(
    conn: &Connection,
    shared: &Shared,
    meta: &ObjectMeta,
    state: &RestoreState,
    context: &ChangeContext,
) -> TxResult<Woken, S3Error> {
    let class = meta.attrs.storage_class.as_deref().unwrap_or("GLACIER");
    enqueue_subresource_event(
        conn,
        shared,
        "s3:ObjectRestore:Completed",
        meta,
        context,
        Some((state.expires_at_ms, class)),
    )
}

fn merge(into: &mut Woken, more: Woken) {
    into.queues.extend(more.queues);
    into.invocations |= more.invocations;
}
