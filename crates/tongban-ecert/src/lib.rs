//! E-certificates (电子证照): the catalogue of certificate types, GB/T 36904
//! identifiers, issuance with signed credentials (VC-JWT) and Bitstring Status Lists,
//! the lifecycle, holders' wallets and shares, verification, and department lookup
//! with its access log. Authorisation is checked here, in [`access`].

#![forbid(unsafe_code)]

pub mod batch;
pub mod batch_files;
pub mod catalogue;
pub mod copies;
pub mod credential;
pub mod error;
pub mod face_form;
pub mod holder;
pub mod idempotency;
pub mod identifier;
pub mod lookup;
pub mod ofd_rendition;
pub mod overview;
pub mod permissions;
pub mod qr;
pub mod register;
pub mod rendition;
pub mod status;
pub mod transparency;
pub mod verification;

pub use error::EcertError;
