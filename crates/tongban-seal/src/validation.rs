//! Validation reports for sealed documents: PDF (PAdES), detached CMS (CAdES) with the
//! file or its digest, and detached JWS with its payload. For each signature: which
//! seal and department, the claimed signing time and the time-stamp's, integrity, the
//! chain to our root, revocation at the time-stamp, what the signature covers; and an
//! indication per ETSI EN 319 102-1 (TOTAL-PASSED, TOTAL-FAILED, INDETERMINATE with a
//! sub-indication), plus an overall one.

use base64::Engine as _;
use serde_json::Value;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_crypto::PublicKey;
use tongban_crypto::cms::sha256;
use tongban_crypto::cms_verify::{self, CmsError};
use tongban_crypto::jose;
use tongban_crypto::path::{PathError, Usage};
use tongban_crypto::pki::Pki;
use tongban_store::Store;

use crate::error::SealError;
use crate::pdf::{Entry, Reader};

/// ETSI EN 319 102-1 §5.1.3 main indications.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Indication {
    /// Every check passed.
    TotalPassed,
    /// A check failed for good (the document changed, the signature is forged, the
    /// certificate was revoked before the signature existed).
    TotalFailed,
    /// Not enough to decide (no trusted chain, revoked with no proof of time).
    Indeterminate,
}

impl Indication {
    /// As ETSI writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::TotalPassed => "TOTAL-PASSED",
            Self::TotalFailed => "TOTAL-FAILED",
            Self::Indeterminate => "INDETERMINATE",
        }
    }
}

/// The seal a signature was made with, when it is one of ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealInfo {
    /// Seal code.
    pub code: String,
    /// Seal name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Department name.
    pub department: String,
    /// Department USCC.
    pub department_uscc: String,
}

/// Revocation status of the signing certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// Not revoked.
    Good,
    /// Revoked at this time, after the time-stamp: the signature stands, with a warning.
    RevokedAfter(Timestamp),
    /// Revoked at this time, before the signature's proof of existence.
    Revoked(Timestamp),
    /// Could not be established.
    Unknown,
}

/// One signature's report.
#[derive(Clone, Debug, PartialEq)]
pub struct SignatureReport {
    /// `pades`, `cades` or `jws`.
    pub format: &'static str,
    /// PDF signature field name.
    pub field: Option<String>,
    /// Signing certificate subject.
    pub signer: Option<String>,
    /// Our seal, if the certificate is one of ours.
    pub seal: Option<SealInfo>,
    /// Claimed signing time (/M, signingTime or sigT): stated, not proven.
    pub claimed_signing_time: Option<Timestamp>,
    /// Time of a valid signature time-stamp: proof the signature existed then.
    pub timestamp_time: Option<Timestamp>,
    /// The signed content matches and the signature value verifies.
    pub integrity: bool,
    /// The certificate chains to our root and was valid at the validation time.
    pub trusted: bool,
    /// Revocation status.
    pub revocation: Revocation,
    /// PDF: the signature covers the whole file.
    pub covers_whole_document: Option<bool>,
    /// PDF: what came after it is only later signed revisions.
    pub later_changes_only_signatures: Option<bool>,
    /// Main indication.
    pub indication: Indication,
    /// Sub-indication (ETSI EN 319 102-1 §5.1.3).
    pub sub_indication: Option<&'static str>,
    /// Warnings and reasons, typed: pages take their words from the message
    /// catalogues, the API its English sentences from `Display`.
    pub findings: Vec<Finding>,
}

/// One warning or reason in a signature's report.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Finding {
    /// The signing certificate cannot be parsed.
    #[error("the signing certificate cannot be read")]
    CertificateUnreadable,
    /// The certificate is not one of this platform's seal certificates.
    #[error("the certificate is not one of this platform's seals")]
    NotOurSeal,
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
}

impl Finding {
    /// The message catalogue id of the sentence for people.
    pub fn message_id(&self) -> &'static str {
        match self {
            Self::CertificateUnreadable => "finding-certificate-unreadable",
            Self::NotOurSeal => "finding-not-our-seal",
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

/// The whole report.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The worst indication of all signatures (INDETERMINATE without signatures).
    pub overall: Indication,
    /// Each signature.
    pub signatures: Vec<SignatureReport>,
}

/// What to verify.
pub enum Input<'a> {
    /// A PDF with embedded signatures.
    Pdf(Vec<u8>),
    /// A detached CMS signature and the SHA-256 of the signed file.
    Cades {
        /// The `.p7s` (DER).
        p7s: &'a [u8],
        /// SHA-256 of the file.
        digest: [u8; 32],
    },
    /// A detached JWS and its payload.
    Jws {
        /// Compact serialization with an empty payload part.
        jws: &'a str,
        /// The payload.
        payload: &'a [u8],
    },
}

