//! Signing throughput through our layers beside the raw ring limit, in the same run:
//! ES256 sign and verify (`Signer` vs ring), SM2 sign and verify (`Signer` vs
//! RustCrypto `sm2`), detached CMS from a digest, and RFC 3161
//! time-stamp replies (parse, database serial, sign, encode) on SQLite.
//!
//! `cargo bench -p tongban-crypto --bench signing` — criterion prints time per
//! operation and operations per second (thrpt).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use tongban_core::config::DatabaseConfig;
use tongban_crypto::ca::Profile;
use tongban_crypto::cms::{sha256, sign_detached_digest};
use tongban_crypto::kek::Kek;
use tongban_crypto::pki::Pki;
use tongban_crypto::{Algorithm, Signer, SoftwareKey};

const MESSAGE: &[u8] = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IlRvbmdiYW4ifQ";

fn es256(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let raw = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .unwrap();
    let ours = SoftwareKey::ephemeral(Algorithm::Es256).unwrap();
    let raw_sig = raw.sign(&rng, MESSAGE).unwrap();
    let our_sig = ours.sign(MESSAGE).unwrap();
    let raw_public = UnparsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        raw.public_key().as_ref().to_vec(),
    );

    let mut group = c.benchmark_group("es256");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign/ring", |b| b.iter(|| raw.sign(&rng, MESSAGE).unwrap()));
    group.bench_function("sign/Signer", |b| b.iter(|| ours.sign(MESSAGE).unwrap()));
    group.bench_function("verify/ring", |b| {
        b.iter(|| raw_public.verify(MESSAGE, raw_sig.as_ref()).unwrap())
    });
    group.bench_function("verify/PublicKey", |b| {
        b.iter(|| assert!(ours.public_key().verify(MESSAGE, &our_sig)))
    });
    group.finish();
}

/// SM2 with SM3 (default distinguishing identifier) through `Signer` and `PublicKey`
/// beside the raw RustCrypto `sm2` calls they wrap, in the same run.
fn sm2(c: &mut Criterion) {
    use sm2::dsa::signature::{Signer as _, Verifier as _};
    let secret = sm2::SecretKey::random(&mut rand_core::OsRng);
    let distid = tongban_crypto::shangmi::DEFAULT_DISTID;
    let raw = sm2::dsa::SigningKey::new(distid, &secret).unwrap();
    let raw_sig: sm2::dsa::Signature = raw.sign(MESSAGE);
    let raw_public = raw.verifying_key().clone();
    let ours = SoftwareKey::ephemeral(Algorithm::Sm2).unwrap();
    let our_sig = ours.sign(MESSAGE).unwrap();

    let mut group = c.benchmark_group("sm2");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign/sm2", |b| {
        b.iter(|| -> sm2::dsa::Signature { raw.sign(MESSAGE) })
    });
    group.bench_function("sign/Signer", |b| b.iter(|| ours.sign(MESSAGE).unwrap()));
    group.bench_function("verify/sm2", |b| {
        b.iter(|| raw_public.verify(MESSAGE, &raw_sig).unwrap())
    });
    group.bench_function("verify/PublicKey", |b| {
        b.iter(|| assert!(ours.public_key().verify(MESSAGE, &our_sig)))
    });
    group.finish();
}

/// A PKI over a fresh SQLite file, with the repository's development keys.
fn pki(runtime: &tokio::runtime::Runtime) -> (Pki, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("tongban-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys-dev");
    let kek = Kek::from_base64(std::fs::read_to_string(keys.join("kek")).unwrap().trim()).unwrap();
    let config = DatabaseConfig {
        url: format!("sqlite://{}", dir.join("bench.db").display()),
        ..DatabaseConfig::default()
    };
    let pki = runtime.block_on(async {
        let store = tongban_store::Store::connect(&config).await.unwrap();
        store.migrate().await.unwrap();
        Pki::open(store, Arc::new(kek), &keys, "http://127.0.0.1:8080", true)
            .await
            .unwrap()
    });
    (pki, dir)
}

/// A DER TimeStampReq for a SHA-256 imprint with a nonce and certReq, as `openssl ts
/// -query -sha256 -cert` makes.
fn query(digest: [u8; 32]) -> Vec<u8> {
    let mut q = vec![
        0x30, 0x43, 0x02, 0x01, 0x01, 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
    ];
    q.extend_from_slice(&[
        0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
    ]);
    q.extend_from_slice(&digest);
    q.extend_from_slice(&[0x02, 0x08, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]);
    q.extend_from_slice(&[0x01, 0x01, 0xff]);
    q
}

fn cms_and_tsa(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (pki, dir) = pki(&runtime);
    let (signer, row) = runtime
        .block_on(pki.issue(&Profile::Seal {
            department: "Bench Department".into(),
            uscc: "11100000000013338W".into(),
            seal_name: "Bench Seal".into(),
        }))
        .unwrap();
    let chain = vec![row.der.clone(), pki.issuing().to_vec()];
    let digest = sha256(b"a document");

    let mut group = c.benchmark_group("pki");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cms_detached_from_digest", |b| {
        b.iter(|| sign_detached_digest(signer.as_ref(), &chain, digest, None).unwrap())
    });
    let q = query(digest);
    let tsa = pki.tsa().clone();
    group.bench_function("tsa_reply_sqlite", |b| {
        b.iter(|| {
            let reply = tsa.respond(&q);
            assert_eq!(&reply[6..9], &[0x02, 0x01, 0x00], "granted");
            reply
        })
    });
    group.bench_function("tsa_token_in_process_sqlite", |b| {
        b.iter(|| tsa.timestamp(digest).unwrap())
    });
    group.finish();
    std::fs::remove_dir_all(dir).ok();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = es256, sm2, cms_and_tsa
}
criterion_main!(benches);
