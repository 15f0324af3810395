//! Storage failures, with their causes kept: the `rusqlite` or `io` error is the source
//! of each variant, so a log line can show the whole chain (see [`report`]).

use std::sync::Arc;

/// A storage failure: the database or the object files could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A statement failed.
    #[error("database error")]
    Sqlite(#[source] rusqlite::Error),
    /// Reading or writing the data directory's files failed.
    #[error("I/O error in the data directory")]
    Io(#[source] std::io::Error),
    /// The device holding the data directory is full (SQLite's `SQLITE_FULL`, or
    /// `ENOSPC` from the file system): nothing of the write was stored.
    #[error("no space left on the data directory's device")]
    DiskFull(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The group transaction a write was part of could not begin: none of its writes
    /// ran.
    #[error("cannot begin a write transaction")]
    Begin(#[source] Arc<StoreError>),
    /// The group transaction a write was part of could not commit: none of its writes
    /// is stored.
    #[error("cannot commit a write transaction")]
    Commit(#[source] Arc<StoreError>),
    /// The fsync that makes new names in `blobs/` durable failed.
    #[error("cannot sync the blob directory")]
    SyncBlobs(#[source] Arc<StoreError>),
    /// A stored value (JSON in a column) cannot be read or written.
    #[error("stored data cannot be encoded or decoded")]
    Json(#[source] serde_json::Error),
    /// The database failed its integrity check, or a row names bytes that are gone.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The data directory was written by a newer eddy, whose schema this one does not
    /// know.
    #[error("the data directory has schema version {found}; this eddy knows up to {known}")]
    NewerSchema { found: u32, known: u32 },
    /// A thread or task the store runs stopped or could not start.
    #[error("the store's {0} stopped")]
    Stopped(&'static str),
    /// A body being written to a file broke off.
    #[error("the body broke off before its end")]
    BodyBrokeOff,
    /// The store was closed.
    #[error("the store is shutting down")]
    Closed,
}

impl StoreError {
    /// Whether the failure is a full disk (clients are told to retry later).
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::DiskFull(_) => true,
            StoreError::Begin(cause) | StoreError::Commit(cause) | StoreError::SyncBlobs(cause) => {
                cause.is_disk_full()
            }
            _ => false,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(code, _) = &error
            && code.code == rusqlite::ErrorCode::DiskFull
        {
            return StoreError::DiskFull(Box::new(error));
        }
        StoreError::Sqlite(error)
    }
}

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::StorageFull {
            return StoreError::DiskFull(Box::new(error));
        }
        StoreError::Io(error)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Json(error)
    }
}

/// An error and its causes on one line (`outer: cause: root cause`), for logs and for
/// the messages of internal errors.
pub fn report(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_recognised_through_a_failed_commit() {
        let full = StoreError::from(std::io::Error::from_raw_os_error(28));
        assert!(full.is_disk_full());
        let commit = StoreError::Commit(Arc::new(full));
        assert!(commit.is_disk_full());
        assert_eq!(
            report(&commit),
            format!(
                "cannot commit a write transaction: no space left on the data directory's device: {}",
                std::io::Error::from_raw_os_error(28)
            )
        );
        assert!(!StoreError::Closed.is_disk_full());
    }
}
