//! Reading GB/T 38540 data: DER only, the signed parts kept as received, and whether
//! its signatures verify.

use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_parser::prelude::FromDer as _;

use super::asn1::{CertDigest, ExtData, SESeal, SesSignature, timestamp};
use super::make::Picture;
use super::{CERT_LIST_CERTIFICATES, CERT_LIST_DIGESTS, HEADER_ID, SesError, VERSION};
use crate::signer::{Algorithm, PublicKey};
use crate::sm2_certificates::SM2_WITH_SM3;
use tongban_core::time::Timestamp;

fn malformed(what: &'static str) -> impl Fn(der::Error) -> SesError {
    move |error| SesError::Malformed {
        what,
        reason: error.to_string(),
    }
}

/// Extensions marked critical are ones a reader must understand, and we understand
/// none: such data is refused rather than judged without them.
fn refuse_critical(extensions: Option<&[ExtData]>, what: &'static str) -> Result<(), SesError> {
    match extensions
        .unwrap_or_default()
        .iter()
        .find(|extension| extension.critical)
    {
        Some(extension) => Err(SesError::Malformed {
            what,
            reason: format!("critical extension {} is not understood", extension.extn_id),
        }),
        None => Ok(()),
    }
}

/// The signer certificates a seal lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertList {
    /// The certificates (DER).
    Certificates(Vec<Vec<u8>>),
    /// Digests of them: the algorithm's name and the digest.
    Digests(Vec<(String, Vec<u8>)>),
}

/// A seal as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seal {
    /// The header's vendor id.
    pub vendor: String,
    /// `esID`.
    pub es_id: String,
    /// 1 organisation, 2 person (other values as found).
    pub kind: u32,
    /// Its name.
    pub name: String,
    /// The signer certificates it may be used with.
    pub cert_list: CertList,
    /// When it was made.
    pub created: Timestamp,
    /// Valid from.
    pub valid_start: Timestamp,
    /// Valid until.
    pub valid_end: Timestamp,
    /// Its image.
    pub picture: Picture,
    /// The seal maker's certificate (DER).
    pub maker_certificate: Vec<u8>,
    signed_info: Vec<u8>,
    signed_value: Vec<u8>,
}

impl Seal {
    /// Reads a DER `SESeal`.
    pub fn decode(der: &[u8]) -> Result<Self, SesError> {
        let seal = SESeal::from_der(der).map_err(malformed("SESeal"))?;
        Self::read(&seal, der)
    }

    fn read(seal: &SESeal, der: &[u8]) -> Result<Self, SesError> {
        let canonical = seal.to_der().map_err(malformed("SESeal"))?;
        if canonical != der {
            return Err(SesError::Malformed {
                what: "SESeal",
                reason: "not DER".into(),
            });
        }
        let info = &seal.e_seal_info;
        if info.header.version != VERSION {
            return Err(SesError::Version(info.header.version));
        }
        refuse_critical(info.ext_datas.as_deref(), "SESeal")?;
        if info.header.id.as_str() != HEADER_ID {
            return Err(SesError::HeaderId(info.header.id.to_string()));
        }
        if seal.sign_alg_id != SM2_WITH_SM3 {
            return Err(SesError::Algorithm(seal.sign_alg_id.to_string()));
        }
        let property = &info.property;
        let list = property.cert_list.to_der().map_err(malformed("SESeal"))?;
        let cert_list = match property.cert_list_type {
            CERT_LIST_CERTIFICATES => CertList::Certificates(
                Vec::<OctetString>::from_der(&list)
                    .map_err(malformed("SESeal"))?
                    .into_iter()
                    .map(|octets| octets.as_bytes().to_vec())
                    .collect(),
            ),
            CERT_LIST_DIGESTS => CertList::Digests(
                Vec::<CertDigest>::from_der(&list)
                    .map_err(malformed("SESeal"))?
                    .into_iter()
                    .map(|d| (d.kind.to_string(), d.value.as_bytes().to_vec()))
                    .collect(),
            ),
            other => {
                return Err(SesError::Malformed {
                    what: "SESeal",
                    reason: format!("certListType {other} is neither 1 nor 2"),
                });
            }
        };
        Ok(Self {
            vendor: info.header.vid.to_string(),
            es_id: info.es_id.to_string(),
            kind: property.kind,
            name: property.name.clone(),
            cert_list,
            created: timestamp(property.create_date),
            valid_start: timestamp(property.valid_start),
            valid_end: timestamp(property.valid_end),
            picture: Picture {
                format: info.picture.kind.to_string(),
                data: info.picture.data.as_bytes().to_vec(),
                width_mm: info.picture.width,
                height_mm: info.picture.height,
            },
            maker_certificate: seal.cert.as_bytes().to_vec(),
            signed_info: info.to_der().map_err(malformed("SESeal"))?,
            signed_value: seal.signed_value.raw_bytes().to_vec(),
        })
    }

