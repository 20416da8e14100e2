//! The transparency log judged by a tlog implementation we did not write (PyPI
//! `aics-tlog`, through `tests/interop/tlog_check.py`): our checkpoint signature, the
//! tree rebuilt from our tiles, inclusion proofs for a sample of entries, a consistency
//! proof across 1 000 acts, and one flipped byte in a tile caught. And the log's
//! promise under faults: `kill -9` of the server during 1 000 seal uses and during a
//! 10 000-row batch loses no committed act and integrates none twice; two instances on
//! one PostgreSQL sealing at once build one tree without gaps. Run by
//! `tests/interop/run`.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

#[path = "common.rs"]
mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::Workdir;
use serde_json::{Value, json};
use support::seal_world::*;
use support::{Instance, TestDb};

/// aics-tlog needs Python 3.12: `tests/interop/run` makes a venv of its own for it.
fn tlog_python() -> PathBuf {
    std::env::var_os("TONGBAN_TLOG_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join("tests/interop/.venv-tlog/bin/python"))
}

/// Runs the judge (off the runtime: the server under test answers it meanwhile); its
/// exit code and its JSON findings.
async fn judge(args: &[&str]) -> (i32, Value) {
    let script = support::repo_root().join("tests/interop/tlog_check.py");
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(tlog_python())
            .arg(script)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let findings = serde_json::from_str(&text).unwrap_or_else(
        |_| json!({"unparsed": text, "stderr": String::from_utf8_lossy(&output.stderr)}),
    );
    (output.status.code().unwrap_or(-1), findings)
}

/// `n` distinct SHA-256 digests from `seed`.
fn digests(seed: u32, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let bytes = format!("{seed}/{i}");
            tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(bytes.as_bytes()))
        })
        .collect()
}

