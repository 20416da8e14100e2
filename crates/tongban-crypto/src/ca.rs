//! Certificate profiles and issuance with rcgen: root and issuing CAs, seal signers,
//! time-stamping and token signing. Random 128-bit serials; CRL distribution point and
//! AIA `caIssuers` URLs point at this server.

use der::Encode;
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, CustomExtension, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyUsagePurpose, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use time::{Duration, OffsetDateTime};
use tongban_core::time::Timestamp;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax};

use crate::error::CryptoError;
use crate::signer::{Algorithm, PublicKey, Signer};

/// Names of our CAs, as used in URLs (`/pki/ca/{name}.crt`) and the database.
pub const ROOT: &str = "root";
/// The online issuing CA.
pub const ISSUING: &str = "issuing";
/// The SM2 root, beside the P-256 one.
pub const SM2_ROOT: &str = "sm2-root";
/// The online SM2 issuing CA.
pub const SM2_ISSUING: &str = "sm2-issuing";

/// What a certificate is for. Each profile fixes key usage, extended key usage, basic
/// constraints and validity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Profile {
    /// The platform root (self-signed; offline in production).
    RootCa {
        /// Common name.
        name: String,
    },
    /// The online CA that issues every leaf.
    IssuingCa {
        /// Common name.
        name: String,
    },
    /// A department's seal: O = department, organizationIdentifier = USCC, CN = seal name.
    Seal {
        /// Department name.
        department: String,
        /// The department's unified social credit code.
        uscc: String,
        /// The seal's name.
        seal_name: String,
    },
    /// The time-stamping authority (extKeyUsage timeStamping, critical: RFC 3161 §2.3).
    Tsa {
        /// Common name.
        name: String,
    },
    /// Signing of tokens and credentials (optional `x5c`).
    TokenSigning {
        /// Common name.
        name: String,
    },
    /// The seal maker (制章者): signs GB/T 38540 electronic seals (`SESeal`).
    SealMaker {
        /// Common name.
        name: String,
    },
    /// A natural person's signing certificate (个人签名证书): CN = the person's name,
    /// serialNumber = a keyed pseudonym of their resident ID number (never the number),
    /// under our personal-signature certificate policy.
    Personal {
        /// The person's name.
        name: String,
        /// The pseudonymous serialNumber.
        pseudonym: String,
    },
}

impl Profile {
    /// The name stored with the certificate.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RootCa { .. } => "root-ca",
            Self::IssuingCa { .. } => "issuing-ca",
            Self::Seal { .. } => "seal",
            Self::Tsa { .. } => "tsa",
            Self::TokenSigning { .. } => "token",
            Self::SealMaker { .. } => "seal-maker",
            Self::Personal { .. } => "personal",
        }
    }

    /// How long certificates of this profile are valid.
    pub fn validity(&self) -> Duration {
        match self {
            Self::RootCa { .. } => Duration::days(20 * 365),
            Self::IssuingCa { .. } => Duration::days(10 * 365),
            Self::Seal { .. } => Duration::days(3 * 365),
            Self::Tsa { .. } => Duration::days(5 * 365),
            Self::TokenSigning { .. } => Duration::days(2 * 365),
            Self::SealMaker { .. } => Duration::days(5 * 365),
            // A person's phone, and so their passkey, rarely lasts longer.
            Self::Personal { .. } => Duration::days(2 * 365),
        }
    }

    /// The subject as text, for people and the database.
    pub fn subject_text(&self) -> String {
        match self {
            Self::Seal {
                department,
                uscc,
                seal_name,
            } => format!("CN={seal_name}, O={department}, organizationIdentifier={uscc}, C=CN"),
            Self::Personal { name, pseudonym } => {
                format!("CN={name}, serialNumber={pseudonym}, C=CN")
            }
            Self::RootCa { name }
            | Self::IssuingCa { name }
            | Self::Tsa { name }
            | Self::TokenSigning { name }
            | Self::SealMaker { name } => format!("CN={name}, O=Tongban, C=CN"),
        }
    }
}

