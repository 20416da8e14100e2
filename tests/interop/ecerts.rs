//! E-certificate interop: an issued VC-JWT and its Bitstring Status List, judged by
//! PyPI jwcrypto (with a status-list decoder written from the W3C text) and by npm
//! `jose` with `@digitalbazaar/vc-bitstring-status-list`, before and after revocation;
//! a tampered credential is refused by both. Run by `tests/interop/run`.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

#[path = "common.rs"]
mod common;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use common::{Raster, Workdir, judge_pdf, nss_db, public_server, python};
use serde_json::{Value, json};
use support::TestServer;
use tongban_core::time::Timestamp;
use tongban_ecert::catalogue::{self, HolderCategory, NewType};
use tongban_identity::clients::{self, NewClient};
use tongban_identity::subjects::{self, Level};
use tongban_seal::permissions::Actor;
use tongban_seal::registry::{self, SealKind};

/// Runs both judges on a credential and a status list; (all accepted, their output).
fn judges(work: &Workdir, vc: &str, list: &str, root: &Path, bit: u8) -> (bool, String) {
    let vc = work.write("vc.jwt", vc);
    let list = work.write("list.jwt", list);
    let here = support::repo_root().join("tests/interop");
    let mut all = true;
    let mut text = String::new();
    for mut command in [
        {
            let mut c = Command::new(python());
            c.arg(here.join("vc_verify.py"));
            c
        },
        {
            let mut c = Command::new("node");
            c.arg(here.join("vc_jose.mjs"));
            c
        },
    ] {
        let output = command
            .arg(&vc)
            .arg(&list)
            .arg(root)
            .arg(bit.to_string())
            .output()
            .unwrap();
        all &= output.status.success();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        text.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    (all, text)
}

/// The OFD rendition of `certificate`, sealed by an SM2 seal the department chose:
/// `ofd-core` finds it conforming, and its rendering of the page has the face of the
/// PDF rendition as pdftoppm renders it — the same text bands and the same QR code,
/// module for module — while the seal's stamp is where the PDF shows its seal.
async fn compare_ofd_with_pdf(
    server: &TestServer,
    work: &Workdir,
    operator: &Actor,
    department: tongban_identity::subjects::DepartmentId,
    code: &str,
    certificate: &tongban_ecert::register::Certificate,
    pdf: &[u8],
) {
    let mut tx = server.store().begin().await.unwrap();
    let sm2 = registry::create(
        &mut tx,
        server.pki(),
        operator,
        department,
        SealKind::Official,
        "电子证照专用章",
        tongban_crypto::Algorithm::Sm2,
    )
    .await
    .unwrap();
    let image = support::documents::png_image(300, 300, png::ColorType::Rgba);
    tongban_seal::image::set(&mut tx, server.pki(), operator, sm2.id, &image)
        .await
        .unwrap();
    let ofd = (sm2.id, catalogue::SealUse::Ofd);
    catalogue::choose_seal(&mut tx, operator, code, department, ofd)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let ofd = tongban_ecert::ofd_rendition::sealed(
        server.store(),
        server.pki(),
        &server.base,
        operator,
        certificate,
    )
    .await
    .unwrap();
    let path = work.write("rendition.ofd", &ofd);
    let report = ofd_core::verify::check_path(&path);
    assert!(report.conforms(), "{:?}", report.problems);
    assert_eq!(report.signatures.len(), 1);
    assert_eq!(
        report.signatures[0].verdict(),
        ofd_core::verify::SigVerdict::Valid
    );

    // Both at 72 dpi: a PDF point is a pixel, an OFD millimetre 72/25.4 of them.
    let mut reader = ofd_core::OfdReader::open(&path).unwrap();
    let body = reader.ofd().doc_bodies[0].clone();
    let doc = reader.load_document(&body).unwrap();
    let options = ofd_core::render::RenderOptions::with_dpi(72.0);
    let png_bytes = reader
        .render_page_to_bytes(&doc, 0, &options, ofd_core::render::ImageFormat::Png)
        .unwrap();
    work.write("ofd-page.png", &png_bytes);
    let ofd_page = Raster::from_png(&png_bytes);
    let pdf_file = work.write("rendition.pdf", pdf);
    let prefix = work.path("pdf-page");
    let (ok, text) = common::run(
        "pdftoppm",
        &[
            &"-r", &"72", &"-png", &"-f", &"1", &"-l", &"1", &pdf_file, &prefix,
        ],
    );
    assert!(ok, "{text}");
    let pdf_page = Raster::from_png(&std::fs::read(work.path("pdf-page-1.png")).unwrap());
    assert_eq!((ofd_page.width, pdf_page.width), (595, 595));
    if let Ok(keep) = std::env::var("TONGBAN_KEEP_RENDERINGS") {
        std::fs::copy(work.path("ofd-page.png"), format!("{keep}/ofd-page.png")).unwrap();
        std::fs::copy(work.path("pdf-page-1.png"), format!("{keep}/pdf-page.png")).unwrap();
    }
    // Text bands (top of the page down): the type's names, the holder's row, the face
    // rows, the issuer, the identifier line. Each has ink in both.
    for (what, band) in [
        ("type name", [150, 50, 445, 115]),
        ("holder row", [80, 148, 500, 168]),
        ("face row", [80, 178, 500, 198]),
        ("issuer", [380, 618, 560, 640]),
        ("identifier", [60, 786, 500, 798]),
    ] {
        let (o, p) = (ofd_page.dark(band), pdf_page.dark(band));
        assert!(o > 20 && p > 20, "{what}: OFD {o}, PDF {p} dark pixels");
    }
    // The QR code (110 points from (60, 652)): module for module the same.
    let (mut same, mut all) = (0, 0);
    for y in 655..759 {
        for x in 63..167 {
            let dark = |r: &Raster| r.rgb(x, y).iter().all(|c| *c < 128);
            same += usize::from(dark(&ofd_page) == dark(&pdf_page));
            all += 1;
        }
    }
    assert!(
        same * 100 >= all * 95,
        "the QR codes agree on {same} of {all} pixels"
    );
    // The seal: red in the PDF at its place; the OFD's stamp annotation at the same
    // place in millimetres (ofd-core does not draw stamp annotations).
    let red = (380..520)
        .flat_map(|x| (552..692).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let [r, g, b] = pdf_page.rgb(x, y);
            r > 150 && g < 100 && b < 100
        })
        .count();
    assert!(red > 500, "{red} red pixels where the PDF's seal is");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&ofd)).unwrap();
    let mut signature = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("Doc_0/Signs/Sign_0/Signature.xml").unwrap(),
        &mut signature,
    )
    .unwrap();
    assert!(
        signature.contains("Boundary=\"134.056 194.694 49.389 49.389\""),
        "{signature}"
    );
}

