//! E-seals (电子印章): departments' seals (code, kind, key, certificate, status, history),
//! grants of seals to staff and client systems, signing (PAdES, CAdES and JWS with P-256
//! seals; GB/T 38540 with SM2 seals), and the usage log. Authorisation is checked here, in [`access`], before any
//! key is touched.

#![forbid(unsafe_code)]

pub mod error;
pub mod format;
pub mod grants;
pub mod image;
pub mod ofd;
pub mod ofd_sealing;
pub mod once;
pub mod pdf;
pub mod pdf_sealing;
pub mod permissions;
pub mod registry;
pub mod riding;
pub mod ses;
pub mod sign;
pub mod stamp;
pub mod transparency;
pub mod validation;

pub use error::SealError;
