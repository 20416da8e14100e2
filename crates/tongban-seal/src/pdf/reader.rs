//! A PDF read where it lies (ISO 32000-1 §7.3, §7.5): the cross-reference sections from
//! the last `startxref` back along /Prev, then each object only when asked for, parsed
//! at its offset. Stream data is never copied, but for object and cross-reference
//! streams, which are decompressed within a bound. Sealing and validation read a few
//! dictionaries of documents that may be 100 MB of page images; a parser that loads
//! every object first would copy all of them.
//!
//! Nothing is repaired: a cross-reference table that points at the wrong bytes makes
//! the document unreadable, since an incremental update must chain to the table the
//! document has.
//!
//! The tokens and direct objects are read by [`super::lexer`], the catalog and page
//! tree by [`super::pages`]; this file holds what reads the file's structure: both
//! kinds of cross-reference section, object streams and indirect objects, which read
//! each other's state (one grammar, kept together).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::rc::Rc;

use lopdf::{Dictionary, Object, ObjectId, Stream};

use super::lexer::{Lexer, ends_stream, is_space, malformed};
pub use super::lexer::{Malformed, hex_digit};

/// Largest object or cross-reference stream accepted once decompressed: a bound on
/// "decompression bombs" in documents anyone may upload to verification.
const MAX_STRUCTURE_STREAM_BYTES: usize = 32 * 1024 * 1024;
/// Cross-reference sections followed at most (one per revision).
const MAX_SECTIONS: usize = 4_096;
/// ISO 32000-1 Annex C: the largest object number.
pub(crate) const MAX_OBJECT_NUMBER: u64 = 8_388_607;
/// References followed at most while reading one object (a /Length, an object stream).
const MAX_INDIRECTION: usize = 8;

/// Where an object is, per the cross-reference data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// At this byte offset, with this generation number.
    At {
        /// Offset of `N G obj`.
        offset: usize,
        /// Generation number.
        generation: u16,
    },
    /// The `index`-th object of the object stream numbered `stream`.
    InStream {
        /// The object stream's object number.
        stream: u32,
        /// Position within it.
        index: u32,
    },
    /// Free: the object does not exist (any more).
    Free,
}

/// One cross-reference section: what one revision defined.
#[derive(Debug)]
pub struct Section {
    /// Offset of its `xref` keyword or cross-reference stream.
    pub start: usize,
    /// Whether it is a cross-reference stream (PDF 1.5).
    pub is_stream: bool,
    /// Its entries, in the order written.
    pub entries: Vec<(u32, Entry)>,
}

/// A decompressed object stream: its data and where each member starts.
struct ObjectStream {
    data: Vec<u8>,
    /// (object number, offset in `data`).
    members: Vec<(u32, usize)>,
}

/// A PDF's cross-reference data, with objects read on demand.
pub struct Reader<'a> {
    pdf: &'a [u8],
    /// The newest trailer (of a cross-reference stream: its dictionary).
    trailer: Dictionary,
    /// The newest `startxref` offset.
    start: usize,
    /// Every object's newest entry.
    table: HashMap<u32, Entry>,
    /// Newest first.
    sections: Vec<Section>,
    object_streams: RefCell<HashMap<u32, Rc<ObjectStream>>>,
}

