//! Certificate revocation lists (RFC 5280 §5), signed with rcgen.

use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, RevocationReason as RcgenReason,
    RevokedCertParams, SerialNumber,
};
use tongban_core::time::Timestamp;

use crate::ca::RcgenSigner;
use crate::error::CryptoError;
use crate::signer::Signer;

/// How long a CRL is valid; a new one is signed well before (see `Pki`).
pub const CRL_VALIDITY: time::Duration = time::Duration::hours(24);

/// RFC 5280 §5.3.1 CRLReason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationReason {
    /// 0
    Unspecified,
    /// 1
    KeyCompromise,
    /// 2
    CaCompromise,
    /// 3
    AffiliationChanged,
    /// 4
    Superseded,
    /// 5
    CessationOfOperation,
    /// 6
    CertificateHold,
    /// 9
    PrivilegeWithdrawn,
}

impl RevocationReason {
    /// The RFC 5280 code.
    pub fn code(self) -> i64 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::CaCompromise => 2,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::CertificateHold => 6,
            Self::PrivilegeWithdrawn => 9,
        }
    }

    /// The reason with this code; unknown codes read as `Unspecified`.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => Self::KeyCompromise,
            2 => Self::CaCompromise,
            3 => Self::AffiliationChanged,
            4 => Self::Superseded,
            5 => Self::CessationOfOperation,
            6 => Self::CertificateHold,
            9 => Self::PrivilegeWithdrawn,
            _ => Self::Unspecified,
        }
    }

    /// The RFC 5280 name, e.g. `keyCompromise`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "keyCompromise",
            Self::CaCompromise => "cACompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
            Self::CertificateHold => "certificateHold",
            Self::PrivilegeWithdrawn => "privilegeWithdrawn",
        }
    }

    fn rcgen(self) -> RcgenReason {
        match self {
            Self::Unspecified => RcgenReason::Unspecified,
            Self::KeyCompromise => RcgenReason::KeyCompromise,
            Self::CaCompromise => RcgenReason::CaCompromise,
            Self::AffiliationChanged => RcgenReason::AffiliationChanged,
            Self::Superseded => RcgenReason::Superseded,
            Self::CessationOfOperation => RcgenReason::CessationOfOperation,
            Self::CertificateHold => RcgenReason::CertificateHold,
            Self::PrivilegeWithdrawn => RcgenReason::PrivilegeWithdrawn,
        }
    }
}

/// One entry of a CRL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Serial, lowercase hex.
    pub serial_hex: String,
    /// When it was revoked.
    pub at: Timestamp,
    /// Why.
    pub reason: RevocationReason,
}

/// Signs a CRL for the CA whose certificate is `issuer_der`.
pub fn sign_crl(
    issuer_der: &[u8],
    issuer_key: &dyn Signer,
    number: i64,
    revoked: &[RevokedEntry],
    this_update: Timestamp,
    next_update: Timestamp,
) -> Result<Vec<u8>, CryptoError> {
    let revoked_certs = revoked
        .iter()
        .map(|entry| {
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&from_hex(&entry.serial_hex)?),
                revocation_time: entry.at.to_offset_date_time(),
                // RFC 5280 §5.3.1: "unspecified" is expressed by leaving the code out.
                reason_code: (entry.reason != RevocationReason::Unspecified)
                    .then(|| entry.reason.rcgen()),
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, CryptoError>>()?;
    let params = CertificateRevocationListParams {
        this_update: this_update.to_offset_date_time(),
        next_update: next_update.to_offset_date_time(),
        crl_number: SerialNumber::from_slice(minimal(&number.to_be_bytes())),
        issuing_distribution_point: None,
        revoked_certs,
        // The CRL's authority key identifier must equal the CA certificate's subject
        // key identifier, however that was computed (an offline root's openssl uses
        // SHA-1); otherwise relying parties cannot match the CRL to its CA.
        key_identifier_method: subject_key_identifier(issuer_der)?
            .map_or(KeyIdMethod::Sha256, KeyIdMethod::PreSpecified),
    };
    let issuer =
        Issuer::from_ca_cert_der(&issuer_der.to_vec().into(), RcgenSigner::new(issuer_key)?)?;
    Ok(params.signed_by(&issuer)?.der().to_vec())
}

/// The subject key identifier of a certificate, if it has one.
fn subject_key_identifier(der: &[u8]) -> Result<Option<Vec<u8>>, CryptoError> {
    use x509_parser::extensions::ParsedExtension;
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| CryptoError::Encoding(format!("issuer certificate: {e}")))?;
    Ok(cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        }))
}

/// Big-endian bytes without leading zeros (at least one byte).
fn minimal(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    &bytes[start..]
}

/// Parses lowercase or uppercase hex.
pub(crate) fn from_hex(text: &str) -> Result<Vec<u8>, CryptoError> {
    let digit = |b: u8| {
        (b as char)
            .to_digit(16)
            .ok_or_else(|| CryptoError::Encoding("invalid hex".into()))
    };
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(CryptoError::Encoding("odd-length hex".into()));
    }
    bytes
        .chunks(2)
        .map(|pair| Ok((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}
