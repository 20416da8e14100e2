//! GB/T 38540 signatures on OFD documents (GB/T 33190 §18): the seal file
//! (`Seal.esl`, the SESeal), `Signature.xml` with the SM3 `CheckValue` of every file
//! of the package but the signature list (so later signatures can be listed), the
//! `StampAnnot`s that place the seal, and `SignedValue.dat`: an `SES_Signature` whose
//! `dataHash` is the SM3 of `Signature.xml` and whose `propertyInfo` is its path. Files
//! are named and laid out as ofdrw names them (`Doc_0/Signs/Sign_N/…`).

use base64::Engine as _;
use tongban_core::time::Timestamp;
use tongban_crypto::shangmi::sm3;

use crate::riding::{self, Edge};

use super::package::Package;
use super::structure::{self, Structure};
use super::xml::{escape, number, number as xml_number, parse, text};
use super::{NAMESPACE, OfdError, SM2_SM3_OID, SM3_OID};

const HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Where the seal shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Placement {
    /// On one page (1-based), its top left corner at (`x`, `y`) mm, `width` mm wide.
    Single {
        /// Page, from 1.
        page: u32,
        /// Left, mm from the page's left edge.
        x: f64,
        /// Top, mm from the page's top edge.
        y: f64,
        /// Width, mm (default: the seal picture's); the height follows the picture.
        width: Option<f64>,
    },
    /// A cross-page seal (骑缝章): one slice on the edge of each page of `pages`.
    Riding {
        /// First and last page, from 1 (default: every page).
        pages: Option<(u32, u32)>,
        /// The edge.
        edge: Edge,
        /// The seal's top, mm from the page's top; none: centred.
        y: Option<f64>,
        /// Width, mm (default: the seal picture's); the height follows the picture.
        width: Option<f64>,
    },
}

/// A `StampAnnot`: page ID, box and clip.
struct Stamp {
    page_ref: String,
    boundary: [f64; 4],
    clip: Option<[f64; 4]>,
}

fn stamps(
    structure: &Structure,
    placement: &Placement,
    (picture_width, picture_height): (f64, f64),
) -> Result<Vec<Stamp>, OfdError> {
    let aspect = picture_height / picture_width.max(1.0);
    let page_at = |number: u32| {
        usize::try_from(number)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| structure.pages.get(i))
            .ok_or(OfdError::NoSuchPage(number))
    };
    let sized = |width: Option<f64>| {
        let width = width.unwrap_or(picture_width);
        if width.is_finite() && width > 0.0 && width <= 300.0 {
            Ok((width, width * aspect))
        } else {
            Err(OfdError::Placement(
                "the seal's width must be over 0 and at most 300 mm".into(),
            ))
        }
    };
    match *placement {
        Placement::Single { page, x, y, width } => {
            let target = page_at(page)?;
            let (w, h) = sized(width)?;
            let (pw, ph) = target.size;
            if !(x.is_finite() && y.is_finite()) || x < 0.0 || y < 0.0 || x + w > pw || y + h > ph {
                return Err(OfdError::Placement(format!(
                    "the seal ({} × {} mm at {}, {}) must lie on the page ({} × {} mm)",
                    number(w),
                    number(h),
                    number(x),
                    number(y),
                    number(pw),
                    number(ph)
                )));
            }
            Ok(vec![Stamp {
                page_ref: target.id.clone(),
                boundary: [x, y, w, h],
                clip: None,
            }])
        }
        Placement::Riding {
            pages,
            edge,
            y,
            width,
        } => {
            let all = u32::try_from(structure.pages.len()).unwrap_or(u32::MAX);
            let (first, last) = pages.unwrap_or((1, all));
            if first == 0 || last <= first || last - first >= riding::MAX_PAGES {
                return Err(OfdError::Placement(format!(
                    "pages {first}-{last}: a cross-page seal spans 2 to {} pages",
                    riding::MAX_PAGES
                )));
            }
            page_at(last)?;
            let (w, h) = sized(width)?;
            let n = f64::from(last - first + 1);
            let slice = w / n;
            let mut out = Vec::new();
            for (i, number) in (first..=last).enumerate() {
                let page = page_at(number)?;
                let (pw, ph) = page.size;
                if slice > pw {
                    return Err(OfdError::Placement(format!(
                        "a slice ({} mm) is wider than page {number}",
                        xml_number(slice)
                    )));
                }
                let top = y.unwrap_or((ph - h) / 2.0);
                if !top.is_finite() || top < 0.0 || top + h > ph {
                    return Err(OfdError::Placement(format!(
                        "the seal's top ({top} mm) must keep it on page {number}"
                    )));
                }
                // The whole seal's box, moved so that this page's slice is at the edge.
                let shown = f64::from(riding::slice(edge, i as u32, last - first + 1)) * slice;
                let x = match edge {
                    Edge::Right => pw - shown - slice,
                    Edge::Left => -shown,
                };
                let clip_x = shown;
                out.push(Stamp {
                    page_ref: page.id.clone(),
                    boundary: [x, top, w, h],
                    clip: Some([clip_x, 0.0, slice, h]),
                });
            }
            Ok(out)
        }
    }
}

