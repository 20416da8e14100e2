//! PAdES sealing of PDF documents (ETSI EN 319 142-1, ISO 32000-1 §12.8): an
//! incremental update appends a signature field whose widget shows the seal on a page,
//! and a signature dictionary whose /Contents holds a CMS signature (ETSI.CAdES.detached)
//! over every byte of the file except that value. Earlier revisions, and earlier
//! signatures, are left byte for byte as they were.

use lopdf::{Dictionary, IncrementalDocument, Object, ObjectId, Stream, StringFormat, dictionary};
use tongban_core::time::Timestamp;

use crate::image::Planes;
use crate::stamp;

/// Bytes reserved for the CMS signature (hex-encoded it takes twice as many).
pub const CONTENTS_BYTES: usize = 16 * 1024;
/// The ByteRange placeholder: four numbers of fixed width, patched after writing.
const BYTE_RANGE_PLACEHOLDER: i64 = 9_999_999_999;

/// Why a PDF cannot be sealed.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// Not a PDF we can read (truncated, broken cross-reference table, not a PDF).
    #[error("not a readable PDF: {0}")]
    Unreadable(String),
    /// Encrypted PDFs are refused: an incremental update would have to be encrypted
    /// under a password we do not have.
    #[error("the PDF is encrypted")]
    Encrypted,
    /// The requested page does not exist.
    #[error("the PDF has no page {0}")]
    NoSuchPage(u32),
    /// The seal's placement is outside the page or of no size.
    #[error("{0}")]
    Placement(String),
}

/// Where and how the seal appears.
#[derive(Clone, Debug)]
pub struct Placement {
    /// 1-based page number.
    pub page: u32,
    /// Lower-left corner, PDF points from the page's lower-left corner.
    pub x: f32,
    /// Lower-left corner, PDF points.
    pub y: f32,
    /// Width and height of the (square) seal, PDF points.
    pub size: f32,
}

/// What the signature dictionary states.
#[derive(Clone, Debug, Default)]
pub struct Statement {
    /// /Name: the seal's name.
    pub name: String,
    /// /Reason: why it was applied.
    pub reason: Option<String>,
    /// /Location.
    pub location: Option<String>,
}

/// A PDF prepared for signing: the original bytes, untouched, and the incremental
/// update that follows them, with a zeroed /Contents and where its hex goes. The two
/// are kept apart so that the sealed document is never copied whole.
pub struct Prepared {
    original: Vec<u8>,
    update: Vec<u8>,
    /// /Contents (its angle brackets included) within `update`.
    contents: std::ops::Range<usize>,
}

/// A sealed PDF: the original bytes followed by the signed update.
pub struct Sealed {
    /// The document as received.
    pub original: Vec<u8>,
    /// The incremental update with the signature.
    pub update: Vec<u8>,
}

impl Sealed {
    /// The whole file in one buffer (a copy; the HTTP layer streams the two parts).
    pub fn to_vec(&self) -> Vec<u8> {
        [&self.original[..], &self.update[..]].concat()
    }
}

impl Prepared {
    /// The original document, the first part of what the signature covers.
    pub fn original(&self) -> &[u8] {
        &self.original
    }

    /// The update's bytes the signature covers after the original: everything but
    /// the /Contents value.
    pub fn signed_update(&self) -> [&[u8]; 2] {
        [
            &self.update[..self.contents.start],
            &self.update[self.contents.end..],
        ]
    }

