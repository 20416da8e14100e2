//! Path validation: a good seal chain passes; each defect fails with its own error.

#![allow(clippy::unwrap_used)]

use time::OffsetDateTime;
use tongban_core::time::Timestamp;
use tongban_crypto::ca::{self, Profile, PublicUrls};
use tongban_crypto::crl::{RevocationReason, RevokedEntry, sign_crl};
use tongban_crypto::path::{PathError, Usage, validate};
use tongban_crypto::{Algorithm, Signer, SoftwareKey};

struct Hierarchy {
    root: Vec<u8>,
    issuing: Vec<u8>,
    issuing_key: SoftwareKey,
    root_key: SoftwareKey,
    now: OffsetDateTime,
    urls: PublicUrls,
}

fn key() -> SoftwareKey {
    SoftwareKey::ephemeral(Algorithm::Es256).unwrap()
}

fn hierarchy() -> Hierarchy {
    let now = OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let urls = PublicUrls::new("http://127.0.0.1:8080");
    let root_key = key();
    let root = ca::self_signed_root(&root_key, "Test Root", now)
        .unwrap()
        .der;
    let issuing_key = key();
    let issuing = ca::issue(
        &Profile::IssuingCa {
            name: "Test Issuing".into(),
        },
        issuing_key.public_key(),
        ca::ROOT,
        &root,
        &root_key,
        &urls,
        now,
    )
    .unwrap()
    .der;
    Hierarchy {
        root,
        issuing,
        issuing_key,
        root_key,
        now,
        urls,
    }
}

fn seal_profile() -> Profile {
    Profile::Seal {
        department: "某市市场监督管理局".into(),
        uscc: "11100000000013338W".into(),
        seal_name: "行政审批专用章".into(),
    }
}

impl Hierarchy {
    fn leaf(&self, profile: &Profile) -> ca::Issued {
        ca::issue(
            profile,
            key().public_key(),
            ca::ISSUING,
            &self.issuing,
            &self.issuing_key,
            &self.urls,
            self.now,
        )
        .unwrap()
    }

    fn crl(&self, revoked: &[RevokedEntry]) -> Vec<u8> {
        let now = Timestamp::from(self.now);
        let next = Timestamp::from(self.now + time::Duration::days(3650));
        sign_crl(&self.issuing, &self.issuing_key, 1, revoked, now, next).unwrap()
    }

    fn check(
        &self,
        leaf: &[u8],
        usage: Usage,
        at: OffsetDateTime,
        crl: &[u8],
    ) -> Result<usize, PathError> {
        validate(
            leaf,
            std::slice::from_ref(&self.issuing),
            std::slice::from_ref(&self.root),
            &[crl.to_vec()],
            usage,
            Timestamp::from(at),
        )
        .map(|p| p.chain.len())
    }
}

fn soon(h: &Hierarchy) -> OffsetDateTime {
    h.now + time::Duration::minutes(5)
}

/// No CRL at all.
const NO_CRLS: &[Vec<u8>] = &[];

#[test]
fn a_good_seal_chain_validates() {
    let h = hierarchy();
    let seal = h.leaf(&seal_profile());
    assert_eq!(
        h.check(&seal.der, Usage::Seal, soon(&h), &h.crl(&[])),
        Ok(3)
    );
    let tsa = h.leaf(&Profile::Tsa { name: "TSA".into() });
    assert_eq!(
        h.check(&tsa.der, Usage::TimeStamping, soon(&h), &h.crl(&[])),
        Ok(3)
    );
}

#[test]
fn expired_is_rejected() {
    let h = hierarchy();
    let seal = h.leaf(&seal_profile());
    let later = h.now + time::Duration::days(4 * 365);
    assert!(matches!(
        h.check(&seal.der, Usage::Seal, later, &h.crl(&[])),
        Err(PathError::Expired { .. })
    ));
}

#[test]
fn not_yet_valid_is_rejected() {
    let h = hierarchy();
    let seal = h.leaf(&seal_profile());
    let earlier = h.now - time::Duration::days(1);
    assert!(matches!(
        h.check(&seal.der, Usage::Seal, earlier, &h.crl(&[])),
        Err(PathError::NotYetValid { .. })
    ));
}

#[test]
fn wrong_extended_key_usage_is_rejected() {
    let h = hierarchy();
    let seal = h.leaf(&seal_profile());
    assert!(matches!(
        h.check(&seal.der, Usage::TimeStamping, soon(&h), &h.crl(&[])),
        Err(PathError::ExtendedKeyUsage { .. })
    ));
    let tsa = h.leaf(&Profile::Tsa { name: "TSA".into() });
    assert!(matches!(
        h.check(&tsa.der, Usage::Seal, soon(&h), &h.crl(&[])),
        Err(PathError::ExtendedKeyUsage { .. }) | Err(PathError::KeyUsage { .. })
    ));
}

