//! The SQS operations as statements on one connection, run inside the engine's write
//! (or read) transactions.

use std::collections::BTreeMap;

use base64::Engine as _;
use rusqlite::{Connection, OptionalExtension, params};

use super::attributes::{ALL_NAMES, QueueAttributes};
use super::error::{SqsError, SqsErrorKind};
use super::md5::{md5_hex, md5_of_message_attributes};
use super::{
    MessageAttributeValue, Queue, QueueCounts, ReceiveRequest, ReceivedMessage, SendRequest,
    SendResult,
};
use crate::EngineSettings;
use crate::error::StoreError;

/// A queue deleted less than this long ago cannot be created again.
const QUEUE_DELETED_RECENTLY_MS: u64 = 60_000;

/// The path of a queue's URL: `/<account>/<name>`.
pub fn queue_url_path(account_id: &str, name: &str) -> String {
    format!("/{account_id}/{name}")
}

fn valid_queue_name(name: &str) -> bool {
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 80
        && !stem.is_empty()
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(super) fn load_queue(conn: &Connection, name: &str) -> Result<Queue, SqsError> {
    conn.prepare_cached(
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
    .optional()?
    .ok_or_else(SqsError::queue_does_not_exist)
}

/// Checks that a RedrivePolicy names an existing queue of the same type that lets
/// `source_arn` use it (its RedriveAllowPolicy).
fn check_redrive_target(
    conn: &Connection,
    attributes: &QueueAttributes,
    source_arn: &str,
) -> Result<(), SqsError> {
    let Some(policy) = attributes.redrive_policy() else {
        return Ok(());
    };
    let target = eddy_events::arn::parse_queue_arn(&policy.dead_letter_target_arn);
    let target_queue = target.and_then(|arn| load_queue(conn, &arn.queue_name).ok());
    match target_queue {
        None => Err(SqsError::invalid_parameter(format!(
            "Value {} for parameter RedrivePolicy is invalid. Reason: Dead-letter target does not exist.",
            attributes
                .0
                .get("RedrivePolicy")
                .cloned()
                .unwrap_or_default()
        ))),
        Some(dlq) if dlq.attributes.fifo() != attributes.fifo() => {
            Err(SqsError::invalid_parameter(
                "Value for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be the same type as the source queue.",
            ))
        }
        Some(dlq) if !dlq.attributes.redrive_allow_policy().allows(source_arn) => Err(
            super::management::redrive_not_allowed(source_arn, &policy.dead_letter_target_arn),
        ),
        Some(_) => Ok(()),
    }
}

pub(super) fn create_queue(
    conn: &Connection,
    settings: &EngineSettings,
    name: &str,
    requested: &BTreeMap<String, String>,
    tags: &BTreeMap<String, String>,
    now_ms: u64,
) -> Result<Queue, SqsError> {
    if !valid_queue_name(name) {
        return Err(SqsError::invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    let fifo_requested = requested.get("FifoQueue").is_some_and(|v| v == "true");
    if fifo_requested != name.ends_with(".fifo") {
        return Err(SqsError::invalid_parameter(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
        ));
    }
    if requested.get("FifoQueue").is_some_and(|v| v != "true") {
        return Err(SqsError::new(
            SqsErrorKind::InvalidAttributeValue,
            "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.",
        ));
    }
    let mut attributes = QueueAttributes::defaults(fifo_requested);
    attributes.apply(requested, true)?;
    if let Ok(existing) = load_queue(conn, name) {
        // Same name: fine if every requested attribute agrees with the existing queue.
        let differing: Vec<&str> = requested
            .keys()
            .filter(|k| existing.attributes.0.get(*k) != attributes.0.get(*k))
            .map(String::as_str)
            .collect();
        if differing.is_empty() {
            return Ok(existing);
        }
        return Err(SqsError::new(
            SqsErrorKind::QueueNameExists,
            format!(
                "A queue already exists with the same name and a different value for attribute {}",
                differing.join(", ")
            ),
        ));
    }
    let deleted_ms: Option<u64> = conn
        .prepare_cached("SELECT deleted_ms FROM deleted_queues WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?;
    if deleted_ms.is_some_and(|d| now_ms < d + QUEUE_DELETED_RECENTLY_MS) {
        return Err(SqsError::new(
            SqsErrorKind::QueueDeletedRecently,
            "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
        ));
    }
    let source_arn = eddy_events::arn::queue_arn(&settings.region, &settings.account_id, name);
    check_redrive_target(conn, &attributes, &source_arn)?;
    super::management::validate_tags(tags)?;
    let now_s = now_ms / 1000;
    conn.execute(
        "INSERT INTO queues (name, created_s, modified_s, attributes, tags) VALUES (?1, ?2, ?2, ?3, ?4)",
        params![name, now_s, attributes.to_json(), serde_json::to_string(tags).map_err(StoreError::from)?],
    )?;
    conn.execute("DELETE FROM deleted_queues WHERE name = ?1", [name])?;
    Ok(Queue {
        name: name.to_owned(),
        created_s: now_s,
        modified_s: now_s,
        attributes,
        tags: tags.clone(),
    })
}

pub(super) fn list_queues(
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

pub(super) fn delete_queue(conn: &Connection, name: &str, now_ms: u64) -> Result<(), SqsError> {
    load_queue(conn, name)?;
    conn.execute("DELETE FROM messages WHERE queue = ?1", [name])?;
    conn.execute("DELETE FROM fifo_deduplication WHERE queue = ?1", [name])?;
    conn.execute("DELETE FROM receive_attempts WHERE queue = ?1", [name])?;
    conn.execute("DELETE FROM queues WHERE name = ?1", [name])?;
    conn.execute(
        "INSERT OR REPLACE INTO deleted_queues (name, deleted_ms) VALUES (?1, ?2)",
        params![name, now_ms],
    )?;
    Ok(())
}

pub(super) fn set_queue_attributes(
    conn: &Connection,
    settings: &EngineSettings,
    name: &str,
    changes: &BTreeMap<String, String>,
    now_ms: u64,
) -> Result<(), SqsError> {
    let mut queue = load_queue(conn, name)?;
    queue.attributes.apply(changes, false)?;
    if changes.contains_key("RedrivePolicy") {
        let source_arn = eddy_events::arn::queue_arn(&settings.region, &settings.account_id, name);
        check_redrive_target(conn, &queue.attributes, &source_arn)?;
    }
    conn.execute(
        "UPDATE queues SET attributes = ?2, modified_s = ?3 WHERE name = ?1",
        params![name, queue.attributes.to_json(), now_ms / 1000],
    )?;
    Ok(())
}

/// Message counts of a queue; messages past the retention period (not yet swept) are
/// gone already.
pub(super) fn counts(
    conn: &Connection,
    name: &str,
    now_ms: u64,
) -> Result<QueueCounts, StoreError> {
    let retention_ms = load_queue(conn, name)
        .map(|q| q.attributes.retention_seconds() * 1000)
        .unwrap_or(i64::MAX as u64 / 2);
    let mut stmt = conn.prepare_cached(
        "SELECT
            COALESCE(SUM(visible_at_ms <= ?2), 0),
            COALESCE(SUM(visible_at_ms > ?2 AND receive_count > 0), 0),
            COALESCE(SUM(visible_at_ms > ?2 AND receive_count = 0), 0),
            MIN(sent_ms)
         FROM messages WHERE queue = ?1 AND sent_ms + ?3 > ?2",
    )?;
    Ok(stmt.query_row(params![name, now_ms, retention_ms], |row| {
        Ok(QueueCounts {
            visible: row.get(0)?,
            not_visible: row.get(1)?,
            delayed: row.get(2)?,
            oldest_sent_ms: row.get(3)?,
        })
    })?)
}

pub(super) fn get_queue_attributes(
    conn: &Connection,
    name: &str,
    arn: &str,
    names: &[String],
    now_ms: u64,
) -> Result<BTreeMap<String, String>, SqsError> {
    let queue = load_queue(conn, name)?;
    for requested in names {
        if requested != "All" && !ALL_NAMES.contains(&requested.as_str()) {
            return Err(SqsError::new(
                SqsErrorKind::InvalidAttributeName,
                format!("Unknown Attribute {requested}."),
            ));
        }
    }
    let wanted = |n: &str| names.iter().any(|r| r == "All" || r == n);
    let mut out = BTreeMap::new();
    for (k, v) in &queue.attributes.0 {
        if wanted(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    let counts = counts(conn, name, now_ms)?;
    let computed = [
        ("ApproximateNumberOfMessages", counts.visible.to_string()),
        (
            "ApproximateNumberOfMessagesNotVisible",
            counts.not_visible.to_string(),
        ),
        (
            "ApproximateNumberOfMessagesDelayed",
            counts.delayed.to_string(),
        ),
        ("CreatedTimestamp", queue.created_s.to_string()),
        ("LastModifiedTimestamp", queue.modified_s.to_string()),
        ("QueueArn", arn.to_owned()),
    ];
    for (k, v) in computed {
        if wanted(k) {
            out.insert(k.to_owned(), v);
        }
    }
    Ok(out)
}

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
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
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
                        "Message attribute '{name}' must contain a non-empty message attribute value for message attribute type '{}'.",
                        value.data_type
                    )));
                };
                if base_type == "Number" && v.trim().parse::<f64>().is_err() {
                    return Err(SqsError::invalid_parameter(format!(
                        "Can't cast the value of message attribute '{name}' to a number."
                    )));
                }
                if !v.chars().all(valid_body_char) {
                    return Err(SqsError::new(
                        SqsErrorKind::InvalidMessageContents,
                        format!("Message attribute '{name}' contains invalid characters."),
                    ));
                }
                size += v.len() as u64;
            }
            "Binary" => {
                let Some(v) = value.binary_value.as_ref().filter(|v| !v.is_empty()) else {
                    return Err(SqsError::invalid_parameter(format!(
                        "Message attribute '{name}' must contain a non-empty message attribute value for message attribute type 'Binary'."
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

/// How long a FIFO deduplication id is remembered.
const DEDUPLICATION_WINDOW_MS: u64 = 5 * 60 * 1000;

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

/// The FIFO identity of a send: its group, deduplication id, and the key under which
/// the deduplication id is remembered.
struct FifoIdentity {
    group_id: String,
    deduplication_id: String,
    dedup_key: String,
}

/// Checks the FIFO parameters of a send against the queue type.
fn fifo_identity(queue: &Queue, request: &SendRequest) -> Result<Option<FifoIdentity>, SqsError> {
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
    if !queue.attributes.fifo() {
        if let Some(dedup) = &request.message_deduplication_id {
            return Err(invalid_for_queue_type("MessageDeduplicationId", dedup));
        }
        return Ok(None);
    }
    if let Some(delay) = request.delay_seconds.filter(|d| *d > 0) {
        return Err(invalid_for_queue_type("DelaySeconds", &delay.to_string()));
    }
    let group_id = request
        .message_group_id
        .clone()
        .ok_or_else(|| SqsError::missing_parameter("MessageGroupId"))?;
    let deduplication_id = match &request.message_deduplication_id {
        Some(id) => id.clone(),
        None if queue.attributes.content_based_deduplication() => {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(request.body.as_bytes()))
        }
        None => {
            return Err(SqsError::invalid_parameter(
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        }
    };
    let dedup_key = if queue.attributes.deduplication_per_group() {
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
fn deduplicated(
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

/// Validates and inserts one message; the outer error is a storage failure, the inner
/// one the entry's own validation error. A FIFO message whose deduplication id was
/// sent within the last five minutes is not enqueued again: the earlier send's result
/// is returned.
pub fn insert_message(
    conn: &Connection,
    queue: &Queue,
    request: &SendRequest,
    sender_id: &str,
    now_ms: u64,
) -> Result<Result<SendResult, SqsError>, StoreError> {
    let checked = (|| {
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
        let limit = queue.attributes.maximum_message_size();
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
    })();
    let fifo = match checked {
        Ok(fifo) => fifo,
        Err(error) => return Ok(Err(error)),
    };
    if let Some(identity) = &fifo
        && let Some(earlier) = deduplicated(conn, &queue.name, &identity.dedup_key, now_ms)?
    {
        return Ok(Ok(earlier));
    }
    let delay = request
        .delay_seconds
        .unwrap_or_else(|| queue.attributes.delay_seconds());
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
        .map(|f| f.group_id.clone())
        .or_else(|| request.message_group_id.clone());
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
        fifo.as_ref().map(|f| f.deduplication_id.clone()),
        system_json,
        md5_of_system,
    ])?;
    let mut sequence_number = None;
    if let Some(identity) = &fifo {
        let seq = conn.last_insert_rowid();
        // 20 digits, increasing with every message of the engine.
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
            queue.name,
            identity.dedup_key,
            message_id,
            number,
            md5_of_body,
            md5_of_attributes,
            md5_of_system,
            now_ms + DEDUPLICATION_WINDOW_MS,
        ])?;
        sequence_number = Some(number);
    }
    Ok(Ok(SendResult {
        message_id,
        md5_of_body,
        md5_of_message_attributes: md5_of_attributes,
        md5_of_system_attributes: md5_of_system,
        sequence_number,
    }))
}

/// A receipt handle names the queue, the message row and the receive's nonce.
fn make_receipt_handle(queue: &str, seq: i64, nonce: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{queue}\n{seq}\n{nonce}"))
}

fn parse_receipt_handle(handle: &str) -> Option<(String, i64, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(handle)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut parts = text.split('\n');
    let queue = parts.next()?.to_owned();
    let seq = parts.next()?.parse().ok()?;
    let nonce = parts.next()?.to_owned();
    if parts.next().is_some() {
        return None;
    }
    Some((queue, seq, nonce))
}

fn invalid_handle(handle: &str) -> SqsError {
    SqsError::new(
        SqsErrorKind::ReceiptHandleIsInvalid,
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

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

/// What one receive attempt did.
pub(super) struct ReceiveOutcome {
    pub messages: Vec<ReceivedMessage>,
    /// When the next hidden message of the queue becomes visible.
    pub next_visible_ms: Option<u64>,
    /// The dead-letter queues messages were moved to.
    pub moved_to: Vec<String>,
}

/// One receive attempt.
#[allow(clippy::too_many_arguments)]
pub(super) fn receive(
    conn: &Connection,
    name: &str,
    request: &ReceiveRequest,
    attempt_id: Option<&str>,
    region: &str,
    account_id: &str,
    now_ms: u64,
) -> Result<ReceiveOutcome, SqsError> {
    let queue = load_queue(conn, name)?;
    let max = request.max_messages.clamp(1, 10) as usize;
    let visibility = request
        .visibility_timeout
        .unwrap_or_else(|| queue.attributes.visibility_timeout());
    let redrive = queue.attributes.redrive_policy();
    let dlq_name = redrive
        .as_ref()
        .and_then(|p| eddy_events::arn::parse_queue_arn(&p.dead_letter_target_arn))
        .map(|a| a.queue_name)
        .filter(|n| load_queue(conn, n).is_ok());
    let source_arn = eddy_events::arn::queue_arn(region, account_id, name);
    let retention_ms = queue.attributes.retention_seconds() * 1000;

    let fifo = queue.attributes.fifo();
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
        return Err(SqsError::new(
            SqsErrorKind::OverLimit,
            format!("There are {in_flight} messages in flight, the most a queue allows."),
        ));
    }

    let mut messages = Vec::new();
    let mut moved_to = Vec::new();
    // FIFO: in order of sending, and nothing from a group that has a message in flight.
    let sql = if fifo {
        format!(
            "SELECT {MESSAGE_COLUMNS}
             FROM messages m WHERE queue = ?1 AND visible_at_ms <= ?2
               AND NOT EXISTS (SELECT 1 FROM messages b WHERE b.queue = ?1 AND b.group_id = m.group_id
                               AND b.visible_at_ms > ?2 AND b.receipt_nonce IS NOT NULL)
             ORDER BY seq LIMIT ?3"
        )
    } else {
        format!(
            "SELECT {MESSAGE_COLUMNS}
             FROM messages WHERE queue = ?1 AND visible_at_ms <= ?2 ORDER BY visible_at_ms, seq LIMIT ?3"
        )
    };
    let mut select = conn.prepare_cached(&sql)?;
    // Moves to the DLQ free places in the batch; look again until it is full or empty.
    loop {
        let wanted = max - messages.len();
        if wanted == 0 {
            break;
        }
        let rows = select
            .query_map(
                params![name, now_ms, wanted as i64],
                StoredMessage::from_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            break;
        }
        let mut moved_any = false;
        let mut blocked_groups = std::collections::HashSet::new();
        for row in rows {
            let seq = row.seq;
            if now_ms >= row.sent_ms + retention_ms {
                conn.execute("DELETE FROM messages WHERE seq = ?1", [seq])?;
                moved_any = true;
                continue;
            }
            if fifo
                && let Some(group) = &row.group_id
                && blocked_groups.contains(group)
            {
                continue;
            }
            let new_count = row.receive_count + 1;
            if let (Some(policy), Some(dlq)) = (&redrive, &dlq_name)
                && new_count > policy.max_receive_count
            {
                conn.execute(
                    "UPDATE messages SET queue = ?2, visible_at_ms = ?3, receipt_nonce = NULL,
                            dead_letter_source_arn = ?4 WHERE seq = ?1",
                    params![seq, dlq, now_ms, source_arn],
                )?;
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
            messages.push(received_message(name, row, new_count, first, &nonce)?);
        }
        if fifo {
            // Groups of messages just received are now in flight.
            for message in &messages {
                if let Some(group) = message.attributes.get("MessageGroupId") {
                    blocked_groups.insert(group.clone());
                }
            }
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
            .map(|(_, seq, nonce)| (seq, nonce))
            .collect();
        conn.prepare_cached(
            "INSERT OR REPLACE INTO receive_attempts (queue, attempt_id, entries, expires_ms) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            name,
            attempt,
            serde_json::to_string(&entries).map_err(StoreError::from)?,
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

pub(super) fn delete(
    conn: &Connection,
    queue: &str,
    handle: &str,
) -> Result<Result<(), SqsError>, StoreError> {
    let Some((handle_queue, seq, nonce)) = parse_receipt_handle(handle) else {
        return Ok(Err(invalid_handle(handle)));
    };
    if handle_queue != queue {
        return Ok(Err(invalid_handle(handle)));
    }
    // An outdated handle (the message was received again since) deletes nothing.
    conn.prepare_cached(
        "DELETE FROM messages WHERE seq = ?1 AND queue = ?2 AND receipt_nonce = ?3",
    )?
    .execute(params![seq, queue, nonce])?;
    Ok(Ok(()))
}

pub(super) fn change_visibility(
    conn: &Connection,
    queue: &str,
    handle: &str,
    timeout: u64,
    now_ms: u64,
) -> Result<(), SqsError> {
    let (handle_queue, seq, nonce) =
        parse_receipt_handle(handle).ok_or_else(|| invalid_handle(handle))?;
    if handle_queue != queue {
        return Err(invalid_handle(handle));
    }
    if timeout > 43_200 {
        return Err(SqsError::invalid_parameter(format!(
            "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."
        )));
    }
    let row: Option<(u64, Option<String>, Option<u64>)> = conn
        .prepare_cached("SELECT visible_at_ms, receipt_nonce, received_ms FROM messages WHERE seq = ?1 AND queue = ?2")?
        .query_row(params![seq, queue], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    if row.is_none() {
        // Deleted (or moved to its dead-letter queue).
        return Err(SqsError::invalid_parameter(format!(
            "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."
        )));
    }
    let in_flight = matches!(&row, Some((visible_at, Some(current), _)) if *visible_at > now_ms && *current == nonce);
    if !in_flight {
        return Err(SqsError::new(
            SqsErrorKind::MessageNotInflight,
            "Message does not exist or is not available for visibility timeout change.",
        ));
    }
    let received_ms = row.and_then(|r| r.2).unwrap_or(now_ms);
    if now_ms + timeout * 1000 > received_ms + 43_200_000 {
        return Err(SqsError::invalid_parameter(format!(
            "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        )));
    }
    conn.execute(
        "UPDATE messages SET visible_at_ms = ?2 WHERE seq = ?1",
        params![seq, now_ms + timeout * 1000],
    )?;
    Ok(())
}

/// Deletes messages past their queue's retention period.
pub(super) fn expire(conn: &Connection, now_ms: u64) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare("SELECT name, attributes FROM queues")?;
    let queues = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut removed = 0;
    for (name, attributes) in queues {
        let retention_ms = QueueAttributes::from_json(&attributes).retention_seconds() * 1000;
        removed += conn.execute(
            "DELETE FROM messages WHERE queue = ?1 AND sent_ms + ?2 <= ?3",
            params![name, retention_ms, now_ms],
        )? as u64;
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
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn any_receipt_handle_round_trips(
            queue in "[^\n]{0,80}",
            seq in proptest::prelude::any::<i64>(),
            nonce in "[^\n]{0,40}",
        ) {
            let handle = make_receipt_handle(&queue, seq, &nonce);
            proptest::prop_assert_eq!(parse_receipt_handle(&handle), Some((queue, seq, nonce)));
        }

        #[test]
        fn parsing_any_receipt_handle_never_panics(handle in proptest::prelude::any::<String>()) {
            let _ = parse_receipt_handle(&handle);
        }

        #[test]
        fn parsing_base64_of_any_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse_receipt_handle(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        }
    }

    #[test]
    fn receipt_handles_round_trip() {
        let handle = make_receipt_handle("q", 42, "abc");
        assert_eq!(
            parse_receipt_handle(&handle),
            Some(("q".to_owned(), 42, "abc".to_owned()))
        );
        assert_eq!(parse_receipt_handle("garbage!"), None);
    }

    fn test_connection() -> (Connection, EngineSettings) {
        let conn = Connection::open_in_memory().expect("in-memory database");
        conn.execute_batch(crate::SCHEMA).expect("schema");
        let settings = EngineSettings {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            access_key_id: "test".into(),
        };
        (conn, settings)
    }

    fn fifo_send(body: &str, dedup: &str) -> SendRequest {
        SendRequest {
            body: body.into(),
            message_group_id: Some("g".into()),
            message_deduplication_id: Some(dedup.into()),
            ..SendRequest::default()
        }
    }

    #[test]
    fn deduplication_ends_after_five_minutes() {
        let (conn, settings) = test_connection();
        let attributes = BTreeMap::from([("FifoQueue".to_owned(), "true".to_owned())]);
        let queue = create_queue(&conn, &settings, "q.fifo", &attributes, &BTreeMap::new(), 0)
            .expect("create");
        let start = 1_000_000;
        let send = |body: &str, at: u64| {
            insert_message(&conn, &queue, &fifo_send(body, "d"), "test", at)
                .expect("store")
                .expect("valid")
        };
        let first = send("one", start);
        let inside = send("two", start + DEDUPLICATION_WINDOW_MS - 1);
        assert_eq!(inside.message_id, first.message_id);
        let after = send("three", start + DEDUPLICATION_WINDOW_MS);
        assert_ne!(after.message_id, first.message_id);
        let stored: i64 = conn
            .query_row("SELECT COUNT(*) FROM messages", [], |row| row.get(0))
            .expect("count");
        assert_eq!(stored, 2);
    }

    #[test]
    fn counts_leave_out_messages_past_retention() {
        let (conn, settings) = test_connection();
        let attributes = BTreeMap::from([("MessageRetentionPeriod".to_owned(), "60".to_owned())]);
        let queue = create_queue(&conn, &settings, "short", &attributes, &BTreeMap::new(), 0)
            .expect("create");
        let request = SendRequest {
            body: "x".into(),
            ..SendRequest::default()
        };
        insert_message(&conn, &queue, &request, "test", 1_000)
            .expect("store")
            .expect("valid");
        assert_eq!(counts(&conn, "short", 60_999).expect("counts").visible, 1);
        assert_eq!(counts(&conn, "short", 61_000).expect("counts").visible, 0);
        assert_eq!(expire(&conn, 61_000).expect("expire"), 1);
    }

    #[test]
    fn too_many_in_flight_messages() {
        let (conn, settings) = test_connection();
        let now = 1_000_000u64;
        let standard = create_queue(
            &conn,
            &settings,
            "std",
            &BTreeMap::new(),
            &BTreeMap::new(),
            0,
        )
        .expect("create");
        let fifo_attributes = BTreeMap::from([("FifoQueue".to_owned(), "true".to_owned())]);
        let fifo = create_queue(
            &conn,
            &settings,
            "f.fifo",
            &fifo_attributes,
            &BTreeMap::new(),
            0,
        )
        .expect("create");
        let request = ReceiveRequest {
            max_messages: 1,
            ..ReceiveRequest::default()
        };
        for queue in [&standard, &fifo] {
            conn.execute_batch("BEGIN").expect("begin");
            let mut insert = conn
                .prepare(
                    "INSERT INTO messages (queue, message_id, body, md5_of_body, sent_ms, visible_at_ms,
                                           receive_count, receipt_nonce, sender_id, group_id)
                     VALUES (?1, ?2, 'x', '', ?3, ?4, 1, 'n', 'test', ?2)",
                )
                .expect("prepare");
            for i in 0..MAX_IN_FLIGHT {
                insert
                    .execute(params![queue.name, i.to_string(), now, now + 60_000])
                    .expect("insert");
            }
            insert
                .execute(params![queue.name, "visible", now, now])
                .expect("insert");
            conn.execute_batch("COMMIT").expect("commit");
        }
        let receive_now = |queue: &str| {
            receive(
                &conn,
                queue,
                &request,
                None,
                "us-east-1",
                "000000000000",
                now,
            )
        };
        let error = receive_now("std").err().expect("OverLimit");
        assert_eq!(error.kind, SqsErrorKind::OverLimit);
        let outcome = receive_now("f.fifo").expect("FIFO queues answer without an error");
        assert!(outcome.messages.is_empty());
        // One fewer in flight: the visible message is delivered again.
        conn.execute(
            "DELETE FROM messages WHERE queue = 'std' AND message_id = '0'",
            [],
        )
        .expect("delete");
        let outcome = receive_now("std").expect("receive");
        assert_eq!(outcome.messages.len(), 1);
    }

    #[test]
    fn queue_names() {
        assert!(valid_queue_name("file-events"));
        assert!(valid_queue_name("a.fifo"));
        assert!(!valid_queue_name(""));
        assert!(!valid_queue_name("bad name"));
        assert!(!valid_queue_name(&"a".repeat(81)));
    }
}
