//! Detached JWS with `x5c`: integrity and the signer's certificate (a JWS has no
//! time-stamp, so its signing time is only claimed).

use crate::error::SealError;
use base64::Engine as _;
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_crypto::PublicKey;
use tongban_crypto::jose;
use tongban_crypto::pki::Pki;
use tongban_store::Store;

use super::certificate::check_certificate;
use super::findings::Finding;
use super::{Indication, SignatureReport};

pub(super) async fn verify_jws(
    store: &Store,
    pki: &Pki,
    jws: &str,
    payload: &[u8],
) -> Result<SignatureReport, SealError> {
    let mut report = SignatureReport::new("jws");
    report.signature_sha256 = Some(tongban_crypto::cms::sha256(jws.as_bytes()));
    let header: Option<Value> = jws
        .split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let leaf = header
        .as_ref()
        .and_then(|h| {
            h.get("x5c")?
                .as_array()?
                .first()?
                .as_str()
                .map(str::to_owned)
        })
        .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok());
    let Some(leaf) = leaf else {
        report.fail(
            Indication::Indeterminate,
            "NO_SIGNING_CERTIFICATE_FOUND",
            Finding::JwsNoCertificate,
        );
        return Ok(report);
    };
    report.claimed_signing_time = header
        .as_ref()
        .and_then(|h| h.get("sigT")?.as_str().map(str::to_owned))
        .and_then(|t| {
            time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(Timestamp::from);
    let key = x509_parser::parse_x509_certificate(&leaf)
        .ok()
        .and_then(|(_, cert)| PublicKey::from_spki_der(cert.public_key().raw).ok());
    let Some(key) = key else {
        report.fail(
            Indication::Indeterminate,
            "NO_SIGNING_CERTIFICATE_FOUND",
            Finding::JwsCertificateUnreadable,
        );
        return Ok(report);
    };
    let keys = jose::Jwks {
        keys: vec![jose::Jwk::from_public_key(&key, None)],
    };
    match jose::verify_compact(jws, Some(payload), &keys) {
        Ok(_) => report.integrity = true,
        Err(error) => {
            report.fail(
                Indication::TotalFailed,
                "SIG_CRYPTO_FAILURE",
                Finding::BadSignature(error.to_string()),
            );
            return Ok(report);
        }
    }
    report.findings.push(Finding::JwsNoTimestamp);
    check_certificate(store, pki, &mut report, &leaf, None).await?;
    if report.sub_indication.is_none() {
        report.indication = Indication::TotalPassed;
    }
    Ok(report)
}
