//! OFD documents (GB/T 33190 §18): each signature of the list — the SM3 of every file
//! its `Signature.xml` protects, its seal file, its `SES_Signature` over
//! `Signature.xml` (judged as any GB/T 38540 signature), the pages its seal shows on —
//! and what the package holds that the signature does not protect. Everything that
//! reads the package runs off the async workers, each file hashed at most once.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use tongban_crypto::pki::Pki;
use tongban_crypto::shangmi::sm3;
use tongban_store::Store;

use crate::error::SealError;
use crate::ofd::structure::{self, Listed, Structure};
use crate::ofd::{OfdError, Package};

use super::findings::Finding;
use super::ses::verify_ses;
use super::{Indication, SignatureReport};

/// Whether `bytes` look like a ZIP archive (an OFD package).
pub(super) fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

fn unreadable(error: OfdError) -> SealError {
    SealError::Invalid {
        field: "document",
        reason: error.to_string(),
    }
}

/// What the package says of one signature, before its value is judged.
struct Examined {
    /// Its `Signature.xml`.
    file: String,
    /// Its own files: `Signature.xml`, `SignedValue.dat` and the seal file.
    own: Vec<String>,
    /// What it protects.
    protected: HashSet<String>,
    outcome: Result<Checked, String>,
}

struct Checked {
    value: Vec<u8>,
    signature_digest: [u8; 32],
    /// Reference and seal-file failures.
    failures: Vec<(Indication, &'static str, Finding)>,
    unsupported_method: bool,
    pages: Vec<u32>,
    cross_page: bool,
}

/// The SM3 of a file, computed once per file however many references name it.
struct Digests<'a> {
    package: &'a Package,
    known: HashMap<String, Option<[u8; 32]>>,
}

impl Digests<'_> {
    fn of(&mut self, name: &str) -> Option<[u8; 32]> {
        let package = self.package;
        *self
            .known
            .entry(name.to_owned())
            .or_insert_with(|| package.get(name).map(sm3))
    }
}

fn examine_one(
    package: &Package,
    structure: &Structure,
    listed: &Listed,
    digests: &mut Digests<'_>,
) -> Examined {
    let mut examined = Examined {
        file: listed.file.clone(),
        own: vec![listed.file.clone()],
        protected: HashSet::new(),
        outcome: Err(String::new()),
    };
    let file = match structure::signature_file(package, &listed.file) {
        Ok(file) => file,
        Err(error) => {
            examined.outcome = Err(error.to_string());
            return examined;
        }
    };
    examined.own.push(file.signed_value.clone());
    examined.own.extend(file.seal.clone());
    examined.protected = file.references.iter().map(|r| r.file.clone()).collect();
    let Some(value) = package.get(&file.signed_value) else {
        examined.outcome = Err(OfdError::Missing(file.signed_value).to_string());
        return examined;
    };
    let mut failures = Vec::new();
    if file.sm3 {
        let b64 = base64::engine::general_purpose::STANDARD;
        for reference in &file.references {
            let path = format!("/{}", reference.file);
            match digests.of(&reference.file) {
                None => failures.push((
                    Indication::TotalFailed,
                    "HASH_FAILURE",
                    Finding::FileMissing(path),
                )),
                Some(digest) => {
                    let signed = b64.decode(reference.check_value.trim()).unwrap_or_default();
                    if signed != digest {
                        let finding = Finding::FileChanged(path);
                        failures.push((Indication::TotalFailed, "HASH_FAILURE", finding));
                    }
                }
            }
        }
    }
    if let (Some(seal), Ok(decoded)) = (&file.seal, tongban_crypto::ses::Signature::decode(value))
        && package.get(seal) != Some(decoded.seal_der.as_slice())
    {
        let finding = Finding::SealFileMismatch;
        failures.push((Indication::TotalFailed, "SIG_CONSTRAINTS_FAILURE", finding));
    }
    let numbers: HashMap<&str, u32> = structure
        .pages
        .iter()
        .enumerate()
        .map(|(i, page)| (page.id.as_str(), u32::try_from(i + 1).unwrap_or(u32::MAX)))
        .collect();
    let mut pages: Vec<u32> = file
        .stamps
        .iter()
        .filter_map(|stamp| numbers.get(stamp.page_ref.as_str()).copied())
        .collect();
    pages.sort_unstable();
    pages.dedup();
    let cross_page = pages.len() > 1 && file.stamps.iter().all(|s| s.clip.is_some());
    examined.outcome = Ok(Checked {
        value: value.to_vec(),
        signature_digest: sm3(package.get(&listed.file).unwrap_or_default()),
        failures,
        unsupported_method: !file.sm3,
        pages,
        cross_page,
    });
    examined
}

