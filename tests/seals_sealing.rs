//! Sealing through the real router: a department seals digests, files, JSON and PDFs
//! (twice, with object streams, with an uploaded PNG for the stamp); bad input and
//! bad PDFs are refused without a usage record, and a document over the limit is 413.

#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use serde_json::{Value, json};
use support::seal_world::*;
use support::{assert_problem, change_page_content, png_image};

#[tokio::test]
async fn a_department_seals_digests_files_and_json() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    assert_eq!(seal["status"], "active");
    assert!(
        seal["code"]
            .as_str()
            .unwrap()
            .starts_with("91350100M000100Y43")
    );
    grant_all(&w, &w.a, id, true).await;

    // A system seals two digests with a purpose.
    let signed = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST, DIGEST.to_uppercase()], "purpose": "营业执照核发"}),
    )
    .await;
    assert_eq!(signed.status(), 200);
    let signed: Value = signed.json().await.unwrap();
    let p7s = base64::engine::general_purpose::STANDARD
        .decode(signed["signatures"][0]["p7s"].as_str().unwrap())
        .unwrap();
    assert!(
        tongban_crypto::cms::signature_timestamp(&p7s)
            .unwrap()
            .is_some(),
        "B-T: a signature time-stamp is attached"
    );

    // The grant asks for a purpose.
    let without = call(
        &w,
        &w.a.user,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await;
    let problem = assert_problem(without, 422, "invalid-request").await;
    assert!(problem["detail"].as_str().unwrap().starts_with("purpose"));

    // Staff seal a file and a JSON document.
    let file = w
        .server
        .client
        .post(format!(
            "{}/api/v1/seals/{id}/cades/file?purpose=contract",
            w.server.base
        ))
        .bearer_auth(&w.a.user)
        .header("content-type", "application/octet-stream")
        .body(b"a contract".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(
        file.headers()["content-type"],
        "application/pkcs7-signature"
    );
    let jws = w
        .server
        .client
        .post(format!(
            "{}/api/v1/seals/{id}/jws?purpose=notice",
            w.server.base
        ))
        .bearer_auth(&w.a.user)
        .body(r#"{"notice":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(jws.status(), 200);
    let jws = jws.text().await.unwrap();
    let parts: Vec<&str> = jws.split('.').collect();
    assert!(parts.len() == 3 && parts[1].is_empty(), "detached: {jws}");
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[0])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["x5c"].as_array().unwrap().len(), 2);
    assert!(header["sigT"].is_string());

    // Every use is in the log, newest first, with actor, digest and purpose.
    let log = usage_log(&w, &w.a.admin, id).await;
    assert_eq!(log.len(), 4);
    assert_eq!(log[0]["format"], "jws");
    assert_eq!(log[3]["digest_sha256"], DIGEST);
    assert_eq!(log[3]["purpose"], "营业执照核发");
    let mine: Value = get(
        &w,
        &w.a.admin,
        &format!(
            "/api/v1/seals/{id}/usages?actor=client:{}&limit=1",
            subject_of(&w.a.system)
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let history: Value = get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    let changes: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["created", "granted", "granted"]);
    w.server.stop().await;
}

#[tokio::test]
async fn bad_sealing_input_is_refused_without_a_usage_record() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let path = format!("/api/v1/seals/{id}/cades");
    let bad = call(&w, &w.a.system, &path, json!({"digests": [DIGEST, "abc"]})).await;
    let problem = assert_problem(bad, 422, "invalid-request").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("digests[1]")
    );
    let too_many: Vec<&str> = vec![DIGEST; 1001];
    assert_problem(
        call(&w, &w.a.system, &path, json!({"digests": too_many})).await,
        422,
        "invalid-request",
    )
    .await;
    assert_problem(
        call(&w, &w.a.system, &path, json!({"digests": []})).await,
        422,
        "invalid-request",
    )
    .await;
    assert_problem(
        call(&w, &w.a.system, &path, json!({"digest": DIGEST})).await,
        400,
        "malformed-request",
    )
    .await;
    let empty = w
        .server
        .client
        .post(format!("{}/api/v1/seals/{id}/cades/file", w.server.base))
        .bearer_auth(&w.a.system)
        .send()
        .await
        .unwrap();
    assert_problem(empty, 422, "invalid-request").await;
    let unknown = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{}/cades", uuid::Uuid::now_v7()),
        json!({"digests": [DIGEST]}),
    )
    .await;
    assert_problem(unknown, 404, "not-found").await;
    assert_problem(
        call(
            &w,
            &w.a.system,
            "/api/v1/seals/not-an-id/cades",
            json!({"digests": [DIGEST]}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    let kind = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/departments/{}/seals", w.a.id),
        json!({"kind": "stamp", "name": "x"}),
    )
    .await;
    assert_problem(kind, 422, "invalid-request").await;
    let log = usage_log(&w, &w.a.admin, id).await;
    assert!(log.is_empty());
    w.server.stop().await;
}

#[tokio::test]
async fn pdfs_are_sealed_twice_and_bad_pdfs_refused() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let pades = async |body: Vec<u8>, query: &str| {
        post_pdf(&w, &w.a.system, id, query, "application/pdf", body).await
    };
    let original = support::sample_pdf(3, 10_000);
    let once = pades(original.clone(), "reason=approved&location=Hangzhou").await;
    assert_eq!(once.status(), 200);
    let once = once.bytes().await.unwrap().to_vec();
    assert!(
        once.starts_with(&original),
        "an incremental update keeps the original bytes"
    );
    let twice = pades(once.clone(), "page=2&x=100&y=100").await;
    assert_eq!(twice.status(), 200);
    let twice = twice.bytes().await.unwrap().to_vec();
    assert!(
        twice.starts_with(&once),
        "the second seal keeps the first signature's bytes"
    );
    let text = String::from_utf8_lossy(&twice);
    assert_eq!(text.matches("/ETSI.CAdES.detached").count(), 2);

    // Bad documents: problem+json, no usage record.
    let mut truncated = original.clone();
    truncated.truncate(original.len() / 2);
    let mut broken_xref = original.clone();
    let xref_at = text_position(&broken_xref, b"startxref");
    broken_xref[xref_at + 10..xref_at + 14].copy_from_slice(b"9999");
    // A section appended after the last %%EOF, its startxref left without one: the
    // update would chain to a section no revision marker delimits.
    let mut hidden = change_page_content(&once);
    let eof = hidden.len() - hidden.iter().rev().position(|b| *b == b'%').unwrap() - 2;
    hidden.truncate(eof);
    for (name, body, query) in [
        ("truncated", truncated, ""),
        ("broken xref", broken_xref, ""),
        ("startxref without %%EOF", hidden, ""),
        ("not a PDF", b"hello, I am not a PDF".to_vec(), ""),
        ("no such page", original.clone(), "page=9"),
        ("off the page", original.clone(), "x=590"),
    ] {
        let refused = pades(body, query).await;
        let problem = assert_problem(refused, 422, "invalid-request").await;
        assert!(
            problem["detail"].as_str().unwrap().starts_with("pdf"),
            "{name}: {problem}"
        );
    }
    let empty = pades(Vec::new(), "").await;
    assert_problem(empty, 422, "invalid-request").await;
    let wrong_type = post_pdf(&w, &w.a.system, id, "", "text/plain", original.clone()).await;
    assert_problem(wrong_type, 415, "unsupported-media-type").await;
    let log = usage_log(&w, &w.a.admin, id).await;
    assert_eq!(log.len(), 2, "only the two seals are recorded");
    w.server.stop().await;
}

