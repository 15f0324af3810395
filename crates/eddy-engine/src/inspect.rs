//! Read-only views for operators (the dashboard and `eddy status`): peek at messages
//! without receiving them, and list every queue with its counts.

use rusqlite::params;
use serde::Serialize;

use crate::Engine;
use crate::error::StoreError;
use crate::time::now_ms;

/// A message as the dashboard shows it: its receipt state is not touched.
#[derive(Debug, Clone, Serialize)]
pub struct PeekedMessage {
    pub message_id: String,
    pub body: String,
    pub sent_ms: u64,
    pub receive_count: u32,
    pub visible: bool,
    pub dead_letter_source_arn: Option<String>,
}

impl Engine {
    /// The oldest messages of a queue, without receiving them.
    pub async fn peek_messages(
        &self,
        queue: &str,
        limit: usize,
    ) -> Result<Vec<PeekedMessage>, StoreError> {
        let queue = queue.to_owned();
        self.db()
            .read(move |conn| {
                let now = now_ms();
                let mut stmt = conn.prepare_cached(
                    "SELECT message_id, body, sent_ms, receive_count, visible_at_ms, dead_letter_source_arn
                     FROM messages WHERE queue = ?1 ORDER BY seq LIMIT ?2",
                )?;
                let rows = stmt
                    .query_map(params![queue, limit as i64], |row| {
                        Ok(PeekedMessage {
                            message_id: row.get(0)?,
                            body: row.get(1)?,
                            sent_ms: row.get(2)?,
                            receive_count: row.get(3)?,
                            visible: row.get::<_, u64>(4)? <= now,
                            dead_letter_source_arn: row.get(5)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
    }
}

impl Engine {
    /// Moves every message of a dead-letter queue back to the queue it came from (its
    /// DeadLetterQueueSourceArn), as a message move task without destination does: each
    /// moved message gets a new id and enqueue time and starts with no receives.
    /// Messages without a source stay. Returns how many moved.
    pub async fn redrive_dead_letters(&self, dlq: &str) -> Result<u64, StoreError> {
        let dlq = dlq.to_owned();
        let (moved, queues) = self
            .db()
            .write(move |conn| {
                let now = now_ms();
                let mut stmt = conn.prepare(
                    "SELECT seq, dead_letter_source_arn FROM messages
                     WHERE queue = ?1 AND dead_letter_source_arn IS NOT NULL",
                )?;
                let rows = stmt
                    .query_map([&dlq], |row| {
                        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                let mut moved = 0;
                let mut queues = Vec::new();
                for (seq, source_arn) in rows {
                    let Some(source) = eddy_events::arn::parse_queue_arn(&source_arn) else {
                        continue;
                    };
                    let exists = conn
                        .prepare_cached("SELECT 1 FROM queues WHERE name = ?1")?
                        .exists([&source.queue_name])?;
                    if !exists {
                        continue;
                    }
                    crate::sqs::move_tasks::requeue_moved_message(
                        conn,
                        seq,
                        &source.queue_name,
                        now,
                    )?;
                    moved += 1;
                    if !queues.contains(&source.queue_name) {
                        queues.push(source.queue_name);
                    }
                }
                Ok((moved, queues))
            })
            .await?;
        self.wake_queues(queues.iter());
        Ok(moved)
    }
}
