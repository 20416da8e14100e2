//! Cross-page seals (骑缝章) on PDFs: one signature field with a widget on the edge of
//! each page of a range, each showing its slice of the seal, with P-256 (PAdES) and SM2
//! (GB/T 38540) seals; later signatures keep them valid, a changed page does not, and
//! bad ranges are refused.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::assert_problem;
use support::seal_world::*;

/// A P-256 seal of A with its image, granted: its id.
async fn ready_seal(w: &World) -> String {
    let seal = new_seal(w, &w.a).await;
    let id = seal["id"].as_str().unwrap().to_owned();
    set_image(w, &id).await;
    grant_all(w, &w.a, &id, false).await;
    id
}

/// The widgets of the one signature field of `pdf`: (page number, rectangle).
fn widgets(pdf: &[u8]) -> Vec<(u32, [f32; 4])> {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let pages = doc.get_pages();
    let catalog = doc.catalog().unwrap();
    let form = doc
        .dereference(catalog.get(b"AcroForm").unwrap())
        .unwrap()
        .1;
    let fields = form
        .as_dict()
        .unwrap()
        .get(b"Fields")
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    let field = doc
        .dereference(fields.last().unwrap())
        .unwrap()
        .1
        .as_dict()
        .unwrap()
        .clone();
    assert_eq!(field.get(b"FT").unwrap().as_name().unwrap(), b"Sig");
    let kids = field.get(b"Kids").unwrap().as_array().unwrap();
    kids.iter()
        .map(|kid| {
            let widget = doc.dereference(kid).unwrap().1.as_dict().unwrap().clone();
            let page = widget.get(b"P").unwrap().as_reference().unwrap();
            let number = *pages.iter().find(|(_, id)| **id == page).unwrap().0;
            let rect: Vec<f32> = widget
                .get(b"Rect")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_float().unwrap())
                .collect();
            (number, [rect[0], rect[1], rect[2], rect[3]])
        })
        .collect()
}

fn report_of(report: &Value, i: usize) -> (String, Value, Value) {
    let s = &report["signatures"][i];
    (
        s["indication"].as_str().unwrap().to_owned(),
        s["pages"].clone(),
        s["cross_page"].clone(),
    )
}

#[tokio::test]
async fn a_cross_page_seal_puts_a_slice_on_each_page_and_verifies() {
    let w = world().await;
    let id = ready_seal(&w).await;
    let original = support::sample_pdf(10, 5_000);
    let response = post_pdf(
        &w,
        &w.a.system,
        &id,
        "riding=right&size=150&y=300",
        "application/pdf",
        original.clone(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let sealed = response.bytes().await.unwrap().to_vec();
    // Ten widgets of one field, each 15 points wide at the right edge of its page.
    let placed = widgets(&sealed);
    assert_eq!(placed.len(), 10);
    for (i, (page, rect)) in placed.iter().enumerate() {
        assert_eq!(*page, i as u32 + 1);
        assert_eq!(*rect, [580.0, 300.0, 595.0, 450.0]);
    }
    let report = verify_pdf(&w, sealed.clone()).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report:#}");
    assert_eq!(report["signatures"].as_array().unwrap().len(), 1);
    let (_, pages, cross) = report_of(&report, 0);
    assert_eq!(pages, json!([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    assert_eq!(cross, true);
    assert_eq!(usage_log(&w, &w.a.admin, &id).await.len(), 1);

    // A seal on one page after it: the cross-page seal still stands.
    let twice = sealed_pdf(&w, &id, sealed.clone()).await;
    let report = verify_pdf(&w, twice).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report:#}");
    assert_eq!(
        report["signatures"][0]["later_changes_only_signatures"],
        true
    );
    assert_eq!(report["signatures"][1]["pages"], json!([1]));
    assert_eq!(report["signatures"][1]["cross_page"], false);

    // And one before it stands too: a cross-page seal only adds a signature.
    let first = sealed_pdf(&w, &id, support::sample_pdf(4, 2_000)).await;
    let response = post_pdf(
        &w,
        &w.a.system,
        &id,
        "riding=left&pages=2-4",
        "application/pdf",
        first,
    )
    .await;
    assert_eq!(response.status(), 200);
    let both = response.bytes().await.unwrap().to_vec();
    let left = widgets(&both);
    assert_eq!(left.iter().map(|(p, _)| *p).collect::<Vec<_>>(), [2, 3, 4]);
    assert!(left.iter().all(|(_, r)| r[0] == 0.0 && r[2] == 40.0));
    let report = verify_pdf(&w, both).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report:#}");
    assert_eq!(
        report["signatures"][0]["later_changes_only_signatures"],
        true
    );
    assert_eq!(report["signatures"][1]["pages"], json!([2, 3, 4]));

    // A page replaced after the seal: the cross-page seal fails, naming it.
    let replaced = support::change_page_content(&sealed);
    let report = verify_pdf(&w, replaced).await;
    let s = &report["signatures"][0];
    assert_eq!(report["overall"], "TOTAL-FAILED", "{report:#}");
    assert_eq!(s["sub_indication"], "HASH_FAILURE");
    let messages = s["messages"].to_string();
    assert!(
        messages.contains("page 1, which carries a slice"),
        "{messages}"
    );
}

#[tokio::test]
async fn an_sm2_seal_rides_across_a_pdf_as_a_gbt38540_signature() {
    let w = world().await;
    let sm2 = new_sm2_seal(&w).await;
    let id = sm2["id"].as_str().unwrap();
    set_image(&w, id).await;
    grant_all(&w, &w.a, id, false).await;
    let sealed = ses_sealed_pdf(
        &w,
        id,
        "riding=right&pages=1-3",
        support::sample_pdf(5, 2_000),
    )
    .await;
    assert_eq!(widgets(&sealed).len(), 3);
    let report = verify_pdf(&w, sealed).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report:#}");
    let (_, pages, cross) = report_of(&report, 0);
    assert_eq!(report["signatures"][0]["format"], "ses");
    assert_eq!((pages, cross), (json!([1, 2, 3]), json!(true)));
}

#[tokio::test]
async fn bad_cross_page_requests_are_refused_and_nothing_recorded() {
    let w = world().await;
    let id = ready_seal(&w).await;
    let pdf = support::sample_pdf(3, 1_000);
    for query in [
        "riding=right&pages=3-1",
        "riding=right&pages=2-2",
        "riding=right&pages=0-2",
        "riding=right&pages=2-9",
        "riding=right&pages=a-b",
        "riding=top",
        "riding=right&page=2",
        "riding=right&x=10",
        "pages=1-3",
        "riding=right&y=800",
        "riding=right&size=10",
    ] {
        let response = post_pdf(&w, &w.a.system, &id, query, "application/pdf", pdf.clone()).await;
        assert_problem(response, 422, "invalid-request").await;
    }
    // A one-page document has no pages to ride across.
    let response = post_pdf(
        &w,
        &w.a.system,
        &id,
        "riding=right",
        "application/pdf",
        support::sample_pdf(1, 1_000),
    )
    .await;
    assert_problem(response, 422, "invalid-request").await;
    assert!(usage_log(&w, &w.a.admin, &id).await.is_empty());
}
