//! Queue management besides attributes: tags, the permissions AddPermission writes into
//! the Policy attribute, and the dead-letter source queues of a queue.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use serde_json::{Value, json};

use super::error::{SqsError, SqsErrorKind};
use super::ops::load_queue;
use crate::error::StoreError;

/// The most tags a queue may have.
const MAX_TAGS: usize = 50;

fn save_tags(
    conn: &Connection,
    name: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), SqsError> {
    conn.execute(
        "UPDATE queues SET tags = ?2 WHERE name = ?1",
        params![name, serde_json::to_string(tags).map_err(StoreError::from)?],
    )?;
    Ok(())
}

/// Checks tag keys and values the way SQS does (keys 1..128, values up to 256).
pub(super) fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), SqsError> {
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 {
            return Err(SqsError::invalid_parameter(format!(
                "Tag key '{key}' is invalid: tag keys must be 1 to 128 characters."
            )));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(SqsError::invalid_parameter(format!(
                "Tag key '{key}' is invalid: the aws: prefix is reserved."
            )));
        }
        if value.chars().count() > 256 {
            return Err(SqsError::invalid_parameter(format!(
                "Tag value of '{key}' is invalid: tag values can be at most 256 characters."
            )));
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(SqsError::invalid_parameter(format!(
            "Too many tags: a queue can have at most {MAX_TAGS} tags."
        )));
    }
    Ok(())
}

pub(super) fn tag_queue(
    conn: &Connection,
    name: &str,
    new_tags: &BTreeMap<String, String>,
) -> Result<(), SqsError> {
    let mut queue = load_queue(conn, name)?;
    if new_tags.is_empty() {
        return Err(SqsError::missing_parameter("Tags"));
    }
    queue.tags.extend(new_tags.clone());
    validate_tags(&queue.tags)?;
    save_tags(conn, name, &queue.tags)
}

pub(super) fn untag_queue(conn: &Connection, name: &str, keys: &[String]) -> Result<(), SqsError> {
    let mut queue = load_queue(conn, name)?;
    if keys.is_empty() {
        return Err(SqsError::missing_parameter("TagKeys"));
    }
    for key in keys {
        queue.tags.remove(key);
    }
    save_tags(conn, name, &queue.tags)
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 80
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The actions AddPermission accepts (with or without the `SQS:` prefix).
const PERMISSION_ACTIONS: &[&str] = &[
    "*",
    "ChangeMessageVisibility",
    "DeleteMessage",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "ReceiveMessage",
    "SendMessage",
];

fn one_or_many(values: Vec<String>) -> Value {
    if values.len() == 1 {
        json!(values[0])
    } else {
        json!(values)
    }
}

fn save_policy(
    conn: &Connection,
    name: &str,
    policy: Option<Value>,
    now_ms: u64,
) -> Result<(), SqsError> {
    let mut queue = load_queue(conn, name)?;
    match policy {
        Some(policy) => {
            queue
                .attributes
                .0
                .insert("Policy".into(), policy.to_string());
        }
        None => {
            queue.attributes.0.remove("Policy");
        }
    }
    conn.execute(
        "UPDATE queues SET attributes = ?2, modified_s = ?3 WHERE name = ?1",
        params![name, queue.attributes.to_json(), now_ms / 1000],
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn add_permission(
    conn: &Connection,
    name: &str,
    arn: &str,
    label: &str,
    accounts: &[String],
    actions: &[String],
    now_ms: u64,
) -> Result<(), SqsError> {
    let queue = load_queue(conn, name)?;
    if !valid_label(label) {
        return Err(SqsError::invalid_parameter(format!(
            "Value {label} for parameter Label is invalid. Reason: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length."
        )));
    }
    if accounts.is_empty() {
        return Err(SqsError::missing_parameter("AWSAccountIds"));
    }
    if actions.is_empty() {
        return Err(SqsError::missing_parameter("Actions"));
    }
    for action in actions {
        let bare = action.strip_prefix("SQS:").unwrap_or(action);
        if !PERMISSION_ACTIONS.contains(&bare) {
            return Err(SqsError::invalid_parameter(format!(
                "Value SQS:{bare} for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions."
            )));
        }
    }
    let mut policy: Value = queue
        .attributes
        .0
        .get("Policy")
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_else(|| {
            json!({"Version": "2012-10-17", "Id": format!("{arn}/SQSDefaultPolicy"), "Statement": []})
        });
    let statements = policy
        .get_mut("Statement")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| SqsError::invalid_parameter("The queue's Policy has no Statement list."))?;
    if statements
        .iter()
        .any(|s| s.get("Sid").and_then(Value::as_str) == Some(label))
    {
        return Err(SqsError::invalid_parameter(format!(
            "Value {label} for parameter Label is invalid. Reason: Already exists."
        )));
    }
    let principals = accounts
        .iter()
        .map(|a| format!("arn:aws:iam::{a}:root"))
        .collect();
    let actions = actions
        .iter()
        .map(|a| format!("SQS:{}", a.strip_prefix("SQS:").unwrap_or(a)))
        .collect();
    statements.push(json!({
        "Sid": label,
        "Effect": "Allow",
        "Principal": {"AWS": one_or_many(principals)},
        "Action": one_or_many(actions),
        "Resource": arn,
    }));
    save_policy(conn, name, Some(policy), now_ms)
}

pub(super) fn remove_permission(
    conn: &Connection,
    name: &str,
    label: &str,
    now_ms: u64,
) -> Result<(), SqsError> {
    let queue = load_queue(conn, name)?;
    let not_found = || {
        SqsError::invalid_parameter(format!(
            "Value {label} for parameter Label is invalid. Reason: can't find label on existing policy."
        ))
    };
    let mut policy: Value = queue
        .attributes
        .0
        .get("Policy")
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or_else(not_found)?;
    let statements = policy
        .get_mut("Statement")
        .and_then(Value::as_array_mut)
        .ok_or_else(not_found)?;
    let before = statements.len();
    statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(label));
    if statements.len() == before {
        return Err(not_found());
    }
    let empty = statements.is_empty();
    save_policy(conn, name, (!empty).then_some(policy), now_ms)
}

/// The queues whose RedrivePolicy names `arn` as dead-letter target.
pub(super) fn dead_letter_sources(
    conn: &Connection,
    name: &str,
    arn: &str,
) -> Result<Vec<String>, SqsError> {
    load_queue(conn, name)?;
    let mut stmt = conn.prepare_cached("SELECT name, attributes FROM queues ORDER BY name")?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|(_, attributes)| {
            super::QueueAttributes::from_json(attributes)
                .redrive_policy()
                .is_some_and(|p| p.dead_letter_target_arn == arn)
        })
        .map(|(name, _)| name)
        .collect())
}

/// Whether a queue is the dead-letter target of some queue.
pub(super) fn is_dead_letter_queue(
    conn: &Connection,
    name: &str,
    arn: &str,
) -> Result<bool, SqsError> {
    Ok(!dead_letter_sources(conn, name, arn)?.is_empty())
}

/// Error for a queue that does not let `source_arn` use it as dead-letter queue.
pub(super) fn redrive_not_allowed(source_arn: &str, dlq_arn: &str) -> SqsError {
    SqsError::new(
        SqsErrorKind::InvalidParameterValue,
        format!(
            "Value for parameter RedrivePolicy is invalid. Reason: Queue {dlq_arn} does not allow {source_arn} to use it as a dead-letter queue (RedriveAllowPolicy)."
        ),
    )
}
