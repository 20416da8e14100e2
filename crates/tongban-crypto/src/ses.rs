//! GB/T 38540-2020 (安全电子签章密码技术规范), version 4: the electronic seal (电子印章,
//! `SESeal`), signed by the platform's seal maker (制章者) over its DER `SES_SealInfo`,
//! and the electronic signature (电子签章, `SES_Signature`), signed by a certificate the
//! seal lists over its DER `TBS_Sign`. Both SM2 with SM3 (GM/T 0003, the default
//! distinguishing identifier). The types mirror the standard's ASN.1 module field by
//! field; reading accepts DER only (what is signed is the bytes as received, and a
//! structure that re-encodes differently is refused rather than judged on other bytes).

use der::asn1::{Any, BitString, GeneralizedTime, Ia5String, OctetString};
use der::{Decode, Encode, Sequence};
use x509_parser::prelude::FromDer as _;

use crate::error::CryptoError;
use crate::signer::{Algorithm, PublicKey, Signer};
use crate::sm2_certificates::SM2_WITH_SM3;
use tongban_core::time::Timestamp;

/// The version this module writes and reads (GB/T 38540-2020; 1 to 3 are GM/T 0031-2014).
pub const VERSION: u32 = 4;
/// The header's `ID`.
const HEADER_ID: &str = "ES";
/// `certListType`: the seal lists the signer certificates themselves.
const CERT_LIST_CERTIFICATES: u32 = 1;
/// `certListType`: the seal lists digests of them.
const CERT_LIST_DIGESTS: u32 = 2;

/// `SES_Header`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct Header {
    id: Ia5String,
    version: u32,
    vid: Ia5String,
}

/// `SES_ESPropertyInfo`. `certList` is a CHOICE of two SEQUENCE OFs that only
/// `certListType` tells apart, so it is kept whole and read by that type.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PropertyInfo {
    kind: u32,
    name: String,
    cert_list_type: u32,
    cert_list: Any,
    create_date: GeneralizedTime,
    valid_start: GeneralizedTime,
    valid_end: GeneralizedTime,
}

/// `CertDigestObj`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct CertDigest {
    kind: der::asn1::PrintableString,
    value: OctetString,
}

/// `SES_ESPictrueInfo` (the standard's spelling).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PictureInfo {
    kind: Ia5String,
    data: OctetString,
    width: u32,
    height: u32,
}

/// `ExtData`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct ExtData {
    extn_id: der::asn1::ObjectIdentifier,
    #[asn1(default = "Default::default")]
    critical: bool,
    extn_value: OctetString,
}

/// `SES_SealInfo`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SealInfo {
    header: Header,
    es_id: Ia5String,
    property: PropertyInfo,
    picture: PictureInfo,
    #[asn1(optional = "true")]
    ext_datas: Option<Vec<ExtData>>,
}

/// `SESeal`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SESeal {
    e_seal_info: SealInfo,
    cert: OctetString,
    sign_alg_id: der::asn1::ObjectIdentifier,
    signed_value: BitString,
}

/// `TBS_Sign`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TbsSign {
    version: u32,
    eseal: SESeal,
    time_info: GeneralizedTime,
    data_hash: BitString,
    property_info: Ia5String,
    #[asn1(optional = "true")]
    ext_datas: Option<Vec<ExtData>>,
}

/// `SES_Signature`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SesSignature {
    to_sign: TbsSign,
    cert: OctetString,
    signature_alg_id: der::asn1::ObjectIdentifier,
    signature: BitString,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    time_stamp: Option<BitString>,
}

/// Why SES data cannot be read or is not what this platform accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SesError {
    /// Not a DER structure of the standard (truncated, trailing bytes, wrong types).
    #[error("not a GB/T 38540 {what}: {reason}")]
    Malformed {
        /// `SESeal` or `SES_Signature`.
        what: &'static str,
        /// The decoder's words.
        reason: String,
    },
    /// A version other than 4.
    #[error("version {0} of GB/T 38540 data; only version 4 (GB/T 38540-2020) is read")]
    Version(u32),
    /// The header's ID is not `ES`.
    #[error("the seal's header ID is {0:?}, not \"ES\"")]
    HeaderId(String),
    /// A signature algorithm other than SM2 with SM3.
    #[error("signature algorithm {0} is not SM2 with SM3 (1.2.156.10197.1.501)")]
    Algorithm(String),
}

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

