//! PKI interop: our certificates, CRLs, CMS signatures, time-stamps and JWS judged by
//! openssl and PyPI jwcrypto. Run by `tests/interop/run` (ignored in the plain suite,
//! which may lack the Python environment).

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Map;
use support::TestServer;
use tongban_crypto::ca::Profile;
use tongban_crypto::cms::{sha256, sign_detached_digest};
use tongban_crypto::crl::RevocationReason;
use tongban_crypto::jose::{Jwk, Jwks, sign_compact, sign_detached};
use tongban_crypto::pki::der_to_pem;

struct Workdir(PathBuf);

impl Workdir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tongban-interop-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn pem(&self, name: &str, ders: &[&[u8]]) -> PathBuf {
        let text: String = ders.iter().map(|d| der_to_pem("CERTIFICATE", d)).collect();
        self.write(name, text)
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs openssl; returns (success, stdout + stderr).
fn openssl(args: &[&dyn AsRef<std::ffi::OsStr>]) -> (bool, String) {
    let output = Command::new("openssl")
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("openssl is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn seal() -> Profile {
    Profile::Seal {
        department: "某市市场监督管理局".into(),
        uscc: "11100000000013338W".into(),
        seal_name: "行政审批专用章".into(),
    }
}

async fn fetch_crl(server: &TestServer, work: &Workdir, name: &str) -> PathBuf {
    let response = server.get("/pki/crl/issuing.crl").await;
    assert_eq!(response.headers()["content-type"], "application/pkix-crl");
    let der = response.bytes().await.unwrap();
    let path = work.path(name);
    let (ok, text) = openssl(&[
        &"crl",
        &"-inform",
        &"DER",
        &"-in",
        &work.write(&format!("{name}.der"), &der),
        &"-out",
        &path,
    ]);
    assert!(ok, "{text}");
    path
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn openssl_verifies_a_seal_leaf_until_it_is_revoked() {
    let server = TestServer::start().await;
    let pki = server.pki().clone();
    let work = Workdir::new();
    let root = work.pem("root.pem", &[pki.root()]);
    let issuing = work.pem("issuing.pem", &[pki.issuing()]);
    let (_, leaf_row) = pki.issue(&seal()).await.unwrap();
    let leaf = work.pem("leaf.pem", &[&leaf_row.der]);

    let crl = fetch_crl(&server, &work, "crl.pem").await;
    let (ok, text) = openssl(&[
        &"crl", &"-in", &crl, &"-CAfile", &issuing, &"-noout", &"-verify",
    ]);
    assert!(ok && text.contains("verify OK"), "{text}");
    let (ok, text) = openssl(&[
        &"verify",
        &"-CAfile",
        &root,
        &"-untrusted",
        &issuing,
        &"-crl_check",
        &"-CRLfile",
        &crl,
        &leaf,
    ]);
    assert!(ok, "{text}");

    assert!(
        pki.revoke(&leaf_row.serial, RevocationReason::KeyCompromise)
            .await
            .unwrap()
    );
    let crl = fetch_crl(&server, &work, "crl-after.pem").await;
    let (ok, text) = openssl(&[
        &"crl", &"-in", &crl, &"-CAfile", &issuing, &"-noout", &"-verify",
    ]);
    assert!(ok && text.contains("verify OK"), "{text}");
    let (ok, text) = openssl(&[
        &"verify",
        &"-CAfile",
        &root,
        &"-untrusted",
        &issuing,
        &"-crl_check",
        &"-CRLfile",
        &crl,
        &leaf,
    ]);
    assert!(!ok && text.contains("certificate revoked"), "{text}");
    server.stop().await;
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn openssl_verifies_our_detached_cms_and_catches_a_flipped_byte() {
    let server = TestServer::start().await;
    let pki = server.pki().clone();
    let work = Workdir::new();
    let root = work.pem("root.pem", &[pki.root()]);
    let (signer, leaf_row) = pki.issue(&seal()).await.unwrap();
    let document: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let doc = work.write("doc.bin", &document);
    // Signed from the digest alone: the document never reaches the signer.
    let p7s = sign_detached_digest(
        signer.as_ref(),
        &[leaf_row.der.clone(), pki.issuing().to_vec()],
        sha256(&document),
        Some(tongban_core::Timestamp::now()),
    )
    .unwrap();
    let sig = work.write("doc.p7s", &p7s);
    let (ok, text) = openssl(&[
        &"cms",
        &"-verify",
        &"-binary",
        &"-inform",
        &"DER",
        &"-in",
        &sig,
        &"-content",
        &doc,
        &"-CAfile",
        &root,
        &"-out",
        &work.path("out"),
    ]);
    assert!(ok && text.contains("Verification successful"), "{text}");
    // The signed attributes include ESS signing-certificate-v2.
    let (ok, text) = openssl(&[
        &"cms", &"-cmsout", &"-print", &"-inform", &"DER", &"-in", &sig,
    ]);
    assert!(
        ok && text.contains("id-smime-aa-signingCertificateV2"),
        "{text}"
    );

    let mut tampered = document.clone();
    tampered[4321] ^= 0x01;
    let doc2 = work.write("doc2.bin", &tampered);
    let (ok, text) = openssl(&[
        &"cms",
        &"-verify",
        &"-binary",
        &"-inform",
        &"DER",
        &"-in",
        &sig,
        &"-content",
        &doc2,
        &"-CAfile",
        &root,
        &"-out",
        &work.path("out2"),
    ]);
    assert!(!ok, "a flipped byte still verified: {text}");
    server.stop().await;
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn openssl_ts_verifies_our_time_stamp_replies() {
    let server = TestServer::start().await;
    let pki = server.pki().clone();
    let work = Workdir::new();
    let root = work.pem("root.pem", &[pki.root()]);
    let chain: Vec<&[u8]> = pki.tsa().chain().iter().map(Vec::as_slice).collect();
    let tsa = work.pem("tsa.pem", &chain);
    let doc = work.write("doc.txt", "a document to time-stamp\n");
    for (name, extra) in [("with-cert", "-cert"), ("no-cert", "-no_nonce")] {
        let query = work.path(&format!("{name}.tsq"));
        let (ok, text) = openssl(&[
            &"ts", &"-query", &"-data", &doc, &"-sha256", &extra, &"-out", &query,
        ]);
        assert!(ok, "{text}");
        let response = server
            .post(
                "/pki/tsa",
                "application/timestamp-query",
                std::fs::read(&query).unwrap(),
            )
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/timestamp-reply"
        );
        let reply = work.write(&format!("{name}.tsr"), response.bytes().await.unwrap());
        let (ok, text) = openssl(&[
            &"ts",
            &"-verify",
            &"-data",
            &doc,
            &"-in",
            &reply,
            &"-CAfile",
            &root,
            &"-untrusted",
            &tsa,
        ]);
        assert!(ok && text.contains("Verification: OK"), "{name}: {text}");
        // The reply matches its own query too (nonce echo, imprint).
        let (ok, text) = openssl(&[
            &"ts",
            &"-verify",
            &"-queryfile",
            &query,
            &"-in",
            &reply,
            &"-CAfile",
            &root,
            &"-untrusted",
            &tsa,
        ]);
        assert!(ok, "{name}: {text}");
    }
    // Another document does not verify against the reply.
    let other = work.write("other.txt", "another document\n");
    let (ok, _) = openssl(&[
        &"ts",
        &"-verify",
        &"-data",
        &other,
        &"-in",
        &work.path("with-cert.tsr"),
        &"-CAfile",
        &root,
        &"-untrusted",
        &tsa,
    ]);
    assert!(!ok);
    server.stop().await;
}

fn python() -> PathBuf {
    std::env::var_os("TONGBAN_INTEROP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join("tests/interop/.venv/bin/python"))
}

fn jwcrypto(script_args: &[&Path]) -> (bool, String) {
    let output = Command::new(python())
        .arg(support::repo_root().join("tests/interop/jws_verify.py"))
        .args(script_args)
        .output()
        .expect("python with jwcrypto (tests/interop/run makes it)");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn jwcrypto_verifies_compact_and_detached_jws_from_our_jwks() {
    let server = TestServer::start().await;
    let pki = server.pki().clone();
    let work = Workdir::new();
    let (signer, row) = pki
        .issue(&Profile::TokenSigning {
            name: "Tongban Token Signing".into(),
        })
        .await
        .unwrap();
    let chain = vec![row.der.clone(), pki.issuing().to_vec()];
    let jwks = Jwks {
        keys: vec![Jwk::from_public_key(signer.public_key(), Some(&chain))],
    };
    let payload = br#"{"iss":"tongban","sub":"interop"}"#;
    let jwks_file = work.write("jwks.json", serde_json::to_vec(&jwks).unwrap());
    let compact = work.write(
        "compact.jws",
        sign_compact(signer.as_ref(), payload, &Map::new()).unwrap(),
    );
    let detached = work.write(
        "detached.jws",
        sign_detached(signer.as_ref(), payload, &Map::new()).unwrap(),
    );
    let payload_file = work.write("payload.json", payload);
    let (ok, text) = jwcrypto(&[&jwks_file, &compact, &detached, &payload_file]);
    assert!(ok, "{text}");
    // A different payload must not verify as the detached content.
    let wrong = work.write("wrong.json", br#"{"iss":"tongban","sub":"someone else"}"#);
    let (ok, text) = jwcrypto(&[&jwks_file, &compact, &detached, &wrong]);
    assert!(!ok, "{text}");
    server.stop().await;
}
