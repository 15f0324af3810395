//! Restores of archived object versions (RestoreObject): a version stored as
//! `GLACIER` or `DEEP_ARCHIVE` gets a temporary readable copy, after a delay the
//! caller chooses, for the days the request asks. The restore is kept in the
//! version's attributes ([`RestoreState`]) and, until its completion is reported, in
//! the `s3_restores` table, which [`Objects::complete_restores`] reads to raise
//! `s3:ObjectRestore:Completed`. Starting raises `s3:ObjectRestore:Post`. Until the
//! copy's expiry is reported, the version also has a row in `s3_restore_expiries`
//! (see `restore_expiry`). Each change and its events are one transaction. A day of
//! `Days` lasts what the store's lifecycle day is (a real day unless tests shorten it).

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

/// What a RestoreObject did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreOutcome {
    /// A restore was started (S3's 202 Accepted).
    Started(RestoreState),
    /// The version was restored already: its copy's expiry was moved (S3's 200).
    Extended(RestoreState),
}

/// When a copy restored at `ready_ms` for `days` of `day_ms` expires: S3 rounds up to
/// the next midnight UTC (the next whole day since the epoch).
fn expiry(ready_ms: u64, days: u32, day_ms: u64) -> u64 {
    let end = ready_ms.saturating_add(u64::from(days).saturating_mul(day_ms));
    end.div_ceil(day_ms).saturating_mul(day_ms)
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
        let day_ms = shared
            .lifecycle_day_ms
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(1);
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
                            expires_at_ms: expiry(now, days, day_ms),
                            ..state
                        };
                        (RestoreOutcome::Extended(state), state)
                    }
                    _ => {
                        let completes_at_ms = now + delay_ms;
                        let state = RestoreState {
                            requested_at_ms: now,
                            completes_at_ms,
                            expires_at_ms: expiry(completes_at_ms, days, day_ms),
                            completion_reported: delay_ms == 0,
                        };
                        (RestoreOutcome::Started(state), state)
                    }
                };
                let meta = set_restore(conn, &meta, state)?;
                schedule_expiry(conn, &meta, state.expires_at_ms)?;
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
                            ms_i64(state.completes_at_ms)
                        ])?;
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
        self.report_due(
            COMPLETIONS,
            now_ms,
            move |conn, shared, (bucket, key, version)| {
                let reported = history::update_attrs(conn, bucket, key, Some(version), |a| {
                    if let Some(restore) = &mut a.restore {
                        restore.completion_reported = true;
                    }
                })?;
                let Some(meta) = reported else {
                    return Ok(None);
                };
                let Some(state) = meta.attrs.restore else {
                    return Ok(None);
                };
                Ok(Some(completed_event(
                    conn,
                    shared,
                    &meta,
                    &state,
                    &context(),
                )?))
            },
        )
        .await
    }

    /// Takes the rows of `table` due by `now_ms` (at most 100 a call) and hands each
    /// to `report`, in one transaction; returns how many raised events.
    pub(super) async fn report_due(
        &self,
        table: DueTable,
        now_ms: u64,
        report: impl Fn(&Connection, &Shared, (&str, &str, &str)) -> TxResult<Option<Woken>, S3Error>
        + Send
        + 'static,
    ) -> Result<usize, S3Error> {
        let (exists, select, delete) = table.statements();
        // Most sweeps find nothing due: a read finds that without a write.
        let due = self
            .shared()
            .db
            .read(move |conn| {
                let due = conn
                    .prepare_cached(&exists)?
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
                    .prepare_cached(&select)?
                    .query_map(params![ms_i64(now_ms)], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?
                    .collect::<Result<_, _>>()?;
                let mut woken = Woken::default();
                let mut count = 0;
                for (bucket, key, version) in due {
                    conn.prepare_cached(&delete)?
                        .execute(params![bucket, key, version])?;
                    if let Some(more) = report(conn, &shared, (&bucket, &key, &version))? {
                        merge(&mut woken, more);
                        count += 1;
                    }
                }
                Ok((count, woken))
            })
            .await?;
        self.shared().wake_after_events(&woken);
        Ok(count)
    }
}

/// A table of versions awaiting a restore event at a time (its `column`).
#[derive(Debug, Clone, Copy)]
pub(super) struct DueTable {
    table: &'static str,
    column: &'static str,
}

/// Restores awaiting `s3:ObjectRestore:Completed`.
const COMPLETIONS: DueTable = DueTable {
    table: "s3_restores",
    column: "completes_at_ms",
};

/// Restored copies awaiting their expiry and `s3:ObjectRestore:Delete`.
pub(super) const EXPIRIES: DueTable = DueTable {
    table: "s3_restore_expiries",
    column: "expires_at_ms",
};

impl DueTable {
    /// Whether a row is due, the rows due (oldest first) and the removal of one.
    fn statements(self) -> (String, String, String) {
        let DueTable { table, column } = self;
        (
            format!("SELECT 1 FROM {table} WHERE {column} <= ?1 LIMIT 1"),
            format!(
                "SELECT bucket, key, version FROM {table} WHERE {column} <= ?1 ORDER BY {column} LIMIT 100"
            ),
            format!("DELETE FROM {table} WHERE bucket = ?1 AND key = ?2 AND version = ?3"),
        )
    }
}

/// Records (or moves) when `meta`'s restored copy expires.
fn schedule_expiry(
    conn: &Connection,
    meta: &ObjectMeta,
    expires_at_ms: u64,
) -> TxResult<(), S3Error> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO s3_restore_expiries (bucket, key, version, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        meta.bucket,
        meta.key,
        meta.version_label(),
        ms_i64(expires_at_ms)
    ])?;
    Ok(())
}

/// A time in milliseconds as SQLite stores it.
pub(super) fn ms_i64(ms: u64) -> i64 {
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
