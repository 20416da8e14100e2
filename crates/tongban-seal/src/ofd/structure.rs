//! What sealing and verification read of an OFD document (GB/T 33190 §7, §18): the
//! entry file's first document, its pages and their sizes, its signature list, and
//! each signature's `Signature.xml`. Paths come back resolved to package paths.

use super::package::{Package, resolve};
use super::xml::{child, child_text, children, numbers, parse, text};
use super::{OfdError, SM3_OID};

/// The entry file.
pub const ENTRY: &str = "OFD.xml";

/// Pages of one document, at most.
pub const MAX_PAGES: usize = 10_000;

/// Signatures in one list, at most (as for PDFs).
pub const MAX_SIGNATURES: usize = 50;

/// A4 in millimetres, the page size when a document states none.
const A4: (f64, f64) = (210.0, 297.0);

/// A page: its `ID`, its content file and its size in millimetres.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// `Page/@ID`, which `StampAnnot/@PageRef` names.
    pub id: String,
    /// The content file.
    pub content: String,
    /// Width and height, mm.
    pub size: (f64, f64),
}

/// The first document of a package.
#[derive(Clone, Debug, PartialEq)]
pub struct Structure {
    /// `Document.xml`.
    pub document: String,
    /// The signature list, if the document has one.
    pub signatures: Option<String>,
    /// The pages, in order.
    pub pages: Vec<Page>,
}

fn physical_box(node: roxmltree::Node<'_, '_>) -> Option<(f64, f64)> {
    let area = child(node, "PageArea").or_else(|| child(node, "Area"))?;
    let values = numbers(child_text(area, "PhysicalBox")?)?;
    match values[..] {
        [_, _, w, h] if w > 0.0 && h > 0.0 => Some((w, h)),
        _ => None,
    }
}

/// Reads the entry file, the first document and its page tree.
pub fn read(package: &Package) -> Result<Structure, OfdError> {
    let entry = parse(ENTRY, text(ENTRY, package.require(ENTRY)?)?)?;
    let root = entry.root_element();
    if root.tag_name().name() != "OFD" {
        return Err(OfdError::xml(ENTRY, "the root element is not OFD"));
    }
    let body = child(root, "DocBody").ok_or_else(|| OfdError::xml(ENTRY, "no DocBody"))?;
    let located = |local: &str| -> Result<Option<String>, OfdError> {
        child_text(body, local)
            .map(|loc| resolve(ENTRY, loc).ok_or_else(|| OfdError::BadPath(loc.to_owned())))
            .transpose()
    };
    let document = located("DocRoot")?.ok_or_else(|| OfdError::xml(ENTRY, "no DocRoot"))?;
    let signatures = located("Signatures")?;
    let xml = parse(&document, text(&document, package.require(&document)?)?)?;
    let doc = xml.root_element();
    let common =
        child(doc, "CommonData").ok_or_else(|| OfdError::xml(&document, "no CommonData"))?;
    let default_size = physical_box(common).unwrap_or(A4);
    let tree = child(doc, "Pages").ok_or_else(|| OfdError::xml(&document, "no Pages"))?;
    let mut pages = Vec::new();
    // Pages may share a content file: each is read once.
    let mut sizes: std::collections::HashMap<String, (f64, f64)> = Default::default();
    for page in children(tree, "Page") {
        if pages.len() == MAX_PAGES {
            return Err(OfdError::xml(
                &document,
                format!("more than {MAX_PAGES} pages"),
            ));
        }
        let (Some(id), Some(loc)) = (page.attribute("ID"), page.attribute("BaseLoc")) else {
            return Err(OfdError::xml(&document, "a Page without ID or BaseLoc"));
        };
        let content = resolve(&document, loc).ok_or_else(|| OfdError::BadPath(loc.to_owned()))?;
        // A page that is missing or does not parse is judged by the signatures that
        // protect it (a verifier must still report on them); sealing checks pages.
        let size = *sizes.entry(content.clone()).or_insert_with(|| {
            page_content(package, &content)
                .ok()
                .and_then(|own| {
                    let xml = parse(&content, own).ok()?;
                    physical_box(xml.root_element())
                })
                .unwrap_or(default_size)
        });
        pages.push(Page {
            id: id.trim().to_owned(),
            content,
            size,
        });
    }
    if pages.is_empty() {
        return Err(OfdError::xml(&document, "the document has no pages"));
    }
    Ok(Structure {
        document,
        signatures,
        pages,
    })
}

fn page_content<'a>(package: &'a Package, content: &str) -> Result<&'a str, OfdError> {
    text(content, package.require(content)?)
}

/// Whether every page's content file is there and is XML: what sealing requires.
pub fn check_pages(package: &Package, structure: &Structure) -> Result<(), OfdError> {
    let files: std::collections::BTreeSet<&str> =
        structure.pages.iter().map(|p| p.content.as_str()).collect();
    for file in files {
        parse(file, page_content(package, file)?)?;
    }
    Ok(())
}

/// One entry of the signature list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// `Signature/@ID`.
    pub id: String,
    /// `Signature/@Type`: `Seal` (the default) or `Sign`.
    pub kind: String,
    /// Its `Signature.xml`.
    pub file: String,
}

