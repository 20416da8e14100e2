//! Personal e-signature interop, run by `tests/interop/run`:
//! - PyPI pyHanko's own CSC client, unmodified, signs a PDF through our CSC API v2 with
//!   a credential the person authorised (password and authenticator code for the very
//!   hash), and pyHanko, pdfsig and qpdf accept the result (intact, trusted to our root,
//!   a trusted signature time-stamp);
//! - a department's signing request, signed by the person, collected as a PDF that
//!   pdfsig, pyHanko and qpdf accept; the department then seals it and both signatures
//!   stay valid in both tools;
//! - openssl accepts the personal certificate's chain with `-crl_check_all`, and
//!   refuses it once the person has revoked it.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

#[path = "common.rs"]
mod common;

use std::process::Command;

use common::{Workdir, judge_pdf, nss_db, openssl, public_server, python};
use serde_json::{Value, json};
use support::esign_world::{self as world, LI, World, certificate_id, enrol, get, session};
use tongban_seal::grants::{self, Grantee};
use tongban_seal::permissions::Actor;
use tongban_seal::registry::{self, SealKind};

async fn enrolled_world() -> (World, String) {
    let w = world::world_on(public_server().await).await;
    let li = session(&w, LI).await;
    assert_eq!(enrol(&w, &li).await.status(), 200);
    (w, li)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by tests/interop/run"]
async fn pyhanko_signs_through_the_csc_api_and_the_result_is_trusted() {
    let (w, _) = enrolled_world().await;
    let work = Workdir::new();
    let credential = certificate_id(&w, LI).await;
    let token = world::app_token(&w, LI).await;
    let input = work.write("in.pdf", support::sample_pdf(2, 5_000));
    let output = work.path("csc-signed.pdf");
    let signed = Command::new(python())
        .arg(support::repo_root().join("tests/interop/csc_sign.py"))
        .arg(&w.server.base)
        .arg(&token)
        .arg(&credential)
        .arg(support::PASSWORD)
        .arg(w.code(LI))
        .arg(format!("{}/pki/tsa", w.server.base))
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        signed.status.success(),
        "{}{}",
        String::from_utf8_lossy(&signed.stdout),
        String::from_utf8_lossy(&signed.stderr)
    );
    let pdf = std::fs::read(&output).unwrap();
    let root = work.pem("root.pem", &[w.server.pki().root()]);
    let nss = nss_db(&work, &root);
    judge_pdf(&work, &nss, &root, "csc", &pdf, 1);
    // Our own report names the person, and finds the signature in the log by its value.
    let report = support::seal_world::verify_pdf_at(&w.server, pdf).await;
    let signature = &report["signatures"][0];
    assert_eq!(signature["indication"], "TOTAL-PASSED", "{report}");
    assert_eq!(signature["signatory"]["kind"], "personal", "{report}");
    assert_eq!(signature["log"]["kind"], "signature.personal", "{report}");
    w.server.stop().await;
}

/// A seal of department A granted to A's system; its id.
async fn seal_for_a(w: &World) -> String {
    let operator = Actor::Client {
        client_id: "operator".into(),
        scopes: vec!["admin".into()],
    };
    let mut tx = w.server.store().begin().await.unwrap();
    let p256 = tongban_crypto::Algorithm::Es256;
    let seal = registry::create(
        &mut tx,
        w.server.pki(),
        &operator,
        w.a.id,
        SealKind::Contract,
        "合同专用章",
        p256,
    )
    .await
    .unwrap();
    let grantee = Grantee::Client(w.a.client_id.clone());
    grants::grant(&mut tx, &operator, seal.id, &grantee, false, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    seal.id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by tests/interop/run"]
async fn a_signed_request_is_accepted_and_stays_valid_under_the_departments_seal() {
    let (w, li) = enrolled_world().await;
    let work = Workdir::new();
    let id = world::request_to_li(&w).await;
    assert_eq!(
        world::sign_with_secrets(&w, &li, LI, &id).await.status(),
        200
    );
    let pdf = get(
        &w,
        &w.a.system,
        &format!("/api/v1/signing-requests/{id}/documents/1"),
    )
    .await
    .bytes()
    .await
    .unwrap()
    .to_vec();
    let root = work.pem("root.pem", &[w.server.pki().root()]);
    let nss = nss_db(&work, &root);
    judge_pdf(&work, &nss, &root, "signed", &pdf, 1);
    let seal = seal_for_a(&w).await;
    let sealed = w
        .server
        .client
        .post(format!(
            "{}/api/v1/seals/{seal}/pades?page=1&x=100&y=80&size=120",
            w.server.base
        ))
        .bearer_auth(&w.a.system)
        .header("content-type", "application/pdf")
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(sealed.status(), 200);
    let sealed = sealed.bytes().await.unwrap().to_vec();
    judge_pdf(&work, &nss, &root, "signed-and-sealed", &sealed, 2);
    let report = support::seal_world::verify_pdf_at(&w.server, sealed).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    assert_eq!(report["signatures"][0]["signatory"]["request"], json!(id));
    assert!(report["signatures"][1]["seal"].is_object());
    w.server.stop().await;
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn openssl_accepts_the_personal_chain_with_crl_check_all_until_the_person_revokes_it() {
    let (w, li) = enrolled_world().await;
    let work = Workdir::new();
    let id = certificate_id(&w, LI).await;
    let token = world::app_token(&w, LI).await;
    let body = json!({ "credentialID": id, "certificates": "chain" });
    let info: Value = world::call(&w, &token, "/csc/v2/credentials/info", body)
        .await
        .json()
        .await
        .unwrap();
    let der = |i: usize| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(info["cert"]["certificates"][i].as_str().unwrap())
            .unwrap()
    };
    let leaf = work.pem("leaf.pem", &[&der(0)]);
    let issuing = work.pem("issuing.pem", &[&der(1)]);
    let root = work.pem("root.pem", &[w.server.pki().root()]);
    let crls = |name: &str| {
        let name = name.to_owned();
        let w = &w;
        let work = &work;
        async move {
            let mut pem = Vec::new();
            for ca in ["issuing", "root"] {
                let der = w
                    .server
                    .get(&format!("/pki/crl/{ca}.crl"))
                    .await
                    .bytes()
                    .await
                    .unwrap();
                let file = work.write(&format!("{name}-{ca}.der"), &der);
                let out = work.path(&format!("{name}-{ca}.pem"));
                let (ok, text) =
                    openssl(&[&"crl", &"-inform", &"DER", &"-in", &file, &"-out", &out]);
                assert!(ok, "{text}");
                pem.extend(std::fs::read(out).unwrap());
            }
            work.write(&format!("{name}.pem"), pem)
        }
    };
    let verify = |crls: std::path::PathBuf| {
        openssl(&[
            &"verify",
            &"-CAfile",
            &root,
            &"-untrusted",
            &issuing,
            &"-crl_check_all",
            &"-CRLfile",
            &crls,
            &leaf,
        ])
    };
    let (ok, text) = verify(crls("before").await);
    assert!(ok, "{text}");
    let csrf = world::csrf(&w, &li).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("id", id.as_str()),
        ("why", "lost"),
    ];
    assert_eq!(
        world::form(&w, &li, "/account/signing-certificate/revoke", &fields)
            .await
            .status(),
        200
    );
    let (ok, text) = verify(crls("after").await);
    assert!(!ok && text.contains("certificate revoked"), "{text}");
    w.server.stop().await;
}
