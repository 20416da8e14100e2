//! E-certificate benchmark with fixed counts, against the real `tongban` binary
//! (release), on SQLite and, when `TONGBAN_BENCH_DATABASE_URL` names a PostgreSQL
//! database, on a fresh schema there too; beside ring's raw ES256 rates measured in the
//! same run:
//!
//! - batch issuance of 100 000 certificates (10 jobs of 10 000 rows through
//!   `POST /api/v1/certificate-jobs`; each signed, stored, status-listed and audited):
//!   certificates per second, beside raw ES256 signs/s;
//! - verification of presented VC-JWTs over HTTP (`POST /api/v1/certificates/verify`,
//!   32 concurrent clients, 5 000 distinct credentials, each verified once first):
//!   verifications per second in five rounds, each beside raw ES256 verifies/s (of
//!   one of these credentials, with its key: the SHA-256 of its signing input too) and
//!   the same clients' rate on `GET /healthz`, as medians with their range; then the
//!   same with the server (a second instance on the database) and the clients on
//!   separate cores, beside raw ES256 verify on the server's cores;
//! - department lookup latency (`GET /api/v1/certificates?holder=…` and
//!   `GET /api/v1/certificates/{identifier}`), p50/p99, with 10 000, 100 000 and
//!   1 000 000 certificates stored (the last 900 000 inserted directly, as rows of the
//!   same shape, because only the table sizes matter for lookups).
//!
//! `cargo bench -p tongban --bench ecert_load`. Prints figures; asserts only that every
//! answer was the expected one. `TONGBAN_BENCH_QUICK=1` (for development, not for the
//! figures) issues one job and skips the million-row lookups.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

mod common;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const JOBS: usize = 10;
const ROWS: usize = 10_000;
/// Verifications in one measured round.
const VERIFICATIONS: usize = 10_000;
/// Measured rounds of verification, each beside raw verification and `/healthz`.
const ROUNDS: usize = 5;
const CONCURRENCY: usize = 32;
/// Distinct credentials the verifications cycle through.
const CREDENTIALS: usize = 5_000;
const LOOKUPS: usize = 1_000;

struct Bench {
    http: reqwest::Client,
    base: String,
    token: String,
    code: String,
}