/// The signature list: `MaxSignId` and the entries, in order.
pub fn listed(package: &Package, list: &str) -> Result<(Option<String>, Vec<Listed>), OfdError> {
    let xml = parse(list, text(list, package.require(list)?)?)?;
    let root = xml.root_element();
    let max = child_text(root, "MaxSignId").map(str::to_owned);
    let mut entries = Vec::new();
    for signature in children(root, "Signature") {
        if entries.len() == MAX_SIGNATURES {
            return Err(OfdError::xml(
                list,
                format!("more than {MAX_SIGNATURES} signatures"),
            ));
        }
        let (Some(id), Some(loc)) = (signature.attribute("ID"), signature.attribute("BaseLoc"))
        else {
            return Err(OfdError::xml(list, "a Signature without ID or BaseLoc"));
        };
        let file = resolve(list, loc).ok_or_else(|| OfdError::BadPath(loc.to_owned()))?;
        entries.push(Listed {
            id: id.trim().to_owned(),
            kind: signature
                .attribute("Type")
                .unwrap_or("Seal")
                .trim()
                .to_owned(),
            file,
        });
    }
    Ok((max, entries))
}

/// A reference of a signature: a protected file and its digest as signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The file, resolved from the package root.
    pub file: String,
    /// `CheckValue`: the base64 of the file's digest.
    pub check_value: String,
}

/// Where a signature's seal shows: a page and a box in millimetres, and for a
/// cross-page seal the part of the box shown (relative to the box).
#[derive(Clone, Debug, PartialEq)]
pub struct Stamp {
    /// `PageRef`: the page's ID.
    pub page_ref: String,
    /// `Boundary`.
    pub boundary: [f64; 4],
    /// `Clip`.
    pub clip: Option<[f64; 4]>,
}

/// A signature's `Signature.xml`, as far as verification needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct SignatureFile {
    /// Whether `References/@CheckMethod` is SM3 (its OID, `SM3`, or absent).
    pub sm3: bool,
    /// The protected files.
    pub references: Vec<Reference>,
    /// The places the seal shows.
    pub stamps: Vec<Stamp>,
    /// The seal file (`Seal/BaseLoc`).
    pub seal: Option<String>,
    /// `SignedValue`.
    pub signed_value: String,
}

fn a_box(file: &str, text: &str) -> Result<[f64; 4], OfdError> {
    match numbers(text).as_deref() {
        Some(&[x, y, w, h]) if w > 0.0 && h > 0.0 => Ok([x, y, w, h]),
        _ => Err(OfdError::xml(file, format!("not a box: {text:?}"))),
    }
}

/// Reads the `Signature.xml` at `file`.
pub fn signature_file(package: &Package, file: &str) -> Result<SignatureFile, OfdError> {
    let xml = parse(file, text(file, package.require(file)?)?)?;
    let root = xml.root_element();
    let info = child(root, "SignedInfo").ok_or_else(|| OfdError::xml(file, "no SignedInfo"))?;
    let list = child(info, "References").ok_or_else(|| OfdError::xml(file, "no References"))?;
    let method = list.attribute("CheckMethod").map(str::trim);
    let sm3 = matches!(method, None | Some(SM3_OID | "SM3" | "sm3"));
    let mut references = Vec::new();
    for reference in children(list, "Reference") {
        // A package has at most so many files to protect.
        if references.len() == super::package::MAX_ENTRIES {
            return Err(OfdError::xml(
                file,
                "more references than a package has files",
            ));
        }
        let loc = reference
            .attribute("FileRef")
            .ok_or_else(|| OfdError::xml(file, "a Reference without FileRef"))?;
        // FileRef is read from the package root, with or without its leading slash.
        let target = resolve("", loc.trim_start_matches('/'))
            .ok_or_else(|| OfdError::BadPath(loc.to_owned()))?;
        references.push(Reference {
            file: target,
            check_value: child_text(reference, "CheckValue").unwrap_or("").to_owned(),
        });
    }
    let mut stamps = Vec::new();
    for stamp in children(info, "StampAnnot") {
        if stamps.len() == MAX_PAGES {
            return Err(OfdError::xml(file, format!("more than {MAX_PAGES} stamps")));
        }
        let page_ref = stamp.attribute("PageRef").unwrap_or("").trim().to_owned();
        let boundary = a_box(file, stamp.attribute("Boundary").unwrap_or(""))?;
        let clip = stamp
            .attribute("Clip")
            .map(|c| a_box(file, c))
            .transpose()?;
        stamps.push(Stamp {
            page_ref,
            boundary,
            clip,
        });
    }
    let seal = child(info, "Seal")
        .and_then(|seal| child_text(seal, "BaseLoc"))
        .map(|loc| resolve(file, loc).ok_or_else(|| OfdError::BadPath(loc.to_owned())))
        .transpose()?;
    let value =
        child_text(root, "SignedValue").ok_or_else(|| OfdError::xml(file, "no SignedValue"))?;
    let signed_value = resolve(file, value).ok_or_else(|| OfdError::BadPath(value.to_owned()))?;
    Ok(SignatureFile {
        sm3,
        references,
        stamps,
        seal,
        signed_value,
    })
}
