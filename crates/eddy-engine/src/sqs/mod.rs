//! Queues and messages with SQS semantics, stored in the engine's database.
//!
//! Every operation that changes a message (send, receive, delete, visibility change,
//! the move to a dead-letter queue) is one durable transaction, so after a crash each
//! message is in its queue, in flight with its deadline, in the DLQ, or deleted.
//! Long-polling receives wait on the queue's notifier, which every commit that makes a
//! message available wakes.

pub mod attributes;
pub mod error;
mod management;
mod md5;
pub(crate) mod move_tasks;
mod ops;

pub use attributes::{QueueAttributes, RedriveAllowPolicy, RedrivePolicy};
pub use error::{SqsError, SqsErrorKind};
pub use md5::{md5_hex, md5_of_message_attributes};
pub use move_tasks::MoveTask;
pub use ops::{insert_message, queue_url_path};

/// Start-up recovery of message move tasks: a task that was running when eddy stopped
/// is reported `FAILED` (start it again); one being cancelled is `CANCELLED`.
pub fn recover_move_tasks(conn: &rusqlite::Connection) -> Result<(), crate::error::StoreError> {
    conn.execute_batch(
        "UPDATE message_move_tasks SET status = 'FAILED',
                failure_reason = 'eddy stopped while the task was running.'
         WHERE status = 'RUNNING';
         UPDATE message_move_tasks SET status = 'CANCELLED' WHERE status = 'CANCELLING';",
    )?;
    Ok(())
}

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::Engine;
use crate::time::now_ms;

/// A message attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// Raw bytes (base64 on the wire and in the store).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_base64")]
    pub binary_value: Option<Vec<u8>>,
}

mod opt_base64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => {
                s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let value: Option<String> = Option::deserialize(d)?;
        value
            .map(|v| {
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

/// What SendMessage (or a bucket notification) asks to enqueue.
#[derive(Debug, Clone, Default)]
pub struct SendRequest {
    pub body: String,
    pub delay_seconds: Option<u64>,
    pub message_attributes: BTreeMap<String, MessageAttributeValue>,
    /// MessageSystemAttributes (only `AWSTraceHeader` exists).
    pub system_attributes: BTreeMap<String, MessageAttributeValue>,
    pub message_group_id: Option<String>,
    pub message_deduplication_id: Option<String>,
}

/// What a successful send reports.
#[derive(Debug, Clone)]
pub struct SendResult {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_message_attributes: Option<String>,
    pub md5_of_system_attributes: Option<String>,
    /// FIFO queues only.
    pub sequence_number: Option<String>,
}

/// A message handed out by a receive.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    /// System attributes by name (SenderId, SentTimestamp, ApproximateReceiveCount, ...).
    pub attributes: BTreeMap<String, String>,
    pub message_attributes: BTreeMap<String, MessageAttributeValue>,
    pub md5_of_message_attributes: Option<String>,
}

/// What ReceiveMessage asks for.
#[derive(Debug, Clone, Default)]
pub struct ReceiveRequest {
    pub max_messages: u32,
    pub visibility_timeout: Option<u64>,
    /// `None`: the queue's ReceiveMessageWaitTimeSeconds.
    pub wait_time_seconds: Option<u64>,
}

/// A queue as stored.
#[derive(Debug, Clone)]
pub struct Queue {
    pub name: String,
    pub created_s: u64,
    pub modified_s: u64,
    pub attributes: QueueAttributes,
    pub tags: BTreeMap<String, String>,
}

/// Message counts of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub visible: u64,
    pub not_visible: u64,
    pub delayed: u64,
    /// Send time of the oldest message, if any.
    pub oldest_sent_ms: Option<u64>,
}

impl Engine {
    /// The ARN of a queue of this engine.
    pub fn queue_arn(&self, name: &str) -> String {
        eddy_events::arn::queue_arn(&self.settings().region, &self.settings().account_id, name)
    }

