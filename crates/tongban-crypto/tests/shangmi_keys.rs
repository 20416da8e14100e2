//! SM2 keys in the key store: sealed under the KEK like P-256 keys, opened again by a
//! fresh key store (as another instance would), and signing what the stored public key
//! verifies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use tongban_core::config::DatabaseConfig;
use tongban_crypto::kek::Kek;
use tongban_crypto::keystore::KeyStore;
use tongban_crypto::{Algorithm, PublicKey};

#[tokio::test]
async fn an_sm2_key_is_stored_sealed_and_opens_on_another_instance() {
    let dir = std::env::temp_dir().join(format!("tongban-sm2-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = DatabaseConfig {
        url: format!("sqlite://{}", dir.join("keys.db").display()),
        ..DatabaseConfig::default()
    };
    let store = tongban_store::Store::connect(&config).await.unwrap();
    store.migrate().await.unwrap();
    let keys_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys-dev");
    let kek_text = std::fs::read_to_string(keys_dir.join("kek")).unwrap();
    let kek = Arc::new(Kek::from_base64(kek_text.trim()).unwrap());

    let made = KeyStore::new(store.clone(), kek.clone())
        .generate(Algorithm::Sm2, "sm2-test")
        .await
        .unwrap();
    assert_eq!(made.algorithm(), Algorithm::Sm2);

    let mut conn = store.conn().await.unwrap();
    let row = tongban_store::pki::key(&mut conn, made.key_id())
        .await
        .unwrap()
        .expect("stored");
    drop(conn);
    assert_eq!(row.algorithm, "SM2");
    assert_eq!(row.public_key, made.public_key().raw());
    // What is stored is not a private key document: it opens only under the KEK.
    use sm2::pkcs8::DecodePrivateKey as _;
    assert!(sm2::SecretKey::from_pkcs8_der(&row.encrypted_private).is_err());

    let reopened = KeyStore::new(store.clone(), kek)
        .load(made.key_id())
        .await
        .unwrap();
    let signature = reopened.sign_x509(b"tongban").unwrap();
    let public = PublicKey::from_raw(Algorithm::Sm2, &row.public_key).unwrap();
    assert!(public.verify_x509(b"tongban", &signature));

    // Under another KEK the sealed key does not open.
    let other = Arc::new(Kek::from_base64(&base64_of([7u8; 32])).unwrap());
    assert!(
        KeyStore::new(store, other)
            .load(made.key_id())
            .await
            .is_err()
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn base64_of(bytes: [u8; 32]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
