//! GB/T 38540-2020 (安全电子签章密码技术规范), version 4: the electronic seal (电子印章,
//! `SESeal`), signed by the platform's seal maker (制章者) over its DER `SES_SealInfo`,
//! and the electronic signature (电子签章, `SES_Signature`), signed by a certificate the
//! seal lists over its DER `TBS_Sign`. Both SM2 with SM3 (GM/T 0003, the default
//! distinguishing identifier). The types mirror the standard's ASN.1 module field by
//! field; reading accepts DER only (what is signed is the bytes as received, and a
//! structure that re-encodes differently is refused rather than judged on other bytes).

mod asn1;
mod make;
mod read;
#[cfg(test)]
mod tests;

pub use make::{Picture, SealContent, SealType, ToSign, make_seal, sign};
pub use read::{CertList, Seal, Signature};
/// The version this module writes and reads (GB/T 38540-2020; 1 to 3 are GM/T 0031-2014).
pub const VERSION: u32 = 4;
/// The header's `ID`.
pub(crate) const HEADER_ID: &str = "ES";
/// `certListType`: the seal lists the signer certificates themselves.
pub(crate) const CERT_LIST_CERTIFICATES: u32 = 1;
/// `certListType`: the seal lists digests of them.
pub(crate) const CERT_LIST_DIGESTS: u32 = 2;

/// Why SES data cannot be read or is not what this platform accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SesError {
    /// Not a DER structure of the standard (truncated, trailing bytes, wrong types).
    #[error("not a GB/T 38540 {what}: {reason}")]
    Malformed {
        /// `SESeal` or `SES_Signature`.
        what: &'static str,
        /// The decoder's words.
        reason: String,
    },
    /// A version other than 4.
    #[error("version {0} of GB/T 38540 data; only version 4 (GB/T 38540-2020) is read")]
    Version(u32),
    /// The header's ID is not `ES`.
    #[error("the seal's header ID is {0:?}, not \"ES\"")]
    HeaderId(String),
    /// A signature algorithm other than SM2 with SM3.
    #[error("signature algorithm {0} is not SM2 with SM3 (1.2.156.10197.1.501)")]
    Algorithm(String),
}
