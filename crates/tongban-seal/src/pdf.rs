//! PAdES sealing of PDF documents (ETSI EN 319 142-1, ISO 32000-1 §12.8): an
//! incremental update appends a signature field whose widget shows the seal on a page,
//! and a signature dictionary whose /Contents holds a CMS signature (ETSI.CAdES.detached)
//! over every byte of the file except that value. Earlier revisions, and earlier
//! signatures, are left byte for byte as they were.

pub(crate) mod reader;

pub use reader::{Entry, Malformed, Reader};

use lopdf::{Dictionary, Object, ObjectId, Stream, StringFormat, dictionary};
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

/// A PDF prepared for signing: the incremental update that follows its bytes, with a
/// zeroed /Contents and where its hex goes. The original is not part of it: it is
/// read while it is hashed elsewhere, and the sealed document is never copied whole.
pub struct Prepared {
    /// The length of the bytes it follows.
    after: usize,
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
    /// The update's bytes the signature covers after the original: everything but
    /// the /Contents value.
    pub fn signed_update(&self) -> [&[u8]; 2] {
        [
            &self.update[..self.contents.start],
            &self.update[self.contents.end..],
        ]
    }

    /// Puts the CMS signature into /Contents, after `original`: the bytes this update
    /// was prepared for.
    pub fn finish(mut self, original: Vec<u8>, cms: &[u8]) -> Result<Sealed, PdfError> {
        if original.len() != self.after {
            return Err(PdfError::Unreadable(
                "the update was prepared for another document".into(),
            ));
        }
        let room = self.contents.len() - 2;
        if cms.len() * 2 > room {
            return Err(PdfError::Placement(
                "the signature is larger than the space reserved for it".into(),
            ));
        }
        let start = self.contents.start + 1;
        let hex = &mut self.update[start..start + cms.len() * 2];
        hex.copy_from_slice(tongban_crypto::ca::hex(cms).as_bytes());
        hex.make_ascii_uppercase();
        Ok(Sealed {
            original,
            update: self.update,
        })
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

/// Reads `pdf`'s cross-reference data, refusing what cannot be sealed safely.
fn open(pdf: &[u8]) -> Result<Reader<'_>, PdfError> {
    let reader = Reader::open(pdf).map_err(unreadable)?;
    // An incremental update would have to be encrypted under a password we do not
    // have.
    if reader.trailer().has(b"Encrypt") {
        return Err(PdfError::Encrypted);
    }
    Ok(reader)
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
    pdf: &[u8],
    placement: &Placement,
    statement: &Statement,
    appearance: Appearance<'_>,
    now: Timestamp,
) -> Result<Prepared, PdfError> {
    let reader = open(pdf)?;
    // The update adds a handful of objects; object numbers end at 8 388 607.
    if u64::from(reader.next_number()) + 16 > reader::MAX_OBJECT_NUMBER {
        return Err(PdfError::Unreadable("it has too many objects".into()));
    }
    let (root_id, catalog) = reader.catalog().map_err(unreadable)?;
    let (page_id, mut page, media_box) = reader
        .page(placement.page)
        .map_err(unreadable)?
        .ok_or(PdfError::NoSuchPage(placement.page))?;
    check_placement(media_box.as_ref(), placement)?;
    let form = acro_form(&reader, &catalog)?;
    let mut fields = reader
        .array(form.1.get(b"Fields").ok())
        .map_err(unreadable)?
        .unwrap_or_default();

    // The appearance: the stamp image (RGB, alpha in an SMask) scaled to the widget.
    let (image, mask) = match appearance {
        Appearance::Image(planes) => image_streams(planes).map_err(unreadable)?,
        Appearance::Stamp { department, seal } => default_streams(department, seal)
            .map_err(unreadable)?
            .as_ref()
            .clone(),
    };
    let mut update = Update::after(pdf, reader.next_number());
    let mask_id = update.add(&Object::Stream(mask));
    let mut image = image;
    image.dict.set("SMask", mask_id);
    let image_id = update.add(&Object::Stream(image));
    let size = placement.size;
    let appearance = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Form",
            "BBox" => vec![0.into(), 0.into(), size.into(), size.into()],
            "Resources" => dictionary! { "XObject" => dictionary! { "Seal" => image_id } },
        },
        format!("q {size} 0 0 {size} 0 0 cm /Seal Do Q").into_bytes(),
    );
    let appearance_id = update.add(&Object::Stream(appearance));
    let (signature_id, placeholders) = update.signature(statement, now);
    let (x, y) = (placement.x, placement.y);
    let widget = dictionary! {
        "Type" => "Annot",
        "Subtype" => "Widget",
        "FT" => "Sig",
        "T" => Object::string_literal(field_name(&reader, &fields)),
        "V" => signature_id,
        "Rect" => vec![x.into(), y.into(), (x + size).into(), (y + size).into()],
        // Print (4) and Locked (128).
        "F" => 132,
        "P" => page_id,
        "AP" => dictionary! { "N" => appearance_id },
    };
    let widget_id = update.add(&Object::Dictionary(widget));

    // The page lists the widget among its annotations (an indirect /Annots array is
    // copied into the page).
    let mut annots = reader
        .array(page.get(b"Annots").ok())
        .map_err(unreadable)?
        .unwrap_or_default();
    annots.push(widget_id.into());
    page.set("Annots", annots);
    update.replace(page_id, &Object::Dictionary(page));

    // The form lists the field, with /SigFlags 3 (signatures exist, append only).
    let (form_id, mut form) = form;
    fields.push(widget_id.into());
    form.set("Fields", fields);
    form.set("SigFlags", 3);
    match form_id {
        Some(id) => update.replace(id, &Object::Dictionary(form)),
        None => {
            let mut catalog = catalog;
            catalog.set("AcroForm", form);
            update.replace(root_id, &Object::Dictionary(catalog));
        }
    }
    let update = update.finish(&reader, placeholders);
    Ok(Prepared {
        after: pdf.len(),
        update: update.0,
        contents: update.1,
    })
}

