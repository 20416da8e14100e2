//! GB/T 38540 interop, both ways. Our SESeal and SES_Signature decode with PyPI
//! asn1tools against the standard's module (`gbt38540.asn`) and hold what the API was
//! asked for; PyPI gmssl (a second SM2 implementation) and `openssl dgst -sm3` verify
//! the signer's signature over the DER TBS_Sign and the seal maker's over the DER
//! SES_SealInfo, as asn1tools re-encodes them. And a signature built by gmssl keys and
//! the asn1tools encoder verifies in our report. Run by `tests/interop/run`.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

#[path = "common.rs"]
mod common;

use base64::Engine as _;
use common::{Workdir, openssl, openssl_verifies, python, run};
use serde_json::{Value, json};
use support::seal_world::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn script() -> String {
    support::repo_root()
        .join("tests/interop/ses.py")
        .display()
        .to_string()
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn our_ses_data_decodes_with_asn1tools_and_verifies_in_gmssl_and_openssl() {
    let w = world().await;
    let sm2 = new_sm2_seal(&w).await;
    let id = sm2["id"].as_str().unwrap();
    set_image(&w, id).await;
    grant_all(&w, &w.a, id, false).await;
    let document = b"%PDF-1.7 a contract".to_vec();
    let path = format!("/api/v1/seals/{id}/ses/file?name=contract.pdf");
    let octets = "application/octet-stream";
    let signed = post_document(&w, &w.a.system, &path, octets, document.clone()).await;
    assert_eq!(signed.status(), 200);
    let signature = signed.bytes().await.unwrap();
    let eseal = get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/eseal")).await;
    let eseal = eseal.bytes().await.unwrap();

    let work = Workdir::new();
    let (signature_file, eseal_file) = (
        work.write("signature.ses", &signature),
        work.write("seal.esl", &eseal),
    );
    let outdir = work.path("");
    let (ok, text) = run(
        python().to_str().unwrap(),
        &[&script(), &"decode", &signature_file, &eseal_file, &outdir],
    );
    assert!(ok, "{text}");
    let decoded: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(decoded["reencodes"], true, "{decoded}");
    assert_eq!(decoded["seal_in_signature_is_served_seal"], true);
    let seal = &decoded["seal"];
    assert_eq!(
        seal["header"],
        json!({"id": "ES", "version": 4, "vid": "Tongban"})
    );
    assert_eq!(seal["esID"], sm2["code"]);
    assert_eq!(seal["type"], 1);
    assert_eq!(seal["name"], sm2["name"]);
    assert_eq!(seal["certListType"], 1);
    assert_eq!(seal["signer_listed"], true);
    assert_eq!(
        seal["picture"],
        json!({"type": "PNG", "width": 42, "height": 21, "png": true})
    );
    assert_eq!(seal["signAlgID"], "1.2.156.10197.1.501");
    assert!(seal["validEnd"].as_str() > seal["validStart"].as_str());
    let signed = &decoded["signature"];
    assert_eq!(signed["version"], 4);
    assert_eq!(signed["propertyInfo"], "contract.pdf");
    assert_eq!(signed["signatureAlgID"], "1.2.156.10197.1.501");
    assert_eq!(signed["dataHashBits"], 256);
    // The SM2 TSA's token over the signature value, [0] EXPLICIT as the module says.
    assert_eq!(signed["timeStamp"], true);
    // The data hash is the SM3 of the document, as openssl computes it.
    let document_file = work.write("contract.pdf", &document);
    let (ok, digest) = openssl(&[&"dgst", &"-sm3", &"-r", &document_file]);
    assert!(ok, "{digest}");
    assert_eq!(signed["dataHash"].as_str().unwrap(), &digest[..64]);
    assert_eq!(
        decoded["gmssl"],
        json!({"signature_valid": true, "seal_valid": true})
    );
    assert!(openssl_verifies(
        &work,
        "signer.der",
        "tbs.der",
        "signature.der"
    ));
    assert!(openssl_verifies(
        &work,
        "maker.der",
        "sealinfo.der",
        "maker-signature.der"
    ));
    // The judge can say no: one byte of the signed TBS_Sign changed.
    let mut tbs = std::fs::read(work.path("tbs.der")).unwrap();
    let last = tbs.len() - 1;
    tbs[last] ^= 1;
    work.write("tbs.der", &tbs);
    assert!(!openssl_verifies(
        &work,
        "signer.der",
        "tbs.der",
        "signature.der"
    ));
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn a_signature_built_with_gmssl_and_asn1tools_verifies_here() {
    let work = Workdir::new();
    let document = work.write("notice.txt", b"a notice from another platform");
    let built = work.path("foreign.ses");
    let trust = work.path("trust");
    std::fs::create_dir_all(&trust).unwrap();
    let (ok, text) = run(
        python().to_str().unwrap(),
        &[&script(), &"build", &document, &built, &trust],
    );
    assert!(ok, "{text}");
    let der = std::fs::read(&built).unwrap();
    let file = std::fs::read(&document).unwrap();
    let body = json!({"ses": b64(&der), "file": b64(&file)});

    // Without that platform's root: integrity holds (the value, the seal maker's
    // signature and the list all check); only the chain is unknown.
    let w = world().await;
    let report = verify_json(&w, body.clone()).await;
    let signature = &report["signatures"][0];
    assert_eq!(signature["format"], "ses");
    assert_eq!(signature["field"], "notice.txt");
    assert_eq!(signature["integrity"], true, "{report}");
    assert_eq!(signature["trusted"], false);
    assert_eq!(signature["indication"], "INDETERMINATE", "{report}");
    assert_eq!(
        signature["sub_indication"], "NO_CERTIFICATE_CHAIN_FOUND",
        "{report}"
    );
    let messages = signature["messages"].to_string();
    for failure in ["does not verify", "may be used with", "validity"] {
        assert!(!messages.contains(failure), "{report}");
    }
    let report = verify_json(&w, json!({"ses": b64(&der), "file": b64(b"another file")})).await;
    assert_eq!(report["signatures"][0]["sub_indication"], "HASH_FAILURE");

    // With its root and CRL in the foreign trust store: the seal verifies in full.
    let w = world_with(|c| c.seal.foreign_trust_dir = Some(trust.clone())).await;
    let report = verify_json(&w, body).await;
    let signature = &report["signatures"][0];
    assert_eq!(signature["indication"], "TOTAL-PASSED", "{report}");
    assert_eq!(signature["trusted"], true);
    assert_eq!(signature["revocation"], "good");
    assert!(
        signature["messages"]
            .to_string()
            .contains("another platform's seal"),
        "{report}"
    );
}

// Multi-threaded: pyHanko fetches CRLs from the server while this thread waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by tests/interop/run"]
async fn pades_then_ses_then_pades_on_one_pdf_each_stays_valid() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A server that knows its URL: pyHanko fetches the CRLs our certificates name.
    let w = world_with(|c| {
        c.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.public_url = format!("http://127.0.0.1:{port}");
    })
    .await;
    // Two P-256 seals: pdfsig 22.12 reports the second of two signatures by one
    // certificate as "Unknown issue with Certificate", with or without an SES between.
    let mut p256 = Vec::new();
    for _ in 0..2 {
        let seal = new_seal(&w, &w.a).await;
        let id = seal["id"].as_str().unwrap().to_owned();
        grant_all(&w, &w.a, &id, false).await;
        p256.push(id);
    }
    let sm2 = new_sm2_seal(&w).await;
    let sm2 = sm2["id"].as_str().unwrap();
    set_image(&w, sm2).await;
    grant_all(&w, &w.a, sm2, false).await;
    let once = sealed_pdf(&w, &p256[0], support::sample_pdf(3, 50_000)).await;
    let twice = ses_sealed_pdf(&w, sm2, "page=2&x=100&y=100&size=100", once).await;
    let thrice = sealed_pdf(&w, &p256[1], twice).await;

    // pdfsig and pyHanko judge the two PAdES signatures valid and trusted, the
    // GB/T 38540 one between them notwithstanding; qpdf finds the file sound.
    let work = Workdir::new();
    let root = work.pem("root.pem", &[w.server.pki().root()]);
    let nss_dir = common::nss_db(&work, &root);
    common::judge_pdf(&work, &nss_dir, &root, "mixed", &thrice, 2);
    // Our report accepts all three.
    let report = verify_pdf(&w, thrice).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    let formats: Vec<&str> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["pades", "ses", "pades"]);
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn a_foreign_certificate_with_the_serial_of_one_of_our_seals_is_not_our_seal() {
    let work = Workdir::new();
    let trust = work.path("trust");
    std::fs::create_dir_all(&trust).unwrap();
    let (ok, text) = run(python().to_str().unwrap(), &[&script(), &"root", &trust]);
    assert!(ok, "{text}");
    let w = world_with(|c| c.seal.foreign_trust_dir = Some(trust.clone())).await;
    let ours = new_sm2_seal(&w).await;
    let serial = ours["certificate_serial"].as_str().unwrap();
    // The foreign CA issues a certificate with our seal's serial (serials are public:
    // every signature carries one).
    let document = work.write("notice.txt", b"a notice");
    let built = work.path("posing.ses");
    let (ok, text) = run(
        python().to_str().unwrap(),
        &[&script(), &"build", &document, &built, &trust, &serial],
    );
    assert!(ok, "{text}");
    let der = std::fs::read(&built).unwrap();
    let report = verify_json(&w, json!({"ses": b64(&der), "file": b64(b"a notice")})).await;
    let signature = &report["signatures"][0];
    // Valid as the other platform's seal, and never reported as ours.
    assert_eq!(signature["indication"], "TOTAL-PASSED", "{report}");
    assert!(signature["seal"].is_null(), "{report}");
    assert!(
        signature["messages"]
            .to_string()
            .contains("another platform's seal")
    );
    assert!(
        signature["signer"]
            .as_str()
            .unwrap()
            .contains("Interop signer")
    );
}