fn text_position(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .rposition(|w| w == needle)
        .unwrap()
}

#[tokio::test]
async fn a_pdf_with_object_streams_is_sealed_twice_and_both_seals_verify() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    // Object streams and a cross-reference stream, as PDF 1.5+ producers write.
    let mut doc = lopdf::Document::load_mem(&support::sample_pdf(2, 5_000)).unwrap();
    let mut original = Vec::new();
    doc.save_modern(&mut original).unwrap();
    assert!(String::from_utf8_lossy(&original).contains("/ObjStm"));
    let once = sealed_pdf(&w, id, original).await;
    let twice = sealed_pdf(&w, id, once.clone()).await;
    assert!(twice.starts_with(&once));
    let report = verify_pdf(&w, twice.clone()).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2);
    assert_eq!(signatures[0]["later_changes_only_signatures"], true);
    assert_eq!(signatures[1]["covers_whole_document"], true);
    // A change to the page after both seals, in another update, is seen.
    let changed = change_page_content(&twice);
    let report = verify_pdf(&w, changed).await;
    assert_eq!(report["overall"], "INDETERMINATE", "{report}");
    w.server.stop().await;
}

#[tokio::test]
async fn an_uploaded_png_replaces_the_drawn_stamp() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let put = async |token: &str, content_type: &str, body: Vec<u8>| {
        w.server
            .client
            .put(format!("{}/api/v1/seals/{id}/image", w.server.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    };
    let image = png_image(100, 100, png::ColorType::Rgba);
    assert_problem(
        put(&w.a.user, "image/png", image.clone()).await,
        403,
        "forbidden",
    )
    .await;
    for bad in [
        png_image(100, 100, png::ColorType::Rgb),
        png_image(10, 10, png::ColorType::Rgba),
        b"not a png".to_vec(),
    ] {
        let problem = assert_problem(
            put(&w.a.admin, "image/png", bad).await,
            422,
            "invalid-request",
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().starts_with("image"),
            "{problem}"
        );
    }
    assert_problem(
        put(&w.a.admin, "text/plain", image.clone()).await,
        415,
        "unsupported-media-type",
    )
    .await;
    assert_problem(
        get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/image")).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        put(&w.a.admin, "image/png", image.clone()).await.status(),
        204
    );
    let stored = get(&w, &w.a.user, &format!("/api/v1/seals/{id}/image")).await;
    assert_eq!(stored.bytes().await.unwrap().to_vec(), image);
    let sealed = sealed_pdf(&w, id, support::sample_pdf(1, 1_000)).await;
    let text = String::from_utf8_lossy(&sealed);
    assert!(
        text.contains("/Width 100"),
        "the uploaded image is embedded"
    );
    let report = verify_pdf(&w, sealed).await;
    assert_eq!(report["overall"], "TOTAL-PASSED");
    let history: Value = get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert!(history.to_string().contains("image-changed"));
    w.server.stop().await;
}

#[tokio::test]
async fn a_document_over_the_limit_is_413_and_unrecorded() {
    let w = world_with(|c| c.http.document_limit_bytes = 50_000).await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let big = support::sample_pdf(1, 100_000);
    let response = post_pdf(&w, &w.a.system, id, "", "application/pdf", big.clone()).await;
    assert_problem(response, 413, "payload-too-large").await;
    let verify = w
        .server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .header("content-type", "application/pdf")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_problem(verify, 413, "payload-too-large").await;
    let log = usage_log(&w, &w.a.admin, id).await;
    assert!(log.is_empty());
    w.server.stop().await;
}
