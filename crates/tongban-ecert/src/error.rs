//! Why an e-certificate operation was refused.

use serde::Serialize;
use tongban_crypto::CryptoError;
use tongban_store::StoreError;

use crate::identifier::IdentifierError;

/// One problem with one face field (or one batch row's field).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON Pointer to the field within the face data (`""` for the whole object).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

/// Why an e-certificate operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum EcertError {
    /// The caller may not do this.
    #[error("{0}")]
    Denied(String),
    /// A request field's value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as named in the API.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The face data do not satisfy the type's schema.
    #[error("the face data do not match the certificate type's schema ({} errors)", .0.len())]
    Face(Vec<FieldError>),
    /// A certificate identifier is malformed or its check character wrong.
    #[error(transparent)]
    Identifier(#[from] IdentifierError),
    /// Something referenced does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The current state forbids it.
    #[error("{0}")]
    Conflict(String),
    /// Signing failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Our own work failed (a worker thread, writing a document).
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for EcertError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

impl From<tongban_identity::subjects::SubjectError> for EcertError {
    fn from(error: tongban_identity::subjects::SubjectError) -> Self {
        use tongban_identity::subjects::SubjectError as E;
        match error {
            E::Store(store) => Self::Store(store),
            E::Invalid { field, reason } => Self::Invalid { field, reason },
            other => Self::Conflict(other.to_string()),
        }
    }
}

impl From<tongban_seal::SealError> for EcertError {
    fn from(error: tongban_seal::SealError) -> Self {
        use tongban_seal::SealError as E;
        match error {
            E::Denied(reason) => Self::Denied(reason),
            E::Invalid { field, reason } => Self::Invalid { field, reason },
            E::NotFound(what) => Self::NotFound(what),
            E::Conflict(what) => Self::Conflict(what.to_owned()),
            E::Crypto(e) => Self::Crypto(e),
            E::Store(e) => Self::Store(e),
            E::Internal(what) => Self::Internal(what),
        }
    }
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> EcertError {
    EcertError::Invalid {
        field,
        reason: reason.into(),
    }
}

pub(crate) fn corrupt(what: &str) -> EcertError {
    EcertError::Store(StoreError::Corrupt(what.to_owned()))
}

impl From<tongban_ledger::LedgerError> for EcertError {
    fn from(error: tongban_ledger::LedgerError) -> Self {
        match error {
            tongban_ledger::LedgerError::Store(store) => Self::Store(store),
            tongban_ledger::LedgerError::Crypto(crypto) => Self::Crypto(crypto),
            // The acts only append: anything else is the log's own fault.
            other => Self::Internal(other.to_string()),
        }
    }
}
