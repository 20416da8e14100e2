//! Sealing with keys in a PKCS#11 token beside sealing with keys under the KEK: two
//! release `tongban` binaries, each on an empty SQLite database, one with
//! `keys.pkcs11` naming SoftHSM2 for the issuing CA, seal and TSA keys. In turns, five
//! rounds each:
//!
//! - CAdES B-T digest signatures per second (a batch of 1 000: the seal's signature
//!   and the TSA's time-stamp each, with the usage record);
//! - PAdES B-T seals of a 20 KB PDF per second (32 in a row).
//!
//! Medians with their range, beside raw ring ES256 signs/s. Needs `softhsm2-util`
//! (Debian `softhsm2`). `cargo bench -p tongban --bench hsm_load`. Prints figures;
//! asserts only that every answer was the expected one.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

mod common;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::softhsm::SoftHsm;

const ROUNDS: usize = 5;
const DIGESTS: usize = 1_000;
const PDFS: usize = 32;

struct Sealing {
    server: common::Server,
    base: String,
    seal: String,
    token: String,
}

async fn sealing(http: &reqwest::Client, name: &str, extra: &[(&str, String)]) -> Sealing {
    let dir = std::env::temp_dir().join(format!("tongban-hsm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}/{name}.db", dir.display());
    let (server, admin_id, admin_secret) = common::start(http, Some(database), extra).await;
    let base = server.base.clone();
    let admin = common::access_token(http, &base, &admin_id, &admin_secret).await;
    let post = async |path: &str, bearer: &str, body: Value| -> Value {
        common::post_json(http, &base, bearer, path, body).await
    };
    let department = post(
        "/api/v1/admin/departments",
        &admin,
        json!({"name": "浙江省市场监督管理局", "uscc": "91350100M000100Y43", "level": "province"}),
    )
    .await;
    let department_id = department["id"].as_str().unwrap();
    let system = post(
        "/api/v1/admin/clients",
        &admin,
        json!({"name": "bench system", "confidential": true, "scopes": ["seal:use"],
               "grant_types": ["client_credentials"], "department_id": department_id}),
    )
    .await;
    let seal = post(
        &format!("/api/v1/departments/{department_id}/seals"),
        &admin,
        json!({"kind": "official", "name": "行政审批专用章"}),
    )
    .await;
    let seal = seal["id"].as_str().unwrap().to_owned();
    post(
        &format!("/api/v1/seals/{seal}/grants"),
        &admin,
        json!({"client_id": system["client_id"]}),
    )
    .await;
    let token = common::access_token(
        http,
        &base,
        system["client_id"].as_str().unwrap(),
        system["client_secret"].as_str().unwrap(),
    )
    .await;
    Sealing {
        server,
        base,
        seal,
        token,
    }
}

impl Sealing {
    async fn cades_per_second(&self, http: &reqwest::Client, digests: &[String]) -> f64 {
        let started = Instant::now();
        let r = http
            .post(format!("{}/api/v1/seals/{}/cades", self.base, self.seal))
            .bearer_auth(&self.token)
            .json(&json!({ "digests": digests }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        digests.len() as f64 / started.elapsed().as_secs_f64()
    }

    async fn pades_per_second(&self, http: &reqwest::Client, pdf: &[u8]) -> f64 {
        let started = Instant::now();
        for _ in 0..PDFS {
            let r = http
                .post(format!("{}/api/v1/seals/{}/pades", self.base, self.seal))
                .bearer_auth(&self.token)
                .header("content-type", "application/pdf")
                .body(pdf.to_vec())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let _ = r.bytes().await.unwrap();
        }
        PDFS as f64 / started.elapsed().as_secs_f64()
    }
}

fn spread(mut values: Vec<f64>) -> String {
    values.sort_by(f64::total_cmp);
    format!(
        "{:.0}/s ({:.0}–{:.0})",
        values[values.len() / 2],
        values[0],
        values[values.len() - 1]
    )
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some(hsm) = SoftHsm::new() else {
        println!("hsm_load: skipped, no SoftHSM2");
        return;
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let pkcs11 = hsm.config(&["issuing-ca", "seal", "tsa"]);
    let token_env = [
        (
            "TONGBAN_KEYS_PKCS11_MODULE",
            pkcs11.module.unwrap().display().to_string(),
        ),
        ("TONGBAN_KEYS_PKCS11_TOKEN_LABEL", pkcs11.token_label),
        (
            "TONGBAN_KEYS_PKCS11_PIN_FILE",
            pkcs11.pin_file.unwrap().display().to_string(),
        ),
        (
            "TONGBAN_KEYS_PKCS11_PURPOSES",
            "issuing-ca,seal,tsa".to_owned(),
        ),
    ];
    let kek = sealing(&http, "kek", &[]).await;
    let token = sealing(&http, "token", &token_env).await;
    let digests: Vec<String> = (0..DIGESTS as u32)
        .map(|i| tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(&i.to_be_bytes())))
        .collect();
    let pdf = support::sample_pdf(2, 20_000);
    // A first round each, not counted: keys opened, pages of the database warm.
    for side in [&kek, &token] {
        side.cades_per_second(&http, &digests).await;
        side.pades_per_second(&http, &pdf).await;
    }
    let (mut cades, mut pades) = ([vec![], vec![]], [vec![], vec![]]);
    let mut raw = vec![];
    for _ in 0..ROUNDS {
        for (i, side) in [&kek, &token].into_iter().enumerate() {
            cades[i].push(side.cades_per_second(&http, &digests).await);
            pades[i].push(side.pades_per_second(&http, &pdf).await);
        }
        raw.push(common::raw_es256(1.0));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "tongban HSM bench: release binaries, SQLite, SoftHSM2 2.6, {cores} cores shared with the client; medians of {ROUNDS} rounds (min–max)"
    );
    let [cades_kek, cades_token] = cades;
    let [pades_kek, pades_token] = pades;
    println!(
        "  CAdES B-T digest signatures, batches of {DIGESTS}: KEK {}; PKCS#11 token {}",
        spread(cades_kek),
        spread(cades_token)
    );
    println!(
        "  PAdES B-T seals of a 20 KB PDF, {PDFS} in a row: KEK {}; PKCS#11 token {}",
        spread(pades_kek),
        spread(pades_token)
    );
    println!(
        "  raw ring ES256 signs on {cores} cores: {} (a B-T signature is 2 signs)",
        spread(raw)
    );
    drop((kek.server, token.server));
}
