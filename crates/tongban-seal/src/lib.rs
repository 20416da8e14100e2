//! E-seals (电子印章): departments' seals (code, kind, key, certificate, status, history),
//! grants of seals to staff and client systems, signing (CAdES and JWS so far; PAdES
//! next), and the usage log. Authorisation is checked here, in [`access`], before any
//! key is touched.

#![forbid(unsafe_code)]

pub mod error;
pub mod grants;
pub mod image;
pub mod pdf;
pub mod permissions;
pub mod registry;
pub mod sign;
pub mod stamp;
pub mod validation;

pub use error::SealError;
