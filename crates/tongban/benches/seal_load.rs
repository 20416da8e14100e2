//! E-seal benchmark with fixed counts, against the real `tongban` binary (release) on
//! an empty SQLite database, beside PyPI pyHanko and ring on the same machine in the
//! same run:
//!
//! - sealing a 1 MB, 10-page PDF (PAdES B-T, visible seal) over HTTP, ms per document,
//!   beside pyHanko signing the same file B-T (own key, time-stamps from our TSA);
//! - validating the sealed PDF (`POST /api/v1/verify`) beside pyHanko validating it;
//! - CAdES digest signatures per second (batches of 1 000) beside raw ES256 signs/s;
//! - the server's peak RSS while sealing a 100 MB PDF.
//!
//! `cargo bench -p tongban --bench seal_load` after `tests/interop/run` has made the
//! Python environment (pyHanko figures are skipped without it). Prints figures;
//! asserts only that every answer was the expected one.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

mod common;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::{Value, json};

/// pyHanko's runs per figure: its times vary from run to run (see
/// `tests/bench/pyhanko_bench.py`), so its median needs more than a handful.
const PYHANKO_RUNS: usize = 20;

fn median(values: Vec<f64>) -> f64 {
    quantile(values, 0.5)
}

/// The value `q` (0–1) of the way through the sorted values.
fn quantile(mut values: Vec<f64>, q: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[((values.len() - 1) as f64 * q).round() as usize]
}

fn peak_rss_mib(pid: u32) -> f64 {
    common::memory_mib(pid, "VmHWM")
}

fn python() -> Option<std::path::PathBuf> {
    let path = support::repo_root().join("tests/interop/.venv/bin/python");
    path.exists().then_some(path)
}

/// pyHanko's median and fastest run in ms over the runs its script did not cut off, and
/// how many it cut off (see `tests/bench/pyhanko_bench.py`); or why there are none.
fn pyhanko(args: &[&str]) -> Result<(f64, f64, usize), String> {
    let python = python().ok_or("skipped (run tests/interop/run first)")?;
    let output = Command::new(python)
        .arg(support::repo_root().join("tests/bench/pyhanko_bench.py"))
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    let printed = String::from_utf8_lossy(&output.stdout);
    let mut words = printed.split_whitespace();
    let mut number = || words.next()?.parse::<f64>().ok();
    let failed = || String::from_utf8_lossy(&output.stderr).trim().to_owned();
    Ok((
        number().ok_or_else(failed)?,
        number().ok_or_else(failed)?,
        number().ok_or_else(failed)? as usize,
    ))
}

const PADES_ROUTE: &str = "/api/v1/seals/{id}/pades";

