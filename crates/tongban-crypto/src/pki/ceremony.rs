//! The production set-up of the issuing CA under an offline root: a key and its
//! request made here, the certificate the root signed imported after checks.

use std::path::Path;
use std::sync::Arc;

use tongban_core::time::Timestamp;
use tongban_store::{Store, StoreError, pki};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::ca::{self, Issued};
use crate::error::CryptoError;
use crate::kek::Kek;
use crate::keystore::KeyStore;
use crate::signer::{Algorithm, PublicKey};

use crate::sm2_certificates::sm2_signature_valid;

use super::root::{der_to_pem, load_root, load_sm2_root, pem_to_der};
use super::rows::{ISSUING_PURPOSE, SM2_ISSUING_PURPOSE, certificate_row_named};

/// Production set-up, step 1: generates the issuing CA key of `algorithm` (P-256 or
/// SM2, stored encrypted) and returns its PKCS#10 request (PEM) for the offline root to
/// sign.
pub async fn issuing_request(
    store: &Store,
    kek: Arc<Kek>,
    algorithm: Algorithm,
) -> Result<String, CryptoError> {
    let keys = KeyStore::new(store.clone(), kek);
    match algorithm {
        Algorithm::Sm2 => {
            let signer = keys.generate(Algorithm::Sm2, SM2_ISSUING_PURPOSE).await?;
            let name = "Tongban SM2 Issuing CA";
            let der = crate::sm2_certificates::issuing_ca_request(signer.as_ref(), name)?;
            Ok(der_to_pem("CERTIFICATE REQUEST", &der))
        }
        Algorithm::Es256 | Algorithm::Ed25519 => {
            let signer = keys.generate(Algorithm::Es256, ISSUING_PURPOSE).await?;
            ca::issuing_ca_csr(signer.as_ref(), "Tongban Issuing CA")
        }
    }
}

/// Production set-up, step 2: stores the issuing CA certificate the offline root of
/// `algorithm` signed, after checking that the root in `keys_dir` signed it, that it is
/// a CA, and that its key is one `issuing_request` made here. Returns its serial.
pub async fn import_issuing(
    store: &Store,
    keys_dir: &Path,
    pem: &str,
    algorithm: Algorithm,
) -> Result<String, CryptoError> {
    let bad = |reason: &str| CryptoError::Encoding(format!("issuing CA certificate: {reason}"));
    let (root_der, root_name, purpose) = match algorithm {
        Algorithm::Sm2 => (
            load_sm2_root(keys_dir)?.ok_or_else(|| bad("keys.dir has no SM2 root"))?,
            ca::SM2_ROOT,
            SM2_ISSUING_PURPOSE,
        ),
        Algorithm::Es256 | Algorithm::Ed25519 => (load_root(keys_dir)?, ca::ROOT, ISSUING_PURPOSE),
    };
    let der = pem_to_der(pem)?;
    let (_, root) = X509Certificate::from_der(&root_der).map_err(|_| bad("root unreadable"))?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|_| bad("not a certificate"))?;
    let signature_algorithm = &cert.signature_algorithm.algorithm;
    let (tbs, signature) = (cert.tbs_certificate.as_ref(), &cert.signature_value.data);
    let root_key = root.public_key();
    let signed = match sm2_signature_valid(signature_algorithm, tbs, signature, root_key.raw) {
        Some(valid) => valid,
        None => cert.verify_signature(Some(root_key)).is_ok(),
    };
    if cert.issuer().as_raw() != root.subject().as_raw() || !signed {
        return Err(bad("not signed by the root in keys.dir"));
    }
    if !cert.is_ca() {
        return Err(bad("not a CA certificate"));
    }
    let public = PublicKey::from_spki_der(cert.public_key().raw)?;
    let mut conn = store.conn().await?;
    let key = pki::key(&mut conn, &public.thumbprint()).await?;
    drop(conn);
    if key.is_none_or(|k| k.purpose != purpose) {
        return Err(bad(
            "its key was not made by `tongban keys issuing-csr` on this database",
        ));
    }
    let serial = ca::hex(cert.raw_serial());
    let issued = Issued {
        der: der.clone(),
        serial: serial.clone(),
        not_before: Timestamp::from_unix_millis(cert.validity().not_before.timestamp() * 1000),
        not_after: Timestamp::from_unix_millis(cert.validity().not_after.timestamp() * 1000),
    };
    let row = certificate_row_named(
        root_name,
        "issuing-ca",
        &cert.subject().to_string(),
        &public.thumbprint(),
        &issued,
    );
    let mut tx = store.begin().await?;
    pki::insert_certificate(&mut tx, &row).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(serial)
}
