//! The revisions after a signature in a PDF: where each incremental update ends, and
//! whether it only adds a signature (new objects under new numbers, the form and pages
//! only growing by a signature field), which is all a later revision may do.

use crate::pdf::{Entry, Reader};

/// Where each revision of the file ends: just past each `%%EOF`.
pub(super) fn revision_markers(pdf: &[u8]) -> Vec<usize> {
    memchr::memmem::find_iter(pdf, b"%%EOF")
        .map(|i| i + 5)
        .collect()
}

/// One revision of a PDF.
pub(super) struct Revision {
    /// Just past its `%%EOF`.
    pub(super) end: usize,
    /// Past the end-of-line characters after it.
    pub(super) end_with_eol: usize,
    /// Whether it only adds a signature to the revision before.
    pub(super) only_adds_a_signature: bool,
}

/// Whether the revision `after` (a prefix of the file, read up to a `%%EOF`) only adds
/// a signature to `before`: new signature dictionaries, widgets, their appearances and images;
/// the catalog changed only in /AcroForm, pages only in /Annots, the form only in
/// /Fields and /SigFlags. Anything else (page contents, resources, other objects)
/// is a change the earlier signatures did not cover.
pub(super) fn only_adds_a_signature(before: &Reader<'_>, after: &Reader<'_>) -> bool {
    use lopdf::Object;
    let name = |dict: &lopdf::Dictionary, key: &[u8]| {
        dict.get(key)
            .and_then(Object::as_name)
            .ok()
            .map(<[u8]>::to_vec)
    };
    let same_but = |old: &lopdf::Dictionary, new: &lopdf::Dictionary, allowed: &[&[u8]]| {
        let keys: std::collections::BTreeSet<&[u8]> = old
            .iter()
            .chain(new.iter())
            .map(|(k, _)| k.as_slice())
            .filter(|k| !allowed.contains(k))
            .collect();
        keys.into_iter().all(|k| old.get(k).ok() == new.get(k).ok())
    };
    let first_new = before.next_number();
    // What /Annots and /Fields may gain: signature fields (merged with their widgets)
    // made in this revision, not objects the document already had.
    let is_widget = |dict: &lopdf::Dictionary| name(dict, b"Subtype").as_deref() == Some(b"Widget");
    let is_sig = |dict: &lopdf::Dictionary| name(dict, b"FT").as_deref() == Some(b"Sig");
    // A cross-page seal's field has no annotation of its own: its /Kids are a widget on
    // each page, new, without /FT (and without /Parent, which poppler 22.12 needs).
    let slice_widget = |kid: &Object| match kid {
        Object::Reference(id) if id.0 >= first_new => after
            .dictionary(kid)
            .is_ok_and(|w| is_widget(&w) && !w.has(b"FT") && !w.has(b"Kids")),
        _ => false,
    };
    let riding_field = |dict: &lopdf::Dictionary| {
        is_sig(dict)
            && !dict.has(b"Subtype")
            && matches!(dict.get(b"Kids"), Ok(Object::Array(kids))
                if !kids.is_empty() && kids.iter().all(slice_widget))
    };
    let kids_of_new_fields: std::collections::HashSet<lopdf::ObjectId> = after
        .newest()
        .entries
        .iter()
        .filter(|(number, _)| *number >= first_new)
        .filter_map(|(number, _)| after.get((*number, after.generation(*number))).ok())
        .filter_map(|object| match object {
            Object::Dictionary(field) if riding_field(&field) => match field.get(b"Kids") {
                Ok(Object::Array(kids)) => Some(kids.clone()),
                _ => None,
            },
            _ => None,
        })
        .flatten()
        .filter_map(|kid| kid.as_reference().ok())
        .collect();
    // What may join the form's /Fields: a new signature field (a widget that is the
    // field too, or a cross-page seal's field). What may join a page's /Annots: a new
    // widget of one.
    let new_field = |entry: &Object| match entry {
        Object::Reference(id) if id.0 >= first_new => after
            .dictionary(entry)
            .is_ok_and(|d| (is_sig(&d) && is_widget(&d)) || riding_field(&d)),
        _ => false,
    };
    let new_widget = |entry: &Object| match entry {
        Object::Reference(id) if id.0 >= first_new => after.dictionary(entry).is_ok_and(|d| {
            (is_sig(&d) && is_widget(&d))
                || (is_widget(&d) && !d.has(b"FT") && kids_of_new_fields.contains(id))
        }),
        _ => false,
    };
    let grows = |old: Option<&Object>, new: Option<&Object>, added: &dyn Fn(&Object) -> bool| match (
        before.array(old),
        after.array(new),
    ) {
        (Ok(Some(old)), Ok(Some(new))) => {
            new.starts_with(&old) && new[old.len()..].iter().all(added)
        }
        _ => false,
    };
    // The interactive form may change only in its /Fields (which grow) and /SigFlags.
    let form_grows = |old: &lopdf::Dictionary, new: &lopdf::Dictionary| {
        same_but(old, new, &[b"Fields", b"SigFlags"])
            && grows(old.get(b"Fields").ok(), new.get(b"Fields").ok(), &new_field)
    };
    let form_of = |reader: &Reader<'_>, catalog: &lopdf::Dictionary| match catalog.get(b"AcroForm")
    {
        Err(_) => Some(lopdf::Dictionary::new()),
        Ok(form) => reader.dictionary(form).ok(),
    };
    // The revision is exactly one cross-reference section on top of the one before:
    // a section hidden between them would otherwise go unexamined.
    if after.section_count() != before.section_count() + 1
        || after.trailer().get(b"Prev").ok() != Some(&Object::Integer(before.start() as i64))
    {
        return false;
    }
    let new_form_number = after
        .catalog()
        .ok()
        .and_then(|(_, catalog)| catalog.get(b"AcroForm").ok()?.as_reference().ok())
        .map(|id| id.0);
    // Every object the revision's section lists, against what the revision before had
    // under that number: a section may also list objects it did not change, or point
    // back at an older definition, which is a change like any other.
    after.newest().entries.iter().all(|(number, entry)| {
        if *number == 0 {
            // The head of the free list.
            return true;
        }
        let new = match entry {
            Entry::Free => Object::Null,
            _ => match after.get((*number, after.generation(*number))) {
                Ok(new) => new,
                Err(_) => return false,
            },
        };
        let old = match before.get((*number, before.generation(*number))) {
            Ok(Object::Null) => None,
            Ok(old) => Some(old),
            Err(_) => return false,
        };
        // A new generation makes every reference to the old object dangle; a number
        // below the old /Size may already be referred to (a dangling reference the
        // original carried would start to draw).
        if old.is_some() && after.generation(*number) != before.generation(*number) {
            return false;
        }
        if old.is_none() && *number < first_new && new != Object::Null {
            return false;
        }
        match (old, new) {
            // Cross-reference and object streams carry the update itself: new ones only.
            (None, Object::Stream(stream))
                if matches!(
                    name(&stream.dict, b"Type").as_deref(),
                    Some(b"XRef" | b"ObjStm")
                ) =>
            {
                true
            }
            (None, Object::Stream(stream)) => {
                matches!(
                    name(&stream.dict, b"Subtype").as_deref(),
                    Some(b"Image" | b"Form")
                )
            }
            (None, Object::Dictionary(dict)) => {
                matches!(
                    name(&dict, b"Type").as_deref(),
                    Some(b"Sig" | b"DocTimeStamp")
                ) || new_field(&Object::Reference((*number, after.generation(*number))))
                    || new_widget(&Object::Reference((*number, after.generation(*number))))
                    // A new interactive form: the catalog's own, with fields only.
                    || (new_form_number == Some(*number)
                        && form_grows(&lopdf::Dictionary::new(), &dict))
            }
            (None, Object::Array(_) | Object::Null) => true,
            (Some(old), new) if old == new => true,
            (Some(Object::Dictionary(old)), Object::Dictionary(new)) => {
                match name(&new, b"Type").as_deref() {
                    Some(b"Catalog") => {
                        same_but(&old, &new, &[b"AcroForm", b"Perms", b"DSS"])
                            && match (form_of(before, &old), form_of(after, &new)) {
                                (Some(old_form), Some(new_form)) => {
                                    form_grows(&old_form, &new_form)
                                }
                                _ => false,
                            }
                    }
                    Some(b"Page") => {
                        same_but(&old, &new, &[b"Annots"])
                            && grows(
                                old.get(b"Annots").ok(),
                                new.get(b"Annots").ok(),
                                &new_widget,
                            )
                    }
                    _ if new_form_number == Some(*number) => form_grows(&old, &new),
                    _ => false,
                }
            }
            // An indirect /Annots or /Fields array may only grow.
            // An indirect /Fields or /Annots array.
            (Some(old @ Object::Array(_)), new @ Object::Array(_)) => {
                let either = |entry: &Object| new_field(entry) || new_widget(entry);
                grows(Some(&old), Some(&new), &either)
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::tests::{sample, seal};

    /// `pdf` followed by a hand-written update of `objects` (number, generation, body)
    /// whose trailer names `prev`, `size` and the sample's catalog (5 0 R) as /Root.
    fn append(pdf: &[u8], prev: usize, size: u32, objects: &[(u32, u16, &str)]) -> Vec<u8> {
        let mut out = pdf.to_vec();
        out.push(b'\n');
        let mut rows = Vec::new();
        for (number, generation, body) in objects {
            rows.push((*number, *generation, out.len()));
            out.extend_from_slice(
                format!("{number} {generation} obj\n{body}\nendobj\n").as_bytes(),
            );
        }
        let xref = out.len();
        out.extend_from_slice(b"xref\n");
        for (number, generation, at) in rows {
            out.extend_from_slice(format!("{number} 1\n{at:010} {generation:05} n\r\n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {size} /Root 5 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
            )
            .as_bytes(),
        );
        out
    }

    /// `pdf` with an update of `objects`.
    fn updated(pdf: &[u8], objects: &[(u32, u16, &str)]) -> Vec<u8> {
        let reader = Reader::open(pdf).unwrap_or_else(|e| panic!("{e}"));
        let size = objects
            .iter()
            .map(|(n, _, _)| n + 1)
            .fold(reader.next_number(), u32::max);
        append(pdf, reader.start(), size, objects)
    }

    fn only_adds(before: &[u8], after: &[u8]) -> bool {
        let before = Reader::open(before).unwrap_or_else(|e| panic!("{e}"));
        let after = Reader::open(after).unwrap_or_else(|e| panic!("{e}"));
        only_adds_a_signature(&before, &after)
    }

    /// The sample's page with these /Annots.
    fn page(annots: &str) -> String {
        format!(
            "<< /Type /Page /Parent 1 0 R /Contents 2 0 R \
             /Resources << /XObject << /Big 3 0 R >> >> /Annots [{annots}] >>"
        )
    }

    #[test]
    fn a_seal_only_adds_a_signature_and_other_changes_do_not() {
        let base = sample(1, 100, false);
        let once = seal(&base).unwrap_or_else(|e| panic!("{e}"));
        assert!(only_adds(&base, &once));
        // Page contents replaced.
        let changed = updated(
            &base,
            &[(2, 0, "<< /Length 9 >>\nstream\nBT (x) ET\nendstream")],
        );
        assert!(!only_adds(&base, &changed));
        // The same catalog under a new generation: every 5 0 R would dangle.
        let regenerated = updated(&base, &[(5, 1, "<< /Type /Catalog /Pages 1 0 R >>")]);
        assert!(!only_adds(&base, &regenerated));
        // The seal's widget dropped from the page again; kept, the page is unchanged.
        let reader = Reader::open(&once).unwrap();
        let (_, sealed_page, _) = reader.page(1).unwrap().unwrap();
        let widget = sealed_page.get(b"Annots").unwrap().as_array().unwrap()[0]
            .as_reference()
            .unwrap();
        let kept = page(&format!("{} {} R", widget.0, widget.1));
        assert!(only_adds(&once, &updated(&once, &[(4, 0, &kept)])));
        assert!(!only_adds(&once, &updated(&once, &[(4, 0, &page(""))])));
        // An object the document already had, added to the page's annotations.
        let moved = page(&format!("{} {} R 3 0 R", widget.0, widget.1));
        assert!(!only_adds(&once, &updated(&once, &[(4, 0, &moved)])));
        // A replaced object dressed as an object stream.
        let disguised = updated(
            &base,
            &[(
                2,
                0,
                "<< /Type /ObjStm /N 0 /First 0 /Length 9 >>\nstream\nBT (x) ET\nendstream",
            )],
        );
        assert!(!only_adds(&base, &disguised));
    }

    #[test]
    fn a_cross_page_seal_only_adds_a_signature_and_dressed_up_annotations_do_not() {
        let base = sample(3, 100, false);
        let riding = crate::pdf::Position::Riding(crate::pdf::Riding {
            pages: None,
            edge: crate::riding::Edge::Right,
            y: None,
            size: 90.0,
        });
        let stamp = crate::pdf::Appearance::Stamp {
            department: "国家市场监督管理总局",
            seal: "电子证照专用章",
        };
        let statement = crate::pdf::Statement::default();
        let now = tongban_core::time::Timestamp::now();
        let prepared = crate::pdf::prepare(&base, &riding, &statement, stamp, now)
            .unwrap_or_else(|e| panic!("{e}"));
        let sealed = prepared
            .finish(base.clone(), b"cms")
            .unwrap_or_else(|e| panic!("{e}"))
            .to_vec();
        assert!(only_adds(&base, &sealed));
        // Other annotations carrying /FT /Sig and /Kids are not signatures: a free text,
        // and a link whose kid is a widget.
        let base = sample(1, 100, false);
        let free_text = updated(
            &base,
            &[
                (
                    6,
                    0,
                    "<< /Type /Annot /Subtype /FreeText /FT /Sig /Kids [] /Rect [0 0 9 9] >>",
                ),
                (4, 0, &page("6 0 R")),
            ],
        );
        assert!(!only_adds(&base, &free_text));
        let link = updated(
            &base,
            &[
                (6, 0, "<< /Type /Annot /Subtype /Widget /Rect [0 0 9 9] >>"),
                (
                    7,
                    0,
                    "<< /Type /Annot /Subtype /Link /FT /Sig /Kids [6 0 R] /Rect [0 0 9 9] >>",
                ),
                (4, 0, &page("7 0 R")),
            ],
        );
        assert!(!only_adds(&base, &link));
    }

    #[test]
    fn new_objects_take_new_numbers() {
        let base = sample(1, 100, false);
        let mid = updated(&base, &[(7, 0, "<< /Type /Sig >>")]);
        // Number 6 was never used, but lies below the /Size before: a reference to it
        // could already be waiting in the document.
        assert!(!only_adds(
            &mid,
            &updated(&mid, &[(6, 0, "<< /Type /Sig >>")])
        ));
        assert!(only_adds(
            &mid,
            &updated(&mid, &[(8, 0, "<< /Type /Sig >>")])
        ));
    }

    #[test]
    fn a_section_hidden_between_two_revisions_is_not_overlooked() {
        let base = sample(1, 100, false);
        // Changed contents in a section with no %%EOF of its own, then an update that
        // only adds a signature dictionary, chained to the hidden section.
        let evil = updated(
            &base,
            &[(2, 0, "<< /Length 9 >>\nstream\nBT (x) ET\nendstream")],
        );
        let hidden_start = Reader::open(&evil).unwrap().start();
        let hidden = &evil[..evil.len() - b"%%EOF\n".len()];
        let after = append(hidden, hidden_start, 9, &[(8, 0, "<< /Type /Sig >>")]);
        assert!(!only_adds(&base, &after));
    }
}
