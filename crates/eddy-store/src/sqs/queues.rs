//! Queues (the [`Queues`] handle): creation (idempotent when the attributes agree),
//! deletion (a name cannot be reused for 60 seconds), attributes with their dead-letter
//! checks, tags and permissions, purges, and the counts operators read.

use std::collections::BTreeMap;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use super::attributes::{ALL_NAMES, QueueAttributes, is_true};
use super::error::{SqsError, SqsErrorKind};
use super::model::{Queue, QueueCounts};
use super::permissions;
use super::queue_rows::{
    add_to_count, counts, dead_letter_sources, load_queue, queue_names, save_attributes,
};
use super::redrive::redrive_not_allowed;
use super::regions::sibling_key;
use crate::error::StoreError;
use crate::shared::Shared;
use crate::time::now_ms;
use crate::tx::{OrAbort, TxResult, abort, entry_outcome};

/// A queue deleted less than this long ago cannot be created again.
pub(crate) const QUEUE_DELETED_RECENTLY_MS: u64 = 60_000;

/// The path of a queue's URL: `/<account>/<name>`.
pub fn queue_url_path(account_id: &str, name: &str) -> String {
    format!("/{account_id}/{name}")
}

/// Queues; see [`crate::Store::queues`].
pub struct Queues<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Queues<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Creates a queue, or returns the existing one when its attributes agree.
    pub async fn create(
        &self,
        name: String,
        attributes: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<Queue, SqsError> {
        let source_arn = self.shared.queue_arn(&name);
        self.shared
            .db
            .write(move |conn| create_queue(conn, &source_arn, &name, &attributes, &tags, now_ms()))
            .await
    }

    pub async fn get(&self, name: &str) -> Result<Queue, SqsError> {
        let name = name.to_owned();
        self.shared
            .db
            .read(move |conn| load_queue(conn, &name))
            .await
    }

    /// The names of the queues starting with `prefix`, in order.
    pub async fn list(&self, prefix: Option<String>) -> Result<Vec<String>, SqsError> {
        self.shared
            .db
            .read(move |conn| Ok(queue_names(conn, prefix.as_deref())?))
            .await
    }

    /// Deletes a queue and its messages; its name is remembered for a minute.
    pub async fn delete(&self, name: &str) -> Result<(), SqsError> {
        let name = name.to_owned();
        self.shared
            .db
            .write(move |conn| {
                load_queue(conn, &name)?;
                conn.execute("DELETE FROM messages WHERE queue = ?1", [&name])?;
                conn.execute("DELETE FROM queue_message_counts WHERE queue = ?1", [&name])?;
                conn.execute("DELETE FROM fifo_deduplication WHERE queue = ?1", [&name])?;
                conn.execute("DELETE FROM receive_attempts WHERE queue = ?1", [&name])?;
                conn.execute("DELETE FROM queues WHERE name = ?1", [&name])?;
                conn.execute(
                    "INSERT OR REPLACE INTO deleted_queues (name, deleted_ms) VALUES (?1, ?2)",
                    params![name, now_ms()],
                )?;
                Ok(())
            })
            .await
    }

    /// Validates and applies attribute changes (SetQueueAttributes).
    pub async fn set_attributes(
        &self,
        name: &str,
        changes: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        let name = name.to_owned();
        let source_arn = self.shared.queue_arn(&name);
        self.shared
            .db
            .write(move |conn| {
                let mut queue = load_queue(conn, &name)?;
                queue.attributes.apply(&changes, false).or_abort()?;
                if changes.contains_key("RedrivePolicy") {
                    check_redrive_target(conn, &queue.attributes, &source_arn, &name)?;
                }
                save_attributes(conn, &name, &queue.attributes, now_ms())?;
                Ok(())
            })
            .await
    }

    /// The queue's attributes, the computed ones included, for the names asked
    /// (`All` for every one).
    pub async fn attributes(
        &self,
        name: &str,
        names: Vec<String>,
    ) -> Result<BTreeMap<String, String>, SqsError> {
        let name = name.to_owned();
        let arn = self.shared.queue_arn(&name);
        self.shared
            .db
            .read(move |conn| {
                let queue = load_queue(conn, &name)?;
                report_attributes(conn, &queue, &arn, &names, now_ms())
            })
            .await
    }

    /// Every queue with its message counts, all read in one transaction at one instant,
    /// so a message being moved (say, to a dead-letter queue) is counted in exactly one
    /// queue.
    pub async fn snapshot(&self) -> Result<Vec<(Queue, QueueCounts)>, SqsError> {
        self.shared
            .db
            .read(move |conn| {
                let snapshot = conn.unchecked_transaction()?;
                let now = now_ms();
                let mut queues = Vec::new();
                for name in queue_names(&snapshot, None)? {
                    let queue = load_queue(&snapshot, &name)?;
                    let counts = counts(&snapshot, &queue, now)?;
                    queues.push((queue, counts));
                }
                Ok(queues)
            })
            .await
    }

    /// The names of the queues whose RedrivePolicy targets `dlq`.
    pub async fn dead_letter_sources(&self, dlq: &str) -> Result<Vec<String>, SqsError> {
        let name = dlq.to_owned();
        let arn = self.shared.queue_arn(dlq);
        self.shared
            .db
            .read(move |conn| {
                load_queue(conn, &name)?;
                Ok(dead_letter_sources(conn, &arn)?)
            })
            .await
    }

    /// Adds (or replaces) tags of a queue.
    pub async fn tag(&self, queue: &str, tags: BTreeMap<String, String>) -> Result<(), SqsError> {
        let name = queue.to_owned();
        self.shared
            .db
            .write(move |conn| permissions::tag_queue(conn, &name, &tags))
            .await
    }

    /// Removes tags of a queue (absent keys are ignored).
    pub async fn untag(&self, queue: &str, keys: Vec<String>) -> Result<(), SqsError> {
        let name = queue.to_owned();
        self.shared
            .db
            .write(move |conn| permissions::untag_queue(conn, &name, &keys))
            .await
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
        let arn = self.shared.queue_arn(queue);
        self.shared
            .db
            .write(move |conn| {
                permissions::add_permission(
                    conn,
                    &name,
                    &arn,
                    &label,
                    &accounts,
                    &actions,
                    now_ms(),
                )
            })
            .await
    }

    /// Removes the statement `label` from the queue's Policy attribute.
    pub async fn remove_permission(&self, queue: &str, label: String) -> Result<(), SqsError> {
        let name = queue.to_owned();
        self.shared
            .db
            .write(move |conn| permissions::remove_permission(conn, &name, &label, now_ms()))
            .await
    }

    /// Deletes every message of a queue, and forgets the deduplication ids of its
    /// FIFO sends (a purged queue takes them again, as on SQS); returns how many.
    pub async fn purge(&self, queue: &str) -> Result<u64, SqsError> {
        let name = queue.to_owned();
        self.shared
            .db
            .write(move |conn| {
                load_queue(conn, &name)?;
                conn.execute("DELETE FROM fifo_deduplication WHERE queue = ?1", [&name])?;
                Ok(purge_messages(conn, &name)?)
            })
            .await
    }
}

