//! Verification of CMS SignedData: detached signatures (CAdES, PAdES) over a digest,
//! and RFC 3161 time-stamp tokens over a signature value. Only what the signature
//! itself proves is checked here (digest, signature, the signing certificate it
//! names); whether the certificate is trusted is [`crate::path`]'s question.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::OctetString;
use der::{Decode, Encode};
use tongban_core::time::Timestamp;
use x509_cert::Certificate;

use crate::cms::{GM_SIGNED_DATA, ID_CT_TST_INFO, ID_SIGNED_DATA, ID_SM3, SM2_SIGN, sha256};
use crate::signer::{Algorithm, PublicKey};
use crate::sm2_certificates::SM2_WITH_SM3;

const ID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const ID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
const ID_AA_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";

/// Why a CMS signature does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CmsError {
    /// Not a SignedData we can read.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// The signed content's digest differs from the document's: it changed.
    #[error("the document does not match the signature (digest differs)")]
    DigestMismatch,
    /// The signature value does not verify with the signer's key.
    #[error("the signature value does not verify")]
    BadSignature,
    /// The certificate the signer names is not in the signature.
    #[error("the signer's certificate is missing")]
    SignerCertificateMissing,
    /// ESS signing-certificate-v2 names another certificate.
    #[error("the signing-certificate attribute names another certificate")]
    SigningCertificateMismatch,
    /// An algorithm we do not verify.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

fn malformed(error: impl std::fmt::Display) -> CmsError {
    CmsError::Malformed(error.to_string())
}

/// What a verified signature states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The signer's certificate (DER).
    pub signer_certificate: Vec<u8>,
    /// Every certificate the signature carries (DER), the signer's among them.
    pub certificates: Vec<Vec<u8>>,
    /// The signingTime attribute, if present.
    pub signing_time: Option<Timestamp>,
    /// The signature value (what a signature time-stamp covers).
    pub signature_value: Vec<u8>,
    /// The signature time-stamp token (unsigned attribute), if present.
    pub timestamp_token: Option<Vec<u8>>,
    /// Whether ESS signing-certificate-v2 binds the signer's certificate.
    pub signing_certificate_bound: bool,
}

/// A verified time-stamp token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// genTime.
    pub time: Timestamp,
    /// The TSA's certificate (DER).
    pub tsa_certificate: Vec<u8>,
    /// Every certificate the token carries.
    pub certificates: Vec<Vec<u8>>,
    /// serialNumber, big-endian.
    pub serial: Vec<u8>,
}

fn parse(content_info: &[u8]) -> Result<SignedData, CmsError> {
    let info = ContentInfo::from_der(content_info).map_err(malformed)?;
    if info.content_type != ID_SIGNED_DATA && info.content_type != GM_SIGNED_DATA {
        return Err(CmsError::Malformed("not a SignedData".into()));
    }
    info.content.decode_as::<SignedData>().map_err(malformed)
}

fn attribute<'a>(signer: &'a SignerInfo, oid: &str) -> Option<&'a der::asn1::Any> {
    signer
        .signed_attrs
        .as_ref()?
        .iter()
        .find(|a| a.oid.to_string() == oid)
        .and_then(|a| a.values.as_slice().first())
}

/// Checks the first signer of `signed` against `digest`; returns its certificate.
fn verify_signer(
    signed: &SignedData,
    digest: &[u8],
) -> Result<(Certificate, Vec<Vec<u8>>, SignerInfo), CmsError> {
    let signer = signed
        .signer_infos
        .0
        .as_slice()
        .first()
        .ok_or_else(|| CmsError::Malformed("no signer".into()))?
        .clone();
    let certificates: Vec<Certificate> = signed
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(cert) => Some(cert.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let leaf = match &signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => certificates
            .iter()
            .find(|c| {
                c.tbs_certificate().issuer() == &id.issuer
                    && c.tbs_certificate().serial_number() == &id.serial_number
            })
            .cloned(),
        SignerIdentifier::SubjectKeyIdentifier(_) => None,
    }
    .ok_or(CmsError::SignerCertificateMissing)?;
    let stated = attribute(&signer, ID_MESSAGE_DIGEST)
        .ok_or_else(|| CmsError::Malformed("no messageDigest attribute".into()))?
        .decode_as::<OctetString>()
        .map_err(malformed)?;
    if stated.as_bytes() != digest {
        return Err(CmsError::DigestMismatch);
    }
    let signed_attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| CmsError::Malformed("no signed attributes".into()))?
        .to_der()
        .map_err(malformed)?;
    let spki = leaf.tbs_certificate().subject_public_key_info();
    let signature = signer.signature.as_bytes();
    let algorithm = &signer.signature_algorithm.oid;
    let valid = if algorithm.to_string() == ECDSA_WITH_SHA256 {
        let key = spki.subject_public_key.raw_bytes();
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, key)
            .verify(&signed_attrs, signature)
            .is_ok()
    } else if *algorithm == SM2_SIGN || *algorithm == SM2_WITH_SM3 {
        let key = PublicKey::from_spki_der(&spki.to_der().map_err(malformed)?);
        key.is_ok_and(|key| {
            key.algorithm() == Algorithm::Sm2 && key.verify_x509(&signed_attrs, signature)
        })
    } else {
        return Err(CmsError::Unsupported(format!(
            "signature algorithm {algorithm}"
        )));
    };
    if !valid {
        return Err(CmsError::BadSignature);
    }
    let ders = certificates
        .iter()
        .map(|c| c.to_der().map_err(malformed))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((leaf, ders, signer))
}

