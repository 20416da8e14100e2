//! The warnings and reasons of a signature's report, typed: pages put them into words
//! from the message catalogues, the API takes their English sentences.

use tongban_core::time::Timestamp;

/// One warning or reason in a signature's report.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Finding {
    /// The signing certificate cannot be parsed.
    #[error("the signing certificate cannot be read")]
    CertificateUnreadable,
    /// The certificate is not one of this platform's seal certificates.
    #[error("the certificate is not one of this platform's seals")]
    NotOurSeal,
    /// Another platform's seal, trusted through that platform's root.
    #[error("another platform's seal, trusted through its root {0}")]
    ForeignSeal(String),
    /// Revoked after the time-stamp: this signature stands.
    #[error("the seal's certificate was revoked at {}, after the time-stamp: this signature stands, later ones do not", .0.to_rfc3339())]
    RevokedAfterTimestamp(Timestamp),
    /// Revoked before the signature's proof of existence.
    #[error("the seal's certificate was revoked at {}, before the signature's time-stamp", .0.to_rfc3339())]
    RevokedBeforeTimestamp(Timestamp),
    /// Revoked, and nothing proves the signature older.
    #[error("the seal's certificate is revoked and nothing proves the signature is older")]
    RevokedNoProof,
    /// Outside its validity at the validation time.
    #[error("the certificate was not valid at the validation time")]
    CertificateNotValidThen,
    /// No path to our root.
    #[error("the certificate does not chain to the platform's root")]
    UnknownIssuer,
    /// No current CRL.
    #[error("no current revocation information")]
    NoRevocationInfo,
    /// Another path validation failure.
    #[error("{0}")]
    ChainInvalid(String),
    /// The signed digest differs from the document's.
    #[error("{0}")]
    DigestMismatch(String),
    /// The signature value does not verify.
    #[error("{0}")]
    BadSignature(String),
    /// The signature cannot be decoded.
    #[error("{0}")]
    MalformedSignature(String),
    /// No signer certificate in the signature.
    #[error("{0}")]
    SignerCertificateMissing(String),
    /// ESS signing-certificate-v2 names another certificate.
    #[error("{0}")]
    SigningCertificateMismatch(String),
    /// An algorithm we do not verify.
    #[error("{0}")]
    UnsupportedAlgorithm(String),
    /// No ESS signing-certificate-v2 attribute.
    #[error("no ESS signing-certificate-v2 attribute (not a baseline signature)")]
    NotBaseline,
    /// The TSA's certificate is not trusted now.
    #[error("the time-stamp's authority is not trusted: {0}")]
    TimestampAuthorityUntrusted(String),
    /// The time-stamp token does not verify.
    #[error("the signature time-stamp does not verify: {0}")]
    TimestampInvalid(String),
    /// No signature time-stamp.
    #[error("no signature time-stamp: the signing time is only claimed")]
    NoTimestamp,
    /// A JWS never carries a time-stamp.
    #[error("no time-stamp in a JWS: the signing time is only claimed")]
    JwsNoTimestamp,
    /// No `x5c` in the JWS header.
    #[error("the JWS has no x5c certificate")]
    JwsNoCertificate,
    /// The `x5c` certificate cannot be parsed.
    #[error("the x5c certificate cannot be read")]
    JwsCertificateUnreadable,
    /// The ByteRange leaves out more or less than the signature value.
    #[error("the ByteRange does not exclude exactly this signature's value")]
    ByteRange,
    /// Later revisions only add valid signatures.
    #[error("the document changed after this signature only by later valid signatures")]
    LaterSignaturesOnly,
    /// Later revisions change more.
    #[error("the document changed after this signature in ways no valid signature accounts for")]
    LaterChanges,
    /// The seal maker's signature over the electronic seal does not verify.
    #[error("the seal maker's signature over the electronic seal does not verify")]
    SealMakerSignatureInvalid,
    /// The seal maker's certificate is not trusted.
    #[error("the seal maker's certificate is not trusted: {0}")]
    SealMakerUntrusted(String),
    /// The signer's certificate is not one the electronic seal lists.
    #[error("the signer's certificate is not one the electronic seal may be used with")]
    SignerNotListed,
    /// Signed at a time outside the electronic seal's validity.
    #[error("the signing time is outside the electronic seal's validity")]
    SealNotValidThen,
    /// Neither the signed file nor its digest was given: what was signed is unchecked.
    #[error(
        "neither the signed file nor its SM3 digest was given: what the signature covers is not checked"
    )]
    SignedDataNotGiven,
    /// The electronic seal has expired, and nothing proves the signature older.
    #[error("the electronic seal has expired and nothing proves the signature is older")]
    SealExpired,
    /// OFD: a file the signature protects changed.
    #[error("{0} changed after the signature")]
    FileChanged(String),
    /// OFD: a file the signature protects is not in the package.
    #[error("{0}, which the signature protects, is not in the package")]
    FileMissing(String),
    /// OFD: files no signature protects were added after this one.
    #[error("files were added after the signature and no later valid signature protects them: {0}")]
    FilesAdded(String),
    /// A page carrying a slice of a cross-page seal changed after it.
    #[error("page {0}, which carries a slice of this cross-page seal, changed after it")]
    PageChanged(u32),
    /// OFD: the seal file is not the electronic seal the signature carries.
    #[error("the seal file in the package is not the electronic seal the signature carries")]
    SealFileMismatch,
}

