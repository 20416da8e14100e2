//! SM2 certificates (GM/T 0015-2012, the RFC 5280 profile): SM2 public keys
//! (id-ecPublicKey on the SM2 curve) signed SM2-with-SM3 (1.2.156.10197.1.501). rcgen's
//! list of algorithms is closed, so these are assembled here from x509-cert's types,
//! with the P-256 CA's profiles: the same names, key usage, basic constraints, validity,
//! and CRL and CA-issuer URLs; and the CRLs of an SM2 CA.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{
    ID_AD_CA_ISSUERS, ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS,
    ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_CRL_NUMBER, ID_CE_CRL_REASONS, ID_CE_EXT_KEY_USAGE,
    ID_CE_KEY_USAGE, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_KP_TIME_STAMPING,
    ID_PE_AUTHORITY_INFO_ACCESS,
};
use der::asn1::{Any, BitString, Ia5String, OctetString, PrintableString, Utf8StringRef};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use time::OffsetDateTime;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
    crl::dp::DistributionPoint,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::time::{Time, Validity};

use tongban_core::time::Timestamp;
use x509_cert::Version;
use x509_cert::certificate::Rfc5280;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::{CrlNumber, CrlReason};
use x509_cert::serial_number::SerialNumber;

use crate::ca::{Issued, Profile, PublicUrls, hex, random_serial};
use crate::crl::{RevocationReason, RevokedEntry, from_hex};
use crate::error::CryptoError;
use crate::signer::{Algorithm, PublicKey, Signer};

/// SM2 signature with SM3 (GM/T 0006).
pub const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");

const COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
/// organizationIdentifier (X.520, ETSI EN 319 412-3 for legal persons).
const ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");