impl SignatureReport {
    fn new(format: &'static str) -> Self {
        Self {
            format,
            field: None,
            signer: None,
            seal: None,
            claimed_signing_time: None,
            timestamp_time: None,
            integrity: false,
            trusted: false,
            revocation: Revocation::Unknown,
            covers_whole_document: None,
            later_changes_only_signatures: None,
            indication: Indication::Indeterminate,
            sub_indication: None,
            findings: Vec::new(),
        }
    }

    fn fail(&mut self, indication: Indication, sub: &'static str, finding: Finding) {
        // The first decisive finding stands; later ones only add findings.
        if self.sub_indication.is_none() {
            self.indication = indication;
            self.sub_indication = Some(sub);
        }
        self.findings.push(finding);
    }
}

/// Verifies `input` and reports on every signature.
pub async fn verify(store: &Store, pki: &Pki, input: Input<'_>) -> Result<Report, SealError> {
    let signatures = match input {
        Input::Pdf(pdf) => verify_pdf(store, pki, pdf).await?,
        Input::Cades { p7s, digest } => {
            vec![verify_cms(store, pki, "cades", p7s, &digest, None).await?]
        }
        Input::Jws { jws, payload } => vec![verify_jws(store, pki, jws, payload).await?],
    };
    let overall = if signatures.is_empty() {
        Indication::Indeterminate
    } else if signatures
        .iter()
        .any(|s| s.indication == Indication::TotalFailed)
    {
        Indication::TotalFailed
    } else if signatures
        .iter()
        .all(|s| s.indication == Indication::TotalPassed)
    {
        Indication::TotalPassed
    } else {
        Indication::Indeterminate
    };
    Ok(Report {
        overall,
        signatures,
    })
}

/// The seal whose certificate has this serial.
async fn seal_of(
    conn: &mut tongban_store::Conn,
    serial: &str,
) -> Result<Option<SealInfo>, SealError> {
    let row = sqlx::query(
        "SELECT s.code, s.name, s.kind, d.name AS department, d.uscc FROM seals s \
         JOIN departments d ON d.id = s.department_id WHERE s.certificate_serial = $1",
    )
    .bind(serial)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(SealInfo {
            code: r.try_get("code")?,
            name: r.try_get("name")?,
            kind: r.try_get("kind")?,
            department: r.try_get("department")?,
            department_uscc: r.try_get("uscc")?,
        })
    })
    .transpose()
}

/// Subject text and serial (hex) of a certificate.
fn describe(cert_der: &[u8]) -> Option<(String, String)> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).ok()?;
    Some((
        cert.subject().to_string(),
        tongban_crypto::ca::hex(cert.raw_serial()),
    ))
}

/// Chain, validity and revocation of the signing certificate at `at` (the time-stamp's
/// time, or now without one), into `report`.
async fn check_certificate(
    store: &Store,
    pki: &Pki,
    report: &mut SignatureReport,
    leaf: &[u8],
    proof_of_time: Option<Timestamp>,
) -> Result<(), SealError> {
    let Some((subject, serial)) = describe(leaf) else {
        report.fail(
            Indication::Indeterminate,
            "NO_SIGNING_CERTIFICATE_FOUND",
            Finding::CertificateUnreadable,
        );
        return Ok(());
    };
    report.signer = Some(subject);
    // One connection for both lookups, released before path validation reads CRLs.
    let revoked_at = {
        let mut conn = store.conn().await?;
        report.seal = seal_of(&mut conn, &serial).await?;
        tongban_store::pki::certificate(&mut conn, &serial)
            .await?
            .and_then(|r| r.revocation)
            .map(|r| r.at)
    };
    if report.seal.is_none() {
        report.fail(
            Indication::Indeterminate,
            "SIG_CONSTRAINTS_FAILURE",
            Finding::NotOurSeal,
        );
    }
    let at = proof_of_time.unwrap_or_else(Timestamp::now);
    match pki.validate(leaf, Usage::Seal, at).await? {
        Ok(_) => {
            report.trusted = true;
            report.revocation = Revocation::Good;
            if let Some(revoked) = revoked_at.filter(|revoked| *revoked > at) {
                report.revocation = Revocation::RevokedAfter(revoked);
                report
                    .findings
                    .push(Finding::RevokedAfterTimestamp(revoked));
            }
        }
        Err(PathError::Revoked { at: revoked, .. }) => {
            report.revocation = Revocation::Revoked(revoked);
            if proof_of_time.is_some() {
                report.fail(
                    Indication::TotalFailed,
                    "REVOKED",
                    Finding::RevokedBeforeTimestamp(revoked),
                );
            } else {
                report.fail(
                    Indication::Indeterminate,
                    "REVOKED_NO_POE",
                    Finding::RevokedNoProof,
                );
            }
        }
        Err(PathError::Expired { .. } | PathError::NotYetValid { .. }) => report.fail(
            Indication::Indeterminate,
            "OUT_OF_BOUNDS_NO_POE",
            Finding::CertificateNotValidThen,
        ),
        Err(PathError::UnknownIssuer { .. }) => report.fail(
            Indication::Indeterminate,
            "NO_CERTIFICATE_CHAIN_FOUND",
            Finding::UnknownIssuer,
        ),
        Err(PathError::RevocationUnknown { .. }) => report.fail(
            Indication::Indeterminate,
            "TRY_LATER",
            Finding::NoRevocationInfo,
        ),
        Err(other) => report.fail(
            Indication::Indeterminate,
            "CHAIN_CONSTRAINTS_FAILURE",
            Finding::ChainInvalid(other.to_string()),
        ),
    }
    Ok(())
}

