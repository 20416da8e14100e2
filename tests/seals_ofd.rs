//! OFD documents (GB/T 33190) sealed with SM2 seals (GB/T 38540): on one page and
//! across the edge of many (骑缝章), a second signature keeping the first valid, the
//! usage record, verification (what changed, what was added, which pages carry the
//! seal) and the bad input an upload may be.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Cursor, Read, Write};

use serde_json::Value;
use support::assert_problem;
use support::documents::ofd_document;
use support::seal_world::*;

/// A new SM2 seal of A with its image, granted to A's user and system: its id.
async fn ready_sm2_seal(w: &World) -> String {
    let sm2 = new_sm2_seal(w).await;
    let id = sm2["id"].as_str().unwrap().to_owned();
    set_image(w, &id).await;
    grant_all(w, &w.a, &id, false).await;
    id
}

/// The files of an OFD package, by name, in order.
fn files(ofd: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(ofd)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (entry.name().unwrap().into_owned(), data)
        })
        .collect()
}

/// A package of `files`.
fn package(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in files {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &files.iter().find(|(n, _)| n == name).unwrap().1
}

async fn post_ofd(
    w: &World,
    token: &str,
    id: &str,
    query: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let path = format!("/api/v1/seals/{id}/ofd?{query}");
    post_document(w, token, &path, "application/ofd", body).await
}

async fn sealed_ofd(w: &World, id: &str, query: &str, body: Vec<u8>) -> Vec<u8> {
    let response = post_ofd(w, &w.a.system, id, query, body).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(response.headers()["content-type"], "application/ofd");
    response.bytes().await.unwrap().to_vec()
}

/// `POST /api/v1/verify` of `ofd`, as anyone may.
async fn post_verify(w: &World, ofd: Vec<u8>) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .header("content-type", "application/ofd")
        .body(ofd)
        .send()
        .await
        .unwrap()
}

