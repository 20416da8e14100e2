//! Why a signing operation was refused.

use tongban_crypto::CryptoError;
use tongban_identity::passkeys::PasskeyError;
use tongban_store::StoreError;

/// Why a signing operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The caller may not do this.
    #[error("{0}")]
    Denied(String),
    /// The person's login is not strong enough (level 3 is needed).
    #[error(
        "this needs assurance level 3: a passkey, or a password with an authenticator, on a verified identity"
    )]
    Assurance,
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
    /// The state of what is referenced forbids it.
    #[error("{0}")]
    Conflict(String),
    /// The person's approval does not verify, does not cover what is to be signed, or
    /// was used already.
    #[error("the approval was not accepted: {0}")]
    Approval(String),
    /// Signing failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Our own work failed (a worker thread): not the caller's doing.
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for SignError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

impl From<PasskeyError> for SignError {
    fn from(error: PasskeyError) -> Self {
        match error {
            PasskeyError::Store(store) => Self::Store(store),
            PasskeyError::Unavailable => Self::Conflict(error.to_string()),
            PasskeyError::Unknown => Self::Approval("no passkey of yours answered".into()),
            other => Self::Approval(other.to_string()),
        }
    }
}

impl From<tongban_identity::subjects::SubjectError> for SignError {
    fn from(error: tongban_identity::subjects::SubjectError) -> Self {
        match error {
            tongban_identity::subjects::SubjectError::Store(store) => Self::Store(store),
            other => Self::Store(StoreError::Corrupt(other.to_string())),
        }
    }
}

impl From<tongban_ledger::LedgerError> for SignError {
    fn from(error: tongban_ledger::LedgerError) -> Self {
        match error {
            tongban_ledger::LedgerError::Store(store) => Self::Store(store),
            tongban_ledger::LedgerError::Crypto(crypto) => Self::Crypto(crypto),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for SignError {
    fn from(error: tokio::task::JoinError) -> Self {
        Self::Internal(format!("a worker failed: {error}"))
    }
}

impl From<tongban_seal::SealError> for SignError {
    fn from(error: tongban_seal::SealError) -> Self {
        use tongban_seal::SealError as E;
        match error {
            E::Invalid { field, reason } => Self::Invalid { field, reason },
            E::Denied(text) => Self::Denied(text),
            E::NotFound(what) => Self::NotFound(what),
            E::Conflict(text) => Self::Conflict(text.to_owned()),
            E::Crypto(crypto) => Self::Crypto(crypto),
            E::Store(store) => Self::Store(store),
            other => Self::Internal(other.to_string()),
        }
    }
}
