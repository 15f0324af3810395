//! Messages (the [`Messages`] handle): send, receive with long polling, delete,
//! visibility changes, the retention sweep, and the operators' views (peek without
//! receiving, redrive a dead-letter queue back to its sources).
//!
//! Every operation that changes a message is one durable transaction, so after a crash
//! each message is in its queue, in flight with its deadline, in the DLQ, or deleted.
//! Long-polling receives wait on the queue's notifier, which every commit that makes a
//! message available wakes.

use std::sync::Arc;
use std::time::Duration;

use eddy_telemetry::{MessagesDeleted, MessagesReceived, MessagesSent};
use rusqlite::{Connection, params};
use serde::Serialize;

use super::attributes::QueueAttributes;
use super::error::{SqsError, SqsErrorKind};
use super::fifo::fifo_batch_error;
use super::model::{ReceiveRequest, ReceivedMessage, SendRequest, SendResult};
use super::move_tasks::requeue_moved_message;
use super::queue_rows::{add_to_count, load_queue, queue_exists};
use super::queues::QUEUE_DELETED_RECENTLY_MS;
use super::receive::{ReceiveOutcome, receive};
use super::regions::arn_key;
use super::send::insert_message;
use super::visibility;
use crate::error::StoreError;
use crate::shared::Shared;
use crate::time::now_ms;
use crate::tx::{abort, entry_outcome};

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

