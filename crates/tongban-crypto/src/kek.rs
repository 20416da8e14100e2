//! The key-encryption key (KEK): 32 random bytes, base64, from `TONGBAN_KEK` or from the
//! file named by `keys.kek_file`. Every private key at rest is encrypted under it.

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use tongban_core::config::KeysConfig;

use crate::error::CryptoError;

/// Length of the KEK: an AES-256 key.
pub const KEK_LEN: usize = 32;

/// The key-encryption key. Its bytes are never printed.
pub struct Kek([u8; KEK_LEN]);

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

impl Kek {
    /// A fresh random KEK (for `tongban keys dev-init` and tests).
    pub fn generate() -> Result<Self, CryptoError> {
        let mut key = [0u8; KEK_LEN];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| CryptoError::Rng)?;
        Ok(Self(key))
    }

    /// The KEK as base64, to write it to a file or environment variable.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn aead(&self) -> LessSafeKey {
        // AES-256 accepts any 32-byte key, which `Kek` always holds.
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.0).unwrap_or_else(|_| unreachable!()))
    }

    /// The key's bytes, to be sealed as a secret of its own (the derivation root).
    pub(crate) fn secret(&self) -> &[u8] {
        &self.0
    }

    /// A key from bytes a [`Kek::secret`] gave.
    pub(crate) fn from_secret(bytes: &[u8]) -> Option<Self> {
        Some(Self(bytes.try_into().ok()?))
    }

    /// A key for another purpose, derived with HKDF-SHA256 (RFC 5869) under `label`, so
    /// that one secret never serves two uses and every instance derives the same key.
    pub fn derive(&self, label: &str) -> Kek {
        struct Len;
        impl ring::hkdf::KeyType for Len {
            fn len(&self) -> usize {
                KEK_LEN
            }
        }
        let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"tongban-kek-derive");
        let prk = salt.extract(&self.0);
        let mut out = [0u8; KEK_LEN];
        let info = [label.as_bytes()];
        // HKDF-SHA256 can expand to 255 × 32 bytes; 32 always succeeds.
        if let Ok(okm) = prk.expand(&info, Len) {
            let _ = okm.fill(&mut out);
        }
        Kek(out)
    }

    /// HMAC-SHA256 of `data` under this key (use a [`Kek::derive`]d key, never the KEK
    /// itself): deterministic values every instance computes alike.
    pub fn mac(&self, data: &[u8]) -> [u8; 32] {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        let tag = ring::hmac::sign(&key, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Whether `tag` is the HMAC-SHA256 of `data` (constant time).
    pub fn mac_matches(&self, data: &[u8], tag: &[u8]) -> bool {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        ring::hmac::verify(&key, data, tag).is_ok()
    }

    /// Encrypts `plaintext` with AES-256-GCM under a fresh random nonce, binding it to
    /// `aad`. Output: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| CryptoError::Rng)?;
        let mut buffer = plaintext.to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buffer,
            )
            .map_err(|_| CryptoError::Encoding("AES-GCM seal".into()))?;
        Ok([&nonce[..], &buffer].concat())
    }

    /// Decrypts what [`Kek::seal`] produced with the same `aad`; `None` if the KEK, the
    /// associated data or the ciphertext differ.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(aad), &mut buffer)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_differ_by_label_and_are_stable() {
        let kek = Kek::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        let a = kek.derive("a");
        assert_eq!(a.0, kek.derive("a").0);
        assert_ne!(a.0, kek.derive("b").0);
        assert_ne!(a.0, kek.0);
        let sealed = a.seal(b"aad", b"text").unwrap();
        assert!(kek.derive("b").open(b"aad", &sealed).is_none());
        assert_eq!(a.open(b"aad", &sealed).unwrap(), b"text");
    }

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
