//! Foundation acceptance: the service runs on SQLite and PostgreSQL, every error is
//! problem+json, the OpenAPI contract matches the code, and faults are survived.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Binary, FaultProxy, TestDb, TestServer, assert_problem, test_config};
use tongban_core::audit::AuditEvent;
use tongban_core::id::{AuditEventId, RequestId};
use tongban_core::time::Timestamp;
use tongban_store::{Store, StoreError, audit};

#[tokio::test]
async fn healthz_and_readyz_answer_on_a_fresh_database() {
    let server = TestServer::start().await;
    let health = server.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "alive");
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["database"], server.db.engine);
    assert!(ready["schema_version"].as_i64().unwrap() > 0);
    server.stop().await;
}

#[tokio::test]
async fn postgres_is_really_used_when_its_url_is_set() {
    let server = TestServer::start().await;
    let status: Value = server.get("/api/v1/status").await.json().await.unwrap();
    assert_eq!(status["database"], server.db.engine);
    assert_eq!(status["schema_version"], status["binary_schema_version"]);
    let Some(admin_url) = support::postgres_url() else {
        assert_eq!(status["database"], "sqlite");
        server.stop().await;
        return;
    };
    assert_eq!(status["database"], "postgresql");
    // The tables exist in this test's schema of the PostgreSQL server — seen from a
    // connection of our own, not through the service.
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    let (tables,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'audit_events'",
    )
    .bind(server.db.schema().unwrap())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(tables, 1);
    server.stop().await;
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/no/such/route"] {
        let response = server.get(path).await;
        let h = response.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(
            h["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age=")
        );
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert!(
            h["x-request-id"]
                .to_str()
                .unwrap()
                .parse::<RequestId>()
                .is_ok()
        );
    }
    // A sane caller id is propagated; a hostile one is replaced.
    let echoed = server
        .client
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "portal-7f3a.42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "portal-7f3a.42");
    let replaced = server
        .client
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "a b\"<script>")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "a b\"<script>");
    // The docs page gets its own policy: scripts only from here, nothing framed.
    let docs = server.get("/docs/").await;
    assert!(
        docs.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = docs.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_route_is_404_problem() {
    let server = TestServer::start().await;
    assert_problem(server.get("/api/v1/nothing-here").await, 404, "not-found").await;
    server.stop().await;
}

#[tokio::test]
async fn wrong_method_is_405_problem_with_allow() {
    let server = TestServer::start().await;
    let response = server.post("/healthz", "application/json", "{}").await;
    assert!(
        response.headers()["allow"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
    assert_problem(response, 405, "method-not-allowed").await;
    server.stop().await;
}

#[tokio::test]
async fn body_over_the_limit_is_413_problem() {
    let server = TestServer::start_with(|c| c.http.body_limit_bytes = 1024).await;
    let big = format!("[{}]", vec!["{\"type\":\"x\",\"body\":{}}"; 100].join(","));
    assert!(big.len() > 1024);
    let response = server
        .post("/api/v1/reports/csp", "application/reports+json", big)
        .await;
    assert_problem(response, 413, "payload-too-large").await;
    // Exactly the limit is accepted.
    let report = r#"{"type":"csp-violation","url":"https://x/p?code=secret","body":{"effectiveDirective":"script-src-elem","blockedURL":"inline"}}"#;
    let mut exact = format!("[{report}");
    exact.push_str(&" ".repeat(1024 - exact.len() - 1));
    exact.push(']');
    assert_eq!(exact.len(), 1024);
    let response = server
        .post("/api/v1/reports/csp", "application/reports+json", exact)
        .await;
    assert_eq!(response.status(), 204);
    server.stop().await;
}

#[tokio::test]
async fn malformed_json_is_400_problem_naming_the_parse_error() {
    let server = TestServer::start().await;
    let response = server
        .post("/api/v1/reports/csp", "application/json", "[{\"type\": ")
        .await;
    let body = assert_problem(response, 400, "malformed-request").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("line 1 column"), "{detail}");
    // Valid JSON of the wrong shape names the field.
    let response = server
        .post(
            "/api/v1/reports/csp",
            "application/json",
            "[{\"type\": 7, \"body\": {}}]",
        )
        .await;
    let body = assert_problem(response, 400, "malformed-request").await;
    assert!(body["detail"].as_str().unwrap().contains("type"), "{body}");
    // Not JSON at all.
    let response = server
        .post("/api/v1/reports/csp", "text/plain", "hello")
        .await;
    assert_problem(response, 415, "unsupported-media-type").await;
    server.stop().await;
}

#[tokio::test]
async fn metrics_show_requests_by_route_template_and_pool_figures() {
    let server = TestServer::start().await;
    server.get("/healthz").await;
    server.get("/readyz").await;
    server.get("/definitely/not/a/route").await;
    let response = server.get("/metrics").await;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"tongban_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"tongban_http_request_duration_seconds_bucket{method="GET",route="/readyz",status="200",le="+Inf"} 1"#));
    // Unmatched paths share one label: a client cannot create series at will.
    assert!(text.contains(r#"route="unmatched",status="404""#));
    assert!(!text.contains("definitely"));
    let engine = server.db.engine;
    assert!(text.contains(&format!(
        "tongban_db_pool_max_connections{{engine=\"{engine}\"}} 10"
    )));
    assert!(text.contains("tongban_db_pool_connections{"));
    assert!(text.contains("tongban_db_pool_idle_connections{"));
    assert!(text.contains("tongban_db_pool_wait_seconds_total{"));
    server.stop().await;
}

#[tokio::test]
async fn openapi_is_served_and_matches_the_checked_in_contract() {
    let server = TestServer::start().await;
    let served: Value = server.get("/openapi.json").await.json().await.unwrap();
    let generated = tongban_api::openapi();
    assert_eq!(served, generated);
    assert_eq!(served["openapi"], "3.1.0");
    let file = support::repo_root().join("openapi/openapi.json");
    let checked_in: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(
        checked_in == generated,
        "openapi/openapi.json differs from the code; run `cargo run -p tongban -- openapi > openapi/openapi.json`"
    );
    // Every problem type is listed, and every operation declares problem answers.
    let listed = served["components"]["schemas"]["Problem"]["properties"]["type"]["examples"]
        .as_array()
        .unwrap();
    assert_eq!(listed.len(), tongban_api::problem::ProblemType::ALL.len());
    for (path, item) in served["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                operation["responses"]["default"].is_object(),
                "{method} {path} lacks a problem response"
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn docs_page_is_served_from_the_binary_without_external_assets() {
    let server = TestServer::start().await;
    let html = server.get("/docs/").await.text().await.unwrap();
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for piece in html.split(attr).skip(1) {
            assets.push(piece.split('"').next().unwrap().to_owned());
        }
    }
    assert!(assets.iter().any(|a| a.ends_with(".js")), "{html}");
    for asset in &assets {
        assert!(!asset.contains("//"), "external asset {asset}");
        let url = format!("/docs/{}", asset.trim_start_matches("./"));
        let response = server.get(&url).await;
        assert_eq!(response.status(), 200, "{url}");
    }
    let init = server
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/openapi.json"), "{init}");
    server.stop().await;
}

#[tokio::test]
async fn csp_reports_are_accepted() {
    let server = TestServer::start().await;
    let report = r#"[{"type":"csp-violation","age":1,"url":"http://127.0.0.1/login","user_agent":"x",
        "body":{"documentURL":"http://127.0.0.1/login","effectiveDirective":"script-src-elem","blockedURL":"https://evil.example/x.js","disposition":"enforce"}}]"#;
    let response = server
        .post("/api/v1/reports/csp", "application/reports+json", report)
        .await;
    assert_eq!(response.status(), 204);
    server.stop().await;
}

fn event(target: &str, action: &str) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::new(),
        occurred_at: Timestamp::now(),
        actor: "system".into(),
        action: action.into(),
        target: Some(target.into()),
        request_id: Some(RequestId::new()),
        details: r#"{"n":1}"#.into(),
        department: None,
    }
}

#[tokio::test]
async fn transactions_commit_or_leave_nothing() {
    let db = TestDb::new().await;
    let store = Store::connect(&test_config(&db.url).database)
        .await
        .unwrap();
    store.migrate().await.unwrap();

    let kept = event("seal-1", "seal.created");
    let mut tx = store.begin().await.unwrap();
    audit::record(&mut tx, &kept).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    audit::record(&mut tx, &event("seal-1", "seal.revoked"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    // A duplicate id is refused as a conflict, and the transaction around it is lost.
    let mut tx = store.begin().await.unwrap();
    let err = audit::record(&mut tx, &kept).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    drop(tx);

    let mut conn = store.conn().await.unwrap();
    let events = audit::for_target(&mut conn, "seal-1").await.unwrap();
    assert_eq!(events, vec![kept]);
    drop(conn);
    store.close().await;
}

#[tokio::test]
async fn concurrent_writers_queue_instead_of_failing() {
    let db = TestDb::new().await;
    let store = Store::connect(&test_config(&db.url).database)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await?;
            audit::record(&mut tx, &event("busy", &format!("write.{i}"))).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let mut conn = store.conn().await.unwrap();
    assert_eq!(
        audit::for_target(&mut conn, "busy").await.unwrap().len(),
        40
    );
    drop(conn);
    store.close().await;
}

/// Marks the database as migrated by a future binary.
async fn pretend_newer_schema(store: &Store) {
    let mut conn = store.conn().await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99991231000000, 'from the future', TRUE, $1, 0)",
    )
    .bind(vec![0u8; 48])
    .execute(&mut *conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn an_older_binary_refuses_a_newer_schema() {
    let server = TestServer::start().await;
    pretend_newer_schema(server.store()).await;
    // The running instance stops being ready...
    let body = assert_problem(server.get("/readyz").await, 503, "not-ready").await;
    assert!(
        body["detail"].as_str().unwrap().contains("99991231000000"),
        "{body}"
    );
    // ...and neither the library nor the binary will start on it.
    let store = Store::connect(&test_config(&server.db.url).database)
        .await
        .unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                database: 99991231000000,
                ..
            }
        ),
        "{err:?}"
    );
    store.close().await;
    let output = Binary::command()
        .args(["migrate"])
        .env("TONGBAN_DATABASE_URL", &server.db.url)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("newer than this binary supports"),
        "{stderr}"
    );
    server.stop().await;
}