async fn verify_ofd(w: &World, ofd: Vec<u8>) -> Value {
    let response = post_verify(w, ofd).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_ofd_is_sealed_on_a_page_and_verifies() {
    let w = world().await;
    let id = ready_sm2_seal(&w).await;
    let original = ofd_document(3);
    let sealed = sealed_ofd(
        &w,
        &id,
        "page=2&x=120&y=200&width=40&purpose=notice",
        original.clone(),
    )
    .await;
    let parts = files(&sealed);
    let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "Doc_0/Signs/Signatures.xml",
        "Doc_0/Signs/Sign_0/Signature.xml",
        "Doc_0/Signs/Sign_0/SignedValue.dat",
        "Doc_0/Signs/Sign_0/Seal.esl",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let entry = String::from_utf8(file(&parts, "OFD.xml").to_vec()).unwrap();
    assert!(entry.contains("<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>"));
    // The signature protects every file but the list and itself, with their SM3.
    let signature_xml = file(&parts, "Doc_0/Signs/Sign_0/Signature.xml");
    let text = String::from_utf8(signature_xml.to_vec()).unwrap();
    for (name, data) in &parts {
        let protected = text.contains(&format!("FileRef=\"/{name}\""));
        let own = name.starts_with("Doc_0/Signs/Sign_0/S") && !name.ends_with("Seal.esl");
        assert_eq!(
            protected,
            !own && name != "Doc_0/Signs/Signatures.xml",
            "{name}"
        );
        if protected {
            let digest = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                tongban_crypto::shangmi::sm3(data),
            );
            assert!(text.contains(&digest), "{name}");
        }
    }
    assert!(text.contains("CheckMethod=\"1.2.156.10197.1.401\""));
    assert!(text.contains("<ofd:StampAnnot ID=\"2\" PageRef=\""));
    assert!(text.contains("Boundary=\"120 200 40 20\""), "{text}");
    // SignedValue.dat: an SES_Signature over Signature.xml, carrying the seal file.
    let value = file(&parts, "Doc_0/Signs/Sign_0/SignedValue.dat");
    let signature = tongban_crypto::ses::Signature::decode(value).unwrap();
    assert_eq!(
        signature.data_hash,
        tongban_crypto::shangmi::sm3(signature_xml)
    );
    assert_eq!(signature.property_info, "/Doc_0/Signs/Sign_0/Signature.xml");
    assert_eq!(
        signature.seal_der,
        file(&parts, "Doc_0/Signs/Sign_0/Seal.esl")
    );
    assert!(signature.value_valid() && signature.time_stamp.is_some());

    let report = verify_ofd(&w, sealed.clone()).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report:#}");
    let first = &report["signatures"][0];
    assert_eq!(first["format"], "ses");
    assert_eq!(first["field"], "/Doc_0/Signs/Sign_0/Signature.xml");
    assert_eq!(first["pages"], serde_json::json!([2]));
    assert_eq!(first["cross_page"], false);
    assert_eq!(first["covers_whole_document"], true);
    assert_eq!(first["seal"]["name"], "某市市场监督管理局");
    assert!(first["timestamp_time"].is_string());

    // One usage record, of the document as sent.
    let log = usage_log(&w, &w.a.admin, &id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["format"], "ses");
    assert_eq!(log[0]["purpose"], "notice");

    // A cross-page seal over it: one signature, a slice on each page's right edge,
    // and the first signature still stands.
    let twice = sealed_ofd(&w, &id, "riding=right&y=100&width=42", sealed).await;
    let parts = files(&twice);
    let text =
        String::from_utf8(file(&parts, "Doc_0/Signs/Sign_1/Signature.xml").to_vec()).unwrap();
    assert!(text.contains("FileRef=\"/Doc_0/Signs/Sign_0/SignedValue.dat\""));
    assert_eq!(text.matches("<ofd:StampAnnot ").count(), 3);
    // 42 mm in three 14 mm slices, the seal box moved so each slice is at the edge.
    assert!(
        text.contains("Boundary=\"196 100 42 21\" Clip=\"0 0 14 21\""),
        "{text}"
    );
    assert!(
        text.contains("Boundary=\"182 100 42 21\" Clip=\"14 0 14 21\""),
        "{text}"
    );
    assert!(
        text.contains("Boundary=\"168 100 42 21\" Clip=\"28 0 14 21\""),
        "{text}"
    );
    let list = String::from_utf8(file(&parts, "Doc_0/Signs/Signatures.xml").to_vec()).unwrap();
    assert!(list.contains("<ofd:MaxSignId>6</ofd:MaxSignId>"), "{list}");
    let report = verify_ofd(&w, twice.clone()).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report:#}");
    let (first, second) = (&report["signatures"][0], &report["signatures"][1]);
    assert_eq!(first["covers_whole_document"], false);
    assert_eq!(first["later_changes_only_signatures"], true);
    assert_eq!(second["covers_whole_document"], true);
    assert_eq!(second["cross_page"], true);
    assert_eq!(second["pages"], serde_json::json!([1, 2, 3]));
    assert_eq!(usage_log(&w, &w.a.admin, &id).await.len(), 2);

    // The page says so too.
    let page = verify_page(&w, &[("document", &twice)]).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("骑缝章") || html.contains("Cross-page seal"),
        "{html}"
    );
}

