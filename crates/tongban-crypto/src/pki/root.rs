//! The trust anchor on disk: PEM in and out, the root certificate in the key
//! directory, and the development root whose key is sealed under the KEK.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tongban_core::time::Timestamp;
use tongban_store::pki;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::ca;
use crate::error::CryptoError;
use crate::kek::Kek;
use crate::keystore::open_row;
use crate::signer::{Algorithm, PublicKey, Signer};

use crate::sm2_certificates::sm2_signature_valid;

use super::rows::{ROOT_PURPOSE, SM2_ROOT_PURPOSE};

/// File names in the key directory.
pub const ROOT_CERT_FILE: &str = "root-ca.pem";
/// The encrypted development root key (base64 of the KEK-sealed PKCS#8).
pub const ROOT_KEY_FILE: &str = "root-ca.key";
/// Reads exactly one PEM block labelled `CERTIFICATE` (or, for CRLs, `X509 CRL`) into
/// DER. Anything else in the text — a second block, a private key — is refused, so a
/// file holding a certificate and its key can never be published by mistake.
pub fn pem_to_der(text: &str) -> Result<Vec<u8>, CryptoError> {
    let bad = |why: &str| CryptoError::Encoding(format!("PEM: {why}"));
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
        return Err(bad("empty"));
    };
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or_else(|| bad("no BEGIN line"))?;
    if !matches!(label, "CERTIFICATE" | "X509 CRL") {
        return Err(bad("only a certificate or CRL is accepted"));
    }
    if *last != format!("-----END {label}-----") {
        return Err(bad("exactly one block, with nothing after it, is accepted"));
    }
    let body = &lines[1..lines.len() - 1];
    if body.iter().any(|l| l.starts_with("-----")) {
        return Err(bad("exactly one block is accepted"));
    }
    B64.decode(body.concat())
        .map_err(|_| bad("body is not base64"))
}

/// DER as PEM with the given label.
pub fn der_to_pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A root in the key directory: its certificate's and its sealed key's file names, the
/// purpose bound into the key's ciphertext, and the algorithm of a new one.
pub(super) struct RootFiles {
    pub(super) certificate: &'static str,
    key: &'static str,
    pub(super) purpose: &'static str,
    algorithm: Algorithm,
    name: &'static str,
}

/// The P-256 root (`root-ca.pem`).
pub(super) const P256_ROOT: RootFiles = RootFiles {
    certificate: ROOT_CERT_FILE,
    key: ROOT_KEY_FILE,
    purpose: ROOT_PURPOSE,
    algorithm: Algorithm::Es256,
    name: "Tongban Development Root CA",
};

/// The SM2 root (`sm2-root-ca.pem`), beside the P-256 one; optional.
pub(super) const SM2_ROOT: RootFiles = RootFiles {
    certificate: SM2_ROOT_CERT_FILE,
    key: "sm2-root-ca.key",
    purpose: SM2_ROOT_PURPOSE,
    algorithm: Algorithm::Sm2,
    name: "Tongban Development SM2 Root CA",
};

/// The SM2 root certificate's file in the key directory.
pub const SM2_ROOT_CERT_FILE: &str = "sm2-root-ca.pem";