/// Takes the database away from a running server, then gives it back.
enum Outage {
    /// PostgreSQL behind a proxy that cuts every connection and refuses new ones.
    Network(FaultProxy),
    /// SQLite cannot be unplugged, but its pool can be exhausted (every connection held
    /// by long-running work): requests then wait for one in vain.
    Exhausted(Vec<sqlx::pool::PoolConnection<sqlx::Any>>),
}

/// Pool size of the SQLite outage server: small, so the test can hold all of it.
const OUTAGE_POOL: u32 = 2;

impl Outage {
    async fn server() -> (TestServer, Self) {
        match support::postgres_url() {
            Some(admin_url) => {
                let db = TestDb::postgres(&admin_url).await;
                let proxy = FaultProxy::start(db.postgres_addr()).await;
                let config = test_config(&db.url_via(proxy.addr));
                (TestServer::start_on(db, config).await, Self::Network(proxy))
            }
            None => {
                let server =
                    TestServer::start_with(|c| c.database.max_connections = OUTAGE_POOL).await;
                (server, Self::Exhausted(Vec::new()))
            }
        }
    }

    async fn begin(&mut self, server: &TestServer) {
        match self {
            Self::Network(proxy) => proxy.go_down(),
            Self::Exhausted(held) => {
                for _ in 0..OUTAGE_POOL {
                    held.push(server.store().conn().await.unwrap());
                }
            }
        }
    }

