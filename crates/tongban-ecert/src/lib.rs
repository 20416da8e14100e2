//! E-certificates (电子证照): the catalogue of certificate types, GB/T 36904 identifiers,
//! single and batch issuance, signed credentials and PDF renditions, status lists,
//! holder sharing, verification and the access log.
//!
//! Built by the e-certificate issue; empty until then.

#![forbid(unsafe_code)]
