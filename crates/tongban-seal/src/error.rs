//! Why a seal operation was refused.

use tongban_crypto::CryptoError;
use tongban_store::StoreError;

/// Why a seal operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The caller may not do this.
    #[error("{0}")]
    Denied(String),
    /// A field's value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as named in the API.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Something referenced does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The seal's state forbids it (suspended, revoked, expired).
    #[error("{0}")]
    Conflict(&'static str),
    /// Signing failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Our own work failed (a worker thread, writing a document): not the caller's doing.
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for SealError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

impl From<tongban_identity::subjects::SubjectError> for SealError {
    fn from(error: tongban_identity::subjects::SubjectError) -> Self {
        match error {
            tongban_identity::subjects::SubjectError::Store(store) => Self::Store(store),
            other => Self::Store(StoreError::Corrupt(other.to_string())),
        }
    }
}

impl From<crate::ofd::OfdError> for SealError {
    fn from(error: crate::ofd::OfdError) -> Self {
        match error {
            crate::ofd::OfdError::Write(_) => Self::Internal(error.to_string()),
            _ => Self::Invalid {
                field: "ofd",
                reason: error.to_string(),
            },
        }
    }
}

impl From<tokio::task::JoinError> for SealError {
    fn from(error: tokio::task::JoinError) -> Self {
        Self::Internal(format!("a worker failed: {error}"))
    }
}

impl From<tongban_ledger::LedgerError> for SealError {
    fn from(error: tongban_ledger::LedgerError) -> Self {
        match error {
            tongban_ledger::LedgerError::Store(store) => Self::Store(store),
            tongban_ledger::LedgerError::Crypto(crypto) => Self::Crypto(crypto),
            // The acts only append: anything else is the log's own fault.
            other => Self::Internal(other.to_string()),
        }
    }
}