/// What a seal is: 1 for an organisation's seal (单位印章), 2 for a person's (个人印章).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealType {
    /// 单位印章.
    Organisation,
    /// 个人印章.
    Person,
}

impl SealType {
    fn code(self) -> u32 {
        match self {
            Self::Organisation => 1,
            Self::Person => 2,
        }
    }
}

/// The seal's image as the standard carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// `PNG`, `JPG`, `GIF`, `BMP`, `SVG` or `OFD`.
    pub format: String,
    /// The image file.
    pub data: Vec<u8>,
    /// Display width, millimetres.
    pub width_mm: u32,
    /// Display height, millimetres.
    pub height_mm: u32,
}

/// What a new seal says.
#[derive(Clone, Debug)]
pub struct SealContent<'a> {
    /// The vendor id in the header (`Vid`).
    pub vendor: &'a str,
    /// `esID`: the seal's code.
    pub es_id: &'a str,
    /// Organisation or person.
    pub kind: SealType,
    /// The seal's name.
    pub name: &'a str,
    /// The signer certificates (DER) the seal may be used with.
    pub signer_certificates: &'a [Vec<u8>],
    /// When it is made.
    pub created: Timestamp,
    /// Valid from.
    pub valid_start: Timestamp,
    /// Valid until.
    pub valid_end: Timestamp,
    /// Its image.
    pub picture: &'a Picture,
}

fn time(at: Timestamp) -> Result<GeneralizedTime, CryptoError> {
    // DER GeneralizedTime has whole seconds.
    let seconds = u64::try_from(at.unix_millis().div_euclid(1000))
        .map_err(|_| CryptoError::Encoding("a time before 1970".into()))?;
    Ok(GeneralizedTime::from_unix_duration(
        std::time::Duration::from_secs(seconds),
    )?)
}

fn timestamp(at: GeneralizedTime) -> Timestamp {
    let millis = at.to_unix_duration().as_millis();
    Timestamp::from_unix_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}

fn ia5(text: &str) -> Result<Ia5String, CryptoError> {
    Ia5String::new(text).map_err(|_| CryptoError::Encoding(format!("{text:?} is not IA5 (ASCII)")))
}

fn require_sm2(key: &dyn Signer) -> Result<(), CryptoError> {
    match key.algorithm() {
        Algorithm::Sm2 => Ok(()),
        _ => Err(CryptoError::InvalidKey(
            "GB/T 38540 data is signed with SM2 keys".into(),
        )),
    }
}