/// The SM2 root certificate from the key directory, if the deployment has one.
pub fn load_sm2_root(keys_dir: &Path) -> Result<Option<Vec<u8>>, CryptoError> {
    let path = keys_dir.join(SM2_ROOT_CERT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_root(&text, &path.display().to_string()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CryptoError::Root {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Loads the root certificate from the key directory.
pub fn load_root(keys_dir: &Path) -> Result<Vec<u8>, CryptoError> {
    let path = keys_dir.join(ROOT_CERT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| CryptoError::Root {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    parse_root(&text, &path.display().to_string())
}

/// Checks that PEM `text` (from `origin`) is a self-signed CA certificate; returns DER.
pub fn parse_root(text: &str, origin: &str) -> Result<Vec<u8>, CryptoError> {
    let fail = |reason: String| CryptoError::Root {
        path: origin.to_owned(),
        reason,
    };
    let der = pem_to_der(text).map_err(|e| fail(e.to_string()))?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|e| fail(e.to_string()))?;
    if !cert.is_ca() || cert.subject().as_raw() != cert.issuer().as_raw() {
        return Err(fail("not a self-signed CA certificate".into()));
    }
    let algorithm = &cert.signature_algorithm.algorithm;
    let (tbs, signature) = (cert.tbs_certificate.as_ref(), &cert.signature_value.data);
    let own_key = cert.public_key().raw;
    let self_signed = match sm2_signature_valid(algorithm, tbs, signature, own_key) {
        Some(valid) => valid,
        None => cert.verify_signature(None).is_ok(),
    };
    if !self_signed {
        return Err(fail("self-signature does not verify".into()));
    }
    Ok(der)
}

/// The SubjectPublicKeyInfo (DER) of a certificate.
pub fn spki_of(der: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| CryptoError::Encoding(format!("certificate: {e}")))?;
    Ok(cert.public_key().raw.to_vec())
}

pub(super) fn public_key_of(der: &[u8]) -> Result<PublicKey, CryptoError> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| CryptoError::Encoding(format!("certificate: {e}")))?;
    PublicKey::from_spki_der(cert.public_key().raw)
}

/// The development key of the root `files` names, sealed under the KEK in the key
/// directory.
pub(super) fn dev_root_key(
    keys_dir: &Path,
    kek: &Kek,
    root: &[u8],
    files: &RootFiles,
) -> Result<Option<Arc<dyn Signer>>, CryptoError> {
    let path: PathBuf = keys_dir.join(files.key);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let sealed = B64
        .decode(text.trim())
        .map_err(|_| CryptoError::Encoding(format!("{} is not base64", path.display())))?;
    let public = public_key_of(root)?;
    let row = pki::KeyRow {
        id: public.thumbprint(),
        purpose: files.purpose.to_owned(),
        algorithm: public.algorithm().db_name().to_owned(),
        public_key: public.raw().to_vec(),
        encrypted_private: sealed,
        in_token: None,
        created_at: Timestamp::now(),
    };
    Ok(Some(Arc::new(open_row(kek, &row)?)))
}

/// Re-seals the development roots' keys in `keys_dir` (where there are any) from `old`
/// to `new`; a key already under `new` is left as it is. Each file is replaced whole
/// (written beside, then renamed). Returns how many were re-sealed.
pub fn rewrap_dev_roots(keys_dir: &Path, old: &Kek, new: &Kek) -> Result<usize, CryptoError> {
    let io = |e: std::io::Error| CryptoError::Encoding(e.to_string());
    let mut rewrapped = 0;
    for files in [&P256_ROOT, &SM2_ROOT] {
        let path = keys_dir.join(files.key);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let certificate = std::fs::read_to_string(keys_dir.join(files.certificate)).map_err(io)?;
        let public = public_key_of(&pem_to_der(&certificate)?)?;
        let aad = format!("tongban-key-v1|{}|{}", public.thumbprint(), files.purpose);
        let sealed = B64
            .decode(text.trim())
            .map_err(|_| CryptoError::Encoding(format!("{} is not base64", path.display())))?;
        let Some(pkcs8) = old.open(aad.as_bytes(), &sealed) else {
            if new.open(aad.as_bytes(), &sealed).is_some() {
                continue;
            }
            return Err(CryptoError::Decrypt {
                key_id: path.display().to_string(),
            });
        };
        let again = new.seal(aad.as_bytes(), &pkcs8)?;
        let beside = path.with_extension("rewrapped");
        std::fs::write(&beside, format!("{}\n", B64.encode(again))).map_err(io)?;
        std::fs::rename(&beside, &path).map_err(io)?;
        rewrapped += 1;
    }
    Ok(rewrapped)
}

/// Writes a new development P-256 root (key sealed under `kek`) into `keys_dir`.
pub fn write_dev_root(keys_dir: &Path, kek: &Kek) -> Result<Vec<u8>, CryptoError> {
    write_dev_root_files(keys_dir, kek, &P256_ROOT)
}

/// Writes a new development SM2 root (key sealed under `kek`) into `keys_dir`.
pub fn write_dev_sm2_root(keys_dir: &Path, kek: &Kek) -> Result<Vec<u8>, CryptoError> {
    write_dev_root_files(keys_dir, kek, &SM2_ROOT)
}

fn write_dev_root_files(
    keys_dir: &Path,
    kek: &Kek,
    files: &RootFiles,
) -> Result<Vec<u8>, CryptoError> {
    let (key, pkcs8) = crate::signer::SoftwareKey::generate(files.algorithm)?;
    let now = time::OffsetDateTime::now_utc();
    let root = match files.algorithm {
        Algorithm::Sm2 => crate::sm2_certificates::self_signed_root(&key, files.name, now)?,
        Algorithm::Es256 | Algorithm::Ed25519 => ca::self_signed_root(&key, files.name, now)?,
    };
    let aad = format!("tongban-key-v1|{}|{}", key.key_id(), files.purpose);
    let sealed = kek.seal(aad.as_bytes(), &pkcs8.0)?;
    let io = |e: std::io::Error| CryptoError::Encoding(e.to_string());
    std::fs::create_dir_all(keys_dir).map_err(io)?;
    let certificate = der_to_pem("CERTIFICATE", &root.der);
    std::fs::write(keys_dir.join(files.certificate), certificate).map_err(io)?;
    let key_text = format!("{}\n", B64.encode(sealed));
    std::fs::write(keys_dir.join(files.key), key_text).map_err(io)?;
    Ok(root.der)
}
