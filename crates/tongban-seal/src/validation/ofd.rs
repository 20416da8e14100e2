//! OFD documents (GB/T 33190 §18): each signature of the list — the SM3 of every file
//! its `Signature.xml` protects, its seal file, its `SES_Signature` over
//! `Signature.xml` (judged as any GB/T 38540 signature), the pages its seal shows on —
//! and what the package holds that the signature does not protect.

use base64::Engine as _;
use tongban_crypto::pki::Pki;
use tongban_crypto::shangmi::sm3;
use tongban_store::Store;

use crate::error::SealError;
use crate::ofd::structure::{self, Listed, SignatureFile, Structure};
use crate::ofd::{OfdError, Package};

use super::findings::Finding;
use super::pades::MAX_SIGNATURES;
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

fn folder(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The references of `file` checked against the package, into `report`.
fn check_references(package: &Package, file: &SignatureFile, report: &mut SignatureReport) {
    if !file.sm3 {
        report.fail(
            Indication::Indeterminate,
            "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
            Finding::UnsupportedAlgorithm("the references' check method is not SM3".into()),
        );
        return;
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    for reference in &file.references {
        let Some(data) = package.get(&reference.file) else {
            let finding = Finding::FileMissing(format!("/{}", reference.file));
            report.fail(Indication::TotalFailed, "HASH_FAILURE", finding);
            continue;
        };
        let signed = b64.decode(reference.check_value.trim()).unwrap_or_default();
        if signed != sm3(data) {
            let finding = Finding::FileChanged(format!("/{}", reference.file));
            report.fail(Indication::TotalFailed, "HASH_FAILURE", finding);
        }
    }
}

/// One signature's report, without what later signatures decide.
async fn verify_one(
    (store, pki): (&Store, &Pki),
    package: &Package,
    structure: &Structure,
    listed: &Listed,
) -> Result<SignatureReport, SealError> {
    let malformed = |error: OfdError| {
        let mut report = SignatureReport::new("ses");
        report.field = Some(format!("/{}", listed.file));
        let finding = Finding::MalformedSignature(error.to_string());
        report.fail(Indication::TotalFailed, "FORMAT_FAILURE", finding);
        report
    };
    let file = match structure::signature_file(package, &listed.file) {
        Ok(file) => file,
        Err(error) => return Ok(malformed(error)),
    };
    let Some(value) = package.get(&file.signed_value) else {
        return Ok(malformed(OfdError::Missing(file.signed_value.clone())));
    };
    let signature_xml = package.get(&listed.file).unwrap_or_default();
    let mut report = verify_ses(store, pki, value, Some(&sm3(signature_xml))).await?;
    report.field = Some(format!("/{}", listed.file));
    check_references(package, &file, &mut report);
    if let (Some(seal), Ok(decoded)) = (&file.seal, tongban_crypto::ses::Signature::decode(value))
        && package.get(seal) != Some(decoded.seal_der.as_slice())
    {
        report.fail(
            Indication::TotalFailed,
            "SIG_CONSTRAINTS_FAILURE",
            Finding::SealFileMismatch,
        );
    }
    report.integrity = report.integrity
        && !report.findings.iter().any(|f| {
            matches!(
                f,
                Finding::FileChanged(_) | Finding::FileMissing(_) | Finding::SealFileMismatch
            )
        });
    for stamp in &file.stamps {
        if let Some(index) = structure.pages.iter().position(|p| p.id == stamp.page_ref) {
            let page = u32::try_from(index + 1).unwrap_or(u32::MAX);
            if !report.pages.contains(&page) {
                report.pages.push(page);
            }
        }
    }
    report.cross_page = file.stamps.len() > 1 && file.stamps.iter().all(|s| s.clip.is_some());
    Ok(report)
}

/// Reports on every signature of the OFD document `bytes`.
pub(super) async fn verify_ofd(
    store: &Store,
    pki: &Pki,
    bytes: Vec<u8>,
) -> Result<Vec<SignatureReport>, SealError> {
    let parsed = tokio::task::spawn_blocking(move || {
        let package = Package::read(&bytes)?;
        let structure = structure::read(&package)?;
        let listed = match &structure.signatures {
            Some(list) if package.get(list).is_some() => structure::listed(&package, list)?.1,
            _ => Vec::new(),
        };
        Ok::<_, OfdError>((package, structure, listed))
    })
    .await
    .map_err(|e| unreadable(OfdError::NotZip(e.to_string())))?;
    let (package, structure, listed) = parsed.map_err(unreadable)?;
    let mut reports = Vec::new();
    for entry in listed.iter().take(MAX_SIGNATURES) {
        reports.push(verify_one((store, pki), &package, &structure, entry).await?);
    }
    // What each signature leaves unprotected must be the list, its own files, or
    // files of later signatures that passed.
    let list = structure.signatures.clone().unwrap_or_default();
    let protected: Vec<Vec<String>> = listed
        .iter()
        .map(|entry| {
            structure::signature_file(&package, &entry.file)
                .map(|f| f.references.into_iter().map(|r| r.file).collect())
                .unwrap_or_default()
        })
        .collect();
    for (i, report) in reports.iter_mut().enumerate() {
        let own = [listed[i].file.clone()];
        let signed_value = structure::signature_file(&package, &listed[i].file)
            .map(|f| f.signed_value)
            .unwrap_or_default();
        let unprotected: Vec<&str> = package
            .names()
            .filter(|name| *name != list && !own.iter().any(|o| o == name) && *name != signed_value)
            .filter(|name| !protected[i].iter().any(|p| p == name))
            .collect();
        report.covers_whole_document = Some(unprotected.is_empty());
        if unprotected.is_empty() {
            continue;
        }
        let later_folders: Vec<&str> = listed.iter().skip(i + 1).map(|e| folder(&e.file)).collect();
        let by_later = |name: &str| {
            later_folders
                .iter()
                .any(|dir| name.starts_with(&format!("{dir}/")))
        };
        let added: Vec<&str> = unprotected
            .iter()
            .copied()
            .filter(|n| !by_later(n))
            .collect();
        let only_signatures = added.is_empty();
        report.later_changes_only_signatures = Some(only_signatures);
        if only_signatures {
            report.findings.push(Finding::LaterSignaturesOnly);
        } else {
            let names: Vec<String> = added.iter().map(|n| format!("/{n}")).collect();
            report.findings.push(Finding::FilesAdded(names.join(", ")));
            if report.indication == Indication::TotalPassed {
                report.indication = Indication::Indeterminate;
                report.sub_indication = Some("POLICY_PROCESSING_ERROR");
            }
        }
    }
    Ok(reports)
}
