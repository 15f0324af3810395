//! Receiving: one receive attempt hands out up to ten visible messages (in order of
//! sending; on FIFO queues group by group, see [`fifo_candidates`]), moves messages past
//! maxReceiveCount to the dead-letter queue, drops those past the retention period,
//! and on FIFO queues answers a retried ReceiveRequestAttemptId with the same messages.
//! Long polling (waiting for messages) is the caller's: see [`super::messages`].

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::error::{SqsError, SqsErrorKind};
use super::model::{MessageAttributeValue, ReceiveRequest, ReceivedMessage};
use super::queue_rows::{add_to_count, load_queue, queue_exists};
use super::receipts::{make_receipt_handle, parse_receipt_handle};
use super::regions::{arn_key, key_arn};
use crate::error::StoreError;
use crate::tx::{TxResult, abort};

/// In-flight messages a queue may have (standard queues answer OverLimit beyond it,
/// FIFO queues deliver nothing more).
pub const MAX_IN_FLIGHT: u64 = 120_000;

/// A message row as a receive reads it.
struct StoredMessage {
    seq: i64,
    message_id: String,
    body: String,
    md5_of_body: String,
    attributes_json: Option<String>,
    md5_of_attributes: Option<String>,
    sent_ms: u64,
    receive_count: u32,
    first_receive_ms: Option<u64>,
    dead_letter_source_arn: Option<String>,
    sender_id: String,
    group_id: Option<String>,
    deduplication_id: Option<String>,
    sequence_number: Option<String>,
    system_json: Option<String>,
    receipt_nonce: Option<String>,
    visible_at_ms: u64,
}

/// The message a receive hands out, from its row, receive count and receipt nonce.
fn received_message(
    name: &str,
    row: StoredMessage,
    receive_count: u32,
    first_receive_ms: u64,
    nonce: &str,
) -> Result<ReceivedMessage, StoreError> {
    let seq = row.seq;
    let mut attributes = BTreeMap::new();
    attributes.insert("SenderId".to_owned(), row.sender_id);
    attributes.insert("SentTimestamp".to_owned(), row.sent_ms.to_string());
    attributes.insert(
        "ApproximateReceiveCount".to_owned(),
        receive_count.to_string(),
    );
    attributes.insert(
        "ApproximateFirstReceiveTimestamp".to_owned(),
        first_receive_ms.to_string(),
    );
    for (name, value) in [
        ("DeadLetterQueueSourceArn", row.dead_letter_source_arn),
        ("MessageGroupId", row.group_id),
        ("MessageDeduplicationId", row.deduplication_id),
        ("SequenceNumber", row.sequence_number),
    ] {
        if let Some(value) = value {
            attributes.insert(name.to_owned(), value);
        }
    }
    if let Some(system) = row.system_json.as_deref() {
        let system: BTreeMap<String, MessageAttributeValue> = serde_json::from_str(system)?;
        for (name, value) in system {
            if let Some(text) = value.string_value {
                attributes.insert(name, text);
            }
        }
    }
    let message_attributes = row
        .attributes_json
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?
        .unwrap_or_default();
    Ok(ReceivedMessage {
        message_id: row.message_id,
        receipt_handle: make_receipt_handle(name, seq, nonce),
        body: row.body,
        md5_of_body: row.md5_of_body,
        attributes,
        message_attributes,
        md5_of_message_attributes: row.md5_of_attributes,
    })
}

/// The columns [`StoredMessage::from_row`] reads, in its order.
const MESSAGE_COLUMNS: &str =
    "seq, message_id, body, md5_of_body, message_attributes, md5_of_message_attributes,
    sent_ms, receive_count, first_receive_ms, dead_letter_source_arn, sender_id,
    group_id, deduplication_id, sequence_number, system_attributes, receipt_nonce, visible_at_ms";

impl StoredMessage {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(StoredMessage {
            seq: row.get(0)?,
            message_id: row.get(1)?,
            body: row.get(2)?,
            md5_of_body: row.get(3)?,
            attributes_json: row.get(4)?,
            md5_of_attributes: row.get(5)?,
            sent_ms: row.get(6)?,
            receive_count: row.get(7)?,
            first_receive_ms: row.get(8)?,
            dead_letter_source_arn: row.get(9)?,
            sender_id: row.get(10)?,
            group_id: row.get(11)?,
            deduplication_id: row.get(12)?,
            sequence_number: row.get(13)?,
            system_json: row.get(14)?,
            receipt_nonce: row.get(15)?,
            visible_at_ms: row.get(16)?,
        })
    }
}

/// How long a FIFO ReceiveRequestAttemptId is remembered.
const RECEIVE_ATTEMPT_WINDOW_MS: u64 = 5 * 60 * 1000;

