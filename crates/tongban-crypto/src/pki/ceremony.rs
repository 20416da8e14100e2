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

use super::root::{load_root, pem_to_der};
use super::rows::{ISSUING_PURPOSE, certificate_row_named};

/// Production set-up, step 1: generates the issuing CA key (stored encrypted) and
/// returns its PKCS#10 request (PEM) for the offline root to sign.
pub async fn issuing_request(store: &Store, kek: Arc<Kek>) -> Result<String, CryptoError> {
    let keys = KeyStore::new(store.clone(), kek);
    let signer = keys.generate(Algorithm::Es256, ISSUING_PURPOSE).await?;
    ca::issuing_ca_csr(signer.as_ref(), "Tongban Issuing CA")
}

/// Production set-up, step 2: stores the issuing CA certificate the offline root
/// signed, after checking that the root in `keys_dir` signed it, that it is a CA, and
/// that its key is one `issuing_request` made here. Returns its serial.
pub async fn import_issuing(
    store: &Store,
    keys_dir: &Path,
    pem: &str,
) -> Result<String, CryptoError> {
    let root_der = load_root(keys_dir)?;
    let der = pem_to_der(pem)?;
    let bad = |reason: &str| CryptoError::Encoding(format!("issuing CA certificate: {reason}"));
    let (_, root) = X509Certificate::from_der(&root_der).map_err(|_| bad("root unreadable"))?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|_| bad("not a certificate"))?;
    if cert.issuer().as_raw() != root.subject().as_raw()
        || cert.verify_signature(Some(root.public_key())).is_err()
    {
        return Err(bad("not signed by the root in keys.dir"));
    }
    if !cert.is_ca() {
        return Err(bad("not a CA certificate"));
    }
    let public = PublicKey::from_spki_der(cert.public_key().raw)?;
    let mut conn = store.conn().await?;
    let key = pki::key(&mut conn, &public.thumbprint()).await?;
    drop(conn);
    if key.is_none_or(|k| k.purpose != ISSUING_PURPOSE) {
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
        ca::ROOT,
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