/// The folder of a package path.
fn folder(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Adds a `Signatures` entry to `OFD.xml` after `DocRoot`, in the prefix the file uses.
fn list_signatures(entry: &[u8], list: &str) -> Result<Vec<u8>, OfdError> {
    let source = text(structure::ENTRY, entry)?;
    let xml = parse(structure::ENTRY, source)?;
    let doc_root = xml
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "DocRoot")
        .ok_or_else(|| OfdError::xml(structure::ENTRY, "no DocRoot"))?;
    let range = doc_root.range();
    let tag = &source[range.start + 1..];
    let prefix = tag.find("DocRoot").map_or("", |at| &tag[..at]);
    let mut out = String::with_capacity(source.len() + 64);
    out.push_str(&source[..range.end]);
    out.push_str(&format!("<{prefix}Signatures>/{list}</{prefix}Signatures>"));
    out.push_str(&source[range.end..]);
    Ok(out.into_bytes())
}

/// The number at the end of an ID (`s006` → 6), for ofdrw's IDs and ours; `None` when
/// it does not fit.
fn id_number(id: &str) -> Option<u64> {
    let digits = id.len() - id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let digits = &id[id.len() - digits..];
    if digits.is_empty() {
        Some(0)
    } else {
        digits.parse().ok()
    }
}

/// Whether a path the signature names (and its `propertyInfo`, IA5) is plain ASCII
/// that needs no escaping: the folders the document chose are written into the XML
/// we sign.
fn safe_path(path: &str) -> bool {
    path.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
}

/// What a new signature is: the SESeal (DER) it carries, its time and provider.
pub struct Signing<'a> {
    /// The SESeal, written as `Seal.esl`.
    pub eseal: &'a [u8],
    /// The seal picture's width and height, mm (the SESeal's).
    pub picture: (f64, f64),
    /// `SignatureDateTime`.
    pub time: Timestamp,
}

/// A package with a signature laid out but not yet made: everything but
/// `SignedValue.dat`, and what the `SES_Signature` must cover.
pub struct Prepared {
    package: Package,
    /// The SM3 of `Signature.xml`: the `dataHash`.
    pub data_hash: [u8; 32],
    /// `/` and the path of `Signature.xml`: the `propertyInfo`.
    pub property_info: String,
    value_file: String,
}

impl Prepared {
    /// The signed package, with `value` (the `SES_Signature`, DER) as `SignedValue.dat`.
    pub fn finish(mut self, value: Vec<u8>) -> Package {
        self.package.put(self.value_file, value);
        self.package
    }
}

