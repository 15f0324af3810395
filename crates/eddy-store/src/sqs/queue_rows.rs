//! The rows of the `queues` table as the operations read and write them, and the
//! counts of a queue's messages.

use rusqlite::{Connection, OptionalExtension, params};

use super::attributes::QueueAttributes;
use super::error::SqsError;
use super::model::{Queue, QueueCounts};
use crate::error::StoreError;
use crate::tx::{TxResult, abort};

/// A queue by name; aborts with `QueueDoesNotExist` when there is none.
pub(crate) fn load_queue(conn: &Connection, name: &str) -> TxResult<Queue, SqsError> {
    let queue = conn
        .prepare_cached(
            "SELECT name, created_s, modified_s, attributes, tags FROM queues WHERE name = ?1",
        )?
        .query_row([name], |row| {
            Ok(Queue {
                name: row.get(0)?,
                created_s: row.get(1)?,
                modified_s: row.get(2)?,
                attributes: QueueAttributes::from_json(&row.get::<_, String>(3)?),
                tags: serde_json::from_str(&row.get::<_, String>(4)?).unwrap_or_default(),
            })
        })
        .optional()?;
    match queue {
        Some(queue) => Ok(queue),
        None => abort(SqsError::queue_does_not_exist()),
    }
}

/// Whether a queue of this name exists.
pub(crate) fn queue_exists(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM queues WHERE name = ?1")?
        .exists([name])?)
}

/// Stores a queue's attributes, with their change time.
pub(crate) fn save_attributes(
    conn: &Connection,
    name: &str,
    attributes: &QueueAttributes,
    now_ms: u64,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE queues SET attributes = ?2, modified_s = ?3 WHERE name = ?1",
        params![name, attributes.to_json(), now_ms / 1000],
    )?;
    Ok(())
}

/// The names of the queues, in order, that start with `prefix`.
pub(crate) fn queue_names(
    conn: &Connection,
    prefix: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT name FROM queues ORDER BY name")?;
    let names = stmt
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names
        .into_iter()
        .filter(|n| prefix.is_none_or(|p| n.starts_with(p)))
        .collect())
}

/// Adds `delta` to the total of a queue's messages in `queue_message_counts`. Every
/// statement that adds messages to a queue, removes them or moves them to another
/// queue calls it in the same transaction. (Triggers kept the totals until migration
/// 12: a trigger makes SQLite keep a statement journal for every INSERT and DELETE of a
/// message, which cost more than the write itself.) A queue without a row counts 0.
pub(crate) fn add_to_count(conn: &Connection, queue: &str, delta: i64) -> Result<(), StoreError> {
    if delta == 0 {
        return Ok(());
    }
    let updated = conn
        .prepare_cached(
            "UPDATE queue_message_counts SET messages = messages + ?2 WHERE queue = ?1",
        )?
        .execute(params![queue, delta])?;
    if updated == 0 && delta > 0 {
        conn.prepare_cached("INSERT INTO queue_message_counts (queue, messages) VALUES (?1, ?2)")?
            .execute(params![queue, delta])?;
    }
    Ok(())
}

/// Message counts of a queue; messages past the retention period (not yet swept) are
/// gone already. The cost does not grow with the backlog of visible messages: the
/// total comes from `queue_message_counts` (see [`add_to_count`]), the hidden messages
/// (in flight or delayed) and those past retention are read from their index ranges,
/// and the oldest message from the index by send time.
pub(crate) fn counts(
    conn: &Connection,
    queue: &Queue,
    now_ms: u64,
) -> Result<QueueCounts, StoreError> {
    let retention_ms = queue.attributes.message_retention_period * 1000;
    // Messages sent at or before the cutoff are past retention.
    let cutoff = now_ms.saturating_sub(retention_ms) as i64;
    let total: u64 = conn
        .prepare_cached("SELECT messages FROM queue_message_counts WHERE queue = ?1")?
        .query_row([&queue.name], |row| row.get(0))
        .optional()?
        .unwrap_or(0);
    let expired: u64 = conn
        .prepare_cached("SELECT COUNT(*) FROM messages WHERE queue = ?1 AND sent_ms <= ?2")?
        .query_row(params![queue.name, cutoff], |row| row.get(0))?;
    let (not_visible, delayed): (u64, u64) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(receive_count > 0), 0), COALESCE(SUM(receive_count = 0), 0)
             FROM messages INDEXED BY messages_by_visibility
             WHERE queue = ?1 AND visible_at_ms > ?2 AND sent_ms > ?3",
        )?
        .query_row(params![queue.name, now_ms, cutoff], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    let oldest_sent_ms: Option<u64> = conn
        .prepare_cached("SELECT MIN(sent_ms) FROM messages WHERE queue = ?1 AND sent_ms > ?2")?
        .query_row(params![queue.name, cutoff], |row| row.get(0))?;
    Ok(QueueCounts {
        visible: total.saturating_sub(expired + not_visible + delayed),
        not_visible,
        delayed,
        oldest_sent_ms,
    })
}

/// The queues whose RedrivePolicy names `arn` as dead-letter target.
pub(crate) fn dead_letter_sources(conn: &Connection, arn: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT name, attributes FROM queues ORDER BY name")?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|(_, attributes)| {
            QueueAttributes::from_json(attributes)
                .redrive_policy
                .is_some_and(|p| p.dead_letter_target_arn == arn)
        })
        .map(|(name, _)| name)
        .collect())
}
