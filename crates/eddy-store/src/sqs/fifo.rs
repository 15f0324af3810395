//! FIFO sending: the group and deduplication id a send must carry on a FIFO queue (and
//! must not on a standard one), and the five-minute memory of deduplication ids.

use rusqlite::{Connection, OptionalExtension, params};

use super::attributes::{DeduplicationScope, FifoAttributes};
use super::error::SqsError;
use super::model::{Queue, SendRequest, SendResult};
use crate::error::StoreError;

/// How long a FIFO deduplication id is remembered.
pub(crate) const DEDUPLICATION_WINDOW_MS: u64 = 5 * 60 * 1000;

/// MessageGroupId and MessageDeduplicationId: 1..128 characters, alphanumeric or
/// punctuation.
fn valid_fifo_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic())
}

fn invalid_for_queue_type(parameter: &str, value: &str) -> SqsError {
    SqsError::invalid_parameter(format!(
        "Value {value} for parameter {parameter} is invalid. Reason: The request include parameter that is not valid for this queue type."
    ))
}

/// The FIFO identity of a send: its group, deduplication id, and the key under which
/// the deduplication id is remembered.
pub(crate) struct FifoIdentity {
    pub group_id: String,
    pub deduplication_id: String,
    pub dedup_key: String,
}

const DEDUPLICATION_REQUIRED: &str = "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly";

/// Why a SendMessageBatch to a FIFO queue fails as a whole: an entry without
/// MessageGroupId, or without MessageDeduplicationId when the queue does not derive one.
pub(crate) fn fifo_batch_error(fifo: FifoAttributes, requests: &[SendRequest]) -> Option<SqsError> {
    if requests.iter().any(|r| r.message_group_id.is_none()) {
        return Some(SqsError::invalid_parameter(
            "The request must contain the parameter MessageGroupId.",
        ));
    }
    let needs_id = !fifo.content_based_deduplication;
    if needs_id
        && requests
            .iter()
            .any(|r| r.message_deduplication_id.is_none())
    {
        return Some(SqsError::invalid_parameter(DEDUPLICATION_REQUIRED));
    }
    None
}

/// Checks the FIFO parameters of a send against the queue type.
pub(crate) fn fifo_identity(
    queue: &Queue,
    request: &SendRequest,
) -> Result<Option<FifoIdentity>, SqsError> {
    if let Some(group) = &request.message_group_id
        && !valid_fifo_id(group)
    {
        return Err(SqsError::invalid_parameter(format!(
            "Value {group} for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length."
        )));
    }
    if let Some(dedup) = &request.message_deduplication_id
        && !valid_fifo_id(dedup)
    {
        return Err(SqsError::invalid_parameter(format!(
            "Value {dedup} for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length."
        )));
    }
    let Some(fifo) = &queue.attributes.fifo else {
        if let Some(dedup) = &request.message_deduplication_id {
            return Err(invalid_for_queue_type("MessageDeduplicationId", dedup));
        }
        return Ok(None);
    };
    if let Some(delay) = request.delay_seconds.filter(|d| *d > 0) {
        return Err(invalid_for_queue_type("DelaySeconds", &delay.to_string()));
    }
    let group_id = request
        .message_group_id
        .clone()
        .ok_or_else(|| SqsError::missing_parameter("MessageGroupId"))?;
    let deduplication_id = match &request.message_deduplication_id {
        Some(id) => id.clone(),
        None if fifo.content_based_deduplication => {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(request.body.as_bytes()))
        }
        None => {
            return Err(SqsError::invalid_parameter(DEDUPLICATION_REQUIRED));
        }
    };
    let dedup_key = if fifo.deduplication_scope == DeduplicationScope::MessageGroup {
        format!("{group_id}\n{deduplication_id}")
    } else {
        deduplication_id.clone()
    };
    Ok(Some(FifoIdentity {
        group_id,
        deduplication_id,
        dedup_key,
    }))
}

/// The send of a message with the same deduplication id within the last five minutes.
pub(crate) fn deduplicated(
    conn: &Connection,
    queue: &str,
    key: &str,
    now_ms: u64,
) -> Result<Option<SendResult>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT message_id, sequence_number, md5_of_body, md5_of_message_attributes, md5_of_system_attributes
             FROM fifo_deduplication WHERE queue = ?1 AND dedup_key = ?2 AND expires_ms > ?3",
        )?
        .query_row(params![queue, key, now_ms], |row| {
            Ok(SendResult {
                message_id: row.get(0)?,
                sequence_number: row.get(1)?,
                md5_of_body: row.get(2)?,
                md5_of_message_attributes: row.get(3)?,
                md5_of_system_attributes: row.get(4)?,
            })
        })
        .optional()?)
}

/// Gives a FIFO message (row `seq`) its sequence number and remembers its
/// deduplication id for five minutes; returns the sequence number.
pub(crate) fn remember_fifo_send(
    conn: &Connection,
    queue: &str,
    identity: &FifoIdentity,
    seq: i64,
    sent: &SendResult,
    now_ms: u64,
) -> Result<String, StoreError> {
    // 20 digits, increasing with every message of the store.
    let number = (10_000_000_000_000_000_000u128 + seq as u128).to_string();
    conn.prepare_cached("UPDATE messages SET sequence_number = ?2 WHERE seq = ?1")?
        .execute(params![seq, number])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO fifo_deduplication
            (queue, dedup_key, message_id, sequence_number, md5_of_body, md5_of_message_attributes,
             md5_of_system_attributes, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        queue,
        identity.dedup_key,
        sent.message_id,
        number,
        sent.md5_of_body,
        sent.md5_of_message_attributes,
        sent.md5_of_system_attributes,
        now_ms + DEDUPLICATION_WINDOW_MS,
    ])?;
    Ok(number)
}
