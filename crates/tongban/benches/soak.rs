//! Soak: the release binary under a mixed load for ten minutes, bounded (a fixed number
//! of clients, each sending its next request when the last was answered) and on
//! loopback. The mix is what a platform serves all day: client_credentials tokens,
//! password logins through the login form, CAdES seals (a signature and a time-stamp
//! each), PAdES seals of a small PDF, certificate issuance, and public verification of
//! a certificate. Prints, per operation, the count, errors and p50/p99; the server's
//! resident memory, read every second, as each `SAMPLE`-second window's median and
//! highest reading; and whether the medians stayed within 10 % after the warm-up (the
//! first fifth). Asserts nothing: a benchmark, not a timed test.
//!
//! `cargo bench -p tongban --bench soak` (SQLite); `TONGBAN_BENCH_DATABASE_URL` for
//! PostgreSQL (a fresh schema there). `SOAK_SECS=600 SOAK_CLIENTS=8 SAMPLE=30`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PASSWORD: &str = "a soak test's long passphrase";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The operations, each as often as its weight says, in a fixed round.
const MIX: [(&str, usize); 6] = [
    ("token", 4),
    ("verify", 4),
    ("seal-cades", 3),
    ("issue", 2),
    ("seal-pades", 1),
    ("login", 1),
];

/// What every client shares: where to send, with what.
struct Load {
    http: reqwest::Client,
    base: String,
    system: (String, String),
    /// The system's access token, renewed before it expires as a client does.
    token: std::sync::RwLock<String>,
    seal: String,
    type_code: String,
    credential: Value,
    person: String,
    pdf: Vec<u8>,
    serial: AtomicUsize,
}

impl Load {
    fn token(&self) -> String {
        self.token.read().map(|t| t.clone()).unwrap_or_default()
    }

    /// One `operation`; why it failed, if it did.
    async fn run(&self, operation: &str) -> Result<(), String> {
        let (base, http) = (&self.base, &self.http);
        let answer = match operation {
            "token" => Ok(common::token(http, base, &self.system.0, &self.system.1).await),
            "verify" => {
                http.post(format!("{base}/api/v1/certificates/verify"))
                    .json(&json!({"credential": self.credential}))
                    .send()
                    .await
            }
            "seal-cades" => {
                let n = self.serial.fetch_add(1, Ordering::Relaxed);
                let digest = tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(
                    format!("document {n}").as_bytes(),
                ));
                http.post(format!("{base}/api/v1/seals/{}/cades", self.seal))
                    .bearer_auth(self.token())
                    .json(&json!({"digests": [digest]}))
                    .send()
                    .await
            }
            "seal-pades" => {
                http.post(format!("{base}/api/v1/seals/{}/pades", self.seal))
                    .bearer_auth(self.token())
                    .header("content-type", "application/pdf")
                    .body(self.pdf.clone())
                    .send()
                    .await
            }
            "issue" => {
                let n = self.serial.fetch_add(1, Ordering::Relaxed);
                http.post(format!("{base}/api/v1/certificates"))
                    .bearer_auth(self.token())
                    .json(&json!({"type": self.type_code,
                        "holder": {"id_number": support::logins::resident_id(n), "name": format!("持证人{n}")},
                        "face": {"name": format!("持证人{n}"), "licence_no": format!("JY{n:014}")}}))
                    .send()
                    .await
            }
            _ => support::form_login(http, base, &self.person, PASSWORD).await,
        };
        // A login answers 303 to the account page; the others 2xx.
        let answer = answer.map_err(|e| format!("no answer: {e}"))?;
        let status = answer.status();
        let body = answer
            .bytes()
            .await
            .map_err(|e| format!("{status}, body cut: {e}"))?;
        if status.is_success() || status == 303 {
            Ok(())
        } else {
            let text = String::from_utf8_lossy(&body);
            Err(format!(
                "{status} {}",
                text.chars().take(160).collect::<String>()
            ))
        }
    }
}

