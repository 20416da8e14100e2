//! PDF tokens and direct objects (ISO 32000-1 §7.2, §7.3): white space, delimiters,
//! numbers, names, strings, arrays and dictionaries, read from a byte slice at an
//! offset. The reader ([`super::reader`]) uses it for everything it parses.

use lopdf::{Dictionary, Object, StringFormat};

/// Why a PDF cannot be read, for people.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

pub(super) fn malformed<T>(message: impl Into<String>) -> Result<T, Malformed> {
    Err(Malformed(message.into()))
}

/// Arrays and dictionaries nested deeper than this are refused (the parser recurses).
const MAX_NESTING: usize = 64;

/// Each byte's value as a hexadecimal digit, or 0xFF (signature values are 32 KiB
/// of hex digits, read more than once per validation).
const HEX_DIGITS: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The value of a hexadecimal digit.
pub fn hex_digit(byte: u8) -> Option<u8> {
    let value = HEX_DIGITS[usize::from(byte)];
    (value != 0xFF).then_some(value)
}

/// PDF white space (§7.2.3).
pub(super) fn is_space(byte: u8) -> bool {
    matches!(byte, b'\0' | b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// PDF delimiters (§7.2.3).
fn is_delimiter(byte: u8) -> bool {
    matches!(
        byte,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(byte: u8) -> bool {
    !is_space(byte) && !is_delimiter(byte)
}

/// Tokens of PDF syntax over a byte slice.
pub(super) struct Lexer<'b> {
    pub(super) bytes: &'b [u8],
    pub(super) pos: usize,
}

impl<'b> Lexer<'b> {
    pub(super) fn new(bytes: &'b [u8], pos: usize) -> Self {
        Self { bytes, pos }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(super) fn next_byte(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    /// Skips white space and comments.
    pub(super) fn skip_space(&mut self) {
        while let Some(byte) = self.peek() {
            if is_space(byte) {
                self.pos += 1;
            } else if byte == b'%' {
                while let Some(byte) = self.peek() {
                    if byte == b'\r' || byte == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Consumes `word` if it is the next token.
    pub(super) fn keyword(&mut self, word: &[u8]) -> bool {
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end) == Some(word)
            && self.bytes.get(end).is_none_or(|b| !is_regular(*b))
        {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// A non-negative integer below `limit`.
    pub(super) fn integer_below(&mut self, limit: u64) -> Result<usize, Malformed> {
        self.skip_space();
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            value = value
                .saturating_mul(10)
                .saturating_add(u64::from(digit - b'0'));
            self.pos += 1;
        }
        if self.pos == start {
            return malformed(format!("a number was expected at offset {start}"));
        }
        if value >= limit {
            return malformed(format!("a number out of range at offset {start}"));
        }
        usize::try_from(value).or_else(|_| malformed("a number out of range"))
    }

    /// A byte offset.
    pub(super) fn offset(&mut self) -> Result<usize, Malformed> {
        self.integer_below(1 << 40)
    }

    /// The object that starts here.
    pub(super) fn object(&mut self, depth: usize) -> Result<Object, Malformed> {
        if depth > MAX_NESTING {
            return malformed("arrays or dictionaries nest too deep");
        }
        self.skip_space();
        let at = self.pos;
        let Some(byte) = self.peek() else {
            return malformed("the document ends inside an object");
        };
        match byte {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name()))
            }
            b'(' => {
                self.pos += 1;
                Ok(Object::String(self.literal()?, StringFormat::Literal))
            }
            b'<' if self.bytes.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                let mut dict = Dictionary::new();
                loop {
                    self.skip_space();
                    match self.peek() {
                        Some(b'>') if self.bytes.get(self.pos + 1) == Some(&b'>') => {
                            self.pos += 2;
                            return Ok(Object::Dictionary(dict));
                        }
                        Some(b'/') => {
                            self.pos += 1;
                            let key = self.name();
                            let value = self.object(depth + 1)?;
                            dict.set(key, value);
                        }
                        _ => return malformed(format!("a broken dictionary at offset {at}")),
                    }
                }
            }
            b'<' => {
                self.pos += 1;
                Ok(Object::String(self.hex()?, StringFormat::Hexadecimal))
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        return Ok(Object::Array(items));
                    }
                    items.push(self.object(depth + 1)?);
                }
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => self.number_or_reference(),
            _ if self.keyword(b"true") => Ok(Object::Boolean(true)),
            _ if self.keyword(b"false") => Ok(Object::Boolean(false)),
            _ if self.keyword(b"null") => Ok(Object::Null),
            _ => malformed(format!("unexpected bytes at offset {at}")),
        }
    }

    pub(super) fn number_or_reference(&mut self) -> Result<Object, Malformed> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9' | b'.')) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("");
        if !text.contains('.') {
            let Ok(value) = text.parse::<i64>() else {
                return malformed(format!("a bad number at offset {start}"));
            };
            // `N G R`: look ahead for the generation and the R.
            if value >= 0 {
                let after = self.pos;
                self.skip_space();
                if matches!(self.peek(), Some(b'0'..=b'9'))
                    && let Ok(generation) = self.integer_below(65_536)
                {
                    self.skip_space();
                    if self.keyword(b"R")
                        && let (Ok(number), Ok(generation)) =
                            (u32::try_from(value), u16::try_from(generation))
                    {
                        return Ok(Object::Reference((number, generation)));
                    }
                }
                self.pos = after;
            }
            return Ok(Object::Integer(value));
        }
        match text.parse::<f32>() {
            Ok(value) => Ok(Object::Real(value)),
            // "-.5" parses; a lone "." or "-" is not a number.
            Err(_) => malformed(format!("a bad number at offset {start}")),
        }
    }

    /// A name's bytes after its `/` (§7.3.5: `#xx` escapes).
    pub(super) fn name(&mut self) -> Vec<u8> {
        let mut name = Vec::new();
        while let Some(byte) = self.peek() {
            if !is_regular(byte) {
                break;
            }
            self.pos += 1;
            if byte == b'#'
                && let Some(hex) = self.bytes.get(self.pos..self.pos + 2)
                && let Ok(hex) = std::str::from_utf8(hex)
                && let Ok(value) = u8::from_str_radix(hex, 16)
            {
                name.push(value);
                self.pos += 2;
            } else {
                name.push(byte);
            }
        }
        name
    }

    /// A literal string's bytes after its `(` (§7.3.4.2).
    pub(super) fn literal(&mut self) -> Result<Vec<u8>, Malformed> {
        let mut out = Vec::new();
        let mut open = 1usize;
        loop {
            let Some(byte) = self.next_byte() else {
                return malformed("a string is not closed");
            };
            match byte {
                b'(' => {
                    open += 1;
                    out.push(byte);
                }
                b')' => {
                    open -= 1;
                    if open == 0 {
                        return Ok(out);
                    }
                    out.push(byte);
                }
                b'\\' => {
                    let Some(escaped) = self.next_byte() else {
                        return malformed("a string is not closed");
                    };
                    match escaped {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0C),
                        b'0'..=b'7' => {
                            let mut value = u32::from(escaped - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(digit @ b'0'..=b'7') => {
                                        value = value * 8 + u32::from(digit - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            // High-order overflow is ignored (§7.3.4.2).
                            out.push((value & 0xFF) as u8);
                        }
                        // A backslash at the end of a line continues the string.
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                // An end of line in a string reads as one line feed.
                b'\r' => {
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                other => out.push(other),
            }
        }
    }

    /// A hexadecimal string's bytes after its `<` (§7.3.4.3).
    pub(super) fn hex(&mut self) -> Result<Vec<u8>, Malformed> {
        let start = self.pos;
        let Some(length) = memchr::memchr(b'>', &self.bytes[self.pos..]) else {
            return malformed("a hexadecimal string is not closed");
        };
        let digits = &self.bytes[start..start + length];
        self.pos = start + length + 1;
        let mut out = Vec::with_capacity(length / 2);
        let mut high = None;
        for &byte in digits {
            let Some(value) = hex_digit(byte) else {
                if is_space(byte) {
                    continue;
                }
                return malformed(format!("a bad hexadecimal string at offset {start}"));
            };
            match high.take() {
                None => high = Some(value),
                Some(h) => out.push((h << 4) | value),
            }
        }
        // An odd final digit is followed by an implied 0.
        if let Some(h) = high {
            out.push(h << 4);
        }
        Ok(out)
    }
}

/// Whether `endstream` follows `at` (after white space).
pub(super) fn ends_stream(bytes: &[u8], at: usize) -> bool {
    let mut lexer = Lexer::new(bytes, at);
    if at > bytes.len() {
        return false;
    }
    lexer.skip_space();
    lexer.keyword(b"endstream")
}