/// A FIFO receive retried with the same ReceiveRequestAttemptId: the messages of the
/// first attempt again, with the same receipt handles and a fresh visibility timeout, if
/// all of them are still in flight from that attempt. `None` otherwise.
fn retried_receive(
    conn: &Connection,
    name: &str,
    attempt_id: &str,
    visibility: u64,
    now_ms: u64,
) -> Result<Option<Vec<ReceivedMessage>>, StoreError> {
    let entries: Option<String> = conn
        .prepare_cached(
            "SELECT entries FROM receive_attempts WHERE queue = ?1 AND attempt_id = ?2 AND expires_ms > ?3",
        )?
        .query_row(params![name, attempt_id, now_ms], |row| row.get(0))
        .optional()?;
    let Some(entries) = entries else {
        return Ok(None);
    };
    let entries: Vec<(i64, String)> = serde_json::from_str(&entries)?;
    let mut select = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE seq = ?1 AND queue = ?2"
    ))?;
    let mut messages = Vec::with_capacity(entries.len());
    for (seq, nonce) in &entries {
        let row = select
            .query_row(params![seq, name], StoredMessage::from_row)
            .optional()?;
        let Some(row) = row.filter(|r| {
            r.receipt_nonce.as_deref() == Some(nonce.as_str()) && r.visible_at_ms > now_ms
        }) else {
            return Ok(None);
        };
        let count = row.receive_count;
        let first = row.first_receive_ms.unwrap_or(now_ms);
        messages.push(received_message(name, row, count, first, nonce)?);
    }
    for (seq, _) in &entries {
        conn.prepare_cached("UPDATE messages SET visible_at_ms = ?2 WHERE seq = ?1")?
            .execute(params![seq, now_ms + visibility * 1000])?;
    }
    Ok(Some(messages))
}

/// The next messages a FIFO receive may hand out, at most `wanted`: a group is
/// available when its oldest message is visible, and gives its visible messages in
/// order up to the first one that is not (in flight or delayed). Groups come in the
/// order their oldest message became visible: when it was sent (and its delay ended),
/// or when its visibility timeout ended or was changed. So a group that was received
/// goes behind the groups that waited meanwhile, as on SQS.
fn fifo_candidates(
    conn: &Connection,
    name: &str,
    now_ms: u64,
    wanted: usize,
) -> Result<Vec<StoredMessage>, StoreError> {
    let groups: Vec<String> = conn
        .prepare_cached(
            "SELECT m.group_id FROM messages m
             WHERE m.queue = ?1 AND m.visible_at_ms <= ?2 AND m.group_id IS NOT NULL
               AND m.seq = (SELECT MIN(h.seq) FROM messages h
                            WHERE h.queue = ?1 AND h.group_id = m.group_id)
             ORDER BY m.visible_at_ms, m.seq LIMIT ?3",
        )?
        .query_map(params![name, now_ms, wanted as i64], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut select = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE queue = ?1 AND group_id = ?2 ORDER BY seq LIMIT ?3"
    ))?;
    let mut rows = Vec::with_capacity(wanted);
    for group in groups {
        let left = wanted - rows.len();
        if left == 0 {
            break;
        }
        let group_rows = select
            .query_map(params![name, group, left as i64], StoredMessage::from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.extend(
            group_rows
                .into_iter()
                .take_while(|row| row.visible_at_ms <= now_ms),
        );
    }
    Ok(rows)
}

/// What one receive attempt did.
pub(crate) struct ReceiveOutcome {
    pub messages: Vec<ReceivedMessage>,
    /// When the next hidden message of the queue becomes visible.
    pub next_visible_ms: Option<u64>,
    /// The dead-letter queues messages were moved to.
    pub moved_to: Vec<String>,
}

