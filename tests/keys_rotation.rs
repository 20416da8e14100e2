//! `tongban keys rotate-kek`: every private key and secret re-wrapped under a new KEK in
//! one transaction, the service started again on the new KEK signs with the same
//! keys, and no derived value (pseudonymous subjects, TOTP wrapping) changes; the old
//! KEK opens nothing any more; a wrong current KEK changes nothing.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use sqlx::Row;
use support::binary::Binary;
use support::documents::sample_pdf;
use support::seal_world::*;

/// A copy of the development keys (their KEK included) in a directory of its own.
fn keys_copy() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tongban-keys-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(support::repo_root().join("keys-dev")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    dir
}

async fn ciphertexts(store: &tongban_store::Store) -> Vec<(String, Vec<u8>)> {
    let mut conn = store.conn().await.unwrap();
    let mut rows: Vec<(String, Vec<u8>)> =
        sqlx::query("SELECT id, encrypted_private FROM keys WHERE kind = 'kek'")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("id"), r.get("encrypted_private")))
            .collect();
    rows.extend(
        sqlx::query("SELECT name, sealed FROM kek_secrets")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("name"), r.get("sealed"))),
    );
    rows.sort();
    rows
}

async fn rotate(database: &str, keys: &Path, env: &[(&str, &str)]) -> std::process::Output {
    Binary::command()
        .args(["keys", "rotate-kek", "--new-kek-file"])
        .arg(keys.join("new.kek"))
        .env("TONGBAN_DATABASE_URL", database)
        .env("TONGBAN_KEYS_DIR", keys)
        .env("TONGBAN_LOG_LEVEL", "warn")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn rotating_the_kek_rewraps_every_key_and_changes_no_derived_value() {
    let keys = keys_copy();
    let dir = keys.clone();
    let w = world_with(|c| c.keys.dir = dir).await;
    let seal = new_seal(&w, &w.a).await["id"].as_str().unwrap().to_owned();
    grant_all(&w, &w.a, &seal, false).await;
    let first = sealed_pdf(&w, &seal, sample_pdf(2, 2_000)).await;
    assert_eq!(verify_pdf(&w, first).await["overall"], "TOTAL-PASSED");
    let derived = |w: &World| {
        w.server
            .pki()
            .keys()
            .derive("tongban pairwise subjects v1")
            .mac(b"a person at a portal")
    };
    let pseudonym = derived(&w);
    let before = ciphertexts(w.server.store()).await;
    assert!(
        before.iter().any(|(name, _)| name == "derivation-root"),
        "the derivation root is stored at the first start"
    );
    let old_kek = std::fs::read_to_string(keys.join("kek")).unwrap();
    let new_kek = tongban_crypto::kek::Kek::generate().unwrap().to_base64();
    std::fs::write(keys.join("new.kek"), format!("{new_kek}\n")).unwrap();
    let (system, url) = (w.a.system.clone(), w.server.db.url.clone());
    let db = w.server.stop_keeping_db().await;

    // A wrong current KEK: refused, nothing changed.
    let wrong = tongban_crypto::kek::Kek::generate().unwrap().to_base64();
    let refused = rotate(&url, &keys, &[("TONGBAN_KEK", &wrong)]).await;
    assert!(!refused.status.success(), "{refused:?}");
    let unchanged = start_on(db, &keys).await;
    assert_eq!(ciphertexts(unchanged.store()).await, before);
    let db = unchanged.stop_keeping_db().await;

    // The rotation: every ciphertext new, the development KEK file replaced.
    let rotated = rotate(&url, &keys, &[]).await;
    let said = String::from_utf8_lossy(&rotated.stdout);
    assert!(rotated.status.success(), "{rotated:?}");
    assert!(
        said.contains(&format!("{} keys and secrets re-wrapped", before.len())),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(keys.join("kek")).unwrap().trim(),
        new_kek
    );
    // Run again from the old KEK (as after an instance still on it made a key): all
    // of it is under the new KEK already, and is left so.
    let again = rotate(&url, &keys, &[("TONGBAN_KEK", old_kek.trim())]).await;
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 keys and secrets re-wrapped"),
        "{again:?}"
    );

    // Started on the new KEK: the same seal signs, the same pseudonyms come out.
    let server = start_on(db, &keys).await;
    let after = ciphertexts(server.store()).await;
    assert_eq!(after.len(), before.len());
    for ((id, old), (same, new)) in before.iter().zip(&after) {
        assert_eq!(id, same);
        assert_ne!(old, new, "{id} was not re-wrapped");
    }
    let sealed = server
        .client
        .post(format!("{}/api/v1/seals/{seal}/pades", server.base))
        .bearer_auth(&system)
        .header("content-type", "application/pdf")
        .body(sample_pdf(2, 2_000))
        .send()
        .await
        .unwrap();
    assert_eq!(sealed.status(), 200);
    let sealed = sealed.bytes().await.unwrap().to_vec();
    assert_eq!(
        verify_pdf_at(&server, sealed).await["overall"],
        "TOTAL-PASSED"
    );
    let pseudonym_after = server
        .pki()
        .keys()
        .derive("tongban pairwise subjects v1")
        .mac(b"a person at a portal");
    assert_eq!(pseudonym_after, pseudonym, "a derived value changed");
    let db = server.stop_keeping_db().await;

    // The old KEK opens nothing any more: a start on it fails.
    let mut config = support::test_config(&db.url);
    config.keys.dir = keys.clone();
    config.keys.kek = Some(old_kek.trim().to_owned());
    assert!(tongban::server::start(config).await.is_err());
    drop(db);
    std::fs::remove_dir_all(keys).ok();
}

/// A test server on an existing database with the keys in `keys`.
async fn start_on(db: support::database::TestDb, keys: &Path) -> support::TestServer {
    let mut config = support::test_config(&db.url);
    config.keys.dir = keys.to_owned();
    support::TestServer::start_on(db, config).await
}