    /// Puts the CMS signature into /Contents.
    pub fn finish(mut self, cms: &[u8]) -> Result<Sealed, PdfError> {
        let room = self.contents.len() - 2;
        let hex = tongban_crypto::ca::hex(cms).to_uppercase();
        if hex.len() > room {
            return Err(PdfError::Placement(
                "the signature is larger than the space reserved for it".into(),
            ));
        }
        let start = self.contents.start + 1;
        self.update[start..start + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(Sealed {
            original: self.original,
            update: self.update,
        })
    }
}

/// Keeps what lopdf writes after the original bytes. lopdf writes the original first
/// and counts it for the update's offsets; skipping it here is what spares a second
/// copy of a large document.
struct UpdateOnly {
    skip: usize,
    update: Vec<u8>,
}

impl std::io::Write for UpdateOnly {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let skipped = buf.len().min(self.skip);
        self.skip -= skipped;
        self.update.extend_from_slice(&buf[skipped..]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn unreadable(error: impl std::fmt::Display) -> PdfError {
    PdfError::Unreadable(error.to_string())
}

fn pdf_date(at: Timestamp) -> String {
    let t = at.to_offset_date_time();
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn text(value: &str) -> Object {
    // UTF-16BE with a byte order mark: PDF text strings (ISO 32000-1 §7.9.2.2) that
    // carry Chinese.
    let mut bytes = vec![0xFE, 0xFF];
    for unit in value.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

/// Resolves `object` if it is a reference.
fn resolve<'a>(doc: &'a lopdf::Document, object: &'a Object) -> Result<&'a Object, PdfError> {
    match object {
        Object::Reference(id) => doc.get_object(*id).map_err(unreadable),
        other => Ok(other),
    }
}

/// Largest object or cross-reference stream accepted once decompressed: a bound on
/// "decompression bombs" in documents anyone may upload to verification.
const MAX_STRUCTURE_STREAM_BYTES: usize = 32 * 1024 * 1024;

/// Streams larger than this are loaded without their contents: sealing and validation
/// read dictionaries, never page contents or images, and a 100 MB document would
/// otherwise be held twice.
const KEEP_STREAM_BYTES: usize = 64 * 1024;

fn without_large_streams(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
    if let Object::Stream(stream) = object {
        let kind = stream.dict.get(b"Type").and_then(Object::as_name).ok();
        // Object and cross-reference streams hold the document's structure: kept.
        let structural = kind == Some(b"ObjStm".as_slice()) || kind == Some(b"XRef".as_slice());
        if !structural && stream.content.len() > KEEP_STREAM_BYTES {
            stream.content = Vec::new();
        }
    }
    // lopdf keeps the object changed in place, and uses the returned copy for the
    // members of object streams.
    Some((id, object.clone()))
}

/// Parses `pdf`'s structure (large stream contents left out), checking that it is a
/// whole PDF.
pub fn load_structure(pdf: &[u8]) -> Result<lopdf::Document, PdfError> {
    if !pdf.starts_with(b"%PDF-") {
        return Err(PdfError::Unreadable("it does not start with %PDF-".into()));
    }
    let tail = &pdf[pdf.len().saturating_sub(1024)..];
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(PdfError::Unreadable(
            "no %%EOF at its end (truncated?)".into(),
        ));
    }
    let options = lopdf::LoadOptions {
        filter: Some(without_large_streams),
        // Object and cross-reference streams hold structure, never megabytes of it.
        max_decompressed_size: Some(MAX_STRUCTURE_STREAM_BYTES),
        ..lopdf::LoadOptions::default()
    };
    lopdf::Document::load_mem_with_options(pdf, options).map_err(unreadable)
}

/// Loads `pdf` for an incremental update, refusing what cannot be sealed safely.
fn load(pdf: &[u8]) -> Result<IncrementalDocument, PdfError> {
    let structure = load_structure(pdf)?;
    // lopdf wants the original bytes only to write them ahead of the update, which
    // [`UpdateOnly`] skips: a stand-in of the same length will do. Fresh zeroed memory
    // of that size is mapped lazily and never touched but for its last byte, which
    // lopdf reads to decide on a line break.
    let mut stand_in = vec![0u8; pdf.len()];
    if let (Some(last), Some(real)) = (stand_in.last_mut(), pdf.last()) {
        *last = *real;
    }
    let doc = IncrementalDocument::create_from(stand_in, structure);
    let prev = doc.get_prev_documents();
    if prev.is_encrypted() || prev.trailer.has(b"Encrypt") {
        return Err(PdfError::Encrypted);
    }
    // A table rebuilt by scanning has no position to chain the update to.
    if prev.xref_start == 0 {
        return Err(PdfError::Unreadable(
            "its cross-reference table is broken".into(),
        ));
    }
    Ok(doc)
}

/// What the visible seal shows.
#[derive(Clone, Copy)]
pub enum Appearance<'a> {
    /// The seal's uploaded image.
    Image(&'a Planes),
    /// The default stamp, with the department's name along the arc and the seal's
    /// below the star.
    Stamp {
        /// The department's name.
        department: &'a str,
        /// The seal's name.
        seal: &'a str,
    },
}

/// Appends the seal's signature field, widget and appearance to `pdf` and reserves
/// room for the signature.
pub fn prepare(
    pdf: Vec<u8>,
    placement: &Placement,
    statement: &Statement,
    appearance: Appearance<'_>,
    now: Timestamp,
) -> Result<Prepared, PdfError> {
    let mut doc = load(&pdf)?;
    let prev = doc.get_prev_documents();
    let page_id = *prev
        .get_pages()
        .get(&placement.page)
        .ok_or(PdfError::NoSuchPage(placement.page))?;
    let root_id = prev
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(unreadable)?;
    check_placement(prev, page_id, placement)?;
    let existing_fields = signature_field_count(prev, root_id)?;

    // The appearance: the stamp image (RGB, alpha in an SMask) scaled to the widget.
    let (image, mask) = match appearance {
        Appearance::Image(planes) => image_streams(planes).map_err(unreadable)?,
        Appearance::Stamp { department, seal } => default_streams(department, seal)
            .map_err(unreadable)?
            .as_ref()
            .clone(),
    };
    let new = &mut doc.new_document;
    let mask_id = new.add_object(mask);
    let mut image = image;
    image.dict.set("SMask", mask_id);
    let image_id = new.add_object(image);
    let size = placement.size;
    let appearance = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Form",
            "BBox" => vec![0.into(), 0.into(), size.into(), size.into()],
            "Resources" => dictionary! { "XObject" => dictionary! { "Seal" => image_id } },
        },
        format!("q {size} 0 0 {size} 0 0 cm /Seal Do Q").into_bytes(),
    );
    let appearance_id = new.add_object(appearance);

    let mut signature = dictionary! {
        "Type" => "Sig",
        "Filter" => "Adobe.PPKLite",
        "SubFilter" => "ETSI.CAdES.detached",
        "ByteRange" => vec![
            0.into(),
            BYTE_RANGE_PLACEHOLDER.into(),
            BYTE_RANGE_PLACEHOLDER.into(),
            BYTE_RANGE_PLACEHOLDER.into(),
        ],
        // Written as a literal string of hex digits, in one piece: lopdf writes a hex
        // string a formatted byte at a time, a tenth of sealing a 1 MB document. Its
        // parentheses become angle brackets once written (same length, same offsets).
        "Contents" => Object::String(vec![b'0'; 2 * CONTENTS_BYTES], StringFormat::Literal),
        "M" => Object::string_literal(pdf_date(now)),
        "Name" => text(&statement.name),
    };
    if let Some(reason) = &statement.reason {
        signature.set("Reason", text(reason));
    }
    if let Some(location) = &statement.location {
        signature.set("Location", text(location));
    }
    let signature_id = new.add_object(signature);
    let (x, y) = (placement.x, placement.y);
    let widget = dictionary! {
        "Type" => "Annot",
        "Subtype" => "Widget",
        "FT" => "Sig",
        "T" => Object::string_literal(format!("Seal{}", existing_fields + 1)),
        "V" => signature_id,
        "Rect" => vec![x.into(), y.into(), (x + size).into(), (y + size).into()],
        // Print (4) and Locked (128).
        "F" => 132,
        "P" => page_id,
        "AP" => dictionary! { "N" => appearance_id },
    };
    let widget_id = doc.new_document.add_object(widget);
    add_annotation(&mut doc, page_id, widget_id)?;
    add_field(&mut doc, root_id, widget_id)?;

    let mut out = UpdateOnly {
        skip: pdf.len(),
        update: Vec::with_capacity(2 * CONTENTS_BYTES + 64 * 1024),
    };
    doc.save_to(&mut out).map_err(unreadable)?;
    drop(doc);
    locate_and_patch(pdf, out.update)
}

/// An image as compressed PDF image streams: the RGB image, and its alpha as the
/// SMask (which the image must still be pointed at).
fn image_streams(planes: &Planes) -> Result<(Stream, Stream), lopdf::Error> {
    let (width, height) = (i64::from(planes.width), i64::from(planes.height));
    let mut mask = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => width, "Height" => height,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        planes.alpha.clone(),
    );
    mask.compress()?;
    let mut image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => width, "Height" => height,
            "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8,
        },
        planes.rgb.clone(),
    );
    image.compress()?;
    Ok((image, mask))
}

