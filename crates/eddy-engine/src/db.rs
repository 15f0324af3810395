//! The metadata database: SQLite in WAL mode with one writer thread that commits
//! concurrent writes together (group commit) and a pool of reader connections.
//!
//! A write is a closure run inside its own savepoint of the current group transaction:
//! a failing closure rolls back only its own changes. Callers get their result only once
//! the group's `COMMIT` is durable (`synchronous=FULL`), so an acknowledged write survives
//! a crash.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::StoreError;

/// The most writes committed in one transaction.
const MAX_GROUP: usize = 512;

/// How many prepared statements each connection keeps parsed.
const STATEMENT_CACHE_CAPACITY: usize = 128;

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Completion + Send>;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
}

struct DbInner {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // Room for every statement the request paths prepare with `prepare_cached`.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
    )?;
    Ok(conn)
}

/// Databases up to this size are checked (`PRAGMA quick_check`) before eddy starts.
const CHECK_AT_START_MAX_BYTES: u64 = 512 << 20;

/// Runs SQLite's `quick_check` (page and record structure) over the whole database.
fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let integrity: String = conn.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
    if integrity != "ok" {
        return Err(StoreError::Corrupt(format!(
            "{}: {integrity}",
            path.display()
        )));
    }
    Ok(())
}

impl Db {
    /// Opens the database at `path` (its schema is already in place) after checking that
    /// its pages and records are sound.
    ///
    /// The check reads every page, object bytes kept inline included; a database larger
    /// than [`CHECK_AT_START_MAX_BYTES`] is checked on a thread of its own after the
    /// start instead (a problem is then logged), so that start-up stays quick.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = open_connection(path)?;
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size <= CHECK_AT_START_MAX_BYTES {
            quick_check(&conn, path)?;
        } else {
            let checked = path.to_owned();
            let _ = std::thread::Builder::new()
                .name("eddy-db-check".into())
                .spawn(move || {
                    let outcome =
                        open_connection(&checked).and_then(|conn| quick_check(&conn, &checked));
                    match outcome {
                        Ok(()) => tracing::info!(bytes = size, "database check passed"),
                        Err(error) => tracing::error!(%error, "database check failed"),
                    }
                });
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("eddy-db-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StoreError::Io(format!("cannot start the database writer: {e}")))?;
        Ok(Self {
            inner: Arc::new(DbInner {
                path: path.to_owned(),
                writer: Mutex::new(Some(tx)),
                writer_thread: Mutex::new(Some(handle)),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs `f` in a write transaction shared with other concurrent writes; resolves once
    /// the transaction is durable.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn: &Connection| {
            let outcome = run_in_savepoint(conn, f);
            Box::new(move |commit: Result<(), StoreError>| {
                let result = match (outcome, commit) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Err(error), _) => Err(error),
                    (Ok(_), Err(error)) => Err(error),
                };
                let _ = tx.send(result);
            })
        });
        let sender = self
            .inner
            .writer
            .lock()
            .map_err(|_| StoreError::Closed)?
            .clone()
            .ok_or(StoreError::Closed)?;
        sender.send(job).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a reader connection (sees every acknowledged write).
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match inner.readers.lock().map_err(|_| StoreError::Closed)?.pop() {
                Some(conn) => conn,
                None => open_connection(&inner.path)?,
            };
            let result = f(&conn);
            if let Ok(mut readers) = inner.readers.lock() {
                readers.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Io(format!("database reader task failed: {e}")))?
    }

    /// Stops the writer after the writes already queued, and waits for it.
    pub fn close(&self) {
        if let Ok(mut writer) = self.inner.writer.lock() {
            writer.take();
        }
        if let Ok(mut thread) = self.inner.writer_thread.lock()
            && let Some(handle) = thread.take()
        {
            let _ = handle.join();
        }
    }
}

fn run_in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    run_cached(conn, "SAVEPOINT job")?;
    match f(conn) {
        Ok(value) => {
            run_cached(conn, "RELEASE job")?;
            Ok(value)
        }
        Err(error) => {
            run_cached(conn, "ROLLBACK TO job")?;
            run_cached(conn, "RELEASE job")?;
            Err(error)
        }
    }
}

/// Runs a parameterless statement through the connection's statement cache, so the
/// per-job and per-group transaction statements are parsed once, not once per use.
fn run_cached(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let begin = run_cached(&conn, "BEGIN IMMEDIATE");
        if let Err(error) = begin {
            // Run nothing; fail every write of the group.
            tracing::error!(%error, "cannot begin a write transaction");
            for job in jobs {
                drop(job);
            }
            continue;
        }
        let completions: Vec<Completion> = jobs.into_iter().map(|job| job(&conn)).collect();
        let commit = run_cached(&conn, "COMMIT");
        if let Err(error) = &commit {
            tracing::error!(%error, "commit failed; rolling back");
            let _ = conn.execute_batch("ROLLBACK");
        }
        for completion in completions {
            completion(commit.clone());
        }
    }
}
