//! Personal e-signatures over HTTP: signing requests for department systems, the CSC
//! API v2 for signing applications, and the pages where a person holds a signing
//! certificate and signs. The rules live in `tongban_esign`.

pub mod certificates;
pub mod csc;
pub mod pages;
pub mod requests;