/// `SealN` for the first N from the number of fields on that no field is called.
fn field_name(reader: &Reader<'_>, fields: &[Object]) -> String {
    let taken: std::collections::HashSet<Vec<u8>> = fields
        .iter()
        .filter_map(|field| reader.dictionary(field).ok())
        .filter_map(|field| match field.get(b"T") {
            Ok(Object::String(name, _)) => Some(name.clone()),
            _ => None,
        })
        .collect();
    (fields.len() + 1..)
        .map(|n| format!("Seal{n}"))
        .find(|name| !taken.contains(name.as_bytes()))
        .unwrap_or_else(|| "Seal".into())
}

/// The catalog's interactive form: its object id if it is indirect, and its
/// dictionary (empty if there is none).
fn acro_form(
    reader: &Reader<'_>,
    catalog: &Dictionary,
) -> Result<(Option<ObjectId>, Dictionary), PdfError> {
    match catalog.get(b"AcroForm") {
        Ok(Object::Reference(id)) => Ok((
            Some(*id),
            reader
                .dictionary(&Object::Reference(*id))
                .map_err(unreadable)?,
        )),
        Ok(Object::Dictionary(form)) => Ok((None, form.clone())),
        _ => Ok((None, Dictionary::new())),
    }
}

/// Where the signature dictionary's placeholders are in the update.
struct Placeholders {
    /// The /ByteRange array.
    byte_range: std::ops::Range<usize>,
    /// The /Contents hex string, angle brackets included.
    contents: std::ops::Range<usize>,
}

/// An incremental update (ISO 32000-1 §7.5.6) being written: new and replaced objects
/// after the original bytes, then a cross-reference section of the same kind as the
/// original's newest one, chained to it by /Prev.
struct Update {
    /// The original's length: offsets in the update count from there.
    base: usize,
    bytes: Vec<u8>,
    /// (object id, offset in the whole file).
    written: Vec<(ObjectId, usize)>,
    next_number: u32,
}