impl<'a> Reader<'a> {
    /// Reads the cross-reference data of `pdf`, which must be a whole PDF (header,
    /// `startxref` and `%%EOF` at its end).
    pub fn open(pdf: &'a [u8]) -> Result<Self, Malformed> {
        if !pdf.starts_with(b"%PDF-") {
            return malformed("it does not start with %PDF-");
        }
        let tail_from = pdf.len().saturating_sub(1024);
        let tail = &pdf[tail_from..];
        if memchr::memmem::rfind(tail, b"%%EOF").is_none() {
            return malformed("no %%EOF at its end (truncated?)");
        }
        let Some(at) = memchr::memmem::rfind(tail, b"startxref") else {
            return malformed("no startxref at its end");
        };
        let mut lexer = Lexer::new(pdf, tail_from + at + b"startxref".len());
        let start = lexer.offset()?;
        // The last startxref must be the one the file ends with (white space only
        // between: `%%EOF` would read as a comment).
        let after = &pdf[lexer.pos.min(pdf.len())..];
        let eof_at = after
            .iter()
            .position(|b| !is_space(*b))
            .unwrap_or(after.len());
        if !after[eof_at..].starts_with(b"%%EOF") {
            return malformed("its last startxref is not followed by %%EOF");
        }
        let mut reader = Self {
            pdf,
            trailer: Dictionary::new(),
            start,
            table: HashMap::new(),
            sections: Vec::new(),
            object_streams: RefCell::new(HashMap::new()),
        };
        let mut next = Some(start);
        let mut seen = HashSet::new();
        while let Some(offset) = next {
            if !seen.insert(offset) || reader.sections.len() >= MAX_SECTIONS {
                return malformed("its cross-reference sections form a loop");
            }
            let (mut section, trailer) = reader.section_at(offset)?;
            // A hybrid file's table names its compressed objects in a stream beside it
            // (§7.5.8.4), searched after the table and before /Prev. Such objects are
            // marked free for readers of tables only: a free entry does not hide them.
            if !section.is_stream
                && let Ok(Object::Integer(stream_at)) = trailer.get(b"XRefStm")
            {
                let stream_at =
                    usize::try_from(*stream_at).or_else(|_| malformed("a negative /XRefStm"))?;
                let (extra, _) = reader.section_at(stream_at)?;
                let listed: HashMap<u32, usize> = section
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(i, (number, _))| (*number, i))
                    .collect();
                for (number, entry) in extra.entries {
                    match listed.get(&number) {
                        Some(&i) if section.entries[i].1 == Entry::Free => {
                            section.entries[i].1 = entry;
                        }
                        Some(_) => {}
                        None => section.entries.push((number, entry)),
                    }
                }
            }
            for (number, entry) in &section.entries {
                reader.table.entry(*number).or_insert(*entry);
            }
            next = match trailer.get(b"Prev") {
                Ok(Object::Integer(prev)) => {
                    Some(usize::try_from(*prev).or_else(|_| malformed("a negative /Prev"))?)
                }
                _ => None,
            };
            if reader.sections.is_empty() {
                reader.trailer = trailer;
            }
            reader.sections.push(section);
        }
        Ok(reader)
    }

    /// The newest trailer.
    pub fn trailer(&self) -> &Dictionary {
        &self.trailer
    }

    /// Offset of the newest cross-reference section (what an update's /Prev names).
    pub fn start(&self) -> usize {
        self.start
    }

    /// How many cross-reference sections the chain from the newest has.
    pub fn section_count(&self) -> usize {
        self.sections.len()
    }

    /// The newest cross-reference section: what the last revision defined.
    pub fn newest(&self) -> &Section {
        // `open` reads at least one section or fails.
        &self.sections[0]
    }

    /// One more than the largest object number in use: where new objects start.
    pub fn next_number(&self) -> u32 {
        let declared = match self.trailer.get(b"Size") {
            Ok(Object::Integer(size)) => u32::try_from(*size).unwrap_or(0),
            _ => 0,
        };
        let used = self.table.keys().max().map_or(0, |n| n + 1);
        declared.max(used).max(1)
    }

    /// The newest entry for object `number`.
    pub fn entry(&self, number: u32) -> Option<Entry> {
        self.table.get(&number).copied()
    }

    /// The generation number `number` has, 0 for compressed or unknown objects.
    pub fn generation(&self, number: u32) -> u16 {
        match self.entry(number) {
            Some(Entry::At { generation, .. }) => generation,
            _ => 0,
        }
    }

    /// Object `id`: `Null` if it does not exist (§7.3.10). Streams come without their
    /// data.
    pub fn get(&self, id: ObjectId) -> Result<Object, Malformed> {
        self.get_nested(id, 0)
    }

    /// `object` itself, or what it refers to.
    pub fn resolve(&self, object: &Object) -> Result<Object, Malformed> {
        match object {
            Object::Reference(id) => self.get(*id),
            other => Ok(other.clone()),
        }
    }

    /// The dictionary `object` is or refers to.
    pub fn dictionary(&self, object: &Object) -> Result<Dictionary, Malformed> {
        match self.resolve(object)? {
            Object::Dictionary(dict) => Ok(dict),
            Object::Stream(stream) => Ok(stream.dict),
            _ => malformed("a dictionary was expected"),
        }
    }

    /// The array an optional entry (/Annots, /Fields) is or refers to: absent, an
    /// empty one; anything but an array, none.
    pub fn array(&self, value: Option<&Object>) -> Result<Option<Vec<Object>>, Malformed> {
        match value.map(|value| self.resolve(value)).transpose()? {
            None => Ok(Some(Vec::new())),
            Some(Object::Array(items)) => Ok(Some(items)),
            Some(_) => Ok(None),
        }
    }

    /// Object `id` and, unless it is compressed, where it lies in the file (from
    /// `N G obj` to past `endobj`).
    pub fn get_located(&self, id: ObjectId) -> Result<(Object, Option<Range<usize>>), Malformed> {
        match self.entry(id.0) {
            Some(Entry::At { offset, generation }) if generation == id.1 => {
                let read = self.read_at(offset, Some(id), 0)?;
                Ok((read.object, Some(offset..read.end)))
            }
            _ => Ok((self.get(id)?, None)),
        }
    }

    fn get_nested(&self, id: ObjectId, depth: usize) -> Result<Object, Malformed> {
        if depth > MAX_INDIRECTION {
            return malformed("references nest too deep");
        }
        let (number, generation) = id;
        match self.entry(number) {
            None | Some(Entry::Free) => Ok(Object::Null),
            Some(Entry::At {
                offset,
                generation: current,
            }) => {
                if current != generation {
                    return Ok(Object::Null);
                }
                Ok(self.read_at(offset, Some(id), depth)?.object)
            }
            Some(Entry::InStream { stream, index }) => {
                let stream = self.object_stream(stream, depth)?;
                let at = match stream.members.get(index as usize) {
                    Some((n, at)) if *n == number => *at,
                    // The index is a hint; the header says which object is where.
                    _ => match stream.members.iter().find(|(n, _)| *n == number) {
                        Some((_, at)) => *at,
                        None => return Ok(Object::Null),
                    },
                };
                let mut lexer = Lexer::new(&stream.data, at);
                lexer.object(0)
            }
        }
    }

    fn object_stream(&self, number: u32, depth: usize) -> Result<Rc<ObjectStream>, Malformed> {
        if let Some(stream) = self.object_streams.borrow().get(&number) {
            return Ok(stream.clone());
        }
        let Some(Entry::At { offset, generation }) = self.entry(number) else {
            return malformed(format!("object stream {number} is missing"));
        };
        let read = self.read_at(offset, Some((number, generation)), depth + 1)?;
        let (Object::Stream(stream), Some(data)) = (read.object, read.data) else {
            return malformed(format!("object {number} is not an object stream"));
        };
        let count = integer(&stream.dict, b"N")?;
        let first = integer(&stream.dict, b"First")?;
        let data = decode(stream.dict, &self.pdf[data])?;
        let mut header = Lexer::new(&data, 0);
        let mut members = Vec::new();
        for _ in 0..count.min(data.len()) {
            let member = header.integer_below(MAX_OBJECT_NUMBER + 1)?;
            let at = first.saturating_add(header.offset()?);
            members.push((u32::try_from(member).unwrap_or(u32::MAX), at));
        }
        let stream = Rc::new(ObjectStream { data, members });
        self.object_streams
            .borrow_mut()
            .insert(number, stream.clone());
        Ok(stream)
    }

    /// The cross-reference section at `offset` and its trailer.
    fn section_at(&self, offset: usize) -> Result<(Section, Dictionary), Malformed> {
        let mut lexer = Lexer::new(self.pdf, offset);
        lexer.skip_space();
        if lexer.keyword(b"xref") {
            return self.table_at(lexer, offset);
        }
        let read = self
            .read_at(offset, None, 0)
            .or_else(|_| malformed("its cross-reference table is broken"))?;
        let (Object::Stream(stream), Some(data)) = (read.object, read.data) else {
            return malformed("its cross-reference table is broken");
        };
        if stream.dict.get(b"Type").and_then(Object::as_name).ok() != Some(b"XRef".as_slice()) {
            return malformed("its cross-reference table is broken");
        }
        let trailer = stream.dict.clone();
        let widths: Vec<usize> = match trailer.get(b"W") {
            Ok(Object::Array(w)) => w
                .iter()
                .map(|w| match w {
                    Object::Integer(w @ 0..=8) => Ok(*w as usize),
                    _ => malformed("a cross-reference stream's /W is invalid"),
                })
                .collect::<Result<_, _>>()?,
            _ => return malformed("a cross-reference stream has no /W"),
        };
        let [w0, w1, w2] = widths[..] else {
            return malformed("a cross-reference stream's /W is not three numbers");
        };
        let size = integer(&trailer, b"Size")?;
        let ranges: Vec<(usize, usize)> = match trailer.get(b"Index") {
            Ok(Object::Array(index)) => index
                .chunks(2)
                .map(|pair| match pair {
                    [Object::Integer(first), Object::Integer(count)] => Ok((
                        usize::try_from(*first).or_else(|_| malformed("a negative /Index"))?,
                        usize::try_from(*count).or_else(|_| malformed("a negative /Index"))?,
                    )),
                    _ => malformed("a cross-reference stream's /Index is invalid"),
                })
                .collect::<Result<_, _>>()?,
            _ => vec![(0, size)],
        };
        let data = decode(stream.dict, &self.pdf[data])?;
        let row = w0 + w1 + w2;
        if row == 0 {
            return malformed("a cross-reference stream's rows are empty");
        }
        let listed = ranges
            .iter()
            .try_fold(0usize, |sum, (_, count)| sum.checked_add(*count));
        if listed.is_none_or(|n| n as u64 > MAX_OBJECT_NUMBER + 1) {
            return malformed("a cross-reference stream lists too many objects");
        }
        let mut rows = data.chunks_exact(row);
        let mut entries = Vec::new();
        for (first, count) in ranges {
            for number in first..first.saturating_add(count) {
                let Some(row) = rows.next() else {
                    return malformed("a cross-reference stream is shorter than its /Index");
                };
                let field = |from: usize, width: usize| {
                    row[from..from + width]
                        .iter()
                        .fold(0u64, |n, b| (n << 8) | u64::from(*b))
                };
                // A missing type field means type 1 (§7.5.8.2).
                let kind = if w0 == 0 { 1 } else { field(0, w0) };
                let (second, third) = (field(w0, w1), field(w0 + w1, w2));
                let entry = match kind {
                    0 => Entry::Free,
                    1 => Entry::At {
                        offset: usize::try_from(second).unwrap_or(usize::MAX),
                        generation: u16::try_from(third).unwrap_or(u16::MAX),
                    },
                    2 => Entry::InStream {
                        stream: u32::try_from(second).unwrap_or(u32::MAX),
                        index: u32::try_from(third).unwrap_or(u32::MAX),
                    },
                    // Other types are references to the null object.
                    _ => Entry::Free,
                };
                entries.push((object_number(number)?, entry));
            }
        }
        Ok((
            Section {
                start: offset,
                is_stream: true,
                entries,
            },
            trailer,
        ))
    }

    /// A classic `xref` table (the keyword read) and the trailer after it.
    fn table_at(
        &self,
        mut lexer: Lexer<'a>,
        offset: usize,
    ) -> Result<(Section, Dictionary), Malformed> {
        let mut entries = Vec::new();
        loop {
            lexer.skip_space();
            if lexer.keyword(b"trailer") {
                break;
            }
            let first = lexer.integer_below(MAX_OBJECT_NUMBER + 1)?;
            let count = lexer.integer_below(MAX_OBJECT_NUMBER + 2 - first as u64)?;
            for number in first..first + count {
                let at = lexer.offset()?;
                let generation = lexer.integer_below(65_536)?;
                lexer.skip_space();
                let entry = match lexer.next_byte() {
                    Some(b'n') => Entry::At {
                        offset: at,
                        generation: u16::try_from(generation).unwrap_or(u16::MAX),
                    },
                    Some(b'f') => Entry::Free,
                    _ => return malformed("its cross-reference table is broken"),
                };
                entries.push((object_number(number)?, entry));
            }
            if entries.len() as u64 > MAX_OBJECT_NUMBER {
                return malformed("a cross-reference section lists too many objects");
            }
        }
        let Object::Dictionary(trailer) = lexer.object(0)? else {
            return malformed("its trailer is not a dictionary");
        };
        Ok((
            Section {
                start: offset,
                is_stream: false,
                entries,
            },
            trailer,
        ))
    }

    /// The indirect object at `offset`, which must be `expected` if given.
    fn read_at(
        &self,
        offset: usize,
        expected: Option<ObjectId>,
        depth: usize,
    ) -> Result<Read, Malformed> {
        let bytes = self.pdf;
        let mut lexer = Lexer::new(bytes, offset);
        let number = lexer.integer_below(MAX_OBJECT_NUMBER + 1)?;
        let generation = lexer.integer_below(65_536)?;
        lexer.skip_space();
        if !lexer.keyword(b"obj") {
            return malformed(format!("no object at offset {offset}"));
        }
        let id = (
            object_number(number)?,
            u16::try_from(generation).unwrap_or(u16::MAX),
        );
        if let Some(expected) = expected
            && expected != id
        {
            return malformed(format!(
                "the cross-reference table points at object {} for object {}",
                id.0, expected.0
            ));
        }
        let mut object = lexer.object(0)?;
        lexer.skip_space();
        let mut data = None;
        if let Object::Dictionary(dict) = &object
            && lexer.keyword(b"stream")
        {
            // The keyword ends with CRLF or LF (§7.3.8.1); a lone CR is tolerated.
            if lexer.peek() == Some(b'\r') {
                lexer.pos += 1;
            }
            if lexer.peek() == Some(b'\n') {
                lexer.pos += 1;
            }
            let from = lexer.pos;
            let declared = match dict.get(b"Length") {
                Ok(Object::Integer(length)) => usize::try_from(*length).ok(),
                Ok(Object::Reference(length)) => match self.get_nested(*length, depth + 1) {
                    Ok(Object::Integer(length)) => usize::try_from(length).ok(),
                    _ => None,
                },
                _ => None,
            };
            let to = match declared.and_then(|length| from.checked_add(length)) {
                Some(to) if ends_stream(bytes, to) => to,
                // A wrong /Length is common enough: the data then ends where the
                // keyword that closes it begins.
                _ => {
                    let Some(end) = memchr::memmem::find(&bytes[from..], b"endstream") else {
                        return malformed(format!("object {} has no endstream", id.0));
                    };
                    let mut to = from + end;
                    if to > from && bytes[to - 1] == b'\n' {
                        to -= 1;
                    }
                    if to > from && bytes[to - 1] == b'\r' {
                        to -= 1;
                    }
                    to
                }
            };
            lexer.pos = to;
            lexer.skip_space();
            lexer.keyword(b"endstream");
            data = Some(from..to);
            let dict = dict.clone();
            object = Object::Stream(Stream {
                dict,
                content: Vec::new(),
                allows_compression: false,
                start_position: Some(from),
            });
        }
        lexer.skip_space();
        lexer.keyword(b"endobj");
        Ok(Read {
            object,
            data,
            end: lexer.pos,
        })
    }
}

