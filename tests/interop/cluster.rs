//! Two `tongban` instances on one PostgreSQL behind a real load balancer (Debian's
//! HAProxy, round-robin, no stickiness), as an operator runs them: an unmodified
//! openid-client relying party completes its whole flow across the pair (the login
//! form from one instance, its post to the other; code, refresh with rotation and reuse
//! detection, introspection, revocation, single sign-on, RP-initiated logout and exactly
//! one back-channel logout token per portal from the pair), a passkey enrolled and used
//! in Chromium (tests/interop/browser.mjs), then pushed authorization
//! requests and DPoP with server nonces (tests/interop/oidc_par_dpop.mjs), and wrong
//! passwords sent to both instances count against one account, and the public
//! verifications' budget per address holds for the pair. Run by `tests/interop/run`.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Instance, TestDb};

/// 李四's ID number, as `support::relying_party_env` registers him.
const LOGIN: &str = "440308199901011234";

/// HAProxy in front of `servers`, round-robin per request (`http-server-close`: no
/// server connection outlives its request, so no request follows another to the same
/// instance), naming the instance that answered in `x-served-by`.
struct Balancer {
    _child: tokio::process::Child,
    base: String,
    dir: std::path::PathBuf,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

impl Balancer {
    /// Starts it on `port` (the issuer's) in front of `servers`.
    async fn start_on(port: u16, servers: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!("tongban-haproxy-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let backends: String = servers
            .iter()
            .enumerate()
            .map(|(i, base)| {
                let address = base.trim_start_matches("http://");
                format!("    server instance{} {address}\n", i + 1)
            })
            .collect();
        let config = format!(
            "global\n    maxconn 256\n\
             defaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n    option http-server-close\n    option forwardfor\n\
             frontend public\n    bind 127.0.0.1:{port}\n    default_backend tongban\n\
             backend tongban\n    balance roundrobin\n    http-response set-header x-served-by %s\n{backends}"
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let check = Command::new("haproxy")
            .args(["-c", "-q", "-f"])
            .arg(&path)
            .output()
            .expect("haproxy (Debian package haproxy) is installed");
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = tokio::process::Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://localhost:{port}");
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return Self {
                    _child: child,
                    base,
                    dir,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("haproxy did not start");
    }
}

/// Runs a node script to its end, printing what it printed; fails the test if it failed.
async fn run_node(mut command: Command) {
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    println!("{printed}");
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The instance that answered a request through the balancer.
fn served_by(response: &reqwest::Response) -> String {
    response.headers()["x-served-by"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn two_instances_behind_haproxy_serve_one_platform() {
    let admin_url = std::env::var("TONGBAN_INTEROP_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/tongban_test".to_owned());
    let db = TestDb::postgres(&admin_url).await;
    // The issuer is the balancer's address, which both instances must call themselves.
    let port = support::free_port();
    let issuer = format!("http://localhost:{port}");
    let mut config = support::test_config(&db.url);
    config.public_url = issuer.clone();
    let server = support::TestServer::start_on(db, config).await;
    let mut tx = server.store().begin().await.unwrap();
    let mut envs = support::relying_party_env(&mut tx).await;
    envs.push(("ISSUER".to_owned(), issuer.clone()));
    tx.commit().await.unwrap();
    let http = server.client.clone();
    let db = server.stop_keeping_db().await;

    let instance_env = [
        ("TONGBAN_PUBLIC_URL", issuer.as_str()),
        ("TONGBAN_HTTP_TRUSTED_PROXIES", "127.0.0.1"),
        ("TONGBAN_HTTP_VERIFY_PER_MINUTE", "10"),
    ];
    let one = Instance::start(&db.url, &http, &instance_env).await;
    let two = Instance::start(&db.url, &http, &instance_env).await;
    let balancer = Balancer::start_on(port, &[&one.base, &two.base]).await;

    // Round-robin, request by request.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let answer = http
            .get(format!("{}/readyz", balancer.base))
            .send()
            .await
            .unwrap();
        seen.push(served_by(&answer));
    }
    assert!(
        seen.windows(2).all(|pair| pair[0] != pair[1]),
        "one instance, then the other: {seen:?}"
    );

    // The relying party's whole flow, across the pair: the script checks that the
    // login form and its post were answered by different instances.
    let script = support::repo_root().join("tests/interop/oidc_rp.mjs");
    let mut rp = Command::new("node");
    rp.arg(script).envs(envs).env("EXPECT_BALANCED", "yes");
    run_node(rp).await;

    // Pushed authorization requests and DPoP across the pair: the requests alternate
    // between the instances, so what one makes (pushed requests, codes, DPoP nonces) the
    // other takes.
    let script = support::repo_root().join("tests/interop/oidc_par_dpop.mjs");
    let (base, database) = (balancer.base.clone(), db.url.clone());
    let mut par = Command::new("node");
    par.arg(script)
        .args([&base, &database, support::Binary::path()])
        .current_dir(support::repo_root());
    run_node(par).await;

    // Passkeys across the pair (Chromium with a virtual authenticator): enrolment after a
    // password login, then a login with the passkey alone; each ceremony's options come
    // from one instance and its answer goes to whichever the balancer picks next.
    let script = support::repo_root().join("tests/interop/browser.mjs");
    let mut passkeys = Command::new("node");
    passkeys
        .arg(script)
        .args([&base, &database, support::Binary::path()])
        .env("BROWSER_PARTS", "passkeys")
        .env("EXPECT_BALANCED", "yes")
        .current_dir(support::repo_root());
    run_node(passkeys).await;

    // Wrong passwords, alternately to each instance: one count for the account.
    let mut answered_by = Vec::new();
    for attempt in 0..4 {
        // Each form and its post go to different instances; one request more every
        // other time makes the posts go to both.
        if attempt % 2 == 1 {
            http.get(format!("{}/readyz", balancer.base))
                .send()
                .await
                .unwrap();
        }
        let page = http
            .get(format!("{}/account", balancer.base))
            .send()
            .await
            .unwrap();
        let flow = support::set_cookie(&page, "__Host-tongban-flow").unwrap();
        let csrf = support::csrf_of(&page.text().await.unwrap());
        let refused = http
            .post(format!("{}/login", balancer.base))
            .header("cookie", format!("__Host-tongban-flow={flow}"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("identifier", LOGIN),
                ("password", "not the passphrase"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        answered_by.push(served_by(&refused));
    }
    answered_by.sort();
    answered_by.dedup();
    assert_eq!(answered_by.len(), 2, "both instances refused some");
    let store = {
        let config = tongban_core::config::DatabaseConfig {
            url: db.url.clone(),
            ..Default::default()
        };
        tongban_store::Store::connect(&config).await.unwrap()
    };
    let mut conn = store.conn().await.unwrap();
    // The table keys an account by its hashed identifier; 李四's is the only one here.
    let failures: Vec<i64> =
        sqlx::query_scalar("SELECT failures FROM throttle WHERE key LIKE 'account:%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(failures, [4], "the pair counts one account's failures once");
    drop(conn);

    // Ten public verifications a minute per address, for the pair: of fourteen sent
    // alternately to each instance, four are refused, by both.
    support::inside_one_minute().await;
    let mut answers = Vec::new();
    for _ in 0..14 {
        let answer = http
            .post(format!("{}/api/v1/certificates/verify", balancer.base))
            .json(&serde_json::json!({"share": "no-such-share"}))
            .send()
            .await
            .unwrap();
        answers.push((answer.status().as_u16(), served_by(&answer)));
    }
    let refused: Vec<&String> = answers
        .iter()
        .filter(|(status, _)| *status == 429)
        .map(|(_, by)| by)
        .collect();
    assert_eq!(refused.len(), 4, "{answers:?}");
    assert!(
        refused.contains(&&"instance1".to_owned()) && refused.contains(&&"instance2".to_owned()),
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|(status, _)| *status == 404).count(),
        10
    );

    store.close().await;
    drop(balancer);
    one.kill_9().await;
    two.kill_9().await;
}
