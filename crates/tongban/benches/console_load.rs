//! Console pages under 32 concurrent staff, against the real `tongban` binary (release
//! build) on an empty database: 32 people of one department (administrator, seal
//! administrator, seal user and issuer there) sign in with a password through the
//! account page, then each keeps asking for a console page with its own session. Time
//! to first byte (the answer's status line and headers) per request: p50, p99 and the
//! range, per page, beside `/healthz` at the same concurrency (the HTTP stack with no
//! session, no database and no template: the floor a page cannot go under).
//!
//! `cargo bench -p tongban --bench console_load` (SQLite); set
//! `TONGBAN_BENCH_DATABASE_URL` for PostgreSQL. `STAFF=32 REQUESTS=40` (per person and
//! page). The load generator shares the machine's cores with the server. Prints
//! figures; asserts only that every page came back 200.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

const PASSWORD: &str = "the clerks keep long passphrases";
const USCC: &str = "11350000003592744G";

fn count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Each of `sessions` asks for `path` `per_session` times, all at once; the times to
/// first byte in milliseconds, sorted.
async fn ttfb(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    sessions: &[String],
    per_session: usize,
) -> Vec<f64> {
    let mut workers = tokio::task::JoinSet::new();
    for session in sessions {
        let (http, url, session) = (http.clone(), format!("{base}{path}"), session.clone());
        workers.spawn(async move {
            let mut times = Vec::with_capacity(per_session);
            for _ in 0..per_session {
                let started = Instant::now();
                let answer = http
                    .get(&url)
                    .header("cookie", &session)
                    .send()
                    .await
                    .unwrap();
                times.push(started.elapsed().as_secs_f64() * 1000.0);
                assert_eq!(answer.status(), 200, "{url}");
                answer.bytes().await.unwrap();
            }
            times
        });
    }
    let mut all = Vec::new();
    while let Some(done) = workers.join_next().await {
        all.extend(done.unwrap());
    }
    all.sort_by(f64::total_cmp);
    all
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let staff = count("STAFF", 32);
    let requests = count("REQUESTS", 40);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(staff)
        .build()
        .unwrap();
    let database = std::env::var("TONGBAN_BENCH_DATABASE_URL").ok();
    let engine = if database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let (server, admin_id, admin_secret) = common::start(&http, database, &[]).await;
    let base = server.base.clone();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "tongban console load: release binary, {engine}, {cores} cores shared with the load generator, \
         {staff} staff at once, {requests} requests each per page"
    );

    // The department and its staff, through the admin API.
    let bearer = common::access_token(&http, &base, &admin_id, &admin_secret).await;
    let department = common::post_json(
        &http,
        &base,
        &bearer,
        "/api/v1/admin/departments",
        json!({"name": "福建省市场监督管理局", "uscc": USCC, "level": "province"}),
    )
    .await;
    let department = department["id"].as_str().unwrap().to_owned();
    let mut sessions = Vec::with_capacity(staff);
    for i in 0..staff {
        let resident_id = support::logins::resident_id(i);
        let person = common::post_json(
            &http,
            &base,
            &bearer,
            "/api/v1/admin/persons",
            json!({"name": format!("工作人员{i}"), "resident_id": resident_id, "password": PASSWORD}),
        )
        .await;
        common::post_json(
            &http,
            &base,
            &bearer,
            &format!("/api/v1/admin/departments/{department}/staff"),
            json!({"subject_id": person["id"], "staff_number": format!("FJ-{i:03}"),
                   "roles": ["dept-admin", "seal-admin", "seal-user", "issuer"]}),
        )
        .await;
        sessions.push(sign_in(&http, &base, &resident_id).await);
    }
    let sessions = Arc::new(sessions);

    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>9}   (ms to first byte, {} requests)",
        "page",
        "p50",
        "p99",
        "min",
        "max",
        staff * requests
    );
    let floor = ttfb(&http, &base, "/healthz", &sessions, requests).await;
    print_row("/healthz (the floor)", &floor);
    for path in [
        "/console",
        "/console/audit",
        "/console/seals",
        "/console/certificates",
        "/console/overview",
    ] {
        let before = common::cpu_ticks();
        let times = ttfb(&http, &base, path, &sessions, requests).await;
        let stolen = common::stolen_percent(before, common::cpu_ticks());
        print_row(path, &times);
        if stolen >= 1.0 {
            println!("{:<28} (the hypervisor took {stolen:.0} % of the CPU)", "");
        }
    }
    drop(server);
}

/// Signs in with a password through the account page; the session cookie.
async fn sign_in(http: &reqwest::Client, base: &str, resident_id: &str) -> String {
    let login = support::form_login(http, base, resident_id, PASSWORD)
        .await
        .unwrap();
    assert_eq!(login.status(), 303, "the password login");
    format!(
        "__Host-tongban-session={}",
        support::set_cookie(&login, "__Host-tongban-session").unwrap()
    )
}

fn print_row(label: &str, sorted: &[f64]) {
    println!(
        "{label:<28} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
        common::percentile(sorted, 0.5),
        common::percentile(sorted, 0.99),
        sorted[0],
        sorted[sorted.len() - 1],
    );
}