/// Resident memory of process `pid`, in MiB.
fn rss_mib(pid: u32) -> f64 {
    common::memory_mib(pid, "VmRSS")
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let secs = setting("SOAK_SECS", 600);
    let clients = setting("SOAK_CLIENTS", 8) as usize;
    let sample = setting("SAMPLE", 30);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    // PostgreSQL: a fresh schema in the database named, dropped at the end.
    let db = match std::env::var("TONGBAN_BENCH_DATABASE_URL") {
        Ok(admin_url) => Some(support::TestDb::postgres(&admin_url).await),
        Err(_) => None,
    };
    let database = db.as_ref().map(|db| db.url.clone());
    let engine = if database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let limit = [("TONGBAN_HTTP_VERIFY_PER_MINUTE", "1000000000".to_owned())];
    let (server, admin_id, admin_secret) = common::start(&http, database, &limit).await;
    let base = server.base.clone();
    let pid = server.child.id();
    let admin = common::access_token(&http, &base, &admin_id, &admin_secret).await;
    let post =
        async |path: &str, body: Value| common::post_json(&http, &base, &admin, path, body).await;

    // A department with a seal its system may use and a licence type that seal signs,
    // one certificate to verify, and a person who signs in with a password.
    let department = post(
        "/api/v1/admin/departments",
        json!({"name": "福建省市场监督管理局", "uscc": "11350000003592744G", "level": "province"}),
    )
    .await;
    let department = department["id"].as_str().unwrap().to_owned();
    let system = post(
        "/api/v1/admin/clients",
        json!({"name": "soak system", "confidential": true, "scopes": ["seal:use", "ecert:issue"],
               "grant_types": ["client_credentials"], "department_id": department}),
    )
    .await;
    let seal = post(
        &format!("/api/v1/departments/{department}/seals"),
        json!({"kind": "official", "name": "行政审批专用章"}),
    )
    .await;
    let seal = seal["id"].as_str().unwrap().to_owned();
    post(
        &format!("/api/v1/seals/{seal}/grants"),
        json!({"client_id": system["client_id"]}),
    )
    .await;
    let defined = post(
        &format!("/api/v1/departments/{department}/certificate-types"),
        json!({"sequence": "011", "name_zh": "食品经营许可证", "name_en": "Food business licence",
               "holder_category": "natural", "seal_id": seal, "validity_days": 1825,
               "face_schema": {"type": "object", "required": ["name", "licence_no"],
                               "properties": {"name": {"type": "string"},
                                              "licence_no": {"type": "string", "pattern": "^JY[0-9]{14}$"}}}}),
    )
    .await;
    let person = "440308199001011239".to_owned();
    post(
        "/api/v1/admin/persons",
        json!({"name": "李晓", "resident_id": person, "password": PASSWORD}),
    )
    .await;
    let system = (
        system["client_id"].as_str().unwrap().to_owned(),
        system["client_secret"].as_str().unwrap().to_owned(),
    );
    let token = common::access_token(&http, &base, &system.0, &system.1).await;
    let type_code = defined["code"].as_str().unwrap().to_owned();
    let first = common::post_json(
        &http,
        &base,
        &token,
        "/api/v1/certificates",
        json!({"type": type_code, "holder": {"id_number": person, "name": "李晓"},
               "face": {"name": "李晓", "licence_no": "JY00000000000000"}}),
    )
    .await;
    let load = Arc::new(Load {
        http: http.clone(),
        base: base.clone(),
        system,
        token: std::sync::RwLock::new(token),
        seal,
        type_code,
        credential: first["credential"].clone(),
        person,
        pdf: support::documents::sample_pdf(2, 20_000),
        serial: AtomicUsize::new(1),
    });

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "tongban soak: {} binary, {engine}, {cores} cores shared with the load generator, \
         {clients} clients for {secs} s, mix {MIX:?}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let mut workers = tokio::task::JoinSet::new();
    for c in 0..clients {
        let load = load.clone();
        workers.spawn(async move {
            let round: Vec<&str> = MIX
                .iter()
                .flat_map(|(name, weight)| std::iter::repeat_n(*name, *weight))
                .collect();
            let mut seen: BTreeMap<&str, (Vec<f64>, usize)> = BTreeMap::new();
            let mut why: BTreeMap<String, usize> = BTreeMap::new();
            // Each client starts at another place in the round.
            let mut i = c * 3;
            while Instant::now() < until {
                let operation = round[i % round.len()];
                i += 1;
                let sent = Instant::now();
                let outcome = load.run(operation).await;
                let entry = seen.entry(operation).or_default();
                entry.0.push(sent.elapsed().as_secs_f64() * 1000.0);
                if let Err(reason) = outcome {
                    entry.1 += 1;
                    *why.entry(format!("{operation}: {reason}")).or_default() += 1;
                }
            }
            (seen, why)
        });
    }
    // A client renews its token well before it expires (tokens live ten minutes).
    let renewing = {
        let load = load.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(240)).await;
                let (id, secret) = &load.system;
                let fresh = common::access_token(&load.http, &load.base, id, secret).await;
                if let Ok(mut token) = load.token.write() {
                    *token = fresh;
                }
            }
        })
    };
    // Resident memory read every second; each window of `sample` seconds is reported
    // as its median and its highest reading. A leak shows in the medians; a burst of
    // in-flight work (several seals or logins at once) in the highest.
    let mut memory: Vec<(u64, f64, f64)> = Vec::new();
    while Instant::now() < until {
        let window_start = started.elapsed().as_secs();
        let window_end = (Instant::now() + Duration::from_secs(sample)).min(until);
        let mut readings = Vec::new();
        while Instant::now() < window_end {
            readings.push(rss_mib(pid));
            tokio::time::sleep(Duration::from_secs(1).min(window_end - Instant::now())).await;
        }
        readings.sort_by(f64::total_cmp);
        let median = common::percentile(&readings, 0.5);
        let highest = readings.last().copied().unwrap_or(median);
        memory.push((window_start, median, highest));
        println!("  {window_start:>5} s  RSS median {median:>7.1} MiB, highest {highest:>7.1} MiB");
    }
    let mut all: BTreeMap<&str, (Vec<f64>, usize)> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(done) = workers.join_next().await {
        let (seen, why) = done.unwrap();
        for (operation, (times, errors)) in seen {
            let entry = all.entry(operation).or_default();
            entry.0.extend(times);
            entry.1 += errors;
        }
        for (reason, n) in why {
            *reasons.entry(reason).or_default() += n;
        }
    }
    renewing.abort();
    println!(
        "  {:>5} s  RSS {:>7.1} MiB (the load ended)",
        started.elapsed().as_secs(),
        rss_mib(pid)
    );

    println!(
        "{:<12} {:>9} {:>7} {:>9} {:>9} {:>9}",
        "operation", "count", "errors", "per s", "p50 ms", "p99 ms"
    );
    let mut errors = 0;
    for (operation, (mut times, failed)) in all {
        times.sort_by(f64::total_cmp);
        errors += failed;
        println!(
            "{operation:<12} {:>9} {failed:>7} {:>9.1} {:>9.2} {:>9.2}",
            times.len(),
            times.len() as f64 / secs as f64,
            common::percentile(&times, 0.5),
            common::percentile(&times, 0.99),
        );
    }
    for (reason, n) in &reasons {
        println!("  {n:>6} × {reason}");
    }
    // Flat after the warm-up: the windows' medians after the first fifth within 10 % of
    // the first of them; the highest reading is shown beside it.
    let warm: Vec<(f64, f64)> = memory
        .iter()
        .filter(|(at, _, _)| *at >= secs / 5)
        .map(|(_, median, highest)| (*median, *highest))
        .collect();
    if let Some(&(first, _)) = warm.first() {
        let (low, high) = warm
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &(m, _)| (l.min(m), h.max(m)));
        let peak = warm.iter().map(|(_, h)| *h).fold(f64::MIN, f64::max);
        let spread = (high - low) / first * 100.0;
        let peak_above = (peak - first) / first * 100.0;
        println!(
            "errors {errors}; RSS after warm-up: window medians {low:.1}–{high:.1} MiB, spread {spread:.1} % of {first:.1} MiB ({}); highest reading {peak:.1} MiB ({peak_above:+.1} %)",
            if spread <= 10.0 {
                "flat within 10 %"
            } else {
                "NOT flat within 10 %"
            }
        );
    }
    drop(server);
    drop(db);
}
