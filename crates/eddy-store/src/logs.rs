//! CloudWatch Logs (the [`Logs`] handle): log groups with their retention and tags,
//! log streams, and log events, in the tables of migration 8.
//!
//! Function output arrives through [`Logs::append`], which only buffers it: a single
//! background flush writes everything buffered in one write of the group commit, so
//! an invocation never waits for the disk. Every read flushes first, so what was
//! appended is seen. [`Logs::sweep_retention`] deletes events older than their group's
//! retention. The store checks existence and keeps order; the server checks names and
//! parameters the way CloudWatch Logs does.

use std::collections::BTreeMap;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::StoreError;
pub use crate::log_batch::{LogBatch, NewLogEvent};
use crate::shared::Shared;
use crate::tx::{TxResult, abort};

/// Why a Logs operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum LogsStoreError {
    #[error("The specified log group does not exist.")]
    GroupNotFound,
    #[error("The specified log stream does not exist.")]
    StreamNotFound,
    #[error("The specified log group already exists")]
    GroupExists,
    #[error("The specified log stream already exists")]
    StreamExists,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A log group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupRecord {
    pub name: String,
    pub created_ms: i64,
    pub retention_days: Option<u32>,
    pub stored_bytes: i64,
}

/// A log stream as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStreamRecord {
    pub name: String,
    pub created_ms: i64,
    pub first_event_ms: Option<i64>,
    pub last_event_ms: Option<i64>,
    pub last_ingestion_ms: Option<i64>,
    pub stored_bytes: i64,
}

/// A stored event: where it is in its stream's order is `(timestamp_ms, seq)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEventRecord {
    pub seq: i64,
    pub stream: String,
    pub timestamp_ms: i64,
    pub ingestion_ms: i64,
    pub message: String,
}

/// A place in the `(timestamp_ms, seq)` order of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventPosition {
    pub timestamp_ms: i64,
    pub seq: i64,
}

/// What [`Logs::stream_events`] and [`Logs::filter_events`] read.
#[derive(Debug, Clone, Default)]
pub struct EventRange {
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Only events after this position (forward) or before it (backward).
    pub after: Option<EventPosition>,
    pub before: Option<EventPosition>,
    pub limit: u32,
}

/// How DescribeLogStreams orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOrder {
    Name,
    LastEventTime,
}

/// CloudWatch Logs; see [`crate::Store::logs`].
pub struct Logs<'s> {
    shared: &'s Arc<Shared>,
}

type Answer<T> = Result<T, LogsStoreError>;

fn group_exists(conn: &Connection, group: &str) -> TxResult<bool, LogsStoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM log_groups WHERE name = ?1")?
        .query_row([group], |_| Ok(()))
        .optional()?
        .is_some())
}

fn require_group(conn: &Connection, group: &str) -> TxResult<(), LogsStoreError> {
    if group_exists(conn, group)? {
        Ok(())
    } else {
        abort(LogsStoreError::GroupNotFound)
    }
}

fn insert_events(
    conn: &Connection,
    group: &str,
    stream: &str,
    events: &[NewLogEvent],
    now: i64,
) -> Result<(), rusqlite::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO log_events (grp, stream, timestamp_ms, ingestion_ms, message)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for event in events {
        insert.execute(params![
            group,
            stream,
            event.timestamp_ms,
            now,
            event.message
        ])?;
    }
    let first = events.iter().map(|e| e.timestamp_ms).min();
    let last = events.iter().map(|e| e.timestamp_ms).max();
    conn.prepare_cached(
        "UPDATE log_streams SET
            first_event_ms = MIN(COALESCE(first_event_ms, ?3), ?3),
            last_event_ms = MAX(COALESCE(last_event_ms, ?4), ?4),
            last_ingestion_ms = ?5
         WHERE grp = ?1 AND name = ?2",
    )?
    .execute(params![group, stream, first, last, now])?;
    Ok(())
}

fn collect<T>(
    rows: impl Iterator<Item = Result<T, rusqlite::Error>>,
) -> Result<Vec<T>, rusqlite::Error> {
    rows.collect()
}

