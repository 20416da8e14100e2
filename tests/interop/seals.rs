//! E-seal interop: what the sealing API returns, judged by openssl (`cms -verify` of
//! the CAdES signature with the original file, `ts -verify` of its embedded signature
//! time-stamp) and PyPI jwcrypto (the detached JWS with its x5c chain). Run by
//! `tests/interop/run`.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

#[path = "common.rs"]
mod common;

use std::process::Command;

use base64::Engine as _;
use common::{Raster, Workdir, cms_verify, judge_pdf, nss_db, openssl, public_server, python, run};
use serde_json::{Value, json};
use support::TestServer;
use tongban_core::time::Timestamp;
use tongban_crypto::cms;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::subjects::{self, Level};
use tongban_seal::grants::{self, Grantee};
use tongban_seal::permissions::Actor;
use tongban_seal::registry::{self, SealKind};

/// A department with a seal granted to its client system; returns the seal id and
/// the system's access token.
async fn sealing_system(server: &TestServer) -> (String, String) {
    let (seals, token) = sealing_system_with(server, 1).await;
    (seals[0].clone(), token)
}

/// A department with `count` (1 or 2) seals granted to its client system.
async fn sealing_system_with(server: &TestServer, count: usize) -> (Vec<String>, String) {
    let now = Timestamp::now();
    let mut tx = server.store().begin().await.unwrap();
    let department = subjects::create_department(
        &mut tx,
        "某市市场监督管理局",
        "11100000000013338W",
        Level::Province,
        None,
        now,
    )
    .await
    .unwrap();
    let (system, secret) = clients::register(
        &mut tx,
        &NewClient {
            name: "licence system".into(),
            confidential: true,
            scopes: vec!["seal:use".into()],
            grant_types: vec!["client_credentials".into()],
            department_id: Some(department.id),
            ..NewClient::default()
        },
        now,
    )
    .await
    .unwrap();
    let operator = Actor::Client {
        client_id: "operator".into(),
        scopes: vec!["admin".into()],
    };
    let mut seals = Vec::new();
    for (kind, name) in [
        (SealKind::Official, "行政审批专用章"),
        (SealKind::Contract, "合同专用章"),
    ]
    .into_iter()
    .take(count)
    {
        let p256 = tongban_crypto::Algorithm::Es256;
        let seal = registry::create(
            &mut tx,
            server.pki(),
            &operator,
            department.id,
            kind,
            name,
            p256,
        )
        .await
        .unwrap();
        let grantee = Grantee::Client(system.id.clone());
        grants::grant(&mut tx, &operator, seal.id, &grantee, false, None)
            .await
            .unwrap();
        seals.push(seal.id.to_string());
    }
    tx.commit().await.unwrap();
    let tokens: Value = server
        .client
        .post(format!("{}/token", server.base))
        .basic_auth(&system.id, secret)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (seals, tokens["access_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn openssl_verifies_sealed_files_and_digests_and_their_time_stamps() {
    let server = TestServer::start().await;
    let (seal, token) = sealing_system(&server).await;
    let work = Workdir::new();
    let root = work.pem("root.pem", &[server.pki().root()]);
    let chain: Vec<&[u8]> = server
        .pki()
        .tsa()
        .chain()
        .iter()
        .map(Vec::as_slice)
        .collect();
    let tsa = work.pem("tsa.pem", &chain);
    let document: Vec<u8> = (0..100_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let doc = work.write("contract.bin", &document);

    // The file itself, and its digest alone: both signatures verify with the file.
    let by_file = server
        .client
        .post(format!("{}/api/v1/seals/{seal}/cades/file", server.base))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(document.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(by_file.status(), 200);
    let by_file = by_file.bytes().await.unwrap().to_vec();
    let digest = tongban_crypto::ca::hex(&cms::sha256(&document));
    let by_digest: Value = server
        .client
        .post(format!("{}/api/v1/seals/{seal}/cades", server.base))
        .bearer_auth(&token)
        .json(&json!({"digests": [digest]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let by_digest = base64::engine::general_purpose::STANDARD
        .decode(by_digest["signatures"][0]["p7s"].as_str().unwrap())
        .unwrap();
    for (name, p7s) in [("file", &by_file), ("digest", &by_digest)] {
        let sig = work.write(&format!("{name}.p7s"), p7s);
        let (ok, text) = cms_verify(&work, &sig, &doc, &root);
        assert!(
            ok && text.contains("Verification successful"),
            "{name}: {text}"
        );
        // The signature time-stamp covers the signature value (RFC 3161 Appendix A).
        let token = cms::signature_timestamp(p7s).unwrap().expect("B-T");
        let value = work.write(
            &format!("{name}.sigvalue"),
            cms::signature_value(p7s).unwrap(),
        );
        let token_path = work.write(&format!("{name}.tst"), &token);
        let (ok, text) = openssl(&[
            &"ts",
            &"-verify",
            &"-data",
            &value,
            &"-in",
            &token_path,
            &"-token_in",
            &"-CAfile",
            &root,
            &"-untrusted",
            &tsa,
        ]);
        assert!(
            ok && text.contains("Verification: OK"),
            "{name} time-stamp: {text}"
        );
    }
    // One changed byte of the file: refused.
    let mut changed = document.clone();
    changed[50_000] ^= 1;
    let changed = work.write("changed.bin", &changed);
    let (ok, text) = cms_verify(&work, &work.path("file.p7s"), &changed, &root);
    assert!(!ok, "a changed file verified: {text}");
    server.stop().await;
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn jwcrypto_verifies_a_sealed_detached_jws_and_its_chain() {
    let server = TestServer::start().await;
    let (seal, token) = sealing_system(&server).await;
    let work = Workdir::new();
    let root = work.pem("root.pem", &[server.pki().root()]);
    let payload = br#"{"licence":"91350100M000100Y43","status":"valid"}"#;
    let jws = server
        .client
        .post(format!("{}/api/v1/seals/{seal}/jws", server.base))
        .bearer_auth(&token)
        .body(payload.to_vec())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let run = |payload_file: &std::path::Path| {
        let output = Command::new(python())
            .arg(support::repo_root().join("tests/interop/jws_x5c_verify.py"))
            .arg(work.write("seal.jws", &jws))
            .arg(payload_file)
            .arg(&root)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (ok, text) = run(&work.write("payload.json", payload));
    assert!(ok, "{text}");
    let (ok, text) = run(&work.write("other.json", br#"{"licence":"x"}"#));
    assert!(!ok, "another payload verified: {text}");
    server.stop().await;
}

async fn seal_pdf(
    server: &TestServer,
    seal: &str,
    token: &str,
    pdf: Vec<u8>,
    query: &str,
) -> Vec<u8> {
    let response = server
        .client
        .post(format!("{}/api/v1/seals/{seal}/pades?{query}", server.base))
        .bearer_auth(token)
        .header("content-type", "application/pdf")
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

/// A server with two seals for one system, and what the PDF judges need: a work
/// directory, our root as PEM and in an NSS database.
struct Judged {
    server: TestServer,
    seals: Vec<String>,
    token: String,
    work: Workdir,
    root: std::path::PathBuf,
    nss_dir: String,
}

async fn judged() -> Judged {
    let server = public_server().await;
    let (seals, token) = sealing_system_with(&server, 2).await;
    let work = Workdir::new();
    let root = work.pem("root.pem", &[server.pki().root()]);
    let nss_dir = nss_db(&work, &root);
    Judged {
        server,
        seals,
        token,
        work,
        root,
        nss_dir,
    }
}

impl Judged {
    /// `pdf` sealed with the first seal (query `first`), then that with the second
    /// (query `second`); each judged by qpdf, pdfsig and pyHanko as `{name}-once` and
    /// `{name}-twice`.
    async fn seal_twice(
        &self,
        name: &str,
        pdf: Vec<u8>,
        first: &str,
        second: &str,
    ) -> (Vec<u8>, Vec<u8>) {
        let (server, token) = (&self.server, &self.token);
        let once = seal_pdf(server, &self.seals[0], token, pdf, first).await;
        let twice = seal_pdf(server, &self.seals[1], token, once.clone(), second).await;
        for (suffix, pdf, count) in [("once", &once, 1), ("twice", &twice, 2)] {
            let file = format!("{name}-{suffix}");
            judge_pdf(&self.work, &self.nss_dir, &self.root, &file, pdf, count);
        }
        (once, twice)
    }
}

// Multi-threaded: pyHanko fetches CRLs from the server while this thread waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by tests/interop/run"]
async fn pdfsig_pyhanko_and_qpdf_accept_one_and_two_seals() {
    let judged = judged().await;
    // Two seals, as when a document is sealed by two of its issuers' seals.
    let (once, _) = judged
        .seal_twice(
            "plain",
            support::sample_pdf(10, 200_000),
            "reason=approved&location=Hangzhou",
            "page=2&x=60&y=60&size=100",
        )
        .await;
    let Judged {
        server,
        work,
        nss_dir,
        ..
    } = judged;
    // Without our root, pdfsig does not trust the seal: the trust check is real.
    let (_, text) = run("pdfsig", &[&work.path("plain-once.pdf")]);
    assert!(!text.contains("Certificate is Trusted."), "{text}");
    // One byte changed inside the signed range: the signature is invalid.
    let mut tampered = once.clone();
    let at = tampered.windows(5).position(|w| w == b"page ").unwrap();
    tampered[at] = b'P';
    let file = work.write("tampered.pdf", &tampered);
    let (_, text) = run("pdfsig", &[&"-nssdir", &nss_dir, &file]);
    assert!(
        !text.contains("Signature is Valid."),
        "pdfsig tampered: {text}"
    );
    server.stop().await;
}

// Documents rewritten by qpdf, one with a classic cross-reference table and one with
// object streams and a cross-reference stream (as most current producers write): each
// update is written in the kind of section the document has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by tests/interop/run"]
async fn pdfs_written_by_qpdf_with_either_kind_of_xref_are_sealed_twice_and_accepted() {
    let judged = judged().await;
    let work = &judged.work;
    let plain = work.write("plain.pdf", support::sample_pdf(3, 50_000));
    // Also linearized ("fast web view"): the last startxref names the first-page
    // section near the start, whose /Prev leads to the main one.
    for (mode, marker) in [
        ("--object-streams=disable", &b"\nxref"[..]),
        ("--object-streams=generate", b"/ObjStm"),
        ("--linearize", b"/Linearized"),
    ] {
        let rewritten = work.path(&format!("qpdf{mode}.pdf"));
        let (ok, text) = run("qpdf", &[&mode, &plain, &rewritten]);
        assert!(ok, "qpdf: {text}");
        let rewritten = std::fs::read(&rewritten).unwrap();
        assert!(
            rewritten.windows(marker.len()).any(|w| w == marker),
            "qpdf {mode}"
        );
        let (_, twice) = judged
            .seal_twice(mode, rewritten, "reason=approved", "page=3")
            .await;
        // And our own validation agrees.
        let report: Value = judged
            .server
            .post("/api/v1/verify", "application/pdf", twice)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["overall"], "TOTAL-PASSED", "{mode}: {report}");
    }
    judged.server.stop().await;
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn a_pdf_encrypted_by_qpdf_is_refused_without_a_usage_record() {
    let server = TestServer::start().await;
    let (seal, token) = sealing_system(&server).await;
    let work = Workdir::new();
    let plain = work.write("plain.pdf", support::sample_pdf(1, 1_000));
    let encrypted = work.path("encrypted.pdf");
    let (ok, text) = run(
        "qpdf",
        &[
            &"--encrypt",
            &"user",
            &"owner",
            &"256",
            &"--",
            &plain,
            &encrypted,
        ],
    );
    assert!(ok, "{text}");
    let response = server
        .client
        .post(format!("{}/api/v1/seals/{seal}/pades", server.base))
        .bearer_auth(&token)
        .header("content-type", "application/pdf")
        .body(std::fs::read(&encrypted).unwrap())
        .send()
        .await
        .unwrap();
    let problem = support::assert_problem(response, 422, "invalid-request").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("encrypted"),
        "{problem}"
    );
    let mut conn = server.store().conn().await.unwrap();
    let operator = Actor::Client {
        client_id: "operator".into(),
        scopes: vec!["admin".into()],
    };
    let log = tongban_seal::sign::usages(
        &mut conn,
        &operator,
        seal.parse().unwrap(),
        &tongban_seal::sign::UsageFilter::default(),
    )
    .await
    .unwrap();
    assert!(log.is_empty());
    drop(conn);
    server.stop().await;
}

/// A seal image whose columns tell where they are: red, with green rising from 0 at
/// the left edge to 250 at the right.
fn gradient_seal(width: u32, height: u32) -> Vec<u8> {
    let mut pixels = Vec::new();
    for _ in 0..height {
        for x in 0..width {
            pixels.extend_from_slice(&[200, (x * 250 / (width - 1)) as u8, 0, 255]);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by tests/interop/run"]
async fn a_cross_page_seal_is_one_signature_to_pdfsig_and_pyhanko_and_its_slices_make_the_seal() {
    let judged = judged().await;
    let operator = Actor::Client {
        client_id: "operator".into(),
        scopes: vec!["admin".into()],
    };
    let seal = judged.seals[0].parse().unwrap();
    let mut tx = judged.server.store().begin().await.unwrap();
    let image = gradient_seal(300, 300);
    tongban_seal::image::set(&mut tx, judged.server.pki(), &operator, seal, &image)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Ten pages, a 150-point seal: 15 points of it on the right edge of each page.
    let (server, token) = (&judged.server, &judged.token);
    let pdf = support::sample_pdf(10, 20_000);
    let query = "riding=right&size=150&y=300";
    let sealed = seal_pdf(server, &judged.seals[0], token, pdf, query).await;
    judge_pdf(
        &judged.work,
        &judged.nss_dir,
        &judged.root,
        "riding",
        &sealed,
        1,
    );

    // pdftoppm at 72 dpi: a point is a pixel. Each page shows its slice at the edge,
    // page n the n-th tenth of the seal's gradient; together, the whole of it.
    let file = judged.work.write("riding.pdf", &sealed);
    let prefix = judged.work.path("page");
    let (ok, text) = run("pdftoppm", &[&"-r", &"72", &"-png", &file, &prefix]);
    assert!(ok, "{text}");
    let mut greens = Vec::new();
    for page in 1..=10 {
        let png_file = judged.work.path(&format!("page-{page:02}.png"));
        let image = Raster::from_png(&std::fs::read(png_file).unwrap());
        assert_eq!(image.width, 595);
        // Row 842 - 375: halfway up the seal.
        let at = |x: usize| image.rgb(x, 842 - 375);
        for x in 581..594 {
            let [r, g, b] = at(x);
            assert!(r > 150 && b < 60, "page {page}, column {x}: {r} {g} {b}");
            greens.push(g);
        }
        // Left of the slice, the page is blank where the seal would have been.
        let [r, g, b] = at(560);
        assert!(r > 240 && g > 240 && b > 240, "page {page}: {r} {g} {b}");
    }
    // The slices' columns, page after page, run through the whole gradient in order.
    assert!(greens.first().unwrap() < &20, "{greens:?}");
    assert!(greens.last().unwrap() > &230, "{greens:?}");
    assert!(greens.windows(2).all(|w| w[1] + 8 >= w[0]), "{greens:?}");
}

// Multi-threaded: pyHanko fetches CRLs from the server while this thread waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by tests/interop/run"]
async fn keys_in_a_pkcs11_token_seal_what_openssl_pdfsig_and_pyhanko_accept() {
    let hsm = support::softhsm::SoftHsm::new().expect("SoftHSM2 (apt-get install softhsm2)");
    let pkcs11 = hsm.config(&["issuing-ca", "seal", "tsa"]);
    let server = common::public_server_with(|c| c.keys.pkcs11 = pkcs11).await;
    let (seals, token) = sealing_system_with(&server, 1).await;
    let in_token: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM keys WHERE kind = 'pkcs11' AND purpose IN ('issuing-ca', 'seal', 'tsa')",
    )
    .fetch_one(&mut *server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(
        in_token, 3,
        "the issuing CA, TSA and seal keys are in the token"
    );
    let work = Workdir::new();
    let root = work.pem("root.pem", &[server.pki().root()]);
    let nss_dir = nss_db(&work, &root);
    // PAdES B-T: the seal's and the TSA's signatures, the seal's certificate and CRL
    // signed by the issuing CA, all by keys in the token.
    let pdf = seal_pdf(
        &server,
        &seals[0],
        &token,
        support::sample_pdf(3, 50_000),
        "",
    )
    .await;
    judge_pdf(&work, &nss_dir, &root, "hsm", &pdf, 1);
    // CAdES over a file, with openssl.
    let document = b"a contract sealed by a key in an HSM".to_vec();
    let p7s = server
        .client
        .post(format!(
            "{}/api/v1/seals/{}/cades/file",
            server.base, seals[0]
        ))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(document.clone())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let (sig, doc) = (
        work.write("hsm.p7s", &p7s),
        work.write("hsm.txt", &document),
    );
    let (ok, text) = cms_verify(&work, &sig, &doc, &root);
    assert!(ok && text.contains("Verification successful"), "{text}");
    server.stop().await;
}
