//! A queue's tags, and the permissions AddPermission writes into its Policy attribute
//! (stored and reported, not enforced).

use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use serde_json::{Value, json};

use super::error::SqsError;
use super::model::Queue;
use super::queue_rows::{load_queue, save_attributes};
use crate::tx::{OrAbort, TxResult, abort};

/// The most tags a queue may have.
const MAX_TAGS: usize = 50;

fn save_tags(
    conn: &Connection,
    name: &str,
    tags: &BTreeMap<String, String>,
) -> TxResult<(), SqsError> {
    conn.execute(
        "UPDATE queues SET tags = ?2 WHERE name = ?1",
        params![name, serde_json::to_string(tags)?],
    )?;
    Ok(())
}

/// Checks tag keys and values the way SQS does (keys 1..128, values up to 256).
pub(crate) fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), SqsError> {
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

pub(crate) fn tag_queue(
    conn: &Connection,
    name: &str,
    new_tags: &BTreeMap<String, String>,
) -> TxResult<(), SqsError> {
    let mut queue = load_queue(conn, name)?;
    if new_tags.is_empty() {
        return abort(SqsError::missing_parameter("Tags"));
    }
    queue.tags.extend(new_tags.clone());
    validate_tags(&queue.tags).or_abort()?;
    save_tags(conn, name, &queue.tags)
}

pub(crate) fn untag_queue(
    conn: &Connection,
    name: &str,
    keys: &[String],
) -> TxResult<(), SqsError> {
    let mut queue = load_queue(conn, name)?;
    if keys.is_empty() {
        return abort(SqsError::missing_parameter("TagKeys"));
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

/// Stores `policy` (none: no Policy attribute) as the Policy of `queue`.
fn save_policy(
    conn: &Connection,
    mut queue: Queue,
    policy: Option<Value>,
    now_ms: u64,
) -> TxResult<(), SqsError> {
    queue.attributes.policy = policy.map(|policy| policy.to_string());
    save_attributes(conn, &queue.name, &queue.attributes, now_ms)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn add_permission(
    conn: &Connection,
    name: &str,
    arn: &str,
    label: &str,
    accounts: &[String],
    actions: &[String],
    now_ms: u64,
) -> TxResult<(), SqsError> {
    let queue = load_queue(conn, name)?;
    if !valid_label(label) {
        return abort(SqsError::invalid_parameter(format!(
            "Value {label} for parameter Label is invalid. Reason: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length."
        )));
    }
    if accounts.is_empty() {
        return abort(SqsError::missing_parameter("AWSAccountIds"));
    }
    if actions.is_empty() {
        return abort(SqsError::missing_parameter("Actions"));
    }
    for action in actions {
        let bare = action.strip_prefix("SQS:").unwrap_or(action);
        if !PERMISSION_ACTIONS.contains(&bare) {
            return abort(SqsError::invalid_parameter(format!(
                "Value SQS:{bare} for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions."
            )));
        }
    }
    let mut policy: Value = queue
        .attributes
        .policy
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_else(|| {
            json!({"Version": "2008-10-17", "Id": format!("{arn}/SQSDefaultPolicy"), "Statement": []})
        });
    let statements = policy
        .get_mut("Statement")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| SqsError::invalid_parameter("The queue's Policy has no Statement list."))
        .or_abort()?;
    if statements
        .iter()
        .any(|s| s.get("Sid").and_then(Value::as_str) == Some(label))
    {
        return abort(SqsError::invalid_parameter(format!(
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
    save_policy(conn, queue, Some(policy), now_ms)
}

pub(crate) fn remove_permission(
    conn: &Connection,
    name: &str,
    label: &str,
    now_ms: u64,
) -> TxResult<(), SqsError> {
    let queue = load_queue(conn, name)?;
    let not_found = || {
        SqsError::invalid_parameter(format!(
            "Value {label} for parameter Label is invalid. Reason: can't find label."
        ))
    };
    let mut policy: Value = queue
        .attributes
        .policy
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or_else(not_found)
        .or_abort()?;
    let statements = policy
        .get_mut("Statement")
        .and_then(Value::as_array_mut)
        .ok_or_else(not_found)
        .or_abort()?;
    let before = statements.len();
    statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(label));
    if statements.len() == before {
        return abort(not_found());
    }
    let empty = statements.is_empty();
    save_policy(conn, queue, (!empty).then_some(policy), now_ms)
}