/// How far certificates are backdated against clock skew (as the P-256 CA does).
const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// TBSCertificate (RFC 5280 §4.1), always version 3 with extensions.
#[derive(Sequence)]
struct TbsCertificate {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial_number: der::asn1::Int,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

/// Certificate (RFC 5280 §4.1).
#[derive(Sequence)]
struct Certificate {
    tbs_certificate: TbsCertificate,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// CertificationRequestInfo (RFC 2986 §4.1), with no attributes.
#[derive(Sequence)]
struct RequestInfo {
    version: u8,
    subject: Name,
    subject_pk_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    attributes: der::asn1::SetOfVec<x509_cert::attr::Attribute>,
}

/// CertificationRequest (RFC 2986 §4.2).
#[derive(Sequence)]
struct Request {
    info: RequestInfo,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// A PKCS#10 request (DER) for an SM2 issuing CA key, signed SM2-with-SM3 by the key,
/// for an offline SM2 root to sign.
pub fn issuing_ca_request(key: &dyn Signer, name: &str) -> Result<Vec<u8>, CryptoError> {
    let profile = Profile::IssuingCa {
        name: name.to_owned(),
    };
    let info = RequestInfo {
        version: 0,
        subject: subject_name(&profile)?,
        subject_pk_info: spki(key.public_key())?,
        attributes: der::asn1::SetOfVec::new(),
    };
    if key.algorithm() != Algorithm::Sm2 {
        return Err(CryptoError::InvalidKey(
            "an SM2 request is signed by its SM2 key".into(),
        ));
    }
    let signature = key.sign_x509(&info.to_der()?)?;
    let request = Request {
        info,
        signature_algorithm: sm2_with_sm3(),
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(request.to_der()?)
}

/// The CA that signs a certificate: its certificate (for the name and key identifier)
/// and its key.
pub struct Sm2Issuer<'a> {
    /// The CA's name in URLs (`root`, `issuing`).
    pub name: &'a str,
    /// Its certificate, DER.
    pub certificate: &'a [u8],
    /// Its key.
    pub key: &'a dyn Signer,
}

/// A self-signed SM2 root for `key`.
pub fn self_signed_root(
    key: &dyn Signer,
    name: &str,
    now: OffsetDateTime,
) -> Result<Issued, CryptoError> {
    let profile = Profile::RootCa {
        name: name.to_owned(),
    };
    let subject = subject_name(&profile)?;
    let spki = spki(key.public_key())?;
    let validity = validity(&profile, now, None)?;
    let serial = random_serial()?;
    let key_id = key_identifier(key.public_key());
    let mut extensions = profile_extensions(&profile, &key_id)?;
    extensions.push(extension(
        ID_CE_AUTHORITY_KEY_IDENTIFIER,
        false,
        &authority_key_identifier(&key_id),
    )?);
    let tbs = TbsCertificate {
        version: 2,
        serial_number: der::asn1::Int::new(&serial)?,
        signature: sm2_with_sm3(),
        issuer: subject.clone(),
        validity,
        subject,
        subject_public_key_info: spki,
        extensions,
    };
    sign(tbs, key, &serial)
}

/// An SM2 certificate of `profile` for `subject`, signed by `issuer`.
pub fn issue(
    profile: &Profile,
    subject: &PublicKey,
    issuer: &Sm2Issuer<'_>,
    urls: &PublicUrls,
    now: OffsetDateTime,
) -> Result<Issued, CryptoError> {
    let ca = x509_cert::Certificate::from_der(issuer.certificate)?;
    let ca_tbs = ca.tbs_certificate();
    if issuer.key.algorithm() != Algorithm::Sm2
        || ca_tbs.subject_public_key_info().to_der()? != issuer.key.public_key().spki_der()
    {
        return Err(CryptoError::InvalidKey(
            "the SM2 CA's key is not the key of its certificate".into(),
        ));
    }
    let ca_not_after = ca_tbs.validity().not_after;
    let validity = validity(profile, now, Some(ca_not_after))?;
    let serial = random_serial()?;
    let mut extensions = profile_extensions(profile, &key_identifier(subject))?;
    let authority = key_identifier(issuer.key.public_key());
    extensions.push(extension(
        ID_CE_AUTHORITY_KEY_IDENTIFIER,
        false,
        &authority_key_identifier(&authority),
    )?);
    extensions.push(extension(
        ID_CE_CRL_DISTRIBUTION_POINTS,
        false,
        &crl_distribution_points(&urls.crl(issuer.name))?,
    )?);
    extensions.push(extension(
        ID_PE_AUTHORITY_INFO_ACCESS,
        false,
        &ca_issuers(&urls.ca_cert(issuer.name))?,
    )?);
    let tbs = TbsCertificate {
        version: 2,
        serial_number: der::asn1::Int::new(&serial)?,
        signature: sm2_with_sm3(),
        issuer: ca_tbs.subject().clone(),
        validity,
        subject: subject_name(profile)?,
        subject_public_key_info: spki(subject)?,
        extensions,
    };
    sign(tbs, issuer.key, &serial)
}

/// A CRL of the SM2 CA `issuer` (RFC 5280 §5, signed SM2-with-SM3): CRL number
/// `number`, the `revoked` entries with their reasons, the authority key identifier of
/// the CA's key.
pub fn sign_crl(
    issuer: &Sm2Issuer<'_>,
    number: i64,
    revoked: &[RevokedEntry],
    this_update: Timestamp,
    next_update: Timestamp,
) -> Result<Vec<u8>, CryptoError> {
    if issuer.key.algorithm() != Algorithm::Sm2 {
        return Err(CryptoError::InvalidKey(
            "SM2 CRLs are signed by SM2 keys".into(),
        ));
    }
    let ca = x509_cert::Certificate::from_der(issuer.certificate)?;
    let entries = revoked
        .iter()
        .map(|entry| {
            let reason = match entry.reason {
                RevocationReason::Unspecified => None,
                other => Some(vec![extension(
                    ID_CE_CRL_REASONS,
                    false,
                    &crl_reason(other),
                )?]),
            };
            Ok(RevokedCert {
                serial_number: SerialNumber::<Rfc5280>::new(&from_hex(&entry.serial_hex)?)?,
                revocation_date: time_of(entry.at.to_offset_date_time())?,
                crl_entry_extensions: reason,
            })
        })
        .collect::<Result<Vec<_>, CryptoError>>()?;
    let number = der::asn1::Uint::new(&number.to_be_bytes())?;
    let authority = key_identifier(issuer.key.public_key());
    let tbs = TbsCertList {
        version: Version::V2,
        signature: sm2_with_sm3(),
        issuer: ca.tbs_certificate().subject().clone(),
        this_update: time_of(this_update.to_offset_date_time())?,
        next_update: Some(time_of(next_update.to_offset_date_time())?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(vec![
            extension(ID_CE_CRL_NUMBER, false, &CrlNumber(number))?,
            extension(
                ID_CE_AUTHORITY_KEY_IDENTIFIER,
                false,
                &authority_key_identifier(&authority),
            )?,
        ]),
    };
    let signature = issuer.key.sign_x509(&tbs.to_der()?)?;
    let crl = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: sm2_with_sm3(),
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(crl.to_der()?)
}

fn crl_reason(reason: RevocationReason) -> CrlReason {
    match reason {
        RevocationReason::Unspecified => CrlReason::Unspecified,
        RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
        RevocationReason::CaCompromise => CrlReason::CaCompromise,
        RevocationReason::AffiliationChanged => CrlReason::AffiliationChanged,
        RevocationReason::Superseded => CrlReason::Superseded,
        RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
        RevocationReason::CertificateHold => CrlReason::CertificateHold,
        RevocationReason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
    }
}

/// Signs `tbs` with `key` and checks the result parses as a certificate.
fn sign(tbs: TbsCertificate, key: &dyn Signer, serial: &[u8]) -> Result<Issued, CryptoError> {
    if key.algorithm() != Algorithm::Sm2 {
        return Err(CryptoError::InvalidKey(
            "SM2 certificates are signed by SM2 keys".into(),
        ));
    }
    let signature = key.sign_x509(&tbs.to_der()?)?;
    let (not_before, not_after) = (tbs.validity.not_before, tbs.validity.not_after);
    let certificate = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: sm2_with_sm3(),
        signature: BitString::from_bytes(&signature)?,
    };
    let der = certificate.to_der()?;
    x509_cert::Certificate::from_der(&der)?;
    Ok(Issued {
        der,
        serial: hex(serial),
        not_before: timestamp(not_before),
        not_after: timestamp(not_after),
    })
}

/// For an X.509 object signed with `algorithm`: none unless it is SM2-with-SM3 (which
/// x509-parser cannot verify); then whether the SM2 key `issuer_spki` (never another
/// kind of key) verifies `signature` over `tbs`.
pub(crate) fn sm2_signature_valid(
    algorithm: &x509_parser::oid_registry::Oid<'_>,
    tbs: &[u8],
    signature: &[u8],
    issuer_spki: &[u8],
) -> Option<bool> {
    if algorithm.as_bytes() != SM2_WITH_SM3.as_bytes() {
        return None;
    }
    let key = PublicKey::from_spki_der(issuer_spki);
    Some(key.is_ok_and(|key| key.algorithm() == Algorithm::Sm2 && key.verify_x509(tbs, signature)))
}

fn sm2_with_sm3() -> AlgorithmIdentifierOwned {
    // GM/T 0015: the parameters are absent (not NULL).
    AlgorithmIdentifierOwned {
        oid: SM2_WITH_SM3,
        parameters: None,
    }
}

fn spki(key: &PublicKey) -> Result<SubjectPublicKeyInfoOwned, CryptoError> {
    if key.algorithm() != Algorithm::Sm2 {
        return Err(CryptoError::InvalidKey(
            "an SM2 certificate certifies an SM2 key".into(),
        ));
    }
    Ok(SubjectPublicKeyInfoOwned::from_der(&key.spki_der())?)
}

/// The subject of `profile`, as the P-256 CA writes it (country, organisation,
/// organizationIdentifier for a seal, common name).
fn subject_name(profile: &Profile) -> Result<Name, CryptoError> {
    let mut rdns = RdnSequence::default();
    let mut push = |oid: ObjectIdentifier, value: Any| -> Result<(), CryptoError> {
        let mut rdn = RelativeDistinguishedName::default();
        rdn.insert(AttributeTypeAndValue { oid, value })?;
        rdns.push(rdn);
        Ok(())
    };
    let utf8 = |text: &str| -> Result<Any, CryptoError> {
        Ok(Any::encode_from(&Utf8StringRef::new(text)?)?)
    };
    push(COUNTRY, Any::encode_from(&PrintableString::new("CN")?)?)?;
    match profile {
        Profile::Seal {
            department,
            uscc,
            seal_name,
        } => {
            push(ORGANIZATION, utf8(department)?)?;
            push(ORGANIZATION_IDENTIFIER, utf8(uscc)?)?;
            push(COMMON_NAME, utf8(seal_name)?)?;
        }
        Profile::Personal { name, pseudonym } => {
            push(
                SERIAL_NUMBER,
                Any::encode_from(&PrintableString::new(pseudonym.as_str())?)?,
            )?;
            push(COMMON_NAME, utf8(name)?)?;
        }
        Profile::RootCa { name }
        | Profile::IssuingCa { name }
        | Profile::Tsa { name }
        | Profile::TokenSigning { name }
        | Profile::SealMaker { name } => {
            push(ORGANIZATION, utf8("Tongban")?)?;
            push(COMMON_NAME, utf8(name)?)?;
        }
    }
    // Through DER: x509-cert builds a `Name` from a sequence only so, or from text.
    Ok(Name::from_der(&rdns.to_der()?)?)
}

/// From `now` less the clock skew for the profile's lifetime, never past `ca_not_after`.
fn validity(
    profile: &Profile,
    now: OffsetDateTime,
    ca_not_after: Option<Time>,
) -> Result<Validity, CryptoError> {
    let not_before = now - CLOCK_SKEW;
    let not_after = not_before + profile.validity();
    let not_after = time_of(not_after)?;
    let not_after = match ca_not_after {
        Some(ca) if ca.to_unix_duration() < not_after.to_unix_duration() => ca,
        _ => not_after,
    };
    Ok(Validity::new(time_of(not_before)?, not_after))
}

/// UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
fn time_of(at: OffsetDateTime) -> Result<Time, CryptoError> {
    let since_epoch =
        std::time::Duration::from_secs(u64::try_from(at.unix_timestamp()).unwrap_or(0));
    Ok(match der::asn1::UtcTime::from_unix_duration(since_epoch) {
        Ok(utc) => Time::UtcTime(utc),
        Err(_) => Time::GeneralTime(der::asn1::GeneralizedTime::from_unix_duration(since_epoch)?),
    })
}

fn timestamp(time: Time) -> Timestamp {
    let millis = time.to_unix_duration().as_millis();
    Timestamp::from_unix_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}

/// The key identifier of `key`: SHA-256 of the public key bits, cut to 160 bits (RFC
/// 7093 §2 method 1), as for the P-256 CA.
fn key_identifier(key: &PublicKey) -> Vec<u8> {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.raw());
    digest.as_ref()[..20].to_vec()
}

/// Basic constraints, key usage, the subject key identifier and, for the TSA, the
/// critical time-stamping extended key usage (RFC 3161 §2.3).
fn profile_extensions(profile: &Profile, key_id: &[u8]) -> Result<Vec<Extension>, CryptoError> {
    let (ca, path_len, usages) = match profile {
        Profile::RootCa { .. } => (true, Some(1), KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        Profile::IssuingCa { .. } => (true, Some(0), KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        Profile::Seal { .. } | Profile::SealMaker { .. } | Profile::Personal { .. } => (
            false,
            None,
            KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
        ),
        Profile::Tsa { .. } | Profile::TokenSigning { .. } => {
            (false, None, KeyUsages::DigitalSignature.into())
        }
    };
    let constraints = BasicConstraints {
        ca,
        path_len_constraint: path_len,
    };
    let mut extensions = vec![
        extension(ID_CE_BASIC_CONSTRAINTS, true, &constraints)?,
        extension(ID_CE_KEY_USAGE, true, &KeyUsage(usages))?,
        extension(
            ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            &SubjectKeyIdentifier(OctetString::new(key_id)?),
        )?,
    ];
    if matches!(profile, Profile::Tsa { .. }) {
        let eku = ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]);
        extensions.push(extension(ID_CE_EXT_KEY_USAGE, true, &eku)?);
    }
    Ok(extensions)
}

fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, CryptoError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn authority_key_identifier(key_id: &[u8]) -> AuthorityKeyIdentifier {
    AuthorityKeyIdentifier {
        key_identifier: OctetString::new(key_id).ok(),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    }
}

fn crl_distribution_points(uri: &str) -> Result<CrlDistributionPoints, CryptoError> {
    let name = GeneralName::UniformResourceIdentifier(Ia5String::new(uri)?);
    Ok(CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![name])),
        reasons: None,
        crl_issuer: None,
    }]))
}

