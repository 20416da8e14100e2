//! The incremental update a seal is written in (ISO 32000-1 §7.5.6): new and replaced
//! objects after the original bytes, a cross-reference section chained to the
//! original's, and the signature dictionary's placeholders patched once the offsets are
//! known.

use lopdf::{Dictionary, Object, ObjectId, Stream, StringFormat};

use tongban_core::time::Timestamp;

use super::reader::Reader;

/// Bytes reserved for the CMS signature (hex-encoded it takes twice as many).
pub const CONTENTS_BYTES: usize = 16 * 1024;
/// The ByteRange placeholder: four numbers of fixed width, patched after writing.
const BYTE_RANGE_PLACEHOLDER: i64 = 9_999_999_999;

/// The signature handler and encoding a signature dictionary names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Handler {
    /// PAdES: /Adobe.PPKLite with /ETSI.CAdES.detached, a CMS in /Contents.
    #[default]
    Pades,
    /// A GB/T 38540 `SES_Signature` (DER) in /Contents, over the ByteRange's SM3. No
    /// standard names this; ISO 32000-1 §12.8.1 lets a handler other than Adobe's be
    /// named in /Filter, so it is /Tongban.SES with /SubFilter /GBT38540.SES, and PAdES
    /// validators see a signature of a handler they do not have, not a broken CMS.
    Ses {
        /// Bytes reserved for the signature: it holds the whole SESeal, image
        /// included.
        reserve: usize,
    },
}

/// The /SubFilter of a GB/T 38540 signature.
pub const SES_SUB_FILTER: &[u8] = b"GBT38540.SES";

impl Handler {
    fn names(self) -> &'static [u8] {
        match self {
            Self::Pades => b"/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached",
            Self::Ses { .. } => b"/Filter/Tongban.SES/SubFilter/GBT38540.SES",
        }
    }

    fn reserve(self) -> usize {
        match self {
            Self::Pades => CONTENTS_BYTES,
            Self::Ses { reserve } => reserve,
        }
    }
}

/// What the signature dictionary states.
#[derive(Clone, Debug, Default)]
pub struct Statement {
    /// Which handler and encoding.
    pub handler: Handler,
    /// /Name: the seal's name.
    pub name: String,
    /// /Reason: why it was applied.
    pub reason: Option<String>,
    /// /Location.
    pub location: Option<String>,
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

/// Where the signature dictionary's placeholders are in the update.
pub(super) struct Placeholders {
    /// The /ByteRange array.
    byte_range: std::ops::Range<usize>,
    /// The /Contents hex string, angle brackets included.
    contents: std::ops::Range<usize>,
}

/// An incremental update (ISO 32000-1 §7.5.6) being written: new and replaced objects
/// after the original bytes, then a cross-reference section of the same kind as the
/// original's newest one, chained to it by /Prev.
pub(super) struct Update {
    /// The original's length: offsets in the update count from there.
    base: usize,
    bytes: Vec<u8>,
    /// (object id, offset in the whole file).
    written: Vec<(ObjectId, usize)>,
    next_number: u32,
}

impl Update {
    pub(super) fn after(original: &[u8], next_number: u32) -> Self {
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

    pub(super) fn write(&mut self, object: &Object) {
        // Writing into a Vec cannot fail.
        let _ = lopdf::Writer::write_object(&mut self.bytes, object);
    }

    fn new_id(&mut self) -> ObjectId {
        let id = (self.next_number, 0);
        self.next_number += 1;
        id
    }

    /// An object number for an object written later with [`Update::replace`] (one
    /// that objects written before it refer to).
    pub(super) fn reserve(&mut self) -> ObjectId {
        self.new_id()
    }

    /// Writes `object` as a new object.
    pub(super) fn add(&mut self, object: &Object) -> ObjectId {
        let id = self.new_id();
        self.replace(id, object);
        id
    }

    /// Writes `object` under `id`, replacing what the original had there.
    pub(super) fn replace(&mut self, id: ObjectId, object: &Object) {
        self.begin(id);
        self.write(object);
        self.end();
    }

    /// Writes the signature dictionary with room for the signature, placeholders
    /// that [`Update::finish`] and [`Prepared::finish`] fill in.
    pub(super) fn signature(
        &mut self,
        statement: &Statement,
        now: Timestamp,
    ) -> (ObjectId, Placeholders) {
        let id = self.new_id();
        self.begin(id);
        self.bytes.extend_from_slice(b"<</Type/Sig");
        self.bytes.extend_from_slice(statement.handler.names());
        self.bytes.extend_from_slice(b"/ByteRange ");
        let at = self.bytes.len();
        self.bytes
            .extend_from_slice(format!("[0 {p} {p} {p}]", p = BYTE_RANGE_PLACEHOLDER).as_bytes());
        let byte_range = at..self.bytes.len();
        self.bytes.extend_from_slice(b"/Contents ");
        let at = self.bytes.len();
        self.bytes.push(b'<');
        self.bytes
            .resize(self.bytes.len() + 2 * statement.handler.reserve(), b'0');
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
    pub(super) fn finish(
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
