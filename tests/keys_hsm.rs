//! Keys in a PKCS#11 token (SoftHSM2 from Debian): with `keys.pkcs11` naming the
//! issuing CA, seal and TSA purposes, those P-256 keys are made in the token, sensitive
//! and never extractable, their rows hold no private key, and what they sign verifies
//! (a sealed PDF's report, the CMS signature under openssl's own check is in
//! `tests/interop`). SM2 keys stay under the KEK. A key row naming a token that is not
//! configured stops its use with a clear error.
//!
//! Needs `softhsm2-util` and the module; skipped without them unless
//! `TONGBAN_REQUIRE_SOFTHSM=1` (CI sets it).

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::sync::Arc;

use sqlx::Row;
use support::documents::sample_pdf;
use support::seal_world::*;
use support::softhsm::{MODULE, PIN, SoftHsm};
use tongban_crypto::Signer;
use tongban_crypto::pkcs11::Token;

/// Where the key of each purpose is: (purpose, kind, token label, private bytes kept).
async fn key_rows(w: &World) -> Vec<(String, String, Option<String>, usize)> {
    let mut conn = w.server.store().conn().await.unwrap();
    sqlx::query(
        "SELECT purpose, kind, token_label, encrypted_private FROM keys ORDER BY created_at",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let private: Vec<u8> = r.get("encrypted_private");
        (
            r.get("purpose"),
            r.get("kind"),
            r.get("token_label"),
            private.len(),
        )
    })
    .collect()
}

#[tokio::test]
async fn ca_seal_and_tsa_keys_made_in_the_token_never_leave_it_and_what_they_sign_verifies() {
    let Some(hsm) = SoftHsm::new() else { return };
    let pkcs11 = hsm.config(&["issuing-ca", "seal", "tsa"]);
    let w = world_with(|c| c.keys.pkcs11 = pkcs11).await;
    let seal = new_seal(&w, &w.a).await["id"].as_str().unwrap().to_owned();
    grant_all(&w, &w.a, &seal, false).await;
    let sm2 = new_sm2_seal(&w).await["id"].as_str().unwrap().to_owned();

    let rows = key_rows(&w).await;
    for purpose in ["issuing-ca", "tsa", "seal"] {
        let row = rows.iter().find(|r| r.0 == purpose).unwrap();
        assert_eq!(row.1, "pkcs11", "{purpose}: {rows:?}");
        assert_eq!(row.2.as_deref(), Some(hsm.label.as_str()), "{purpose}");
        assert_eq!(row.3, 0, "{purpose}: no private key is stored");
    }
    // The token has no SM2: the SM2 hierarchy and seal stay under the KEK, as do the
    // keys of purposes not named (token signing, the log).
    for row in rows
        .iter()
        .filter(|r| !["issuing-ca", "tsa", "seal"].contains(&r.0.as_str()))
    {
        assert_eq!(row.1, "kek", "{row:?}");
        assert!(row.3 > 0, "{row:?}");
    }
    assert!(
        rows.iter().filter(|r| r.0 == "seal").count() == 2,
        "the P-256 and the SM2 seal: {rows:?}"
    );
    let _ = sm2;

    // What the token's keys sign verifies: a PAdES seal (seal key), time-stamped (TSA
    // key), chaining to the issuing CA (its key signed the seal's certificate and CRL).
    let sealed = sealed_pdf(&w, &seal, sample_pdf(2, 2_000)).await;
    let report = verify_pdf(&w, sealed).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");

    // The token itself says the keys are sensitive and were never extractable.
    let token = Arc::new(Token::open(Path::new(MODULE), &hsm.label, PIN).unwrap());
    let mut conn = w.server.store().conn().await.unwrap();
    let objects: Vec<(String, Vec<u8>)> =
        sqlx::query("SELECT id, token_object FROM keys WHERE kind = 'pkcs11'")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("id"), r.get("token_object")))
            .collect();
    assert_eq!(objects.len(), 3);
    for (id, object) in objects {
        let key = token.find(&object).unwrap();
        assert_eq!(key.key_id(), id);
        assert!(token.never_leaves(&key).unwrap(), "{id}");
    }
}

#[tokio::test]
async fn a_key_in_a_token_that_is_not_configured_is_refused_clearly() {
    let Some(hsm) = SoftHsm::new() else { return };
    let pkcs11 = hsm.config(&["seal"]);
    let w = world_with(|c| c.keys.pkcs11 = pkcs11).await;
    let seal = new_seal(&w, &w.a).await["id"].as_str().unwrap().to_owned();
    grant_all(&w, &w.a, &seal, false).await;
    let kinds = key_rows(&w).await;
    assert!(
        kinds.iter().any(|r| r.0 == "seal" && r.1 == "pkcs11")
            && kinds.iter().all(|r| r.0 == "seal" || r.1 == "kek"),
        "only the seal's key is in the token: {kinds:?}"
    );
    // The same database served without the token: the seal's key cannot be reached,
    // which is a 503 for the caller (the reason goes to the log), and nothing is
    // signed or recorded.
    let before = usage_log(&w, &w.a.admin, &seal).await.len();
    let (system, admin) = (w.a.system.clone(), w.a.admin.clone());
    let db = w.server.stop_keeping_db().await;
    let url = db.url.clone();
    let without = support::TestServer::start_on(db, support::test_config(&url)).await;
    let refused = without
        .client
        .post(format!("{}/api/v1/seals/{seal}/cades", without.base))
        .bearer_auth(&system)
        .json(&serde_json::json!({"digests": [DIGEST]}))
        .send()
        .await
        .unwrap();
    let problem = support::assert_problem(refused, 503, "unavailable").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("security module"),
        "{problem}"
    );
    let uses = without
        .client
        .get(format!("{}/api/v1/seals/{seal}/usages", without.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(uses.as_array().map(Vec::len), Some(before), "{uses}");
}
