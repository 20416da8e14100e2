//! Signatures and certificates from outside: CMS signatures and time-stamp tokens,
//! time-stamp requests to our TSA, and certificates and CRLs given to path validation.

use std::sync::{Arc, LazyLock};

use tongban_core::time::Timestamp;
use tongban_crypto::cms_verify::{ImprintAlgorithm, verify_detached, verify_timestamp_token};
use tongban_crypto::path::{Usage, validate};
use tongban_crypto::tsa::Tsa;
use tongban_crypto::{Algorithm, SoftwareKey};

use crate::parts;

/// A detached CMS signature (CAdES, or a PAdES signature's /Contents) and a time-stamp
/// token, as verification reads them.
pub fn cms(data: &[u8]) {
    let digest = tongban_crypto::cms::sha256(b"fuzz");
    let _ = verify_detached(data, &digest);
    let _ = verify_timestamp_token(data, &digest, ImprintAlgorithm::Sha256);
    let _ = verify_timestamp_token(data, &digest, ImprintAlgorithm::Sm3);
    let _ = tongban_crypto::cms::signature_value(data);
    let _ = tongban_crypto::cms::signature_timestamp(data);
}

/// An RFC 3161 request to the public TSA endpoint; a well-formed one is signed.
pub fn tsa_request(data: &[u8]) {
    let _ = TSA.as_ref().map(|tsa| tsa.respond(data));
}

/// A certificate, an intermediate and a CRL given to path validation under the
/// development root, for each purpose.
pub fn path(data: &[u8]) {
    let Some(root) = ROOT.as_ref() else {
        return;
    };
    let pieces = parts(data, 3);
    let leaf = pieces[0];
    let intermediates: Vec<Vec<u8>> = pieces.get(1).map(|i| i.to_vec()).into_iter().collect();
    let crls: Vec<Vec<u8>> = pieces.get(2).map(|c| c.to_vec()).into_iter().collect();
    let at = Timestamp::from_unix_millis(1_800_000_000_000);
    for usage in [Usage::Seal, Usage::TimeStamping, Usage::TokenSigning] {
        let _ = validate(
            leaf,
            &intermediates,
            std::slice::from_ref(root),
            &crls,
            usage,
            at,
        );
    }
}

static ROOT: LazyLock<Option<Vec<u8>>> = LazyLock::new(|| {
    let pem = include_str!("../../../keys-dev/root-ca.pem");
    tongban_crypto::pki::parse_root(pem, "keys-dev/root-ca.pem").ok()
});

static TSA: LazyLock<Option<Tsa>> = LazyLock::new(|| {
    let key = SoftwareKey::ephemeral(Algorithm::Es256).ok()?;
    Some(Tsa::new(Arc::new(key), Vec::new()))
});
