//! Documents to seal and verify: PDFs written by lopdf (not by us), of a given number
//! of pages and size.

/// A PDF of `pages` pages with a line of text each, padded to about `size` bytes with
/// an attached (unreferenced by pages) data stream; written by lopdf, not by us.
#[allow(dead_code)]
pub fn sample_pdf(pages: u32, size: usize) -> Vec<u8> {
    sample_pdf_in_streams(pages, size, 1)
}

/// A PDF like [`sample_pdf`] whose `size` filler bytes are split over `streams`
/// attachments (as a scanned document's pages are over its images).
#[allow(dead_code)]
pub fn sample_pdf_in_streams(pages: u32, size: usize, streams: usize) -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let mut kids = Vec::new();
    for n in 1..=pages {
        let text = format!("BT /F1 24 Tf 72 720 Td (Tongban test document, page {n}) Tj ET");
        let content = doc.add_object(Stream::new(dictionary! {}, text.into_bytes()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Contents" => content,
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        });
        kids.push(Object::Reference(page));
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => i64::from(pages),
        }),
    );
    let streams = streams.max(1);
    let mut names = Vec::new();
    for n in 0..streams {
        let filler: Vec<u8> = (0..size / streams)
            .map(|i| (i.wrapping_mul(7919).wrapping_add(n) % 251) as u8)
            .collect();
        let attachment = doc.add_object(Stream::new(
            dictionary! { "Type" => "EmbeddedFile" },
            filler,
        ));
        let name = format!("data-{n}.bin");
        names.push(Object::string_literal(name.clone()));
        names.push(
            dictionary! {
                "Type" => "Filespec", "F" => Object::string_literal(name),
                "EF" => dictionary! { "F" => attachment },
            }
            .into(),
        );
    }
    let catalog = doc.add_object(dictionary! {
        "Type" => "Catalog", "Pages" => pages_id,
        "Names" => dictionary! { "EmbeddedFiles" => dictionary! { "Names" => names } },
    });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("lopdf writes the sample");
    out
}

/// A PNG of `width` × `height` pixels in `color`, every channel of every pixel 200.
pub fn png_image(width: u32, height: u32, color: png::ColorType) -> Vec<u8> {
    let channels = match color {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        png::ColorType::GrayscaleAlpha => 2,
        _ => 1,
    };
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&vec![200u8; (width * height * channels) as usize])
            .unwrap();
    }
    out
}

/// `pdf` with page 1's content replaced in an incremental update (no signature).
pub fn change_page_content(pdf: &[u8]) -> Vec<u8> {
    use lopdf::{IncrementalDocument, Object, Stream, dictionary};
    let mut doc = IncrementalDocument::load_from(pdf).unwrap();
    let page = *doc.get_prev_documents().get_pages().get(&1).unwrap();
    doc.opt_clone_object_to_new_document(page).unwrap();
    let content = doc.new_document.add_object(Stream::new(
        dictionary! {},
        b"BT /F1 24 Tf 72 720 Td (Tongban test document, page 1: AMOUNT 1,000,000) Tj ET".to_vec(),
    ));
    doc.new_document
        .get_dictionary_mut(page)
        .unwrap()
        .set("Contents", Object::Reference(content));
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// An unsigned A4 OFD document of `pages` pages, as a department's system would send.
#[allow(dead_code)]
pub fn ofd_document(pages: usize) -> Vec<u8> {
    use tongban_seal::ofd::writer::{Paint, Writer};
    let mut writer = Writer::new("通知 Notice", (210.0, 297.0));
    for n in 1..=pages {
        writer.page();
        writer.text(30.0, 40.0, 6.0, &format!("第 {n} 页 Page {n}"));
        writer.rects(
            [20.0, 20.0, 170.0, 257.0],
            &[[0.0, 0.0, 170.0, 257.0]],
            Paint::Stroke([0, 0, 0], 0.3),
        );
    }
    writer.finish("notice", "2026-12-03").write().unwrap()
}