/// ESS signing-certificate-v2: absent, or naming `leaf_der` by its SHA-256.
fn signing_certificate_bound(signer: &SignerInfo, leaf_der: &[u8]) -> Result<bool, CmsError> {
    let Some(value) = attribute(signer, ID_AA_SIGNING_CERTIFICATE_V2) else {
        return Ok(false);
    };
    // SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, … };
    // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash OCTET STRING, … }.
    let der = value.to_der().map_err(malformed)?;
    let expected = sha256(leaf_der);
    let found = der
        .windows(34)
        .any(|w| w[0] == 0x04 && w[1] == 32 && w[2..] == expected);
    if found {
        Ok(true)
    } else {
        Err(CmsError::SigningCertificateMismatch)
    }
}

fn time_of(value: &der::asn1::Any) -> Result<Timestamp, CmsError> {
    let time =
        x509_cert::time::Time::from_der(&value.to_der().map_err(malformed)?).map_err(malformed)?;
    let millis = i64::try_from(time.to_unix_duration().as_millis()).unwrap_or(i64::MAX);
    Ok(Timestamp::from_unix_millis(millis))
}

/// Verifies a detached signature (CAdES or the CMS of a PAdES signature) over content
/// whose SHA-256 is `digest`.
pub fn verify_detached(
    content_info: &[u8],
    digest: &[u8; 32],
) -> Result<VerifiedSignature, CmsError> {
    let signed = parse(content_info)?;
    let (leaf, certificates, signer) = verify_signer(&signed, digest)?;
    let leaf_der = leaf.to_der().map_err(malformed)?;
    let signing_certificate_bound = signing_certificate_bound(&signer, &leaf_der)?;
    let signing_time = attribute(&signer, ID_SIGNING_TIME)
        .map(time_of)
        .transpose()?;
    let timestamp_token = crate::cms::timestamp_token_of(&signer).map_err(malformed)?;
    Ok(VerifiedSignature {
        signer_certificate: leaf_der,
        certificates,
        signing_time,
        signature_value: signer.signature.as_bytes().to_vec(),
        timestamp_token,
        signing_certificate_bound,
    })
}

/// The digest algorithm a time-stamp's imprint must be made with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImprintAlgorithm {
    /// SHA-256: CAdES and PAdES signature time-stamps.
    Sha256,
    /// SM3: GB/T 38540 signature time-stamps.
    Sm3,
}

/// Verifies an RFC 3161 time-stamp token over `imprint`, the digest by `algorithm` of
/// what was time-stamped (a token whose imprint names another algorithm is refused: 32
/// equal bytes under another name prove nothing).
pub fn verify_timestamp_token(
    token: &[u8],
    imprint: &[u8; 32],
    algorithm: ImprintAlgorithm,
) -> Result<VerifiedTimestamp, CmsError> {
    let signed = parse(token)?;
    if signed.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(CmsError::Malformed("not a time-stamp token".into()));
    }
    let tst_info = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| CmsError::Malformed("no TSTInfo".into()))?
        .decode_as::<OctetString>()
        .map_err(malformed)?;
    let tst_info = tst_info.as_bytes();
    // A GM/T 0010 token carries the SM3 of its TSTInfo, an RFC 3161 one the SHA-256.
    let sm3 = signed
        .signer_infos
        .0
        .as_slice()
        .first()
        .is_some_and(|signer| signer.digest_alg.oid == ID_SM3);
    let digest = match sm3 {
        true => crate::shangmi::sm3(tst_info),
        false => sha256(tst_info),
    };
    let (tsa, certificates, _) = verify_signer(&signed, &digest)?;
    let info = crate::tsa::TstInfo::from_der(tst_info).map_err(malformed)?;
    let expected = match algorithm {
        ImprintAlgorithm::Sha256 => crate::cms::ID_SHA256,
        ImprintAlgorithm::Sm3 => ID_SM3,
    };
    if info.message_imprint.hash_algorithm.oid != expected {
        return Err(CmsError::Unsupported(format!(
            "a time-stamp imprint by {}",
            info.message_imprint.hash_algorithm.oid
        )));
    }
    if info.message_imprint.hashed_message.as_bytes() != imprint {
        return Err(CmsError::DigestMismatch);
    }
    let since = info.gen_time.to_unix_duration();
    Ok(VerifiedTimestamp {
        time: Timestamp::from_unix_millis(i64::try_from(since.as_millis()).unwrap_or(i64::MAX)),
        tsa_certificate: tsa.to_der().map_err(malformed)?,
        certificates,
        serial: info.serial_number.as_bytes().to_vec(),
    })
}
