//! C2SP tlog-tiles paths: `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, with
//! `N` written in three-digit groups, all but the last prefixed with `x`.

/// Hashes (or entries) in a full tile.
pub const WIDTH: u64 = 256;
/// Merkle levels per tile level.
pub const HEIGHT: u32 = 8;

/// One tile: a level of hashes, or the entries (`level` None).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    pub level: Option<u32>,
    pub index: u64,
    /// 256 for a full tile.
    pub width: u64,
}

impl Tile {
    /// Reads the path after `tile/`.
    pub fn parse(path: &str) -> Option<Self> {
        let (level, rest) = path.split_once('/')?;
        let level = match level {
            "entries" => None,
            digits => Some(small_number(digits).filter(|l| *l <= 5)? as u32),
        };
        let (index_path, width) = match rest.split_once(".p/") {
            Some((index_path, width)) => {
                let width = small_number(width).filter(|w| (1..WIDTH).contains(w))?;
                (index_path, width)
            }
            None => (rest, WIDTH),
        };
        Some(Self {
            level,
            index: index(index_path)?,
            width,
        })
    }

    /// The path after `tile/`.
    pub fn path(&self) -> String {
        let level = match self.level {
            Some(level) => level.to_string(),
            None => "entries".to_owned(),
        };
        let mut path = format!("{level}/{}", index_path(self.index));
        if self.width < WIDTH {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    pub fn is_full(&self) -> bool {
        self.width == WIDTH
    }
}

/// A decimal number without leading zeros, at most three digits.
fn small_number(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 3 || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `x001/x234/067` → 1234067. Every group has three digits; all but the last have an
/// `x`.
fn index(path: &str) -> Option<u64> {
    let groups: Vec<&str> = path.split('/').collect();
    if groups.len() > 7 {
        return None;
    }
    let (last, rest) = groups.split_last()?;
    let mut value: u64 = 0;
    for group in rest
        .iter()
        .map(|g| g.strip_prefix('x'))
        .chain([Some(*last)])
    {
        let group = group?;
        if group.len() != 3 || !group.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        value = value
            .checked_mul(1000)?
            .checked_add(group.parse::<u64>().ok()?)?;
    }
    // One spelling per number: no leading all-zero group.
    (path == index_path(value)).then_some(value)
}

fn index_path(mut value: u64) -> String {
    let mut groups = vec![format!("{:03}", value % 1000)];
    value /= 1000;
    while value > 0 {
        groups.push(format!("x{:03}", value % 1000));
        value /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The longest entry a bundle can hold.
pub const MAX_ENTRY: usize = u16::MAX as usize;

/// An entry bundle: each entry as a big-endian u16 length and its bytes. None if an
/// entry is longer than [`MAX_ENTRY`] (appending refuses those).
pub fn bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for entry in entries {
        let len = u16::try_from(entry.len()).ok()?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Some(out)
}

/// The entries of a bundle; None when it is malformed.
pub fn unbundle(mut bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_at_checked(2)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (entry, rest) = rest.split_at_checked(len)?;
        entries.push(entry.to_vec());
        bytes = rest;
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn paths_follow_the_c2sp_spelling_both_ways() {
        let tile = Tile::parse("0/x001/x234/067.p/8").unwrap();
        assert_eq!(
            tile,
            Tile {
                level: Some(0),
                index: 1_234_067,
                width: 8
            }
        );
        assert_eq!(tile.path(), "0/x001/x234/067.p/8");
        assert_eq!(Tile::parse("entries/000").unwrap().level, None);
        assert_eq!(Tile::parse("1/005").unwrap().path(), "1/005");
        for bad in [
            "0/5",
            "0/x000/005",
            "0/005.p/0",
            "0/005.p/256",
            "0/005.p/08",
            "9/000",
            "0/001/002",
            "x/000",
            "0/-01",
        ] {
            assert_eq!(Tile::parse(bad), None, "{bad}");
        }
        let entries: [&[u8]; 2] = [b"ab", b""];
        assert_eq!(
            unbundle(&bundle(entries).unwrap()).unwrap(),
            vec![b"ab".to_vec(), vec![]]
        );
        assert_eq!(unbundle(&[0, 3, 1]), None);
        assert_eq!(bundle([vec![0u8; MAX_ENTRY + 1].as_slice()]), None);
    }
}
