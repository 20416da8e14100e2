//! Verifying seals through the real router: reports on PDFs, detached CAdES
//! signatures and JWS (bad requests refused); a revocation after the time stamp warns
//! before it fails; the public verify page reports plainly; a later seal over changed
//! content does not vouch for the first; a form whose fields form a cycle is reported
//! on without hanging.

#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use serde_json::{Value, json};
use support::seal_world::*;
use support::{assert_problem, change_page_content};

#[tokio::test]
async fn verification_reports_on_pdfs_p7s_and_jws() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let pades = async |body: Vec<u8>| sealed_pdf(&w, id, body).await;
    let once = pades(support::sample_pdf(2, 5_000)).await;
    let twice = pades(once.clone()).await;
    let report = verify_pdf(&w, twice.clone()).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2);
    assert_eq!(signatures[0]["covers_whole_document"], false);
    assert_eq!(signatures[0]["later_changes_only_signatures"], true);
    assert_eq!(signatures[1]["covers_whole_document"], true);
    for s in signatures {
        assert_eq!(s["format"], "pades");
        assert_eq!(s["seal"]["name"], "合同专用章");
        assert_eq!(s["seal"]["department_uscc"], "91350100M000100Y43");
        assert!(s["timestamp_time"].is_string() && s["claimed_signing_time"].is_string());
        assert_eq!(s["revocation"], "good");
    }
    // A byte changed inside the signed range.
    let mut tampered = once.clone();
    let at = tampered.windows(5).position(|w| w == b"page ").unwrap();
    tampered[at] = b'P';
    let report = verify_pdf(&w, tampered).await;
    assert_eq!(report["overall"], "TOTAL-FAILED");
    assert_eq!(report["signatures"][0]["sub_indication"], "HASH_FAILURE");
    // An unsigned revision appended after the seal.
    let mut appended = once.clone();
    appended.extend_from_slice(b"\n% an unsigned change\n%%EOF\n");
    let report = verify_pdf(&w, appended).await;
    assert_eq!(report["overall"], "INDETERMINATE", "{report}");
    assert_eq!(
        report["signatures"][0]["later_changes_only_signatures"],
        false
    );

    // CAdES with the digest, and with the wrong one.
    let signed: Value = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let p7s = signed["signatures"][0]["p7s"].as_str().unwrap();
    let good = verify_json(&w, json!({"p7s": p7s, "digest": DIGEST})).await;
    assert_eq!(good["overall"], "TOTAL-PASSED", "{good}");
    let wrong = verify_json(&w, json!({"p7s": p7s, "digest": DIGEST.replace('9', "8")})).await;
    assert_eq!(wrong["signatures"][0]["sub_indication"], "HASH_FAILURE");

    // JWS with its payload, and with another.
    let jws = w
        .server
        .client
        .post(format!("{}/api/v1/seals/{id}/jws", w.server.base))
        .bearer_auth(&w.a.system)
        .body("payload")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
    let good = verify_json(&w, json!({"jws": jws, "payload": b64("payload")})).await;
    assert_eq!(good["overall"], "TOTAL-PASSED", "{good}");
    let wrong = verify_json(&w, json!({"jws": jws, "payload": b64("other")})).await;
    assert_eq!(wrong["overall"], "TOTAL-FAILED");

    // Bad requests.
    for (body, field) in [
        (json!({"digest": DIGEST}), "p7s"),
        (json!({"p7s": "!!", "digest": DIGEST}), "p7s"),
        (json!({"p7s": p7s}), "file"),
        (json!({"jws": jws}), "payload"),
    ] {
        let response = w
            .server
            .client
            .post(format!("{}/api/v1/verify", w.server.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "invalid-request").await;
        assert!(
            problem["detail"].as_str().unwrap().starts_with(field),
            "{problem}"
        );
    }
    let not_pdf = w
        .server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .header("content-type", "application/pdf")
        .body("plain text")
        .send()
        .await
        .unwrap();
    assert_problem(not_pdf, 422, "invalid-request").await;
    w.server.stop().await;
}

