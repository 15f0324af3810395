//! SQS errors with their AWS codes: the JSON `__type` name, the query-protocol code
//! (also sent as `x-amzn-query-error`), and the HTTP status.

use std::sync::Arc;

use crate::error::{StoreError, report};

/// The kinds of SQS error eddy answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqsErrorKind {
    QueueDoesNotExist,
    QueueNameExists,
    QueueDeletedRecently,
    ReceiptHandleIsInvalid,
    MessageNotInflight,
    TooManyEntriesInBatchRequest,
    EmptyBatchRequest,
    BatchEntryIdsNotDistinct,
    InvalidBatchEntryId,
    BatchRequestTooLong,
    UnsupportedOperation,
    PurgeQueueInProgress,
    OverLimit,
    RequestThrottled,
    InvalidSecurity,
    InvalidAddress,
    ResourceNotFoundException,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidMessageContents,
    InvalidParameterValue,
    MissingParameter,
    InvalidAction,
    InvalidClientTokenId,
    SignatureDoesNotMatch,
    IncompleteSignature,
    MissingAuthenticationToken,
    RequestExpired,
    AccessDenied,
    InternalError,
}

impl SqsErrorKind {
    /// The shape name used in `__type` (`com.amazonaws.sqs#<name>`).
    pub fn name(self) -> &'static str {
        use SqsErrorKind::{
            AccessDenied, BatchEntryIdsNotDistinct, BatchRequestTooLong, EmptyBatchRequest,
            IncompleteSignature, InternalError, InvalidAction, InvalidAddress,
            InvalidAttributeName, InvalidAttributeValue, InvalidBatchEntryId, InvalidClientTokenId,
            InvalidMessageContents, InvalidParameterValue, InvalidSecurity, MessageNotInflight,
            MissingAuthenticationToken, MissingParameter, OverLimit, PurgeQueueInProgress,
            QueueDeletedRecently, QueueDoesNotExist, QueueNameExists, ReceiptHandleIsInvalid,
            RequestExpired, RequestThrottled, ResourceNotFoundException, SignatureDoesNotMatch,
            TooManyEntriesInBatchRequest, UnsupportedOperation,
        };
        match self {
            QueueDoesNotExist => "QueueDoesNotExist",
            QueueNameExists => "QueueNameExists",
            QueueDeletedRecently => "QueueDeletedRecently",
            ReceiptHandleIsInvalid => "ReceiptHandleIsInvalid",
            MessageNotInflight => "MessageNotInflight",
            TooManyEntriesInBatchRequest => "TooManyEntriesInBatchRequest",
            EmptyBatchRequest => "EmptyBatchRequest",
            BatchEntryIdsNotDistinct => "BatchEntryIdsNotDistinct",
            InvalidBatchEntryId => "InvalidBatchEntryId",
            BatchRequestTooLong => "BatchRequestTooLong",
            UnsupportedOperation => "UnsupportedOperation",
            PurgeQueueInProgress => "PurgeQueueInProgress",
            OverLimit => "OverLimit",
            RequestThrottled => "RequestThrottled",
            InvalidSecurity => "InvalidSecurity",
            InvalidAddress => "InvalidAddress",
            ResourceNotFoundException => "ResourceNotFoundException",
            InvalidAttributeName => "InvalidAttributeName",
            InvalidAttributeValue => "InvalidAttributeValue",
            InvalidMessageContents => "InvalidMessageContents",
            InvalidParameterValue => "InvalidParameterValue",
            MissingParameter => "MissingParameter",
            InvalidAction => "InvalidAction",
            InvalidClientTokenId => "InvalidClientTokenId",
            SignatureDoesNotMatch => "SignatureDoesNotMatch",
            IncompleteSignature => "IncompleteSignature",
            MissingAuthenticationToken => "MissingAuthenticationToken",
            RequestExpired => "RequestExpired",
            AccessDenied => "AccessDenied",
            InternalError => "InternalError",
        }
    }

    /// The JSON protocol's `__type`: the error shape of the SQS model
    /// (`com.amazonaws.sqs#<name>`), or, for errors the model does not declare, the
    /// shape of AWS's request framework that SQS answers with.
    pub fn json_type(self) -> &'static str {
        use SqsErrorKind::{
            AccessDenied, IncompleteSignature, InternalError, InvalidAction, InvalidClientTokenId,
            InvalidParameterValue, MissingAuthenticationToken, MissingParameter, RequestExpired,
            SignatureDoesNotMatch,
        };
        match self {
            InvalidParameterValue => "com.amazon.coral.service#InvalidParameterValueException",
            MissingParameter => "com.amazon.coral.service#MissingRequiredParameterException",
            InvalidAction => "com.amazon.coral.service#UnknownOperationException",
            InvalidClientTokenId => "com.amazon.coral.service#UnrecognizedClientException",
            SignatureDoesNotMatch | RequestExpired => {
                "com.amazon.coral.service#InvalidSignatureException"
            }
            IncompleteSignature => "com.amazon.coral.service#IncompleteSignatureException",
            MissingAuthenticationToken => {
                "com.amazon.coral.service#MissingAuthenticationTokenException"
            }
            AccessDenied => "com.amazon.coral.service#AccessDeniedException",
            InternalError => "com.amazon.coral.service#InternalFailure",
            model => model.model_type(),
        }
    }

    /// `com.amazonaws.sqs#<name>` for the errors of the SQS model.
    fn model_type(self) -> &'static str {
        macro_rules! sqs_types {
            ($($kind:ident),* $(,)?) => {
                match self {
                    $(SqsErrorKind::$kind => concat!("com.amazonaws.sqs#", stringify!($kind)),)*
                    _ => "com.amazonaws.sqs#InternalError",
                }
            };
        }
        sqs_types!(
            QueueDoesNotExist,
            QueueNameExists,
            QueueDeletedRecently,
            ReceiptHandleIsInvalid,
            MessageNotInflight,
            TooManyEntriesInBatchRequest,
            EmptyBatchRequest,
            BatchEntryIdsNotDistinct,
            InvalidBatchEntryId,
            BatchRequestTooLong,
            UnsupportedOperation,
            PurgeQueueInProgress,
            OverLimit,
            RequestThrottled,
            InvalidSecurity,
            InvalidAddress,
            ResourceNotFoundException,
            InvalidAttributeName,
            InvalidAttributeValue,
            InvalidMessageContents,
        )
    }

    /// The query-protocol error code, also the first part of `x-amzn-query-error`.
    pub fn query_code(self) -> &'static str {
        use SqsErrorKind::{
            BatchEntryIdsNotDistinct, BatchRequestTooLong, EmptyBatchRequest, InvalidBatchEntryId,
            MessageNotInflight, PurgeQueueInProgress, QueueDeletedRecently, QueueDoesNotExist,
            QueueNameExists, TooManyEntriesInBatchRequest, UnsupportedOperation,
        };
        match self {
            QueueDoesNotExist => "AWS.SimpleQueueService.NonExistentQueue",
            QueueNameExists => "QueueAlreadyExists",
            QueueDeletedRecently => "AWS.SimpleQueueService.QueueDeletedRecently",
            MessageNotInflight => "AWS.SimpleQueueService.MessageNotInflight",
            TooManyEntriesInBatchRequest => "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            EmptyBatchRequest => "AWS.SimpleQueueService.EmptyBatchRequest",
            BatchEntryIdsNotDistinct => "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            InvalidBatchEntryId => "AWS.SimpleQueueService.InvalidBatchEntryId",
            BatchRequestTooLong => "AWS.SimpleQueueService.BatchRequestTooLong",
            UnsupportedOperation => "AWS.SimpleQueueService.UnsupportedOperation",
            PurgeQueueInProgress => "AWS.SimpleQueueService.PurgeQueueInProgress",
            other => other.name(),
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        use SqsErrorKind::{
            AccessDenied, InternalError, InvalidAddress, InvalidClientTokenId, InvalidSecurity,
            MissingAuthenticationToken, OverLimit, PurgeQueueInProgress, ReceiptHandleIsInvalid,
            RequestExpired, RequestThrottled, ResourceNotFoundException, SignatureDoesNotMatch,
        };
        match self {
            ReceiptHandleIsInvalid | InvalidAddress | ResourceNotFoundException => 404,
            PurgeQueueInProgress
            | OverLimit
            | RequestThrottled
            | InvalidSecurity
            | InvalidClientTokenId
            | SignatureDoesNotMatch
            | MissingAuthenticationToken
            | AccessDenied
            | RequestExpired => 403,
            InternalError => 500,
            _ => 400,
        }
    }

    /// `Sender` for client faults, `Receiver` for server faults.
    pub fn fault(self) -> &'static str {
        if self == SqsErrorKind::InternalError {
            "Receiver"
        } else {
            "Sender"
        }
    }
}

/// An SQS error: a kind and a message for people; an internal error keeps the store
/// failure behind it as its source.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", kind.name())]
pub struct SqsError {
    pub kind: SqsErrorKind,
    pub message: String,
    #[source]
    cause: Option<Arc<StoreError>>,
}

impl SqsError {
    pub fn new(kind: SqsErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    pub fn queue_does_not_exist() -> Self {
        Self::new(
            SqsErrorKind::QueueDoesNotExist,
            "The specified queue does not exist.",
        )
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(SqsErrorKind::InvalidParameterValue, message)
    }

    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            SqsErrorKind::MissingParameter,
            format!("The request must contain the parameter {name}."),
        )
    }
}

/// A store failure is an `InternalError` whose message names it (a full disk says so)
/// and whose source is the failure itself.
impl From<StoreError> for SqsError {
    fn from(error: StoreError) -> Self {
        let message = if error.is_disk_full() {
            "no space left on the data directory's device".to_owned()
        } else {
            report(&error)
        };
        Self {
            kind: SqsErrorKind::InternalError,
            message,
            cause: Some(Arc::new(error)),
        }
    }
}
