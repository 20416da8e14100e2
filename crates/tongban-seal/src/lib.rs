//! E-seals (电子印章): departments' seals (code, type, image, key, certificate, status),
//! grants of seals to staff and client systems, signing (PAdES, CAdES, JWS), the usage
//! log, and validation reports for sealed documents.
//!
//! Built by the e-seal issue; empty until then.

#![forbid(unsafe_code)]