#[tokio::test]
async fn revocation_after_the_time_stamp_warns_before_it_fails() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let signed: Value = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let before = signed["signatures"][0]["p7s"].as_str().unwrap().to_owned();
    // Let the revocation fall in a later second than the time-stamp.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let revoked = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/status"),
        json!({"status": "revoked"}),
    )
    .await;
    assert_eq!(revoked.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let report = verify_json(&w, json!({"p7s": before, "digest": DIGEST})).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    assert_eq!(
        report["signatures"][0]["revocation"],
        "revoked-after-signing"
    );
    assert!(
        report["signatures"][0]["messages"]
            .to_string()
            .contains("revoked")
    );

    // A signature made after the revocation with the seal's key (as a thief holding a
    // copy of it would), time-stamped by our TSA: it fails.
    let pki = w.server.pki().clone();
    let mut conn = w.server.store().conn().await.unwrap();
    let row =
        tongban_store::pki::certificate(&mut conn, seal["certificate_serial"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
    drop(conn);
    let key = pki.keys().load(&row.key_id).await.unwrap();
    let digest: [u8; 32] = tongban_crypto::cms::sha256(b"after revocation");
    let signed = tongban_crypto::cms::sign_detached(
        key.as_ref(),
        &[row.der.clone(), pki.issuing().to_vec()],
        digest,
        None,
    )
    .unwrap();
    let p7s = pki.tsa().stamp(signed).unwrap();
    let report = verify_json(
        &w,
        json!({"p7s": base64::engine::general_purpose::STANDARD.encode(p7s),
               "digest": tongban_crypto::ca::hex(&digest)}),
    )
    .await;
    assert_eq!(report["overall"], "TOTAL-FAILED", "{report}");
    assert_eq!(report["signatures"][0]["sub_indication"], "REVOKED");
    w.server.stop().await;
}

#[tokio::test]
async fn the_verify_page_reports_plainly() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let sealed = sealed_pdf(&w, id, support::sample_pdf(1, 1_000)).await;
    let form = w.server.get("/verify").await;
    assert_eq!(form.status(), 200);
    assert!(
        form.text()
            .await
            .unwrap()
            .contains("enctype=\"multipart/form-data\"")
    );
    let upload = async |file: Option<&[u8]>| match file {
        Some(file) => verify_page(&w, &[("document", file)]).await,
        None => verify_page(&w, &[]).await,
    };
    let report = upload(Some(&sealed)).await;
    assert_eq!(report.status(), 200);
    let html = report.text().await.unwrap();
    assert!(
        html.contains("有效") && html.contains("合同专用章") && html.contains("TOTAL-PASSED"),
        "{html}"
    );
    let empty = upload(None).await;
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("role=\"alert\""));
    let junk = upload(Some(b"not a pdf")).await;
    assert_eq!(junk.status(), 422);
    w.server.stop().await;
}

#[tokio::test]
async fn a_later_seal_over_changed_content_does_not_vouch_for_the_first() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let pades = async |body: Vec<u8>| sealed_pdf(&w, id, body).await;
    let once = pades(support::sample_pdf(1, 1_000)).await;
    let changed = change_page_content(&once);
    // The change alone: the first seal no longer covers what is shown.
    let report = verify_pdf(&w, changed.clone()).await;
    assert_eq!(
        report["signatures"][0]["indication"], "INDETERMINATE",
        "{report}"
    );
    // A valid second seal over the changed document vouches for its own revision,
    // not for the content change under the first seal.
    let resealed = pades(changed).await;
    let report = verify_pdf(&w, resealed).await;
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2);
    assert_eq!(signatures[0]["indication"], "INDETERMINATE", "{report}");
    assert_eq!(signatures[0]["later_changes_only_signatures"], false);
    assert_eq!(signatures[1]["indication"], "TOTAL-PASSED");
    assert_eq!(report["overall"], "INDETERMINATE");
    w.server.stop().await;
}

#[tokio::test]
async fn a_form_whose_fields_form_a_cycle_is_reported_on_without_hanging() {
    use lopdf::{Document, Object, dictionary};
    let w = world().await;
    let mut doc = Document::load_mem(&support::sample_pdf(1, 100)).unwrap();
    // Field 1 has an indirect /Kids array whose one kid is a direct dictionary with
    // the same array as its /Kids.
    let kids = doc.new_object_id();
    doc.objects.insert(
        kids,
        Object::Array(vec![Object::Dictionary(dictionary! { "Kids" => kids })]),
    );
    let field = doc.add_object(dictionary! { "FT" => "Sig", "Kids" => kids });
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    doc.get_dictionary_mut(root).unwrap().set(
        "AcroForm",
        dictionary! { "Fields" => vec![Object::Reference(field)] },
    );
    let mut pdf = Vec::new();
    doc.save_to(&mut pdf).unwrap();
    let report = verify_pdf(&w, pdf).await;
    assert_eq!(report["overall"], "INDETERMINATE", "{report}");
    assert_eq!(report["signatures"].as_array().unwrap().len(), 0);
    w.server.stop().await;
}
