//! What happens to a received message through its receipt handle: it is deleted, or
//! its visibility timeout changes. A handle from an earlier receive of the message
//! changes nothing.

use rusqlite::{Connection, OptionalExtension, params};

use super::error::{SqsError, SqsErrorKind};
use super::receipts::receipt_of;
use crate::tx::{OrAbort, TxResult, abort};

/// Deletes the message a handle names (an outdated handle deletes nothing).
pub(crate) fn delete(conn: &Connection, queue: &str, handle: &str) -> TxResult<(), SqsError> {
    let receipt = receipt_of(queue, handle).or_abort()?;
    conn.prepare_cached(
        "DELETE FROM messages WHERE seq = ?1 AND queue = ?2 AND receipt_nonce = ?3",
    )?
    .execute(params![receipt.seq, queue, receipt.nonce])?;
    Ok(())
}

/// Makes the message a handle names visible again in `timeout` seconds, if it is still
/// in flight from that receive, within the 12 hours a message may stay in flight.
pub(crate) fn change_visibility(
    conn: &Connection,
    queue: &str,
    handle: &str,
    timeout: u64,
    now_ms: u64,
) -> TxResult<(), SqsError> {
    let receipt = receipt_of(queue, handle).or_abort()?;
    if timeout > 43_200 {
        return abort(SqsError::invalid_parameter(format!(
            "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."
        )));
    }
    let row: Option<(u64, Option<String>, Option<u64>)> = conn
        .prepare_cached("SELECT visible_at_ms, receipt_nonce, received_ms FROM messages WHERE seq = ?1 AND queue = ?2")?
        .query_row(params![receipt.seq, queue], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let Some((visible_at, current, received_ms)) = row else {
        // Deleted (or moved to its dead-letter queue).
        return abort(SqsError::invalid_parameter(format!(
            "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."
        )));
    };
    let in_flight = visible_at > now_ms && current.as_deref() == Some(receipt.nonce.as_str());
    if !in_flight {
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
