//! The standard's ASN.1 module as DER types, field for field (names as in GB/T
//! 38540-2020 §6, v4), and the conversions of times and texts they need.

use der::Sequence;
use der::asn1::{Any, BitString, GeneralizedTime, Ia5String, OctetString};
use tongban_core::time::Timestamp;

use crate::error::CryptoError;

/// `SES_Header`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct Header {
    pub(super) id: Ia5String,
    pub(super) version: u32,
    pub(super) vid: Ia5String,
}

/// `SES_ESPropertyInfo`. `certList` is a CHOICE of two SEQUENCE OFs that only
/// `certListType` tells apart, so it is kept whole and read by that type.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct PropertyInfo {
    pub(super) kind: u32,
    pub(super) name: String,
    pub(super) cert_list_type: u32,
    pub(super) cert_list: Any,
    pub(super) create_date: GeneralizedTime,
    pub(super) valid_start: GeneralizedTime,
    pub(super) valid_end: GeneralizedTime,
}

/// `CertDigestObj`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct CertDigest {
    pub(super) kind: der::asn1::PrintableString,
    pub(super) value: OctetString,
}

/// `SES_ESPictrueInfo` (the standard's spelling).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct PictureInfo {
    pub(super) kind: Ia5String,
    pub(super) data: OctetString,
    pub(super) width: u32,
    pub(super) height: u32,
}

/// `ExtData`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct ExtData {
    pub(super) extn_id: der::asn1::ObjectIdentifier,
    #[asn1(default = "Default::default")]
    pub(super) critical: bool,
    pub(super) extn_value: OctetString,
}

/// `SES_SealInfo`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct SealInfo {
    pub(super) header: Header,
    pub(super) es_id: Ia5String,
    pub(super) property: PropertyInfo,
    pub(super) picture: PictureInfo,
    #[asn1(optional = "true")]
    pub(super) ext_datas: Option<Vec<ExtData>>,
}

/// `SESeal`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct SESeal {
    pub(super) e_seal_info: SealInfo,
    pub(super) cert: OctetString,
    pub(super) sign_alg_id: der::asn1::ObjectIdentifier,
    pub(super) signed_value: BitString,
}

/// `TBS_Sign`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct TbsSign {
    pub(super) version: u32,
    pub(super) eseal: SESeal,
    pub(super) time_info: GeneralizedTime,
    pub(super) data_hash: BitString,
    pub(super) property_info: Ia5String,
    #[asn1(optional = "true")]
    pub(super) ext_datas: Option<Vec<ExtData>>,
}

/// `SES_Signature`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct SesSignature {
    pub(super) to_sign: TbsSign,
    pub(super) cert: OctetString,
    pub(super) signature_alg_id: der::asn1::ObjectIdentifier,
    pub(super) signature: BitString,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(super) time_stamp: Option<BitString>,
}

pub(super) fn time(at: Timestamp) -> Result<GeneralizedTime, CryptoError> {
    // DER GeneralizedTime has whole seconds.
    let seconds = u64::try_from(at.unix_millis().div_euclid(1000))
        .map_err(|_| CryptoError::Encoding("a time before 1970".into()))?;
    Ok(GeneralizedTime::from_unix_duration(
        std::time::Duration::from_secs(seconds),
    )?)
}

pub(super) fn timestamp(at: GeneralizedTime) -> Timestamp {
    let millis = at.to_unix_duration().as_millis();
    Timestamp::from_unix_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}

pub(super) fn ia5(text: &str) -> Result<Ia5String, CryptoError> {
    Ia5String::new(text).map_err(|_| CryptoError::Encoding(format!("{text:?} is not IA5 (ASCII)")))
}
