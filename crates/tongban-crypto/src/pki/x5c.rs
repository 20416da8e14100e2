//! The signing certificates that JWSs carry in their `x5c` header, read once: every
//! verification of a credential signed by one department seal carries the same one,
//! and decoding and parsing it again was a tenth of such a verification's own work.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::Pki;
use crate::signer::PublicKey;

/// The longest `x5c` text kept. Our seal certificates are under 2 KB as base64; anyone
/// can present any certificate, and without this bound a few thousand large ones would
/// be held in memory.
const KEPT_TEXT_MAX: usize = 8 * 1024;

/// A signing certificate from an `x5c` header.
pub struct X5cLeaf {
    /// DER.
    pub der: Vec<u8>,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// Its subject public key.
    pub key: PublicKey,
}

/// Why an `x5c` certificate cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum X5cError {
    #[error("the x5c certificate is not base64")]
    Encoding,
    #[error("the x5c certificate cannot be read")]
    Unreadable,
    #[error("the x5c key is not one we verify")]
    Key,
}

impl Pki {
    /// The certificate of an `x5c` entry (standard base64), decoded and read. Kept by
    /// its text after the first read, as what a text reads as cannot change; what
    /// cannot be read, or is longer than [`KEPT_TEXT_MAX`], is not kept. Whether it is
    /// trusted is path validation's question.
    pub fn x5c_leaf(&self, x5c: &str) -> Result<Arc<X5cLeaf>, X5cError> {
        if let Some(leaf) = self.x5c.get(x5c) {
            return Ok(leaf);
        }
        let der = B64.decode(x5c).map_err(|_| X5cError::Encoding)?;
        let (serial, key) = {
            let (_, parsed) =
                x509_parser::parse_x509_certificate(&der).map_err(|_| X5cError::Unreadable)?;
            let key =
                PublicKey::from_spki_der(parsed.public_key().raw).map_err(|_| X5cError::Key)?;
            (crate::ca::hex(parsed.raw_serial()), key)
        };
        let leaf = Arc::new(X5cLeaf { der, serial, key });
        if x5c.len() <= KEPT_TEXT_MAX {
            self.x5c.keep(x5c, leaf.clone());
        }
        Ok(leaf)
    }
}
