//! eddy's local engine: everything `eddy up` keeps and does, below the HTTP layer.
//!
//! - [`db`]: SQLite with group commit, for buckets, object metadata, queues and messages.
//! - [`blobs`]: immutable object files (staged, fsynced, renamed; copies are hard links).
//! - [`objects`]: buckets, objects and multipart uploads with S3 semantics.
//! - [`versions`]: bucket versioning: older versions, delete markers, version listing.
//! - [`notify`]: bucket notification configurations and the S3 event records they emit,
//!   enqueued in the same transaction that makes the object change visible.
//! - [`sqs`]: queues and messages with SQS semantics (visibility, redrive, long polling).
//! - [`mapping`]: event source mappings that poll a queue and invoke a function.
//! - [`event_filter`]: the FilterCriteria patterns of event source mappings.
//! - [`local_store`]: the copy function's object store over this engine.
//! - [`telemetry`] and [`activity`]: what eddy counts, and the recent files' journeys.
//! - [`inspect`]: read-only views for operators.

pub mod activity;
pub mod blobs;
pub mod db;
pub mod error;
pub mod event_filter;
pub mod ids;
pub mod inspect;
pub mod local_store;
pub mod mapping;
pub mod notify;
pub mod objects;
pub mod sqs;
pub mod telemetry;
pub mod time;
pub mod versions;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::blobs::Blobs;
use crate::db::Db;
use crate::error::StoreError;

/// Identity settings of the engine: what ARNs, URLs and events carry.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub region: String,
    pub account_id: String,
    /// Used as principal id in events and as SenderId of messages.
    pub access_key_id: String,
}

/// The engine: cheap to clone, shared by every request handler and poller.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    settings: EngineSettings,
    data_dir: PathBuf,
    db: Db,
    blobs: Blobs,
    /// Long-polling receivers wait on their queue's notifier; sends wake them.
    queue_wakers: Mutex<HashMap<String, Arc<Notify>>>,
    /// Source of event sequencers: strictly increasing, across restarts too.
    sequencer: AtomicU64,
    /// The recent files' journeys through the pipeline, for the dashboard.
    activity: activity::Activity,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    region TEXT NOT NULL,
    notification TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key TEXT NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    attrs TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS object_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key TEXT NOT NULL,
    version_id TEXT,
    delete_marker INTEGER NOT NULL DEFAULT 0,
    blob TEXT,
    size INTEGER NOT NULL DEFAULT 0,
    etag TEXT NOT NULL DEFAULT '',
    last_modified_ms INTEGER NOT NULL,
    attrs TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS object_versions_by_key ON object_versions (bucket, key, seq);