/// A seal's default stamp as streams, rendered and compressed once per pair of names
/// per process.
fn default_streams(
    department: &str,
    seal: &str,
) -> Result<std::sync::Arc<(Stream, Stream)>, lopdf::Error> {
    type Compressed = std::collections::HashMap<(String, String), std::sync::Arc<(Stream, Stream)>>;
    static COMPRESSED: std::sync::OnceLock<std::sync::Mutex<Compressed>> =
        std::sync::OnceLock::new();
    let compressed = COMPRESSED.get_or_init(Default::default);
    let key = (department.to_owned(), seal.to_owned());
    if let Some(streams) = compressed.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(streams);
    }
    let (rgb, alpha) = stamp::default_stamp(stamp::SIZE, department, seal, stamp::font());
    let streams = std::sync::Arc::new(image_streams(&Planes {
        width: stamp::SIZE,
        height: stamp::SIZE,
        rgb,
        alpha,
    })?);
    if let Ok(mut compressed) = compressed.lock() {
        // Seals are few; the bound only guards against a flood of names.
        if compressed.len() >= 1_024 {
            compressed.clear();
        }
        compressed.insert(key, streams.clone());
    }
    Ok(streams)
}

fn check_placement(
    prev: &lopdf::Document,
    page_id: ObjectId,
    placement: &Placement,
) -> Result<(), PdfError> {
    if !(placement.size.is_finite() && placement.size >= 20.0 && placement.size <= 600.0) {
        return Err(PdfError::Placement("size: 20 to 600 points".into()));
    }
    if !(placement.x.is_finite() && placement.y.is_finite()) {
        return Err(PdfError::Placement("x, y: numbers".into()));
    }
    let media_box = prev
        .get_dictionary(page_id)
        .ok()
        .and_then(|page| page.get(b"MediaBox").ok())
        .or_else(|| {
            // Inherited from the page tree.
            let parent = prev.get_dictionary(page_id).ok()?.get(b"Parent").ok()?;
            prev.get_dictionary(parent.as_reference().ok()?)
                .ok()?
                .get(b"MediaBox")
                .ok()
        });
    if let Some(media_box) = media_box
        && let Ok(Object::Array(bounds)) = resolve(prev, media_box)
    {
        let number = |o: &Object| o.as_float().ok();
        if let [Some(x0), Some(y0), Some(x1), Some(y1)] =
            [0, 1, 2, 3].map(|i| bounds.get(i).and_then(number))
            && (placement.x < x0
                || placement.y < y0
                || placement.x + placement.size > x1
                || placement.y + placement.size > y1)
        {
            return Err(PdfError::Placement(format!(
                "the seal must lie within the page ({x0} {y0} {x1} {y1})"
            )));
        }
    }
    Ok(())
}

