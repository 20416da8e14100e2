//! Errors of the crypto layer.

/// What can go wrong while creating, storing or using keys and signatures.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The system random number generator failed.
    #[error("random number generator failed")]
    Rng,
    /// A key could not be generated or parsed.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// Signing failed.
    #[error("signing failed")]
    Sign,
    /// A PKCS#11 token failed or is not set up as configured.
    #[error("PKCS#11 token: {0}")]
    Token(String),
    /// An encrypted key could not be decrypted: wrong KEK, or the ciphertext was altered
    /// or moved to another key id or purpose.
    #[error("cannot decrypt key {key_id}: wrong key-encryption key, or the stored key was altered")]
    Decrypt {
        /// The key whose ciphertext failed.
        key_id: String,
    },
    /// A stored key or certificate was not found.
    #[error("not found: {0}")]
    NotFound(String),
    /// A certificate, CRL or structure could not be built or encoded.
    #[error("encoding failed: {0}")]
    Encoding(String),
    /// The root CA certificate is missing or unusable.
    #[error("root CA certificate {path}: {reason}")]
    Root {
        /// Where it was looked for.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// No issuing CA yet, and no root key here to make one (production).
    #[error(
        "no issuing CA certificate: run `tongban keys issuing-csr`, have the offline root sign \
         the request, then `tongban keys import-issuing <certificate.pem>`"
    )]
    NoIssuingCa,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] tongban_store::StoreError),
}

impl From<der::Error> for CryptoError {
    fn from(error: der::Error) -> Self {
        Self::Encoding(error.to_string())
    }
}

impl From<rcgen::Error> for CryptoError {
    fn from(error: rcgen::Error) -> Self {
        Self::Encoding(error.to_string())
    }
}
