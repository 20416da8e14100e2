//! Personal e-signatures (个人电子签名): a natural person's signing certificate, whose
//! key the service keeps and uses only under that person's approval of exactly what is
//! signed; signing requests (签署任务) from department systems and portals; and the
//! Cloud Signature Consortium API v2 for signing applications. Authorisation is
//! decided here, before any key is touched.

#![forbid(unsafe_code)]

pub mod approval;
pub mod callbacks;
pub mod certificates;
pub mod commitment;
pub mod csc;
pub mod error;
pub mod lifecycle;
pub mod records;
pub mod request_documents;
pub mod requests;
pub mod signing;
pub mod verification;

pub use error::SignError;
