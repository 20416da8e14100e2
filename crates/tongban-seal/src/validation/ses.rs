//! GB/T 38540 electronic signatures (`SES_Signature` v4) and electronic seals
//! (`SESeal`): the signature value over the `TBS_Sign`, the digest of what is signed,
//! the seal maker's signature over the seal and the maker's chain, the signer
//! certificate among those the seal lists, the time-stamp over the signature value
//! (an SM2 TSA's GM/T 0010 token), the seal's validity at the signing time, and the
//! signer certificate's chain and revocation at the time-stamp.

use crate::error::SealError;
use tongban_core::time::Timestamp;
use tongban_crypto::cms_verify::ImprintAlgorithm;
use tongban_crypto::path::PathError;
use tongban_crypto::pki::Pki;
use tongban_crypto::ses::{Seal, SesError, Signature};
use tongban_store::Store;

use super::cades::check_timestamp;
use super::certificate::{check_certificate, describe};
use super::findings::Finding;
use super::{Indication, SignatureReport};

/// A decoding failure as a report.
fn unreadable(report: &mut SignatureReport, error: SesError) {
    let text = error.to_string();
    match error {
        SesError::Algorithm(_) => report.fail(
            Indication::Indeterminate,
            "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
            Finding::UnsupportedAlgorithm(text),
        ),
        SesError::Malformed { .. } | SesError::Version(_) | SesError::HeaderId(_) => report.fail(
            Indication::TotalFailed,
            "FORMAT_FAILURE",
            Finding::MalformedSignature(text),
        ),
    }
}

/// The seal maker's signature and certificate at `at`, into `report`. Under our roots
/// the maker must be our seal maker (a seal certificate has the same key usage and
/// must not pass as one); under a foreign root, a certificate that root vouches for.
async fn check_maker(
    (store, pki): (&Store, &Pki),
    report: &mut SignatureReport,
    seal: &Seal,
    at: Timestamp,
) -> Result<(), SealError> {
    if !seal.maker_signature_valid() {
        report.fail(
            Indication::TotalFailed,
            "SIG_CRYPTO_FAILURE",
            Finding::SealMakerSignatureInvalid,
        );
        return Ok(());
    }
    let maker = &seal.maker_certificate;
    let path = match pki.validate_seal(maker, at).await? {
        Ok(path) => path,
        Err(error) => {
            let sub = match error {
                PathError::UnknownIssuer { .. } => "NO_CERTIFICATE_CHAIN_FOUND",
                _ => "CHAIN_CONSTRAINTS_FAILURE",
            };
            let finding = Finding::SealMakerUntrusted(error.to_string());
            report.fail(Indication::Indeterminate, sub, finding);
            return Ok(());
        }
    };
    if pki.ends_abroad(&path) {
        return Ok(());
    }
    // The current seal maker without a database read; an earlier one from its row.
    let current = pki.seal_maker().is_some_and(|m| m.certificate == *maker);
    let ours = current || {
        let serial = describe(maker)
            .map(|(_, serial)| serial)
            .unwrap_or_default();
        let mut conn = store.conn().await?;
        let issued = tongban_store::pki::certificate(&mut conn, &serial).await?;
        issued.is_some_and(|row| row.der == *maker && row.profile == "seal-maker")
    };
    if !ours {
        report.fail(
            Indication::TotalFailed,
            "SIG_CONSTRAINTS_FAILURE",
            Finding::SealMakerUntrusted("not this platform's seal maker".into()),
        );
    }
    Ok(())
}

