//! What the three batch operations (SendMessageBatch, DeleteMessageBatch,
//! ChangeMessageVisibilityBatch) share: the checks on the entry list as a whole, and the
//! answer's `Successful` and `Failed` lists.

use std::collections::HashSet;

use serde::Serialize;

use eddy_store::sqs::{SqsError, SqsErrorKind};

use super::decode::Member;

/// The most entries a batch may carry.
const MAX_ENTRIES: usize = 10;

/// The entries of a batch request (a missing list counts as empty), checked as a whole:
/// at least one, at most ten, ids (`id` of an entry; absent reads as empty) valid and
/// distinct. `entry_type` is the model's name of an entry, for the message.
pub fn checked_entries<E>(
    entries: Member<Vec<E>>,
    entry_type: &str,
    id: impl Fn(&E) -> Option<&str>,
) -> Result<Vec<E>, SqsError> {
    let entries = entries.or_default()?;
    if entries.is_empty() {
        return Err(SqsError::new(
            SqsErrorKind::EmptyBatchRequest,
            format!("There should be at least one {entry_type} in the request."),
        ));
    }
    if entries.len() > MAX_ENTRIES {
        return Err(SqsError::new(
            SqsErrorKind::TooManyEntriesInBatchRequest,
            format!(
                "Maximum number of entries per request are {MAX_ENTRIES}. You have sent {}.",
                entries.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for entry in &entries {
        let id = id(entry).unwrap_or_default();
        if id.is_empty()
            || id.len() > 80
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SqsError::new(
                SqsErrorKind::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if !seen.insert(id) {
            return Err(SqsError::new(
                SqsErrorKind::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(entries)
}

/// The answer of a batch operation: what succeeded (entries of type `T`) and what failed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResult<T> {
    pub failed: Vec<BatchResultErrorEntry>,
    pub successful: Vec<T>,
}

impl<T> Default for BatchResult<T> {
    fn default() -> Self {
        Self {
            failed: Vec::new(),
            successful: Vec::new(),
        }
    }
}

/// An entry of a batch that failed, with the error it failed with.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultErrorEntry {
    pub code: &'static str,
    pub id: String,
    pub message: String,
    pub sender_fault: bool,
}

impl BatchResultErrorEntry {
    pub fn new(id: &str, error: SqsError) -> Self {
        Self {
            code: error.kind.name(),
            id: id.to_owned(),
            message: error.message,
            sender_fault: error.kind.fault() == "Sender",
        }
    }
}

/// A successful entry of DeleteMessageBatch or ChangeMessageVisibilityBatch (the model's
/// `DeleteMessageBatchResultEntry` and `ChangeMessageVisibilityBatchResultEntry`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultEntry {
    pub id: String,
}
