//! What one log entry says: the act, its time, and hashes, never personal data. The
//! entry's bytes (compact JSON, fields in a fixed order) are what the leaf hash and the
//! entry tiles are made of.

use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;

pub use tongban_crypto::ca::hex;
use tongban_crypto::cms::parse_sha256_hex as parse_hex;

use crate::merkle::Hash;

/// The acts the log records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    #[serde(rename = "certificate.issued")]
    CertificateIssued,
    #[serde(rename = "certificate.reissued")]
    CertificateReissued,
    #[serde(rename = "certificate.suspended")]
    CertificateSuspended,
    #[serde(rename = "certificate.resumed")]
    CertificateResumed,
    #[serde(rename = "certificate.revoked")]
    CertificateRevoked,
    #[serde(rename = "seal.created")]
    SealCreated,
    #[serde(rename = "seal.suspended")]
    SealSuspended,
    #[serde(rename = "seal.resumed")]
    SealResumed,
    #[serde(rename = "seal.revoked")]
    SealRevoked,
    #[serde(rename = "seal.used")]
    SealUsed,
    /// A CA or time-stamping certificate the platform signs with, first seen.
    #[serde(rename = "ca.certificate")]
    CaCertificate,
    /// A person's signing certificate, issued (the certificate's hash only).
    #[serde(rename = "signing-certificate.issued")]
    SigningCertificateIssued,
    /// A person's signing certificate, revoked.
    #[serde(rename = "signing-certificate.revoked")]
    SigningCertificateRevoked,
    /// One personal signature, made under the person's approval.
    #[serde(rename = "signature.personal")]
    SignaturePersonal,
}

impl Kind {
    /// The name entries and the database use.
    pub fn name(self) -> &'static str {
        match self {
            Self::CertificateIssued => "certificate.issued",
            Self::CertificateReissued => "certificate.reissued",
            Self::CertificateSuspended => "certificate.suspended",
            Self::CertificateResumed => "certificate.resumed",
            Self::CertificateRevoked => "certificate.revoked",
            Self::SealCreated => "seal.created",
            Self::SealSuspended => "seal.suspended",
            Self::SealResumed => "seal.resumed",
            Self::SealRevoked => "seal.revoked",
            Self::SealUsed => "seal.used",
            Self::CaCertificate => "ca.certificate",
            Self::SigningCertificateIssued => "signing-certificate.issued",
            Self::SigningCertificateRevoked => "signing-certificate.revoked",
            Self::SignaturePersonal => "signature.personal",
        }
    }
}

/// The label of the key holders' keyed hashes are made with.
pub const HOLDER_KEY_LABEL: &str = "tongban-ledger-holder";

/// One act. Hashes are lower-case hex. `holder` is a keyed hash (HMAC under a key
/// derived from the KEK) of the holder's platform id and the certificate's identifier:
/// one pseudonym per certificate, so the public log never links a person's certificates
/// to each other; the platform recomputes it for the holder's own page or a lawful
/// lookup, nobody else can.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub v: u8,
    pub kind: Kind,
    /// RFC 3339, milliseconds, UTC.
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Which authority a CA certificate is: `root`, `issuing`, `sm2-root`,
    /// `sm2-issuing`, `tsa`, `sm2-tsa`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// The seal's id (seal acts and uses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
    /// SHA-256 of the seal's (or the authority's) X.509 certificate (DER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The signature format of a seal use: `cades`, `pades`, `jws`, `ses`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The digest of what was sealed, `sha256:<hex>` or `sm3:<hex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// SHA-256 of the signature as made (CMS DER, JWS text, SES_Signature DER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The e-certificate's type code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_type: Option<String>,
    /// SHA-256 of the e-certificate's credential (the VC-JWT text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// SHA-256 of the credential a re-issued certificate supersedes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
}

impl Entry {
    /// An entry of `kind` at `time` with no other field set.
    pub fn new(kind: Kind, time: Timestamp) -> Self {
        Self {
            v: 1,
            kind,
            time: time.to_rfc3339(),
            department: None,
            authority: None,
            seal: None,
            certificate: None,
            format: None,
            document: None,
            signature: None,
            certificate_type: None,
            credential: None,
            supersedes: None,
            holder: None,
        }
    }

    /// The entry's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads an entry from its bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes)
            .ok()
            .filter(|e: &Entry| e.v == 1)
    }

    /// The hash entries are found by: the signature's for a seal use, the
    /// credential's for a certificate act.
    pub(crate) fn subject_hash(&self) -> Option<Hash> {
        self.signature
            .as_deref()
            .or(self.credential.as_deref())
            .and_then(parse_hex)
    }

    pub(crate) fn key_hash(&self) -> Option<Hash> {
        self.certificate.as_deref().and_then(parse_hex)
    }

    pub(crate) fn holder_hash(&self) -> Option<Hash> {
        self.holder.as_deref().and_then(parse_hex)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_entry_is_compact_json_in_a_fixed_order_and_reads_back() {
        let mut entry = Entry::new(Kind::SealUsed, Timestamp::from_unix_millis(0));
        entry.seal = Some("s".into());
        entry.signature = Some(hex(&[0xab; 32]));
        let bytes = entry.to_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            format!(
                r#"{{"v":1,"kind":"seal.used","time":"1970-01-01T00:00:00Z","seal":"s","signature":"{}"}}"#,
                "ab".repeat(32)
            )
        );
        assert_eq!(Entry::from_bytes(&bytes), Some(entry.clone()));
        assert_eq!(entry.subject_hash(), Some([0xab; 32]));
        assert_eq!(parse_hex("zz"), None);
    }
}
