//! GB/T 38540 data made, read back, altered and refused.

#![allow(clippy::unwrap_used)]

use der::asn1::OctetString;
use der::{Decode, Encode};

use super::asn1::{ExtData, SESeal};
use super::*;
use crate::ca::{Profile, PublicUrls};
use crate::error::CryptoError;
use crate::signer::SoftwareKey;
use crate::signer::{Algorithm, Signer as _};
use crate::sm2_certificates::{Sm2Issuer, issue, self_signed_root};
use tongban_core::time::Timestamp;

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
