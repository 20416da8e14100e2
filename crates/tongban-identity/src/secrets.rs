//! Random tokens for browsers and clients, and their digests for storage.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::rand::{SecureRandom, SystemRandom};

/// The system random number generator failed.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("random number generator failed")]
pub struct RngError;

/// `bytes` random bytes as base64url (unpadded).
pub fn random_token(bytes: usize) -> Result<String, RngError> {
    let mut buffer = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buffer)
        .map_err(|_| RngError)?;
    Ok(B64URL.encode(buffer))
}

/// Crockford's base32 (no I, L, O, U): characters people read aloud and type.
const READABLE: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `groups` groups of four random [`READABLE`] characters joined by hyphens
/// (`K7PM-3XHD`), 20 bits a group: for what is printed or shown and then typed.
pub fn readable_token(groups: usize) -> Result<String, RngError> {
    let mut bytes = vec![0u8; groups * 4];
    SystemRandom::new().fill(&mut bytes).map_err(|_| RngError)?;
    let chars: Vec<String> = bytes
        .chunks(4)
        .map(|group| {
            group
                .iter()
                .map(|b| char::from(READABLE[usize::from(b & 31)]))
                .collect()
        })
        .collect();
    Ok(chars.join("-"))
}

/// SHA-256 of `text` as lowercase hex: how tokens are stored, so that a copy of the
/// database does not hand out working cookies, codes or secrets.
pub fn sha256_hex(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// base64url(SHA-256(`verifier`)): the PKCE S256 challenge (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    B64URL.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_tokens_are_groups_of_four_readable_characters() {
        let token = readable_token(4).unwrap();
        assert_eq!(token.len(), 19);
        for group in token.split('-') {
            assert_eq!(group.len(), 4);
            assert!(group.bytes().all(|b| READABLE.contains(&b)), "{token}");
        }
        assert_ne!(token, readable_token(4).unwrap());
    }

    #[test]
    fn rfc7636_appendix_b_example() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
