//! The one cryptography and PKI layer: keys (ring: ES256, Ed25519) behind a `Signer`
//! trait, the encrypted key store (AES-256-GCM under a key-encryption key), JWS/JWK, the
//! X.509 CA (rcgen) and path validation (x509-parser), CRLs, CMS/CAdES and the RFC 3161
//! time-stamp authority.
//!
//! Private keys never leave this crate in clear. So far it holds the key-encryption key
//! loading that start-up checks depend on; the PKI issue builds the rest on it.

#![forbid(unsafe_code)]

pub mod kek;
