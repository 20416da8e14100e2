//! The OFD container (GB/T 33190-2016 §6): a ZIP archive of named files. Reading is
//! where hostile input arrives, so it is bounded: the number of entries, each entry's
//! inflated size and the total (read, not as the archive declares them), and every
//! name must be a plain relative path inside the package.

use std::io::{Cursor, Read, Write};

use super::OfdError;

/// Entries in one package, at most.
pub const MAX_ENTRIES: usize = 2_000;

/// Bytes of all entries inflated, at most: a ZIP bomb stops here, whatever the
/// archive declares.
pub const MAX_INFLATED: u64 = 64 * 1024 * 1024;

/// An OFD package: its files by name (no leading slash), in archive order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Package {
    files: Vec<(String, Vec<u8>)>,
}

/// Whether `name` is a plain relative path: segments without `.`, `..` or
/// backslashes, not absolute, no empty segment.
fn plain(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['\\', '\0'])
        && name
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

impl Package {
    /// An empty package.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a package, refusing what is not a ZIP, too many or too large entries,
    /// names that leave the package, and duplicate names.
    pub fn read(bytes: &[u8]) -> Result<Self, OfdError> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| OfdError::NotZip(e.to_string()))?;
        if archive.len() > MAX_ENTRIES {
            return Err(OfdError::TooManyEntries(archive.len()));
        }
        // The archive keeps one entry per name: readers that took the other would see
        // another document than the one verified.
        if archive.has_duplicate_names() {
            return Err(OfdError::Duplicate("(a name used twice)".into()));
        }
        let mut package = Self::new();
        let mut seen = std::collections::HashSet::new();
        let mut inflated: u64 = 0;
        for index in 0..archive.len() {
            let mut entry = archive
                .by_index(index)
                .map_err(|e| OfdError::NotZip(e.to_string()))?;
            let name = entry
                .name()
                .map_err(|_| OfdError::BadPath("(a name that is not UTF-8)".into()))?
                .into_owned();
            if entry.is_dir() {
                continue;
            }
            if !plain(&name) {
                return Err(OfdError::BadPath(name));
            }
            // Names that differ only in case are one file on many disks and in many
            // readers: refused like duplicates.
            if !seen.insert(name.to_ascii_lowercase()) {
                return Err(OfdError::Duplicate(name));
            }
            // Read one byte past what may remain: the declared size is not trusted.
            let room = MAX_INFLATED - inflated;
            // The declared size is only a hint for the first allocation, and a small one.
            let hint = entry.size().min(room).min(1024 * 1024);
            let mut data = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
            (&mut entry)
                .take(room + 1)
                .read_to_end(&mut data)
                .map_err(|e| OfdError::NotZip(format!("{name}: {e}")))?;
            inflated += data.len() as u64;
            if inflated > MAX_INFLATED {
                return Err(OfdError::TooLarge(MAX_INFLATED));
            }
            data.shrink_to_fit();
            package.files.push((name, data));
        }
        Ok(package)
    }

    /// The archive, every entry deflated.
    pub fn write(&self) -> Result<Vec<u8>, OfdError> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in &self.files {
            zip.start_file(name.as_str(), options)
                .and_then(|()| zip.write_all(data).map_err(Into::into))
                .map_err(|e| OfdError::Write(e.to_string()))?;
        }
        let out = zip.finish().map_err(|e| OfdError::Write(e.to_string()))?;
        Ok(out.into_inner())
    }

    /// The file at `name` (no leading slash).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, data)| data.as_slice())
    }

    /// The file at `name`, or which one is missing.
    pub fn require(&self, name: &str) -> Result<&[u8], OfdError> {
        self.get(name)
            .ok_or_else(|| OfdError::Missing(name.to_owned()))
    }

    /// Sets the file at `name`, replacing one of that name.
    pub fn put(&mut self, name: impl Into<String>, data: Vec<u8>) {
        let name = name.into();
        match self.files.iter_mut().find(|(n, _)| *n == name) {
            Some(existing) => existing.1 = data,
            None => self.files.push((name, data)),
        }
    }

    /// Every file name, in archive order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|(name, _)| name.as_str())
    }
}