/// Seconds spent and requests answered with 200 on `route`, from the service's own
/// latency histogram.
async fn served(http: &reqwest::Client, base: &str, route: &str) -> (f64, f64) {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let labels = format!("{{method=\"POST\",route=\"{route}\",status=\"200\"}}");
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}{labels} ")))
            .map_or(0.0, |v| v.trim().parse::<f64>().unwrap())
    };
    (
        value("tongban_http_request_duration_seconds_sum"),
        value("tongban_http_request_duration_seconds_count"),
    )
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let (server, admin_id, admin_secret) = common::start(
        &http,
        None,
        &[
            (
                "TONGBAN_HTTP_DOCUMENT_LIMIT_BYTES",
                (256 * 1024 * 1024).to_string(),
            ),
            // The bench measures validation, not the per-address budget.
            ("TONGBAN_HTTP_VERIFY_PER_MINUTE", "1000000".to_string()),
        ],
    )
    .await;
    let base = server.base.clone();
    let dir = std::env::temp_dir().join(format!("tongban-seal-bench-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token = async |id: &str, secret: &str| -> String {
        common::access_token(&http, &base, id, secret).await
    };
    let admin_token = token(&admin_id, &admin_secret).await;
    let post = async |path: &str, bearer: &str, body: Value| -> Value {
        common::post_json(&http, &base, bearer, path, body).await
    };
    let department = post(
        "/api/v1/admin/departments",
        &admin_token,
        json!({"name": "浙江省市场监督管理局", "uscc": "91350100M000100Y43", "level": "province"}),
    )
    .await;
    let department_id = department["id"].as_str().unwrap();
    let system = post(
        "/api/v1/admin/clients",
        &admin_token,
        json!({"name": "bench system", "confidential": true, "scopes": ["seal:use"],
               "grant_types": ["client_credentials"], "department_id": department_id}),
    )
    .await;
    let seal = post(
        &format!("/api/v1/departments/{department_id}/seals"),
        &admin_token,
        json!({"kind": "official", "name": "行政审批专用章"}),
    )
    .await;
    let seal_id = seal["id"].as_str().unwrap().to_owned();
    post(
        &format!("/api/v1/seals/{seal_id}/grants"),
        &admin_token,
        json!({"client_id": system["client_id"]}),
    )
    .await;
    let system_token = token(
        system["client_id"].as_str().unwrap(),
        system["client_secret"].as_str().unwrap(),
    )
    .await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("tongban e-seal bench: release binary, SQLite, {cores} cores shared with the clients");

    // 1. Sealing a 1 MB, 10-page PDF.
    // Bytes: the client shares one buffer between runs instead of copying it.
    let pdf = Bytes::from(support::sample_pdf(10, 1024 * 1024));
    let pdf_file = dir.join("document.pdf");
    std::fs::write(&pdf_file, &pdf).unwrap();
    let seal_once = async |body: Bytes| -> Bytes {
        let r = http
            .post(format!("{base}/api/v1/seals/{seal_id}/pades?reason=bench"))
            .bearer_auth(&system_token)
            .header("content-type", "application/pdf")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap()
    };
    // More runs (TONGBAN_BENCH_SEAL_RUNS) give a profiler something to sample.
    let runs: usize = std::env::var("TONGBAN_BENCH_SEAL_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let served_before = served(&http, &base, PADES_ROUTE).await;
    let ticks_before = common::cpu_ticks();
    let mut times = Vec::new();
    let mut sealed = Bytes::new();
    for _ in 0..runs {
        let started = Instant::now();
        sealed = seal_once(pdf.clone()).await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // The tail too: a stall on one request in ten (a delayed ACK) leaves the median
    // as it was.
    let tail = quantile(times.clone(), 0.9);
    let ours = median(times);
    let served_after = served(&http, &base, PADES_ROUTE).await;
    let stolen = common::stolen_percent(ticks_before, common::cpu_ticks());
    let in_service =
        (served_after.0 - served_before.0) * 1000.0 / (served_after.1 - served_before.1);
    let sealed_file = dir.join("sealed.pdf");
    std::fs::write(&sealed_file, &sealed).unwrap();
    let theirs = pyhanko(&[
        "sign",
        pdf_file.to_str().unwrap(),
        &format!("{base}/pki/tsa"),
        &PYHANKO_RUNS.to_string(),
    ]);
    println!(
        "seal a {:.1} MB, 10-page PDF (PAdES B-T, visible seal), {runs} runs over HTTP ({stolen:.1} % of CPU time stolen by the hypervisor meanwhile)",
        pdf.len() as f64 / 1e6
    );
    match &theirs {
        Ok((theirs, fastest, capped)) => println!(
            "  {ours:.1} ms median ({tail:.1} ms p90); pyHanko signing the same file B-T: median {theirs:.1} ms ({:.1}×), fastest {fastest:.1} ms ({:.1}×), of its {} runs under 1 s ({capped} cut off)",
            theirs / ours,
            fastest / ours,
            PYHANKO_RUNS - capped
        ),
        Err(why) => println!("  {ours:.1} ms median ({tail:.1} ms p90); pyHanko: {why}"),
    }
    // The same seals as the service timed them: without the client, and without the
    // response body's transfer (which its latency histogram does not cover).
    match &theirs {
        Ok((theirs, fastest, _)) => println!(
            "  in the service (its /metrics): {in_service:.1} ms mean from request to response; pyHanko median {:.1}×, fastest {:.1}×",
            theirs / in_service,
            fastest / in_service
        ),
        Err(_) => println!("  in the service (its /metrics): {in_service:.1} ms mean"),
    }

    // 2. Validating it.
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let r = http
            .post(format!("{base}/api/v1/verify"))
            .header("content-type", "application/pdf")
            .body(sealed.clone())
            .send()
            .await
            .unwrap();
        let report: Value = r.json().await.unwrap();
        assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let ours = median(times);
    let root = dir.join("root.pem");
    let root_pem = http
        .get(format!("{base}/pki/ca/root.crt"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    std::fs::write(
        &root,
        tongban_crypto::pki::der_to_pem("CERTIFICATE", &root_pem),
    )
    .unwrap();
    let theirs = pyhanko(&[
        "validate",
        sealed_file.to_str().unwrap(),
        root.to_str().unwrap(),
        &PYHANKO_RUNS.to_string(),
    ]);
    let started = Instant::now();
    let _ = tongban_crypto::cms::sha256(&sealed);
    let hash_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "validate it (POST /api/v1/verify), {runs} runs; SHA-256 of the file alone: {hash_ms:.2} ms"
    );
    match theirs {
        Ok((theirs, fastest, _)) => println!(
            "  {ours:.1} ms median; pyHanko validating it: median {theirs:.1} ms ({:.1}×), fastest {fastest:.1} ms ({:.1}×)",
            theirs / ours,
            fastest / ours
        ),
        Err(why) => println!("  {ours:.1} ms median; pyHanko: {why}"),
    }

    // 3. CAdES digest signatures.
    let digests: Vec<String> = (0..1000u32)
        .map(|i| tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(&i.to_be_bytes())))
        .collect();
    let batches = 5;
    let started = Instant::now();
    for _ in 0..batches {
        let r = http
            .post(format!("{base}/api/v1/seals/{seal_id}/cades"))
            .bearer_auth(&system_token)
            .json(&json!({"digests": digests}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await;
    }
    let per_sec = (batches * 1000) as f64 / started.elapsed().as_secs_f64();
    let raw = common::raw_es256(2.0);
    println!(
        "CAdES B-T digest signatures: {batches} batches of 1 000 (each with its time-stamp and usage record)"
    );
    println!(
        "  {per_sec:.0} signatures/s; raw ring ES256 {raw:.0} signs/s on {cores} cores (a B-T signature is 2 signs)"
    );

    // 4. Peak RSS sealing a 100 MB PDF: first with its bytes in ten 10 MB streams (as a
    // scanned document's page images are), then in one 100 MB stream. The parser copies
    // each stream before the structure-only filter drops it, so the largest single
    // stream sets how far the peak rises above the file. The peak only grows, hence
    // this order.
    let scanned = support::sample_pdf_in_streams(10, 100 * 1024 * 1024, 10);
    let before = peak_rss_mib(server.child.id());
    let started = Instant::now();
    let out = seal_once(Bytes::from(scanned.clone())).await;
    let elapsed = started.elapsed().as_secs_f64();
    let after = peak_rss_mib(server.child.id());
    println!(
        "seal a {:.0} MB PDF (ten 10 MB streams): {elapsed:.1} s; server peak RSS {before:.0} MiB before, {after:.0} MiB after ({:.2}× the file)",
        scanned.len() as f64 / 1e6,
        after / (scanned.len() as f64 / 1024.0 / 1024.0)
    );
    assert!(out.len() > scanned.len());
    drop((out, scanned));
    let big = support::sample_pdf(10, 100 * 1024 * 1024);
    let before = peak_rss_mib(server.child.id());
    let started = Instant::now();
    let out = seal_once(Bytes::from(big.clone())).await;
    let elapsed = started.elapsed().as_secs_f64();
    let after = peak_rss_mib(server.child.id());
    println!(
        "seal a {:.0} MB PDF (one 100 MB stream): {elapsed:.1} s; server peak RSS {before:.0} MiB before, {after:.0} MiB after ({:.2}× the file)",
        big.len() as f64 / 1e6,
        after / (big.len() as f64 / 1024.0 / 1024.0)
    );
    assert!(out.len() > big.len());
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
