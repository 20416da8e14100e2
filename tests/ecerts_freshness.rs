//! How fresh a verification's status is when instances cache the register
//! (`tongban_store::changes`): a change is seen at once where it is made; another
//! instance never serves a status older than a change it could have heard of (every
//! report says the time its status is known as of); a lost listening connection stops
//! the cache until it is back; SQLite never caches.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::binary::Instance;
use support::database::TestDb;
use support::ecert_world::*;
use tongban_core::config::DatabaseConfig;
use tongban_core::time::Timestamp;
use tongban_store::Store;
use tongban_store::changes::{Cache, Lookup};

async fn store_on(db: &TestDb) -> (Store, tokio::task::JoinHandle<()>) {
    let store = Store::connect(&DatabaseConfig {
        url: db.url.clone(),
        ..DatabaseConfig::default()
    })
    .await
    .unwrap();
    let watching = {
        let store = store.clone();
        tokio::spawn(async move { store.watch_changes().await })
    };
    (store, watching)
}

/// Waits (up to 10 s) until `cache` serves what it is given: its channel is live.
async fn until_serving(cache: &Cache<String>, key: &str, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match cache.get(key) {
            Lookup::Hit(found, _) if found == value => return,
            Lookup::Hit(..) => panic!("{key}: another value than was put"),
            Lookup::Miss(ticket) => cache.put(ticket, key, value.to_owned()),
        }
        assert!(Instant::now() < deadline, "the cache never became usable");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Announces a change of `key` from `store` and commits; the time the commit returned.
async fn change(store: &Store, key: &str) -> Timestamp {
    let mut tx = store.begin().await.unwrap();
    store
        .changes()
        .announce(&mut tx, "test", key)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Timestamp::now()
}

#[tokio::test]
async fn a_cached_value_is_never_older_than_a_change_the_instance_could_have_heard() {
    let db = TestDb::new().await;
    let (a, watching_a) = store_on(&db).await;
    let (b, watching_b) = store_on(&db).await;
    let on_a = a.changes().cache::<String>("test");
    let on_b = b.changes().cache::<String>("test");
    if db.engine == "sqlite" {
        // No channel between processes sharing a file: nothing is ever served.
        for _ in 0..5 {
            match on_b.get("k") {
                Lookup::Hit(..) => panic!("SQLite served a cached value"),
                Lookup::Miss(ticket) => on_b.put(ticket, "k", "old".into()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(on_b.is_empty());
        return;
    }
    until_serving(&on_a, "k", "old").await;
    until_serving(&on_b, "k", "old").await;

    // Where the change is made, it is seen the moment the commit returns.
    let done = change(&a, "k").await;
    assert!(
        matches!(on_a.get("k"), Lookup::Miss(_)),
        "the committing instance served its old value"
    );
    // Elsewhere, an old value may be served only as of a time before the change: a
    // report never claims a moment the change had already happened.
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Lookup::Hit(value, as_of) = on_b.get("k") {
        assert_eq!(value, "old");
        assert!(
            as_of < done,
            "old value served as of {as_of}, the change was committed by {done}"
        );
        assert!(Instant::now() < deadline, "B never heard of the change");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A read begun before a change is not kept once the instance heard of it.
    let Lookup::Miss(before) = on_b.get("k") else {
        panic!("served after the change")
    };
    until_serving(&on_b, "probe", "p").await;
    let done = change(&a, "k").await;
    heard_by(&on_b, done).await;
    on_b.put(before, "k", "old".into());
    assert!(
        matches!(on_b.get("k"), Lookup::Miss(_)),
        "a value read before the change was kept"
    );

    // B's listening connection is cut: what it held is dropped, and it serves nothing
    // it could have missed; once it listens again it serves again.
    until_serving(&on_b, "k", "new").await;
    let cut: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(pg_terminate_backend(pid)) AS BIGINT) FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut *a.conn().await.unwrap())
    .await
    .unwrap();
    assert!(cut >= 2, "both instances' listeners were cut ({cut})");
    let done = change(&a, "k").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match on_b.get("k") {
            Lookup::Hit(value, as_of) if value == "new" => assert!(
                as_of < done,
                "served across the cut as of {as_of}, after the change at {done}"
            ),
            Lookup::Hit(..) => panic!("a value nobody put"),
            Lookup::Miss(_) => break,
        }
        assert!(Instant::now() < deadline, "B kept serving across the cut");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    until_serving(&on_b, "k", "newer").await;
    watching_a.abort();
    watching_b.abort();
}

/// Waits (up to 10 s) until `cache` is known current as of `t`: its instance heard
/// every change committed before it. `probe` must have been put before `t`.
async fn heard_by(cache: &Cache<String>, t: Timestamp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match cache.get("probe") {
            Lookup::Hit(_, as_of) if as_of >= t => return,
            Lookup::Hit(..) => {}
            Lookup::Miss(_) => panic!("the probe was dropped"),
        }
        assert!(Instant::now() < deadline, "never current as of {t}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn verify(http: &reqwest::Client, base: &str, credential: &Value) -> Value {
    let response = http
        .post(format!("{base}/api/v1/certificates/verify"))
        .json(&json!({ "credential": credential }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn as_of(report: &Value) -> Timestamp {
    Timestamp::parse_rfc3339(report["status_as_of"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_revocation_is_seen_at_once_where_it_is_made_and_reports_say_their_status_time() {
    let w = world().await;
    let t = w.licence_type("031", "natural").await;
    let issued: Value = w
        .issue(&w.system_a, t["code"].as_str().unwrap(), CITIZEN, None)
        .await
        .json()
        .await
        .unwrap();
    let identifier = issued["identifier"].as_str().unwrap();
    let credential = &issued["credential"];
    let http = reqwest::Client::new();
    // A second instance on the same database (on PostgreSQL, caching the register).
    let other = Instance::start(
        &w.server.db.url,
        &http,
        &[("TONGBAN_HTTP_VERIFY_PER_MINUTE", "100000")],
    )
    .await;
    for base in [&w.server.base, &other.base, &w.server.base, &other.base] {
        let before = Timestamp::now();
        let report = verify(&http, base, credential).await;
        assert_eq!(report["status"], "active", "{report}");
        assert!(
            as_of(&report) <= Timestamp::now(),
            "a status time in the future: {report}"
        );
        // The cache may answer from before the call, but never from more than a
        // second before.
        assert!(
            as_of(&report).unix_millis() >= before.unix_millis() - 1000,
            "{report}"
        );
    }

    let revoked = w
        .post(
            Some(&w.system_a),
            &format!("/api/v1/certificates/{identifier}/status"),
            json!({"status": "revoked", "reason": "吊销"}),
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let done = Timestamp::now();
    let here = verify(&http, &w.server.base, credential).await;
    assert_eq!(here["status"], "revoked", "{here}");
    assert_eq!(here["valid"], false);
    // The other instance: an `active` report only as of a time before the revocation.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let report = verify(&http, &other.base, credential).await;
        if report["status"] == "revoked" {
            break;
        }
        assert_eq!(report["status"], "active", "{report}");
        assert!(
            as_of(&report) < done,
            "active as of {}, revoked by {done}",
            report["status_as_of"]
        );
        assert!(
            Instant::now() < deadline,
            "never revoked on the other instance"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The public status page says the time too, in both languages.
    for (lang, words) in [("zh", "状态截至"), ("en", "Status as of")] {
        let page = http
            .get(format!("{}/verify/i/{identifier}", other.base))
            .header("cookie", format!("__Host-tongban-prefs={lang}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(words), "{lang}: {page}");
    }
}