/// A new seal (DER `SESeal`), signed by the seal maker `maker`, whose certificate is
/// `maker_certificate`.
pub fn make_seal(
    content: &SealContent<'_>,
    maker_certificate: &[u8],
    maker: &dyn Signer,
) -> Result<Vec<u8>, CryptoError> {
    require_sm2(maker)?;
    let certificates = content
        .signer_certificates
        .iter()
        .map(|der| OctetString::new(der.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let info = SealInfo {
        header: Header {
            id: ia5(HEADER_ID)?,
            version: VERSION,
            vid: ia5(content.vendor)?,
        },
        es_id: ia5(content.es_id)?,
        property: PropertyInfo {
            kind: content.kind.code(),
            name: content.name.to_owned(),
            cert_list_type: CERT_LIST_CERTIFICATES,
            cert_list: Any::encode_from(&certificates)?,
            create_date: time(content.created)?,
            valid_start: time(content.valid_start)?,
            valid_end: time(content.valid_end)?,
        },
        picture: PictureInfo {
            kind: ia5(&content.picture.format)?,
            data: OctetString::new(content.picture.data.clone())?,
            width: content.picture.width_mm,
            height: content.picture.height_mm,
        },
        ext_datas: None,
    };
    let signed_value = maker.sign_x509(&info.to_der()?)?;
    let seal = SESeal {
        e_seal_info: info,
        cert: OctetString::new(maker_certificate.to_vec())?,
        sign_alg_id: SM2_WITH_SM3,
        signed_value: BitString::from_bytes(&signed_value)?,
    };
    Ok(seal.to_der()?)
}

/// What a new signature says.
#[derive(Clone, Debug)]
pub struct ToSign<'a> {
    /// The seal applied (DER `SESeal`).
    pub eseal: &'a [u8],
    /// When.
    pub time: Timestamp,
    /// SM3 of what is signed.
    pub data_hash: [u8; 32],
    /// What is signed: a file's name or package path.
    pub property_info: &'a str,
}

/// A new electronic signature (DER `SES_Signature`) by `signer`, whose certificate is
/// `signer_certificate`; `time_stamp` gives a time-stamp token (DER) over the signature
/// value, when there is one.
pub fn sign(
    to_sign: &ToSign<'_>,
    signer_certificate: &[u8],
    signer: &dyn Signer,
    time_stamp: impl FnOnce(&[u8]) -> Result<Option<Vec<u8>>, CryptoError>,
) -> Result<Vec<u8>, CryptoError> {
    require_sm2(signer)?;
    let tbs = TbsSign {
        version: VERSION,
        eseal: SESeal::from_der(to_sign.eseal)?,
        time_info: time(to_sign.time)?,
        data_hash: BitString::from_bytes(&to_sign.data_hash)?,
        property_info: ia5(to_sign.property_info)?,
        ext_datas: None,
    };
    let signature = signer.sign_x509(&tbs.to_der()?)?;
    let time_stamp = time_stamp(&signature)?
        .map(|token| BitString::from_bytes(&token))
        .transpose()?;
    let signed = SesSignature {
        to_sign: tbs,
        cert: OctetString::new(signer_certificate.to_vec())?,
        signature_alg_id: SM2_WITH_SM3,
        signature: BitString::from_bytes(&signature)?,
        time_stamp,
    };
    Ok(signed.to_der()?)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ca::{Profile, PublicUrls};
    use crate::signer::SoftwareKey;
    use crate::sm2_certificates::{Sm2Issuer, issue, self_signed_root};

    struct Parties {
        maker: SoftwareKey,
        maker_cert: Vec<u8>,
        signer: SoftwareKey,
        signer_cert: Vec<u8>,
    }

    fn parties() -> Parties {
        let now = time::OffsetDateTime::now_utc();
        let urls = PublicUrls::new("https://tongban.test");
        let root_key = SoftwareKey::ephemeral(Algorithm::Sm2).unwrap();
        let root = self_signed_root(&root_key, "Root", now).unwrap();
        let issuer = Sm2Issuer {
            name: "sm2-root",
            certificate: &root.der,
            key: &root_key,
        };
        let maker = SoftwareKey::ephemeral(Algorithm::Sm2).unwrap();
        let maker_cert = issue(
            &Profile::SealMaker {
                name: "Seal maker".into(),
            },
            maker.public_key(),
            &issuer,
            &urls,
            now,
        )
        .unwrap()
        .der;
        let signer = SoftwareKey::ephemeral(Algorithm::Sm2).unwrap();
        let signer_cert = issue(
            &Profile::Seal {
                department: "市场监督管理局".into(),
                uscc: "11330000002482283X".into(),
                seal_name: "合同专用章".into(),
            },
            signer.public_key(),
            &issuer,
            &urls,
            now,
        )
        .unwrap()
        .der;
        Parties {
            maker,
            maker_cert,
            signer,
            signer_cert,
        }
    }

    fn seal_of(p: &Parties) -> Vec<u8> {
        let picture = Picture {
            format: "PNG".into(),
            data: vec![0x89, b'P', b'N', b'G'],
            width_mm: 40,
            height_mm: 40,
        };
        let now = Timestamp::now();
        make_seal(
            &SealContent {
                vendor: "Tongban",
                es_id: "11330000002482283X002",
                kind: SealType::Organisation,
                name: "合同专用章",
                signer_certificates: std::slice::from_ref(&p.signer_cert),
                created: now,
                valid_start: now,
                valid_end: Timestamp::from_unix_millis(now.unix_millis() + 86_400_000),
                picture: &picture,
            },
            &p.maker_cert,
            &p.maker,
        )
        .unwrap()
    }

    #[test]
    fn a_seal_and_a_signature_read_back_as_made() {
        let p = parties();
        let eseal = seal_of(&p);
        let seal = Seal::decode(&eseal).unwrap();
        assert_eq!(seal.es_id, "11330000002482283X002");
        assert_eq!(seal.name, "合同专用章");
        assert_eq!(seal.kind, 1);
        assert_eq!(seal.picture.width_mm, 40);
        assert!(seal.maker_signature_valid());
        assert!(seal.lists(&p.signer_cert));
        assert!(!seal.lists(&p.maker_cert));

        let hash = crate::shangmi::sm3(b"document");
        let der = sign(
            &ToSign {
                eseal: &eseal,
                time: Timestamp::now(),
                data_hash: hash,
                property_info: "document.pdf",
            },
            &p.signer_cert,
            &p.signer,
            |_| Ok(None),
        )
        .unwrap();
        let signature = Signature::decode(&der).unwrap();
        assert_eq!(signature.data_hash, hash);
        assert_eq!(signature.property_info, "document.pdf");
        assert_eq!(signature.seal_der, eseal);
        assert!(signature.value_valid());
        assert!(signature.seal.lists(&signature.signer_certificate));
    }

    #[test]
    fn altered_truncated_or_extended_data_is_refused_or_fails() {
        let p = parties();
        let eseal = seal_of(&p);
        // Truncated, or with a byte after it: not a SESeal.
        assert!(matches!(
            Seal::decode(&eseal[..eseal.len() - 1]),
            Err(SesError::Malformed { .. })
        ));
        let mut longer = eseal.clone();
        longer.push(0);
        assert!(matches!(
            Seal::decode(&longer),
            Err(SesError::Malformed { .. })
        ));
        // A changed name: still a seal, but the maker's signature fails.
        let at = eseal
            .windows("合同".len())
            .position(|w| w == "合同".as_bytes())
            .unwrap();
        let mut renamed = eseal.clone();
        renamed[at..at + "合同".len()].copy_from_slice("财务".as_bytes());
        let seal = Seal::decode(&renamed).unwrap();
        assert_eq!(seal.name, "财务专用章");
        assert!(!seal.maker_signature_valid());
        // Signed by a key the seal does not list: it reads, and the list says no.
        let der = sign(
            &ToSign {
                eseal: &eseal,
                time: Timestamp::now(),
                data_hash: [7; 32],
                property_info: "x",
            },
            &p.maker_cert,
            &p.maker,
            |_| Ok(None),
        )
        .unwrap();
        let signature = Signature::decode(&der).unwrap();
        assert!(signature.value_valid());
        assert!(!signature.seal.lists(&signature.signer_certificate));
    }

    #[test]
    fn other_versions_and_p256_keys_are_refused() {
        let p = parties();
        let eseal = seal_of(&p);
        let mut seal = SESeal::from_der(&eseal).unwrap();
        seal.e_seal_info.header.version = 2;
        assert_eq!(
            Seal::decode(&seal.to_der().unwrap()),
            Err(SesError::Version(2))
        );
        // A critical extension we do not understand: refused, not judged without it.
        let mut extended = SESeal::from_der(&eseal).unwrap();
        extended.e_seal_info.ext_datas = Some(vec![ExtData {
            extn_id: der::asn1::ObjectIdentifier::new_unwrap("1.2.3.4"),
            critical: true,
            extn_value: OctetString::new(vec![1]).unwrap(),
        }]);
        assert!(matches!(
            Seal::decode(&extended.to_der().unwrap()),
            Err(SesError::Malformed { .. })
        ));
        let p256 = SoftwareKey::ephemeral(Algorithm::Es256).unwrap();
        let refused = sign(
            &ToSign {
                eseal: &eseal,
                time: Timestamp::now(),
                data_hash: [0; 32],
                property_info: "x",
            },
            &p.signer_cert,
            &p256,
            |_| Ok(None),
        );
        assert!(matches!(refused, Err(CryptoError::InvalidKey(_))));
    }
}
