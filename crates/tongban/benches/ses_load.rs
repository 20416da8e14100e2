//! GB/T 38540 benchmark with fixed counts, against the real `tongban` binary (release)
//! on an empty SQLite database, beside RustCrypto `sm2` on the same machine in the same
//! run:
//!
//! - SES_Signature signatures per second through `POST /api/v1/seals/{id}/ses`
//!   (batches of 1 000 SM3 digests, each with its SM2 TSA time-stamp and usage record)
//!   beside raw `sm2` signs/s on all cores;
//! - SES_Signature reports per second through `POST /api/v1/verify` beside raw `sm2`
//!   verifications/s on all cores;
//! - sealing a 1 MB, 10-page PDF with an SM2 seal (SES in /Contents) and with a P-256
//!   seal (PAdES B-T), ms per document, alternating, same file.
//!
//! `cargo bench -p tongban --bench ses_load`. Prints medians with their spread;
//! asserts only that every answer was the expected one.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

mod common;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use axum::body::Bytes;
use base64::Engine as _;
use serde_json::{Value, json};

/// The median and the lowest and highest of `values`.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.total_cmp(b));
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

/// Raw RustCrypto `sm2` signs (`verify` false) or verifications per second on all cores,
/// for `secs`, over a message the size of a TBS_Sign.
fn raw_sm2(secs: f64, verify: bool) -> f64 {
    use sm2::dsa::signature::{Signer as _, Verifier as _};
    let message = vec![0x5a; 1500];
    let secret = sm2::SecretKey::random(&mut rand_core::OsRng);
    let distid = tongban_crypto::shangmi::DEFAULT_DISTID;
    let key = sm2::dsa::SigningKey::new(distid, &secret).unwrap();
    let signature: sm2::dsa::Signature = key.sign(&message);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let total: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (key, message, signature) = (&key, &message, &signature);
                scope.spawn(move || {
                    let verifying = key.verifying_key().clone();
                    let started = Instant::now();
                    let mut n = 0;
                    while started.elapsed().as_secs_f64() < secs {
                        if verify {
                            verifying.verify(message, signature).unwrap();
                        } else {
                            let _: sm2::dsa::Signature = key.sign(message);
                        }
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / secs
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let (server, admin_id, admin_secret) = common::start(
        &http,
        None,
        &[("TONGBAN_HTTP_VERIFY_PER_MINUTE", "1000000".to_string())],
    )
    .await;
    let base = server.base.clone();
    let admin = common::access_token(&http, &base, &admin_id, &admin_secret).await;
    let post = async |path: &str, body: Value| -> Value {
        common::post_json(&http, &base, &admin, path, body).await
    };
    let department = post(
        "/api/v1/admin/departments",
        json!({"name": "浙江省市场监督管理局", "uscc": "91350100M000100Y43", "level": "province"}),
    )
    .await;
    let department = department["id"].as_str().unwrap().to_owned();
    let system = post(
        "/api/v1/admin/clients",
        json!({"name": "bench system", "confidential": true, "scopes": ["seal:use"],
               "grant_types": ["client_credentials"], "department_id": department}),
    )
    .await;
    let mut seals = Vec::new();
    for algorithm in ["SM2", "ES256"] {
        let seal = post(
            &format!("/api/v1/departments/{department}/seals"),
            json!({"kind": "official", "name": "行政审批专用章", "algorithm": algorithm}),
        )
        .await;
        let id = seal["id"].as_str().unwrap().to_owned();
        post(
            &format!("/api/v1/seals/{id}/grants"),
            json!({"client_id": system["client_id"]}),
        )
        .await;
        let image = support::documents::png_image(256, 256, png::ColorType::Rgba);
        let put = http
            .put(format!("{base}/api/v1/seals/{id}/image"))
            .bearer_auth(&admin)
            .header("content-type", "image/png")
            .body(image)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 204);
        seals.push(id);
    }
    let (sm2_seal, p256_seal) = (&seals[0], &seals[1]);
    let token = common::access_token(
        &http,
        &base,
        system["client_id"].as_str().unwrap(),
        system["client_secret"].as_str().unwrap(),
    )
    .await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "tongban GB/T 38540 bench: release binary, SQLite, {cores} cores shared with the client"
    );

    // 1. SES signatures over digests.
    let digests: Vec<Value> = (0..1000u32)
        .map(|i| {
            let sm3 = tongban_crypto::shangmi::sm3(&i.to_be_bytes());
            json!({"sm3": tongban_crypto::ca::hex(&sm3), "property_info": format!("file-{i}.pdf")})
        })
        .collect();
    let mut rates = Vec::new();
    let mut last = Value::Null;
    for _ in 0..5 {
        let started = Instant::now();
        let r = http
            .post(format!("{base}/api/v1/seals/{sm2_seal}/ses"))
            .bearer_auth(&token)
            .json(&json!({"digests": digests}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        last = r.json().await.unwrap();
        rates.push(1000.0 / started.elapsed().as_secs_f64());
    }
    let (ours, low, high) = spread(rates);
    let raw = raw_sm2(2.0, false);
    println!(
        "SES_Signature over SM3 digests: 5 batches of 1 000 (each with its SM2 time-stamp and usage record)"
    );
    println!(
        "  {ours:.0} signatures/s median ({low:.0}–{high:.0}); raw sm2 {raw:.0} signs/s on {cores} cores (one SES_Signature is 2 SM2 signs: ours and the TSA's) — {:.0} % of raw per sign",
        200.0 * ours / raw
    );

    // 2. Verifying them.
    let signature = last["signatures"][0]["ses"].as_str().unwrap().to_owned();
    let sm3 = last["signatures"][0]["sm3"].as_str().unwrap().to_owned();
    let body = json!({"ses": signature, "sm3": sm3});
    let mut rates = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        for _ in 0..100 {
            let r = http
                .post(format!("{base}/api/v1/verify"))
                .json(&body)
                .send()
                .await
                .unwrap();
            let report: Value = r.json().await.unwrap();
            assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
        }
        rates.push(100.0 / started.elapsed().as_secs_f64());
    }
    let (ours, low, high) = spread(rates);
    let raw = raw_sm2(2.0, true);
    println!("SES_Signature reports (POST /api/v1/verify), 5 rounds of 100, one after another");
    println!(
        "  {ours:.0} reports/s median ({low:.0}–{high:.0}); raw sm2 {raw:.0} verifications/s on {cores} cores (a report checks 3 SM2 signatures afresh: the signer's, the seal maker's, the TSA's; certificate and CRL signatures are remembered)"
    );

    // 3. A 1 MB PDF, SES and PAdES alternating.
    let pdf = Bytes::from(support::sample_pdf(10, 1024 * 1024));
    let seal_once = async |route: String| -> f64 {
        let started = Instant::now();
        let r = http
            .post(format!("{base}{route}"))
            .bearer_auth(&token)
            .header("content-type", "application/pdf")
            .body(pdf.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        started.elapsed().as_secs_f64() * 1000.0
    };
    let (mut ses, mut pades) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        ses.push(seal_once(format!("/api/v1/seals/{sm2_seal}/ses/pdf")).await);
        pades.push(seal_once(format!("/api/v1/seals/{p256_seal}/pades")).await);
    }
    let (ses, ses_low, ses_high) = spread(ses);
    let (pades, pades_low, pades_high) = spread(pades);
    println!(
        "seal a {:.1} MB, 10-page PDF over HTTP, 15 runs each, alternating",
        pdf.len() as f64 / 1e6
    );
    println!(
        "  SM2 seal (SES_Signature, SM3 of the ByteRange, SM2 time-stamp): {ses:.1} ms median ({ses_low:.1}–{ses_high:.1})"
    );
    println!(
        "  P-256 seal (PAdES B-T): {pades:.1} ms median ({pades_low:.1}–{pades_high:.1}); SES/PAdES {:.2}×",
        ses / pades
    );
    let started = Instant::now();
    let _ = tongban_crypto::shangmi::sm3(&pdf);
    let sm3_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    let _ = tongban_crypto::cms::sha256(&pdf);
    let sha_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!("  SM3 of the file alone: {sm3_ms:.2} ms; SHA-256: {sha_ms:.2} ms");
    let _ = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .unwrap();
    drop(server);
}
