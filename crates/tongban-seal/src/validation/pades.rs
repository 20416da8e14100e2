//! PDF signatures (PAdES, and GB/T 38540 SES_Signatures under /SubFilter
//! /GBT38540.SES): the signature fields, the byte ranges, each revision after a
//! signature (it may only add a signature), and what each signature covers.

use crate::error::SealError;
use crate::pdf::Reader;
use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_store::Store;

use super::cades::verify_cms;
use super::findings::Finding;
use super::revisions::{Revision, only_adds_a_signature, revision_markers};
use super::ses::verify_ses;
use super::{Indication, SignatureReport};

/// The DER value at the start of `bytes` (a /Contents string is padded with zeros).
pub(super) fn der_prefix(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.first() != Some(&0x30) {
        return None;
    }
    let first = *bytes.get(1)?;
    let (header, length) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let mut length = 0usize;
        for i in 0..count {
            length = (length << 8) | usize::from(*bytes.get(2 + i)?);
        }
        (2 + count, length)
    };
    bytes.get(..header.checked_add(length)?)
}

pub(super) struct PdfSignature {
    field: Option<String>,
    /// A GB/T 38540 signature (by its /SubFilter), not a CMS.
    ses: bool,
    range: [usize; 4],
    contents: Vec<u8>,
    claimed: Option<Timestamp>,
    /// The pages its widgets are on.
    pages: Vec<u32>,
    /// A cross-page seal: a widget on each of several pages.
    cross_page: bool,
    /// Where the signature dictionary's object lies in the file (from `obj` to
    /// `endobj`), per the cross-reference table that lopdf followed.
    object_span: Option<(usize, usize)>,
}

/// At most this many signatures are examined in one PDF.
pub const MAX_SIGNATURES: usize = 50;

