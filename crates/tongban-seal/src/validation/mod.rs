//! Validation reports for sealed documents: PDF (PAdES), detached CMS (CAdES) with the
//! file or its digest, detached JWS with its payload, and GB/T 38540 electronic
//! signatures and seals. For each signature: which
//! seal and department, the claimed signing time and the time-stamp's, integrity, the
//! chain to our root, revocation at the time-stamp, what the signature covers; and an
//! indication per ETSI EN 319 102-1 (TOTAL-PASSED, TOTAL-FAILED, INDETERMINATE with a
//! sub-indication), plus an overall one. The report's types are here; one file per
//! format, one for the signer's certificate, one for the findings.

mod cades;
mod certificate;
mod findings;
mod jws;
mod ofd;
mod pades;
mod revisions;
mod ses;

pub use findings::Finding;

use crate::error::SealError;
use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_ledger::{Log, Proven};
use tongban_store::Store;
use tongban_store::tallies::Tally;

use cades::verify_cms;
use jws::verify_jws;
use ofd::{is_zip, verify_ofd};
use pades::verify_pdf;
use ses::{verify_eseal, verify_ses};

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
    /// The department's id (for its tally of verifications).
    pub department_id: String,
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
    /// `pades`, `cades`, `jws`, `ses` (GB/T 38540 signature) or `eseal` (GB/T 38540
    /// seal).
    pub format: &'static str,
    /// PDF signature field name; what an SES signature says it signed
    /// (`propertyInfo`); an electronic seal's `esID`.
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
    /// PDF: the signature covers the whole file; OFD: every file of the package but
    /// the signature list and its own.
    pub covers_whole_document: Option<bool>,
    /// PDF: what came after it is only later signed revisions; OFD: the files it
    /// leaves unprotected belong to later signatures.
    pub later_changes_only_signatures: Option<bool>,
    /// The pages the seal shows on (OFD, cross-page PDF), from 1.
    pub pages: Vec<u32>,
    /// A cross-page seal (骑缝章): one slice on each of `pages`.
    pub cross_page: bool,
    /// Main indication.
    pub indication: Indication,
    /// Sub-indication (ETSI EN 319 102-1 §5.1.3).
    pub sub_indication: Option<&'static str>,
    /// Warnings and reasons, typed: pages take their words from the message
    /// catalogues, the API its English sentences from `Display`.
    pub findings: Vec<Finding>,
    /// SHA-256 of the signature as verified (CMS DER, JWS text, SES_Signature DER):
    /// what the transparency log knows a seal use by.
    pub signature_sha256: Option<[u8; 32]>,
    /// SHA-256 of a CMS signature's value (SignerInfo `signature`): what a personal
    /// signature made through the CSC API is logged and recorded by, its CMS having
    /// been built by the signing application.
    pub signature_value_sha256: Option<[u8; 32]>,
    /// The seal use's entry in the transparency log and its proof, if it is there.
    pub log: Option<Proven>,
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
    /// An OFD document (GB/T 33190) with its signatures.
    Ofd(Vec<u8>),
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
    /// A GB/T 38540 electronic signature (`SES_Signature`, DER) and the SM3 of the
    /// signed file, when known.
    Ses {
        /// The signature.
        ses: &'a [u8],
        /// SM3 of the file.
        sm3: Option<[u8; 32]>,
    },
    /// A GB/T 38540 electronic seal (`SESeal`, DER).
    Eseal(&'a [u8]),
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
            pages: Vec::new(),
            cross_page: false,
            indication: Indication::Indeterminate,
            sub_indication: None,
            findings: Vec::new(),
            signature_sha256: None,
            signature_value_sha256: None,
            log: None,
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

/// Reads a PDF's signatures, revisions and cross-page pages as [`verify`] does before
/// any key or store is consulted; how many signatures it has. For the fuzz targets.
#[cfg(feature = "fuzzing")]
pub fn read_pdf_signatures(pdf: &[u8]) -> Result<usize, String> {
    pades::structure(pdf).map(|s| s.signature_count())
}

/// Reads an OFD package and examines each listed signature as [`verify`] does before
/// any key or store is consulted; how many it lists. For the fuzz targets.
#[cfg(feature = "fuzzing")]
pub fn read_ofd_signatures(ofd: &[u8]) -> Result<usize, String> {
    ofd::examined_count(ofd).map_err(|e| e.to_string())
}

/// Verifies what a person uploaded: a PDF, an OFD document, or a GB/T 38540 electronic signature (with
/// `signed_file`, the file it signed, when given) or electronic seal, told apart by
/// their content. Anything else is judged as a PDF (and refused as unreadable).
pub async fn verify_upload(
    store: &Store,
    pki: &Pki,
    log: &Log,
    document: Vec<u8>,
    signed_file: Option<&[u8]>,
) -> Result<Report, SealError> {
    // A PDF may have bytes before its header; GB/T 38540 data is a DER SEQUENCE; an
    // OFD document is a ZIP archive.
    let input = if is_zip(&document) {
        Input::Ofd(document)
    } else if document.first() != Some(&0x30) {
        Input::Pdf(document)
    } else if tongban_crypto::ses::Seal::decode(&document).is_ok() {
        return verify(store, pki, log, Input::Eseal(&document)).await;
    } else {
        // A DER SEQUENCE that is not a seal is judged as a signature: a damaged one
        // gets a report that says so.
        let sm3 = signed_file.map(tongban_crypto::shangmi::sm3);
        return verify(
            store,
            pki,
            log,
            Input::Ses {
                ses: &document,
                sm3,
            },
        )
        .await;
    };
    verify(store, pki, log, input).await
}

/// Verifies `input` and reports on every signature, with where each seal use stands
/// in the transparency log.
pub async fn verify(
    store: &Store,
    pki: &Pki,
    log: &Log,
    input: Input<'_>,
) -> Result<Report, SealError> {
    let mut signatures = match input {
        Input::Pdf(pdf) => verify_pdf(store, pki, pdf).await?,
        Input::Ofd(ofd) => verify_ofd(store, pki, ofd).await?,
        Input::Cades { p7s, digest } => {
            vec![verify_cms(store, pki, "cades", p7s, &digest, None).await?]
        }
        Input::Jws { jws, payload } => vec![verify_jws(store, pki, jws, payload).await?],
        Input::Ses { ses, sm3 } => vec![verify_ses(store, pki, ses, sm3.as_ref()).await?],
        Input::Eseal(eseal) => vec![verify_eseal(store, pki, eseal).await?],
    };
    // Each of our seals' departments sees how often its sealed documents are verified.
    let now = Timestamp::now();
    for seal in signatures.iter().filter_map(|s| s.seal.as_ref()) {
        store.tally(Tally::SealVerified, Some(&seal.department_id), now);
    }
    for report in &mut signatures {
        if let Some(hash) = &report.signature_sha256 {
            report.log = log.prove(hash).await?;
        }
        if report.log.is_none()
            && let Some(hash) = &report.signature_value_sha256
        {
            report.log = log.prove(hash).await?;
        }
    }
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