    /// Creates a queue, or returns the existing one when its attributes agree.
    pub async fn create_queue(
        &self,
        name: String,
        attributes: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<Queue, SqsError> {
        let settings = self.settings().clone();
        self.db()
            .write(move |conn| {
                Ok(ops::create_queue(
                    conn,
                    &settings,
                    &name,
                    &attributes,
                    &tags,
                    now_ms(),
                ))
            })
            .await?
    }

    pub async fn get_queue(&self, name: &str) -> Result<Queue, SqsError> {
        let name = name.to_owned();
        self.db()
            .read(move |conn| Ok(ops::load_queue(conn, &name)))
            .await?
    }

    pub async fn list_queues(&self, prefix: Option<String>) -> Result<Vec<String>, SqsError> {
        Ok(self
            .db()
            .read(move |conn| ops::list_queues(conn, prefix.as_deref()))
            .await?)
    }

    pub async fn delete_queue(&self, name: &str) -> Result<(), SqsError> {
        let name = name.to_owned();
        self.db()
            .write(move |conn| Ok(ops::delete_queue(conn, &name, now_ms())))
            .await?
    }

    pub async fn set_queue_attributes(
        &self,
        name: &str,
        changes: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        let name = name.to_owned();
        let settings = self.settings().clone();
        self.db()
            .write(move |conn| {
                Ok(ops::set_queue_attributes(
                    conn,
                    &settings,
                    &name,
                    &changes,
                    now_ms(),
                ))
            })
            .await?
    }

    /// The queue's attributes, the computed ones included, for the names asked
    /// (`All` for every one).
    pub async fn get_queue_attributes(
        &self,
        name: &str,
        names: Vec<String>,
    ) -> Result<BTreeMap<String, String>, SqsError> {
        let name = name.to_owned();
        let arn = self.queue_arn(&name);
        self.db()
            .read(move |conn| {
                Ok(ops::get_queue_attributes(
                    conn,
                    &name,
                    &arn,
                    &names,
                    now_ms(),
                ))
            })
            .await?
    }

    /// Every queue with its message counts, all read in one transaction at one instant,
    /// so a message being moved (say, to a dead-letter queue) is counted in exactly one
    /// queue.
    pub async fn queue_snapshot(&self) -> Result<Vec<(Queue, QueueCounts)>, SqsError> {
        self.db()
            .read(move |conn| {
                let snapshot = conn.unchecked_transaction()?;
                let now = now_ms();
                let mut queues = Vec::new();
                for name in ops::list_queues(&snapshot, None)? {
                    // A queue deleted between the listing and the load cannot happen
                    // inside the transaction; a failure here is a real error.
                    let queue = match ops::load_queue(&snapshot, &name) {
                        Ok(queue) => queue,
                        Err(error) => return Ok(Err(error)),
                    };
                    let counts = ops::counts(&snapshot, &name, now)?;
                    queues.push((queue, counts));
                }
                Ok(Ok(queues))
            })
            .await?
    }

    /// Enqueues one message.
    pub async fn send_message(
        &self,
        queue: &str,
        request: SendRequest,
    ) -> Result<SendResult, SqsError> {
        let mut results = self.send_message_batch(queue, vec![request]).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(SqsError::new(SqsErrorKind::InternalError, "no result")))
    }

    /// Enqueues several messages in one transaction; each entry succeeds or fails alone.
    pub async fn send_message_batch(
        &self,
        queue: &str,
        requests: Vec<SendRequest>,
    ) -> Result<Vec<Result<SendResult, SqsError>>, SqsError> {
        let name = queue.to_owned();
        let sender = self.settings().access_key_id.clone();
        let results = self
            .db()
            .write(move |conn| {
                let queue = match ops::load_queue(conn, &name) {
                    Ok(queue) => queue,
                    Err(error) => return Ok(Err(error)),
                };
                let now = now_ms();
                let mut results = Vec::with_capacity(requests.len());
                for request in &requests {
                    results.push(ops::insert_message(conn, &queue, request, &sender, now)?);
                }
                Ok(Ok(results))
            })
            .await??;
        self.wake_queues([&queue.to_owned()]);
        crate::telemetry::messages_sent(queue, results.iter().filter(|r| r.is_ok()).count() as u64);
        Ok(results)
    }

    /// The names of the queues whose RedrivePolicy targets `dlq`.
    pub async fn dead_letter_source_queues(&self, dlq: &str) -> Result<Vec<String>, SqsError> {
        let name = dlq.to_owned();
        let arn = self.queue_arn(dlq);
        self.db()
            .read(move |conn| Ok(management::dead_letter_sources(conn, &name, &arn)))
            .await?
    }