#[test]
fn unknown_root_is_rejected() {
    let h = hierarchy();
    let seal = h.leaf(&seal_profile());
    let stranger = ca::self_signed_root(&key(), "Test Root", h.now)
        .unwrap()
        .der;
    let result = validate(
        &seal.der,
        std::slice::from_ref(&h.issuing),
        &[stranger],
        &[h.crl(&[])],
        Usage::Seal,
        Timestamp::from(soon(&h)),
    );
    assert!(
        matches!(result, Err(PathError::UnknownIssuer { .. })),
        "{result:?}"
    );
}

#[test]
fn tampered_signature_is_rejected() {
    let h = hierarchy();
    let mut seal = h.leaf(&seal_profile()).der;
    let last = seal.len() - 1;
    seal[last] ^= 0x01;
    assert!(matches!(
        h.check(&seal, Usage::Seal, soon(&h), &h.crl(&[])),
        Err(PathError::BadSignature { .. })
    ));
}

#[test]
fn revoked_is_rejected_from_its_revocation_time_on() {
    let h = hierarchy();
    let seal = h.leaf(&seal_profile());
    let revoked_at = h.now + time::Duration::minutes(3);
    let crl = h.crl(&[RevokedEntry {
        serial_hex: seal.serial.clone(),
        at: Timestamp::from(revoked_at),
        reason: RevocationReason::KeyCompromise,
    }]);
    let result = h.check(&seal.der, Usage::Seal, soon(&h), &crl);
    assert!(
        matches!(
            result,
            Err(PathError::Revoked {
                reason: RevocationReason::KeyCompromise,
                ..
            })
        ),
        "{result:?}"
    );
    // Before the revocation it was good (what matters for a time-stamped signature).
    assert_eq!(
        h.check(
            &seal.der,
            Usage::Seal,
            h.now + time::Duration::minutes(1),
            &crl
        ),
        Ok(3)
    );
}

#[test]
fn missing_crl_leaves_status_unknown() {
    let h = hierarchy();
    let seal = h.leaf(&seal_profile());
    let result = validate(
        &seal.der,
        std::slice::from_ref(&h.issuing),
        std::slice::from_ref(&h.root),
        NO_CRLS,
        Usage::Seal,
        Timestamp::from(soon(&h)),
    );
    assert!(
        matches!(result, Err(PathError::RevocationUnknown { .. })),
        "{result:?}"
    );
}

#[test]
fn an_intermediate_without_the_ca_flag_is_rejected() {
    let h = hierarchy();
    // A token-signing certificate (no CA flag) that nevertheless signs a leaf.
    let fake_ca_key = key();
    let fake_ca = ca::issue(
        &Profile::TokenSigning {
            name: "Not A CA".into(),
        },
        fake_ca_key.public_key(),
        ca::ROOT,
        &h.root,
        &h.root_key,
        &h.urls,
        h.now,
    )
    .unwrap()
    .der;
    let leaf = ca::issue(
        &seal_profile(),
        key().public_key(),
        ca::ISSUING,
        &fake_ca,
        &fake_ca_key,
        &h.urls,
        h.now,
    )
    .unwrap()
    .der;
    let result = validate(
        &leaf,
        &[fake_ca],
        std::slice::from_ref(&h.root),
        NO_CRLS,
        Usage::Seal,
        Timestamp::from(soon(&h)),
    );
    assert!(
        matches!(result, Err(PathError::NotACa { .. })),
        "{result:?}"
    );
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    let h = hierarchy();
    let result = validate(
        b"\x30\x03\x02\x01",
        &[],
        std::slice::from_ref(&h.root),
        NO_CRLS,
        Usage::Seal,
        Timestamp::now(),
    );
    assert_eq!(result, Err(PathError::Malformed("certificate")));
}

