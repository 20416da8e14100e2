//! Licence renditions benchmark, in process on an empty SQLite database (release): an
//! OFD rendition sealed with an SM2 seal (GB/T 38540 signature, SM2 time-stamp) beside
//! a PDF rendition sealed with a P-256 seal (PAdES B-T), alternating, the same
//! certificate; and, to bound them, each rendition unsealed and the two signatures'
//! raw key operations.
//!
//! `cargo bench -p tongban --bench renditions`. Prints medians with their spread;
//! asserts only that every rendition was made.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use serde_json::{Value, json};
use tongban_core::time::Timestamp;
use tongban_ecert::catalogue::{self, HolderCategory, NewType};
use tongban_identity::clients::{self, NewClient};
use tongban_identity::subjects::{self, Level};
use tongban_seal::permissions::Actor;
use tongban_seal::registry::{self, SealKind};

/// The median and the lowest and highest of `values`.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.total_cmp(b));
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

/// Per second over `rounds` rounds of `count` calls of `f`: median, lowest, highest.
async fn rate<F: AsyncFnMut()>(rounds: usize, count: usize, mut f: F) -> (f64, f64, f64) {
    let mut rates = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..count {
            f().await;
        }
        rates.push(count as f64 / started.elapsed().as_secs_f64());
    }
    spread(rates)
}

