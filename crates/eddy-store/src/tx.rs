//! The result of work done inside a transaction.
//!
//! A transaction closure ends in one of three ways: it succeeds (its changes commit
//! with the group), it *aborts* with the service's own answer (`NoSuchBucket`, an
//! invalid attribute, ...), or the store fails under it. Both failures roll back
//! whatever the closure changed; an abort is then the caller's answer, a store failure
//! becomes the service error's internal-error case. [`TxResult`] names that outcome
//! instead of a `Result<Result<T, ServiceError>, StoreError>`.

use crate::error::StoreError;

/// Why a transaction closure did not succeed.
#[derive(Debug)]
pub enum TxError<E> {
    /// The operation refused with this answer; its changes are rolled back.
    Abort(E),
    /// The store failed; the operation's changes are rolled back.
    Store(StoreError),
}

/// What a transaction closure returns.
pub type TxResult<T, E> = Result<T, TxError<E>>;

impl<E> TxError<E> {
    /// The error the caller sees: the abort itself, or the store failure as `E`.
    pub fn into_answer(self) -> E
    where
        E: From<StoreError>,
    {
        match self {
            TxError::Abort(error) => error,
            TxError::Store(error) => error.into(),
        }
    }
}

impl<E> From<StoreError> for TxError<E> {
    fn from(error: StoreError) -> Self {
        TxError::Store(error)
    }
}

impl<E> From<rusqlite::Error> for TxError<E> {
    fn from(error: rusqlite::Error) -> Self {
        TxError::Store(error.into())
    }
}

impl<E> From<serde_json::Error> for TxError<E> {
    fn from(error: serde_json::Error) -> Self {
        TxError::Store(error.into())
    }
}

/// Refuses the operation with `error` (rolls its changes back).
pub fn abort<T, E>(error: E) -> TxResult<T, E> {
    Err(TxError::Abort(error))
}

/// Turns a checked value into a transaction result: `Err` aborts.
pub trait OrAbort<T, E> {
    fn or_abort(self) -> TxResult<T, E>;
}

impl<T, E> OrAbort<T, E> for Result<T, E> {
    fn or_abort(self) -> TxResult<T, E> {
        self.map_err(TxError::Abort)
    }
}

/// The outcome of one entry of a batch inside a larger transaction: an abort is that
/// entry's answer (the batch goes on), a store failure fails the whole transaction.
/// (Entries abort before they change anything, so nothing of a refused entry stays.)
pub fn entry_outcome<T, E>(result: TxResult<T, E>) -> Result<Result<T, E>, StoreError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(TxError::Abort(error)) => Ok(Err(error)),
        Err(TxError::Store(error)) => Err(error),
    }
}
