//! Sending: a message is validated (body characters, attributes, size, delay, the FIFO
//! parameters) and inserted in the caller's transaction, which may be a SendMessage or
//! the commit of an object change whose notification it is.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};

use super::error::{SqsError, SqsErrorKind};
use super::fifo::{FifoIdentity, deduplicated, fifo_identity, remember_fifo_send};
use super::md5::{md5_hex, md5_of_message_attributes};
use super::model::{MessageAttributeValue, Queue, SendRequest, SendResult};
use super::queue_rows::add_to_count;
use crate::tx::{OrAbort, TxResult};

fn valid_body_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn validate_message_attributes(
    attributes: &BTreeMap<String, MessageAttributeValue>,
) -> Result<u64, SqsError> {
    if attributes.len() > 10 {
        return Err(SqsError::invalid_parameter(
            "Number of message attributes [".to_owned()
                + &attributes.len().to_string()
                + "] exceeds the allowed maximum [10].",
        ));
    }
    let mut size = 0u64;
    for (name, value) in attributes {
        let lower = name.to_ascii_lowercase();
        if name.is_empty()
            || name.len() > 256
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
            || lower.starts_with("aws.")
            || lower.starts_with("amazon.")
            || name.starts_with('.')
            || name.ends_with('.')
            || name.contains("..")
        {
            return Err(SqsError::invalid_parameter(format!(
                "Message attribute name '{name}' is invalid."
            )));
        }
        let base_type = value.data_type.split('.').next().unwrap_or_default();
        match base_type {
            "String" | "Number" => {
                let Some(v) = value.string_value.as_ref().filter(|v| !v.is_empty()) else {
                    return Err(SqsError::invalid_parameter(format!(
                        "Message (user) attribute '{name}' must contain a non-empty value of type '{base_type}'."
                    )));
                };
                if base_type == "Number" && v.trim().parse::<f64>().is_err() {
                    return Err(SqsError::invalid_parameter(format!(
                        "Can't cast the value of message attribute '{name}' to a number."
                    )));
                }
                if !v.chars().all(valid_body_char) {
                    return Err(SqsError::invalid_parameter(format!(
                        "Message (user) attribute '{name}' contains invalid characters."
                    )));
                }
                size += v.len() as u64;
            }
            "Binary" => {
                let Some(v) = value.binary_value.as_ref().filter(|v| !v.is_empty()) else {
                    return Err(SqsError::invalid_parameter(format!(
                        "Message (user) attribute '{name}' must contain a non-empty value of type 'Binary'."
                    )));
                };
                size += v.len() as u64;
            }
            _ => {
                return Err(SqsError::invalid_parameter(format!(
                    "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
                )));
            }
        }
        size += name.len() as u64 + value.data_type.len() as u64;
    }
    Ok(size)
}

/// Validates MessageSystemAttributes: only `AWSTraceHeader`, a String.
fn validate_system_attributes(
    attributes: &BTreeMap<String, MessageAttributeValue>,
) -> Result<(), SqsError> {
    for (name, value) in attributes {
        if name != "AWSTraceHeader" {
            return Err(SqsError::invalid_parameter(format!(
                "Message system attribute name '{name}' is invalid."
            )));
        }
        if value.data_type != "String" || value.string_value.as_deref().is_none_or(str::is_empty) {
            return Err(SqsError::invalid_parameter(format!(
                "Message system attribute '{name}' must be of type String with a non-empty value."
            )));
        }
    }
    Ok(())
}

/// Checks a send against the queue: body, attributes, size, delay and the FIFO
/// parameters. Returns the FIFO identity of a send to a FIFO queue.
fn check_send(queue: &Queue, request: &SendRequest) -> Result<Option<FifoIdentity>, SqsError> {
    if request.body.is_empty() {
        return Err(SqsError::missing_parameter("MessageBody"));
    }
    if !request.body.chars().all(valid_body_char) {
        return Err(SqsError::new(
            SqsErrorKind::InvalidMessageContents,
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        ));
    }
    let attributes_size = validate_message_attributes(&request.message_attributes)?;
    validate_system_attributes(&request.system_attributes)?;
    let limit = queue.attributes.maximum_message_size;
    let size = request.body.len() as u64 + attributes_size;
    if size > limit {
        return Err(SqsError::invalid_parameter(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
        )));
    }
    if let Some(d) = request.delay_seconds.filter(|d| *d > 900) {
        return Err(SqsError::invalid_parameter(format!(
            "Value {d} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided."
        )));
    }
    fifo_identity(queue, request)
}

/// Validates and inserts one message. A refused message aborts before anything is
/// written. A FIFO message whose deduplication id was sent within the last five
/// minutes is not enqueued again: the earlier send's result is returned.
pub(crate) fn insert_message(
    conn: &Connection,
    queue: &Queue,
    request: &SendRequest,
    sender_id: &str,
    now_ms: u64,
) -> TxResult<SendResult, SqsError> {
    let fifo = check_send(queue, request).or_abort()?;
    if let Some(identity) = &fifo
        && let Some(earlier) = deduplicated(conn, &queue.name, &identity.dedup_key, now_ms)?
    {
        return Ok(earlier);
    }
    // A FIFO queue has no per-message delay (a send may carry only 0): its messages
    // wait the queue's delay.
    let delay = match request.delay_seconds {
        Some(delay) if fifo.is_none() => delay,
        _ => queue.attributes.delay_seconds,
    };
    let message_id = crate::ids::random_uuid().to_string();
    let md5_of_body = md5_hex(request.body.as_bytes());
    let md5_of_attributes = md5_of_message_attributes(&request.message_attributes);
    let md5_of_system = md5_of_message_attributes(&request.system_attributes);
    let attributes_json = if request.message_attributes.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&request.message_attributes)?)
    };
    let system_json = if request.system_attributes.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&request.system_attributes)?)
    };
    let group_id = fifo
        .as_ref()
        .map(|f| f.group_id.as_str())
        .or(request.message_group_id.as_deref());
    conn.prepare_cached(
        "INSERT INTO messages (queue, message_id, body, md5_of_body, message_attributes, md5_of_message_attributes,
                               sent_ms, visible_at_ms, sender_id, group_id, deduplication_id,
                               system_attributes, md5_of_system_attributes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        queue.name,
        message_id,
        request.body,
        md5_of_body,
        attributes_json,
        md5_of_attributes,
        now_ms,
        now_ms + delay * 1000,
        sender_id,
        group_id,
        fifo.as_ref().map(|f| f.deduplication_id.as_str()),
        system_json,
        md5_of_system,
    ])?;
    add_to_count(conn, &queue.name, 1)?;
    let mut sent = SendResult {
        message_id,
        md5_of_body,
        md5_of_message_attributes: md5_of_attributes,
        md5_of_system_attributes: md5_of_system,
        sequence_number: None,
    };
    if let Some(identity) = &fifo {
        let seq = conn.last_insert_rowid();
        sent.sequence_number = Some(remember_fifo_send(
            conn,
            &queue.name,
            identity,
            seq,
            &sent,
            now_ms,
        )?);
    }
    Ok(sent)
}
