//! IAM's and STS's errors: the code of the model's error shape, its HTTP status, and
//! whether it is the caller's fault.

use eddy_store::iam::IamStoreError;

use crate::sigv4::AuthError;

/// The error codes eddy's IAM and STS answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamErrorCode {
    NoSuchEntity,
    EntityAlreadyExists,
    DeleteConflict,
    LimitExceeded,
    MalformedPolicyDocument,
    ValidationError,
    InvalidInput,
    InvalidAction,
    AccessDenied,
    MissingAuthenticationToken,
    IncompleteSignature,
    InvalidClientTokenId,
    SignatureDoesNotMatch,
    ExpiredToken,
    ServiceFailure,
}

impl IamErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoSuchEntity => "NoSuchEntity",
            Self::EntityAlreadyExists => "EntityAlreadyExists",
            Self::DeleteConflict => "DeleteConflict",
            Self::LimitExceeded => "LimitExceeded",
            Self::MalformedPolicyDocument => "MalformedPolicyDocument",
            Self::ValidationError => "ValidationError",
            Self::InvalidInput => "InvalidInput",
            Self::InvalidAction => "InvalidAction",
            Self::AccessDenied => "AccessDenied",
            Self::MissingAuthenticationToken => "MissingAuthenticationToken",
            Self::IncompleteSignature => "IncompleteSignature",
            Self::InvalidClientTokenId => "InvalidClientTokenId",
            Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Self::ExpiredToken => "ExpiredToken",
            Self::ServiceFailure => "ServiceFailure",
        }
    }

    pub fn status(self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::NoSuchEntity => S::NOT_FOUND,
            Self::EntityAlreadyExists | Self::DeleteConflict | Self::LimitExceeded => S::CONFLICT,
            Self::AccessDenied
            | Self::MissingAuthenticationToken
            | Self::InvalidClientTokenId
            | Self::SignatureDoesNotMatch => S::FORBIDDEN,
            Self::ServiceFailure => S::INTERNAL_SERVER_ERROR,
            _ => S::BAD_REQUEST,
        }
    }

    pub fn is_server_fault(self) -> bool {
        self == Self::ServiceFailure
    }
}

/// A refusal: IAM's code and message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct IamError {
    pub code: IamErrorCode,
    pub message: String,
}

impl IamError {
    pub fn new(code: IamErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(IamErrorCode::ValidationError, message)
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(IamErrorCode::MalformedPolicyDocument, message)
    }
}

impl From<IamStoreError> for IamError {
    fn from(error: IamStoreError) -> Self {
        let code = match &error {
            IamStoreError::NoSuchEntity(_) => IamErrorCode::NoSuchEntity,
            IamStoreError::EntityAlreadyExists(_) => IamErrorCode::EntityAlreadyExists,
            IamStoreError::DeleteConflict(_) => IamErrorCode::DeleteConflict,
            IamStoreError::LimitExceeded(_) => IamErrorCode::LimitExceeded,
            IamStoreError::Invalid(_) => IamErrorCode::InvalidInput,
            IamStoreError::Store(store) => {
                tracing::error!(error = %store, "IAM store operation failed");
                return Self::new(IamErrorCode::ServiceFailure, "Internal failure.");
            }
        };
        Self::new(code, error.to_string())
    }
}

impl From<eddy_store::error::StoreError> for IamError {
    fn from(error: eddy_store::error::StoreError) -> Self {
        IamStoreError::Store(error).into()
    }
}

impl From<AuthError> for IamError {
    fn from(error: AuthError) -> Self {
        let code = match error {
            AuthError::Missing => IamErrorCode::MissingAuthenticationToken,
            AuthError::Incomplete(_) => IamErrorCode::IncompleteSignature,
            AuthError::UnknownAccessKey | AuthError::InvalidToken => {
                IamErrorCode::InvalidClientTokenId
            }
            AuthError::ExpiredToken => IamErrorCode::ExpiredToken,
            AuthError::SignatureMismatch | AuthError::Expired(_) => {
                IamErrorCode::SignatureDoesNotMatch
            }
        };
        Self::new(code, error.to_string())
    }
}