fn ca_issuers(uri: &str) -> Result<AuthorityInfoAccessSyntax, CryptoError> {
    Ok(AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: ID_AD_CA_ISSUERS,
        access_location: GeneralName::UniformResourceIdentifier(Ia5String::new(uri)?),
    }]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SoftwareKey;

    fn sm2() -> SoftwareKey {
        SoftwareKey::ephemeral(Algorithm::Sm2).expect("key")
    }

    #[test]
    fn a_root_and_a_leaf_verify_with_their_issuers_keys() {
        let now = OffsetDateTime::now_utc();
        let urls = PublicUrls::new("http://127.0.0.1:8080");
        let (root_key, seal_key) = (sm2(), sm2());
        let root = self_signed_root(&root_key, "Tongban SM2 Root CA", now).expect("root");
        let profile = Profile::Seal {
            department: "某市市场监督管理局".into(),
            uscc: "11100000000013338W".into(),
            seal_name: "合同专用章".into(),
        };
        let issuer = Sm2Issuer {
            name: "sm2-root",
            certificate: &root.der,
            key: &root_key,
        };
        let leaf = issue(&profile, seal_key.public_key(), &issuer, &urls, now).expect("leaf");
        for (der, signer) in [(&root.der, &root_key), (&leaf.der, &root_key)] {
            let parsed = x509_cert::Certificate::from_der(der).expect("parses");
            let tbs = parsed.tbs_certificate().to_der().expect("tbs");
            let signature = parsed.signature().raw_bytes();
            assert_eq!(parsed.signature_algorithm().oid, SM2_WITH_SM3);
            assert!(signer.public_key().verify_x509(&tbs, signature));
        }
        let parsed = x509_cert::Certificate::from_der(&leaf.der).expect("parses");
        let key = PublicKey::from_spki_der(
            &parsed
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .expect("spki"),
        )
        .expect("sm2 key");
        assert_eq!(&key, seal_key.public_key());
        assert!(leaf.not_after <= root.not_after);
    }

    #[test]
    fn p256_keys_neither_sign_nor_get_sm2_certificates() {
        let now = OffsetDateTime::now_utc();
        let p256 = SoftwareKey::ephemeral(Algorithm::Es256).expect("key");
        assert!(self_signed_root(&p256, "x", now).is_err());
        let root_key = sm2();
        let root = self_signed_root(&root_key, "Root", now).expect("root");
        let issuer = Sm2Issuer {
            name: "sm2-root",
            certificate: &root.der,
            key: &root_key,
        };
        let urls = PublicUrls::new("http://127.0.0.1:8080");
        let profile = Profile::Tsa { name: "TSA".into() };
        assert!(issue(&profile, p256.public_key(), &issuer, &urls, now).is_err());
        // A CA key that is not its certificate's key signs nothing.
        let stranger = sm2();
        let wrong = Sm2Issuer {
            key: &stranger,
            ..issuer
        };
        assert!(issue(&profile, sm2().public_key(), &wrong, &urls, now).is_err());
    }
}
