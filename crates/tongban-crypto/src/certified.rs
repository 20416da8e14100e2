//! Keys with their certificate chains, ready to sign, kept once read: what a seal
//! applies for every document.

use std::sync::Arc;

use tongban_store::Conn as AnyConnection;
use tongban_store::pki;

use crate::cms::SignerChain;
use crate::error::CryptoError;
use crate::kept::Kept;
use crate::keystore::KeyStore;
use crate::signer::{Algorithm, PublicKey, Signer};

/// A key and its certificate chain (its certificate, then the issuing CA's).
pub struct Certified {
    /// The key.
    pub signer: Arc<dyn Signer>,
    /// DER, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// The chain as CMS names its signer (parsed once); none for SM2 keys, which sign
    /// GB/T 38540 structures instead.
    cms: Option<SignerChain>,
}

impl Certified {
    /// The chain as CMS names its signer.
    pub fn cms(&self) -> Result<&SignerChain, CryptoError> {
        self.cms
            .as_ref()
            .ok_or_else(|| CryptoError::InvalidKey("CMS signing supports ES256 keys".into()))
    }

    /// The key's own certificate (DER).
    pub fn certificate(&self) -> &[u8] {
        self.chain.first().map_or(&[], Vec::as_slice)
    }
}

/// Certified keys by certificate serial. An issued certificate never changes (its
/// revocation is kept apart, and whoever signs checks the status of the row that uses
/// it), so a chain is read and parsed once instead of for every signature.
#[derive(Clone, Default)]
pub struct CertifiedKeys {
    kept: Kept<Arc<Certified>>,
}

impl CertifiedKeys {
    /// Key `key_id` with its certificate `serial` and the certificate of the CA that
    /// issued it (`issuing` by CA name); refused when the certificate does not certify
    /// that key.
    pub async fn load_in(
        &self,
        conn: &mut AnyConnection,
        keys: &KeyStore,
        key_id: &str,
        serial: &str,
        issuing: impl Fn(&str) -> Option<Vec<u8>>,
    ) -> Result<Arc<Certified>, CryptoError> {
        if let Some(found) = self.kept.get(serial)
            && found.signer.key_id() == key_id
        {
            return Ok(found);
        }
        let row = pki::certificate(conn, serial)
            .await?
            .ok_or_else(|| CryptoError::NotFound(format!("certificate {serial}")))?;
        if row.key_id != key_id {
            return Err(CryptoError::InvalidKey(format!(
                "certificate {serial} certifies another key than {key_id}"
            )));
        }
        let issuer = issuing(&row.issuer)
            .ok_or_else(|| CryptoError::NotFound(format!("issuing CA {}", row.issuer)))?;
        let signer = keys.load_in(conn, key_id).await?;
        if PublicKey::from_spki_der(&crate::pki::spki_of(&row.der)?)?.raw()
            != signer.public_key().raw()
        {
            return Err(CryptoError::InvalidKey(format!(
                "certificate {serial} does not certify key {key_id}"
            )));
        }
        let chain = vec![row.der, issuer];
        let cms = match signer.algorithm() {
            Algorithm::Sm2 => None,
            Algorithm::Es256 | Algorithm::Ed25519 => {
                Some(SignerChain::new(signer.as_ref(), &chain)?)
            }
        };
        let certified = Arc::new(Certified { signer, chain, cms });
        self.kept.keep(serial, certified.clone());
        Ok(certified)
    }
}