impl Bench {
    async fn submit(&self, first: usize) -> String {
        let rows: Vec<Value> = (first..first + ROWS)
            .map(|i| {
                json!({"holder": {"id_number": support::resident_id(i), "name": format!("持证人{i}")},
                       "face": {"name": format!("持证人{i}"), "licence_no": format!("JY{i:014}")}})
            })
            .collect();
        let r = self
            .http
            .post(format!("{}/api/v1/certificate-jobs", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"type": self.code, "rows": rows}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let job: Value = r.json().await.unwrap();
        job["id"].as_str().unwrap().to_owned()
    }

    async fn wait(&self, jobs: &[String]) {
        for job in jobs {
            loop {
                let state: Value = self
                    .http
                    .get(format!("{}/api/v1/certificate-jobs/{job}", self.base))
                    .bearer_auth(&self.token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if state["state"] == "done" {
                    assert_eq!(state["issued"], ROWS, "{state}");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// p50 and p99 in ms of lookups by holder and by identifier, one at a time.
    async fn lookups(&self, store: &tongban_store::Store) -> ((f64, f64), (f64, f64)) {
        let sample: Vec<(String, String)> = {
            let mut conn = store.conn().await.unwrap();
            sqlx::query_as(
                "SELECT s.resident_id, e.identifier FROM ecerts e JOIN subjects s ON s.id = e.holder_id \
                 WHERE e.credential <> 'x' ORDER BY e.identifier DESC LIMIT $1",
            )
            .bind(LOOKUPS as i64)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
        };
        let mut by_holder = Vec::new();
        let mut by_identifier = Vec::new();
        for (holder, identifier) in &sample {
            let started = Instant::now();
            let r = self
                .http
                .get(format!(
                    "{}/api/v1/certificates?holder={holder}&purpose=bench",
                    self.base
                ))
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let found: Value = r.json().await.unwrap();
            by_holder.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(found.as_array().unwrap().len(), 1);
            let started = Instant::now();
            let r = self
                .http
                .get(format!(
                    "{}/api/v1/certificates/{identifier}?purpose=bench",
                    self.base
                ))
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
            by_identifier.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        by_holder.sort_by(f64::total_cmp);
        by_identifier.sort_by(f64::total_cmp);
        (
            (
                common::percentile(&by_holder, 0.5),
                common::percentile(&by_holder, 0.99),
            ),
            (
                common::percentile(&by_identifier, 0.5),
                common::percentile(&by_identifier, 0.99),
            ),
        )
    }
}

/// Requests per second of `count` requests from `CONCURRENCY` clients: POSTs
/// of `bodies` in turn (each answer a valid report), or GETs when there are none.
async fn load(
    http: &reqwest::Client,
    url: &str,
    bodies: Option<std::sync::Arc<Vec<String>>>,
    count: usize,
) -> f64 {
    let per_client = count / CONCURRENCY;
    // Parsed once: a URL parsed per request (IDNA included) is the client's cost, not
    // the server's.
    let url = reqwest::Url::parse(url).unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CONCURRENCY {
        let (http, url, bodies) = (http.clone(), url.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                let request = match &bodies {
                    Some(bodies) => http
                        .post(url.clone())
                        .header("content-type", "application/json")
                        .body(bodies[(client * per_client + i) % bodies.len()].clone()),
                    None => http.get(url.clone()),
                };
                let answer = request.send().await.unwrap();
                assert_eq!(answer.status(), 200);
                let answer = answer.bytes().await.unwrap();
                // The verdict alone, as a verifier acting on it reads it: the client
                // shares the cores with the server, and building the whole report as
                // a tree here would be counted against the server.
                if bodies.is_some() {
                    let verdict: Verdict = serde_json::from_slice(&answer).unwrap();
                    assert!(verdict.valid, "{}", String::from_utf8_lossy(&answer));
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    (per_client * CONCURRENCY) as f64 / started.elapsed().as_secs_f64()
}

/// Verification with the server and its load on separate cores: a second instance on
/// the same database confined to the upper half of the cores, the load generator to the
/// lower, and raw verify measured on the server's cores. On shared cores (above) the
/// generator's CPU is counted against the server; a verifier's clients run elsewhere.
async fn apart(
    http: &reqwest::Client,
    engine: &str,
    database: &str,
    settings: &[(&str, String)],
    credentials: &std::sync::Arc<Vec<String>>,
    sample: &str,
    cores: usize,
) {
    let server_cpus = format!("{}-{}", cores - cores / 2, cores - 1);
    let client_cpus = format!("0-{}", cores - cores / 2 - 1);
    let every_cpu = format!("0-{}", cores - 1);
    let (server, _, _) = common::start_on(
        http,
        Some(database.to_owned()),
        settings,
        Some(&server_cpus),
    )
    .await;
    let url = format!("{}/api/v1/certificates/verify", server.base);
    let (pid, me) = (server.child.id(), std::process::id());
    common::pin(me, &client_cpus);
    // This instance's register cache starts empty: one pass over every credential.
    load(http, &url, Some(credentials.clone()), CREDENTIALS).await;
    let (mut shares, mut verifieds, mut raws, mut cpu) = (vec![], vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        let before = common::cpu_seconds(pid);
        let verified = load(http, &url, Some(credentials.clone()), VERIFICATIONS).await;
        cpu.push((common::cpu_seconds(pid) - before) / VERIFICATIONS as f64 * 1e6);
        // The threads raw verify starts inherit the server's cores from this one.
        common::pin(me, &server_cpus);
        let raw = common::raw_es256_verify(1.0, sample);
        common::pin(me, &client_cpus);
        verifieds.push(verified);
        raws.push(raw);
        shares.push(100.0 * verified / raw);
    }
    common::pin(me, &every_cpu);
    drop(server);
    let (verified, v_min, v_max) = spread(verifieds);
    let (raw, r_min, r_max) = spread(raws);
    let (share, s_min, s_max) = spread(shares);
    let (cpu, c_min, c_max) = spread(cpu);
    println!(
        "[{engine}] verification over HTTP, server on CPU {server_cpus} and the load on CPU {client_cpus}, median of {ROUNDS} rounds of {VERIFICATIONS} (min–max): {verified:.0}/s ({v_min:.0}–{v_max:.0}) = {share:.0} % ({s_min:.0}–{s_max:.0} %) of raw ES256 verify on CPU {server_cpus} {raw:.0}/s ({r_min:.0}–{r_max:.0}) (goal ≥ 50 %); server CPU per verification {cpu:.0} µs ({c_min:.0}–{c_max:.0})"
    );
}

/// The median, least and greatest of `values`.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        common::percentile(&values, 0.5),
        values[0],
        values[values.len() - 1],
    )
}

/// What the load reads of a verification report.
#[derive(serde::Deserialize)]
struct Verdict {
    valid: bool,
}

/// Adds `count` certificates of the same shape (and their holders) straight to the
/// tables, so that lookups can be timed at a million rows without issuing them all.
async fn fill(store: &tongban_store::Store, count: i64) {
    let mut conn = store.conn().await.unwrap();
    let (type_id, department_id, seal_id, list_id): (String, String, String, String) =
        sqlx::query_as(
            "SELECT type_id, department_id, seal_id, status_list_id FROM ecerts LIMIT 1",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let series = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)";
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{series} INSERT INTO subjects (id, kind, name, resident_id, created_at) \
         SELECT 'fill-' || i, 'natural', 'fill', 'F' || i, 0 FROM n"
    )))
    .bind(count)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{series} INSERT INTO ecerts (id, identifier, type_id, department_id, seal_id, holder_id, serial, \
         version, status, face, credential, status_list_id, status_index, valid_from, issued_by, issued_at, updated_at) \
         SELECT 'fill-' || i, 'fill-' || i, $2, $3, $4, 'fill-' || i, 'fill', 1, 'active', '{{}}', 'x', $5, \
         1000000 + i, 0, 'bench', 0, 0 FROM n"
    )))
    .bind(count)
    .bind(type_id)
    .bind(department_id)
    .bind(seal_id)
    .bind(list_id)
    .execute(&mut *conn)
    .await
    .unwrap();
    if store.engine() == tongban_store::Engine::Postgres {
        sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
    }
}

async fn run(http: &reqwest::Client, engine: &str, database: String) {
    let unthrottled = [("TONGBAN_HTTP_VERIFY_PER_MINUTE", "1000000000".to_owned())];
    let (server, admin_id, admin_secret) =
        common::start(http, Some(database.clone()), &unthrottled).await;
    let base = server.base.clone();
    let admin = common::access_token(http, &base, &admin_id, &admin_secret).await;
    let post = async |path: &str, body: Value| -> Value {
        common::post_json(http, &base, &admin, path, body).await
    };
    let department = post(
        "/api/v1/admin/departments",
        json!({"name": "国家市场监督管理总局", "uscc": "11100000000013338W", "level": "province"}),
    )
    .await;
    let department_id = department["id"].as_str().unwrap();
    let system = post(
        "/api/v1/admin/clients",
        json!({"name": "bench system", "confidential": true, "scopes": ["ecert:issue", "ecert:lookup"],
               "grant_types": ["client_credentials"], "department_id": department_id}),
    )
    .await;
    let seal = post(
        &format!("/api/v1/departments/{department_id}/seals"),
        json!({"kind": "official", "name": "电子证照专用章"}),
    )
    .await;
    let defined = post(
        &format!("/api/v1/departments/{department_id}/certificate-types"),
        json!({"sequence": "011", "name_zh": "食品经营许可证", "name_en": "Food business licence",
               "holder_category": "natural", "seal_id": seal["id"], "validity_days": 1825,
               "face_schema": {"type": "object", "required": ["name", "licence_no"],
                               "properties": {"name": {"type": "string"},
                                              "licence_no": {"type": "string", "pattern": "^JY[0-9]{14}$"}}}}),
    )
    .await;
    let bench = Bench {
        http: http.clone(),
        token: common::access_token(
            http,
            &base,
            system["client_id"].as_str().unwrap(),
            system["client_secret"].as_str().unwrap(),
        )
        .await,
        base: base.clone(),
        code: defined["code"].as_str().unwrap().to_owned(),
    };
    let store = tongban_store::Store::connect(&support::test_config(&database).database)
        .await
        .unwrap();

    // 1. Batch issuance: the first job alone (then lookups at 10 000), then nine more.
    let started = Instant::now();
    let first = bench.submit(0).await;
    bench.wait(&[first]).await;
    let mut issuing = started.elapsed();
    let at_10k = bench.lookups(&store).await;
    let started = Instant::now();
    let quick = std::env::var_os("TONGBAN_BENCH_QUICK").is_some();
    let job_count = if quick { 1 } else { JOBS };
    let mut jobs = Vec::new();
    for j in 1..job_count {
        jobs.push(bench.submit(j * ROWS).await);
    }
    bench.wait(&jobs).await;
    issuing += started.elapsed();
    let issued = (job_count * ROWS) as f64;
    let rate = issued / issuing.as_secs_f64();
    let raw_sign = common::raw_es256(2.0);
    println!(
        "[{engine}] batch issuance: {issued} certificates in {:.1} s = {rate:.0}/s (goal ≥ 3 300/s); raw ES256 sign {raw_sign:.0}/s",
        issuing.as_secs_f64()
    );

    // 2. Verification of presented credentials: distinct ones, as a verifier sees
    // them; beside the same clients' rate on /healthz, what HTTP alone costs on these
    // cores. A first pass over every credential fills the instance's register cache
    // (on PostgreSQL; SQLite never caches); the measured rounds after it are what a
    // busy verifier sees.
    let jwts: Vec<String> = {
        let mut conn = store.conn().await.unwrap();
        sqlx::query_scalar("SELECT credential FROM ecerts LIMIT $1")
            .bind(CREDENTIALS as i64)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    };
    // Raw verify checks one of the very credentials, with its key.
    let sample = jwts[0].clone();
    let credentials: Vec<String> = jwts
        .into_iter()
        .map(|c| json!({ "credential": c }).to_string())
        .collect();
    let credentials = std::sync::Arc::new(credentials);
    let verify_url = format!("{base}/api/v1/certificates/verify");
    load(http, &verify_url, Some(credentials.clone()), CREDENTIALS).await;
    let (mut floors, mut verifieds, mut raws, mut shares) = (vec![], vec![], vec![], vec![]);
    // The server's own CPU per request, without the load generator's share of the
    // cores: µs per verification, per /healthz, and the rate it alone would allow.
    let (mut verify_cpu, mut floor_cpu, mut own_shares) = (vec![], vec![], vec![]);
    let mut client_cpu = vec![];
    let pid = server.child.id();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    for _ in 0..ROUNDS {
        let before = common::cpu_seconds(pid);
        floors.push(load(http, &format!("{base}/healthz"), None, VERIFICATIONS).await);
        let between = common::cpu_seconds(pid);
        let client_before = common::cpu_seconds(std::process::id());
        let verified = load(http, &verify_url, Some(credentials.clone()), VERIFICATIONS).await;
        let after = common::cpu_seconds(pid);
        let client_after = common::cpu_seconds(std::process::id());
        client_cpu.push((client_after - client_before) / VERIFICATIONS as f64 * 1e6);
        let raw = common::raw_es256_verify(1.0, &sample);
        let per_verification = (after - between) / VERIFICATIONS as f64 * 1e6;
        floor_cpu.push((between - before) / VERIFICATIONS as f64 * 1e6);
        verify_cpu.push(per_verification);
        own_shares.push(100.0 * (cores / (per_verification / 1e6)) / raw);
        verifieds.push(verified);
        raws.push(raw);
        shares.push(100.0 * verified / raw);
    }
    let (verified, v_min, v_max) = spread(verifieds);
    let (raw_verify, r_min, r_max) = spread(raws);
    let (share, s_min, s_max) = spread(shares);
    let (floor, f_min, f_max) = spread(floors);
    let (cpu, c_min, c_max) = spread(verify_cpu);
    let (floor_us, fc_min, fc_max) = spread(floor_cpu);
    let (own, o_min, o_max) = spread(own_shares);
    let (load_us, l_min, l_max) = spread(client_cpu);
    let raw_us = cores / raw_verify * 1e6;
    println!(
        "[{engine}] server CPU per verification {cpu:.0} µs ({c_min:.0}–{c_max:.0}), per GET /healthz {floor_us:.0} µs ({fc_min:.0}–{fc_max:.0}), one raw ES256 verify {raw_us:.0} µs: the server alone on these cores would verify {own:.0} % ({o_min:.0}–{o_max:.0} %) of raw; the load generator's CPU per verification {load_us:.0} µs ({l_min:.0}–{l_max:.0})"
    );
    println!(
        "[{engine}] verification over HTTP, median of {ROUNDS} rounds of {VERIFICATIONS} (min–max): {verified:.0}/s ({v_min:.0}–{v_max:.0}) = {share:.0} % ({s_min:.0}–{s_max:.0} %) of raw ES256 verify {raw_verify:.0}/s ({r_min:.0}–{r_max:.0}) (goal ≥ 50 %); GET /healthz {floor:.0}/s ({f_min:.0}–{f_max:.0}) with the same clients"
    );

    if cores >= 2.0 {
        apart(
            http,
            engine,
            &database,
            &unthrottled,
            &credentials,
            &sample,
            cores as usize,
        )
        .await;
    }

    // 3. Lookup latency as the register grows.
    if quick {
        store.close().await;
        return;
    }
    let at_100k = bench.lookups(&store).await;
    fill(&store, 900_000).await;
    let at_1m = bench.lookups(&store).await;
    for (stored, ((hp50, hp99), (ip50, ip99))) in [
        ("10 000", at_10k),
        ("100 000", at_100k),
        ("1 000 000", at_1m),
    ] {
        println!(
            "[{engine}] lookups with {stored} stored: by holder p50 {hp50:.2} ms p99 {hp99:.2} ms; by identifier p50 {ip50:.2} ms p99 {ip99:.2} ms (goal p99 < 10 ms)"
        );
    }
    store.close().await;
    drop(server);
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(600))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("tongban e-certificate bench: release binary, {cores} cores shared with the clients");
    let sqlite = support::TestDb::sqlite();
    run(&http, "SQLite", sqlite.url.clone()).await;
    drop(sqlite);
    if let Ok(admin_url) = std::env::var("TONGBAN_BENCH_DATABASE_URL") {
        let db = support::TestDb::postgres(&admin_url).await;
        run(&http, "PostgreSQL", db.url.clone()).await;
        drop(db);
    }
}