/// How far certificates are backdated against clock skew.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// OID of organizationIdentifier (X.520, used by ETSI EN 319 412-3 for legal persons).
const ORGANIZATION_IDENTIFIER: [u64; 4] = [2, 5, 4, 97];
/// OID of serialNumber (X.520).
const SERIAL_NUMBER: [u64; 4] = [2, 5, 4, 5];
/// OID of the certificate policies extension.
const CERTIFICATE_POLICIES: [u64; 4] = [2, 5, 29, 32];
/// Our personal-signature certificate policy,
/// `2.25.147690955894539417563959498371787299393.2`: the arc of the TSA's policy
/// ([`crate::tsa::POLICY_OID`]), second child.
pub const PERSONAL_POLICY_OID: &str = "2.25.147690955894539417563959498371787299393.2";
/// The same, as the OID's encoded content octets.
pub const PERSONAL_POLICY_OID_BYTES: [u8; 21] = personal_policy_bytes();

const fn personal_policy_bytes() -> [u8; 21] {
    let mut bytes = crate::tsa::POLICY_OID_BYTES;
    bytes[20] = 0x02;
    bytes
}

/// DER of `certificatePolicies` naming only the personal-signature policy:
/// `SEQUENCE { SEQUENCE { OID } }`.
fn personal_policies_der() -> Vec<u8> {
    let mut der = vec![0x30, 25, 0x30, 23, 0x06, 21];
    der.extend_from_slice(&PERSONAL_POLICY_OID_BYTES);
    der
}

/// Whether a certificate's `certificatePolicies` extension value (DER) names the
/// personal-signature policy.
pub fn names_personal_policy(policies_der: &[u8]) -> bool {
    policies_der
        .windows(PERSONAL_POLICY_OID_BYTES.len() + 2)
        .any(|w| {
            w[0] == 0x06
                && usize::from(w[1]) == PERSONAL_POLICY_OID_BYTES.len()
                && w[2..] == PERSONAL_POLICY_OID_BYTES
        })
}

/// OID of the extended key usage extension.
const EXT_KEY_USAGE: [u64; 4] = [2, 5, 29, 37];
/// OID of the authority information access extension.
const AUTHORITY_INFO_ACCESS: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 1, 1];
/// DER of `SEQUENCE { id-kp-timeStamping }`.
const EKU_TIME_STAMPING_DER: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
];

/// A random positive 128-bit serial (RFC 5280 §4.1.2.2 allows 20 octets; CA/B Forum
/// asks for at least 64 random bits).
pub(crate) fn random_serial() -> Result<[u8; 16], CryptoError> {
    let mut serial = [0u8; 16];
    SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| CryptoError::Rng)?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    Ok(serial)
}

/// Lowercase hex, the serial's form in the database and URLs.
pub fn hex(bytes: &[u8]) -> String {
    // A PDF seal's /Contents is kilobytes of hex: one format! per byte was a tenth of
    // a millisecond of every seal.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Where certificates point relying parties.
#[derive(Clone, Debug)]
pub struct PublicUrls {
    base: String,
}

impl PublicUrls {
    /// URLs under `base`, e.g. `https://tongban.example.gov.cn`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The CRL of CA `ca`.
    pub fn crl(&self, ca: &str) -> String {
        format!("{}/pki/crl/{ca}.crl", self.base)
    }

    /// The certificate of CA `ca`.
    pub fn ca_cert(&self, ca: &str) -> String {
        format!("{}/pki/ca/{ca}.crt", self.base)
    }
}

/// A certificate just made: DER, serial and validity.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate.
    pub der: Vec<u8>,
    /// Serial, lowercase hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
}

/// rcgen's view of a public key we certify.
struct SubjectKey<'a>(&'a PublicKey, &'static rcgen::SignatureAlgorithm);

impl<'a> SubjectKey<'a> {
    fn new(key: &'a PublicKey) -> Result<Self, CryptoError> {
        Ok(Self(key, rcgen_algorithm(key.algorithm())?))
    }
}

impl rcgen::PublicKeyData for SubjectKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.raw()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.1
    }
}

/// Lets rcgen sign certificates, CRLs and CSRs with any [`Signer`] of an algorithm it
/// knows.
pub(crate) struct RcgenSigner<'a>(&'a dyn Signer, &'static rcgen::SignatureAlgorithm);