    /// Adds (or replaces) tags of a queue.
    pub async fn tag_queue(
        &self,
        queue: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        let name = queue.to_owned();
        self.db()
            .write(move |conn| Ok(management::tag_queue(conn, &name, &tags)))
            .await?
    }

    /// Removes tags of a queue (absent keys are ignored).
    pub async fn untag_queue(&self, queue: &str, keys: Vec<String>) -> Result<(), SqsError> {
        let name = queue.to_owned();
        self.db()
            .write(move |conn| Ok(management::untag_queue(conn, &name, &keys)))
            .await?
    }

    /// Adds a statement to the queue's Policy attribute, as AddPermission does.
    pub async fn add_permission(
        &self,
        queue: &str,
        label: String,
        accounts: Vec<String>,
        actions: Vec<String>,
    ) -> Result<(), SqsError> {
        let name = queue.to_owned();
        let arn = self.queue_arn(queue);
        self.db()
            .write(move |conn| {
                Ok(management::add_permission(
                    conn,
                    &name,
                    &arn,
                    &label,
                    &accounts,
                    &actions,
                    now_ms(),
                ))
            })
            .await?
    }

    /// Removes the statement `label` from the queue's Policy attribute.
    pub async fn remove_permission(&self, queue: &str, label: String) -> Result<(), SqsError> {
        let name = queue.to_owned();
        self.db()
            .write(move |conn| Ok(management::remove_permission(conn, &name, &label, now_ms())))
            .await?
    }

    /// Receives up to `max_messages`, waiting up to the wait time for the first one.
    pub async fn receive_message(
        &self,
        queue: &str,
        request: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        self.receive_message_with_attempt(queue, request, None)
            .await
    }