/// One receive attempt.
#[allow(clippy::too_many_arguments)]
pub(crate) fn receive(
    conn: &Connection,
    name: &str,
    request: &ReceiveRequest,
    attempt_id: Option<&str>,
    region: &str,
    account_id: &str,
    now_ms: u64,
) -> TxResult<ReceiveOutcome, SqsError> {
    let queue = load_queue(conn, name)?;
    let max = request.max_messages.clamp(1, 10) as usize;
    let visibility = request
        .visibility_timeout
        .unwrap_or(queue.attributes.visibility_timeout);
    let redrive = queue.attributes.redrive_policy.as_ref();
    let dlq_name = match redrive.and_then(|p| arn_key(region, &p.dead_letter_target_arn)) {
        Some(name) if queue_exists(conn, &name)? => Some(name),
        _ => None,
    };
    let source_arn = key_arn(region, account_id, name);
    let retention_ms = queue.attributes.message_retention_period * 1000;

    let fifo = queue.attributes.is_fifo();
    let attempt_id = attempt_id.filter(|_| fifo);
    if let Some(attempt) = attempt_id
        && let Some(messages) = retried_receive(conn, name, attempt, visibility, now_ms)?
    {
        return Ok(ReceiveOutcome {
            messages,
            next_visible_ms: None,
            moved_to: Vec::new(),
        });
    }
    // Cheap first: fewer hidden messages (in flight or delayed) than the limit, read
    // from the index alone, settles it; only beyond that are in-flight ones counted.
    let hidden_beyond_limit = conn
        .prepare_cached(
            "SELECT 1 FROM messages WHERE queue = ?1 AND visible_at_ms > ?2 LIMIT 1 OFFSET ?3",
        )?
        .exists(params![name, now_ms, MAX_IN_FLIGHT - 1])?;
    let in_flight: u64 = if hidden_beyond_limit {
        conn.prepare_cached(
            "SELECT COUNT(*) FROM messages WHERE queue = ?1 AND visible_at_ms > ?2 AND receipt_nonce IS NOT NULL",
        )?
        .query_row(params![name, now_ms], |row| row.get(0))?
    } else {
        0
    };
    if in_flight >= MAX_IN_FLIGHT {
        if fifo {
            // FIFO queues deliver nothing more, without an error.
            return Ok(ReceiveOutcome {
                messages: Vec::new(),
                next_visible_ms: None,
                moved_to: Vec::new(),
            });
        }
        return abort(SqsError::new(
            SqsErrorKind::OverLimit,
            format!("There are {in_flight} messages in flight, the most a queue allows."),
        ));
    }

    let mut messages = Vec::new();
    let mut moved_to = Vec::new();
    let mut handed_out = std::collections::HashSet::new();
    let mut select_standard = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS}
         FROM messages WHERE queue = ?1 AND visible_at_ms <= ?2 ORDER BY visible_at_ms, seq LIMIT ?3"
    ))?;
    // Moves to the DLQ free places in the batch; look again until it is full or empty.
    loop {
        let wanted = max - messages.len();
        if wanted == 0 {
            break;
        }
        let rows = if fifo {
            fifo_candidates(conn, name, now_ms, wanted)?
        } else {
            select_standard
                .query_map(
                    params![name, now_ms, wanted as i64],
                    StoredMessage::from_row,
                )?
                .collect::<Result<Vec<_>, _>>()?
        };
        // A receive with VisibilityTimeout=0 leaves its messages visible: each is
        // handed out once per receive.
        let rows: Vec<StoredMessage> = rows
            .into_iter()
            .filter(|row| !handed_out.contains(&row.seq))
            .collect();
        if rows.is_empty() {
            break;
        }
        let mut moved_any = false;
        for row in rows {
            let seq = row.seq;
            if now_ms >= row.sent_ms + retention_ms {
                let deleted = conn
                    .prepare_cached("DELETE FROM messages WHERE seq = ?1")?
                    .execute([seq])?;
                add_to_count(conn, name, -(deleted as i64))?;
                moved_any = true;
                continue;
            }
            let new_count = row.receive_count + 1;
            if let (Some(policy), Some(dlq)) = (&redrive, &dlq_name)
                && new_count > policy.max_receive_count
            {
                let moved = conn.execute(
                    "UPDATE messages SET queue = ?2, visible_at_ms = ?3, receipt_nonce = NULL,
                            dead_letter_source_arn = ?4 WHERE seq = ?1",
                    params![seq, dlq, now_ms, source_arn],
                )? as i64;
                add_to_count(conn, name, -moved)?;
                add_to_count(conn, dlq, moved)?;
                if !moved_to.contains(dlq) {
                    moved_to.push(dlq.clone());
                }
                moved_any = true;
                continue;
            }
            let nonce = crate::ids::random_uuid().simple().to_string();
            let first = row.first_receive_ms.unwrap_or(now_ms);
            conn.prepare_cached(
                "UPDATE messages SET visible_at_ms = ?2, receive_count = ?3, first_receive_ms = ?4,
                        receipt_nonce = ?5, received_ms = ?6 WHERE seq = ?1",
            )?
            .execute(params![
                seq,
                now_ms + visibility * 1000,
                new_count,
                first,
                nonce,
                now_ms
            ])?;
            handed_out.insert(seq);
            messages.push(received_message(name, row, new_count, first, &nonce)?);
        }
        if !moved_any {
            break;
        }
    }
    if let Some(attempt) = attempt_id
        && !messages.is_empty()
    {
        let entries: Vec<(i64, String)> = messages
            .iter()
            .filter_map(|m| parse_receipt_handle(&m.receipt_handle))
            .map(|receipt| (receipt.seq, receipt.nonce))
            .collect();
        conn.prepare_cached(
            "INSERT OR REPLACE INTO receive_attempts (queue, attempt_id, entries, expires_ms) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            name,
            attempt,
            serde_json::to_string(&entries)?,
            now_ms + RECEIVE_ATTEMPT_WINDOW_MS
        ])?;
    }
    let next_visible: Option<u64> = conn
        .prepare_cached(
            "SELECT MIN(visible_at_ms) FROM messages WHERE queue = ?1 AND visible_at_ms > ?2",
        )?
        .query_row(params![name, now_ms], |row| row.get(0))?;
    Ok(ReceiveOutcome {
        messages,
        next_visible_ms: next_visible,
        moved_to,
    })
}
