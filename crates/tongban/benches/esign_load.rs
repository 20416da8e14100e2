//! Personal e-signature benchmark with fixed counts, on the real router and middleware
//! stack in this process (release build, embedded SQLite; the esign test world:
//! a person with a soft passkey and a signing certificate, a department system), beside
//! the raw limits measured in the same run:
//!
//! - approve-to-signed for one 1 MB PDF: the server's side of `POST /sign/{id}/passkey`
//!   (verify the assertion against the commitment, prepare the update, sign PAdES B-T
//!   with a time-stamp, store, answer the page), the person's part (the authenticator)
//!   excluded; beside the department sealing the same PDF (`POST
//!   /api/v1/seals/{id}/pades`) and SHA-256 of the megabyte;
//! - CSC `signatures/signHash` with 100 hashes per call, two callers: signatures per
//!   second beside raw ES256 signs (ring, all cores) and raw P-256 signs of a digest
//!   (the primitive signHash uses), all cores. The SADs are made beforehand (the
//!   person's step is not what is measured).
//!
//! `cargo bench -p tongban --bench esign_load`. Prints medians with their spread;
//! asserts only that every answer was the expected one.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

mod common;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use base64::Engine as _;
use serde_json::{Value, json};
use support::esign_world::{self as world, LI};
use tongban_crypto::signer::Signer as _;

const RUNS: usize = 15;
const CSC_CALLS: usize = 40;
const HASHES: usize = 100;

/// The median and the lowest and highest of `values`.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.total_cmp(b));
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