impl<'a> RcgenSigner<'a> {
    pub(crate) fn new(signer: &'a dyn Signer) -> Result<Self, CryptoError> {
        Ok(Self(signer, rcgen_algorithm(signer.algorithm())?))
    }
}

impl rcgen::PublicKeyData for RcgenSigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key().raw()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.1
    }
}

impl rcgen::SigningKey for RcgenSigner<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0
            .sign_x509(msg)
            .map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// rcgen's algorithm for ours. rcgen has no SM2-with-SM3 (its list is closed): SM2
/// certificates are not made through it.
fn rcgen_algorithm(
    algorithm: Algorithm,
) -> Result<&'static rcgen::SignatureAlgorithm, CryptoError> {
    match algorithm {
        Algorithm::Es256 => Ok(&rcgen::PKCS_ECDSA_P256_SHA256),
        Algorithm::Ed25519 => Ok(&rcgen::PKCS_ED25519),
        Algorithm::Sm2 => Err(CryptoError::InvalidKey(
            "SM2 certificates are not made by the P-256 CA".into(),
        )),
    }
}

/// The rcgen parameters of `profile`, valid from `not_before`.
pub(crate) fn params(
    profile: &Profile,
    serial: &[u8],
    not_before: OffsetDateTime,
    urls: Option<(&PublicUrls, &str)>,
) -> Result<CertificateParams, CryptoError> {
    let mut p = CertificateParams::default();
    // The default holds a placeholder CN that would come first in the subject.
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.serial_number = Some(SerialNumber::from_slice(serial));
    // rcgen's default validity is 1975–4096; always set both ends. The start is
    // backdated a little so that relying parties whose clocks lag ours, and other
    // instances, already see the certificate as valid.
    p.not_before = not_before - CLOCK_SKEW;
    p.not_after = not_before + profile.validity();
    p.use_authority_key_identifier_extension = !matches!(profile, Profile::RootCa { .. });
    match profile {
        Profile::Seal {
            department,
            uscc,
            seal_name,
        } => {
            p.distinguished_name.push(DnType::CountryName, "CN");
            p.distinguished_name
                .push(DnType::OrganizationName, department.as_str());
            p.distinguished_name.push(
                DnType::CustomDnType(ORGANIZATION_IDENTIFIER.to_vec()),
                uscc.as_str(),
            );
            p.distinguished_name
                .push(DnType::CommonName, seal_name.as_str());
        }
        Profile::Personal { name, pseudonym } => {
            p.distinguished_name.push(DnType::CountryName, "CN");
            p.distinguished_name.push(
                DnType::CustomDnType(SERIAL_NUMBER.to_vec()),
                rcgen::DnValue::PrintableString(
                    rcgen::string::PrintableString::try_from(pseudonym.as_str())
                        .map_err(|e| CryptoError::Encoding(format!("serialNumber: {e}")))?,
                ),
            );
            p.distinguished_name.push(DnType::CommonName, name.as_str());
        }
        Profile::RootCa { name }
        | Profile::IssuingCa { name }
        | Profile::Tsa { name }
        | Profile::TokenSigning { name }
        | Profile::SealMaker { name } => {
            p.distinguished_name.push(DnType::CountryName, "CN");
            p.distinguished_name
                .push(DnType::OrganizationName, "Tongban");
            p.distinguished_name.push(DnType::CommonName, name.as_str());
        }
    }
    match profile {
        Profile::RootCa { .. } => {
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Profile::IssuingCa { .. } => {
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Profile::Seal { .. } | Profile::SealMaker { .. } => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
            ];
        }
        Profile::Personal { .. } => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
            ];
            p.custom_extensions.push(CustomExtension::from_oid_content(
                &CERTIFICATE_POLICIES,
                personal_policies_der(),
            ));
        }
        Profile::Tsa { .. } => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            // rcgen writes extKeyUsage non-critical; RFC 3161 §2.3 wants it critical.
            let mut eku =
                CustomExtension::from_oid_content(&EXT_KEY_USAGE, EKU_TIME_STAMPING_DER.to_vec());
            eku.set_criticality(true);
            p.custom_extensions.push(eku);
        }
        Profile::TokenSigning { .. } => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = Vec::<ExtendedKeyUsagePurpose>::new();
        }
    }
    if let Some((urls, issuer)) = urls {
        p.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![urls.crl(issuer)],
        }];
        p.custom_extensions.push(CustomExtension::from_oid_content(
            &AUTHORITY_INFO_ACCESS,
            aia_ca_issuers(&urls.ca_cert(issuer))?,
        ));
    }
    Ok(p)
}