CREATE TABLE IF NOT EXISTS completed_uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    etag TEXT NOT NULL,
    version_id TEXT,
    size INTEGER NOT NULL,
    completed_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    attrs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL REFERENCES uploads(upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    created_s INTEGER NOT NULL,
    modified_s INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS deleted_queues (
    name TEXT PRIMARY KEY,
    deleted_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    md5_of_body TEXT NOT NULL,
    message_attributes TEXT,
    md5_of_message_attributes TEXT,
    sent_ms INTEGER NOT NULL,
    visible_at_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_ms INTEGER,
    receipt_nonce TEXT,
    received_ms INTEGER,
    dead_letter_source_arn TEXT,
    sender_id TEXT NOT NULL,
    group_id TEXT,
    deduplication_id TEXT,
    sequence_number TEXT,
    system_attributes TEXT,
    md5_of_system_attributes TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (queue, visible_at_ms);
CREATE INDEX IF NOT EXISTS messages_by_group ON messages (queue, group_id, seq);
CREATE TABLE IF NOT EXISTS fifo_deduplication (
    queue TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sequence_number TEXT,
    md5_of_body TEXT NOT NULL,
    md5_of_message_attributes TEXT,
    md5_of_system_attributes TEXT,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS receive_attempts (
    queue TEXT NOT NULL,
    attempt_id TEXT NOT NULL,
    entries TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (queue, attempt_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS message_move_tasks (
    task_id TEXT PRIMARY KEY,
    source_arn TEXT NOT NULL,
    destination_arn TEXT,
    max_per_second INTEGER,
    status TEXT NOT NULL,
    moved INTEGER NOT NULL DEFAULT 0,
    to_move INTEGER NOT NULL DEFAULT 0,
    failure_reason TEXT,
    started_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
-- The bytes of small objects (see blobs.rs): inserted with the row that names them and
-- deleted in the transaction that drops that row.
CREATE TABLE IF NOT EXISTS inline_blobs (
    id TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
"#;

impl Engine {
    /// Opens the engine's state in `data_dir`, creating it if needed, and recovers from
    /// whatever an earlier run left unfinished.
    pub fn open(data_dir: &Path, settings: EngineSettings) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let db_path = data_dir.join("eddy.sqlite3");
        migrate(&db_path)?;
        let db = Db::open(&db_path)?;
        let blobs = Blobs::open(data_dir)?;
        let referenced = referenced_blobs(&db_path)?;
        let removed = blobs.recover(&referenced)?;
        if removed > 0 {
            tracing::info!(removed, "removed files left by an unfinished write");
        }
        let start = time::now_ms().saturating_mul(1_000_000);
        Ok(Self {
            inner: Arc::new(EngineInner {
                settings,
                data_dir: data_dir.to_owned(),
                db,
                blobs,
                queue_wakers: Mutex::new(HashMap::new()),
                sequencer: AtomicU64::new(start),
                activity: activity::Activity::default(),
            }),
        })
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.inner.settings
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn blobs(&self) -> &Blobs {
        &self.inner.blobs
    }

    /// The recent files' journeys through the pipeline.
    pub fn activity(&self) -> &activity::Activity {
        &self.inner.activity
    }

    /// The next event sequencer: increasing for every event of the engine.
    pub(crate) fn next_sequencer(&self) -> String {
        let floor = time::now_ms().saturating_mul(1_000_000);
        let mut current = self.inner.sequencer.load(Ordering::Relaxed);
        loop {
            let next = current.max(floor) + 1;
            match self.inner.sequencer.compare_exchange(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return format!("{next:016X}"),
                Err(actual) => current = actual,
            }
        }
    }

    /// The notifier long-polling receives of `queue` wait on.
    pub(crate) fn queue_waker(&self, queue: &str) -> Arc<Notify> {
        let mut wakers = match self.inner.queue_wakers.lock() {
            Ok(wakers) => wakers,
            Err(poisoned) => poisoned.into_inner(),
        };
        wakers.entry(queue.to_owned()).or_default().clone()
    }

    /// Wakes receivers waiting on each of `queues`.
    pub(crate) fn wake_queues<'a>(&self, queues: impl IntoIterator<Item = &'a String>) {
        for queue in queues {
            self.queue_waker(queue).notify_waiters();
        }
    }

    /// Flushes and closes the database: call after every request has finished.
    pub fn close(&self) {
        self.inner.db.close();
    }
}

/// Columns added after the first release, as (table, column, declaration). Each is
/// added when missing, so opening an older data directory upgrades it in place.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    // `Enabled` or `Suspended`; NULL for a bucket that never had versioning.
    ("buckets", "versioning", "TEXT"),
    // The bucket's tag set as a JSON object; NULL when it has none.
    ("buckets", "tags", "TEXT"),
    // The version id of the current version; NULL for the `null` version.
    ("objects", "version_id", "TEXT"),
    // FIFO queues and system attributes.
    ("messages", "group_id", "TEXT"),
    ("messages", "deduplication_id", "TEXT"),
    ("messages", "sequence_number", "TEXT"),
    ("messages", "system_attributes", "TEXT"),
    ("messages", "md5_of_system_attributes", "TEXT"),
];

/// Brings a data directory up to the current schema: adds the columns an older one
/// lacks (before the schema's indexes refer to them), creates what is missing, and
/// recovers what a stop interrupted.
fn migrate(db_path: &Path) -> Result<(), StoreError> {
    let conn = rusqlite::Connection::open(db_path)?;
    // WAL first (it is a property of the file), then every change in one transaction:
    // one commit, one fsync, and an interrupted migration leaves nothing half done.
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; BEGIN IMMEDIATE;")?;
    add_missing_columns(&conn)?;
    conn.execute_batch(SCHEMA)?;
    // Tables the schema just created get their later columns too.
    add_missing_columns(&conn)?;
    sqs::recover_move_tasks(&conn)?;
    conn.execute_batch("COMMIT")?;
    Ok(())
}

/// Adds every column of [`ADDED_COLUMNS`] an existing table lacks.
fn add_missing_columns(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    for (table, column, declaration) in ADDED_COLUMNS {
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        if !columns.is_empty() && !columns.iter().any(|name| name == column) {
            conn.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {declaration}"
            ))?;
        }
    }
    Ok(())
}

/// Every blob id the database names (objects, their older versions, multipart parts).
fn referenced_blobs(db_path: &Path) -> Result<HashSet<String>, StoreError> {
    let conn = rusqlite::Connection::open(db_path)?;
    let mut set = HashSet::new();
    for sql in [
        "SELECT blob FROM objects",
        "SELECT blob FROM object_versions WHERE blob IS NOT NULL",
        "SELECT blob FROM parts",
    ] {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
        for row in rows {
            set.insert(row?);
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EngineSettings {
        EngineSettings {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            access_key_id: "test".into(),
        }
    }

    /// A data directory written before versioning existed opens, keeps its objects
    /// as `null` versions, and opens again unchanged.
    #[test]
    fn upgrades_a_data_dir_from_before_versioning() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("eddy.sqlite3");
        {
            let conn = rusqlite::Connection::open(&db_path).expect("open");
            conn.execute_batch(
                "CREATE TABLE buckets (name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL,
                     region TEXT NOT NULL, notification TEXT NOT NULL DEFAULT '[]');
                 CREATE TABLE objects (bucket TEXT NOT NULL REFERENCES buckets(name),
                     key TEXT NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
                     etag TEXT NOT NULL, last_modified_ms INTEGER NOT NULL, attrs TEXT NOT NULL,
                     PRIMARY KEY (bucket, key)) WITHOUT ROWID;
                 INSERT INTO buckets VALUES ('old', 1, 'us-east-1', '[]');
                 INSERT INTO objects VALUES ('old', 'k', 'blob1', 3, 'e', 2, '{}');",
            )
            .expect("old schema");
        }
        std::fs::create_dir_all(dir.path().join("blobs")).expect("blobs dir");
        std::fs::write(dir.path().join("blobs/blob1"), b"abc").expect("blob");
        for _ in 0..2 {
            let engine = Engine::open(dir.path(), settings()).expect("open engine");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            let meta = runtime
                .block_on(engine.get_object_version("old", "k", Some("null")))
                .expect("the old object is the null version");
            assert_eq!((meta.size, meta.version_id), (3, None));
            assert!(
                dir.path().join("blobs/blob1").exists(),
                "recovery kept the blob"
            );
            let versioning = runtime
                .block_on(engine.get_versioning("old"))
                .expect("versioning");
            assert_eq!(versioning, versions::Versioning::Unversioned);
            engine.close();
        }
    }

    fn context() -> notify::ChangeContext {
        notify::ChangeContext {
            request_id: "r".into(),
            host_id: "h".into(),
            source_ip: "127.0.0.1".into(),
        }
    }

    /// Stores `len` bytes of `fill` as `bucket/key` (inline when small enough).
    async fn put_bytes(
        engine: &Engine,
        bucket: &str,
        key: &str,
        fill: u8,
        len: usize,
    ) -> Result<objects::ObjectMeta, objects::S3Error> {
        let body =
            futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(vec![fill; len]))]);
        let staged = engine
            .blobs()
            .stage(body, u64::MAX, blobs::Placement::InlineIfSmall)
            .await
            .expect("stage");
        engine
            .put_object(
                bucket,
                key,
                staged,
                objects::ObjectAttrs::default(),
                "s3:ObjectCreated:Put",
                context(),
            )
            .await
    }

    async fn put(engine: &Engine, key: &str, len: usize) -> objects::ObjectMeta {
        put_bytes(engine, "b", key, 7, len).await.expect("put")
    }

    fn inline_rows(dir: &Path) -> i64 {
        let conn = rusqlite::Connection::open(dir.join("eddy.sqlite3")).expect("open");
        conn.query_row("SELECT COUNT(*) FROM inline_blobs", [], |row| row.get(0))
            .expect("count")
    }

    async fn read_all(engine: &Engine, meta: &objects::ObjectMeta) -> Vec<u8> {
        use futures::TryStreamExt;
        let content = engine.open_blob(&meta.blob).await.expect("open blob");
        let chunks: Vec<bytes::Bytes> = content
            .into_stream(0, meta.size)
            .await
            .expect("stream")
            .try_collect()
            .await
            .expect("read");
        chunks.concat()
    }

    /// Small bodies live in the database, larger ones in files; an inline blob is
    /// stored, copied and removed in the transactions of the rows that name it.
    #[test]
    fn inline_blobs_live_exactly_as_long_as_their_rows() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let engine = Engine::open(dir.path(), settings()).expect("open engine");
        runtime.block_on(async {
            engine.create_bucket("b").await.expect("bucket");
            let small = put(&engine, "small", blobs::INLINE_MAX).await;
            let large = put(&engine, "large", blobs::INLINE_MAX + 1).await;
            assert!(blobs::is_inline(&small.blob), "{}", small.blob);
            assert!(!blobs::is_inline(&large.blob), "{}", large.blob);
            assert!(engine.blobs().path(&large.blob).exists());
            assert!(!engine.blobs().path(&small.blob).exists());
            assert_eq!(
                read_all(&engine, &small).await,
                vec![7u8; blobs::INLINE_MAX]
            );
            assert_eq!(inline_rows(dir.path()), 1);

            let copy = engine
                .copy_object(("b", "small"), None, ("b", "copy"), None, context())
                .await
                .expect("copy");
            assert!(blobs::is_inline(&copy.blob) && copy.blob != small.blob);
            assert_eq!(inline_rows(dir.path()), 2);
            // Replacing the source drops its old bytes; the copy keeps its own.
            put(&engine, "small", 10).await;
            assert_eq!(inline_rows(dir.path()), 2);
            assert_eq!(read_all(&engine, &copy).await, vec![7u8; blobs::INLINE_MAX]);
            engine
                .delete_object("b", "copy", context())
                .await
                .expect("delete");
            assert_eq!(inline_rows(dir.path()), 1);
            // A copy whose source vanished meanwhile is refused and stores nothing.
            let gone = engine
                .copy_version(&small, true, ("b", "late"), None, context())
                .await
                .expect_err("the source's bytes are gone");
            assert!(
                matches!(gone, objects::S3Error::PreconditionFailed),
                "{gone:?}"
            );
            assert_eq!(inline_rows(dir.path()), 1);
            // A copy onto itself (a metadata change) keeps the bytes, under a new id.
            let before = engine.get_object("b", "small").await.expect("small");
            let itself = engine
                .copy_object(("b", "small"), None, ("b", "small"), None, context())
                .await
                .expect("copy onto itself");
            assert_ne!(itself.blob, before.blob);
            assert_eq!(read_all(&engine, &itself).await, vec![7u8; 10]);
            assert_eq!(inline_rows(dir.path()), 1);
            // A refused write (no such bucket) leaves no bytes behind.
            let refused = put_bytes(&engine, "missing", "k", 1, 1)
                .await
                .expect_err("no such bucket");
            assert!(
                matches!(refused, objects::S3Error::NoSuchBucket),
                "{refused:?}"
            );
            assert_eq!(inline_rows(dir.path()), 1);
            // In a versioned bucket older versions keep their bytes until deleted.
            engine.create_bucket("v").await.expect("bucket v");
            engine.set_versioning("v", true).await.expect("versioning");
            let mut versions = Vec::new();
            for len in [5, 6] {
                let meta = put_bytes(&engine, "v", "k", 1, len)
                    .await
                    .expect("put version");
                versions.push(meta.version_id.expect("a version id"));
            }
            assert_eq!(inline_rows(dir.path()), 3);
            engine
                .delete_object_version("v", "k", Some(&versions[0]), context())
                .await
                .expect("delete the first version");
            assert_eq!(inline_rows(dir.path()), 2);
        });
        engine.close();
        // After a restart the small object is still there, whole.
        let engine = Engine::open(dir.path(), settings()).expect("reopen");
        runtime.block_on(async {
            let meta = engine.get_object("b", "small").await.expect("small");
            assert_eq!(read_all(&engine, &meta).await, vec![7u8; 10]);
        });
        assert_eq!(inline_rows(dir.path()), 2);
        engine.close();
    }
}
