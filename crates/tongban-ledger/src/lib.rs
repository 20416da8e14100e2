//! The public transparency log: an append-only Merkle tree (RFC 9162 hashing) with one
//! entry per act of the platform — certificates issued, reissued and changed in
//! status, seals created, changed and used — served as a C2SP tlog-tiles log with
//! signed-note checkpoints, inclusion and consistency proofs, and signed entry
//! promises.
//!
//! Entries are appended in the act's own transaction ([`storage::append`]), so nothing
//! committed escapes the log; an integrator ([`Log::integrate`]) gives them indices in
//! one transaction per batch, so none is integrated twice.

#![forbid(unsafe_code)]

pub mod entry;
mod log;
pub mod merkle;
pub mod monitor;
pub mod note;
pub mod promise;
pub mod storage;
pub mod tiles;

pub use entry::{Entry, Kind};
pub use log::{Log, Proven};

/// What can go wrong in the log.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] tongban_store::StoreError),
    #[error(transparent)]
    Crypto(#[from] tongban_crypto::CryptoError),
    /// Stored log data that contradicts itself (a missing hash, an unreadable entry).
    #[error("the log's stored data is inconsistent: {0}")]
    Corrupt(String),
    /// No such thing in the log (a checkpoint of that size).
    #[error("{0}")]
    NotFound(&'static str),
    /// Input the log does not accept (a cosignature of an unknown witness, or one that
    /// does not verify).
    #[error("{0}")]
    Refused(String),
}

impl From<sqlx::Error> for LedgerError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}