#[tokio::main]
async fn main() {
    let server = support::TestServer::start().await;
    let now = Timestamp::now();
    let mut tx = server.store().begin().await.unwrap();
    let department = subjects::create_department(
        &mut tx,
        "国家市场监督管理总局",
        "11100000000013338W",
        Level::Province,
        None,
        now,
    )
    .await
    .unwrap();
    let (system, secret) = clients::register(
        &mut tx,
        &NewClient {
            name: "licence system".into(),
            confidential: true,
            scopes: vec!["ecert:issue".into()],
            grant_types: vec!["client_credentials".into()],
            department_id: Some(department.id),
            ..NewClient::default()
        },
        now,
    )
    .await
    .unwrap();
    let operator = Actor::Client {
        client_id: "operator".into(),
        scopes: vec!["admin".into()],
    };
    let image = support::documents::png_image(256, 256, png::ColorType::Rgba);
    let mut seals = Vec::new();
    for algorithm in [
        tongban_crypto::Algorithm::Es256,
        tongban_crypto::Algorithm::Sm2,
    ] {
        let seal = registry::create(
            &mut tx,
            server.pki(),
            &operator,
            department.id,
            SealKind::Official,
            "电子证照专用章",
            algorithm,
        )
        .await
        .unwrap();
        tongban_seal::image::set(&mut tx, server.pki(), &operator, seal.id, &image)
            .await
            .unwrap();
        seals.push(seal.id);
    }
    let defined = catalogue::define(
        &mut tx,
        &operator,
        department.id,
        &NewType {
            sequence: "011".into(),
            name_zh: "食品经营许可证".into(),
            name_en: "Food business licence".into(),
            holder_category: HolderCategory::Legal,
            face_schema: json!({"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}, "licence_no": {"type": "string"},
                "scope": {"type": "string"}, "address": {"type": "string"}}}),
            validity_days: Some(1825),
            layout: Vec::new(),
            seal_id: seals[0],
            rendition: catalogue::Rendition::Ofd,
        },
        now,
    )
    .await
    .unwrap();
    let ofd = (seals[1], catalogue::SealUse::Ofd);
    catalogue::choose_seal(&mut tx, &operator, &defined.code, department.id, ofd)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let token = support::client_token(&server, &system.id, &secret.unwrap()).await;
    let issued: Value = server
        .client
        .post(format!("{}/api/v1/certificates", server.base))
        .bearer_auth(&token)
        .json(&json!({"type": defined.code,
            "holder": {"id_number": "91350100M000100Y43", "name": "福州示例科技有限公司"},
            "face": {"name": "福州示例科技有限公司", "licence_no": "JY13501000000001",
                     "scope": "预包装食品销售", "address": "福建省福州市鼓楼区"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let certificate = {
        let mut conn = server.store().conn().await.unwrap();
        let id = issued["identifier"].as_str().unwrap().parse().unwrap();
        tongban_ecert::register::find(&mut conn, &id).await.unwrap()
    };
    let (store, pki, base) = (server.store(), server.pki(), server.base.clone());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("tongban renditions bench: in process, SQLite, {cores} cores, one certificate");

    // Sealed renditions, alternating rounds so that both meet the same machine.
    let (mut ofd, mut pdf) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        ofd.push(
            rate(1, 20, async || {
                let made = tongban_ecert::ofd_rendition::sealed(
                    store,
                    pki,
                    &base,
                    &operator,
                    &certificate,
                );
                assert!(made.await.unwrap().starts_with(b"PK"));
            })
            .await
            .0,
        );
        pdf.push(
            rate(1, 20, async || {
                let made =
                    tongban_ecert::rendition::sealed(store, pki, &base, &operator, &certificate);
                assert!(made.await.unwrap().original.starts_with(b"%PDF"));
            })
            .await
            .0,
        );
    }
    let (ofd, ofd_low, ofd_high) = spread(ofd);
    let (pdf, pdf_low, pdf_high) = spread(pdf);
    println!("sealed renditions of a licence, 5 rounds of 20 each, alternating, one after another");
    println!(
        "  OFD + GB/T 38540 (SM2 seal, SM2 time-stamp, usage record): {ofd:.0}/s median ({ofd_low:.0}–{ofd_high:.0})"
    );
    println!(
        "  PDF + PAdES B-T (P-256 seal, time-stamp, usage record): {pdf:.0}/s median ({pdf_low:.0}–{pdf_high:.0}); OFD/PDF {:.2}×",
        ofd / pdf
    );

    // What bounds them: the renditions unsealed, and the key operations alone.
    let cert_type = {
        let mut conn = store.conn().await.unwrap();
        catalogue::by_code(&mut conn, &defined.code).await.unwrap()
    };
    let face = tongban_ecert::rendition::Face {
        cert_type: &cert_type,
        certificate: &certificate,
        holder_name: &certificate.holder_name,
        issuer_name: &certificate.issuer.1,
        qr_text: "https://example.gov.cn/verify/i/x",
    };
    let (ofd_only, lo1, hi1) = rate(5, 200, async || {
        tongban_ecert::ofd_rendition::render(&face).unwrap();
    })
    .await;
    let (pdf_only, lo2, hi2) = rate(5, 200, async || {
        tongban_ecert::rendition::render(&face).unwrap();
    })
    .await;
    println!(
        "  unsealed, 5 rounds of 200: OFD {ofd_only:.0}/s ({lo1:.0}–{hi1:.0}); PDF {pdf_only:.0}/s ({lo2:.0}–{hi2:.0})"
    );
    use sm2::dsa::signature::Signer as _;
    let secret = sm2::SecretKey::random(&mut rand_core::OsRng);
    let key = sm2::dsa::SigningKey::new(tongban_crypto::shangmi::DEFAULT_DISTID, &secret).unwrap();
    let message = vec![0x5a; 2000];
    let started = Instant::now();
    for _ in 0..200 {
        let _: sm2::dsa::Signature = key.sign(&message);
    }
    let sm2_signs = 200.0 / started.elapsed().as_secs_f64();
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let p256 =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let started = Instant::now();
    for _ in 0..2000 {
        p256.sign(&rng, &message).unwrap();
    }
    let es256 = 2000.0 / started.elapsed().as_secs_f64();
    println!(
        "  raw, one core: sm2 {sm2_signs:.0} signs/s (a sealed OFD needs 2: ours and the TSA's); ES256 {es256:.0} signs/s (a PAdES B-T needs 2)"
    );
    let _ = now;
}