#[tokio::test]
async fn a_changed_added_missing_or_swapped_file_is_named_in_the_report() {
    let w = world().await;
    let id = ready_sm2_seal(&w).await;
    let sealed = sealed_ofd(&w, &id, "", ofd_document(2)).await;
    let parts = files(&sealed);
    let verdict = async |parts: &[(String, Vec<u8>)]| {
        let report = verify_ofd(&w, package(parts)).await;
        let s = report["signatures"][0].clone();
        let messages: Vec<String> = s["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_owned())
            .collect();
        (
            report["overall"].as_str().unwrap().to_owned(),
            s["sub_indication"].as_str().map(str::to_owned),
            messages.join(" | "),
        )
    };
    assert_eq!(verdict(&parts).await.0, "TOTAL-PASSED");

    // One byte of a page's content.
    let mut changed = parts.clone();
    let page = changed
        .iter_mut()
        .find(|(n, _)| n == "Doc_0/Pages/Page_1/Content.xml")
        .unwrap();
    let at = page.1.windows(3).position(|w| w == b"Page").unwrap_or(60);
    page.1[at] ^= 0x01;
    let (overall, sub, messages) = verdict(&changed).await;
    assert_eq!(
        (overall.as_str(), sub.as_deref()),
        ("TOTAL-FAILED", Some("HASH_FAILURE"))
    );
    assert!(
        messages.contains("/Doc_0/Pages/Page_1/Content.xml changed"),
        "{messages}"
    );

    // A file added after the signature, that no signature protects.
    let mut added = parts.clone();
    added.push(("Doc_0/Res/extra.png".into(), b"not protected".to_vec()));
    let (overall, sub, messages) = verdict(&added).await;
    assert_eq!(
        (overall.as_str(), sub.as_deref()),
        ("INDETERMINATE", Some("POLICY_PROCESSING_ERROR"))
    );
    assert!(messages.contains("/Doc_0/Res/extra.png"), "{messages}");

    // A file "excused" by a signature the list names but that is not there: still an
    // addition (only a later signature that passed accounts for its own files).
    let mut excused = parts.clone();
    excused.push(("Doc_0/Signs/Sign_9/extra.xml".into(), b"<x/>".to_vec()));
    let list = excused
        .iter_mut()
        .find(|(n, _)| n == "Doc_0/Signs/Signatures.xml")
        .unwrap();
    list.1 = String::from_utf8(list.1.clone())
        .unwrap()
        .replace(
            "</ofd:Signatures>",
            "<ofd:Signature ID=\"9\" BaseLoc=\"/Doc_0/Signs/Sign_9/extra.xml\"/></ofd:Signatures>",
        )
        .into_bytes();
    let report = verify_ofd(&w, package(&excused)).await;
    let first = &report["signatures"][0];
    assert_eq!(first["indication"], "INDETERMINATE", "{report:#}");
    assert_eq!(first["later_changes_only_signatures"], false);
    assert_eq!(report["signatures"][1]["indication"], "TOTAL-FAILED");

    // A protected file taken out.
    let missing: Vec<_> = parts
        .iter()
        .filter(|(n, _)| n != "Doc_0/PublicRes.xml")
        .cloned()
        .collect();
    let (overall, _, messages) = verdict(&missing).await;
    assert_eq!(overall, "TOTAL-FAILED");
    assert!(
        messages
            .contains("/Doc_0/PublicRes.xml, which the signature protects, is not in the package"),
        "{messages}"
    );

    // Signature.xml edited: its SM3 no longer matches the signed one.
    let mut edited = parts.clone();
    let signature = edited
        .iter_mut()
        .find(|(n, _)| n == "Doc_0/Signs/Sign_0/Signature.xml")
        .unwrap();
    signature.1 = String::from_utf8(signature.1.clone())
        .unwrap()
        .replace("ProviderName=\"Tongban\"", "ProviderName=\"Tongbam\"")
        .into_bytes();
    let (overall, sub, _) = verdict(&edited).await;
    assert_eq!(
        (overall.as_str(), sub.as_deref()),
        ("TOTAL-FAILED", Some("HASH_FAILURE"))
    );

    // A reference to a file that is not there: a signature list naming a missing
    // Signature.xml is a malformed signature, not a server error.
    let mut dangling = parts.clone();
    dangling.retain(|(n, _)| n != "Doc_0/Signs/Sign_0/SignedValue.dat");
    let (overall, sub, _) = verdict(&dangling).await;
    assert_eq!(
        (overall.as_str(), sub.as_deref()),
        ("TOTAL-FAILED", Some("FORMAT_FAILURE"))
    );
}

#[tokio::test]
async fn bad_ofd_uploads_are_refused_with_their_reason_and_nothing_recorded() {
    let w = world().await;
    let id = ready_sm2_seal(&w).await;
    let bad = async |query: &str, body: Vec<u8>, status: u16, slug: &str| {
        let response = post_ofd(&w, &w.a.system, &id, query, body).await;
        assert_problem(response, status, slug).await
    };
    let problem = bad("", b"%PDF-1.7 not a zip".to_vec(), 422, "invalid-request").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not an OFD package"),
        "{problem}"
    );
    bad("", Vec::new(), 422, "invalid-request").await;
    // A ZIP bomb: 80 MB of zeros in a small archive.
    let zeros = vec![0u8; 40 * 1024 * 1024];
    let bomb = package(&[("a".into(), zeros.clone()), ("b".into(), zeros)]);
    assert!(bomb.len() < 1024 * 1024);
    let problem = bad("", bomb, 422, "invalid-request").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("inflates past"),
        "{problem}"
    );
    // No OFD.xml; a DocRoot outside the package.
    let mut parts = files(&ofd_document(1));
    parts.retain(|(n, _)| n != "OFD.xml");
    let problem = bad("", package(&parts), 422, "invalid-request").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("no OFD.xml"),
        "{problem}"
    );
    let mut parts = files(&ofd_document(1));
    let entry = parts.iter_mut().find(|(n, _)| n == "OFD.xml").unwrap();
    entry.1 = String::from_utf8(entry.1.clone())
        .unwrap()
        .replace("Doc_0/Document.xml", "../../etc/passwd")
        .into_bytes();
    let problem = bad("", package(&parts), 422, "invalid-request").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("leaves it"),
        "{problem}"
    );
    // A document whose folder is not plain ASCII: its paths would go into the signed
    // XML and the IA5 propertyInfo, so it is refused, not half-signed.
    let renamed: Vec<(String, Vec<u8>)> = files(&ofd_document(1))
        .into_iter()
        .map(|(name, data)| {
            let data = String::from_utf8(data)
                .unwrap()
                .replace("Doc_0/", "文档/")
                .into_bytes();
            (name.replace("Doc_0/", "文档/"), data)
        })
        .collect();
    let problem = bad("", package(&renamed), 422, "invalid-request").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("ASCII"),
        "{problem}"
    );
    // A page the document lists but does not hold.
    let mut parts = files(&ofd_document(2));
    parts.retain(|(n, _)| n != "Doc_0/Pages/Page_1/Content.xml");
    let problem = bad("", package(&parts), 422, "invalid-request").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("no Doc_0/Pages/Page_1/Content.xml"),
        "{problem}"
    );
    // Placements: no such page, off the page, a range of no pages, mixed modes.
    bad("page=4", ofd_document(3), 422, "invalid-request").await;
    bad("x=190&width=40", ofd_document(1), 422, "invalid-request").await;
    bad(
        "riding=right&pages=3-9",
        ofd_document(3),
        422,
        "invalid-request",
    )
    .await;
    bad("riding=top", ofd_document(3), 422, "invalid-request").await;
    bad(
        "riding=right&page=2",
        ofd_document(3),
        422,
        "invalid-request",
    )
    .await;
    bad("pages=1-2", ofd_document(3), 422, "invalid-request").await;
    // The wrong media type; a P-256 seal; another department's user.
    let response = post_document(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/ofd"),
        "application/pdf",
        ofd_document(1),
    )
    .await;
    assert_problem(response, 415, "unsupported-media-type").await;
    let p256 = new_seal(&w, &w.a).await;
    let p256 = p256["id"].as_str().unwrap();
    grant_all(&w, &w.a, p256, false).await;
    let response = post_ofd(&w, &w.a.system, p256, "", ofd_document(1)).await;
    assert_problem(response, 409, "conflict").await;
    let response = post_ofd(&w, &w.b.user, &id, "", ofd_document(1)).await;
    assert_problem(response, 403, "forbidden").await;
    assert_eq!(refusals(&w, &id).await, 1);
    assert!(usage_log(&w, &w.a.admin, &id).await.is_empty());
    // Verification of what is not an OFD package is refused the same way.
    let response = post_verify(&w, b"PK\x03\x04broken".to_vec()).await;
    assert_problem(response, 422, "invalid-request").await;
}
