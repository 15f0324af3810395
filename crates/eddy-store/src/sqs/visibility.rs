//! What happens to a received message through its receipt handle: it is deleted, or
//! its visibility timeout changes. A handle from an earlier receive of the message
//! deletes nothing, but changes the visibility as SQS lets it (also after the timeout
//! expired).

use rusqlite::{Connection, OptionalExtension, params};

use super::error::{SqsError, SqsErrorKind};
use super::queue_rows::add_to_count;
use super::receipts::receipt_of;
use crate::tx::{OrAbort, TxResult, abort};

/// Deletes the message a handle names (an outdated handle deletes nothing). On a FIFO
/// queue, as on SQS, a handle whose visibility timeout ended, or that a later receive
/// replaced, is refused: "The receipt handle has expired."
pub(crate) fn delete(
    conn: &Connection,
    queue: &str,
    handle: &str,
    fifo: bool,
    now_ms: u64,
) -> TxResult<(), SqsError> {
    let receipt = receipt_of(queue, handle).or_abort()?;
    if fifo {
        let row: Option<(u64, Option<String>)> = conn
            .prepare_cached(
                "SELECT visible_at_ms, receipt_nonce FROM messages WHERE seq = ?1 AND queue = ?2",
            )?
            .query_row(params![receipt.seq, queue], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        if let Some((visible_at, nonce)) = row
            && (visible_at <= now_ms || nonce.as_deref() != Some(receipt.nonce.as_str()))
        {
            return abort(SqsError::invalid_parameter(format!(
                "Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
            )));
        }
    }
    let deleted = conn
        .prepare_cached(
            "DELETE FROM messages WHERE seq = ?1 AND queue = ?2 AND receipt_nonce = ?3",
        )?
        .execute(params![receipt.seq, queue, receipt.nonce])?;
    add_to_count(conn, queue, -(deleted as i64))?;
    Ok(())
}

/// Makes the message a handle names visible again in `timeout` seconds, within the 12
/// hours a message may stay in flight since its latest receive. As on SQS, the handle
/// may be of any receive of the message, and the message need not be in flight any
/// more: a message whose timeout expired becomes invisible again.
pub(crate) fn change_visibility(
    conn: &Connection,
    queue: &str,
    handle: &str,
    timeout: u64,
    retention_ms: u64,
    now_ms: u64,
) -> TxResult<(), SqsError> {
    let receipt = receipt_of(queue, handle).or_abort()?;
    if timeout > 43_200 {
        return abort(SqsError::invalid_parameter(format!(
            "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."
        )));
    }
    // A message past the queue's retention period is gone, whether or not the sweep
    // has deleted it yet.
    let row: Option<(Option<String>, Option<u64>)> = conn
        .prepare_cached(
            "SELECT receipt_nonce, received_ms FROM messages
             WHERE seq = ?1 AND queue = ?2 AND sent_ms + ?3 > ?4",
        )?
        .query_row(params![receipt.seq, queue, retention_ms, now_ms], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let Some((current, received_ms)) = row else {
        // Deleted, expired, or moved to its dead-letter queue.
        return abort(SqsError::invalid_parameter(format!(
            "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."
        )));
    };
    if current.is_none() {
        // Never received since it (re)entered this queue: nothing is in flight.
        return abort(SqsError::new(
            SqsErrorKind::MessageNotInflight,
            "Message does not exist or is not available for visibility timeout change.",
        ));
    }
    let received_ms = received_ms.unwrap_or(now_ms);
    if now_ms + timeout * 1000 > received_ms + 43_200_000 {
        return abort(SqsError::invalid_parameter(format!(
            "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        )));
    }
    conn.execute(
        "UPDATE messages SET visible_at_ms = ?2 WHERE seq = ?1",
        params![receipt.seq, now_ms + timeout * 1000],
    )?;
    Ok(())
}