async fn cades(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    seal: &str,
    digests: &[String],
) -> u16 {
    http.post(format!("{base}/api/v1/seals/{seal}/cades"))
        .bearer_auth(token)
        .json(&json!({"digests": digests, "purpose": "log interop"}))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

/// The size of the log's latest checkpoint.
async fn size(http: &reqwest::Client, base: &str) -> Option<u64> {
    let note = http
        .get(format!("{base}/log/checkpoint"))
        .send()
        .await
        .ok()?;
    note.text().await.ok()?.lines().nth(1)?.parse().ok()
}

async fn until_size(http: &reqwest::Client, base: &str, at_least: u64) -> u64 {
    for _ in 0..300 {
        if let Some(size) = size(http, base).await
            && size >= at_least
        {
            return size;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the log at {base} did not reach {at_least} entries");
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn aics_tlog_verifies_our_checkpoints_tiles_and_proofs_and_catches_a_flipped_byte() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let (http, base) = (&w.server.client, w.server.base.as_str());
    assert_eq!(
        cades(http, base, &w.a.system, id, &digests(1, 300)).await,
        200
    );
    until_size(http, base, appended(w.server.store()).await).await;
    let work = Workdir::new();
    let old = work.path("old-checkpoint");
    let (code, findings) =
        judge(&["checkpoint", "--url", base, "--save", old.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{findings}");
    let old_size = findings["size"].as_u64().unwrap();
    // A thousand acts later (each digest is one seal use, one entry).
    assert_eq!(
        cades(http, base, &w.a.system, id, &digests(2, 1000)).await,
        200
    );
    until_size(http, base, old_size + 1000).await;

    let (code, findings) = judge(&["tree", "--url", base]).await;
    assert_eq!(code, 0, "{findings}");
    assert_eq!(findings["kinds"]["seal.used"], 1300, "{findings}");
    let (code, findings) = judge(&["inclusion", "--url", base, "--sample", "25"]).await;
    assert_eq!(code, 0, "{findings}");
    let (code, findings) =
        judge(&["consistency", "--url", base, "--old", old.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{findings}");
    // One byte changed in an entry bundle, a full hash tile, or the partial one.
    for flip in ["entries/0/10", "0/0/5", "0/5/3"] {
        let (code, findings) = judge(&["tree", "--url", base, "--flip", flip]).await;
        assert_eq!(code, 1, "{flip}: {findings}");
    }
}

/// What the database says about the log: (entries, pending, contiguous indices,
/// distinct leaves, the state row's size).
async fn log_rows(store: &tongban_store::Store) -> (i64, i64, bool, i64, i64) {
    let mut conn = store.conn().await.unwrap();
    let (entries, pending, distinct, max_idx): (i64, i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(*) - COUNT(idx), COUNT(DISTINCT leaf_hash), MAX(idx) FROM ledger_entries",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_state WHERE id = 1")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let integrated = entries - pending;
    let contiguous = max_idx.map_or(integrated == 0, |m| m + 1 == integrated) && size == integrated;
    (entries, pending, contiguous, distinct, size)
}

/// Entries appended so far (integrated or not): the CA certificates, then the acts.
async fn appended(store: &tongban_store::Store) -> u64 {
    count(store, "SELECT COUNT(*) FROM ledger_entries").await as u64
}

async fn count(store: &tongban_store::Store, sql: &'static str) -> i64 {
    let mut conn = store.conn().await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut *conn).await.unwrap()
}

async fn store_of(url: &str) -> tongban_store::Store {
    let config = tongban_core::config::DatabaseConfig {
        url: url.to_owned(),
        ..Default::default()
    };
    tongban_store::Store::connect(&config).await.unwrap()
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn kill_9_during_a_thousand_seal_uses_loses_nothing_committed_and_doubles_nothing() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap().to_owned();
    grant_all(&w, &w.a, &id, false).await;
    let token = w.a.system.clone();
    let http = w.server.client.clone();
    let db: TestDb = w.server.stop_keeping_db().await;

    let server = Instance::start(&db.url, &http, &[]).await;
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for client in 0..8u32 {
        let (http, base, token, id, answered) = (
            http.clone(),
            server.base.clone(),
            token.clone(),
            id.clone(),
            answered.clone(),
        );
        clients.push(tokio::spawn(async move {
            for i in 0..125 {
                if cades(&http, &base, &token, &id, &digests(client * 1000 + i, 1)).await == 200 {
                    answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }));
    }
    while answered.load(std::sync::atomic::Ordering::SeqCst) < 500 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Right after an answer: that use has committed, and its entry waits for the next
    // integration (every 200 ms).
    server.kill_9().await;
    for client in clients {
        client.await.unwrap();
    }
    let answered = answered.load(std::sync::atomic::Ordering::SeqCst) as i64;
    let store = store_of(&db.url).await;
    // Almost always some use committed after the last integration (every 200 ms) and
    // before the kill; the checks below hold either way.
    let (_, pending, ..) = log_rows(&store).await;
    println!("{pending} committed entries were pending at the kill");

    let server = Instance::start(&db.url, &http, &[]).await;
    let uses = count(&store, "SELECT COUNT(*) FROM seal_usages").await;
    assert!(
        uses >= answered,
        "{uses} uses recorded, {answered} answered"
    );
    until_size(&http, &server.base, appended(&store).await).await;
    let (entries, pending, contiguous, distinct, size) = log_rows(&store).await;
    let used = count(
        &store,
        "SELECT COUNT(*) FROM ledger_entries WHERE kind = 'seal.used'",
    )
    .await;
    assert_eq!(
        (used, pending),
        (uses, 0),
        "every recorded use in the log, once"
    );
    assert!(contiguous && distinct == entries && size == entries);
    let (code, findings) = judge(&["tree", "--url", &server.base]).await;
    assert_eq!(code, 0, "{findings}");
    server.kill_9().await;
    store.close().await;
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn kill_9_during_a_ten_thousand_row_batch_loses_nothing_committed_and_doubles_nothing() {
    use support::ecert_world;
    let w = ecert_world::world().await;
    let t = w.licence_type("021", "natural").await;
    let code = t["code"].as_str().unwrap().to_owned();
    let (http, token) = (w.server.client.clone(), w.system_a.clone());
    let db: TestDb = w.server.stop_keeping_db().await;

    let server = Instance::start(&db.url, &http, &[]).await;
    let rows: Vec<Value> = (0..10_000)
        .map(|i| {
            json!({"holder": {"id_number": support::resident_id(i), "name": format!("持证人{i}")},
                   "face": {"name": format!("持证人{i}"), "licence_no": format!("JY{i:014}"), "scope": "预包装食品"}})
        })
        .collect();
    let submitted = http
        .post(format!("{}/api/v1/certificate-jobs", server.base))
        .bearer_auth(&token)
        .json(&json!({"type": code, "rows": rows}))
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 202);
    let job: Value = submitted.json().await.unwrap();
    let job_url = format!("/api/v1/certificate-jobs/{}", job["id"].as_str().unwrap());
    let progress = |base: String| {
        let (http, token, job_url) = (http.clone(), token.clone(), job_url.clone());
        async move {
            let job: Value = http
                .get(format!("{base}{job_url}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (
                job["issued"].as_i64().unwrap(),
                job["state"].as_str().unwrap().to_owned(),
            )
        }
    };
    loop {
        let (issued, _) = progress(server.base.clone()).await;
        if issued >= 2_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill_9().await;
    let store = store_of(&db.url).await;
    let issued_before = count(&store, "SELECT COUNT(*) FROM ecerts").await;
    assert!(issued_before < 10_000, "killed mid-batch");

    // The restarted instance takes the job over when its lease runs out.
    let server = Instance::start(&db.url, &http, &[]).await;
    for _ in 0..600 {
        if progress(server.base.clone()).await.1 == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let certificates = count(&store, "SELECT COUNT(*) FROM ecerts").await;
    assert_eq!(certificates, 10_000);
    until_size(&http, &server.base, appended(&store).await).await;
    let issued = count(
        &store,
        "SELECT COUNT(*) FROM ledger_entries WHERE kind = 'certificate.issued'",
    )
    .await;
    let (entries, pending, contiguous, distinct, _) = log_rows(&store).await;
    assert_eq!(
        (issued, pending),
        (certificates, 0),
        "every certificate in the log, once"
    );
    assert!(contiguous && distinct == entries);
    let (code, findings) = judge(&["tree", "--url", &server.base]).await;
    assert_eq!(code, 0, "{findings}");
    server.kill_9().await;
    store.close().await;
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn two_instances_on_one_postgresql_sealing_at_once_build_one_tree_without_gaps() {
    let admin_url = std::env::var("TONGBAN_INTEROP_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/tongban_test".to_owned());
    let db = TestDb::postgres(&admin_url).await;
    let mut config = support::test_config(&db.url);
    config.http.shutdown_grace_secs = 1;
    let server = support::TestServer::start_on(db, config).await;
    let w = world_on(server).await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap().to_owned();
    grant_all(&w, &w.a, &id, false).await;
    let (token, http) = (w.a.system.clone(), w.server.client.clone());
    let db: TestDb = w.server.stop_keeping_db().await;

    let one = Instance::start(&db.url, &http, &[]).await;
    let two = Instance::start(&db.url, &http, &[]).await;
    let mut clients = Vec::new();
    for client in 0..8u32 {
        let base = [&one.base, &two.base][client as usize % 2].clone();
        let (http, token, id) = (http.clone(), token.clone(), id.clone());
        clients.push(tokio::spawn(async move {
            let mut ok = 0;
            for i in 0..50 {
                let batch = digests(client * 1000 + i, 5);
                if cades(&http, &base, &token, &id, &batch).await == 200 {
                    ok += 5;
                }
            }
            ok
        }));
    }
    let mut answered = 0;
    for client in clients {
        answered += client.await.unwrap();
    }
    assert_eq!(answered, 2_000);
    let store = store_of(&db.url).await;
    let all = appended(&store).await;
    let size_one = until_size(&http, &one.base, all).await;
    let (entries, pending, contiguous, distinct, size) = log_rows(&store).await;
    let used = count(
        &store,
        "SELECT COUNT(*) FROM ledger_entries WHERE kind = 'seal.used'",
    )
    .await;
    assert_eq!((used, pending, size), (2_000, 0, entries));
    assert!(contiguous && distinct == entries && size_one == all);
    // Both instances serve the same tree, and it verifies.
    for base in [&one.base, &two.base] {
        let (code, findings) = judge(&["tree", "--url", base]).await;
        assert_eq!(code, 0, "{findings}");
        assert_eq!(findings["size"], all, "{findings}");
    }
    one.kill_9().await;
    two.kill_9().await;
    store.close().await;
}
