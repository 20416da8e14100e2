//! The transparency log: an append-only Merkle log (RFC 9162 hashing) of every
//! certificate issuance, revocation and seal use, with signed checkpoints, inclusion
//! receipts and consistency proofs.
//!
//! Built by the transparency-log issue; empty until then.

#![forbid(unsafe_code)]