async fn verify_cms(
    store: &Store,
    pki: &Pki,
    format: &'static str,
    p7s: &[u8],
    digest: &[u8; 32],
    claimed: Option<Timestamp>,
) -> Result<SignatureReport, SealError> {
    let mut report = SignatureReport::new(format);
    report.claimed_signing_time = claimed;
    let verified = match cms_verify::verify_detached(p7s, digest) {
        Ok(verified) => verified,
        Err(error) => {
            let text = error.to_string();
            let (indication, sub, finding) = match error {
                CmsError::DigestMismatch => (
                    Indication::TotalFailed,
                    "HASH_FAILURE",
                    Finding::DigestMismatch(text),
                ),
                CmsError::BadSignature => (
                    Indication::TotalFailed,
                    "SIG_CRYPTO_FAILURE",
                    Finding::BadSignature(text),
                ),
                CmsError::Malformed(_) => (
                    Indication::TotalFailed,
                    "FORMAT_FAILURE",
                    Finding::MalformedSignature(text),
                ),
                CmsError::SignerCertificateMissing => (
                    Indication::Indeterminate,
                    "NO_SIGNING_CERTIFICATE_FOUND",
                    Finding::SignerCertificateMissing(text),
                ),
                CmsError::SigningCertificateMismatch => (
                    Indication::TotalFailed,
                    "SIG_CONSTRAINTS_FAILURE",
                    Finding::SigningCertificateMismatch(text),
                ),
                CmsError::Unsupported(_) => (
                    Indication::Indeterminate,
                    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
                    Finding::UnsupportedAlgorithm(text),
                ),
            };
            report.fail(indication, sub, finding);
            return Ok(report);
        }
    };
    report.integrity = true;
    if report.claimed_signing_time.is_none() {
        report.claimed_signing_time = verified.signing_time;
    }
    if !verified.signing_certificate_bound {
        // Without it the signer's certificate is not signed, and could be swapped.
        report.fail(
            Indication::Indeterminate,
            "FORMAT_FAILURE",
            Finding::NotBaseline,
        );
    }
    let mut proof_of_time = None;
    if let Some(token) = &verified.timestamp_token {
        match cms_verify::verify_timestamp_token(token, &sha256(&verified.signature_value)) {
            // The TSA's certificate must be good now: a key compromised since could
            // otherwise back-date tokens.
            Ok(stamp) => match pki
                .validate(
                    &stamp.tsa_certificate,
                    Usage::TimeStamping,
                    Timestamp::now(),
                )
                .await?
            {
                Ok(_) => {
                    report.timestamp_time = Some(stamp.time);
                    proof_of_time = Some(stamp.time);
                }
                Err(error) => report
                    .findings
                    .push(Finding::TimestampAuthorityUntrusted(error.to_string())),
            },
            Err(error) => report
                .findings
                .push(Finding::TimestampInvalid(error.to_string())),
        }
    } else {
        report.findings.push(Finding::NoTimestamp);
    }
    check_certificate(
        store,
        pki,
        &mut report,
        &verified.signer_certificate,
        proof_of_time,
    )
    .await?;
    if report.sub_indication.is_none() {
        report.indication = Indication::TotalPassed;
    }
    Ok(report)
}

