//! PKI interop: our certificates, CRLs, CMS signatures, time-stamps and JWS judged by
//! openssl and PyPI jwcrypto. Run by `tests/interop/run` (ignored in the plain suite,
//! which may lack the Python environment).

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

#[path = "common.rs"]
mod common;

use common::{Workdir, openssl, python, ts_verify};

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Map;
use support::TestServer;
use tongban_crypto::ca::Profile;
use tongban_crypto::cms::{sha256, sign_detached_digest};
use tongban_crypto::crl::RevocationReason;
use tongban_crypto::jose::{Jwk, Jwks, sign_compact, sign_detached};
use tongban_crypto::kek::Kek;

fn seal() -> Profile {
    Profile::Seal {
        department: "某市市场监督管理局".into(),
        uscc: "11100000000013338W".into(),
        seal_name: "行政审批专用章".into(),
    }
}

async fn fetch_crl(server: &TestServer, work: &Workdir, name: &str) -> PathBuf {
    fetch_crl_of(server, work, "issuing", name).await
}

async fn fetch_crl_of(server: &TestServer, work: &Workdir, ca: &str, name: &str) -> PathBuf {
    let response = server.get(&format!("/pki/crl/{ca}.crl")).await;
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

    // `openssl crl -verify` must accept every CRL we serve.
    let crl_verifies = |crl: &Path, issuer: &Path| {
        let (ok, text) = openssl(&[
            &"crl", &"-in", &crl, &"-CAfile", &issuer, &"-noout", &"-verify",
        ]);
        assert!(ok && text.contains("verify OK"), "{text}");
    };
    let verify_leaf = |check: &str, crls: &Path| {
        openssl(&[
            &"verify",
            &"-CAfile",
            &root,
            &"-untrusted",
            &issuing,
            &check,
            &"-CRLfile",
            &crls,
            &leaf,
        ])
    };

    let crl = fetch_crl(&server, &work, "crl.pem").await;
    crl_verifies(&crl, &issuing);
    let (ok, text) = verify_leaf("-crl_check", &crl);
    assert!(ok, "{text}");
    // The whole chain, the issuing CA's status in the root's CRL included.
    let root_crl = fetch_crl_of(&server, &work, "root", "root-crl.pem").await;
    crl_verifies(&root_crl, &root);
    let both = work.write(
        "crls.pem",
        [
            std::fs::read(&crl).unwrap(),
            std::fs::read(&root_crl).unwrap(),
        ]
        .concat(),
    );
    let (ok, text) = verify_leaf("-crl_check_all", &both);
    assert!(ok, "{text}");

    assert!(
        pki.revoke(&leaf_row.serial, RevocationReason::KeyCompromise)
            .await
            .unwrap()
    );
    let crl = fetch_crl(&server, &work, "crl-after.pem").await;
    crl_verifies(&crl, &issuing);
    let (ok, text) = verify_leaf("-crl_check", &crl);
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
    let mut serials = Vec::new();
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
        let (ok, text) = ts_verify("-data", &doc, &reply, &root, &tsa);
        assert!(ok && text.contains("Verification: OK"), "{name}: {text}");
        // The reply matches its own query too (nonce echo, imprint).
        let (ok, text) = ts_verify("-queryfile", &query, &reply, &root, &tsa);
        assert!(ok, "{name}: {text}");
        let (ok, text) = openssl(&[&"ts", &"-reply", &"-in", &reply, &"-text"]);
        assert!(ok, "{text}");
        let serial = text
            .lines()
            .find_map(|l| l.strip_prefix("Serial number: 0x"))
            .map(|hex| u128::from_str_radix(hex.trim(), 16).unwrap())
            .expect("a serial number");
        serials.push(serial);
    }
    // Serials increase from one reply to the next.
    assert!(serials[1] > serials[0], "{serials:?}");
    // Another document does not verify against the reply.
    let other = work.write("other.txt", "another document\n");
    let (ok, _) = ts_verify("-data", &other, &work.path("with-cert.tsr"), &root, &tsa);
    assert!(!ok);
    server.stop().await;
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
async fn jwcrypto_verifies_compact_and_detached_jws_with_our_published_jwks() {
    let server = TestServer::start().await;
    let pki = server.pki().clone();
    let work = Workdir::new();
    // The key that signs tokens now, and the JWKS as relying parties fetch it.
    let signer = pki
        .token_keys()
        .signer(tongban_core::Timestamp::now())
        .await
        .unwrap();
    let jwks_file = work.write(
        "jwks.json",
        server
            .get("/.well-known/jwks.json")
            .await
            .bytes()
            .await
            .unwrap(),
    );
    let payload = br#"{"iss":"tongban","sub":"interop"}"#;
    let compact = work.write(
        "compact.jws",
        sign_compact(signer.as_ref(), payload, &Map::new()).unwrap(),
    );
    let detached = work.write(
        "detached.jws",
        sign_detached(signer.as_ref(), payload, &Map::new()).unwrap(),
    );
    // A key with its certificate chain in x5c (RFC 7517 §4.7) is read by jwcrypto too.
    let (x5c_signer, row) = pki
        .issue(&Profile::TokenSigning {
            name: "Tongban Token Signing".into(),
        })
        .await
        .unwrap();
    let chain = vec![row.der.clone(), pki.issuing().to_vec()];
    let x5c_jwks = Jwks {
        keys: vec![Jwk::from_public_key(x5c_signer.public_key(), Some(&chain))],
    };
    let x5c_jwks_file = work.write("x5c-jwks.json", serde_json::to_vec(&x5c_jwks).unwrap());
    let x5c_compact = work.write(
        "x5c.jws",
        sign_compact(x5c_signer.as_ref(), payload, &Map::new()).unwrap(),
    );
    let x5c_detached = work.write(
        "x5c-detached.jws",
        sign_detached(x5c_signer.as_ref(), payload, &Map::new()).unwrap(),
    );
    let payload_file = work.write("payload.json", payload);
    let (ok, text) = jwcrypto(&[&jwks_file, &compact, &detached, &payload_file]);
    assert!(ok, "{text}");
    let (ok, text) = jwcrypto(&[&x5c_jwks_file, &x5c_compact, &x5c_detached, &payload_file]);
    assert!(ok, "{text}");
    // A different payload must not verify as the detached content.
    let wrong = work.write("wrong.json", br#"{"iss":"tongban","sub":"someone else"}"#);
    let (ok, text) = jwcrypto(&[&jwks_file, &compact, &detached, &wrong]);
    assert!(!ok, "{text}");
    server.stop().await;
}

/// Runs the built `tongban` with `env`; returns (success, stdout + stderr).
async fn tongban(args: &[&dyn AsRef<std::ffi::OsStr>], env: &[(&str, String)]) -> (bool, String) {
    let mut command = support::Binary::command();
    command.args(args.iter().map(|a| a.as_ref()));
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().await.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// `tongban keys import-root|issuing-csr|import-issuing --algorithm sm2` against an SM2
/// root OpenSSL made and keeps offline; returns the imported SM2 issuing CA (DER).
async fn sm2_ceremony(work: &Workdir, env: &[(&str, String)]) -> Vec<u8> {
    let distid = format!("distid:{}", tongban_crypto::shangmi::DEFAULT_DISTID);
    let (root_key, root) = (work.path("sm2-root.key"), work.path("sm2-root.pem"));
    let (ok, text) = openssl(&[&"genpkey", &"-algorithm", &"SM2", &"-out", &root_key]);
    assert!(ok, "{text}");
    let (ok, text) = openssl(&[
        &"req",
        &"-x509",
        &"-new",
        &"-key",
        &root_key,
        &"-sm3",
        &"-sigopt",
        &distid,
        &"-out",
        &root,
        &"-days",
        &"3650",
        &"-subj",
        &"/C=CN/O=Test Government/CN=Offline SM2 Root CA",
        &"-addext",
        &"basicConstraints=critical,CA:TRUE,pathlen:1",
        &"-addext",
        &"keyUsage=critical,keyCertSign,cRLSign",
    ]);
    assert!(ok, "{text}");
    // A P-256 root is not an SM2 root.
    let (ok, text) = sm2_keys(env, "import-root", &work.path("root.pem")).await;
    assert!(!ok, "{text}");
    let (ok, text) = sm2_keys(env, "import-root", &root).await;
    assert!(ok, "{text}");
    let request = work.path("sm2-issuing.csr");
    let (ok, text) = tongban(
        &[
            &"keys",
            &"issuing-csr",
            &"--algorithm",
            &"sm2",
            &"--out",
            &request,
        ],
        env,
    )
    .await;
    assert!(ok, "{text}");
    // OpenSSL checks the request's own SM2 signature before signing it.
    let (ok, text) = openssl(&[
        &"req", &"-in", &request, &"-verify", &"-vfyopt", &distid, &"-noout",
    ]);
    assert!(ok, "{text}");
    let sm2 = ["-sm3", "-sigopt", &distid, "-vfyopt", &distid];
    let issuing = offline_issuing(work, "sm2-issuing", &request, &root, &root_key, &sm2);
    // Not under the SM2 root: refused; under it: imported.
    let (ok, text) = sm2_keys(env, "import-issuing", &work.path("issuing.pem")).await;
    assert!(!ok, "{text}");
    let (ok, text) = sm2_keys(env, "import-issuing", &issuing).await;
    assert!(ok, "{text}");
    let der = work.path("sm2-issuing.der");
    let (ok, text) = openssl(&[
        &"x509",
        &"-in",
        &issuing,
        &"-outform",
        &"DER",
        &"-out",
        &der,
    ]);
    assert!(ok, "{text}");
    std::fs::read(der).unwrap()
}

/// Has the offline root (`root`, `root_key`) sign `request` as an issuing CA with
/// OpenSSL, with `extra` options (SM2's digest and identifier); returns the certificate
/// (PEM).
fn offline_issuing(
    work: &Workdir,
    name: &str,
    request: &Path,
    root: &Path,
    root_key: &Path,
    extra: &[&str],
) -> PathBuf {
    let extensions = work.write(
        &format!("{name}.ext"),
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    );
    let issuing = work.path(&format!("{name}.pem"));
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"x509",
        &"-req",
        &"-in",
        &request,
        &"-CA",
        &root,
        &"-CAkey",
        &root_key,
        &"-CAcreateserial",
        &"-days",
        &"1825",
        &"-extfile",
        &extensions,
        &"-out",
        &issuing,
    ];
    args.extend(extra.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
    let (ok, text) = openssl(&args);
    assert!(ok, "{text}");
    issuing
}

/// `openssl verify` of the SM2 certificate `cert` under the CA certificate `ca` alone.
/// OpenSSL 3.0's `verify -vfyopt` gives the distinguishing identifier to the target
/// certificate only (an intermediate's signature would be checked with the empty ID
/// and fail), so an SM2 chain is judged link by link, each as a partial chain.
fn verify_sm2_link(ca: &Path, cert: &Path) -> (bool, String) {
    let vfyopt = format!("distid:{}", tongban_crypto::shangmi::DEFAULT_DISTID);
    openssl(&[
        &"verify",
        &"-vfyopt",
        &vfyopt,
        &"-partial_chain",
        &"-CAfile",
        &ca,
        &cert,
    ])
}

/// `tongban keys <command> --algorithm sm2 <file>` with `env`.
async fn sm2_keys(env: &[(&str, String)], command: &str, file: &Path) -> (bool, String) {
    tongban(&[&"keys", &command, &"--algorithm", &"sm2", &file], env).await
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn production_ceremony_with_an_offline_openssl_root() {
    let work = Workdir::new();
    let db = support::TestDb::new().await;
    let root_key = work.path("root.key");
    let root = work.path("root.pem");
    let (ok, text) = openssl(&[
        &"req",
        &"-x509",
        &"-newkey",
        &"ec",
        &"-pkeyopt",
        &"ec_paramgen_curve:P-256",
        &"-nodes",
        &"-keyout",
        &root_key,
        &"-out",
        &root,
        &"-days",
        &"3650",
        &"-subj",
        &"/C=CN/O=Test Government/CN=Offline Root CA",
        &"-addext",
        &"basicConstraints=critical,CA:TRUE,pathlen:1",
        &"-addext",
        &"keyUsage=critical,keyCertSign,cRLSign",
    ]);
    assert!(ok, "{text}");
    let kek = Kek::generate().unwrap().to_base64();
    let env = [
        ("TONGBAN_ENV", "production".to_owned()),
        ("TONGBAN_KEK", kek),
        ("TONGBAN_KEYS_DIR", work.path("keys").display().to_string()),
        ("TONGBAN_DATABASE_URL", db.url.clone()),
    ];

    let (ok, text) = tongban(&[&"keys", &"import-root", &root], &env).await;
    assert!(ok, "{text}");
    // Without an issuing CA, production does not start, and says what to do.
    let (ok, text) = tongban(
        &[&"serve"],
        &[&env[..], &[("TONGBAN_LISTEN", "127.0.0.1:0".to_owned())]].concat(),
    )
    .await;
    assert!(!ok && text.contains("tongban keys issuing-csr"), "{text}");

    let request = work.path("issuing.csr");
    let (ok, text) = tongban(&[&"keys", &"issuing-csr", &"--out", &request], &env).await;
    assert!(ok, "{text}");
    let issuing = offline_issuing(&work, "issuing", &request, &root, &root_key, &[]);
    // A certificate for a key this database never made is refused.
    let (ok, text) = tongban(&[&"keys", &"import-issuing", &root], &env).await;
    assert!(!ok, "{text}");
    let (ok, text) = tongban(&[&"keys", &"import-issuing", &issuing], &env).await;
    assert!(ok, "{text}");

    // The same ceremony for the SM2 hierarchy, under an SM2 root OpenSSL made offline.
    let sm2_issuing = sm2_ceremony(&work, &env).await;

    // Now production starts, publishes the imported CA, and its TSA chains to the root.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = support::Binary::command();
    command
        .args(["serve"])
        .env("TONGBAN_LISTEN", format!("127.0.0.1:{port}"));
    for (k, v) in &env {
        command.env(k, v);
    }
    let child = command.stdout(std::process::Stdio::null()).spawn().unwrap();
    let client = support::client();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "production instance never became ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let fetch = |path: &str| {
        let request = client.get(format!("{base}{path}")).send();
        async move { request.await.unwrap().bytes().await.unwrap().to_vec() }
    };
    assert_eq!(fetch("/pki/ca/sm2-issuing.crt").await, sm2_issuing);
    let served = fetch("/pki/ca/issuing.crt").await;
    let (ok, text) = openssl(&[
        &"x509",
        &"-in",
        &issuing,
        &"-outform",
        &"DER",
        &"-out",
        &work.path("issuing.der"),
    ]);
    assert!(ok, "{text}");
    assert_eq!(
        served.to_vec(),
        std::fs::read(work.path("issuing.der")).unwrap()
    );
    let doc = work.write("doc.txt", "production document\n");
    let query = work.path("q.tsq");
    let (ok, text) = openssl(&[
        &"ts", &"-query", &"-data", &doc, &"-sha256", &"-cert", &"-out", &query,
    ]);
    assert!(ok, "{text}");
    let reply = client
        .post(format!("{base}/pki/tsa"))
        .header("content-type", "application/timestamp-query")
        .body(std::fs::read(&query).unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let reply = work.write("r.tsr", reply);
    let (ok, text) = ts_verify("-data", &doc, &reply, &root, &issuing);
    assert!(ok && text.contains("Verification: OK"), "{text}");
    // A leaf of the imported CA verifies with its CRL: the CRL's authority key id
    // matches the openssl-made CA's subject key id.
    let crl_der = client
        .get(format!("{base}/pki/crl/issuing.crl"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let crl_der = work.write("crl.der", crl_der);
    let crl = work.path("crl.pem");
    let (ok, text) = openssl(&[&"crl", &"-inform", &"DER", &"-in", &crl_der, &"-out", &crl]);
    assert!(ok, "{text}");
    let (ok, text) = openssl(&[
        &"crl", &"-in", &crl, &"-CAfile", &issuing, &"-noout", &"-verify",
    ]);
    assert!(ok && text.contains("verify OK"), "{text}");
    let tsa_leaf = work.path("tsa-leaf.pem");
    let (ok, text) = openssl(&[
        &"ts",
        &"-reply",
        &"-in",
        &reply,
        &"-token_out",
        &"-out",
        &work.path("token.der"),
    ]);
    assert!(ok, "{text}");
    let (ok, text) = openssl(&[
        &"pkcs7",
        &"-inform",
        &"DER",
        &"-in",
        &work.path("token.der"),
        &"-print_certs",
        &"-out",
        &tsa_leaf,
    ]);
    assert!(ok, "{text}");
    // The token carries the TSA's and the issuing CA's certificates (in DER set order):
    // keep the one that is not the issuing CA's.
    let body = |pem: &str| {
        pem.lines()
            .skip_while(|l| !l.starts_with("-----BEGIN"))
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    };
    let issuing_body = body(&std::fs::read_to_string(&issuing).unwrap());
    let end = "-----END CERTIFICATE-----";
    let tsa_only = std::fs::read_to_string(&tsa_leaf)
        .unwrap()
        .split_inclusive(end)
        .map(|block| block.trim().to_owned())
        .map(|block| block[block.find("-----BEGIN").unwrap_or(0)..].to_owned())
        .find(|block| block.ends_with(end) && body(block) != issuing_body)
        .expect("the TSA certificate");
    let tsa_leaf = work.write("tsa-only.pem", format!("{tsa_only}\n"));
    let (ok, text) = openssl(&[
        &"verify",
        &"-CAfile",
        &root,
        &"-untrusted",
        &issuing,
        &"-crl_check",
        &"-CRLfile",
        &crl,
        &"-purpose",
        &"timestampsign",
        &tsa_leaf,
    ]);
    assert!(ok, "{text}");
    drop(child);
}

/// SM2 with SM3 and the default distinguishing identifier, judged by OpenSSL 3 both ways:
/// it accepts our signatures (and refuses them over other bytes or with its own empty
/// default ID), and we accept its signatures made with a key it generated.
#[test]
#[ignore = "interop: run by tests/interop/run"]
fn openssl_and_we_agree_on_sm2_signatures_and_sm3() {
    use tongban_crypto::pki::der_to_pem;
    use tongban_crypto::shangmi::{DEFAULT_DISTID, sm3};
    use tongban_crypto::{Algorithm, PublicKey, Signer, SoftwareKey};

    let work = Workdir::new();
    let message = "电子印章 GB/T 38540: 签章数据".as_bytes();
    let message_path = work.write("message.bin", message);
    let sigopt = format!("distid:{DEFAULT_DISTID}");

    // SM3: the same digest as openssl dgst.
    let (ok, text) = openssl(&[&"dgst", &"-sm3", &"-hex", &message_path]);
    assert!(ok, "{text}");
    assert!(
        text.trim_end()
            .ends_with(&tongban_crypto::ca::hex(&sm3(message))),
        "{text}"
    );

    // Ours, verified by OpenSSL.
    let key = SoftwareKey::ephemeral(Algorithm::Sm2).unwrap();
    let public = work.write(
        "ours.pem",
        der_to_pem("PUBLIC KEY", &key.public_key().spki_der()),
    );
    let signature = work.write("ours.sig", key.sign_x509(message).unwrap());
    let verify = |message: &Path, vfyopt: &str| {
        openssl(&[
            &"dgst",
            &"-sm3",
            &"-verify",
            &public,
            &"-sigopt",
            &vfyopt,
            &"-signature",
            &signature,
            &message,
        ])
    };
    let (ok, text) = verify(&message_path, &sigopt);
    assert!(ok && text.contains("Verified OK"), "{text}");
    let other = work.write("other.bin", b"another document");
    let (ok, text) = verify(&other, &sigopt);
    assert!(!ok, "a signature over other bytes verified: {text}");
    let (ok, text) = verify(&message_path, "distid:1234567812345679");
    assert!(
        !ok,
        "verified under another distinguishing identifier: {text}"
    );

    // OpenSSL's, verified by us.
    let private = work.path("theirs.key");
    let (ok, text) = openssl(&[&"genpkey", &"-algorithm", &"SM2", &"-out", &private]);
    assert!(ok, "{text}");
    let spki = work.path("theirs.der");
    let (ok, text) = openssl(&[
        &"pkey",
        &"-in",
        &private,
        &"-pubout",
        &"-outform",
        &"DER",
        &"-out",
        &spki,
    ]);
    assert!(ok, "{text}");
    let theirs = work.path("theirs.sig");
    let (ok, text) = openssl(&[
        &"dgst",
        &"-sm3",
        &"-sign",
        &private,
        &"-sigopt",
        &sigopt,
        &"-out",
        &theirs,
        &message_path,
    ]);
    assert!(ok, "{text}");
    let public = PublicKey::from_spki_der(&std::fs::read(&spki).unwrap()).unwrap();
    assert_eq!(public.algorithm(), Algorithm::Sm2);
    let theirs = std::fs::read(&theirs).unwrap();
    assert!(public.verify_x509(message, &theirs));
    assert!(!public.verify_x509(b"another document", &theirs));
}

/// An SM2 chain (root → issuing CA → seal) made by `sm2_certificates`, judged by
/// OpenSSL 3: `openssl verify` with the SM2 distinguishing identifier accepts each link,
/// and refuses a leaf under the wrong CA or with a flipped signature byte.
#[test]
#[ignore = "interop: run by tests/interop/run"]
fn openssl_verifies_an_sm2_chain() {
    use tongban_crypto::ca::PublicUrls;
    use tongban_crypto::pki::der_to_pem;

    use tongban_crypto::sm2_certificates::{Sm2Issuer, issue, self_signed_root};
    use tongban_crypto::{Algorithm, Signer, SoftwareKey};

    let work = Workdir::new();
    let now = time::OffsetDateTime::now_utc();
    let urls = PublicUrls::new("http://127.0.0.1:8080");
    let key = || SoftwareKey::ephemeral(Algorithm::Sm2).unwrap();
    let (root_key, issuing_key, seal_key, stranger) = (key(), key(), key(), key());
    let root = self_signed_root(&root_key, "Tongban SM2 Root CA", now).unwrap();
    let under_root = Sm2Issuer {
        name: "sm2-root",
        certificate: &root.der,
        key: &root_key,
    };
    let issuing_profile = Profile::IssuingCa {
        name: "Tongban SM2 Issuing CA".into(),
    };
    let issuing = issue(
        &issuing_profile,
        issuing_key.public_key(),
        &under_root,
        &urls,
        now,
    )
    .unwrap();
    let under_issuing = Sm2Issuer {
        name: "sm2-issuing",
        certificate: &issuing.der,
        key: &issuing_key,
    };
    let leaf = issue(&seal(), seal_key.public_key(), &under_issuing, &urls, now).unwrap();

    let pem = |name: &str, der: &[u8]| work.write(name, der_to_pem("CERTIFICATE", der));
    let (root_pem, issuing_pem, leaf_pem) = (
        pem("root.pem", &root.der),
        pem("issuing.pem", &issuing.der),
        pem("leaf.pem", &leaf.der),
    );
    // Each link on its own (see verify_sm2_link): the issuing CA under the root, the
    // leaf under the issuing CA.
    let verify = verify_sm2_link;
    let (ok, text) = verify(&root_pem, &issuing_pem);
    assert!(ok && text.contains(": OK"), "{text}");
    let (ok, text) = verify(&issuing_pem, &leaf_pem);
    assert!(ok && text.contains(": OK"), "{text}");
    let (ok, text) = verify(&root_pem, &leaf_pem);
    assert!(
        !ok,
        "the leaf verified under the root it was not signed by: {text}"
    );

    let (ok, text) = openssl(&[&"x509", &"-in", &leaf_pem, &"-noout", &"-text"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("SM2-with-SM3") || text.contains("1.2.156.10197.1.501"),
        "{text}"
    );
    assert!(
        text.contains("Digital Signature, Non Repudiation"),
        "{text}"
    );
    assert!(
        text.contains("http://127.0.0.1:8080/pki/crl/sm2-issuing.crl"),
        "{text}"
    );

    // The same certificate made by another key under the issuing CA's name fails.
    let forged_by = Sm2Issuer {
        key: &stranger,
        ..under_issuing
    };
    assert!(issue(&seal(), seal_key.public_key(), &forged_by, &urls, now).is_err());
    let mut tampered = leaf.der.clone();
    let at = tampered.len() - 10;
    tampered[at] ^= 1;
    let (ok, text) = verify(&issuing_pem, &pem("tampered.pem", &tampered));
    assert!(!ok, "a tampered signature verified: {text}");

    // The issuing CA's SM2 CRL with the leaf revoked reads as one in OpenSSL (its
    // `crl` command has no distinguishing-identifier option to check the signature; our
    // path validation does, in the crate's tests).
    let revoked = tongban_crypto::crl::RevokedEntry {
        serial_hex: leaf.serial.clone(),
        at: tongban_core::time::Timestamp::from(now),
        reason: RevocationReason::KeyCompromise,
    };
    let this = tongban_core::time::Timestamp::from(now);
    let next = tongban_core::time::Timestamp::from(now + time::Duration::days(1));
    let crl = tongban_crypto::sm2_certificates::sign_crl(&under_issuing, 7, &[revoked], this, next)
        .unwrap();
    let crl_path = work.write("sm2.crl", &crl);
    let (ok, text) = openssl(&[
        &"crl", &"-inform", &"DER", &"-in", &crl_path, &"-noout", &"-text",
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("SM2-with-SM3") || text.contains("1.2.156.10197.1.501"),
        "{text}"
    );
    assert!(text.contains(&leaf.serial.to_uppercase()), "{text}");
    assert!(
        text.contains("Key Compromise") && text.contains("X509v3 CRL Number"),
        "{text}"
    );
}

/// The service's own SM2 hierarchy as served: OpenSSL verifies the SM2 issuing CA under
/// the SM2 root (each read from `/pki/ca/…`) and reads both SM2 CRLs; the P-256 root does
/// not vouch for the SM2 issuing CA.
#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn openssl_verifies_the_served_sm2_hierarchy() {
    use tongban_crypto::pki::der_to_pem;

    let server = TestServer::start().await;
    let work = Workdir::new();
    let mut pem = std::collections::HashMap::new();
    for name in ["root", "sm2-root", "sm2-issuing"] {
        let response = server.get(&format!("/pki/ca/{name}.crt")).await;
        assert_eq!(response.status(), 200, "{name}");
        let der = response.bytes().await.unwrap();
        pem.insert(
            name,
            work.write(&format!("{name}.pem"), der_to_pem("CERTIFICATE", &der)),
        );
    }
    let verify = verify_sm2_link;
    let (ok, text) = verify(&pem["sm2-root"], &pem["sm2-issuing"]);
    assert!(ok && text.contains(": OK"), "{text}");
    let (ok, text) = verify(&pem["root"], &pem["sm2-issuing"]);
    assert!(!ok, "the P-256 root vouched for the SM2 issuing CA: {text}");
    for name in ["sm2-issuing", "sm2-root"] {
        let crl = fetch_crl_of(&server, &work, name, &format!("{name}.crl.pem")).await;
        let (ok, text) = openssl(&[&"crl", &"-in", &crl, &"-noout", &"-text"]);
        assert!(ok && text.contains("SM2-with-SM3"), "{text}");
    }
    server.stop().await;
}