/// Verifies a DER `SES_Signature`; `data_hash` is the SM3 of the signed file when the
/// caller has it (without it, what was signed is not checked and nothing passes).
pub(super) async fn verify_ses(
    store: &Store,
    pki: &Pki,
    der: &[u8],
    data_hash: Option<&[u8; 32]>,
) -> Result<SignatureReport, SealError> {
    let mut report = SignatureReport::new("ses");
    report.signature_sha256 = Some(tongban_crypto::cms::sha256(der));
    let signature = match Signature::decode(der) {
        Ok(signature) => signature,
        Err(error) => {
            unreadable(&mut report, error);
            return Ok(report);
        }
    };
    report.field = Some(signature.property_info.clone());
    report.claimed_signing_time = Some(signature.time);
    // The cryptographic checks first: a forgery is TOTAL-FAILED whatever else holds.
    if data_hash.is_some_and(|hash| hash.as_slice() != signature.data_hash) {
        report.fail(
            Indication::TotalFailed,
            "HASH_FAILURE",
            Finding::DigestMismatch("the file's SM3 digest differs from the signed one".into()),
        );
    }
    if !signature.value_valid() {
        report.fail(
            Indication::TotalFailed,
            "SIG_CRYPTO_FAILURE",
            Finding::BadSignature("the signature value does not verify over TBS_Sign".into()),
        );
    }
    report.integrity = report.sub_indication.is_none() && data_hash.is_some();
    let seal = &signature.seal;
    if !seal.lists(&signature.signer_certificate) {
        report.fail(
            Indication::TotalFailed,
            "SIG_CONSTRAINTS_FAILURE",
            Finding::SignerNotListed,
        );
    }
    let imprint = tongban_crypto::shangmi::sm3(&signature.value);
    let token = signature.time_stamp.as_deref();
    let stamp = (token, &imprint, ImprintAlgorithm::Sm3);
    let proof_of_time = check_timestamp(pki, &mut report, stamp).await?;
    let at = proof_of_time.unwrap_or_else(Timestamp::now);
    check_maker((store, pki), &mut report, seal, at).await?;
    if signature.time < seal.valid_start || signature.time > seal.valid_end {
        report.fail(
            Indication::TotalFailed,
            "SIG_CONSTRAINTS_FAILURE",
            Finding::SealNotValidThen,
        );
    } else if seal.valid_end < at {
        // Nothing proves the signature older than the seal's end.
        report.fail(
            Indication::Indeterminate,
            "OUT_OF_BOUNDS_NO_POE",
            Finding::SealExpired,
        );
    }
    if data_hash.is_none() {
        report.fail(
            Indication::Indeterminate,
            "SIGNED_DATA_NOT_FOUND",
            Finding::SignedDataNotGiven,
        );
    }
    let signer = &signature.signer_certificate;
    check_certificate(store, pki, &mut report, signer, proof_of_time).await?;
    if report.sub_indication.is_none() {
        report.indication = Indication::TotalPassed;
    }
    Ok(report)
}

/// Verifies a DER `SESeal` on its own: the maker's signature and chain, the seal's
/// validity now, and whether the signer certificate it lists is good.
pub(super) async fn verify_eseal(
    store: &Store,
    pki: &Pki,
    der: &[u8],
) -> Result<SignatureReport, SealError> {
    let mut report = SignatureReport::new("eseal");
    let seal = match Seal::decode(der) {
        Ok(seal) => seal,
        Err(error) => {
            unreadable(&mut report, error);
            return Ok(report);
        }
    };
    report.field = Some(seal.es_id.clone());
    report.claimed_signing_time = Some(seal.created);
    report.integrity = seal.maker_signature_valid();
    let now = Timestamp::now();
    check_maker((store, pki), &mut report, &seal, now).await?;
    let maker_trusted = report.sub_indication.is_none();
    if now < seal.valid_start || now > seal.valid_end {
        report.fail(
            Indication::Indeterminate,
            "OUT_OF_BOUNDS_NO_POE",
            Finding::SealExpired,
        );
    }
    // The seal is as good as the signer certificate it lists (ours list one); a seal
    // that lists only digests names no certificate to judge.
    match &seal.cert_list {
        tongban_crypto::ses::CertList::Certificates(listed) if !listed.is_empty() => {
            check_certificate(store, pki, &mut report, &listed[0], None).await?;
        }
        _ => report.fail(
            Indication::Indeterminate,
            "NO_SIGNING_CERTIFICATE_FOUND",
            Finding::CertificateUnreadable,
        ),
    }
    report.signer = describe(&seal.maker_certificate).map(|(subject, _)| subject);
    report.trusted = report.trusted && maker_trusted;
    if report.sub_indication.is_none() {
        report.indication = Indication::TotalPassed;
    }
    Ok(report)
}