async fn verify_jws(
    store: &Store,
    pki: &Pki,
    jws: &str,
    payload: &[u8],
) -> Result<SignatureReport, SealError> {
    let mut report = SignatureReport::new("jws");
    let header: Option<Value> = jws
        .split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let leaf = header
        .as_ref()
        .and_then(|h| {
            h.get("x5c")?
                .as_array()?
                .first()?
                .as_str()
                .map(str::to_owned)
        })
        .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok());
    let Some(leaf) = leaf else {
        report.fail(
            Indication::Indeterminate,
            "NO_SIGNING_CERTIFICATE_FOUND",
            Finding::JwsNoCertificate,
        );
        return Ok(report);
    };
    report.claimed_signing_time = header
        .as_ref()
        .and_then(|h| h.get("sigT")?.as_str().map(str::to_owned))
        .and_then(|t| {
            time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(Timestamp::from);
    let key = x509_parser::parse_x509_certificate(&leaf)
        .ok()
        .and_then(|(_, cert)| PublicKey::from_spki_der(cert.public_key().raw).ok());
    let Some(key) = key else {
        report.fail(
            Indication::Indeterminate,
            "NO_SIGNING_CERTIFICATE_FOUND",
            Finding::JwsCertificateUnreadable,
        );
        return Ok(report);
    };
    let keys = jose::Jwks {
        keys: vec![jose::Jwk::from_public_key(&key, None)],
    };
    match jose::verify_compact(jws, Some(payload), &keys) {
        Ok(_) => report.integrity = true,
        Err(error) => {
            report.fail(
                Indication::TotalFailed,
                "SIG_CRYPTO_FAILURE",
                Finding::BadSignature(error.to_string()),
            );
            return Ok(report);
        }
    }
    report.findings.push(Finding::JwsNoTimestamp);
    check_certificate(store, pki, &mut report, &leaf, None).await?;
    if report.sub_indication.is_none() {
        report.indication = Indication::TotalPassed;
    }
    Ok(report)
}

/// The DER value at the start of `bytes` (a /Contents string is padded with zeros).
fn der_prefix(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.first() != Some(&0x30) {
        return None;
    }
    let first = *bytes.get(1)?;
    let (header, length) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let mut length = 0usize;
        for i in 0..count {
            length = (length << 8) | usize::from(*bytes.get(2 + i)?);
        }
        (2 + count, length)
    };
    bytes.get(..header.checked_add(length)?)
}

struct PdfSignature {
    field: Option<String>,
    range: [usize; 4],
    contents: Vec<u8>,
    claimed: Option<Timestamp>,
    /// Where the signature dictionary's object lies in the file (from `obj` to
    /// `endobj`), per the cross-reference table that lopdf followed.
    object_span: Option<(usize, usize)>,
}

/// At most this many signatures are examined in one PDF.
pub const MAX_SIGNATURES: usize = 50;