// Multi-threaded: pyHanko fetches CRLs from the server while this thread waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by tests/interop/run"]
async fn jwcrypto_jose_pdfsig_and_pyhanko_accept_certificates_renditions_and_status_lists() {
    let server = public_server().await;
    let now = Timestamp::now();
    let mut tx = server.store().begin().await.unwrap();
    let department = subjects::create_department(
        &mut tx,
        "国家市场监督管理总局",
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
            scopes: vec!["ecert:issue".into()],
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
    let seal = registry::create(
        &mut tx,
        server.pki(),
        &operator,
        department.id,
        SealKind::Official,
        "电子证照专用章",
        tongban_crypto::Algorithm::Es256,
    )
    .await
    .unwrap();
    let defined = catalogue::define(
        &mut tx,
        &operator,
        department.id,
        &NewType {
            sequence: "011".into(),
            name_zh: "营业执照".into(),
            name_en: "Business licence".into(),
            holder_category: HolderCategory::Legal,
            face_schema: json!({"type": "object", "required": ["name"],
                                "properties": {"name": {"type": "string"}, "capital": {"type": "string"}}}),
            validity_days: None,
            layout: Vec::new(),
            seal_id: seal.id,
            rendition: catalogue::Rendition::Pdf,
        },
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let token = support::client_token(&server, &system.id, &secret.unwrap()).await;
    let issued: Value = server
        .client
        .post(format!("{}/api/v1/certificates", server.base))
        .bearer_auth(&token)
        .json(&json!({"type": defined.code, "holder": {"id_number": "91350100M000100Y43", "name": "福州示例科技有限公司"},
                      "face": {"name": "福州示例科技有限公司", "capital": "100万元"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential = issued["credential"].as_str().unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(credential.split('.').nth(1).unwrap())
        .unwrap();
    let vc: Value = serde_json::from_slice(&payload).unwrap();
    let list_url = vc["credentialStatus"][0]["statusListCredential"]
        .as_str()
        .unwrap();
    let list_path = &list_url[list_url.find("/api/").unwrap()..];
    let list = |server: &TestServer| {
        let url = format!("{}{list_path}", server.base);
        let client = server.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let work = Workdir::new();
    let root = work.pem("root.pem", &[server.pki().root()]);

    let (ok, text) = judges(&work, credential, &list(&server).await, &root, 0);
    assert!(ok, "{text}");
    // A changed payload is refused by both.
    let mut forged = vc.clone();
    forged["credentialSubject"]["face"]["capital"] = json!("1亿元");
    let parts: Vec<&str> = credential.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string()),
        parts[2]
    );
    let (ok, text) = judges(&work, &tampered, &list(&server).await, &root, 0);
    assert!(!ok, "a tampered credential was accepted: {text}");
    assert_eq!(text.matches("refused").count(), 2, "{text}");

    // The sealed PDF rendition: qpdf, pdfsig (our root in an NSS db) and pyHanko.
    let certificate = {
        let mut conn = server.store().conn().await.unwrap();
        let id: tongban_ecert::identifier::Identifier =
            issued["identifier"].as_str().unwrap().parse().unwrap();
        tongban_ecert::register::find(&mut conn, &id).await.unwrap()
    };
    let sealed = tongban_ecert::rendition::sealed(
        server.store(),
        server.pki(),
        &server.base,
        &operator,
        &certificate,
    )
    .await
    .unwrap();
    let nss_dir = nss_db(&work, &root);
    judge_pdf(&work, &nss_dir, &root, "rendition", &sealed.to_vec(), 1);
    compare_ofd_with_pdf(
        &server,
        &work,
        &operator,
        department.id,
        &defined.code,
        &certificate,
        &sealed.to_vec(),
    )
    .await;

    let revoked = server
        .client
        .post(format!(
            "{}/api/v1/certificates/{}/status",
            server.base,
            issued["identifier"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .json(&json!({"status": "revoked", "reason": "吊销"}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let after = list(&server).await;
    let (ok, text) = judges(&work, credential, &after, &root, 1);
    assert!(ok, "after revocation: {text}");
    let (ok, _) = judges(&work, credential, &after, &root, 0);
    assert!(!ok, "the judges must see the bit set");
    println!("{text}");
    server.stop().await;
}