impl Finding {
    /// The message catalogue id of the sentence for people.
    pub fn message_id(&self) -> &'static str {
        match self {
            Self::CertificateUnreadable => "finding-certificate-unreadable",
            Self::NotOurSeal => "finding-not-our-seal",
            Self::ForeignSeal(_) => "finding-foreign-seal",
            Self::RevokedAfterTimestamp(_) => "finding-revoked-after-timestamp",
            Self::RevokedBeforeTimestamp(_) => "finding-revoked-before-timestamp",
            Self::RevokedNoProof => "finding-revoked-no-proof",
            Self::CertificateNotValidThen => "finding-certificate-not-valid-then",
            Self::UnknownIssuer => "finding-unknown-issuer",
            Self::NoRevocationInfo => "finding-no-revocation-info",
            Self::ChainInvalid(_) => "finding-chain-invalid",
            Self::DigestMismatch(_) => "finding-digest-mismatch",
            Self::BadSignature(_) => "finding-bad-signature",
            Self::MalformedSignature(_) => "finding-malformed-signature",
            Self::SignerCertificateMissing(_) => "finding-signer-certificate-missing",
            Self::SigningCertificateMismatch(_) => "finding-signing-certificate-mismatch",
            Self::UnsupportedAlgorithm(_) => "finding-unsupported-algorithm",
            Self::NotBaseline => "finding-not-baseline",
            Self::TimestampAuthorityUntrusted(_) => "finding-timestamp-authority-untrusted",
            Self::TimestampInvalid(_) => "finding-timestamp-invalid",
            Self::NoTimestamp => "finding-no-timestamp",
            Self::JwsNoTimestamp => "finding-jws-no-timestamp",
            Self::JwsNoCertificate => "finding-jws-no-certificate",
            Self::JwsCertificateUnreadable => "finding-jws-certificate-unreadable",
            Self::ByteRange => "finding-byte-range",
            Self::LaterSignaturesOnly => "finding-later-signatures-only",
            Self::LaterChanges => "finding-later-changes",
            Self::SealMakerSignatureInvalid => "finding-seal-maker-signature-invalid",
            Self::SealMakerUntrusted(_) => "finding-seal-maker-untrusted",
            Self::SignerNotListed => "finding-signer-not-listed",
            Self::SealNotValidThen => "finding-seal-not-valid-then",
            Self::SealExpired => "finding-seal-expired",
            Self::SignedDataNotGiven => "finding-signed-data-not-given",
            Self::FileChanged(_) => "finding-file-changed",
            Self::FileMissing(_) => "finding-file-missing",
            Self::FilesAdded(_) => "finding-files-added",
            Self::SealFileMismatch => "finding-seal-file-mismatch",
            Self::PageChanged(_) => "finding-page-changed",
        }
    }

    /// The time the sentence names, if any (its `$at`).
    pub fn at(&self) -> Option<Timestamp> {
        match self {
            Self::RevokedAfterTimestamp(at) | Self::RevokedBeforeTimestamp(at) => Some(*at),
            _ => None,
        }
    }
}