fn event_row(row: &rusqlite::Row<'_>) -> Result<LogEventRecord, rusqlite::Error> {
    Ok(LogEventRecord {
        seq: row.get(0)?,
        stream: row.get(1)?,
        timestamp_ms: row.get(2)?,
        ingestion_ms: row.get(3)?,
        message: row.get(4)?,
    })
}

impl<'s> Logs<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Buffers events for a stream (group and stream are created when missing); a
    /// background task writes them with the next group commit. Never waits.
    pub fn append(&self, batch: LogBatch) {
        let schedule = {
            let mut pending = self.shared.lock_log_buffer();
            pending.push(batch);
            pending.len() == 1
        };
        if schedule && let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = self.shared.clone();
            runtime.spawn(async move {
                if let Err(error) = Logs::new(&shared).flush().await {
                    tracing::warn!(%error, "cannot store function logs");
                }
            });
        }
    }

    /// Writes everything buffered by [`Logs::append`] (durable when this returns).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let _flushing = self.shared.log_flush.lock().await;
        let batches = std::mem::take(&mut *self.shared.lock_log_buffer());
        if batches.is_empty() {
            return Ok(());
        }
        self.shared
            .db
            .write(move |conn| {
                let now = crate::time::now_ms() as i64;
                for batch in &batches {
                    conn.prepare_cached(
                        "INSERT OR IGNORE INTO log_groups (name, created_ms, tags)
                         VALUES (?1, ?2, '{}')",
                    )?
                    .execute(params![batch.group, now])?;
                    conn.prepare_cached(
                        "INSERT OR IGNORE INTO log_streams (grp, name, created_ms)
                         VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![batch.group, batch.stream, now])?;
                    insert_events(conn, &batch.group, &batch.stream, &batch.events, now)?;
                }
                Ok(())
            })
            .await
    }

    pub async fn create_group(&self, name: &str, tags: BTreeMap<String, String>) -> Answer<()> {
        let name = name.to_owned();
        self.shared
            .db
            .write(move |conn| {
                if group_exists(conn, &name)? {
                    return abort(LogsStoreError::GroupExists);
                }
                conn.execute(
                    "INSERT INTO log_groups (name, created_ms, tags) VALUES (?1, ?2, ?3)",
                    params![
                        name,
                        crate::time::now_ms() as i64,
                        serde_json::to_string(&tags)?
                    ],
                )?;
                Ok(())
            })
            .await
    }

    /// Deletes a group with its streams and events.
    pub async fn delete_group(&self, name: &str) -> Answer<()> {
        self.flush().await?;
        let name = name.to_owned();
        self.shared
            .db
            .write(move |conn| {
                require_group(conn, &name)?;
                conn.execute("DELETE FROM log_events WHERE grp = ?1", [&name])?;
                conn.execute("DELETE FROM log_streams WHERE grp = ?1", [&name])?;
                conn.execute("DELETE FROM log_groups WHERE name = ?1", [&name])?;
                Ok(())
            })
            .await
    }

    /// Groups whose names start with `prefix`, by name, after `after`; at most `limit`.
    pub async fn describe_groups(
        &self,
        prefix: &str,
        after: Option<String>,
        limit: u32,
    ) -> Answer<Vec<LogGroupRecord>> {
        self.flush().await?;
        let prefix = prefix.to_owned();
        self.shared
            .db
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT g.name, g.created_ms, g.retention_days,
                        (SELECT COALESCE(SUM(LENGTH(message)), 0) FROM log_events e
                         WHERE e.grp = g.name)
                     FROM log_groups g
                     WHERE substr(g.name, 1, length(?1)) = ?1 AND g.name > ?2
                     ORDER BY g.name LIMIT ?3",
                )?;
                let rows =
                    stmt.query_map(params![prefix, after.unwrap_or_default(), limit], |row| {
                        Ok(LogGroupRecord {
                            name: row.get(0)?,
                            created_ms: row.get(1)?,
                            retention_days: row.get(2)?,
                            stored_bytes: row.get(3)?,
                        })
                    })?;
                Ok(collect(rows)?)
            })
            .await
    }

    pub async fn create_stream(&self, group: &str, stream: &str) -> Answer<()> {
        let (group, stream) = (group.to_owned(), stream.to_owned());
        self.shared
            .db
            .write(move |conn| {
                require_group(conn, &group)?;
                let inserted = conn.execute(
                    "INSERT OR IGNORE INTO log_streams (grp, name, created_ms)
                     VALUES (?1, ?2, ?3)",
                    params![group, stream, crate::time::now_ms() as i64],
                )?;
                if inserted == 0 {
                    return abort(LogsStoreError::StreamExists);
                }
                Ok(())
            })
            .await
    }

    pub async fn delete_stream(&self, group: &str, stream: &str) -> Answer<()> {
        self.flush().await?;
        let (group, stream) = (group.to_owned(), stream.to_owned());
        self.shared
            .db
            .write(move |conn| {
                require_group(conn, &group)?;
                let deleted = conn.execute(
                    "DELETE FROM log_streams WHERE grp = ?1 AND name = ?2",
                    params![group, stream],
                )?;
                if deleted == 0 {
                    return abort(LogsStoreError::StreamNotFound);
                }
                conn.execute(
                    "DELETE FROM log_events WHERE grp = ?1 AND stream = ?2",
                    params![group, stream],
                )?;
                Ok(())
            })
            .await
    }

    /// Every stream of a group whose name starts with `prefix`, in `order`
    /// (`descending` reverses it).
    pub async fn describe_streams(
        &self,
        group: &str,
        prefix: &str,
        order: StreamOrder,
        descending: bool,
    ) -> Answer<Vec<LogStreamRecord>> {
        self.flush().await?;
        let (group, prefix) = (group.to_owned(), prefix.to_owned());
        self.shared
            .db
            .read(move |conn| {
                require_group(conn, &group)?;
                let direction = if descending { "DESC" } else { "ASC" };
                let order_by = match order {
                    StreamOrder::Name => format!("s.name {direction}"),
                    StreamOrder::LastEventTime => {
                        format!("COALESCE(s.last_event_ms, 0) {direction}, s.name {direction}")
                    }
                };
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT s.name, s.created_ms, s.first_event_ms, s.last_event_ms,
                        s.last_ingestion_ms,
                        (SELECT COALESCE(SUM(LENGTH(message)), 0) FROM log_events e
                         WHERE e.grp = s.grp AND e.stream = s.name)
                     FROM log_streams s
                     WHERE s.grp = ?1 AND substr(s.name, 1, length(?2)) = ?2
                     ORDER BY {order_by}"
                ))?;
                let rows = stmt.query_map(params![group, prefix], |row| {
                    Ok(LogStreamRecord {
                        name: row.get(0)?,
                        created_ms: row.get(1)?,
                        first_event_ms: row.get(2)?,
                        last_event_ms: row.get(3)?,
                        last_ingestion_ms: row.get(4)?,
                        stored_bytes: row.get(5)?,
                    })
                })?;
                Ok(collect(rows)?)
            })
            .await
    }

    /// PutLogEvents: stores events in an existing stream (durable when this returns).
    pub async fn put_events(
        &self,
        group: &str,
        stream: &str,
        events: Vec<NewLogEvent>,
    ) -> Answer<()> {
        let (group, stream) = (group.to_owned(), stream.to_owned());
        self.shared
            .db
            .write(move |conn| {
                require_group(conn, &group)?;
                let exists = conn
                    .prepare_cached("SELECT 1 FROM log_streams WHERE grp = ?1 AND name = ?2")?
                    .query_row(params![group, stream], |_| Ok(()))
                    .optional()?
                    .is_some();
                if !exists {
                    return abort(LogsStoreError::StreamNotFound);
                }
                insert_events(conn, &group, &stream, &events, crate::time::now_ms() as i64)?;
                Ok(())
            })
            .await
    }

    /// Events of one stream in `range`, in order: the first `limit` when `from_head`
    /// (or reading forward from `after`), else the last `limit`.
    pub async fn stream_events(
        &self,
        group: &str,
        stream: &str,
        range: EventRange,
        from_head: bool,
    ) -> Answer<Vec<LogEventRecord>> {
        self.flush().await?;
        let (group, stream) = (group.to_owned(), stream.to_owned());
        self.shared
            .db
            .read(move |conn| {
                require_group(conn, &group)?;
                let exists = conn
                    .prepare_cached("SELECT 1 FROM log_streams WHERE grp = ?1 AND name = ?2")?
                    .query_row(params![group, stream], |_| Ok(()))
                    .optional()?
                    .is_some();
                if !exists {
                    return abort(LogsStoreError::StreamNotFound);
                }
                let after = range.after.unwrap_or(EventPosition {
                    timestamp_ms: i64::MIN,
                    seq: i64::MIN,
                });
                let before = range.before.unwrap_or(EventPosition {
                    timestamp_ms: i64::MAX,
                    seq: i64::MAX,
                });
                let direction = if from_head { "ASC" } else { "DESC" };
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT seq, stream, timestamp_ms, ingestion_ms, message FROM log_events
                     WHERE grp = ?1 AND stream = ?2
                       AND timestamp_ms >= ?3 AND timestamp_ms < ?4
                       AND (timestamp_ms, seq) > (?5, ?6) AND (timestamp_ms, seq) < (?7, ?8)
                     ORDER BY timestamp_ms {direction}, seq {direction} LIMIT ?9"
                ))?;
                let rows = stmt.query_map(
                    params![
                        group,
                        stream,
                        range.start_ms.unwrap_or(i64::MIN),
                        range.end_ms.unwrap_or(i64::MAX),
                        after.timestamp_ms,
                        after.seq,
                        before.timestamp_ms,
                        before.seq,
                        range.limit
                    ],
                    event_row,
                )?;
                let mut events = collect(rows)?;
                if !from_head {
                    events.reverse();
                }
                Ok(events)
            })
            .await
    }

    /// Events of a group in `range` (of `streams` when given) that `matches` accepts,
    /// in order from `range.after`; at most `range.limit`. Also says whether events
    /// were left unread.
    pub async fn filter_events<F>(
        &self,
        group: &str,
        streams: Option<Vec<String>>,
        range: EventRange,
        matches: F,
    ) -> Answer<(Vec<LogEventRecord>, bool)>
    where
        F: Fn(&str) -> bool + Send + 'static,
    {
        self.flush().await?;
        let group = group.to_owned();
        self.shared
            .db
            .read(move |conn| {
                require_group(conn, &group)?;
                let after = range.after.unwrap_or(EventPosition {
                    timestamp_ms: i64::MIN,
                    seq: i64::MIN,
                });
                let mut stmt = conn.prepare_cached(
                    "SELECT seq, stream, timestamp_ms, ingestion_ms, message FROM log_events
                     WHERE grp = ?1 AND timestamp_ms >= ?2 AND timestamp_ms < ?3
                       AND (timestamp_ms, seq) > (?4, ?5)
                     ORDER BY timestamp_ms, seq",
                )?;
                let mut rows = stmt.query(params![
                    group,
                    range.start_ms.unwrap_or(i64::MIN),
                    range.end_ms.unwrap_or(i64::MAX),
                    after.timestamp_ms,
                    after.seq
                ])?;
                let mut found = Vec::new();
                while let Some(row) = rows.next()? {
                    let event = event_row(row)?;
                    if streams.as_ref().is_some_and(|s| !s.contains(&event.stream))
                        || !matches(&event.message)
                    {
                        continue;
                    }
                    if found.len() as u32 >= range.limit {
                        return Ok((found, true));
                    }
                    found.push(event);
                }
                Ok((found, false))
            })
            .await
    }

    /// Sets (`Some`) or removes a group's retention, then applies it.
    pub async fn set_retention(&self, group: &str, days: Option<u32>) -> Answer<()> {
        let group = group.to_owned();
        self.shared
            .db
            .write(move |conn| {
                require_group(conn, &group)?;
                conn.execute(
                    "UPDATE log_groups SET retention_days = ?2 WHERE name = ?1",
                    params![group, days],
                )?;
                Ok(())
            })
            .await?;
        self.sweep_retention().await?;
        Ok(())
    }

    /// Deletes every event older than its group's retention; returns how many.
    pub async fn sweep_retention(&self) -> Result<usize, StoreError> {
        self.flush().await?;
        self.shared
            .db
            .write(|conn| {
                let now = crate::time::now_ms() as i64;
                let deleted = conn.execute(
                    "DELETE FROM log_events WHERE seq IN (
                        SELECT e.seq FROM log_events e JOIN log_groups g ON g.name = e.grp
                        WHERE g.retention_days IS NOT NULL
                          AND e.timestamp_ms < ?1 - g.retention_days * 86400000)",
                    [now],
                )?;
                Ok(deleted)
            })
            .await
    }

    /// The group's tags.
    pub async fn tags(&self, group: &str) -> Answer<BTreeMap<String, String>> {
        let group = group.to_owned();
        self.shared
            .db
            .read(move |conn| {
                let tags: Option<String> = conn
                    .query_row(
                        "SELECT tags FROM log_groups WHERE name = ?1",
                        [&group],
                        |row| row.get(0),
                    )
                    .optional()?;
                match tags {
                    Some(tags) => Ok(serde_json::from_str(&tags)?),
                    None => abort(LogsStoreError::GroupNotFound),
                }
            })
            .await
    }

    /// Adds `add` to the group's tags and removes the keys in `remove`.
    pub async fn change_tags(
        &self,
        group: &str,
        add: BTreeMap<String, String>,
        remove: Vec<String>,
    ) -> Answer<()> {
        let group = group.to_owned();
        self.shared
            .db
            .write(move |conn| {
                let tags: Option<String> = conn
                    .query_row(
                        "SELECT tags FROM log_groups WHERE name = ?1",
                        [&group],
                        |row| row.get(0),
                    )
                    .optional()?;
                let Some(tags) = tags else {
                    return abort(LogsStoreError::GroupNotFound);
                };
                let mut tags: BTreeMap<String, String> = serde_json::from_str(&tags)?;
                tags.extend(add);
                for key in &remove {
                    tags.remove(key);
                }
                conn.execute(
                    "UPDATE log_groups SET tags = ?2 WHERE name = ?1",
                    params![group, serde_json::to_string(&tags)?],
                )?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreSettings};

    fn open(dir: &std::path::Path) -> Store {
        let settings = StoreSettings {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            access_key_id: "test".into(),
        };
        Store::open(dir, settings, Default::default()).expect("open store")
    }

    fn event(timestamp_ms: i64, message: &str) -> NewLogEvent {
        NewLogEvent {
            timestamp_ms,
            message: message.into(),
        }
    }

    /// Appended events are read back (a read flushes the buffer), stay after a
    /// reopen, and retention deletes the old ones.
    #[tokio::test]
    async fn appended_events_are_read_kept_and_expired() {
        let dir = tempfile::tempdir().expect("temp dir");
        let now = crate::time::now_ms() as i64;
        {
            let store = open(dir.path());
            store.logs().append(LogBatch {
                group: "/aws/lambda/f".into(),
                stream: "s".into(),
                events: vec![event(now - 3 * 86_400_000, "old"), event(now, "new")],
            });
            let range = EventRange {
                limit: 10,
                ..EventRange::default()
            };
            let read = store
                .logs()
                .stream_events("/aws/lambda/f", "s", range, true)
                .await
                .expect("read");
            assert_eq!(read.len(), 2);
            store.close();
        }
        let store = open(dir.path());
        let logs = store.logs();
        let range = EventRange {
            limit: 10,
            ..EventRange::default()
        };
        let (found, more) = logs
            .filter_events("/aws/lambda/f", None, range.clone(), |m| m == "new")
            .await
            .expect("filter");
        assert_eq!((found.len(), more), (1, false));
        logs.set_retention("/aws/lambda/f", Some(1))
            .await
            .expect("retention");
        let kept = logs
            .stream_events("/aws/lambda/f", "s", range, true)
            .await
            .expect("read");
        assert_eq!(
            kept.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            ["new"]
        );
        assert!(matches!(
            logs.create_group("/aws/lambda/f", BTreeMap::new()).await,
            Err(LogsStoreError::GroupExists)
        ));
        store.close();
    }
}
