//! Resetting a running store to its state at start-up, for test suites
//! (`POST /_eddy/api/reset`).
//!
//! [`Store::capture_baseline`] remembers, once the configured pipeline is provisioned,
//! every configuration row of the store: the buckets with their settings (versioning,
//! tags, notification configuration), the queues with their attributes and tags, and
//! the rows of every other configuration table (a bucket's CORS rules, functions,
//! roles, ...). Each migration declares its tables as data or configuration
//! ([`crate::schema::TableKind`]); a test fails when a table is not declared.
//! It keeps them in `TEMP` tables of the writer's connection: they belong to this run,
//! not to the data directory, and vanish with the process.
//!
//! [`Store::reset`] then runs as one write of the group commit: it empties every data
//! table (objects, versions, uploads, parts, inline bytes, messages, deduplication and
//! receive-attempt records, move tasks, recently deleted queue names) and puts every
//! configuration table back to its captured rows. Requests in flight run before or
//! after it, never half across it: each write is its own savepoint in the single
//! writer, and readers see one committed state or the other. The object files the
//! emptied rows named are removed once the reset is durable.

use rusqlite::Connection;
use serde::Serialize;

use crate::Store;
use crate::error::StoreError;
use crate::schema::{TableKind, tables_of};
use crate::tx::TxResult;

/// Where the captured rows of table `name` live.
fn baseline_table(name: &str) -> String {
    format!("temp.\"eddy_baseline_{name}\"")
}

/// The configuration a reset returns to: the tables captured at start-up.
#[derive(Debug, Clone)]
pub struct Baseline {
    tables: Vec<String>,
}

/// What a reset removed.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ResetReport {
    /// Buckets that were created since the baseline and are gone.
    pub buckets_removed: u64,
    /// Object versions (current and older ones, delete markers included) removed.
    pub objects_removed: u64,
    /// Queues that were created since the baseline and are gone.
    pub queues_removed: u64,
    /// Messages removed from every queue.
    pub messages_removed: u64,
    /// Multipart uploads aborted.
    pub uploads_aborted: u64,
}

fn count(conn: &Connection, sql: &str) -> Result<u64, StoreError> {
    Ok(conn.query_row(sql, [], |row| row.get(0))?)
}

/// The object files (not inline blobs) the data tables name.
fn file_blobs(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::new();
    for sql in [
        "SELECT blob FROM objects",
        "SELECT blob FROM object_versions WHERE blob IS NOT NULL",
        "SELECT blob FROM parts",
    ] {
        let mut stmt = conn.prepare(sql)?;
        for id in stmt.query_map([], |row| row.get::<_, String>(0))? {
            let id = id?;
            if !crate::blobs::is_inline(&id) {
                ids.push(id);
            }
        }
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

fn capture(conn: &Connection) -> Result<Baseline, StoreError> {
    let tables: Vec<String> = tables_of(TableKind::Configuration)
        .map(str::to_owned)
        .collect();
    for table in &tables {
        let copy = baseline_table(table);
        conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS {copy}; CREATE TABLE {copy} AS SELECT * FROM main.\"{table}\";"
        ))?;
    }
    Ok(Baseline { tables })
}

/// Runs inside the writer's transaction; returns what it removed and the object files
/// to delete once it is durable.
fn reset_rows(
    conn: &Connection,
    baseline: &Baseline,
) -> Result<(ResetReport, Vec<String>), StoreError> {
    let files = file_blobs(conn)?;
    let mut report = ResetReport {
        objects_removed: count(conn, "SELECT count(*) FROM object_versions")?
            .max(count(conn, "SELECT count(*) FROM objects")?),
        messages_removed: count(conn, "SELECT count(*) FROM messages")?,
        uploads_aborted: count(conn, "SELECT count(*) FROM uploads")?,
        ..ResetReport::default()
    };
    let buckets_before = count(conn, "SELECT count(*) FROM buckets")?;
    let queues_before = count(conn, "SELECT count(*) FROM queues")?;
    // Rows are deleted and put back in any order; the keys are checked at the end.
    conn.execute_batch("PRAGMA defer_foreign_keys = ON")?;
    for table in tables_of(TableKind::Data) {
        conn.execute(&format!("DELETE FROM main.\"{table}\""), [])?;
    }
    for table in &baseline.tables {
        conn.execute_batch(&format!(
            "DELETE FROM main.\"{table}\"; INSERT INTO main.\"{table}\" SELECT * FROM {};",
            baseline_table(table)
        ))?;
    }
    let violation: Option<String> = {
        let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
        let mut rows = stmt.query([])?;
        match rows.next()? {
            Some(row) => Some(row.get::<_, String>(0)?),
            None => None,
        }
    };
    if let Some(table) = violation {
        return Err(StoreError::Corrupt(format!(
            "a reset would leave rows of {table} without their parent"
        )));
    }
    report.buckets_removed =
        buckets_before.saturating_sub(count(conn, "SELECT count(*) FROM buckets")?);
    report.queues_removed =
        queues_before.saturating_sub(count(conn, "SELECT count(*) FROM queues")?);
    Ok((report, files))
}

impl Store {
    /// Remembers the store's configuration as it is now (call once the configured
    /// pipeline is provisioned); [`Store::reset`] returns to it.
    pub async fn capture_baseline(&self) -> Result<Baseline, StoreError> {
        self.shared
            .db
            .write(|conn| -> TxResult<Baseline, StoreError> { Ok(capture(conn)?) })
            .await
    }

    /// Empties every bucket and queue, removes the buckets and queues created since
    /// `baseline` was captured and puts the captured ones back as they were, in one
    /// transaction. Object files are removed once it is durable.
    pub async fn reset(&self, baseline: &Baseline) -> Result<ResetReport, StoreError> {
        let baseline = baseline.clone();
        let (report, files) = self
            .shared
            .db
            .write(move |conn| -> TxResult<_, StoreError> { Ok(reset_rows(conn, &baseline)?) })
            .await?;
        self.shared.bucket_regions().clear();
        self.shared.blobs.remove(files).await;
        tracing::info!(
            buckets_removed = report.buckets_removed,
            objects_removed = report.objects_removed,
            queues_removed = report.queues_removed,
            messages_removed = report.messages_removed,
            "store reset to its start-up configuration"
        );
        Ok(report)
    }
}