    /// Whether the maker's certificate verifies the maker's signature over the
    /// `SES_SealInfo`.
    pub fn maker_signature_valid(&self) -> bool {
        signed_by(
            &self.maker_certificate,
            &self.signed_info,
            &self.signed_value,
        )
    }

    /// Whether the seal lists `certificate` (DER) as one it may be used with.
    pub fn lists(&self, certificate: &[u8]) -> bool {
        match &self.cert_list {
            CertList::Certificates(certificates) => {
                certificates.iter().any(|listed| listed == certificate)
            }
            CertList::Digests(digests) => digests.iter().any(|(algorithm, digest)| {
                let computed = match algorithm.to_ascii_lowercase().as_str() {
                    "sm3" => crate::shangmi::sm3(certificate).to_vec(),
                    "sha256" | "sha-256" => crate::cms::sha256(certificate).to_vec(),
                    _ => return false,
                };
                &computed == digest
            }),
        }
    }
}

/// An electronic signature as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The seal applied.
    pub seal: Seal,
    /// The seal as it is in the signature (DER `SESeal`).
    pub seal_der: Vec<u8>,
    /// `timeInfo`: when the signer says it signed.
    pub time: Timestamp,
    /// `dataHash`: SM3 of what is signed.
    pub data_hash: Vec<u8>,
    /// `propertyInfo`.
    pub property_info: String,
    /// The signer's certificate (DER).
    pub signer_certificate: Vec<u8>,
    /// The signature value (DER `SEQUENCE { r, s }`).
    pub value: Vec<u8>,
    /// A time-stamp token over the signature value, if any (DER).
    pub time_stamp: Option<Vec<u8>>,
    signed: Vec<u8>,
}

impl Signature {
    /// Reads a DER `SES_Signature`.
    pub fn decode(der: &[u8]) -> Result<Self, SesError> {
        let signature = SesSignature::from_der(der).map_err(malformed("SES_Signature"))?;
        let canonical = signature.to_der().map_err(malformed("SES_Signature"))?;
        if canonical != der {
            return Err(SesError::Malformed {
                what: "SES_Signature",
                reason: "not DER".into(),
            });
        }
        let tbs = &signature.to_sign;
        if tbs.version != VERSION {
            return Err(SesError::Version(tbs.version));
        }
        if tbs.data_hash.unused_bits() != 0 {
            return Err(SesError::Malformed {
                what: "SES_Signature",
                reason: "dataHash is not whole bytes".into(),
            });
        }
        refuse_critical(tbs.ext_datas.as_deref(), "SES_Signature")?;
        if signature.signature_alg_id != SM2_WITH_SM3 {
            return Err(SesError::Algorithm(signature.signature_alg_id.to_string()));
        }
        let seal_der = tbs.eseal.to_der().map_err(malformed("SES_Signature"))?;
        Ok(Self {
            seal: Seal::read(&tbs.eseal, &seal_der)?,
            seal_der,
            time: timestamp(tbs.time_info),
            data_hash: tbs.data_hash.raw_bytes().to_vec(),
            property_info: tbs.property_info.to_string(),
            signer_certificate: signature.cert.as_bytes().to_vec(),
            value: signature.signature.raw_bytes().to_vec(),
            time_stamp: signature
                .time_stamp
                .as_ref()
                .map(|token| token.raw_bytes().to_vec()),
            signed: tbs.to_der().map_err(malformed("SES_Signature"))?,
        })
    }

    /// Whether the signer's certificate verifies the signature over the `TBS_Sign`.
    pub fn value_valid(&self) -> bool {
        signed_by(&self.signer_certificate, &self.signed, &self.value)
    }
}

/// Whether the SM2 key of `certificate` verifies `signature` over `message`.
fn signed_by(certificate: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok((_, parsed)) = x509_parser::certificate::X509Certificate::from_der(certificate) else {
        return false;
    };
    PublicKey::from_spki_der(parsed.public_key().raw)
        .is_ok_and(|key| key.algorithm() == Algorithm::Sm2 && key.verify_x509(message, signature))
}