/// A package examined: its file names, its signature list, and each signature.
struct Contents {
    names: Vec<String>,
    list: Option<String>,
    examined: Vec<Examined>,
}

/// Reads the package and examines each signature of its list.
fn examine(bytes: &[u8]) -> Result<Contents, OfdError> {
    let package = Package::read(bytes)?;
    let structure = structure::read(&package)?;
    let listed = match &structure.signatures {
        Some(list) if package.get(list).is_some() => structure::listed(&package, list)?.1,
        _ => Vec::new(),
    };
    let mut digests = Digests {
        package: &package,
        known: HashMap::new(),
    };
    let examined = listed
        .iter()
        .map(|entry| examine_one(&package, &structure, entry, &mut digests))
        .collect();
    let names = package.names().map(str::to_owned).collect();
    Ok(Contents {
        names,
        list: structure.signatures,
        examined,
    })
}

/// How many signatures the package lists, each examined as for a report.
#[cfg(feature = "fuzzing")]
pub(super) fn examined_count(bytes: &[u8]) -> Result<usize, OfdError> {
    examine(bytes).map(|c| c.examined.len())
}

/// Reports on every signature of the OFD document `bytes`.
pub(super) async fn verify_ofd(
    store: &Store,
    pki: &Pki,
    bytes: Vec<u8>,
) -> Result<Vec<SignatureReport>, SealError> {
    let Contents {
        names,
        list,
        examined,
    } = tokio::task::spawn_blocking(move || examine(&bytes))
        .await?
        .map_err(unreadable)?;
    let mut reports = Vec::new();
    for item in &examined {
        let checked = match &item.outcome {
            Ok(checked) => checked,
            Err(reason) => {
                let mut report = SignatureReport::new("ses");
                report.field = Some(format!("/{}", item.file));
                let finding = Finding::MalformedSignature(reason.clone());
                report.fail(Indication::TotalFailed, "FORMAT_FAILURE", finding);
                reports.push(report);
                continue;
            }
        };
        let digest = Some(&checked.signature_digest);
        let mut report = verify_ses(store, pki, &checked.value, digest).await?;
        report.field = Some(format!("/{}", item.file));
        if checked.unsupported_method {
            report.fail(
                Indication::Indeterminate,
                "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
                Finding::UnsupportedAlgorithm("the references' check method is not SM3".into()),
            );
        }
        for (indication, sub, finding) in &checked.failures {
            report.fail(*indication, sub, finding.clone());
        }
        report.integrity = report.integrity && checked.failures.is_empty();
        report.pages = checked.pages.clone();
        report.cross_page = checked.cross_page;
        reports.push(report);
    }
    // What a signature leaves unprotected must be the list, its own files, or the own
    // files of later signatures that passed.
    let list = list.unwrap_or_default();
    let passed: Vec<bool> = reports
        .iter()
        .map(|r| r.indication == Indication::TotalPassed)
        .collect();
    for (i, report) in reports.iter_mut().enumerate() {
        let item = &examined[i];
        let unprotected: Vec<&String> = names
            .iter()
            .filter(|name| **name != list && !item.own.contains(name))
            .filter(|name| !item.protected.contains(*name))
            .collect();
        report.covers_whole_document = Some(unprotected.is_empty());
        if unprotected.is_empty() {
            continue;
        }
        let by_later = |name: &String| {
            examined
                .iter()
                .zip(&passed)
                .skip(i + 1)
                .any(|(later, passed)| *passed && later.own.contains(name))
        };
        let added: Vec<String> = unprotected
            .into_iter()
            .filter(|name| !by_later(name))
            .map(|name| format!("/{name}"))
            .collect();
        let only_signatures = added.is_empty();
        report.later_changes_only_signatures = Some(only_signatures);
        if only_signatures {
            report.findings.push(Finding::LaterSignaturesOnly);
        } else {
            report.findings.push(Finding::FilesAdded(added.join(", ")));
            if report.indication == Indication::TotalPassed {
                report.indication = Indication::Indeterminate;
                report.sub_indication = Some("POLICY_PROCESSING_ERROR");
            }
        }
    }
    Ok(reports)
}
