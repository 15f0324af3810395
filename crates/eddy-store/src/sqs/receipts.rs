//! Receipt handles: a receipt names the queue, the message row and the nonce of the
//! receive that handed it out, so a handle from an earlier receive of the same
//! message no longer deletes or changes it.

use base64::Engine as _;

use super::error::{SqsError, SqsErrorKind};

/// What a receipt handle names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Receipt {
    pub queue: String,
    /// The message's row.
    pub seq: i64,
    /// The receive's nonce.
    pub nonce: String,
}

/// The receipt handle of a receive of message row `seq`.
pub(crate) fn make_receipt_handle(queue: &str, seq: i64, nonce: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{queue}\n{seq}\n{nonce}"))
}

/// What a handle names, if it is one of ours.
pub(crate) fn parse_receipt_handle(handle: &str) -> Option<Receipt> {
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
    Some(Receipt { queue, seq, nonce })
}

/// What a handle of `queue` names; `ReceiptHandleIsInvalid` for anything else.
pub(crate) fn receipt_of(queue: &str, handle: &str) -> Result<Receipt, SqsError> {
    match parse_receipt_handle(handle) {
        Some(receipt) if receipt.queue == queue => Ok(receipt),
        _ => Err(SqsError::new(
            SqsErrorKind::ReceiptHandleIsInvalid,
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        )),
    }
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
            proptest::prop_assert_eq!(parse_receipt_handle(&handle), Some(Receipt { queue, seq, nonce }));
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
            Some(Receipt {
                queue: "q".into(),
                seq: 42,
                nonce: "abc".into()
            })
        );
        assert_eq!(parse_receipt_handle("garbage!"), None);
        assert!(receipt_of("other", &handle).is_err());
    }
}
