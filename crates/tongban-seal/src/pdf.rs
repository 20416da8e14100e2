//! PAdES sealing of PDF documents (ETSI EN 319 142-1, ISO 32000-1 §12.8): an
//! incremental update appends a signature field whose widget shows the seal on a page,
//! and a signature dictionary whose /Contents holds a CMS signature (ETSI.CAdES.detached)
//! — or, for SM2 seals, a GB/T 38540 SES_Signature — over every byte of the file except
//! that value. Earlier revisions, and earlier
//! signatures, are left byte for byte as they were.

mod appearance;
mod lexer;
mod pages;
mod position;
pub(crate) mod reader;
mod update;

pub use reader::{Entry, Malformed, Reader};

use appearance::{default_streams, image_streams};
use update::Update;
pub use update::{CONTENTS_BYTES, Handler, SES_SUB_FILTER, Statement};

use lopdf::{Dictionary, Object, ObjectId, Stream, dictionary};
use tongban_core::time::Timestamp;

use crate::image::Planes;
use position::pieces;
pub use position::{Anchor, Anchored, Placement, Position, Riding};

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

    /// Puts the signature (a CMS, or an SES_Signature) into /Contents, after
    /// `original`: the bytes this update was prepared for.
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

/// Checks that `pdf` can be signed at `position` (readable, not encrypted, the page
/// there and the signature within it); returns its number of pages.
pub fn check(pdf: &[u8], position: &Position) -> Result<u32, PdfError> {
    let reader = open(pdf)?;
    position::pieces(&reader, position)?;
    let mut count = 0;
    while reader.page(count + 1).map_err(unreadable)?.is_some() {
        count += 1;
    }
    Ok(count)
}

/// Appends the seal's signature field, its widget (or, for a cross-page seal, one on
/// each page) and their appearances to `pdf`, and reserves room for the signature.
pub fn prepare(
    pdf: &[u8],
    position: &Position,
    statement: &Statement,
    appearance: Appearance<'_>,
    now: Timestamp,
) -> Result<Prepared, PdfError> {
    let reader = open(pdf)?;
    let pieces = pieces(&reader, position)?;
    // The update adds a handful of objects and a few per page; object numbers end at
    // 8 388 607.
    let added = 16 + 3 * pieces.len() as u64;
    if u64::from(reader.next_number()) + added > reader::MAX_OBJECT_NUMBER {
        return Err(PdfError::Unreadable("it has too many objects".into()));
    }
    let (root_id, catalog) = reader.catalog().map_err(unreadable)?;
    let form = acro_form(&reader, &catalog)?;
    let mut fields = reader
        .array(form.1.get(b"Fields").ok())
        .map_err(unreadable)?
        .unwrap_or_default();

    // The appearance: the stamp image (RGB, alpha in an SMask) scaled to the seal.
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
    let (signature_id, placeholders) = update.signature(statement, now);
    let name = Object::string_literal(field_name(&reader, &fields));
    let riding = pieces.len() > 1;
    let field_id = if riding { Some(update.reserve()) } else { None };
    let mut widgets = Vec::new();
    for piece in pieces {
        let [x0, y0, x1, y1] = piece.rect;
        let (width, size, shift) = (x1 - x0, y1 - y0, piece.shift);
        // The seal image at its full size, moved left by the slices before this one:
        // the box shows this widget's slice.
        let appearance = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Form",
                "BBox" => vec![0.into(), 0.into(), width.into(), size.into()],
                "Resources" => dictionary! { "XObject" => dictionary! { "Seal" => image_id } },
            },
            format!("q {size} 0 0 {size} {} 0 cm /Seal Do Q", -shift).into_bytes(),
        );
        let appearance_id = update.add(&Object::Stream(appearance));
        let mut widget = dictionary! {
            "Type" => "Annot",
            "Subtype" => "Widget",
            "Rect" => vec![x0.into(), y0.into(), x1.into(), y1.into()],
            // Print (4) and Locked (128).
            "F" => 132,
            "P" => piece.page_id,
            "AP" => dictionary! { "N" => appearance_id },
        };
        // One widget is the field too. The widgets of a cross-page seal are the field's
        // /Kids without the /Parent that ISO 32000-1 Table 164 asks of them: poppler
        // 22.12 (pdfsig) takes a kid with /Parent for a field of its own and finds no
        // signature in it; later poppler reads both forms.
        if field_id.is_none() {
            widget.set("FT", "Sig");
            widget.set("T", name.clone());
            widget.set("V", signature_id);
        }
        let widget_id = update.add(&Object::Dictionary(widget));
        widgets.push(Object::Reference(widget_id));
        // The page lists the widget among its annotations (an indirect /Annots array
        // is copied into the page).
        let mut page = piece.page;
        let mut annots = reader
            .array(page.get(b"Annots").ok())
            .map_err(unreadable)?
            .unwrap_or_default();
        annots.push(widget_id.into());
        page.set("Annots", annots);
        update.replace(piece.page_id, &Object::Dictionary(page));
    }
    match field_id {
        Some(id) => {
            let field = dictionary! {
                "FT" => "Sig", "T" => name, "V" => signature_id, "Kids" => widgets,
            };
            update.replace(id, &Object::Dictionary(field));
            fields.push(id.into());
        }
        None => fields.extend(widgets),
    }

    // The form lists the field, with /SigFlags 3 (signatures exist, append only).
    let (form_id, mut form) = form;
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
            &placement.into(),
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