impl Update {
    fn after(original: &[u8], next_number: u32) -> Self {
        let mut bytes = Vec::with_capacity(2 * CONTENTS_BYTES + 64 * 1024);
        // The first object must start on a line of its own.
        if !matches!(original.last(), Some(b'\n' | b'\r')) {
            bytes.push(b'\n');
        }
        Self {
            base: original.len(),
            bytes,
            written: Vec::new(),
            next_number,
        }
    }

    fn begin(&mut self, id: ObjectId) {
        self.written.push((id, self.base + self.bytes.len()));
        self.bytes
            .extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
    }

    fn end(&mut self) {
        self.bytes.extend_from_slice(b"\nendobj\n");
    }

    fn write(&mut self, object: &Object) {
        // Writing into a Vec cannot fail.
        let _ = lopdf::Writer::write_object(&mut self.bytes, object);
    }

    fn new_id(&mut self) -> ObjectId {
        let id = (self.next_number, 0);
        self.next_number += 1;
        id
    }

    /// Writes `object` as a new object.
    fn add(&mut self, object: &Object) -> ObjectId {
        let id = self.new_id();
        self.replace(id, object);
        id
    }

    /// Writes `object` under `id`, replacing what the original had there.
    fn replace(&mut self, id: ObjectId, object: &Object) {
        self.begin(id);
        self.write(object);
        self.end();
    }

    /// Writes the signature dictionary with room for the signature, placeholders
    /// that [`Update::finish`] and [`Prepared::finish`] fill in.
    fn signature(&mut self, statement: &Statement, now: Timestamp) -> (ObjectId, Placeholders) {
        let id = self.new_id();
        self.begin(id);
        self.bytes.extend_from_slice(
            b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/ByteRange ",
        );
        let at = self.bytes.len();
        self.bytes
            .extend_from_slice(format!("[0 {p} {p} {p}]", p = BYTE_RANGE_PLACEHOLDER).as_bytes());
        let byte_range = at..self.bytes.len();
        self.bytes.extend_from_slice(b"/Contents ");
        let at = self.bytes.len();
        self.bytes.push(b'<');
        self.bytes
            .resize(self.bytes.len() + 2 * CONTENTS_BYTES, b'0');
        self.bytes.push(b'>');
        let contents = at..self.bytes.len();
        let mut entries = vec![
            ("M", Object::string_literal(pdf_date(now))),
            ("Name", text(&statement.name)),
        ];
        if let Some(reason) = &statement.reason {
            entries.push(("Reason", text(reason)));
        }
        if let Some(location) = &statement.location {
            entries.push(("Location", text(location)));
        }
        for (key, value) in entries {
            self.bytes.push(b'/');
            self.bytes.extend_from_slice(key.as_bytes());
            self.bytes.push(b' ');
            self.write(&value);
        }
        self.bytes.extend_from_slice(b">>");
        self.end();
        (
            id,
            Placeholders {
                byte_range,
                contents,
            },
        )
    }