pub(super) fn pdf_time(object: &lopdf::Object) -> Option<Timestamp> {
    let text = match object {
        lopdf::Object::String(bytes, _) => String::from_utf8_lossy(bytes).into_owned(),
        _ => return None,
    };
    let digits = text.strip_prefix("D:")?;
    let part = |from: usize, len: usize| digits.get(from..from + len)?.parse::<u32>().ok();
    let date = time::Date::from_calendar_date(
        i32::try_from(part(0, 4)?).ok()?,
        time::Month::try_from(u8::try_from(part(4, 2)?).ok()?).ok()?,
        u8::try_from(part(6, 2)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(part(8, 2).unwrap_or(0)).ok()?,
        u8::try_from(part(10, 2).unwrap_or(0)).ok()?,
        u8::try_from(part(12, 2).unwrap_or(0)).ok()?,
    )
    .ok()?;
    Some(Timestamp::from(date.with_time(clock).assume_utc()))
}

/// A signature field: its name, its signature value, the pages of its widgets.
pub(super) struct SignatureField {
    name: Option<String>,
    value: lopdf::ObjectId,
    pages: Vec<lopdf::ObjectId>,
}

/// A page's object, its dictionary but for its annotations (its resources resolved),
/// and its content streams.
type PageState = (lopdf::ObjectId, lopdf::Dictionary, Vec<Vec<u8>>);

/// The signature fields of the document's form (§12.7.3, §12.7.4.5): name and the
/// reference to each one's signature value.
pub(super) fn signature_fields(reader: &Reader<'_>) -> Result<Vec<SignatureField>, String> {
    use lopdf::Object;
    let (_, catalog) = reader.catalog().map_err(|e| e.to_string())?;
    let Ok(form) = catalog.get(b"AcroForm") else {
        return Ok(Vec::new());
    };
    let form = reader.dictionary(form).map_err(|e| e.to_string())?;
    // A form whose /Fields is not an array has no fields to report on.
    let fields = reader
        .array(form.get(b"Fields").ok())
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    // Depth first through /Kids; /FT is inherited from the parent field.
    let mut stack: Vec<(Object, bool)> = fields.into_iter().rev().map(|f| (f, false)).collect();
    let mut visited = std::collections::HashSet::new();
    let mut found = Vec::new();
    let mut budget = 10_000usize;
    while let Some((node, inherited_sig)) = stack.pop() {
        if let Object::Reference(id) = node
            && !visited.insert(id)
        {
            continue;
        }
        // Every node counts, direct ones too: a cycle through an indirect /Kids array
        // of direct dictionaries would otherwise never end.
        budget = budget
            .checked_sub(1)
            .ok_or("the form has more than 10 000 fields")?;
        let Ok(field) = reader.dictionary(&node) else {
            continue;
        };
        let is_sig = match field.get(b"FT") {
            Ok(Object::Name(kind)) => kind == b"Sig",
            _ => inherited_sig,
        };
        if let Ok(kids) = field.get(b"Kids")
            && !matches!(kids, Object::Reference(id) if !visited.insert(*id))
            && let Ok(Object::Array(kids)) = reader.resolve(kids)
        {
            stack.extend(kids.into_iter().rev().map(|k| (k, is_sig)));
        }
        // Our signature values are indirect objects: their place in the file is what
        // ties a ByteRange to them.
        if is_sig && let Ok(Object::Reference(value)) = field.get(b"V") {
            let name = match field.get(b"T") {
                Ok(Object::String(bytes, _)) => Some(String::from_utf8_lossy(bytes).into_owned()),
                _ => None,
            };
            // Its widgets: itself, or its kids (a cross-page seal's, one per page).
            let mut pages = Vec::new();
            let kids = field.get(b"Kids").ok().and_then(|k| reader.resolve(k).ok());
            let widgets = match kids {
                Some(Object::Array(kids)) => kids,
                _ => vec![node.clone()],
            };
            for widget in widgets.iter().take(crate::riding::MAX_PAGES as usize) {
                if let Ok(widget) = reader.dictionary(widget)
                    && let Ok(Object::Reference(page)) = widget.get(b"P")
                {
                    pages.push(*page);
                }
            }
            found.push(SignatureField {
                name,
                value: *value,
                pages,
            });
        }
    }
    Ok(found)
}

/// What a page shows, as far as a cross-page seal vouches for it: its object, its
/// dictionary but for its annotations, and its content streams.
fn page_state(reader: &Reader<'_>, number: u32) -> Option<PageState> {
    let (id, mut page, _) = reader.page(number).ok()??;
    page.remove(b"Annots");
    // An indirect resource dictionary is compared by what it holds; the fonts and
    // images it names, by reference (their redefinition is a later change the
    // revisions check reports).
    if let Ok(resources @ lopdf::Object::Reference(_)) = page.get(b"Resources") {
        let resolved = reader.resolve(resources).ok()?;
        page.set("Resources", resolved);
    }
    let contents = match page.get(b"Contents").ok().map(|c| reader.resolve(c)) {
        Some(Ok(lopdf::Object::Array(parts))) => parts,
        Some(Ok(one)) => vec![one],
        _ => Vec::new(),
    };
    let mut streams = Vec::new();
    for part in contents {
        match part {
            lopdf::Object::Reference(stream) => match reader.get(stream).ok()? {
                lopdf::Object::Stream(stream) => streams.push(stream.content),
                _ => return None,
            },
            lopdf::Object::Stream(stream) => streams.push(stream.content),
            _ => return None,
        }
    }
    Some((id, page, streams))
}

/// The numbers (from 1) of the distinct pages `ids`, in page order; pages not found
/// are left out. One walk of the page tree, as far as a cross-page seal reaches.
fn page_numbers(reader: &Reader<'_>, ids: &[lopdf::ObjectId]) -> Vec<u32> {
    if ids.is_empty() {
        return Vec::new();
    }
    let limit = 10 * crate::riding::MAX_PAGES as usize;
    let order = reader.page_ids(limit).unwrap_or_default();
    let mut numbers: Vec<u32> = ids
        .iter()
        .filter_map(|id| order.iter().position(|page| page == id))
        .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

pub(super) fn pdf_signatures(reader: &Reader<'_>) -> Result<Vec<PdfSignature>, String> {
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for SignatureField {
        name: field,
        value: value_id,
        pages: widget_pages,
    } in signature_fields(reader)?
    {
        if !seen.insert(value_id) {
            continue;
        }
        if seen.len() > MAX_SIGNATURES {
            return Err(format!("more than {MAX_SIGNATURES} signatures"));
        }
        let Ok((lopdf::Object::Dictionary(signature), span)) = reader.get_located(value_id) else {
            continue;
        };
        let range: Vec<usize> = signature
            .get(b"ByteRange")
            .and_then(lopdf::Object::as_array)
            .map_err(|e| e.to_string())?
            .iter()
            .filter_map(|n| n.as_i64().ok().and_then(|n| usize::try_from(n).ok()))
            .collect();
        let [a, b, c, d] = range[..] else {
            return Err("a signature's ByteRange is not four numbers".into());
        };
        let contents = match signature.get(b"Contents") {
            Ok(lopdf::Object::String(bytes, _)) => bytes.clone(),
            _ => return Err("a signature has no /Contents".into()),
        };
        let ses = matches!(signature.get(b"SubFilter"),
            Ok(lopdf::Object::Name(name)) if name == crate::pdf::SES_SUB_FILTER);
        let pages = page_numbers(reader, &widget_pages);
        found.push(PdfSignature {
            field,
            ses,
            range: [a, b, c, d],
            contents,
            claimed: signature.get(b"M").ok().and_then(pdf_time),
            cross_page: pages.len() > 1,
            pages,
            object_span: span.map(|span| (span.start, span.end)),
        });
    }
    found.sort_by_key(|s| s.range[2] + s.range[3]);
    Ok(found)
}

/// Whether `hex` (PDF hex string digits, no whitespace) encodes exactly `bytes`.
pub(super) fn hex_equals(hex: &[u8], bytes: &[u8]) -> bool {
    use crate::pdf::reader::hex_digit;
    hex.len() == 2 * bytes.len()
        && hex.chunks_exact(2).zip(bytes).all(|(pair, byte)| {
            matches!((hex_digit(pair[0]), hex_digit(pair[1])), (Some(h), Some(l)) if (h << 4) | l == *byte)
        })
}

/// A PDF signature after the checks that need the whole file (done off the async
/// workers): its value (a CMS or an SES_Signature) and the digest of what it covers
/// (SHA-256 or SM3), if the ByteRange is sound.
pub(super) struct Examined {
    signature: PdfSignature,
    end: usize,
    cms_and_digest: Option<(Vec<u8>, [u8; 32])>,
}

pub(super) fn examine(pdf: &[u8], reader: &Reader<'_>) -> Result<Vec<Examined>, String> {
    let signatures = pdf_signatures(reader)?;
    Ok(signatures
        .into_iter()
        .map(|signature| {
            let [a, b, c, d] = signature.range;
            // The one gap must be exactly this signature's own /Contents value, inside
            // its own object: otherwise the hashed bytes could be any other part of
            // the file (signature wrapping).
            let sane = a == 0
                && b < c
                && c.checked_add(d).is_some_and(|end| end <= pdf.len())
                && pdf.get(b) == Some(&b'<')
                && pdf.get(c - 1) == Some(&b'>')
                && signature
                    .object_span
                    .is_some_and(|(start, end)| start < b && c <= end)
                && hex_equals(&pdf[b + 1..c - 1], &signature.contents);
            let cms_and_digest = if sane {
                der_prefix(&signature.contents).map(|cms| {
                    let parts = [&pdf[a..b], &pdf[c..c + d]];
                    let digest = match signature.ses {
                        true => {
                            let mut sm3 = tongban_crypto::shangmi::Sm3Hasher::new();
                            parts.iter().for_each(|part| sm3.update(part));
                            sm3.finish()
                        }
                        false => tongban_crypto::cms::sha256_parts(&parts),
                    };
                    (cms.to_vec(), digest)
                })
            } else {
                None
            };
            Examined {
                end: c.saturating_add(d),
                signature,
                cms_and_digest,
            }
        })
        .collect())
}

/// What a PDF's structure says about its signatures, read without any key or store:
/// the signatures with what each covers, the revisions, the file's length, and the
/// pages each cross-page seal vouches for that changed after it.
pub(super) struct Structure {
    examined: Vec<Examined>,
    revisions: Vec<Revision>,
    len: usize,
    changed_pages: Vec<Vec<u32>>,
}

#[cfg(feature = "fuzzing")]
impl Structure {
    /// How many signatures the file has.
    pub(super) fn signature_count(&self) -> usize {
        self.examined.len()
    }
}

/// Reads `pdf`'s structure for verification. CPU work on untrusted bytes: callers
/// run it off the async workers, and the fuzz targets run it on anything.
pub(super) fn structure(pdf: &[u8]) -> Result<Structure, String> {
    let whole = Reader::open(pdf).map_err(|e| e.to_string())?;
    if whole.trailer().has(b"Encrypt") {
        return Err("the PDF is encrypted".into());
    }
    let examined = examine(pdf, &whole)?;
    // Each revision: where its %%EOF ends, where its end-of-line ends, and (for all
    // but the first) whether it only adds a signature. Each revision's
    // cross-reference data is read once; the last one is the whole file's.
    let markers = revision_markers(pdf);
    // Each revision is read: a bound on the work a crafted file can ask for.
    if markers.len() > 2 * MAX_SIGNATURES + 2 {
        return Err(format!("more than {} revisions", 2 * MAX_SIGNATURES + 2));
    }
    let earlier: Vec<Option<Reader<'_>>> = markers[..markers.len().saturating_sub(1)]
        .iter()
        .map(|&end| Reader::open(&pdf[..end]).ok())
        .collect();
    let structure = |i: usize| match earlier.get(i) {
        Some(parsed) => parsed.as_ref(),
        None => Some(&whole),
    };
    let revisions: Vec<Revision> = markers
        .iter()
        .enumerate()
        .map(|(i, &end)| Revision {
            end,
            end_with_eol: end
                + pdf[end..]
                    .iter()
                    .take_while(|b| **b == b'\r' || **b == b'\n')
                    .count(),
            only_adds_a_signature: i > 0
                && match (structure(i - 1), structure(i)) {
                    (Some(before), Some(after)) => only_adds_a_signature(before, after),
                    _ => false,
                },
        })
        .collect();
    // A cross-page seal vouches for its pages: each must be as it was signed.
    let changed_pages: Vec<Vec<u32>> = examined
        .iter()
        .map(|item| {
            let signed = markers
                .iter()
                .position(|&end| end <= item.end && item.end <= end + 2)
                .and_then(structure);
            match signed {
                Some(signed) if item.signature.cross_page => item
                    .signature
                    .pages
                    .iter()
                    .copied()
                    .filter(|&n| page_state(signed, n) != page_state(&whole, n))
                    .collect(),
                _ => Vec::new(),
            }
        })
        .collect();
    Ok(Structure {
        examined,
        revisions,
        len: pdf.len(),
        changed_pages,
    })
}

pub(super) async fn verify_pdf(
    store: &Store,
    pki: &Pki,
    pdf: Vec<u8>,
) -> Result<Vec<SignatureReport>, SealError> {
    // Parsing and hashing a large PDF is CPU work: off the async workers.
    let read = tokio::task::spawn_blocking(move || structure(&pdf))
        .await
        .map_err(|e| SealError::Invalid {
            field: "pdf",
            reason: format!("not a readable PDF: {e}"),
        })?
        .map_err(|reason| SealError::Invalid {
            field: "pdf",
            reason: format!("not a readable PDF: {reason}"),
        })?;
    let Structure {
        examined,
        revisions,
        len,
        changed_pages,
    } = read;
    let mut reports = Vec::new();
    for item in &examined {
        let format = if item.signature.ses { "ses" } else { "pades" };
        let mut report = match &item.cms_and_digest {
            Some((ses, digest)) if item.signature.ses => {
                verify_ses(store, pki, ses, Some(digest)).await?
            }
            Some((cms, digest)) => {
                verify_cms(store, pki, "pades", cms, digest, item.signature.claimed).await?
            }
            None => {
                let mut report = SignatureReport::new(format);
                report.fail(
                    Indication::TotalFailed,
                    "FORMAT_FAILURE",
                    Finding::ByteRange,
                );
                report
            }
        };
        report.field = item.signature.field.clone();
        report.pages = item.signature.pages.clone();
        report.cross_page = item.signature.cross_page;
        for page in &changed_pages[reports.len()] {
            let finding = Finding::PageChanged(*page);
            report.fail(Indication::TotalFailed, "HASH_FAILURE", finding);
            report.integrity = false;
        }
        reports.push(report);
    }
    // Coverage: after each signature, every later revision must only add a signature,
    // and be covered by a later signature that passed.
    let passed_ends: Vec<usize> = examined
        .iter()
        .zip(&reports)
        .filter(|(_, r)| r.indication == Indication::TotalPassed)
        .map(|(e, _)| e.end)
        .collect();
    for (item, report) in examined.iter().zip(reports.iter_mut()) {
        let whole = item.end == len;
        report.covers_whole_document = Some(whole);
        if whole {
            continue;
        }
        let later: Vec<&Revision> = revisions.iter().filter(|r| r.end > item.end).collect();
        let covered = |r: &Revision| {
            passed_ends
                .iter()
                .any(|e| r.end <= *e && *e <= r.end_with_eol)
        };
        let only_signatures = later.last().is_some_and(|last| last.end_with_eol == len)
            && later.iter().all(|r| r.only_adds_a_signature && covered(r));
        report.later_changes_only_signatures = Some(only_signatures);
        report.findings.push(if only_signatures {
            Finding::LaterSignaturesOnly
        } else {
            Finding::LaterChanges
        });
        if !only_signatures && report.indication == Indication::TotalPassed {
            report.indication = Indication::Indeterminate;
            report.sub_indication = Some("POLICY_PROCESSING_ERROR");
        }
    }
    Ok(reports)
}
