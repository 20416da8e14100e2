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
//! The tokens and direct objects are read by [`super::lexer`]; this file holds what
//! reads the file's structure: both kinds of cross-reference section, object streams
//! and indirect objects, which read each other's state (one grammar, kept together).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::rc::Rc;

use lopdf::{Dictionary, Object, ObjectId, Stream};

use super::lexer::{Lexer, is_space, malformed};
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

    /// The document catalog.
    pub fn catalog(&self) -> Result<(ObjectId, Dictionary), Malformed> {
        let Ok(Object::Reference(root)) = self.trailer.get(b"Root") else {
            return malformed("the trailer names no catalog");
        };
        Ok((*root, self.dictionary(&Object::Reference(*root))?))
    }

    /// Page `number` (from 1): its id, its dictionary, and its /MediaBox (its own or
    /// inherited from the page tree), or `None` if there is no such page.
    pub fn page(
        &self,
        number: u32,
    ) -> Result<Option<(ObjectId, Dictionary, Option<Object>)>, Malformed> {
        let (_, catalog) = self.catalog()?;
        let Ok(Object::Reference(tree)) = catalog.get(b"Pages") else {
            return malformed("the catalog has no page tree");
        };
        let mut node = *tree;
        let Some(mut remaining) = number.checked_sub(1) else {
            return Ok(None);
        };
        let mut media_box = None;
        let mut visited = HashSet::new();
        loop {
            if !visited.insert(node) || visited.len() > 100_000 {
                return malformed("the page tree has a loop");
            }
            let dict = self.dictionary(&Object::Reference(node))?;
            if let Ok(own) = dict.get(b"MediaBox") {
                media_box = Some(self.resolve(own)?);
            }
            let Ok(kids) = dict.get(b"Kids") else {
                // A leaf: a page.
                return Ok((remaining == 0).then_some((node, dict, media_box)));
            };
            let Object::Array(kids) = self.resolve(kids)? else {
                return malformed("a page tree node's /Kids is not an array");
            };
            let mut chosen = None;
            for kid in kids {
                let Object::Reference(kid) = kid else {
                    return malformed("a page tree node's kid is not a reference");
                };
                let kid_dict = self.dictionary(&Object::Reference(kid))?;
                let count = if kid_dict.has(b"Kids") {
                    match self.resolve(kid_dict.get(b"Count").unwrap_or(&Object::Null))? {
                        Object::Integer(count) => u32::try_from(count).unwrap_or(0),
                        _ => return malformed("a page tree node has no /Count"),
                    }
                } else {
                    1
                };
                if remaining < count {
                    chosen = Some(kid);
                    break;
                }
                remaining -= count;
            }
            match chosen {
                Some(kid) => node = kid,
                None => return Ok(None),
            }
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

/// Whether `endstream` follows `at` (after white space).
fn ends_stream(bytes: &[u8], at: usize) -> bool {
    let mut lexer = Lexer::new(bytes, at);
    if at > bytes.len() {
        return false;
    }
    lexer.skip_space();
    lexer.keyword(b"endstream")
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
mod tests {
    use super::*;
    use crate::pdf::tests::sample;
    use lopdf::StringFormat;

    fn parse(text: &[u8]) -> Result<Object, Malformed> {
        Lexer::new(text, 0).object(0)
    }

    #[test]
    fn objects_parse_as_iso_32000_writes_them() {
        let object = parse(
            b"<< /Type /Page /N#20ame (a \\(b\\) (c)\\n\\101\\\n!) /H <48 49 5> /R 12 0 R \
              /A [1 -2 +3.5 .5 true false null 7 0] %comment\n /D << /X /Y >> >>",
        )
        .unwrap();
        let Object::Dictionary(dict) = object else {
            panic!("not a dictionary")
        };
        assert_eq!(dict.get(b"Type").unwrap(), &Object::Name(b"Page".to_vec()));
        assert!(dict.has(b"N ame"));
        assert_eq!(
            dict.get(b"N ame").unwrap(),
            &Object::String(b"a (b) (c)\nA!".to_vec(), StringFormat::Literal)
        );
        assert_eq!(
            dict.get(b"H").unwrap(),
            &Object::String(b"HIP".to_vec(), StringFormat::Hexadecimal)
        );
        assert_eq!(dict.get(b"R").unwrap(), &Object::Reference((12, 0)));
        assert_eq!(
            dict.get(b"A").unwrap(),
            &Object::Array(vec![
                Object::Integer(1),
                Object::Integer(-2),
                Object::Real(3.5),
                Object::Real(0.5),
                Object::Boolean(true),
                Object::Boolean(false),
                Object::Null,
                Object::Integer(7),
                Object::Integer(0),
            ])
        );
        assert!(dict.get(b"D").unwrap().as_dict().unwrap().has(b"X"));
    }

    #[test]
    fn bad_syntax_is_an_error_not_a_panic() {
        for text in [
            &b"<< /A"[..],
            b"(unclosed",
            b"<4G>",
            b"[1 2",
            b"-",
            b".",
            b"endobj",
            b"<< 1 2 >>",
            b"99999999999999999999",
        ] {
            assert!(parse(text).is_err(), "{}", String::from_utf8_lossy(text));
        }
        let deep = [b"[".repeat(10_000), b"]".repeat(10_000)].concat();
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn tables_and_cross_reference_streams_lead_to_the_pages() {
        for modern in [false, true] {
            let pdf = sample(3, 10, modern);
            let reader = Reader::open(&pdf).unwrap_or_else(|e| panic!("{modern}: {e}"));
            assert_eq!(reader.newest().is_stream, modern);
            if modern {
                assert!(
                    reader
                        .table
                        .values()
                        .any(|e| matches!(e, Entry::InStream { .. })),
                    "save_modern puts dictionaries in object streams"
                );
            }
            let (id, page, media_box) = reader.page(3).unwrap().unwrap();
            assert_eq!(page.get(b"Type").unwrap().as_name().unwrap(), b"Page");
            assert!(media_box.is_some(), "inherited from the tree");
            assert!(reader.page(4).unwrap().is_none());
            assert!(reader.page(0).unwrap().is_none());
            let contents = page.get(b"Contents").unwrap().as_reference().unwrap();
            let Object::Stream(stream) = reader.get(contents).unwrap() else {
                panic!("not a stream")
            };
            assert!(stream.content.is_empty(), "stream data is not copied");
            assert!(reader.get_located(contents).unwrap().1.is_some());
            assert_ne!(reader.get(id).unwrap(), Object::Null);
            assert!(reader.next_number() > id.0);
        }
    }

    /// A hybrid-reference file (ISO 32000-1 §7.5.8.4): object 4 is free in the table
    /// and compressed in object stream 5, which the stream at /XRefStm names.
    fn hybrid() -> Vec<u8> {
        let mut pdf = b"%PDF-1.5\n".to_vec();
        let mut offsets = Vec::new();
        let member = b"4 0 << /Hidden true >>";
        let xref_stream = [2u8, 0, 5, 0];
        let bodies: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources 4 0 R >>".to_vec(),
            [
                format!(
                    "<< /Type /ObjStm /N 1 /First 4 /Length {} >>\nstream\n",
                    member.len()
                )
                .into_bytes(),
                member.to_vec(),
                b"\nendstream".to_vec(),
            ]
            .concat(),
            [
                b"<< /Type /XRef /W [1 2 1] /Index [4 1] /Size 7 /Length 4 >>\nstream\n".to_vec(),
                xref_stream.to_vec(),
                b"\nendstream".to_vec(),
            ]
            .concat(),
        ];
        for (number, body) in [1, 2, 3, 5, 6].into_iter().zip(bodies) {
            offsets.push((number, pdf.len()));
            pdf.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
            pdf.extend_from_slice(&body);
            pdf.extend_from_slice(b"\nendobj\n");
        }
        let table = pdf.len();
        pdf.extend_from_slice(b"xref\n0 7\n0000000000 65535 f\r\n");
        for number in 1..7 {
            match offsets.iter().find(|(n, _)| *n == number) {
                Some((_, at)) => pdf.extend_from_slice(format!("{at:010} 00000 n\r\n").as_bytes()),
                None => pdf.extend_from_slice(b"0000000000 65535 f\r\n"),
            }
        }
        let stream_at = offsets[4].1;
        pdf.extend_from_slice(
            format!("trailer\n<< /Size 7 /Root 1 0 R /XRefStm {stream_at} >>\nstartxref\n{table}\n%%EOF\n")
                .as_bytes(),
        );
        pdf
    }

    #[test]
    fn a_hybrid_file_s_hidden_objects_are_found_in_its_stream() {
        let pdf = hybrid();
        let reader = Reader::open(&pdf).unwrap_or_else(|e| panic!("{e}"));
        assert!(!reader.newest().is_stream);
        assert_eq!(
            reader.entry(4),
            Some(Entry::InStream {
                stream: 5,
                index: 0
            })
        );
        let (_, page, _) = reader.page(1).unwrap().unwrap();
        let resources = reader.dictionary(page.get(b"Resources").unwrap()).unwrap();
        assert_eq!(resources.get(b"Hidden").unwrap(), &Object::Boolean(true));
    }

    #[test]
    fn every_prefix_and_a_broken_offset_fail_cleanly() {
        for modern in [false, true] {
            let pdf = sample(3, 10, modern);
            for end in 0..pdf.len() - 1 {
                // Truncations are refused or, when a prefix happens to end in a whole
                // revision, read; they never panic.
                if let Ok(reader) = Reader::open(&pdf[..end]) {
                    let _ = reader.page(1);
                }
            }
            let at = memchr::memmem::rfind(&pdf, b"startxref").unwrap() + 10;
            let mut broken = pdf.clone();
            broken[at..at + 2].copy_from_slice(b"99");
            assert!(Reader::open(&broken).is_err());
        }
    }
}