    /// Writes the cross-reference section and trailer, then the real /ByteRange; the
    /// update's bytes and where /Contents lies in them.
    fn finish(
        mut self,
        reader: &Reader<'_>,
        placeholders: Placeholders,
    ) -> (Vec<u8>, std::ops::Range<usize>) {
        let mut trailer = Dictionary::new();
        for key in [&b"Root"[..], b"Info", b"ID"] {
            if let Ok(value) = reader.trailer().get(key) {
                trailer.set(key, value.clone());
            }
        }
        trailer.set("Prev", reader.start() as i64);
        if reader.newest().is_stream {
            // A cross-reference stream, itself one of the objects it lists, and the
            // last thing written: its offset is the largest.
            let id = self.new_id();
            let start = self.base + self.bytes.len();
            let offset_width = 8 - start.leading_zeros() as usize / 8;
            let mut listed = self.written.clone();
            listed.push((id, start));
            let runs = runs(&listed);
            let index: Vec<Object> = runs
                .iter()
                .flat_map(|run| [i64::from(run[0].0.0).into(), (run.len() as i64).into()])
                .collect();
            let rows: Vec<u8> = runs
                .iter()
                .flatten()
                .flat_map(|((_, generation), offset)| {
                    let offset = offset.to_be_bytes();
                    [
                        &[1u8][..],
                        &offset[8 - offset_width..],
                        &generation.to_be_bytes(),
                    ]
                    .concat()
                })
                .collect();
            trailer.set("Type", "XRef");
            trailer.set("Size", i64::from(self.next_number));
            trailer.set("Index", index);
            trailer.set(
                "W",
                vec![
                    Object::Integer(1),
                    Object::Integer(offset_width as i64),
                    Object::Integer(2),
                ],
            );
            self.replace(id, &Object::Stream(Stream::new(trailer, rows)));
            self.bytes
                .extend_from_slice(format!("startxref\n{start}\n%%EOF\n").as_bytes());
        } else {
            let start = self.base + self.bytes.len();
            let mut table = b"xref\n".to_vec();
            for run in runs(&self.written) {
                table.extend_from_slice(format!("{} {}\n", run[0].0.0, run.len()).as_bytes());
                for ((_, generation), offset) in run {
                    // 20 bytes a row (§7.5.4).
                    table.extend_from_slice(
                        format!("{offset:010} {generation:05} n\r\n").as_bytes(),
                    );
                }
            }
            self.bytes.extend_from_slice(&table);
            trailer.set("Size", i64::from(self.next_number));
            self.bytes.extend_from_slice(b"trailer\n");
            self.write(&Object::Dictionary(trailer));
            self.bytes
                .extend_from_slice(format!("\nstartxref\n{start}\n%%EOF\n").as_bytes());
        }
        // The signature covers everything but its /Contents value.
        let Placeholders {
            byte_range,
            contents,
        } = placeholders;
        let ranges = format!(
            "[0 {} {} {}]",
            self.base + contents.start,
            self.base + contents.end,
            self.bytes.len() - contents.end
        );
        let padded = format!("{ranges:<width$}", width = byte_range.len());
        self.bytes[byte_range].copy_from_slice(padded.as_bytes());
        (self.bytes, contents)
    }
}

/// The last write of each object in `written` (id, offset), in runs of consecutive
/// numbers: the subsections of a cross-reference section.
fn runs(written: &[(ObjectId, usize)]) -> Vec<Vec<(ObjectId, usize)>> {
    let mut latest = written.to_vec();
    latest.reverse();
    latest.sort_by_key(|(id, _)| id.0);
    latest.dedup_by_key(|(id, _)| id.0);
    let mut runs: Vec<Vec<(ObjectId, usize)>> = Vec::new();
    for entry in latest {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|(id, _)| id.0 + 1 == entry.0.0) => {
                run.push(entry);
            }
            _ => runs.push(vec![entry]),
        }
    }
    runs
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

