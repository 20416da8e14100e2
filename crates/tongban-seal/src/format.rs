//! The kinds of signature a seal makes, and which seals make which: a P-256 seal makes
//! the international formats, an SM2 seal GB/T 38540 signatures.

use tongban_crypto::Algorithm;

/// What a signature is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CMS detached (`.p7s`), B-T.
    Cades,
    /// A PDF signature (ETSI.CAdES.detached), B-T.
    Pades,
    /// JWS with detached payload, `x5c` and `sigT`.
    Jws,
    /// A GB/T 38540 electronic signature (`SES_Signature`), SM2 with SM3.
    Ses,
}

impl Format {
    /// The name in the usage log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cades => "cades",
            Self::Pades => "pades",
            Self::Jws => "jws",
            Self::Ses => "ses",
        }
    }

    /// The key algorithm of the seals that make this format.
    pub fn algorithm(self) -> Algorithm {
        match self {
            Self::Cades | Self::Pades | Self::Jws => Algorithm::Es256,
            Self::Ses => Algorithm::Sm2,
        }
    }
}
