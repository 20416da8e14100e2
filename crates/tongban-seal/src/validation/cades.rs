//! Detached CMS signatures (CAdES, and the CMS inside a PAdES signature): integrity,
//! the ESS signing-certificate binding and the signature time-stamp.

use crate::error::SealError;
use tongban_core::time::Timestamp;
use tongban_crypto::cms::sha256;
use tongban_crypto::cms_verify::{self, CmsError, ImprintAlgorithm};
use tongban_crypto::path::Usage;
use tongban_crypto::pki::Pki;
use tongban_store::Store;

use super::certificate::check_certificate;
use super::findings::Finding;
use super::{Indication, SignatureReport};

pub(super) async fn verify_cms(
    store: &Store,
    pki: &Pki,
    format: &'static str,
    p7s: &[u8],
    digest: &[u8; 32],
    claimed: Option<Timestamp>,
) -> Result<SignatureReport, SealError> {
    let mut report = SignatureReport::new(format);
    report.signature_sha256 = Some(tongban_crypto::cms::sha256(p7s));
    report.signature_value_sha256 = tongban_crypto::cms::signature_value(p7s)
        .ok()
        .map(|value| sha256(&value));
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
    let imprint = sha256(&verified.signature_value);
    let token = verified.timestamp_token.as_deref();
    let stamp = (token, &imprint, ImprintAlgorithm::Sha256);
    let proof_of_time = check_timestamp(pki, &mut report, stamp).await?;
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

/// The signature time-stamp `token` over `imprint` (the digest of the signature value,
/// by `algorithm`), into `report`: its time, the proof of when the signature existed,
/// if it verifies and its authority (under our roots only) is trusted now.
pub(super) async fn check_timestamp(
    pki: &Pki,
    report: &mut SignatureReport,
    (token, imprint, algorithm): (Option<&[u8]>, &[u8; 32], ImprintAlgorithm),
) -> Result<Option<Timestamp>, SealError> {
    let Some(token) = token else {
        report.findings.push(Finding::NoTimestamp);
        return Ok(None);
    };
    let stamp = match cms_verify::verify_timestamp_token(token, imprint, algorithm) {
        Ok(stamp) => stamp,
        Err(error) => {
            report
                .findings
                .push(Finding::TimestampInvalid(error.to_string()));
            return Ok(None);
        }
    };
    // The TSA's certificate must be good now: a key compromised since could otherwise
    // back-date tokens.
    let now = Timestamp::now();
    match pki
        .validate(&stamp.tsa_certificate, Usage::TimeStamping, now)
        .await?
    {
        Ok(_) => {
            report.timestamp_time = Some(stamp.time);
            Ok(Some(stamp.time))
        }
        Err(error) => {
            report
                .findings
                .push(Finding::TimestampAuthorityUntrusted(error.to_string()));
            Ok(None)
        }
    }
}
