//! The Chinese commercial cryptography algorithms (商用密码) beside the international
//! ones: SM3 digests (GB/T 32905, GM/T 0004) and what SM2 signatures (GB/T 32918,
//! GM/T 0003) share — the signer's distinguishing identifier that goes into the hash
//! `Z_A` of every SM2 signature. Keys and signing are in [`crate::signer`] behind the
//! same `Signer` as P-256.

use sm3::{Digest as _, Sm3};

/// The default distinguishing identifier of GM/T 0009-2012 §10, which GB/T 38540 e-seal
/// signatures and every common verifier assume. OpenSSL 3's default is empty, so it is
/// passed there explicitly (`-sigopt distid:1234567812345678`).
pub const DEFAULT_DISTID: &str = "1234567812345678";

/// The SM3 digest of `data`.
pub fn sm3(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

/// An SM3 digest over data given in parts.
#[derive(Clone, Default)]
pub struct Sm3Hasher(Sm3);

impl Sm3Hasher {
    /// A fresh hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        sm3::Digest::update(&mut self.0, data);
    }

    /// The digest.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_of_the_standards_examples() {
        // GB/T 32905-2016 Appendix A: "abc", and "abcd" repeated 16 times.
        assert_eq!(
            crate::ca::hex(&sm3(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            crate::ca::hex(&sm3("abcd".repeat(16).as_bytes())),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
    }
}
