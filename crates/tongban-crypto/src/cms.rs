//! CMS SignedData (RFC 5652), the building block of CAdES, PAdES and time-stamp tokens.
//!
//! Detached signatures can be made from a SHA-256 digest alone, so a document never has
//! to reach us. Signed attributes: contentType, messageDigest, optional signingTime, and
//! ESS signing-certificate-v2 (RFC 5035) binding the signer's certificate, which CAdES
//! and PAdES baseline signatures require.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use tongban_core::time::Timestamp;
use x509_cert::Certificate;
use x509_cert::attr::{Attribute, AttributeValue};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::error::CryptoError;
use crate::signer::{Algorithm, Signer};

/// id-data (RFC 5652 §4).
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-signedData.
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-ct-TSTInfo (RFC 3161).
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-sha256.
pub const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-aa-signatureTimeStampToken (RFC 3161 Appendix A): the unsigned attribute of a
/// B-T signature.
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// signedData of GM/T 0010-2012 (SM2 cryptographic message syntax).
pub const GM_SIGNED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.156.10197.6.1.4.2.2");
/// SM3 (GM/T 0006).
pub const ID_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.401");
/// The SM2 signature of GM/T 0010 (sm2-1).
pub const SM2_SIGN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301.1");

/// The object identifiers of a SignedData by `algorithm`'s keys: the ContentInfo's
/// content type, the digest and the signature algorithm. SM2 keys sign GM/T 0010
/// SignedData (SM3, sm2-1); P-256 keys RFC 5652 SignedData (SHA-256, ECDSA).
fn suite(algorithm: Algorithm) -> (ObjectIdentifier, ObjectIdentifier, ObjectIdentifier) {
    match algorithm {
        Algorithm::Sm2 => (GM_SIGNED_DATA, ID_SM3, SM2_SIGN),
        Algorithm::Es256 | Algorithm::Ed25519 => (ID_SIGNED_DATA, ID_SHA256, ECDSA_WITH_SHA256),
    }
}

/// The digest of `data` that a SignedData by `algorithm`'s keys carries.
pub(crate) fn content_digest(algorithm: Algorithm, data: &[u8]) -> [u8; 32] {
    match algorithm {
        Algorithm::Sm2 => crate::shangmi::sm3(data),
        Algorithm::Es256 | Algorithm::Ed25519 => sha256(data),
    }
}

/// ESSCertIDv2 (RFC 5035 §4), hash algorithm left at its default, SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

/// IssuerSerial (RFC 5035 §4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// SigningCertificateV2 (RFC 5035 §3).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn attribute(oid: ObjectIdentifier, value: impl Encode) -> Result<Attribute, CryptoError> {
    let value = AttributeValue::from_der(&value.to_der()?)?;
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// The signing-certificate-v2 attribute for `cert`.
fn signing_certificate_v2(cert_der: &[u8], cert: &Certificate) -> Result<Attribute, CryptoError> {
    let tbs = cert.tbs_certificate();
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(sha256(cert_der).to_vec())?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                serial_number: tbs.serial_number().clone(),
            },
        }],
    };
    attribute(ID_AA_SIGNING_CERTIFICATE_V2, ess)
}

/// What to put in a SignedData.
pub(crate) struct Content<'a> {
    /// eContentType.
    pub content_type: ObjectIdentifier,
    /// The content when encapsulated (a TSTInfo); `None` for a detached signature.
    pub encapsulated: Option<&'a [u8]>,
    /// SHA-256 of the content.
    pub digest: [u8; 32],
    /// Adds a signingTime attribute (CAdES); PAdES puts the time in the PDF instead.
    pub signing_time: Option<Timestamp>,
    /// Include the certificates of `chain` (the leaf at least).
    pub include_certificates: bool,
}

/// A signer's certificate chain prepared for many signatures: read, checked against
/// the key, and its ESS signing-certificate-v2 attribute made, once rather than for
/// every signature of a batch or every time-stamp token.
#[derive(Clone)]
pub struct SignerChain {
    sid: IssuerAndSerialNumber,
    signing_certificate: Attribute,
    certificates: Vec<CertificateChoices>,
}

impl SignerChain {
    /// `chain` (leaf first, then its issuers) of `signer`.
    pub fn new(signer: &dyn Signer, chain: &[Vec<u8>]) -> Result<Self, CryptoError> {
        if !matches!(signer.algorithm(), Algorithm::Es256 | Algorithm::Sm2) {
            return Err(CryptoError::InvalidKey(
                "CMS signing supports ES256 and SM2 keys".into(),
            ));
        }
        let leaf_der = chain
            .first()
            .ok_or_else(|| CryptoError::Encoding("no signer certificate".into()))?;
        let leaf = Certificate::from_der(leaf_der)?;
        let certified = leaf.tbs_certificate().subject_public_key_info().to_der()?;
        if certified != signer.public_key().spki_der() {
            return Err(CryptoError::InvalidKey(
                "the first certificate of the chain is not the signer's".into(),
            ));
        }
        let tbs = leaf.tbs_certificate();
        Ok(Self {
            sid: IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            },
            signing_certificate: signing_certificate_v2(leaf_der, &leaf)?,
            certificates: chain
                .iter()
                .map(|der| Certificate::from_der(der).map(CertificateChoices::Certificate))
                .collect::<Result<Vec<_>, _>>()?,
        })
    }
}

