//! What is done to received messages through their receipt handles: DeleteMessage,
//! DeleteMessageBatch, ChangeMessageVisibility and ChangeMessageVisibilityBatch.

use eddy_store::sqs::SqsError;

use super::batch::{BatchResult, BatchResultEntry, BatchResultErrorEntry, checked_entries};
use super::context::RequestContext;
use super::decode::{Member, shape};

shape! {
    /// DeleteMessage's input.
    pub struct DeleteMessageRequest {
        "QueueUrl" => queue_url: Member<String>,
        "ReceiptHandle" => receipt_handle: Member<String>,
    }
}

pub async fn delete_message(
    cx: &RequestContext<'_>,
    input: DeleteMessageRequest,
) -> Result<(), SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let handle = input.receipt_handle.required("ReceiptHandle")?;
    cx.store().messages().delete(&queue, &handle).await
}

shape! {
    /// An entry of DeleteMessageBatch. Read leniently: a member of another type than
    /// string counts as absent.
    pub struct DeleteMessageBatchRequestEntry {
        "Id" => id: Option<String>,
        "ReceiptHandle" => receipt_handle: Option<String>,
    }
}

shape! {
    /// DeleteMessageBatch's input.
    pub struct DeleteMessageBatchRequest {
        "QueueUrl" => queue_url: Member<String>,
        "Entries" => entries: Member<Vec<DeleteMessageBatchRequestEntry>>,
    }
}

pub type DeleteMessageBatchResultEntry = BatchResultEntry;
pub type DeleteMessageBatchResult = BatchResult<DeleteMessageBatchResultEntry>;

pub async fn delete_message_batch(
    cx: &RequestContext<'_>,
    input: DeleteMessageBatchRequest,
) -> Result<DeleteMessageBatchResult, SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let entries = checked_entries(input.entries, "DeleteMessageBatchRequestEntry", |e| {
        e.id.as_deref()
    })?;
    let (ids, handles): (Vec<String>, Vec<String>) = entries
        .into_iter()
        .map(|e| {
            (
                e.id.unwrap_or_default(),
                e.receipt_handle.unwrap_or_default(),
            )
        })
        .unzip();
    let outcomes = cx.store().messages().delete_batch(&queue, handles).await?;
    let mut result = DeleteMessageBatchResult::default();
    for (id, outcome) in ids.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => result.successful.push(BatchResultEntry { id }),
            Err(error) => result.failed.push(BatchResultErrorEntry::new(&id, error)),
        }
    }
    Ok(result)
}

shape! {
    /// ChangeMessageVisibility's input.
    pub struct ChangeMessageVisibilityRequest {
        "QueueUrl" => queue_url: Member<String>,
        "ReceiptHandle" => receipt_handle: Member<String>,
        "VisibilityTimeout" => visibility_timeout: Member<i64>,
    }
}

pub async fn change_message_visibility(
    cx: &RequestContext<'_>,
    input: ChangeMessageVisibilityRequest,
) -> Result<(), SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let handle = input.receipt_handle.required("ReceiptHandle")?;
    let timeout = input.visibility_timeout.required("VisibilityTimeout")?;
    if timeout < 0 {
        return Err(SqsError::invalid_parameter(format!(
            "Value {timeout} for parameter VisibilityTimeout is invalid."
        )));
    }
    cx.store()
        .messages()
        .change_visibility(&queue, &handle, timeout as u64)
        .await
}

shape! {
    /// An entry of ChangeMessageVisibilityBatch.
    pub struct ChangeMessageVisibilityBatchRequestEntry {
        /// Read leniently: another type than string counts as absent.
        "Id" => id: Option<String>,
        "ReceiptHandle" => receipt_handle: Member<String>,
        "VisibilityTimeout" => visibility_timeout: Member<i64>,
    }
}

shape! {
    /// ChangeMessageVisibilityBatch's input.
    pub struct ChangeMessageVisibilityBatchRequest {
        "QueueUrl" => queue_url: Member<String>,
        "Entries" => entries: Member<Vec<ChangeMessageVisibilityBatchRequestEntry>>,
    }
}

pub type ChangeMessageVisibilityBatchResultEntry = BatchResultEntry;
pub type ChangeMessageVisibilityBatchResult = BatchResult<ChangeMessageVisibilityBatchResultEntry>;

/// Changes each entry's visibility on its own; an entry that fails does not stop the
/// others.
pub async fn change_message_visibility_batch(
    cx: &RequestContext<'_>,
    input: ChangeMessageVisibilityBatchRequest,
) -> Result<ChangeMessageVisibilityBatchResult, SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let entries = checked_entries(
        input.entries,
        "ChangeMessageVisibilityBatchRequestEntry",
        |e| e.id.as_deref(),
    )?;
    let mut result = ChangeMessageVisibilityBatchResult::default();
    for entry in entries {
        let id = entry.id.unwrap_or_default();
        let outcome = async {
            let handle = entry.receipt_handle.required("ReceiptHandle")?;
            let timeout = entry.visibility_timeout.optional()?.unwrap_or(0).max(0) as u64;
            cx.store()
                .messages()
                .change_visibility(&queue, &handle, timeout)
                .await
        }
        .await;
        match outcome {
            Ok(()) => result.successful.push(BatchResultEntry { id }),
            Err(error) => result.failed.push(BatchResultErrorEntry::new(&id, error)),
        }
    }
    Ok(result)
}