fn pdf_time(object: &lopdf::Object) -> Option<Timestamp> {
    let text = match object {
        lopdf::Object::String(bytes, _) => String::from_utf8_lossy(bytes).into_owned(),
        _ => return None,
    };
    let digits = text.strip_prefix("D:")?;
    let part = |from: usize, len: usize| digits.get(from..from + len)?.parse::<u32>().ok();
    let date = time::Date::from_calendar_date(
        i32::try_from(part(0, 4)?).ok()?,
        time::Month::try_from(u8::try_from(part(4, 2)?).ok()?).ok()?,
        u8::try_from(part(6, 2)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(part(8, 2).unwrap_or(0)).ok()?,
        u8::try_from(part(10, 2).unwrap_or(0)).ok()?,
        u8::try_from(part(12, 2).unwrap_or(0)).ok()?,
    )
    .ok()?;
    Some(Timestamp::from(date.with_time(clock).assume_utc()))
}

/// The signature fields of the document's form (§12.7.3, §12.7.4.5): name and the
/// reference to each one's signature value.
fn signature_fields(reader: &Reader<'_>) -> Result<Vec<(Option<String>, lopdf::ObjectId)>, String> {
    use lopdf::Object;
    let (_, catalog) = reader.catalog().map_err(|e| e.to_string())?;
    let Ok(form) = catalog.get(b"AcroForm") else {
        return Ok(Vec::new());
    };
    let form = reader.dictionary(form).map_err(|e| e.to_string())?;
    // A form whose /Fields is not an array has no fields to report on.
    let fields = reader
        .array(form.get(b"Fields").ok())
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    // Depth first through /Kids; /FT is inherited from the parent field.
    let mut stack: Vec<(Object, bool)> = fields.into_iter().rev().map(|f| (f, false)).collect();
    let mut visited = std::collections::HashSet::new();
    let mut found = Vec::new();
    let mut budget = 10_000usize;
    while let Some((node, inherited_sig)) = stack.pop() {
        if let Object::Reference(id) = node
            && !visited.insert(id)
        {
            continue;
        }
        // Every node counts, direct ones too: a cycle through an indirect /Kids array
        // of direct dictionaries would otherwise never end.
        budget = budget
            .checked_sub(1)
            .ok_or("the form has more than 10 000 fields")?;
        let Ok(field) = reader.dictionary(&node) else {
            continue;
        };
        let is_sig = match field.get(b"FT") {
            Ok(Object::Name(kind)) => kind == b"Sig",
            _ => inherited_sig,
        };
        if let Ok(kids) = field.get(b"Kids")
            && !matches!(kids, Object::Reference(id) if !visited.insert(*id))
            && let Ok(Object::Array(kids)) = reader.resolve(kids)
        {
            stack.extend(kids.into_iter().rev().map(|k| (k, is_sig)));
        }
        // Our signature values are indirect objects: their place in the file is what
        // ties a ByteRange to them.
        if is_sig && let Ok(Object::Reference(value)) = field.get(b"V") {
            let name = match field.get(b"T") {
                Ok(Object::String(bytes, _)) => Some(String::from_utf8_lossy(bytes).into_owned()),
                _ => None,
            };
            found.push((name, *value));
        }
    }
    Ok(found)
}

fn pdf_signatures(reader: &Reader<'_>) -> Result<Vec<PdfSignature>, String> {
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (field, value_id) in signature_fields(reader)? {
        if !seen.insert(value_id) {
            continue;
        }
        if seen.len() > MAX_SIGNATURES {
            return Err(format!("more than {MAX_SIGNATURES} signatures"));
        }
        let Ok((lopdf::Object::Dictionary(signature), span)) = reader.get_located(value_id) else {
            continue;
        };
        let range: Vec<usize> = signature
            .get(b"ByteRange")
            .and_then(lopdf::Object::as_array)
            .map_err(|e| e.to_string())?
            .iter()
            .filter_map(|n| n.as_i64().ok().and_then(|n| usize::try_from(n).ok()))
            .collect();
        let [a, b, c, d] = range[..] else {
            return Err("a signature's ByteRange is not four numbers".into());
        };
        let contents = match signature.get(b"Contents") {
            Ok(lopdf::Object::String(bytes, _)) => bytes.clone(),
            _ => return Err("a signature has no /Contents".into()),
        };
        found.push(PdfSignature {
            field,
            range: [a, b, c, d],
            contents,
            claimed: signature.get(b"M").ok().and_then(pdf_time),
            object_span: span.map(|span| (span.start, span.end)),
        });
    }
    found.sort_by_key(|s| s.range[2] + s.range[3]);
    Ok(found)
}

/// Whether `hex` (PDF hex string digits, no whitespace) encodes exactly `bytes`.
fn hex_equals(hex: &[u8], bytes: &[u8]) -> bool {
    use crate::pdf::reader::hex_digit;
    hex.len() == 2 * bytes.len()
        && hex.chunks_exact(2).zip(bytes).all(|(pair, byte)| {
            matches!((hex_digit(pair[0]), hex_digit(pair[1])), (Some(h), Some(l)) if (h << 4) | l == *byte)
        })
}

/// Where each revision of the file ends: just past each `%%EOF`.
fn revision_markers(pdf: &[u8]) -> Vec<usize> {
    memchr::memmem::find_iter(pdf, b"%%EOF")
        .map(|i| i + 5)
        .collect()
}

/// One revision of a PDF.
struct Revision {
    /// Just past its `%%EOF`.
    end: usize,
    /// Past the end-of-line characters after it.
    end_with_eol: usize,
    /// Whether it only adds a signature to the revision before.
    only_adds_a_signature: bool,
}

/// A PDF signature after the checks that need the whole file (done off the async
/// workers): its CMS and the digest of what it covers, if the ByteRange is sound.
struct Examined {
    signature: PdfSignature,
    end: usize,
    cms_and_digest: Option<(Vec<u8>, [u8; 32])>,
}

fn examine(pdf: &[u8], reader: &Reader<'_>) -> Result<Vec<Examined>, String> {
    let signatures = pdf_signatures(reader)?;
    Ok(signatures
        .into_iter()
        .map(|signature| {
            let [a, b, c, d] = signature.range;
            // The one gap must be exactly this signature's own /Contents value, inside
            // its own object: otherwise the hashed bytes could be any other part of
            // the file (signature wrapping).
            let sane = a == 0
                && b < c
                && c.checked_add(d).is_some_and(|end| end <= pdf.len())
                && pdf.get(b) == Some(&b'<')
                && pdf.get(c - 1) == Some(&b'>')
                && signature
                    .object_span
                    .is_some_and(|(start, end)| start < b && c <= end)
                && hex_equals(&pdf[b + 1..c - 1], &signature.contents);
            let cms_and_digest = if sane {
                der_prefix(&signature.contents).map(|cms| {
                    let digest = tongban_crypto::cms::sha256_parts(&[&pdf[a..b], &pdf[c..c + d]]);
                    (cms.to_vec(), digest)
                })
            } else {
                None
            };
            Examined {
                end: c.saturating_add(d),
                signature,
                cms_and_digest,
            }
        })
        .collect())
}

/// Whether the revision `after` (a prefix of the file, read up to a `%%EOF`) only adds
/// a signature to `before`: new signature dictionaries, widgets, their appearances and images;
/// the catalog changed only in /AcroForm, pages only in /Annots, the form only in
/// /Fields and /SigFlags. Anything else (page contents, resources, other objects)
/// is a change the earlier signatures did not cover.
fn only_adds_a_signature(before: &Reader<'_>, after: &Reader<'_>) -> bool {
    use lopdf::Object;
    let name = |dict: &lopdf::Dictionary, key: &[u8]| {
        dict.get(key)
            .and_then(Object::as_name)
            .ok()
            .map(<[u8]>::to_vec)
    };
    let same_but = |old: &lopdf::Dictionary, new: &lopdf::Dictionary, allowed: &[&[u8]]| {
        let keys: std::collections::BTreeSet<&[u8]> = old
            .iter()
            .chain(new.iter())
            .map(|(k, _)| k.as_slice())
            .filter(|k| !allowed.contains(k))
            .collect();
        keys.into_iter().all(|k| old.get(k).ok() == new.get(k).ok())
    };
    let first_new = before.next_number();
    // What /Annots and /Fields may gain: signature fields (merged with their widgets)
    // made in this revision, not objects the document already had.
    let new_signature_field = |entry: &Object| match entry {
        Object::Reference(id) if id.0 >= first_new => after
            .dictionary(entry)
            .is_ok_and(|field| name(&field, b"FT").as_deref() == Some(b"Sig")),
        _ => false,
    };
    // An array (inline or indirect; absent is empty) that may only grow, by new
    // signature fields: /Annots, /Fields.
    let grows =
        |old: Option<&Object>, new: Option<&Object>| match (before.array(old), after.array(new)) {
            (Ok(Some(old)), Ok(Some(new))) => {
                new.starts_with(&old) && new[old.len()..].iter().all(new_signature_field)
            }
            _ => false,
        };
    // The interactive form may change only in its /Fields (which grow) and /SigFlags.
    let form_grows = |old: &lopdf::Dictionary, new: &lopdf::Dictionary| {
        same_but(old, new, &[b"Fields", b"SigFlags"])
            && grows(old.get(b"Fields").ok(), new.get(b"Fields").ok())
    };
    let form_of = |reader: &Reader<'_>, catalog: &lopdf::Dictionary| match catalog.get(b"AcroForm")
    {
        Err(_) => Some(lopdf::Dictionary::new()),
        Ok(form) => reader.dictionary(form).ok(),
    };
    // The revision is exactly one cross-reference section on top of the one before:
    // a section hidden between them would otherwise go unexamined.
    if after.section_count() != before.section_count() + 1
        || after.trailer().get(b"Prev").ok() != Some(&Object::Integer(before.start() as i64))
    {
        return false;
    }
    let new_form_number = after
        .catalog()
        .ok()
        .and_then(|(_, catalog)| catalog.get(b"AcroForm").ok()?.as_reference().ok())
        .map(|id| id.0);
    // Every object the revision's section lists, against what the revision before had
    // under that number: a section may also list objects it did not change, or point
    // back at an older definition, which is a change like any other.
    after.newest().entries.iter().all(|(number, entry)| {
        if *number == 0 {
            // The head of the free list.
            return true;
        }
        let new = match entry {
            Entry::Free => Object::Null,
            _ => match after.get((*number, after.generation(*number))) {
                Ok(new) => new,
                Err(_) => return false,
            },
        };
        let old = match before.get((*number, before.generation(*number))) {
            Ok(Object::Null) => None,
            Ok(old) => Some(old),
            Err(_) => return false,
        };
        // A new generation makes every reference to the old object dangle; a number
        // below the old /Size may already be referred to (a dangling reference the
        // original carried would start to draw).
        if old.is_some() && after.generation(*number) != before.generation(*number) {
            return false;
        }
        if old.is_none() && *number < first_new && new != Object::Null {
            return false;
        }
        match (old, new) {
            // Cross-reference and object streams carry the update itself: new ones only.
            (None, Object::Stream(stream))
                if matches!(
                    name(&stream.dict, b"Type").as_deref(),
                    Some(b"XRef" | b"ObjStm")
                ) =>
            {
                true
            }
            (None, Object::Stream(stream)) => {
                matches!(
                    name(&stream.dict, b"Subtype").as_deref(),
                    Some(b"Image" | b"Form")
                )
            }
            (None, Object::Dictionary(dict)) => {
                matches!(
                    name(&dict, b"Type").as_deref(),
                    Some(b"Sig" | b"DocTimeStamp")
                ) || (name(&dict, b"Subtype").as_deref() == Some(b"Widget")
                    && name(&dict, b"FT").as_deref() == Some(b"Sig"))
                    // A new interactive form: the catalog's own, with fields only.
                    || (new_form_number == Some(*number)
                        && form_grows(&lopdf::Dictionary::new(), &dict))
            }
            (None, Object::Array(_) | Object::Null) => true,
            (Some(old), new) if old == new => true,
            (Some(Object::Dictionary(old)), Object::Dictionary(new)) => {
                match name(&new, b"Type").as_deref() {
                    Some(b"Catalog") => {
                        same_but(&old, &new, &[b"AcroForm", b"Perms", b"DSS"])
                            && match (form_of(before, &old), form_of(after, &new)) {
                                (Some(old_form), Some(new_form)) => {
                                    form_grows(&old_form, &new_form)
                                }
                                _ => false,
                            }
                    }
                    Some(b"Page") => {
                        same_but(&old, &new, &[b"Annots"])
                            && grows(old.get(b"Annots").ok(), new.get(b"Annots").ok())
                    }
                    _ if new_form_number == Some(*number) => form_grows(&old, &new),
                    _ => false,
                }
            }
            // An indirect /Annots or /Fields array may only grow.
            (Some(old @ Object::Array(_)), new @ Object::Array(_)) => grows(Some(&old), Some(&new)),
            _ => false,
        }
    })
}

async fn verify_pdf(
    store: &Store,
    pki: &Pki,
    pdf: Vec<u8>,
) -> Result<Vec<SignatureReport>, SealError> {
    // Parsing and hashing a large PDF is CPU work: off the async workers.
    let examined = tokio::task::spawn_blocking(move || {
        let whole = Reader::open(&pdf).map_err(|e| e.to_string())?;
        if whole.trailer().has(b"Encrypt") {
            return Err("the PDF is encrypted".into());
        }
        let examined = examine(&pdf, &whole)?;
        // Each revision: where its %%EOF ends, where its end-of-line ends, and (for all
        // but the first) whether it only adds a signature. Each revision's
        // cross-reference data is read once; the last one is the whole file's.
        let markers = revision_markers(&pdf);
        // Each revision is read: a bound on the work a crafted file can ask for.
        if markers.len() > 2 * MAX_SIGNATURES + 2 {
            return Err(format!("more than {} revisions", 2 * MAX_SIGNATURES + 2));
        }
        let earlier: Vec<Option<Reader<'_>>> = markers[..markers.len().saturating_sub(1)]
            .iter()
            .map(|&end| Reader::open(&pdf[..end]).ok())
            .collect();
        let structure = |i: usize| match earlier.get(i) {
            Some(parsed) => parsed.as_ref(),
            None => Some(&whole),
        };
        let revisions: Vec<Revision> = markers
            .iter()
            .enumerate()
            .map(|(i, &end)| Revision {
                end,
                end_with_eol: end
                    + pdf[end..]
                        .iter()
                        .take_while(|b| **b == b'\r' || **b == b'\n')
                        .count(),
                only_adds_a_signature: i > 0
                    && match (structure(i - 1), structure(i)) {
                        (Some(before), Some(after)) => only_adds_a_signature(before, after),
                        _ => false,
                    },
            })
            .collect();
        Ok::<_, String>((examined, revisions, pdf.len()))
    })
    .await
    .map_err(|e| SealError::Invalid {
        field: "pdf",
        reason: format!("not a readable PDF: {e}"),
    })?
    .map_err(|reason| SealError::Invalid {
        field: "pdf",
        reason: format!("not a readable PDF: {reason}"),
    })?;
    let (examined, revisions, len) = examined;
    let mut reports = Vec::new();
    for item in &examined {
        let mut report = match &item.cms_and_digest {
            Some((cms, digest)) => {
                verify_cms(store, pki, "pades", cms, digest, item.signature.claimed).await?
            }
            None => {
                let mut report = SignatureReport::new("pades");
                report.fail(
                    Indication::TotalFailed,
                    "FORMAT_FAILURE",
                    Finding::ByteRange,
                );
                report
            }
        };
        report.field = item.signature.field.clone();
        reports.push(report);
    }
    // Coverage: after each signature, every later revision must only add a signature,
    // and be covered by a later signature that passed.
    let passed_ends: Vec<usize> = examined
        .iter()
        .zip(&reports)
        .filter(|(_, r)| r.indication == Indication::TotalPassed)
        .map(|(e, _)| e.end)
        .collect();
    for (item, report) in examined.iter().zip(reports.iter_mut()) {
        let whole = item.end == len;
        report.covers_whole_document = Some(whole);
        if whole {
            continue;
        }
        let later: Vec<&Revision> = revisions.iter().filter(|r| r.end > item.end).collect();
        let covered = |r: &Revision| {
            passed_ends
                .iter()
                .any(|e| r.end <= *e && *e <= r.end_with_eol)
        };
        let only_signatures = later.last().is_some_and(|last| last.end_with_eol == len)
            && later.iter().all(|r| r.only_adds_a_signature && covered(r));
        report.later_changes_only_signatures = Some(only_signatures);
        report.findings.push(if only_signatures {
            Finding::LaterSignaturesOnly
        } else {
            Finding::LaterChanges
        });
        if !only_signatures && report.indication == Indication::TotalPassed {
            report.indication = Indication::Indeterminate;
            report.sub_indication = Some("POLICY_PROCESSING_ERROR");
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::tests::{sample, seal};

    /// `pdf` followed by a hand-written update of `objects` (number, generation, body)
    /// whose trailer names `prev`, `size` and the sample's catalog (5 0 R) as /Root.
    fn append(pdf: &[u8], prev: usize, size: u32, objects: &[(u32, u16, &str)]) -> Vec<u8> {
        let mut out = pdf.to_vec();
        out.push(b'\n');
        let mut rows = Vec::new();
        for (number, generation, body) in objects {
            rows.push((*number, *generation, out.len()));
            out.extend_from_slice(
                format!("{number} {generation} obj\n{body}\nendobj\n").as_bytes(),
            );
        }
        let xref = out.len();
        out.extend_from_slice(b"xref\n");
        for (number, generation, at) in rows {
            out.extend_from_slice(format!("{number} 1\n{at:010} {generation:05} n\r\n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {size} /Root 5 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
            )
            .as_bytes(),
        );
        out
    }

    /// `pdf` with an update of `objects`.
    fn updated(pdf: &[u8], objects: &[(u32, u16, &str)]) -> Vec<u8> {
        let reader = Reader::open(pdf).unwrap_or_else(|e| panic!("{e}"));
        let size = objects
            .iter()
            .map(|(n, _, _)| n + 1)
            .fold(reader.next_number(), u32::max);
        append(pdf, reader.start(), size, objects)
    }

    fn only_adds(before: &[u8], after: &[u8]) -> bool {
        let before = Reader::open(before).unwrap_or_else(|e| panic!("{e}"));
        let after = Reader::open(after).unwrap_or_else(|e| panic!("{e}"));
        only_adds_a_signature(&before, &after)
    }

    /// The sample's page with these /Annots.
    fn page(annots: &str) -> String {
        format!(
            "<< /Type /Page /Parent 1 0 R /Contents 2 0 R \
             /Resources << /XObject << /Big 3 0 R >> >> /Annots [{annots}] >>"
        )
    }

    #[test]
    fn a_seal_only_adds_a_signature_and_other_changes_do_not() {
        let base = sample(1, 100, false);
        let once = seal(&base).unwrap_or_else(|e| panic!("{e}"));
        assert!(only_adds(&base, &once));
        // Page contents replaced.
        let changed = updated(
            &base,
            &[(2, 0, "<< /Length 9 >>\nstream\nBT (x) ET\nendstream")],
        );
        assert!(!only_adds(&base, &changed));
        // The same catalog under a new generation: every 5 0 R would dangle.
        let regenerated = updated(&base, &[(5, 1, "<< /Type /Catalog /Pages 1 0 R >>")]);
        assert!(!only_adds(&base, &regenerated));
        // The seal's widget dropped from the page again; kept, the page is unchanged.
        let reader = Reader::open(&once).unwrap();
        let (_, sealed_page, _) = reader.page(1).unwrap().unwrap();
        let widget = sealed_page.get(b"Annots").unwrap().as_array().unwrap()[0]
            .as_reference()
            .unwrap();
        let kept = page(&format!("{} {} R", widget.0, widget.1));
        assert!(only_adds(&once, &updated(&once, &[(4, 0, &kept)])));
        assert!(!only_adds(&once, &updated(&once, &[(4, 0, &page(""))])));
        // An object the document already had, added to the page's annotations.
        let moved = page(&format!("{} {} R 3 0 R", widget.0, widget.1));
        assert!(!only_adds(&once, &updated(&once, &[(4, 0, &moved)])));
        // A replaced object dressed as an object stream.
        let disguised = updated(
            &base,
            &[(
                2,
                0,
                "<< /Type /ObjStm /N 0 /First 0 /Length 9 >>\nstream\nBT (x) ET\nendstream",
            )],
        );
        assert!(!only_adds(&base, &disguised));
    }

    #[test]
    fn new_objects_take_new_numbers() {
        let base = sample(1, 100, false);
        let mid = updated(&base, &[(7, 0, "<< /Type /Sig >>")]);
        // Number 6 was never used, but lies below the /Size before: a reference to it
        // could already be waiting in the document.
        assert!(!only_adds(
            &mid,
            &updated(&mid, &[(6, 0, "<< /Type /Sig >>")])
        ));
        assert!(only_adds(
            &mid,
            &updated(&mid, &[(8, 0, "<< /Type /Sig >>")])
        ));
    }

    #[test]
    fn a_section_hidden_between_two_revisions_is_not_overlooked() {
        let base = sample(1, 100, false);
        // Changed contents in a section with no %%EOF of its own, then an update that
        // only adds a signature dictionary, chained to the hidden section.
        let evil = updated(
            &base,
            &[(2, 0, "<< /Length 9 >>\nstream\nBT (x) ET\nendstream")],
        );
        let hidden_start = Reader::open(&evil).unwrap().start();
        let hidden = &evil[..evil.len() - b"%%EOF\n".len()];
        let after = append(hidden, hidden_start, 9, &[(8, 0, "<< /Type /Sig >>")]);
        assert!(!only_adds(&base, &after));
    }
}