/// DER of an AuthorityInfoAccessSyntax with one `caIssuers` URI (RFC 5280 §4.2.2.1).
fn aia_ca_issuers(uri: &str) -> Result<Vec<u8>, CryptoError> {
    let location = der::asn1::Ia5String::new(uri)?;
    let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: const_oid::db::rfc5280::ID_AD_CA_ISSUERS,
        access_location: GeneralName::UniformResourceIdentifier(location),
    }]);
    Ok(aia.to_der()?)
}

/// Makes a self-signed root certificate for `key`.
pub fn self_signed_root(
    key: &dyn Signer,
    name: &str,
    now: OffsetDateTime,
) -> Result<Issued, CryptoError> {
    let serial = random_serial()?;
    let params = params(
        &Profile::RootCa {
            name: name.to_owned(),
        },
        &serial,
        now,
        None,
    )?;
    let cert = params.self_signed(&RcgenSigner::new(key)?)?;
    Ok(issued(cert.der().to_vec(), &serial, &params))
}

/// Issues a certificate of `profile` for `subject` under the CA `issuer_name`, whose
/// certificate is `issuer_der` and key is `issuer_key`.
pub fn issue(
    profile: &Profile,
    subject: &PublicKey,
    issuer_name: &str,
    issuer_der: &[u8],
    issuer_key: &dyn Signer,
    urls: &PublicUrls,
    now: OffsetDateTime,
) -> Result<Issued, CryptoError> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let unreadable = |e: x509_parser::nom::Err<x509_parser::error::X509Error>| {
        CryptoError::Encoding(format!("issuer certificate: {e}"))
    };
    let (_, ca_cert) = X509Certificate::from_der(issuer_der).map_err(unreadable)?;
    let serial = random_serial()?;
    let mut params = params(profile, &serial, now, Some((urls, issuer_name)))?;
    // Nothing may outlive the CA that vouches for it.
    let ca_not_after = ca_cert.validity().not_after.to_datetime();
    params.not_after = params.not_after.min(ca_not_after);
    let issuer =
        Issuer::from_ca_cert_der(&issuer_der.to_vec().into(), RcgenSigner::new(issuer_key)?)?;
    let cert = params.signed_by(&SubjectKey::new(subject)?, &issuer)?;
    // rcgen rebuilds the issuer name from parsed attributes; check that it came out
    // byte-identical to the CA's subject and that the CA's key verifies the result,
    // or the chain would break only at the relying party.
    let (_, leaf) = X509Certificate::from_der(cert.der()).map_err(unreadable)?;
    if leaf.issuer().as_raw() != ca_cert.subject().as_raw()
        || leaf.verify_signature(Some(ca_cert.public_key())).is_err()
    {
        return Err(CryptoError::Encoding(
            "issued certificate does not chain to its CA (issuer name or key mismatch)".into(),
        ));
    }
    Ok(issued(cert.der().to_vec(), &serial, &params))
}

/// A PKCS#10 request for an issuing CA key, to be signed by an offline root.
pub fn issuing_ca_csr(key: &dyn Signer, name: &str) -> Result<String, CryptoError> {
    let mut params = params(
        &Profile::IssuingCa {
            name: name.to_owned(),
        },
        &random_serial()?,
        OffsetDateTime::now_utc(),
        None,
    )?;
    // A request carries neither serial nor AKI: the signing root chooses them.
    params.use_authority_key_identifier_extension = false;
    params.serial_number = None;
    let csr = params.serialize_request(&RcgenSigner::new(key)?)?;
    Ok(csr.pem()?)
}

fn issued(der: Vec<u8>, serial: &[u8], params: &CertificateParams) -> Issued {
    Issued {
        der,
        serial: hex(serial),
        not_before: Timestamp::from(params.not_before),
        not_after: Timestamp::from(params.not_after),
    }
}

#[cfg(test)]
mod tests {
    use super::hex;

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }
}