fn signature_field_count(prev: &lopdf::Document, root_id: ObjectId) -> Result<usize, PdfError> {
    let catalog = prev.get_dictionary(root_id).map_err(unreadable)?;
    let Ok(form) = catalog.get(b"AcroForm") else {
        return Ok(0);
    };
    let form = resolve(prev, form)?.as_dict().map_err(unreadable)?;
    let Ok(fields) = form.get(b"Fields") else {
        return Ok(0);
    };
    Ok(resolve(prev, fields)?.as_array().map(Vec::len).unwrap_or(0))
}

/// Adds the widget to the page's /Annots (inline or an indirect array).
fn add_annotation(
    doc: &mut IncrementalDocument,
    page_id: ObjectId,
    widget_id: ObjectId,
) -> Result<(), PdfError> {
    doc.opt_clone_object_to_new_document(page_id)
        .map_err(unreadable)?;
    let annots = doc
        .new_document
        .get_dictionary(page_id)
        .map_err(unreadable)?
        .get(b"Annots")
        .ok()
        .cloned();
    let mut list = match &annots {
        Some(Object::Reference(id)) => doc
            .get_prev_documents()
            .get_object(*id)
            .and_then(Object::as_array)
            .map_err(unreadable)?
            .clone(),
        Some(Object::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    list.push(widget_id.into());
    doc.new_document
        .get_dictionary_mut(page_id)
        .map_err(unreadable)?
        .set("Annots", list);
    Ok(())
}

/// Adds the field to the catalog's /AcroForm /Fields, with /SigFlags 3.
fn add_field(
    doc: &mut IncrementalDocument,
    root_id: ObjectId,
    widget_id: ObjectId,
) -> Result<(), PdfError> {
    let prev = doc.get_prev_documents();
    let catalog = prev.get_dictionary(root_id).map_err(unreadable)?;
    let (form_ref, mut form) = match catalog.get(b"AcroForm") {
        Ok(Object::Reference(id)) => (
            Some(*id),
            prev.get_dictionary(*id).map_err(unreadable)?.clone(),
        ),
        Ok(Object::Dictionary(form)) => (None, form.clone()),
        _ => (None, Dictionary::new()),
    };
    let mut fields = match form.get(b"Fields") {
        Ok(fields) => resolve(prev, fields)?
            .as_array()
            .map_err(unreadable)?
            .clone(),
        Err(_) => Vec::new(),
    };
    fields.push(widget_id.into());
    form.set("Fields", fields);
    form.set("SigFlags", 3);
    match form_ref {
        Some(id) => {
            doc.new_document.set_object(id, form);
        }
        None => {
            doc.opt_clone_object_to_new_document(root_id)
                .map_err(unreadable)?;
            doc.new_document
                .get_dictionary_mut(root_id)
                .map_err(unreadable)?
                .set("AcroForm", form);
        }
    }
    Ok(())
}

/// Finds the placeholders in the update, writes the real /ByteRange (offsets in the
/// whole file: the update follows the original), and returns where /Contents lies.
fn locate_and_patch(original: Vec<u8>, mut update: Vec<u8>) -> Result<Prepared, PdfError> {
    // The signature dictionary is written after every object the update copies from
    // the document, so its placeholders are the last ones even if a page happens to
    // contain the same bytes.
    let find =
        |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).rposition(|w| w == needle);
    let placeholder = format!("[0 {p} {p} {p}]", p = BYTE_RANGE_PLACEHOLDER);
    let range_at = find(&update, placeholder.as_bytes())
        .ok_or_else(|| PdfError::Unreadable("ByteRange placeholder not written".into()))?;
    let zeros = format!("({})", "0".repeat(2 * CONTENTS_BYTES));
    let start = find(&update, zeros.as_bytes())
        .ok_or_else(|| PdfError::Unreadable("Contents placeholder not written".into()))?;
    let contents = start..start + zeros.len();
    update[contents.start] = b'<';
    update[contents.end - 1] = b'>';
    let ranges = format!(
        "[0 {} {} {}]",
        original.len() + contents.start,
        original.len() + contents.end,
        update.len() - contents.end
    );
    let padded = format!("{ranges:<width$}", width = placeholder.len());
    update[range_at..range_at + padded.len()].copy_from_slice(padded.as_bytes());
    Ok(Prepared {
        original,
        update,
        contents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(filler: usize) -> Vec<u8> {
        let mut doc = lopdf::Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let content = doc.add_object(Stream::new(dictionary! {}, b"BT ET".to_vec()));
        let big = doc.add_object(Stream::new(dictionary! {}, vec![7u8; filler]));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Resources" => dictionary! { "XObject" => dictionary! { "Big" => big } },
        });
        doc.objects.insert(
            pages_id,
            Object::Dictionary(
                dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 },
            ),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    #[test]
    fn a_large_stream_does_not_stop_a_seal_and_the_original_bytes_stay() {
        let pdf = sample(200_000);
        let placement = Placement {
            page: 1,
            x: 100.0,
            y: 100.0,
            size: 100.0,
        };
        let prepared = prepare(
            pdf.clone(),
            &placement,
            &Statement::default(),
            Appearance::Stamp {
                department: "国家市场监督管理总局",
                seal: "电子证照专用章",
            },
            Timestamp::now(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(prepared.original(), &pdf[..]);
        let [first, second] = prepared.signed_update();
        assert!(!first.is_empty());
        assert!(second.ends_with(b"%%EOF") || second.ends_with(b"%%EOF\n"));
        let sealed = prepared.finish(b"cms").unwrap_or_else(|e| panic!("{e}"));
        let whole = sealed.to_vec();
        assert!(whole.starts_with(&pdf));
        // The sealed file parses, with the update chained to the original.
        load_structure(&whole).unwrap_or_else(|e| panic!("{e}"));
    }
}
