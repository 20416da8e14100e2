//! Other platforms' trust anchors, for verifying their seals (an SM2 seal of another
//! province, a P-256 seal of a partner): roots, intermediates and CRLs an operator puts
//! in one directory. They take part in path validation only; nothing is issued under
//! them, and a leaf whose issuer's CRL is not there has unknown revocation.

use std::path::Path;

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::CryptoError;

use super::root::pem_to_der;

/// The certificates and CRLs of a foreign trust directory, DER.
#[derive(Clone, Debug, Default)]
pub struct ForeignTrust {
    /// Self-signed certificates: trust anchors.
    pub roots: Vec<Vec<u8>>,
    /// The other certificates: intermediates.
    pub intermediates: Vec<Vec<u8>>,
    /// CRLs.
    pub crls: Vec<Vec<u8>>,
}

fn invalid(path: &Path, reason: impl std::fmt::Display) -> CryptoError {
    CryptoError::Root {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// The DER of every PEM block labelled `label` in `bytes`, or `bytes` itself when it is
/// not PEM.
fn ders(path: &Path, bytes: &[u8], label: &str) -> Result<Vec<Vec<u8>>, CryptoError> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(vec![bytes.to_vec()]);
    };
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let block_end = rest[start..]
            .find(&end)
            .map(|i| start + i + end.len())
            .ok_or_else(|| invalid(path, format!("a {label} block without its end")))?;
        found.push(pem_to_der(&rest[start..block_end])?);
        rest = &rest[block_end..];
    }
    if found.is_empty() {
        return Err(invalid(path, format!("no {label} in it")));
    }
    Ok(found)
}

impl ForeignTrust {
    /// Reads `dir`: every `.pem`, `.crt` and `.cer` file as certificates, every `.crl`
    /// as CRLs. A file that cannot be read stops the start: a trust store half read
    /// would refuse seals it should accept, or the reverse.
    pub fn read(dir: &Path) -> Result<Self, CryptoError> {
        let mut trust = Self::default();
        let entries = std::fs::read_dir(dir).map_err(|e| invalid(dir, e))?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .collect();
        paths.sort();
        for path in paths {
            let extension = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            let Some(extension) = extension else { continue };
            let bytes = std::fs::read(&path).map_err(|e| invalid(&path, e))?;
            match extension.as_str() {
                "pem" | "crt" | "cer" => {
                    for der in ders(&path, &bytes, "CERTIFICATE")? {
                        let (_, cert) = X509Certificate::from_der(&der)
                            .map_err(|e| invalid(&path, format!("not a certificate: {e}")))?;
                        if cert.subject().as_raw() == cert.issuer().as_raw() {
                            trust.roots.push(der);
                        } else {
                            trust.intermediates.push(der);
                        }
                    }
                }
                "crl" => {
                    for der in ders(&path, &bytes, "X509 CRL")? {
                        x509_parser::revocation_list::CertificateRevocationList::from_der(&der)
                            .map_err(|e| invalid(&path, format!("not a CRL: {e}")))?;
                        trust.crls.push(der);
                    }
                }
                _ => {}
            }
        }
        Ok(trust)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::signer::{Algorithm, SoftwareKey};
    use crate::sm2_certificates::{Sm2Issuer, self_signed_root, sign_crl};
    use tongban_core::time::Timestamp;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tongban-foreign-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn roots_intermediates_and_crls_are_read_and_garbage_stops_the_start() {
        let dir = scratch("read");
        let key = SoftwareKey::ephemeral(Algorithm::Sm2).unwrap();
        let root = self_signed_root(&key, "Other Root", time::OffsetDateTime::now_utc()).unwrap();
        let issuer = Sm2Issuer {
            name: "other",
            certificate: &root.der,
            key: &key,
        };
        let now = Timestamp::now();
        let later = Timestamp::from_unix_millis(now.unix_millis() + 86_400_000);
        let crl = sign_crl(&issuer, 1, &[], now, later).unwrap();
        let pem = super::super::root::der_to_pem("CERTIFICATE", &root.der);
        std::fs::write(dir.join("other.pem"), pem).unwrap();
        std::fs::write(dir.join("other.crl"), &crl).unwrap();
        std::fs::write(dir.join("README"), "not read").unwrap();
        let trust = ForeignTrust::read(&dir).unwrap();
        assert_eq!(trust.roots, vec![root.der]);
        assert!(trust.intermediates.is_empty());
        assert_eq!(trust.crls, vec![crl]);

        std::fs::write(dir.join("broken.crt"), b"not a certificate").unwrap();
        let error = ForeignTrust::read(&dir).unwrap_err().to_string();
        assert!(error.contains("broken.crt"), "{error}");
        assert!(ForeignTrust::read(&dir.join("missing")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
