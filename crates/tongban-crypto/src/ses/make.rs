//! Making GB/T 38540 data: a seal signed by the seal maker, a signature by a signer.

use der::asn1::{Any, BitString, OctetString};
use der::{Decode, Encode};
use tongban_core::time::Timestamp;

use super::asn1::{
    Header, PictureInfo, PropertyInfo, SESeal, SealInfo, SesSignature, TbsSign, ia5, time,
};
use super::{CERT_LIST_CERTIFICATES, HEADER_ID, VERSION};
use crate::error::CryptoError;
use crate::signer::{Algorithm, Signer};
use crate::sm2_certificates::SM2_WITH_SM3;

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