/// An indirect object as read: the object, where a stream's data lies, where it ends.
struct Read {
    object: Object,
    data: Option<Range<usize>>,
    end: usize,
}

fn object_number(number: usize) -> Result<u32, Malformed> {
    u32::try_from(number)
        .ok()
        .filter(|n| u64::from(*n) <= MAX_OBJECT_NUMBER)
        .ok_or_else(|| Malformed("an object number is too large".into()))
}

fn integer(dict: &Dictionary, key: &[u8]) -> Result<usize, Malformed> {
    match dict.get(key) {
        Ok(Object::Integer(n)) => usize::try_from(*n).or_else(|_| malformed("a negative count")),
        _ => malformed(format!(
            "/{} is missing or not a number",
            String::from_utf8_lossy(key)
        )),
    }
}

/// A structure stream's data, decoded within [`MAX_STRUCTURE_STREAM_BYTES`].
fn decode(dict: Dictionary, raw: &[u8]) -> Result<Vec<u8>, Malformed> {
    if !dict.has(b"Filter") {
        return Ok(raw.to_vec());
    }
    let stream = Stream {
        dict,
        content: raw.to_vec(),
        allows_compression: false,
        start_position: None,
    };
    stream
        .decompressed_content_with_limit(MAX_STRUCTURE_STREAM_BYTES)
        .map_err(|e| Malformed(format!("a structure stream cannot be decoded: {e}")))
}

#[cfg(test)]
mod tests;
