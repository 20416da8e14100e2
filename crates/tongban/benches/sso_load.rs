//! SSO load benchmark with fixed request counts, against the real `tongban` binary
//! (release build) on an empty database, with the raw limits measured in the same run
//! on the same cores:
//!
//! - client_credentials tokens/s beside ring's raw ES256 signatures/s;
//! - password logins/s beside raw argon2id hashes/s with the platform's parameters;
//! - SSO rounds/s with an existing session (authorize → code → token).
//!
//! `cargo bench -p tongban --bench sso_load` (SQLite); set `TONGBAN_BENCH_DATABASE_URL`
//! for PostgreSQL. Counts: `TOKENS=20000 LOGINS=200 ROUNDS=5000 CONCURRENCY=32`. The
//! load generator shares the machine's cores with the server. Prints figures; asserts
//! only that every answer was the expected one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::{Value, json};

const PASSWORD: &str = "green mountains and blue seas";
const RESIDENT_ID: &str = "11010519491231002X";
const REDIRECT: &str = "https://portal.bench.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `total` calls of `job` with `concurrency` workers; returns calls per second.
async fn run<F, Fut>(total: usize, concurrency: usize, job: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (job, next) = (job.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                job(i).await;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// argon2id hashes per second on all cores with the platform's parameters.
fn raw_argon2(per_thread: usize) -> f64 {
    use tongban_identity::password::{ITERATIONS, MEMORY_KIB, PARALLELISM};
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(move || {
                let params =
                    argon2::Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap();
                let argon2 = argon2::Argon2::new(
                    argon2::Algorithm::Argon2id,
                    argon2::Version::V0x13,
                    params,
                );
                let mut out = [0u8; 32];
                for _ in 0..per_thread {
                    argon2
                        .hash_password_into(PASSWORD.as_bytes(), b"bench-salt-16byt", &mut out)
                        .unwrap();
                }
            });
        }
    });
    (threads * per_thread) as f64 / started.elapsed().as_secs_f64()
}