/// Deletes every message of a queue; returns how many.
pub(crate) fn purge_messages(conn: &Connection, name: &str) -> Result<u64, StoreError> {
    let purged = conn.execute("DELETE FROM messages WHERE queue = ?1", [name])?;
    add_to_count(conn, name, -(purged as i64))?;
    Ok(purged as u64)
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

/// CreateQueue: checks the name and attributes; an existing queue is returned when
/// every requested attribute agrees with it.
pub(crate) fn create_queue(
    conn: &Connection,
    source_arn: &str,
    name: &str,
    requested: &BTreeMap<String, String>,
    tags: &BTreeMap<String, String>,
    now_ms: u64,
) -> TxResult<Queue, SqsError> {
    if !valid_queue_name(name.rsplit('/').next().unwrap_or(name)) {
        return abort(SqsError::invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    let fifo_requested = is_true(requested.get("FifoQueue"));
    if fifo_requested != name.ends_with(".fifo") {
        return abort(SqsError::invalid_parameter(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
        ));
    }
    let mut attributes = QueueAttributes::defaults(fifo_requested);
    attributes.apply(requested, true).or_abort()?;
    if let Ok(existing) = entry_outcome(load_queue(conn, name))? {
        // Same name: fine if every requested attribute agrees with the existing queue.
        let (old, new) = (existing.attributes.to_map(), attributes.to_map());
        let differing: Vec<&str> = requested
            .keys()
            .map(String::as_str)
            .filter(|k| old.get(k) != new.get(k))
            .collect();
        if differing.is_empty() {
            return Ok(existing);
        }
        return abort(SqsError::new(
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
        return abort(SqsError::new(
            SqsErrorKind::QueueDeletedRecently,
            "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
        ));
    }
    check_redrive_target(conn, &attributes, source_arn, name)?;
    permissions::validate_tags(tags).or_abort()?;
    let now_s = now_ms / 1000;
    conn.execute(
        "INSERT INTO queues (name, created_s, modified_s, attributes, tags) VALUES (?1, ?2, ?2, ?3, ?4)",
        params![name, now_s, attributes.to_json(), serde_json::to_string(tags)?],
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

/// Checks that a RedrivePolicy names an existing queue of the same type and region
/// that lets `source_arn` (stored as `source_key`) use it (its RedriveAllowPolicy).
fn check_redrive_target(
    conn: &Connection,
    attributes: &QueueAttributes,
    source_arn: &str,
    source_key: &str,
) -> TxResult<(), SqsError> {
    let Some(policy) = &attributes.redrive_policy else {
        return Ok(());
    };
    let target_arn = eddy_events::arn::parse_queue_arn(&policy.dead_letter_target_arn);
    let source_region = eddy_events::arn::parse_queue_arn(source_arn).map(|a| a.region);
    let target = match target_arn {
        Some(arn) if Some(&arn.region) == source_region.as_ref() => {
            entry_outcome(load_queue(conn, &sibling_key(source_key, &arn.queue_name)))?.ok()
        }
        _ => None,
    };
    match target {
        None => abort(SqsError::invalid_parameter(format!(
            "Value {} for parameter RedrivePolicy is invalid. Reason: Dead-letter target does not exist.",
            attributes
                .to_map()
                .remove("RedrivePolicy")
                .unwrap_or_default()
        ))),
        Some(dlq) if dlq.attributes.is_fifo() != attributes.is_fifo() => {
            abort(SqsError::invalid_parameter(
                "Value for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be the same type as the source queue.",
            ))
        }
        Some(dlq) if !dlq.attributes.redrive_allow().allows(source_arn) => abort(
            redrive_not_allowed(source_arn, &policy.dead_letter_target_arn),
        ),
        Some(_) => Ok(()),
    }
}

/// GetQueueAttributes: the stored attributes and the computed ones, for the names
/// asked.
fn report_attributes(
    conn: &Connection,
    queue: &Queue,
    arn: &str,
    names: &[String],
    now_ms: u64,
) -> TxResult<BTreeMap<String, String>, SqsError> {
    for requested in names {
        if requested != "All" && !ALL_NAMES.contains(&requested.as_str()) {
            return abort(SqsError::new(
                SqsErrorKind::InvalidAttributeName,
                format!("Unknown Attribute {requested}."),
            ));
        }
    }
    let wanted = |n: &str| names.iter().any(|r| r == "All" || r == n);
    let mut out = BTreeMap::new();
    for (k, v) in queue.attributes.to_map() {
        if wanted(k) {
            out.insert(k.to_owned(), v);
        }
    }
    let counts = counts(conn, queue, now_ms)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names() {
        assert!(valid_queue_name("file-events"));
        assert!(valid_queue_name("a.fifo"));
        assert!(!valid_queue_name(""));
        assert!(!valid_queue_name("bad name"));
        assert!(!valid_queue_name(&"a".repeat(81)));
    }
}