#[test]
fn an_intermediate_with_key_cert_sign_but_no_ca_flag_is_rejected() {
    // Built with rcgen's own keys, so only the missing cA flag is wrong: the would-be
    // CA has keyCertSign and signs validly.
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let now = OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let params = |cn: &str, is_ca: IsCa, usages: Vec<KeyUsagePurpose>| {
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.not_before = now;
        p.not_after = now + time::Duration::days(30);
        p.is_ca = is_ca;
        p.key_usages = usages;
        p
    };
    let root_key = KeyPair::generate().unwrap();
    let root_params = params(
        "Root",
        IsCa::Ca(BasicConstraints::Unconstrained),
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
    );
    let root = root_params.self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(root_params, root_key);
    let fake_key = KeyPair::generate().unwrap();
    let fake_params = params(
        "Fake CA",
        IsCa::ExplicitNoCa,
        vec![KeyUsagePurpose::KeyCertSign],
    );
    let fake = fake_params.signed_by(&fake_key, &root_issuer).unwrap();
    let fake_issuer = Issuer::new(fake_params, fake_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = params(
        "Leaf",
        IsCa::ExplicitNoCa,
        vec![KeyUsagePurpose::DigitalSignature],
    )
    .signed_by(&leaf_key, &fake_issuer)
    .unwrap();
    let result = validate(
        leaf.der(),
        &[fake.der().to_vec()],
        &[root.der().to_vec()],
        NO_CRLS,
        Usage::Seal,
        Timestamp::from(now + time::Duration::minutes(5)),
    );
    assert!(
        matches!(result, Err(PathError::NotACa { .. })),
        "{result:?}"
    );
}

#[test]
fn an_unprocessed_critical_extension_is_rejected() {
    use rcgen::{CertificateParams, CustomExtension, DnType, KeyPair};
    let now = OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, "Odd");
    p.not_before = now;
    p.not_after = now + time::Duration::days(1);
    // A made-up critical extension (OID under 2.25) that no validator can process.
    let mut odd = CustomExtension::from_oid_content(&[2, 25, 1, 2, 3], vec![0x05, 0x00]);
    odd.set_criticality(true);
    p.custom_extensions.push(odd);
    let cert = p.self_signed(&key).unwrap();
    let result = validate(
        cert.der(),
        &[],
        &[cert.der().to_vec()],
        NO_CRLS,
        Usage::Seal,
        Timestamp::from(now + time::Duration::minutes(5)),
    );
    assert!(
        matches!(result, Err(PathError::UnhandledCriticalExtension { .. })),
        "{result:?}"
    );
}

/// An SM2 chain (root → issuing → seal, with SM2 CRLs) goes through the same
/// validation: good, then revoked; a CRL or a leaf signed by a key other than the CA's
/// fails; an SM2 leaf never validates under a P-256 CA of the same name.
#[test]
fn an_sm2_seal_chain_validates_until_revoked() {
    use tongban_crypto::sm2_certificates::{self as sm2, Sm2Issuer};

    let now = OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let urls = PublicUrls::new("http://127.0.0.1:8080");
    let key = || SoftwareKey::ephemeral(Algorithm::Sm2).unwrap();
    let (root_key, issuing_key, stranger) = (key(), key(), key());
    let root = sm2::self_signed_root(&root_key, "SM2 Root", now)
        .unwrap()
        .der;
    let under_root = Sm2Issuer {
        name: "sm2-root",
        certificate: &root,
        key: &root_key,
    };
    let issuing_profile = Profile::IssuingCa {
        name: "SM2 Issuing".into(),
    };
    let issuing = sm2::issue(
        &issuing_profile,
        issuing_key.public_key(),
        &under_root,
        &urls,
        now,
    )
    .unwrap()
    .der;
    let ca = Sm2Issuer {
        name: "sm2-issuing",
        certificate: &issuing,
        key: &issuing_key,
    };
    let leaf = sm2::issue(&seal_profile(), key().public_key(), &ca, &urls, now).unwrap();
    let (this, next) = (
        Timestamp::from(now),
        Timestamp::from(now + time::Duration::days(1)),
    );
    let crl = |revoked: &[RevokedEntry], by: &Sm2Issuer<'_>| {
        sm2::sign_crl(by, 1, revoked, this, next).unwrap()
    };
    let at = Timestamp::from(now + time::Duration::minutes(5));
    let check = |leaf: &[u8], crl: Vec<u8>| {
        validate(
            leaf,
            std::slice::from_ref(&issuing),
            std::slice::from_ref(&root),
            &[crl],
            Usage::Seal,
            at,
        )
    };

    let path = check(&leaf.der, crl(&[], &ca)).expect("a good SM2 chain");
    assert_eq!(path.chain.len(), 3);

    let revoked = RevokedEntry {
        serial_hex: leaf.serial.clone(),
        at: Timestamp::from(now),
        reason: RevocationReason::KeyCompromise,
    };
    assert!(matches!(
        check(&leaf.der, crl(std::slice::from_ref(&revoked), &ca)),
        Err(PathError::Revoked { .. })
    ));

    let forged_crl = Sm2Issuer {
        key: &stranger,
        ..ca
    };
    assert!(matches!(
        check(&leaf.der, crl(&[], &forged_crl)),
        Err(PathError::RevocationUnknown { .. })
    ));

    // A leaf whose signature is not the issuing CA's: the bytes of a good one, the
    // signature's last byte flipped.
    let mut tampered = leaf.der.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(matches!(
        check(&tampered, crl(&[], &ca)),
        Err(PathError::BadSignature { .. }) | Err(PathError::Malformed(_))
    ));
}