/// Makes a SignedData ContentInfo signed by `signer` with its prepared `chain`.
pub(crate) fn signed_data(
    signer: &dyn Signer,
    chain: &SignerChain,
    content: &Content<'_>,
) -> Result<Vec<u8>, CryptoError> {
    let (content_type, _, _) = suite(signer.algorithm());
    content_info(&signed_data_of(signer, chain, content)?, content_type)
}

/// The SignedData of [`signed_data`], not yet encoded.
fn signed_data_of(
    signer: &dyn Signer,
    chain: &SignerChain,
    content: &Content<'_>,
) -> Result<SignedData, CryptoError> {
    let mut signed_attrs = vec![
        attribute(ID_CONTENT_TYPE, content.content_type)?,
        attribute(
            ID_MESSAGE_DIGEST,
            OctetString::new(content.digest.to_vec())?,
        )?,
        chain.signing_certificate.clone(),
    ];
    if let Some(at) = content.signing_time {
        // RFC 5652 §11.3: UTCTime through 2049, GeneralizedTime from 2050 on.
        let since_epoch =
            std::time::Duration::from_secs(u64::try_from(at.unix_millis() / 1000).unwrap_or(0));
        let time = match UtcTime::from_unix_duration(since_epoch) {
            Ok(utc) => der::asn1::Any::from_der(&utc.to_der()?)?,
            Err(_) => der::asn1::Any::from_der(
                &der::asn1::GeneralizedTime::from_unix_duration(since_epoch)?.to_der()?,
            )?,
        };
        signed_attrs.push(attribute(ID_SIGNING_TIME, time)?);
    }
    let signed_attrs = SetOfVec::try_from(signed_attrs)?;
    // The signature covers the DER of the attributes as a SET OF (RFC 5652 §5.4).
    let signature = signer.sign_x509(&signed_attrs.to_der()?)?;
    let (_, digest_oid, signature_oid) = suite(signer.algorithm());
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(chain.sid.clone()),
        digest_alg: algorithm(digest_oid),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: algorithm(signature_oid),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let certificates = if content.include_certificates {
        Some(CertificateSet(SetOfVec::try_from(
            chain.certificates.clone(),
        )?))
    } else {
        None
    };
    let encap_content_info = EncapsulatedContentInfo {
        econtent_type: content.content_type,
        econtent: content
            .encapsulated
            .map(|bytes| Any::new(der::Tag::OctetString, bytes))
            .transpose()?,
    };
    let signed_data = SignedData {
        // RFC 5652 §5.1: version 3 when the content is not id-data.
        version: if content.content_type == ID_DATA {
            CmsVersion::V1
        } else {
            CmsVersion::V3
        },
        digest_algorithms: SetOfVec::try_from(vec![algorithm(digest_oid)])?,
        encap_content_info,
        certificates,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    Ok(signed_data)
}

/// `signed` in its ContentInfo of `content_type`, DER.
fn content_info(
    signed: &SignedData,
    content_type: ObjectIdentifier,
) -> Result<Vec<u8>, CryptoError> {
    let info = ContentInfo {
        content_type,
        content: Any::from_der(&signed.to_der()?)?,
    };
    Ok(info.to_der()?)
}

/// A detached CMS signature before it is encoded: what a signature time-stamp covers
/// is at hand, and the token goes in without the signature being parsed again.
pub struct Detached(SignedData);

impl Detached {
    /// The signer's signature value: what a signature time-stamp covers (RFC 3161
    /// Appendix A).
    pub fn signature_value(&self) -> &[u8] {
        self.0
            .signer_infos
            .0
            .as_slice()
            .first()
            .map_or(&[][..], |signer| signer.signature.as_bytes())
    }

    /// The signature (CAdES B-B), DER.
    pub fn to_der(&self) -> Result<Vec<u8>, CryptoError> {
        content_info(&self.0, ID_SIGNED_DATA)
    }

    /// The signature with `token` (a time-stamp token over the signature value) as the
    /// unsigned attribute id-aa-signatureTimeStampToken (CAdES B-T), DER.
    pub fn with_timestamp(mut self, token: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let signed = &mut self.0;
        let mut signers: Vec<SignerInfo> = std::mem::take(&mut signed.signer_infos.0).into_vec();
        let first = signers
            .first_mut()
            .ok_or_else(|| CryptoError::Encoding("no signer".into()))?;
        let attribute = attribute(ID_AA_SIGNATURE_TIME_STAMP_TOKEN, Any::from_der(token)?)?;
        first.unsigned_attrs = Some(SetOfVec::try_from(vec![attribute])?);
        signed.signer_infos = SignerInfos(SetOfVec::try_from(signers)?);
        content_info(signed, ID_SIGNED_DATA)
    }
}

/// A detached CMS signature (`.p7s`, DER) over content whose SHA-256 is `digest`: the
/// content itself is never needed. `chain` is the signer's certificate first, then its
/// issuers; all are included.
pub fn sign_detached_digest(
    signer: &dyn Signer,
    chain: &[Vec<u8>],
    digest: [u8; 32],
    signing_time: Option<Timestamp>,
) -> Result<Vec<u8>, CryptoError> {
    sign_detached(signer, chain, digest, signing_time)?.to_der()
}

/// [`sign_detached_digest`] before encoding, for a time-stamp to be added.
pub fn sign_detached(
    signer: &dyn Signer,
    chain: &[Vec<u8>],
    digest: [u8; 32],
    signing_time: Option<Timestamp>,
) -> Result<Detached, CryptoError> {
    sign_detached_with(
        signer,
        &SignerChain::new(signer, chain)?,
        digest,
        signing_time,
    )
}

/// [`sign_detached`] with a chain prepared once for many signatures.
pub fn sign_detached_with(
    signer: &dyn Signer,
    chain: &SignerChain,
    digest: [u8; 32],
    signing_time: Option<Timestamp>,
) -> Result<Detached, CryptoError> {
    // Detached signatures are CAdES and PAdES: P-256. SM2 keys sign GB/T 38540 data.
    if signer.algorithm() != Algorithm::Es256 {
        return Err(CryptoError::InvalidKey(
            "detached CMS signatures are made with ES256 keys".into(),
        ));
    }
    signed_data_of(
        signer,
        chain,
        &Content {
            content_type: ID_DATA,
            encapsulated: None,
            digest,
            signing_time,
            include_certificates: true,
        },
    )
    .map(Detached)
}

/// The first signer's signature value of a SignedData ContentInfo: what a signature
/// time-stamp covers (RFC 3161 Appendix A).
pub fn signature_value(content_info: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let (_, signed) = parse_signed(content_info)?;
    let signer = signed
        .signer_infos
        .0
        .as_slice()
        .first()
        .ok_or_else(|| CryptoError::Encoding("no signer".into()))?;
    Ok(signer.signature.as_bytes().to_vec())
}

fn parse_signed(content_info: &[u8]) -> Result<(ContentInfo, SignedData), CryptoError> {
    let info = ContentInfo::from_der(content_info)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(CryptoError::Encoding("not a SignedData".into()));
    }
    let signed = info.content.decode_as::<SignedData>()?;
    Ok((info, signed))
}