    /// ReceiveMessage with a ReceiveRequestAttemptId: on a FIFO queue, a retry with the
    /// same id within five minutes gets the first attempt's messages and receipt
    /// handles again while they are still in flight.
    pub async fn receive_message_with_attempt(
        &self,
        queue: &str,
        request: ReceiveRequest,
        attempt_id: Option<String>,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        let queue_row = self.get_queue(queue).await?;
        let wait = request
            .wait_time_seconds
            .unwrap_or_else(|| queue_row.attributes.wait_time_seconds());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
        let waker = self.queue_waker(queue);
        loop {
            let notified = waker.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let outcome = self
                .receive_once(queue, &request, attempt_id.clone())
                .await?;
            if !outcome.moved_to.is_empty() {
                self.wake_queues(outcome.moved_to.iter());
            }
            if !outcome.messages.is_empty() {
                crate::telemetry::messages_received(queue, outcome.messages.len() as u64);
                return Ok(outcome.messages);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                crate::telemetry::messages_received(queue, 0);
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
    ) -> Result<ops::ReceiveOutcome, SqsError> {
        let name = queue.to_owned();
        let request = request.clone();
        let region = self.settings().region.clone();
        let account = self.settings().account_id.clone();
        self.db()
            .write(move |conn| {
                Ok(ops::receive(
                    conn,
                    &name,
                    &request,
                    attempt_id.as_deref(),
                    &region,
                    &account,
                    now_ms(),
                ))
            })
            .await?
    }

    pub async fn delete_message(&self, queue: &str, receipt_handle: &str) -> Result<(), SqsError> {
        let mut results = self
            .delete_message_batch(queue, vec![receipt_handle.to_owned()])
            .await?;
        results.pop().unwrap_or(Ok(()))
    }

    /// Deletes several messages in one transaction; each entry succeeds or fails alone.
    pub async fn delete_message_batch(
        &self,
        queue: &str,
        receipt_handles: Vec<String>,
    ) -> Result<Vec<Result<(), SqsError>>, SqsError> {
        let name = queue.to_owned();
        let (fifo, results) = self
            .db()
            .write(move |conn| {
                let fifo = match ops::load_queue(conn, &name) {
                    Ok(queue) => queue.attributes.fifo(),
                    Err(error) => return Ok(Err(error)),
                };
                let mut results = Vec::with_capacity(receipt_handles.len());
                for handle in &receipt_handles {
                    results.push(ops::delete(conn, &name, handle)?);
                }
                Ok(Ok((fifo, results)))
            })
            .await??;
        crate::telemetry::messages_deleted(
            queue,
            results.iter().filter(|r| r.is_ok()).count() as u64,
        );
        // A delete unblocks a FIFO message group: receivers waiting on it may go on.
        if fifo {
            self.wake_queues([&queue.to_owned()]);
        }
        Ok(results)
    }

    pub async fn change_message_visibility(
        &self,
        queue: &str,
        receipt_handle: &str,
        timeout: u64,
    ) -> Result<(), SqsError> {
        let name = queue.to_owned();
        let handle = receipt_handle.to_owned();
        self.db()
            .write(move |conn| {
                Ok(ops::load_queue(conn, &name)
                    .and_then(|_| ops::change_visibility(conn, &name, &handle, timeout, now_ms())))
            })
            .await
            .map_err(SqsError::from)
            .and_then(|r| r)
            .inspect(|_| {
                if timeout == 0 {
                    self.wake_queues([&queue.to_owned()]);
                }
            })
    }

    pub async fn purge_queue(&self, queue: &str) -> Result<u64, SqsError> {
        let name = queue.to_owned();
        self.db()
            .write(move |conn| {
                if let Err(error) = ops::load_queue(conn, &name) {
                    return Ok(Err(error));
                }
                Ok(Ok(
                    conn.execute("DELETE FROM messages WHERE queue = ?1", [&name])? as u64,
                ))
            })
            .await?
    }

    /// Deletes messages older than their queue's retention period; returns how many.
    pub async fn expire_messages(&self) -> Result<u64, SqsError> {
        Ok(self
            .db()
            .write(move |conn| ops::expire(conn, now_ms()))
            .await?)
    }
}

/// A queue by name, for notification delivery inside another transaction.
pub(crate) fn load_queue_for_notifications(
    conn: &rusqlite::Connection,
    name: &str,
) -> Option<Queue> {
    ops::load_queue(conn, name).ok()
}

/// Encodes binary attribute values for JSON output.
pub fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineSettings;

    /// The messages table as the first release created it, before the FIFO columns.
    const OLD_MESSAGES: &str = "
        CREATE TABLE queues (name TEXT PRIMARY KEY, created_s INTEGER NOT NULL, modified_s INTEGER NOT NULL,
                             attributes TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '{}');
        CREATE TABLE messages (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, message_id TEXT NOT NULL,
            body TEXT NOT NULL, md5_of_body TEXT NOT NULL, message_attributes TEXT,
            md5_of_message_attributes TEXT, sent_ms INTEGER NOT NULL, visible_at_ms INTEGER NOT NULL,
            receive_count INTEGER NOT NULL DEFAULT 0, first_receive_ms INTEGER, receipt_nonce TEXT,
            received_ms INTEGER, dead_letter_source_arn TEXT, sender_id TEXT NOT NULL);
        INSERT INTO queues VALUES ('old', 0, 0, '{}', '{}');
        INSERT INTO messages (queue, message_id, body, md5_of_body, sent_ms, visible_at_ms, sender_id)
        VALUES ('old', 'm1', 'kept', '', 9999999999999, 0, 'test');";

    #[tokio::test]
    async fn opens_a_data_dir_of_the_first_schema() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = rusqlite::Connection::open(dir.path().join("eddy.sqlite3")).expect("open");
        conn.execute_batch(OLD_MESSAGES).expect("old schema");
        drop(conn);
        let settings = EngineSettings {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            access_key_id: "test".into(),
        };
        let engine = Engine::open(dir.path(), settings).expect("engine opens the old data dir");
        let received = engine
            .receive_message(
                "old",
                ReceiveRequest {
                    max_messages: 1,
                    ..ReceiveRequest::default()
                },
            )
            .await
            .expect("receive");
        assert_eq!(received[0].body, "kept");
        engine
            .send_message(
                "old",
                SendRequest {
                    body: "new".into(),
                    ..SendRequest::default()
                },
            )
            .await
            .expect("send after the migration");
        engine.close();
    }
}
