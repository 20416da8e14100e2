//! OFD interop (GB/T 33190 with GB/T 38540). The `ofd-core` crate — a published OFD
//! library we did not write — reads our sealed documents: `verify::check_path` finds
//! them conforming (structure, and the SM3 `CheckValue` of every reference of every
//! signature) and names the file when a byte of a page changes; its renderer draws
//! every page. The `SES_Signature` in `SignedValue.dat` decodes with PyPI asn1tools
//! against the standard's module, its `dataHash` is `openssl dgst -sm3` of
//! `Signature.xml`, and `openssl dgst -sm3 -verify` accepts its signature. Run by
//! `tests/interop/run`.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

#[path = "common.rs"]
mod common;

use std::io::{Cursor, Read, Write};

use common::{Raster, Workdir, openssl, openssl_verifies, python, run};
use ofd_core::render::{ImageFormat, RenderOptions};
use ofd_core::verify::{RefStatus, SigVerdict, check_path};
use serde_json::Value;
use support::seal_world::*;
use tongban_seal::ofd::writer::{Paint, Writer};

/// An unsigned document of `pages` A4 pages, each with a line of text and a frame.
fn document(pages: usize) -> Vec<u8> {
    let mut writer = Writer::new("通知 Notice", (210.0, 297.0));
    for n in 1..=pages {
        writer.page();
        writer.text(30.0, 40.0, 8.0, &format!("第{n}页 Page {n}"));
        let frame = [[0.0, 0.0, 170.0, 257.0]];
        writer.rects(
            [20.0, 20.0, 170.0, 257.0],
            &frame,
            Paint::Stroke([0, 0, 0], 0.5),
        );
    }
    writer.finish("notice", "2026-12-03").write().unwrap()
}

/// `ofd` with one byte of `name` changed.
fn tampered(ofd: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(ofd)).unwrap();
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let entry_name = entry.name().unwrap().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if entry_name == name {
            let at = data.len() / 2;
            data[at] ^= 0x01;
        }
        zip.start_file(entry_name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn entry(ofd: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(ofd)).unwrap();
    let mut data = Vec::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_end(&mut data)
        .unwrap();
    data
}

/// The box `[x, y, w, h]` in millimetres as pixels `[x0, y0, x1, y1]` at `dpi`.
fn pixels([x, y, w, h]: [f64; 4], dpi: f64) -> [usize; 4] {
    [x, y, x + w, y + h].map(|mm| (mm * dpi / 25.4).round() as usize)
}

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn ofd_core_reads_checks_and_renders_our_sealed_ofd_and_openssl_verifies_it() {
    let w = world().await;
    let sm2 = new_sm2_seal(&w).await;
    let id = sm2["id"].as_str().unwrap();
    set_image(&w, id).await;
    grant_all(&w, &w.a, id, false).await;
    let seal = async |query: &str, body: Vec<u8>| {
        let path = format!("/api/v1/seals/{id}/ofd?{query}");
        let sealed = post_document(&w, &w.a.system, &path, "application/ofd", body).await;
        assert_eq!(sealed.status(), 200);
        sealed.bytes().await.unwrap().to_vec()
    };
    // A seal on page 1, then a cross-page seal over all ten pages.
    let once = seal("page=1&x=140&y=220", document(10)).await;
    let sealed = seal("riding=right", once).await;
    let work = Workdir::new();
    let path = work.write("sealed.ofd", &sealed);

    let report = check_path(&path);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.conforms());
    assert_eq!(report.signatures.len(), 2);
    for signature in &report.signatures {
        assert_eq!(
            signature.verdict(),
            SigVerdict::Valid,
            "{}",
            signature.base_loc
        );
        assert!(
            signature.references.len() >= 14,
            "10 pages and 4 other files at least"
        );
        assert!(
            signature
                .references
                .iter()
                .all(|r| r.status == RefStatus::Ok)
        );
    }
    // The second protects the first's files.
    let second = &report.signatures[1];
    assert!(
        second
            .references
            .iter()
            .any(|r| r.file_ref == "/Doc_0/Signs/Sign_0/SignedValue.dat")
    );

    // Its renderer draws each page: the page's text where we wrote it.
    let mut reader = ofd_core::OfdReader::open(&path).unwrap();
    let body = reader.ofd().doc_bodies[0].clone();
    let doc = reader.load_document(&body).unwrap();
    let dpi = 72.0;
    for page in 0..10 {
        let options = RenderOptions::with_dpi(dpi);
        let png_bytes = reader
            .render_page_to_bytes(&doc, page, &options, ImageFormat::Png)
            .unwrap();
        let image = Raster::from_png(&png_bytes);
        assert_eq!((image.width, image.height), (595, 842));
        let text = image.dark(pixels([30.0, 31.0, 60.0, 11.0], dpi));
        assert!(
            text > 30,
            "page {}: {text} dark pixels where its text is",
            page + 1
        );
        let empty = image.dark(pixels([60.0, 120.0, 80.0, 60.0], dpi));
        assert_eq!(empty, 0, "page {}", page + 1);
    }

    // asn1tools decodes SignedValue.dat against the GB/T 38540 module.
    let value = work.write(
        "signed.ses",
        entry(&sealed, "Doc_0/Signs/Sign_1/SignedValue.dat"),
    );
    let seal_file = work.write("seal.esl", entry(&sealed, "Doc_0/Signs/Sign_1/Seal.esl"));
    let signature_xml = work.write(
        "Signature.xml",
        entry(&sealed, "Doc_0/Signs/Sign_1/Signature.xml"),
    );
    let script = support::repo_root().join("tests/interop/ses.py");
    let outdir = work.path("");
    let (ok, text) = run(
        python().to_str().unwrap(),
        &[&script, &"decode", &value, &seal_file, &outdir],
    );
    assert!(ok, "{text}");
    let decoded: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(decoded["reencodes"], true, "{decoded}");
    assert_eq!(decoded["seal_in_signature_is_served_seal"], true);
    let signed = &decoded["signature"];
    assert_eq!(signed["propertyInfo"], "/Doc_0/Signs/Sign_1/Signature.xml");
    assert_eq!(signed["timeStamp"], true);
    // dataHash is the SM3 of Signature.xml, as openssl computes it.
    let (ok, digest) = openssl(&[&"dgst", &"-sm3", &"-r", &signature_xml]);
    assert!(ok, "{digest}");
    assert_eq!(signed["dataHash"].as_str().unwrap(), &digest[..64]);
    assert!(openssl_verifies(
        &work,
        "signer.der",
        "tbs.der",
        "signature.der"
    ));

    // One byte of a page changed: ofd-core names the file, and our report fails.
    let changed = tampered(&sealed, "Doc_0/Pages/Page_3/Content.xml");
    let path = work.write("changed.ofd", &changed);
    let report = check_path(&path);
    assert!(!report.conforms());
    for signature in &report.signatures {
        assert_eq!(signature.verdict(), SigVerdict::Invalid);
        let failed: Vec<&str> = signature.failures().map(|r| r.file_ref.as_str()).collect();
        assert_eq!(failed, ["/Doc_0/Pages/Page_3/Content.xml"]);
    }
    let ours = w
        .server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .header("content-type", "application/ofd")
        .body(changed)
        .send()
        .await
        .unwrap();
    let ours: Value = ours.json().await.unwrap();
    assert_eq!(ours["overall"], "TOTAL-FAILED");
    assert_eq!(ours["signatures"][0]["sub_indication"], "HASH_FAILURE");
}