/// The package path that `loc` (an `ST_Loc`) names, read in the file `base`: absolute
/// from the package root when it starts with `/`, else relative to `base`'s folder.
/// `None` when it leaves the package.
pub fn resolve(base: &str, loc: &str) -> Option<String> {
    let loc = loc.trim();
    let mut parts: Vec<&str> = Vec::new();
    let relative = match loc.strip_prefix('/') {
        Some(absolute) => absolute,
        None => {
            parts.extend(base.split('/'));
            parts.pop();
            loc
        }
    };
    for segment in relative.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    let path = parts.join("/");
    plain(&path).then_some(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// An archive with one entry named `name`, which the zip writer would not write:
    /// written under a placeholder of the same length, then renamed in the bytes.
    fn zip_named(name: &str) -> Vec<u8> {
        renamed(&[("OFD.xml", b"x")], name)
    }

    /// `entries` and one more, `name`, written as in [`zip_named`].
    fn renamed(entries: &[(&str, &[u8])], name: &str) -> Vec<u8> {
        let placeholder = "q".repeat(name.len());
        let mut all = entries.to_vec();
        all.push((&placeholder, b"x"));
        let archive = zip_of(&all);
        let mut out = archive.clone();
        let (from, to) = (placeholder.as_bytes(), name.as_bytes());
        let mut i = 0;
        while i + from.len() <= archive.len() {
            if &archive[i..i + from.len()] == from {
                out[i..i + from.len()].copy_from_slice(to);
                i += from.len();
            } else {
                i += 1;
            }
        }
        out
    }

    #[test]
    fn a_package_reads_back_what_was_written() {
        let mut package = Package::new();
        package.put("OFD.xml", b"<a/>".to_vec());
        package.put("Doc_0/Document.xml", b"<b/>".to_vec());
        package.put("OFD.xml", b"<c/>".to_vec());
        let read = Package::read(&package.write().unwrap()).unwrap();
        assert_eq!(read, package);
        assert_eq!(read.get("OFD.xml").unwrap(), b"<c/>");
        assert_eq!(
            read.names().collect::<Vec<_>>(),
            ["OFD.xml", "Doc_0/Document.xml"]
        );
    }

    #[test]
    fn names_that_leave_the_package_are_refused() {
        for name in [
            "../evil",
            "/etc/passwd",
            "Doc_0/../../x",
            "a\\b",
            "a//b",
            "./a",
        ] {
            let archive = zip_named(name);
            let error = Package::read(&archive).unwrap_err();
            assert!(matches!(error, OfdError::BadPath(_)), "{name}: {error}");
        }
        let twice = renamed(&[("OFD.xml", b"x")], "OFD.xml");
        assert!(Package::read(&twice).is_err());
        let cased = renamed(&[("OFD.xml", b"x")], "ofd.XML");
        assert!(matches!(
            Package::read(&cased).unwrap_err(),
            OfdError::Duplicate(_)
        ));
    }

    #[test]
    fn what_is_not_a_zip_or_inflates_too_far_is_refused() {
        assert!(matches!(
            Package::read(b"%PDF-1.7").unwrap_err(),
            OfdError::NotZip(_)
        ));
        assert!(matches!(
            Package::read(b"").unwrap_err(),
            OfdError::NotZip(_)
        ));
        // Zeros deflate about a thousandfold: a small archive past the limit.
        let zeros = vec![0u8; 40 * 1024 * 1024];
        let bomb = zip_of(&[("a", &zeros), ("b", &zeros)]);
        assert!(bomb.len() < 1024 * 1024);
        assert!(matches!(
            Package::read(&bomb).unwrap_err(),
            OfdError::TooLarge(_)
        ));
    }

    #[test]
    fn locations_resolve_against_their_file() {
        let base = "Doc_0/Pages/Page_0/Content.xml";
        assert_eq!(
            resolve(base, "/Doc_0/Res/a.png").unwrap(),
            "Doc_0/Res/a.png"
        );
        assert_eq!(
            resolve(base, "Res/a.png").unwrap(),
            "Doc_0/Pages/Page_0/Res/a.png"
        );
        assert_eq!(resolve(base, "../../Res/a.png").unwrap(), "Doc_0/Res/a.png");
        assert_eq!(
            resolve("OFD.xml", "Doc_0/Document.xml").unwrap(),
            "Doc_0/Document.xml"
        );
        assert!(resolve("OFD.xml", "../x").is_none());
        assert!(resolve("OFD.xml", "").is_none());
    }
}
