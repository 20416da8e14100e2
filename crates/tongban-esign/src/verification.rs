//! Verification reports that tell personal signatures apart: each signature of the
//! seal crate's report that we made for a person (found by its signature value's
//! hash) is named with the person, their masked ID number, how they approved it, and
//! the signing request it answered.

use tongban_crypto::pki::Pki;
use tongban_ledger::Log;
use tongban_seal::validation::{self, Input, Report};
use tongban_store::Store;

use crate::error::SignError;
use crate::records::{self, Signatory};

/// A report and, for each of its signatures, the person who signed it when it is a
/// personal signature of ours.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The seal crate's report.
    pub report: Report,
    /// `signatories[i]` for `report.signatures[i]`.
    pub signatories: Vec<Option<Signatory>>,
}

async fn with_signatories(store: &Store, report: Report) -> Result<Verified, SignError> {
    let mut conn = store.conn().await?;
    let mut signatories = Vec::with_capacity(report.signatures.len());
    for signature in &report.signatures {
        signatories.push(match &signature.signature_value_sha256 {
            Some(hash) => records::signatory(&mut conn, hash).await?,
            None => None,
        });
    }
    Ok(Verified {
        report,
        signatories,
    })
}

/// Verifies `input` ([`validation::verify`]) and names personal signatures.
pub async fn verify(
    store: &Store,
    pki: &Pki,
    log: &Log,
    input: Input<'_>,
) -> Result<Verified, SignError> {
    let report = validation::verify(store, pki, log, input).await?;
    with_signatories(store, report).await
}

/// Verifies an upload ([`validation::verify_upload`]) and names personal signatures.
pub async fn verify_upload(
    store: &Store,
    pki: &Pki,
    log: &Log,
    document: Vec<u8>,
    signed_file: Option<&[u8]>,
) -> Result<Verified, SignError> {
    let report = validation::verify_upload(store, pki, log, document, signed_file).await?;
    with_signatories(store, report).await
}