/// P-256 signatures of a precomputed digest per second on all cores, for `secs`.
fn raw_prehash(secs: f64) -> f64 {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let total: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let key = tongban_crypto::signer::SoftwareKey::ephemeral(
                        tongban_crypto::Algorithm::Es256,
                    )
                    .unwrap();
                    let started = Instant::now();
                    let mut n = 0;
                    while started.elapsed().as_secs_f64() < secs {
                        key.sign_digest_x509(&[7; 32]).unwrap();
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

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let w = world::world().await;
    let cookie = world::session(&w, LI).await;
    let mut phone = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    world::add_passkey(&w, &cookie, &mut phone).await;
    assert_eq!(world::enrol(&w, &cookie).await.status(), 200);
    let pdf = support::sample_pdf(10, 1_000_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "tongban personal signing bench: release, in-process router, SQLite, {cores} cores shared with the client"
    );

    // A seal of the same department, for the peer figure.
    let operator = tongban_seal::permissions::Actor::Client {
        client_id: "operator".into(),
        scopes: vec!["admin".into()],
    };
    let mut tx = w.server.store().begin().await.unwrap();
    let seal = tongban_seal::registry::create(
        &mut tx,
        w.server.pki(),
        &operator,
        w.a.id,
        tongban_seal::registry::SealKind::Contract,
        "合同专用章",
        tongban_crypto::Algorithm::Es256,
    )
    .await
    .unwrap();
    let grantee = tongban_seal::grants::Grantee::Client(w.a.client_id.clone());
    tongban_seal::grants::grant(&mut tx, &operator, seal.id, &grantee, false, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (mut approve, mut seal_ms) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let id = world::request_of(&w, &pdf).await;
        let (ceremony, options, csrf) = world::options(&w, &cookie, &id).await;
        let credential = world::assert_over(&mut phone, options);
        let started = Instant::now();
        let signed = world::post_approval(&w, &cookie, &id, &csrf, &ceremony, &credential).await;
        let status = signed.status();
        let _ = signed.bytes().await.unwrap();
        approve.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200);
        let started = Instant::now();
        let sealed = w
            .server
            .client
            .post(format!(
                "{}/api/v1/seals/{}/pades?page=1&x=100&y=80&size=120",
                w.server.base, seal.id
            ))
            .bearer_auth(&w.a.system)
            .header("content-type", "application/pdf")
            .body(pdf.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(sealed.status(), 200);
        let _ = sealed.bytes().await.unwrap();
        seal_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let started = Instant::now();
    for _ in 0..RUNS {
        std::hint::black_box(tongban_crypto::cms::sha256(&pdf));
    }
    let hash_ms = started.elapsed().as_secs_f64() * 1000.0 / RUNS as f64;
    let (m, lo, hi) = spread(approve);
    println!(
        "approve-to-signed, 1 MB PDF (passkey assertion checked, PAdES B-T): median {m:.1} ms (min {lo:.1}, max {hi:.1}), {RUNS} runs"
    );
    let (m, lo, hi) = spread(seal_ms);
    println!(
        "  peer: the department seals the same PDF (PAdES B-T):              median {m:.1} ms (min {lo:.1}, max {hi:.1})"
    );
    println!(
        "  floor: SHA-256 of the megabyte:                                      {hash_ms:.2} ms"
    );

    // CSC: SADs made beforehand, each for 100 random hashes.
    let token = world::app_token(&w, LI).await;
    let credential = world::certificate_id(&w, LI).await;
    let subject: String = {
        use sqlx::Row;
        let mut conn = w.server.store().conn().await.unwrap();
        sqlx::query("SELECT subject_id FROM signing_certificates WHERE id = $1")
            .bind(&credential)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .get(0)
    };
    let mut calls = Vec::new();
    for call in 0..CSC_CALLS {
        let hashes: Vec<[u8; 32]> = (0..HASHES)
            .map(|i| tongban_crypto::cms::sha256(format!("{call}/{i}").as_bytes()))
            .collect();
        let now = tongban_core::time::Timestamp::now();
        let commitment = tongban_esign::commitment::Commitment::new(
            &subject,
            &format!("csc:{credential}"),
            &hashes,
            now,
        )
        .unwrap();
        let sad = format!("bench-sad-{call}");
        let mut conn = w.server.store().conn().await.unwrap();
        sqlx::query(
            "INSERT INTO signing_approvals (id, subject_id, certificate_id, commitment, status, method, sad_sha256, \
             signatures_left, created_at, approved_at, expires_at) VALUES ($1, $2, $3, $4, 'approved', 'otp', $5, $6, $7, $7, $8)",
        )
        .bind(format!("bench-{call}"))
        .bind(&subject)
        .bind(&credential)
        .bind(commitment.to_json().unwrap())
        .bind(tongban_identity::secrets::sha256_hex(&sad))
        .bind(HASHES as i64)
        .bind(now.unix_millis())
        .bind(now.unix_millis() + 3_600_000)
        .execute(&mut *conn)
        .await
        .unwrap();
        let encoded: Vec<String> = hashes
            .iter()
            .map(|h| base64::engine::general_purpose::STANDARD.encode(h))
            .collect();
        calls.push(json!({ "credentialID": credential, "SAD": sad, "hashes": encoded, "signAlgo": "1.2.840.10045.4.3.2" }));
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    let one = async |body: &Value| {
        let begun = Instant::now();
        let answer = world::call(&w, &token, "/csc/v2/signatures/signHash", body.clone()).await;
        assert_eq!(answer.status(), 200);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["signatures"].as_array().unwrap().len(), HASHES);
        begun.elapsed().as_secs_f64() * 1000.0
    };
    for pair in calls.chunks(2) {
        let (a, b) = tokio::join!(one(&pair[0]), one(&pair[1]));
        latencies.extend([a, b]);
    }
    let rate = (CSC_CALLS * HASHES) as f64 / started.elapsed().as_secs_f64();
    let (m, lo, hi) = spread(latencies);
    let raw = common::raw_es256(2.0);
    let prehash = raw_prehash(2.0);
    println!(
        "CSC signHash, {HASHES} hashes per call, 2 callers: {rate:.0} signatures/s; per call median {m:.1} ms (min {lo:.1}, max {hi:.1})"
    );
    println!(
        "  raw ring ES256 signs, all cores:                {raw:.0}/s ({:.0} %)",
        rate * 100.0 / raw
    );
    println!(
        "  raw P-256 digest signs (p256, signHash's own), all cores: {prehash:.0}/s ({:.0} %)",
        rate * 100.0 / prehash
    );
}