/// The signature time-stamp token of the first signer (the unsigned attribute
/// id-aa-signatureTimeStampToken), if it has one.
pub fn signature_timestamp(content_info: &[u8]) -> Result<Option<Vec<u8>>, CryptoError> {
    let (_, signed) = parse_signed(content_info)?;
    let Some(signer) = signed.signer_infos.0.as_slice().first() else {
        return Ok(None);
    };
    Ok(timestamp_token_of(signer)?)
}

/// The signature time-stamp token (unsigned attribute) of `signer`, DER.
pub(crate) fn timestamp_token_of(signer: &SignerInfo) -> Result<Option<Vec<u8>>, der::Error> {
    signer
        .unsigned_attrs
        .as_ref()
        .and_then(|attrs| {
            attrs
                .iter()
                .find(|a| a.oid == ID_AA_SIGNATURE_TIME_STAMP_TOKEN)
        })
        .and_then(|a| a.values.as_slice().first())
        .map(Encode::to_der)
        .transpose()
}

/// SHA-256 over `parts` in order, without joining them (a PDF's two signed ranges).
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finish()
}

/// An incremental SHA-256; cloning it forks the computation (the digest of a prefix,
/// then of the whole, in one pass).
#[derive(Clone)]
pub struct Sha256(ring::digest::Context);

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha256 {
    /// A fresh hash.
    pub fn new() -> Self {
        Self(ring::digest::Context::new(&ring::digest::SHA256))
    }

    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest.
    pub fn finish(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }
}

/// A SHA-256 digest written as 64 hex characters (either case).
pub fn parse_sha256_hex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    // Hex digits only: `from_str_radix` would take "+f" for a byte.
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}