/// Lays out a signature on `package` where `placement` says. An earlier signature that
/// protects the signature list would break: such a package is refused.
pub fn prepare(
    mut package: Package,
    placement: &Placement,
    signing: &Signing<'_>,
) -> Result<Prepared, OfdError> {
    let package = &mut package;
    let structure = structure::read(package)?;
    structure::check_pages(package, &structure)?;
    let found = stamps(&structure, placement, signing.picture)?;
    let (list, earlier) = match &structure.signatures {
        Some(list) if package.get(list).is_some() => {
            let (max, entries) = structure::listed(package, list)?;
            (list.clone(), Some((max, entries)))
        }
        Some(list) => (list.clone(), None),
        None => {
            let list = format!("{}/Signs/Signatures.xml", folder(&structure.document))
                .trim_start_matches('/')
                .to_owned();
            let entry = list_signatures(package.require(structure::ENTRY)?, &list)?;
            package.put(structure::ENTRY, entry);
            (list, None)
        }
    };
    if !safe_path(&list) {
        return Err(OfdError::BadPath(format!(
            "{list}: signatures go in a folder named in ASCII letters, digits, _ - . and /"
        )));
    }
    let (max, entries) = earlier.unwrap_or_default();
    for entry in &entries {
        let file = structure::signature_file(package, &entry.file)?;
        if file.references.iter().any(|r| r.file == list) {
            return Err(OfdError::Placement(format!(
                "signature {} protects the signature list: another signature would break it",
                entry.id
            )));
        }
    }
    let too_large = || OfdError::xml(&list, "signature IDs past 2^64");
    let mut highest = 0u64;
    for id in entries.iter().map(|e| e.id.as_str()).chain(max.as_deref()) {
        highest = highest.max(id_number(id).ok_or_else(too_large)?);
    }
    let first_id = highest.checked_add(1).ok_or_else(too_large)?;
    let last_id = first_id
        .checked_add(found.len() as u64)
        .ok_or_else(too_large)?;
    let signs = folder(&list);
    let folder_of = |n: usize| {
        format!("{signs}/Sign_{n}")
            .trim_start_matches('/')
            .to_owned()
    };
    let taken = |dir: &str| {
        package
            .names()
            .any(|name| name.starts_with(&format!("{dir}/")))
    };
    let mut n = entries.len();
    while taken(&folder_of(n)) {
        n += 1;
    }
    let dir = folder_of(n);
    let (seal_file, signature_file, value_file) = (
        format!("{dir}/Seal.esl"),
        format!("{dir}/Signature.xml"),
        format!("{dir}/SignedValue.dat"),
    );
    package.put(seal_file.clone(), signing.eseal.to_vec());

    // Every file but the list is protected: the list changes with each signature.
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut references = String::new();
    for name in package.names().filter(|name| *name != list) {
        let digest = sm3(package.get(name).unwrap_or_default());
        references.push_str(&format!(
            "<ofd:Reference FileRef=\"/{}\"><ofd:CheckValue>{}</ofd:CheckValue></ofd:Reference>",
            escape(name),
            b64.encode(digest)
        ));
    }
    let mut annotations = String::new();
    for (i, stamp) in found.iter().enumerate() {
        let clip = stamp.clip.map_or(String::new(), |clip| {
            format!(" Clip=\"{}\"", clip.map(number).join(" "))
        });
        annotations.push_str(&format!(
            "<ofd:StampAnnot ID=\"{}\" PageRef=\"{}\" Boundary=\"{}\"{clip}/>",
            first_id + 1 + i as u64,
            escape(&stamp.page_ref),
            stamp.boundary.map(number).join(" ")
        ));
    }
    let time = signing.time.to_offset_date_time();
    let signature_xml = format!(
        "{HEADER}<ofd:Signature xmlns:ofd=\"{NAMESPACE}\"><ofd:SignedInfo>\
         <ofd:Provider ProviderName=\"Tongban\" Company=\"Tongban\" Version=\"{}\"/>\
         <ofd:SignatureMethod>{SM2_SM3_OID}</ofd:SignatureMethod>\
         <ofd:SignatureDateTime>{:04}{:02}{:02}{:02}{:02}{:02}Z</ofd:SignatureDateTime>\
         <ofd:References CheckMethod=\"{SM3_OID}\">{references}</ofd:References>{annotations}\
         <ofd:Seal><ofd:BaseLoc>/{seal_file}</ofd:BaseLoc></ofd:Seal></ofd:SignedInfo>\
         <ofd:SignedValue>/{value_file}</ofd:SignedValue></ofd:Signature>",
        env!("CARGO_PKG_VERSION"),
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
    .into_bytes();
    let data_hash = sm3(&signature_xml);
    package.put(signature_file.clone(), signature_xml);

    let mut listing = String::new();
    for entry in &entries {
        listing.push_str(&format!(
            "<ofd:Signature ID=\"{}\" Type=\"{}\" BaseLoc=\"/{}\"/>",
            escape(&entry.id),
            escape(&entry.kind),
            escape(&entry.file)
        ));
    }
    listing.push_str(&format!(
        "<ofd:Signature ID=\"{first_id}\" Type=\"Seal\" BaseLoc=\"/{signature_file}\"/>"
    ));
    package.put(
        list,
        format!(
            "{HEADER}<ofd:Signatures xmlns:ofd=\"{NAMESPACE}\"><ofd:MaxSignId>{last_id}</ofd:MaxSignId>\
             {listing}</ofd:Signatures>"
        )
        .into_bytes(),
    );
    Ok(Prepared {
        package: std::mem::take(package),
        data_hash,
        property_info: format!("/{signature_file}"),
        value_file,
    })
}