fn check_placement(media_box: Option<&Object>, placement: &Placement) -> Result<(), PdfError> {
    if !(placement.size.is_finite() && placement.size >= 20.0 && placement.size <= 600.0) {
        return Err(PdfError::Placement("size: 20 to 600 points".into()));
    }
    if !(placement.x.is_finite() && placement.y.is_finite()) {
        return Err(PdfError::Placement("x, y: numbers".into()));
    }
    if let Some(Object::Array(bounds)) = media_box {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PDF of `pages` pages whose /MediaBox they inherit from the page tree; each
    /// draws a stream of `filler` bytes. One page: pages 1, contents 2, the stream 3,
    /// page 4, catalog 5. `modern`: with object streams and a cross-reference stream,
    /// else a classic table.
    pub(crate) fn sample(pages: usize, filler: usize, modern: bool) -> Vec<u8> {
        let mut doc = lopdf::Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let mut big = None;
        let mut kids = Vec::new();
        for n in 0..pages {
            let text = format!("BT (page {n}) Tj ET").into_bytes();
            let content = doc.add_object(Stream::new(dictionary! {}, text));
            let big = *big.get_or_insert_with(|| {
                doc.add_object(Stream::new(dictionary! {}, vec![7u8; filler]))
            });
            kids.push(Object::Reference(doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content,
                "Resources" => dictionary! { "XObject" => dictionary! { "Big" => big } },
            })));
        }
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => kids, "Count" => pages as i64,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        if modern {
            doc.save_modern(&mut out).unwrap();
        } else {
            doc.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
            doc.save_to(&mut out).unwrap();
        }
        out
    }

    /// `pdf` prepared for a default stamp on page 1.
    fn prepared(pdf: &[u8]) -> Result<Prepared, PdfError> {
        let placement = Placement {
            page: 1,
            x: 100.0,
            y: 100.0,
            size: 100.0,
        };
        prepare(
            pdf,
            &placement,
            &Statement::default(),
            Appearance::Stamp {
                department: "国家市场监督管理总局",
                seal: "电子证照专用章",
            },
            Timestamp::now(),
        )
    }

    pub(crate) fn seal(pdf: &[u8]) -> Result<Vec<u8>, PdfError> {
        Ok(prepared(pdf)?.finish(pdf.to_vec(), b"cms")?.to_vec())
    }

    #[test]
    fn a_second_seal_chains_to_the_first_in_the_original_s_kind_of_table() {
        for modern in [false, true] {
            let pdf = sample(1, 1_000, modern);
            let once = seal(&pdf).unwrap_or_else(|e| panic!("{e}"));
            let twice = seal(&once).unwrap_or_else(|e| panic!("{e}"));
            let reader = Reader::open(&twice).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(reader.newest().is_stream, modern);
            let (_, page, _) = reader.page(1).unwrap().unwrap();
            assert_eq!(page.get(b"Annots").unwrap().as_array().unwrap().len(), 2);
            let (_, catalog) = reader.catalog().unwrap();
            let form = reader
                .dictionary(catalog.get(b"AcroForm").unwrap())
                .unwrap();
            let fields = form.get(b"Fields").unwrap().as_array().unwrap();
            assert_eq!(fields.len(), 2);
            for field in fields {
                let field = reader.dictionary(field).unwrap();
                let signature = reader.dictionary(field.get(b"V").unwrap()).unwrap();
                let range = signature.get(b"ByteRange").unwrap().as_array().unwrap();
                let [_, b, c, _] = [0, 1, 2, 3].map(|i| range[i].as_i64().unwrap() as usize);
                assert_eq!((twice[b], twice[c - 1]), (b'<', b'>'));
            }
        }
    }

    #[test]
    fn an_update_is_finished_only_after_the_document_it_was_prepared_for() {
        let pdf = sample(1, 1_000, true);
        let other = sample(2, 1_000, true);
        let prepared = prepared(&pdf).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            prepared.finish(other, b"cms"),
            Err(PdfError::Unreadable(_))
        ));
    }

    #[test]
    fn truncated_documents_are_refused_without_a_panic() {
        let pdf = sample(1, 1_000, true);
        for end in (0..pdf.len() - 8).step_by(7) {
            assert!(seal(&pdf[..end]).is_err(), "{end}");
        }
    }

    #[test]
    fn a_large_stream_does_not_stop_a_seal_and_the_original_bytes_stay() {
        let pdf = sample(1, 200_000, false);
        let prepared = prepared(&pdf).unwrap_or_else(|e| panic!("{e}"));
        let [first, second] = prepared.signed_update();
        assert!(!first.is_empty());
        assert!(second.ends_with(b"%%EOF") || second.ends_with(b"%%EOF\n"));
        let sealed = prepared
            .finish(pdf.clone(), b"cms")
            .unwrap_or_else(|e| panic!("{e}"));
        let whole = sealed.to_vec();
        assert!(whole.starts_with(&pdf));
        // The sealed file reads, with the update chained to the original, and its
        // page lists the widget.
        let reader = Reader::open(&whole).unwrap_or_else(|e| panic!("{e}"));
        let original = Reader::open(&pdf).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            reader.trailer().get(b"Prev").unwrap(),
            &Object::Integer(original.start() as i64)
        );
        let (_, page, _) = reader.page(1).unwrap().unwrap();
        assert_eq!(page.get(b"Annots").unwrap().as_array().unwrap().len(), 1);
    }
}
