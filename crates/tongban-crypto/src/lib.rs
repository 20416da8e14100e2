//! The one cryptography and PKI layer: keys (ring: ES256, Ed25519) behind the [`Signer`]
//! trait, the encrypted key store (AES-256-GCM under a key-encryption key), JWS/JWK, the
//! X.509 CA (rcgen) and path validation (x509-parser), CRLs, detached CMS and the
//! RFC 3161 time-stamp authority.
//!
//! Private keys never leave this crate in clear: they are generated here, stored
//! encrypted through `tongban-store`, and used only through [`Signer`].

#![forbid(unsafe_code)]

pub mod ca;
pub mod certified;
pub mod cms;
pub mod cms_verify;
pub mod crl;
mod der_util;
mod error;
pub mod jose;
pub mod kek;
mod kept;
pub mod keystore;
pub mod path;
pub mod pkcs11;
pub mod pki;
pub mod ses;
pub mod shangmi;
pub mod signer;
pub mod sm2_certificates;
pub mod token_keys;
pub mod tsa;

pub use error::CryptoError;
pub use signer::{Algorithm, PublicKey, Signer, SoftwareKey};
