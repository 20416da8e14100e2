//! The key-encryption key (KEK): 32 random bytes, base64, from `TONGBAN_KEK` or from the
//! file named by `keys.kek_file`. Every private key at rest is encrypted under it.

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tongban_core::config::KeysConfig;

/// Length of the KEK: an AES-256 key.
pub const KEK_LEN: usize = 32;

/// The key-encryption key. Its bytes are never printed.
pub struct Kek(
    #[expect(
        dead_code,
        reason = "read by the encrypted key store, which the PKI issue adds"
    )]
    [u8; KEK_LEN],
);

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek(…)")
    }
}

/// Why the KEK could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KekError {
    /// The KEK file could not be read.
    #[error("cannot read key-encryption key file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not base64 of exactly 32 bytes.
    #[error("the key-encryption key must be base64 of exactly {KEK_LEN} random bytes")]
    Malformed,
}

impl Kek {
    /// Loads the KEK from the environment value or the file; `None` if neither is set.
    /// The environment value wins, so an operator can override a file for one run.
    pub fn load(config: &KeysConfig) -> Result<Option<Self>, KekError> {
        let text = match (&config.kek, &config.kek_file) {
            (Some(value), _) => value.clone(),
            (None, Some(path)) => {
                std::fs::read_to_string(path).map_err(|source| KekError::Read {
                    path: path.clone(),
                    source,
                })?
            }
            (None, None) => return Ok(None),
        };
        Self::from_base64(text.trim()).map(Some)
    }

    /// Parses standard or URL-safe base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, KekError> {
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| KekError::Malformed)?;
        let key: [u8; KEK_LEN] = bytes.try_into().map_err(|_| KekError::Malformed)?;
        Ok(Self(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_32_bytes_are_accepted() {
        assert!(Kek::from_base64(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(Kek::from_base64(&URL_SAFE_NO_PAD.encode([7u8; 32])).is_ok());
        assert!(Kek::from_base64(&STANDARD.encode([7u8; 16])).is_err());
        assert!(Kek::from_base64("not base64!").is_err());
        assert_eq!(
            format!(
                "{:?}",
                Kek::from_base64(&STANDARD.encode([7u8; 32])).unwrap()
            ),
            "Kek(…)"
        );
    }
}
