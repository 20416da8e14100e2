//! PKI acceptance below and at the HTTP surface: keys at rest are useless without the
//! KEK, a wrong KEK is a clear start-up error, and bad time-stamp queries get RFC 3161
//! or problem+json answers, never a panic.

#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use sqlx::Row;
use support::{Binary, TestServer, assert_problem};
use tongban_crypto::kek::Kek;

#[tokio::test]
async fn a_stored_key_row_is_not_a_usable_key_without_the_kek() {
    let server = TestServer::start().await;
    let (signer, _) = server
        .pki()
        .issue(&tongban_crypto::ca::Profile::TokenSigning { name: "t".into() })
        .await
        .unwrap();
    let mut conn = server.store().conn().await.unwrap();
    let row = sqlx::query("SELECT encrypted_private, purpose FROM keys WHERE id = $1")
        .bind(signer.key_id())
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let sealed: Vec<u8> = row.try_get("encrypted_private").unwrap();
    drop(conn);
    // Not a PKCS#8 document (which starts with a SEQUENCE, 0x30, and holds the
    // P-256 OID), and not decryptable with another KEK or another key's binding.
    assert!(
        !sealed
            .windows(8)
            .any(|w| w == [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07])
    );
    assert!(
        ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &sealed,
            &ring::rand::SystemRandom::new()
        )
        .is_err()
    );
    let other = Kek::generate().unwrap();
    let aad = format!("tongban-key-v1|{}|token", signer.key_id());
    assert!(other.open(aad.as_bytes(), &sealed).is_none());
    // With the right KEK and binding it opens: the test above is not vacuous.
    let dev_kek = std::fs::read_to_string(support::repo_root().join("keys-dev/kek")).unwrap();
    let dev_kek = Kek::from_base64(dev_kek.trim()).unwrap();
    assert!(dev_kek.open(aad.as_bytes(), &sealed).is_some());
    assert!(
        dev_kek
            .open(b"tongban-key-v1|someone-else|token", &sealed)
            .is_none()
    );
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_kek_is_a_clear_startup_error() {
    // A database whose issuing CA key was sealed under the development KEK...
    let server = TestServer::start().await;
    let db = server.stop_keeping_db().await;
    let url = db.url.clone();
    // ...opened in production, with only the root certificate beside it (so the start
    // has to decrypt the issuing CA's key row from the database), under another KEK.
    let keys = std::env::temp_dir().join(format!("tongban-wrong-kek-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::copy(
        support::repo_root().join("keys-dev/root-ca.pem"),
        keys.join("root-ca.pem"),
    )
    .unwrap();
    let wrong = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let output = Binary::command()
        .args(["serve"])
        .env("TONGBAN_ENV", "production")
        .env("TONGBAN_KEYS_DIR", &keys)
        .env("TONGBAN_DATABASE_URL", &url)
        .env("TONGBAN_KEK", &wrong)
        .env("TONGBAN_LISTEN", "127.0.0.1:0")
        .output()
        .await
        .unwrap();
    std::fs::remove_dir_all(&keys).ok();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot decrypt key"), "{stderr}");
    assert!(stderr.contains("wrong key-encryption key"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn garbage_time_stamp_queries_get_an_rfc3161_rejection() {
    let server = TestServer::start().await;
    for query in [
        &b""[..],
        b"garbage",
        &[0x30, 0x82, 0xff, 0xff, 0x00][..],
        &[0x30; 4097][..],
    ] {
        let response = server
            .post("/pki/tsa", "application/timestamp-query", query.to_vec())
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/timestamp-reply"
        );
        let reply = response.bytes().await.unwrap();
        // TimeStampResp { status PKIStatusInfo { status rejection(2), … } } and no token.
        assert_eq!(&reply[..2], &[0x30, (reply.len() - 2) as u8]);
        assert_eq!(&reply[4..7], &[0x02, 0x01, 0x02], "{reply:02x?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn oversized_or_mistyped_time_stamp_queries_get_problem_json() {
    let server = TestServer::start_with(|c| c.http.body_limit_bytes = 64 * 1024).await;
    let response = server
        .post(
            "/pki/tsa",
            "application/timestamp-query",
            vec![0x30; 65 * 1024],
        )
        .await;
    assert_problem(response, 413, "payload-too-large").await;
    let response = server
        .post("/pki/tsa", "application/octet-stream", vec![0x30, 0x00])
        .await;
    assert_problem(response, 415, "unsupported-media-type").await;
    server.stop().await;
}

#[tokio::test]
async fn ca_certificates_and_crls_are_served_as_der() {
    let server = TestServer::start().await;
    for (path, content_type) in [
        ("/pki/ca/root.crt", "application/pkix-cert"),
        ("/pki/ca/issuing.crt", "application/pkix-cert"),
        ("/pki/crl/issuing.crl", "application/pkix-crl"),
        ("/pki/crl/root.crl", "application/pkix-crl"),
        ("/pki/ca/sm2-root.crt", "application/pkix-cert"),
        ("/pki/ca/sm2-issuing.crt", "application/pkix-cert"),
        ("/pki/crl/sm2-issuing.crl", "application/pkix-crl"),
        ("/pki/crl/sm2-root.crl", "application/pkix-crl"),
    ] {
        let response = server.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type);
        assert_eq!(response.bytes().await.unwrap()[0], 0x30);
    }
    assert_problem(server.get("/pki/ca/nobody.crt").await, 404, "not-found").await;
    assert_problem(server.get("/pki/crl/nobody.crl").await, 404, "not-found").await;
    server.stop().await;
}

#[tokio::test]
async fn concurrent_time_stamps_take_distinct_increasing_serials() {
    use tongban_crypto::cms_verify::{ImprintAlgorithm, verify_timestamp_token};
    let server = TestServer::start().await;
    let tsa = server.pki().tsa().clone();
    // As integers: no leading zeros, so longer is larger.
    let serial = |token: &[u8], digest: [u8; 32]| {
        let serial = verify_timestamp_token(token, &digest, ImprintAlgorithm::Sha256)
            .unwrap()
            .serial;
        (serial.len(), serial)
    };
    let threads: Vec<_> = (0..16u8)
        .map(|i| {
            let tsa = tsa.clone();
            std::thread::spawn(move || tsa.timestamp([i; 32]).unwrap())
        })
        .collect();
    let serials: std::collections::HashSet<_> = threads
        .into_iter()
        .enumerate()
        .map(|(i, thread)| serial(&thread.join().unwrap(), [i as u8; 32]))
        .collect();
    assert_eq!(serials.len(), 16, "every token has its own serial");
    let earlier = serial(&tsa.timestamp([1; 32]).unwrap(), [1; 32]);
    std::thread::sleep(std::time::Duration::from_millis(2));
    let later = serial(&tsa.timestamp([2; 32]).unwrap(), [2; 32]);
    assert!(later > earlier, "serials increase with time");
    server.stop().await;
}

/// A fresh test database, migrated, and a store on it, as each instance has its own.
async fn migrated_store() -> (support::TestDb, tongban_store::Store) {
    let db = support::TestDb::new().await;
    let config = support::test_config(&db.url);
    let store = tongban_store::Store::connect(&config.database)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (db, store)
}

/// The development keys' KEK, as each instance loads it.
fn dev_kek() -> std::sync::Arc<Kek> {
    let text = std::fs::read_to_string(support::repo_root().join("keys-dev/kek")).unwrap();
    std::sync::Arc::new(Kek::from_base64(text.trim()).unwrap())
}

#[tokio::test]
async fn two_instances_starting_together_share_one_issuing_ca() {
    use tongban_crypto::pki::Pki;
    let (_db, store) = migrated_store().await;
    let (kek, keys) = (dev_kek, support::repo_root().join("keys-dev"));
    let (a, b) = tokio::join!(
        Pki::open(store.clone(), kek(), &keys, "http://a", true),
        Pki::open(store.clone(), kek(), &keys, "http://b", true),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.issuing(), b.issuing());
    assert_eq!(a.tsa().chain(), b.tsa().chain());
    let sm2 = |pki: &Pki| pki.ca_certificate("sm2-issuing").map(<[u8]>::to_vec);
    assert!(sm2(&a).is_some());
    assert_eq!(sm2(&a), sm2(&b));
    let mut conn = store.conn().await.unwrap();
    // One issuing CA under each root: the P-256 one and the SM2 one.
    let cas: Vec<(String, i64)> = sqlx::query_as(
        "SELECT issuer, COUNT(*) FROM certificates WHERE profile = 'issuing-ca' \
         GROUP BY issuer ORDER BY issuer",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(cas, [("root".to_owned(), 1), ("sm2-root".to_owned(), 1)]);
    drop(conn);
    store.close().await;
}

/// An `x5c` certificate is read once and kept by its text, unless it is long (anyone can
/// present one, and a few thousand large ones would otherwise be held); what cannot be
/// read, or holds a key we do not verify, gets its reason and is not kept.
#[tokio::test]
async fn x5c_certificates_are_read_once_within_a_bound() {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use tongban_crypto::pki::{Pki, X5cError};
    let (_db, store) = migrated_store().await;
    let keys = support::repo_root().join("keys-dev");
    let pki = Pki::open(store.clone(), dev_kek(), &keys, "http://a", true)
        .await
        .unwrap();
    let issuing = STANDARD.encode(pki.issuing());
    let first = pki.x5c_leaf(&issuing).unwrap();
    assert_eq!(first.der, pki.issuing());
    assert!(std::sync::Arc::ptr_eq(
        &first,
        &pki.x5c_leaf(&issuing).unwrap()
    ));
    // A valid P-256 certificate of 12 KB (a long extension): read every time.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["big.example".to_owned()]).unwrap();
    params
        .custom_extensions
        .push(rcgen::CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 99999, 1],
            vec![0x41; 9_000],
        ));
    let big = STANDARD.encode(params.self_signed(&key).unwrap().der());
    assert!(big.len() > 8 * 1024);
    let once = pki.x5c_leaf(&big).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&once, &pki.x5c_leaf(&big).unwrap()));
    // A P-384 key, text that is not base64, and base64 that is not a certificate.
    let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let params = rcgen::CertificateParams::new(vec!["p384.example".to_owned()]).unwrap();
    let p384 = STANDARD.encode(params.self_signed(&p384).unwrap().der());
    assert_eq!(pki.x5c_leaf(&p384).err(), Some(X5cError::Key));
    assert_eq!(pki.x5c_leaf("not base64!").err(), Some(X5cError::Encoding));
    assert_eq!(pki.x5c_leaf("AAEC").err(), Some(X5cError::Unreadable));
    store.close().await;
}

/// Two instances whose refreshers, and requests for the CRL, find it due at the same
/// moment sign one new CRL between them, not one each.
#[tokio::test]
async fn a_due_crl_is_signed_once_by_all_instances_together() {
    use tongban_crypto::pki::Pki;
    let (_db, store) = migrated_store().await;
    let (kek, keys) = (dev_kek, support::repo_root().join("keys-dev"));
    let a = Pki::open(store.clone(), kek(), &keys, "http://a", true)
        .await
        .unwrap();
    let b = Pki::open(store.clone(), kek(), &keys, "http://b", true)
        .await
        .unwrap();
    let first = a.crl("issuing").await.unwrap();
    let count = || async {
        let mut conn = store.conn().await.unwrap();
        let row = sqlx::query("SELECT COUNT(*), MAX(number) FROM crls WHERE ca = 'issuing'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        (row.get::<i64, _>(0), row.get::<i64, _>(1))
    };
    let (before, newest) = count().await;
    for round in 1..=3 {
        // Every CRL is past half its validity: due.
        let mut conn = store.conn().await.unwrap();
        sqlx::query("UPDATE crls SET next_update = $1")
            .bind(tongban_core::time::Timestamp::now().unix_millis())
            .execute(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        let asks = (0..6).map(|i| {
            let pki = if i % 2 == 0 { &a } else { &b };
            async move {
                if i < 2 {
                    pki.refresh_crl_if_due().await.unwrap();
                    None
                } else {
                    Some(pki.crl("issuing").await.unwrap())
                }
            }
        });
        let answers: Vec<Vec<u8>> = futures_util::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .collect();
        assert!(
            answers
                .iter()
                .all(|der| der == &answers[0] && der != &first)
        );
        assert_eq!(
            count().await,
            (before + round, newest + round),
            "round {round}: one new CRL, numbered next"
        );
    }
    drop((a, b));
    store.close().await;
}

#[tokio::test]
async fn token_key_rotation_publishes_before_signing_and_retires_after() {
    use tongban_core::time::Timestamp;
    use tongban_crypto::token_keys::{PUBLISH_LEAD, RETIRE_AFTER};
    let server = TestServer::start().await;
    let tokens = server.pki().token_keys().clone();
    let response = server.get("/.well-known/jwks.json").await;
    assert_eq!(
        response.headers()["content-type"],
        "application/jwk-set+json"
    );
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let jwks: serde_json::Value = response.json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    let now = Timestamp::now();
    let old = tokens.signer(now).await.unwrap();
    assert_eq!(jwks["keys"][0]["kid"], old.key_id());
    assert_eq!(jwks["keys"][0]["alg"], "ES256");

    let next = tokens.rotate(now).await.unwrap();
    let at = |d: time::Duration| Timestamp::from(now.to_offset_date_time() + d);
    // Published at once, both keys...
    let kids = |jwks: tongban_crypto::jose::Jwks| {
        jwks.keys
            .into_iter()
            .map(|k| k.kid.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kids(tokens.jwks(now).await.unwrap()),
        vec![old.key_id().to_owned(), next.key_id.clone()]
    );
    // ...the old one still signs until the new one activates...
    assert_eq!(
        tokens
            .signer(at(PUBLISH_LEAD - time::Duration::seconds(1)))
            .await
            .unwrap()
            .key_id(),
        old.key_id()
    );
    assert_eq!(
        tokens.signer(at(PUBLISH_LEAD)).await.unwrap().key_id(),
        next.key_id
    );
    // ...and is published until a day after that, then dropped.
    let retire = PUBLISH_LEAD + RETIRE_AFTER;
    assert_eq!(
        tokens
            .jwks(at(retire - time::Duration::seconds(1)))
            .await
            .unwrap()
            .keys
            .len(),
        2
    );
    assert_eq!(
        kids(tokens.jwks(at(retire)).await.unwrap()),
        vec![next.key_id.clone()]
    );
    server.stop().await;
}