/// Messages; see [`crate::Store::messages`].
pub struct Messages<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Messages<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Enqueues one message.
    pub async fn send(&self, queue: &str, request: SendRequest) -> Result<SendResult, SqsError> {
        let mut results = self.send_entries(queue, vec![request], false).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(SqsError::new(SqsErrorKind::InternalError, "no result")))
    }

    /// Enqueues several messages in one transaction; each entry succeeds or fails alone.
    /// On a FIFO queue, an entry without MessageGroupId, or without a deduplication id
    /// when content-based deduplication is off, fails the whole batch, as on SQS.
    pub async fn send_batch(
        &self,
        queue: &str,
        requests: Vec<SendRequest>,
    ) -> Result<Vec<Result<SendResult, SqsError>>, SqsError> {
        self.send_entries(queue, requests, true).await
    }

    async fn send_entries(
        &self,
        queue: &str,
        requests: Vec<SendRequest>,
        batch: bool,
    ) -> Result<Vec<Result<SendResult, SqsError>>, SqsError> {
        let name = queue.to_owned();
        let shared = self.shared.clone();
        let results = self
            .shared
            .db
            .write(move |conn| {
                let queue = load_queue(conn, &name)?;
                if batch
                    && let Some(fifo) = &queue.attributes.fifo
                    && let Some(error) = fifo_batch_error(*fifo, &requests)
                {
                    return abort(error);
                }
                let sender = &shared.settings.access_key_id;
                let now = now_ms();
                let mut results = Vec::with_capacity(requests.len());
                for request in &requests {
                    results.push(entry_outcome(insert_message(
                        conn, &queue, request, sender, now,
                    ))?);
                }
                Ok(results)
            })
            .await?;
        self.shared.wake_queue(queue);
        let sent = results.iter().filter(|r| r.is_ok()).count() as u64;
        self.shared
            .telemetry
            .emit(MessagesSent { queue, count: sent });
        Ok(results)
    }

    /// Receives up to `max_messages`, waiting up to the wait time for the first one.
    pub async fn receive(
        &self,
        queue: &str,
        request: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        self.receive_with_attempt(queue, request, None).await
    }

    /// ReceiveMessage with a ReceiveRequestAttemptId: on a FIFO queue, a retry with the
    /// same id within five minutes gets the first attempt's messages and receipt
    /// handles again while they are still in flight.
    pub async fn receive_with_attempt(
        &self,
        queue: &str,
        request: ReceiveRequest,
        attempt_id: Option<String>,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        let wait = if let Some(wait) = request.wait_time_seconds {
            wait
        } else {
            let queue = super::queues::Queues::new(self.shared).get(queue).await?;
            queue.attributes.receive_message_wait_time_seconds
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
        let waker = self.shared.queue_waker(queue);
        loop {
            let notified = waker.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let outcome = self
                .receive_once(queue, &request, attempt_id.clone())
                .await?;
            self.shared.wake_queues(&outcome.moved_to);
            let received = outcome.messages.len() as u64;
            let now = tokio::time::Instant::now();
            if received > 0 || now >= deadline {
                self.shared.telemetry.emit(MessagesReceived {
                    queue,
                    count: received,
                });
                return Ok(outcome.messages);
            }
            let mut sleep_until = deadline;
            if let Some(next) = outcome.next_visible_ms {
                let in_ms = next.saturating_sub(now_ms());
                sleep_until = sleep_until.min(now + Duration::from_millis(in_ms));
            }
            let _ = tokio::time::timeout_at(sleep_until, notified).await;
        }
    }

    /// One receive attempt.
    async fn receive_once(
        &self,
        queue: &str,
        request: &ReceiveRequest,
        attempt_id: Option<String>,
    ) -> Result<ReceiveOutcome, SqsError> {
        let name = queue.to_owned();
        let request = request.clone();
        let shared = self.shared.clone();
        self.shared
            .db
            .write(move |conn| {
                let settings = &shared.settings;
                let now = now_ms();
                let outcome = receive(
                    conn,
                    &name,
                    &request,
                    attempt_id.as_deref(),
                    &settings.region,
                    &settings.account_id,
                    now,
                )?;
                redeliver_early(conn, &shared.faults, &name, &outcome.messages, now)?;
                Ok(outcome)
            })
            .await
    }

    pub async fn delete(&self, queue: &str, receipt_handle: &str) -> Result<(), SqsError> {
        let mut results = self
            .delete_batch(queue, vec![receipt_handle.to_owned()])
            .await?;
        results.pop().unwrap_or(Ok(()))
    }

    /// Deletes several messages in one transaction; each entry succeeds or fails alone.
    pub async fn delete_batch(
        &self,
        queue: &str,
        receipt_handles: Vec<String>,
    ) -> Result<Vec<Result<(), SqsError>>, SqsError> {
        let name = queue.to_owned();
        let (fifo, results) = self
            .shared
            .db
            .write(move |conn| {
                let fifo = load_queue(conn, &name)?.attributes.is_fifo();
                let mut results = Vec::with_capacity(receipt_handles.len());
                for handle in &receipt_handles {
                    results.push(entry_outcome(visibility::delete(
                        conn,
                        &name,
                        handle,
                        fifo,
                        now_ms(),
                    ))?);
                }
                Ok((fifo, results))
            })
            .await?;
        let deleted = results.iter().filter(|r| r.is_ok()).count() as u64;
        self.shared.telemetry.emit(MessagesDeleted {
            queue,
            count: deleted,
        });
        // A delete unblocks a FIFO message group: receivers waiting on it may go on.
        if fifo {
            self.shared.wake_queue(queue);
        }
        Ok(results)
    }

    /// Makes a received message visible again in `timeout` seconds.
    pub async fn change_visibility(
        &self,
        queue: &str,
        receipt_handle: &str,
        timeout: u64,
    ) -> Result<(), SqsError> {
        let name = queue.to_owned();
        let handle = receipt_handle.to_owned();
        self.shared
            .db
            .write(move |conn| {
                let retention_ms =
                    load_queue(conn, &name)?.attributes.message_retention_period * 1000;
                visibility::change_visibility(conn, &name, &handle, timeout, retention_ms, now_ms())
            })
            .await?;
        if timeout == 0 {
            self.shared.wake_queue(queue);
        }
        Ok(())
    }

    /// Deletes messages older than their queue's retention period, and forgets deleted
    /// queue names, deduplication ids and receive attempts past their time; returns how
    /// many messages went.
    pub async fn expire(&self) -> Result<u64, SqsError> {
        self.shared
            .db
            .write(move |conn| Ok(expire(conn, now_ms())?))
            .await
    }

    /// The oldest messages of a queue, without receiving them.
    pub async fn peek(&self, queue: &str, limit: usize) -> Result<Vec<PeekedMessage>, StoreError> {
        let queue = queue.to_owned();
        self.shared
            .db
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

    /// Moves every message of a dead-letter queue back to the queue it came from (its
    /// DeadLetterQueueSourceArn), as a message move task without destination does: each
    /// moved message gets a new id and enqueue time and starts with no receives.
    /// Messages without a source stay. Returns how many moved.
    pub async fn redrive_dead_letters(&self, dlq: &str) -> Result<u64, StoreError> {
        let dlq = dlq.to_owned();
        let home = self.shared.settings.region.clone();
        let (moved, queues) = self
            .shared
            .db
            .write::<_, StoreError, _>(move |conn| {
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
                let mut queues: Vec<String> = Vec::new();
                for (seq, source_arn) in rows {
                    let Some(source) = arn_key(&home, &source_arn) else {
                        continue;
                    };
                    if !queue_exists(conn, &source)? {
                        continue;
                    }
                    requeue_moved_message(conn, seq, &source, now)?;
                    moved += 1;
                    if !queues.contains(&source) {
                        queues.push(source);
                    }
                }
                Ok((moved, queues))
            })
            .await?;
        self.shared.wake_queues(&queues);
        Ok(moved)
    }
}

/// Deletes messages past their queue's retention period, and what is remembered past
/// its time.
fn expire(conn: &Connection, now_ms: u64) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare("SELECT name, attributes FROM queues")?;
    let queues = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut removed = 0;
    for (name, attributes) in queues {
        let retention_ms = QueueAttributes::from_json(&attributes).message_retention_period * 1000;
        // Through the index by send time: only the expired messages are read.
        let cutoff = now_ms.saturating_sub(retention_ms) as i64;
        let expired = conn.execute(
            "DELETE FROM messages WHERE queue = ?1 AND sent_ms <= ?2",
            params![name, cutoff],
        )? as u64;
        add_to_count(conn, &name, -(expired as i64))?;
        removed += expired;
    }
    conn.execute(
        "DELETE FROM deleted_queues WHERE deleted_ms + ?1 <= ?2",
        params![QUEUE_DELETED_RECENTLY_MS, now_ms],
    )?;
    conn.execute(
        "DELETE FROM fifo_deduplication WHERE expires_ms <= ?1",
        [now_ms],
    )?;
    conn.execute(
        "DELETE FROM receive_attempts WHERE expires_ms <= ?1",
        [now_ms],
    )?;
    Ok(removed)
}

#[cfg(test)]
mod tests;

/// A fault on demand (`sqs_early_redelivery`): received messages of a standard queue
/// made visible again at once, before their visibility timeout ends, as a standard
/// queue may deliver a message twice. FIFO queues never do.
fn redeliver_early(
    conn: &rusqlite::Connection,
    faults: &eddy_faults::Faults,
    queue: &str,
    messages: &[ReceivedMessage],
    now: u64,
) -> Result<(), StoreError> {
    if queue.ends_with(".fifo") {
        return Ok(());
    }
    for message in messages {
        if !faults.early_redelivery(queue, &message.message_id, &message.body) {
            continue;
        }
        if let Some(receipt) = super::receipts::parse_receipt_handle(&message.receipt_handle) {
            conn.prepare_cached("UPDATE messages SET visible_at_ms = ?2 WHERE seq = ?1")?
                .execute(rusqlite::params![receipt.seq, now])?;
        }
    }
    Ok(())
}