    fn end(self) {
        match self {
            Self::Network(proxy) => proxy.come_back(),
            Self::Exhausted(held) => drop(held),
        }
    }
}

#[tokio::test]
async fn database_outage_gives_503_with_retry_after_and_recovers() {
    let (server, mut outage) = Outage::server().await;
    assert_eq!(server.get("/readyz").await.status(), 200);
    assert_eq!(server.get("/api/v1/status").await.status(), 200);

    outage.begin(&server).await;
    assert_problem(server.get("/readyz").await, 503, "not-ready").await;
    let response = server.get("/api/v1/status").await;
    assert_eq!(response.headers()["retry-after"], "5");
    assert_problem(response, 503, "database-unavailable").await;
    // Liveness does not depend on the database.
    assert_eq!(server.get("/healthz").await.status(), 200);

    outage.end();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = server.get("/readyz").await.status();
        if ready == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "did not recover; /readyz still {ready}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(server.get("/api/v1/status").await.status(), 200);
    server.stop().await;
}

/// PostgreSQL behind a network that swallows packets (no refusal, no reset: only a
/// timeout tells): requests are answered 503 at once instead of each waiting out the
/// pool's timeout (here a minute, longer than the client waits), and the service takes
/// itself back when the database returns. The times are printed for the record; the
/// test asserts only what does not depend on machine speed.
#[tokio::test]
async fn a_silent_database_is_answered_at_once_and_comes_back_alone() {
    let Some(admin_url) = support::postgres_url() else {
        eprintln!("SQLite is a local file: there is no network to lose");
        return;
    };
    let db = TestDb::postgres(&admin_url).await;
    let proxy = FaultProxy::start(db.postgres_addr()).await;
    let mut config = test_config(&db.url_via(proxy.addr));
    config.database.timeout_ms = 60_000;
    let server = TestServer::start_on(db, config).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let url = |path: &str| format!("{}{path}", server.base);
    assert_eq!(
        client.get(url("/readyz")).send().await.unwrap().status(),
        200
    );

    proxy.go_silent();
    // A query already sent into the silence waits for it (a limit of the design); wait
    // until every idle connection is old enough to be pinged when taken, so each
    // request here starts by taking one.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mut answered_ms = Vec::new();
    for _ in 0..5 {
        let asked = Instant::now();
        let answer = client.get(url("/api/v1/status")).send().await.unwrap();
        answered_ms.push(asked.elapsed().as_millis());
        assert_eq!(answer.headers()["retry-after"], "5");
        assert_problem(answer, 503, "database-unavailable").await;
    }
    assert_problem(
        client.get(url("/readyz")).send().await.unwrap(),
        503,
        "not-ready",
    )
    .await;
    assert_eq!(
        client.get(url("/healthz")).send().await.unwrap().status(),
        200
    );

    let back = Instant::now();
    proxy.come_back();
    let deadline = back + Duration::from_secs(15);
    while client.get(url("/readyz")).send().await.unwrap().status() != 200 {
        assert!(Instant::now() < deadline, "did not recover");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recovered_ms = back.elapsed().as_millis();
    assert_eq!(
        client
            .get(url("/api/v1/status"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    eprintln!(
        "silent database: 503 in {answered_ms:?} ms; ready again {recovered_ms} ms after it returned"
    );
    server.stop().await;
}

/// The public verifications' budget per address: three a minute here, the fourth is
/// 429, and the budget lives in the database where every instance takes from it.
#[tokio::test]
async fn public_verifications_spend_one_budget_per_address() {
    let server = TestServer::start_with(|c| c.http.verify_per_minute = 3).await;
    support::inside_one_minute().await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let answer = server
            .client
            .post(format!("{}/api/v1/certificates/verify", server.base))
            .json(&serde_json::json!({"share": "no-such-share"}))
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
    }
    assert_eq!(statuses, [404, 404, 404, 429, 429]);
    let mut conn = server.store().conn().await.unwrap();
    let used: i64 = sqlx::query_scalar("SELECT used FROM rate_leases WHERE key LIKE 'verify:%'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!(used >= 3, "taken from the shared budget: {used}");
    drop(conn);
    server.stop().await;
}

/// A verification that waited past its minute's end (under load, at the turn of the
/// minute) is counted in the next minute, on the instance that moved on and on one that
/// had not: it is not refused while the budget lasts, and the pair still spends the
/// one budget of the window, no more.
#[tokio::test]
async fn a_request_late_for_its_window_spends_in_the_next() {
    use tongban_api::limit::RateLimiter;
    let server = TestServer::start().await;
    let store = server.store();
    let ip: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    let next = 29_000_000 * 60_000; // the start of a minute
    let (a, b) = (
        RateLimiter::new(20, Duration::from_secs(60)),
        RateLimiter::new(20, Duration::from_secs(60)),
    );
    assert_eq!(a.check(store, ip, next - 60_000).await.unwrap(), Ok(()));
    assert_eq!(a.check(store, ip, next + 5).await.unwrap(), Ok(()));
    // Late on the instance that has moved on, and on the one that has not.
    assert_eq!(a.check(store, ip, next - 5).await.unwrap(), Ok(()));
    assert_eq!(b.check(store, ip, next - 5).await.unwrap(), Ok(()));
    let mut conn = store.conn().await.unwrap();
    let row: (i64, i64) =
        sqlx::query_as("SELECT window_start, used FROM rate_leases WHERE key = 'verify:192.0.2.7'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    drop(conn);
    assert_eq!(row, (next, 4), "a slice each, both in the new minute");
    // The three requests of the new minute and the rest of its budget: 20 for the pair.
    let mut granted = 3;
    for i in 0..40 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        if limiter
            .check(store, ip, next + 10 + i)
            .await
            .unwrap()
            .is_ok()
        {
            granted += 1;
        }
    }
    assert_eq!(granted, 20);
    server.stop().await;
}

/// Concurrent requests from one address on an instance with nothing held: one asks the
/// shared budget for a slice and the others are paid from it. Before, each took a
/// slice (a burst on one instance took the budget of every other), and with the last
/// slice of the window gone to one of them, those answered "nothing left" first were
/// refused although this instance held enough for all. Twenty addresses, as the order
/// the answers arrive in varies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_share_the_slice_one_of_them_asked_for() {
    use std::sync::Arc;
    use tongban_api::limit::RateLimiter;
    let server = TestServer::start().await;
    let store = server.store().clone();
    let now = 29_000_001 * 60_000 + 1_000;
    let (this, other) = (
        Arc::new(RateLimiter::new(100, Duration::from_secs(60))),
        RateLimiter::new(100, Duration::from_secs(60)),
    );
    for address in 0..20 {
        let ip: std::net::IpAddr = format!("192.0.2.{}", 100 + address).parse().unwrap();
        // Another instance spent nine of the window's ten slices.
        for i in 0..90 {
            assert_eq!(other.check(&store, ip, now + i).await.unwrap(), Ok(()));
        }
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let (this, store) = (this.clone(), store.clone());
                tokio::spawn(async move { this.check(&store, ip, now + 100 + i).await.unwrap() })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(()), "address {ip}");
        }
        // One slice was taken for the ten: the tenth of the ten of the window.
        let mut conn = store.conn().await.unwrap();
        let used: i64 = sqlx::query_scalar("SELECT used FROM rate_leases WHERE key = $1")
            .bind(format!("verify:{ip}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        assert_eq!(used, 100, "address {ip}");
        // And the budget is spent, on both.
        assert!(this.check(&store, ip, now + 200).await.unwrap().is_err());
        assert!(other.check(&store, ip, now + 200).await.unwrap().is_err());
    }
    server.stop().await;
}

#[tokio::test]
async fn production_refuses_dev_keys_and_a_missing_kek() {
    let db = TestDb::sqlite();
    let output = Binary::command()
        .args(["serve"])
        .env("TONGBAN_ENV", "production")
        .env("TONGBAN_DATABASE_URL", &db.url)
        .env(
            "TONGBAN_KEK",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("development-only keys"), "{stderr}");

    let keys = std::env::temp_dir().join(format!("tongban-prod-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&keys).unwrap();
    let output = Binary::command()
        .args(["serve"])
        .env("TONGBAN_ENV", "production")
        .env("TONGBAN_DATABASE_URL", &db.url)
        .env("TONGBAN_KEYS_DIR", &keys)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no key-encryption key"), "{stderr}");
    std::fs::remove_dir_all(&keys).ok();
}

#[tokio::test]
async fn unreachable_database_at_start_is_a_clear_error() {
    let output = Binary::command()
        .args(["serve"])
        .env(
            "TONGBAN_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/nothing",
        )
        .env("TONGBAN_DATABASE_TIMEOUT_MS", "500")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn the_binary_serves_then_stops_gracefully_on_sigterm() {
    let db = TestDb::new().await;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let child = Binary::command()
        .args(["serve"])
        .env("TONGBAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("TONGBAN_DATABASE_URL", &db.url)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let client = support::client();
    let ready_url = format!("http://127.0.0.1:{port}/readyz");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = client.get(&ready_url).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "binary did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let output = tokio::time::timeout(Duration::from_secs(15), child.wait_with_output())
        .await
        .expect("exits within the grace period")
        .unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    let logs = String::from_utf8_lossy(&output.stdout);
    // Logs are JSON lines with the request fields, and shutdown completed.
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON log line"))
        .collect();
    let request = lines
        .iter()
        .find(|l| l["message"] == "request")
        .expect("a request log line");
    for field in ["method", "route", "status", "latency_ms", "request_id"] {
        assert!(
            !request[field].is_null(),
            "log line lacks {field}: {request}"
        );
    }
    assert!(
        lines.iter().any(|l| l["message"] == "shutdown complete"),
        "{logs}"
    );
    assert!(
        client.get(&ready_url).send().await.is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn every_operation_has_its_own_operation_id() {
    let doc = tongban_api::openapi();
    let mut seen = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                assert!(
                    seen.insert(id.to_owned()),
                    "{method} {path}: operationId {id} repeats"
                );
            }
        }
    }
}
