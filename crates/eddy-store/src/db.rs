//! The metadata database: SQLite in WAL mode with one writer thread that commits
//! concurrent writes together (group commit) and a pool of reader connections.
//!
//! A write is a closure run inside its own savepoint of the current group transaction:
//! a closure that aborts or fails (see [`crate::tx`]) rolls back only its own changes.
//! Callers get their result only once the group's `COMMIT` is durable
//! (`synchronous=FULL`), so an acknowledged write survives a crash. When the group's
//! `BEGIN` or `COMMIT` fails, every write of the group hears that failure.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::durability::Durability;
use crate::error::StoreError;
use crate::tx::{TxError, TxResult};

/// The most writes committed in one transaction.
const MAX_GROUP: usize = 512;

/// How many prepared statements each connection keeps parsed.
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// What the writer hands a job: the connection, inside the group's transaction, or the
/// reason the group could not begin.
type GroupStart<'a> = Result<&'a Connection, &'a Arc<StoreError>>;
/// Reports the group's commit (`None`: durable) to a job's caller.
type Completion = Box<dyn FnOnce(Option<&Arc<StoreError>>) + Send>;
type Job = Box<dyn FnOnce(GroupStart<'_>) -> Completion + Send>;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
}

struct DbInner {
    path: PathBuf,
    durability: Durability,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

fn open_connection(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // Room for every statement the request paths prepare with `prepare_cached`.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={}; PRAGMA foreign_keys=ON;",
        durability.sqlite_synchronous()
    ))?;
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
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let conn = open_connection(path, durability)?;
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        if size <= CHECK_AT_START_MAX_BYTES {
            quick_check(&conn, path)?;
        } else {
            let checked = path.to_owned();
            let _ = std::thread::Builder::new()
                .name("eddy-db-check".into())
                .spawn(move || {
                    let outcome = open_connection(&checked, durability)
                        .and_then(|conn| quick_check(&conn, &checked));
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
            .map_err(StoreError::from)?;
        Ok(Self {
            inner: Arc::new(DbInner {
                path: path.to_owned(),
                durability,
                writer: Mutex::new(Some(tx)),
                writer_thread: Mutex::new(Some(handle)),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs `f` in a write transaction shared with other concurrent writes; resolves once
    /// the transaction is durable. An abort or failure of `f` rolls back its changes
    /// and is returned as `E`.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Connection) -> TxResult<T, E> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |start: GroupStart<'_>| {
            let conn = match start {
                Ok(conn) => conn,
                Err(cause) => {
                    let _ = tx.send(Err(StoreError::Begin(cause.clone()).into()));
                    return Box::new(|_| {});
                }
            };
            let outcome = run_in_savepoint(conn, f);
            Box::new(move |commit: Option<&Arc<StoreError>>| {
                let result = match (outcome, commit) {
                    (Err(error), _) => Err(error),
                    (Ok(_), Some(cause)) => Err(StoreError::Commit(cause.clone()).into()),
                    (Ok(value), None) => Ok(value),
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
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Connection) -> TxResult<T, E> + Send + 'static,
    {
        let inner = self.inner.clone();
        let read = tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().map_err(|_| StoreError::Closed)?.pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open_connection(&inner.path, inner.durability)?,
            };
            let result = f(&conn);
            if let Ok(mut readers) = inner.readers.lock() {
                readers.push(conn);
            }
            result
        })
        .await;
        match read {
            Ok(result) => result.map_err(TxError::into_answer),
            Err(_) => Err(StoreError::Stopped("database reader task").into()),
        }
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

/// Runs `f` inside its own savepoint: kept when it succeeds, rolled back when it aborts
/// or fails.
fn run_in_savepoint<T, E: From<StoreError>>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> TxResult<T, E>,
) -> Result<T, E> {
    run_cached(conn, "SAVEPOINT job")?;
    let outcome = f(conn).and_then(|value| {
        run_cached(conn, "RELEASE job")?;
        Ok(value)
    });
    outcome.map_err(|error| {
        if let Err(rollback) =
            run_cached(conn, "ROLLBACK TO job").and_then(|()| run_cached(conn, "RELEASE job"))
        {
            tracing::error!(error = %crate::error::report(&rollback), "cannot roll back a failed write");
        }
        error.into_answer()
    })
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
        if let Err(error) = run_cached(&conn, "BEGIN IMMEDIATE") {
            // Run nothing; every write of the group hears why.
            tracing::error!(error = %crate::error::report(&error), "cannot begin a write transaction");
            let cause = Arc::new(error);
            for job in jobs {
                job(Err(&cause))(None);
            }
            continue;
        }
        let completions: Vec<Completion> = jobs.into_iter().map(|job| job(Ok(&conn))).collect();
        let commit = match run_cached(&conn, "COMMIT") {
            Ok(()) => None,
            Err(error) => {
                tracing::error!(error = %crate::error::report(&error), "commit failed; rolling back");
                let _ = conn.execute_batch("ROLLBACK");
                Some(Arc::new(error))
            }
        };
        for completion in completions {
            completion(commit.as_ref());
        }
    }
}