fn authorize_path(client_id: &str) -> String {
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "s"),
    ])
    .unwrap();
    format!("/authorize?{query}")
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tokens = count("TOKENS", 20_000);
    let logins = count("LOGINS", 200);
    let rounds = count("ROUNDS", 5_000);
    let concurrency = count("CONCURRENCY", 32);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let database = std::env::var("TONGBAN_BENCH_DATABASE_URL").ok();
    let (server, admin_id, admin_secret) = common::start(&http, database, &[]).await;
    let base = server.base.clone();
    let engine = if std::env::var("TONGBAN_BENCH_DATABASE_URL").is_ok() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "tongban SSO load: release binary, {engine}, {cores} cores shared with the load generator"
    );

    // Seed through the admin API.
    let admin: Value = common::token(&http, &base, &admin_id, &admin_secret)
        .await
        .json()
        .await
        .unwrap();
    let bearer = admin["access_token"].as_str().unwrap().to_owned();
    let post = async |path: &str, body: Value| -> Value {
        let r = http
            .post(format!("{base}{path}"))
            .bearer_auth(&bearer)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    };
    post(
        "/api/v1/admin/persons",
        json!({"name": "张三", "resident_id": RESIDENT_ID, "password": PASSWORD}),
    )
    .await;
    let portal = post(
        "/api/v1/admin/clients",
        json!({"name": "Portal", "confidential": true, "redirect_uris": [REDIRECT],
               "scopes": ["openid", "profile"], "grant_types": ["authorization_code", "refresh_token"],
               "first_party": true}),
    )
    .await;
    let system = post(
        "/api/v1/admin/clients",
        json!({"name": "System", "confidential": true, "scopes": ["api"],
               "grant_types": ["client_credentials"]}),
    )
    .await;
    let portal_id = portal["client_id"].as_str().unwrap().to_owned();
    let portal_secret = portal["client_secret"].as_str().unwrap().to_owned();
    let system_id = system["client_id"].as_str().unwrap().to_owned();
    let system_secret = system["client_secret"].as_str().unwrap().to_owned();

    // 1. client_credentials.
    let es256 = common::raw_es256(2.0);
    let tokens_per_sec = {
        let (http, base) = (http.clone(), base.clone());
        run(tokens, concurrency, move |_| {
            let (http, base, id, secret) = (
                http.clone(),
                base.clone(),
                system_id.clone(),
                system_secret.clone(),
            );
            async move {
                let r = common::token(&http, &base, &id, &secret).await;
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await;
            }
        })
        .await
    };
    println!("client_credentials: {tokens} requests, concurrency {concurrency}");
    println!(
        "  {tokens_per_sec:.0} tokens/s; raw ring ES256 {es256:.0} signatures/s on {cores} cores ({:.0} %)",
        100.0 * tokens_per_sec / es256
    );

    // 2. Password logins: forms opened first, then only the posts are timed.
    let mut forms = Vec::with_capacity(logins);
    for _ in 0..logins {
        let page = http
            .get(format!("{base}{}", authorize_path(&portal_id)))
            .send()
            .await
            .unwrap();
        let flow = support::set_cookie(&page, "__Host-tongban-flow").unwrap();
        let html = page.text().await.unwrap();
        let csrf = support::csrf_of(&html);
        forms.push((flow, csrf));
    }
    let forms = Arc::new(forms);
    let argon2 = raw_argon2(count("HASHES", 40));
    let sessions = Arc::new(std::sync::Mutex::new(Vec::new()));
    let logins_per_sec = {
        let (http, base, forms, sessions) =
            (http.clone(), base.clone(), forms.clone(), sessions.clone());
        run(logins, cores * 2, move |i| {
            let (http, base, forms, sessions) =
                (http.clone(), base.clone(), forms.clone(), sessions.clone());
            async move {
                let (flow, csrf) = &forms[i];
                let r = http
                    .post(format!("{base}/login"))
                    .header("cookie", format!("__Host-tongban-flow={flow}"))
                    .form(&[
                        ("csrf_token", csrf.as_str()),
                        ("identifier", RESIDENT_ID),
                        ("password", PASSWORD),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 303);
                sessions
                    .lock()
                    .unwrap()
                    .push(support::set_cookie(&r, "__Host-tongban-session").unwrap());
            }
        })
        .await
    };
    println!(
        "password logins: {logins} logins, concurrency {}",
        cores * 2
    );
    println!(
        "  {logins_per_sec:.1} logins/s; raw argon2id (m=19 MiB, t=2, p=1) {argon2:.1} hashes/s on {cores} cores ({:.0} %)",
        100.0 * logins_per_sec / argon2
    );

    // 3. SSO rounds with an existing session.
    let session = sessions.lock().unwrap()[0].clone();
    let rounds_per_sec = {
        let (http, base) = (http.clone(), base.clone());
        run(rounds, concurrency, move |_| {
            let (http, base, id, secret, session) = (
                http.clone(),
                base.clone(),
                portal_id.clone(),
                portal_secret.clone(),
                session.clone(),
            );
            async move {
                let r = http
                    .get(format!("{base}{}", authorize_path(&id)))
                    .header("cookie", format!("__Host-tongban-session={session}"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 303);
                let location = r.headers()["location"].to_str().unwrap().to_owned();
                let code = support::query_param(&location, "code").expect("a code");
                let t = http
                    .post(format!("{base}/token"))
                    .basic_auth(&id, Some(&secret))
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", REDIRECT),
                        ("code_verifier", VERIFIER),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(t.status(), 200);
                let _ = t.bytes().await;
            }
        })
        .await
    };
    println!(
        "SSO rounds (authorize with a session → code → token): {rounds} rounds, concurrency {concurrency}"
    );
    println!("  {rounds_per_sec:.0} rounds/s");
    drop(server);
}
