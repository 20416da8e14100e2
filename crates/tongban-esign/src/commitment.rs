//! What a person approves, fixed before they approve it: the signer, the request (or
//! the CSC credential), the SHA-256 of each document or hash, the time and a nonce, as
//! canonical JSON. Its SHA-256 is the WebAuthn challenge, so the passkey's signature
//! covers exactly this.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_crypto::{ca::hex, cms};

use crate::error::SignError;

/// The commitment, in the order its fields are serialised (serde keeps struct order,
/// so the JSON, and with it the challenge, is the same wherever it is computed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    /// Version of this format.
    pub v: u8,
    /// `tongban-sign`: what the challenge is for.
    pub purpose: String,
    /// The signer's platform id.
    pub signer: String,
    /// The signing request, or `csc:<credential id>` for a CSC authorisation.
    pub request: String,
    /// SHA-256 (hex) of each document, or each hash a CSC client will have signed.
    pub documents: Vec<String>,
    /// When the approval was asked for, ms since the epoch.
    pub time: i64,
    /// 16 random bytes, base64url: no two approvals share a challenge.
    pub nonce: String,
}

impl Commitment {
    /// A new commitment to `documents` (SHA-256 each) for `signer` and `request`.
    pub fn new(
        signer: &str,
        request: &str,
        documents: &[[u8; 32]],
        now: Timestamp,
    ) -> Result<Self, SignError> {
        let nonce = tongban_identity::secrets::random_token(16)
            .map_err(|e| SignError::Internal(e.to_string()))?;
        Ok(Self {
            v: 1,
            purpose: "tongban-sign".into(),
            signer: signer.to_owned(),
            request: request.to_owned(),
            documents: documents.iter().map(|d| hex(d)).collect(),
            time: now.unix_millis(),
            nonce,
        })
    }

    /// The canonical JSON.
    pub fn to_json(&self) -> Result<String, SignError> {
        serde_json::to_string(self).map_err(|e| SignError::Internal(e.to_string()))
    }

    /// Reads a stored commitment.
    pub fn from_json(json: &str) -> Result<Self, SignError> {
        serde_json::from_str(json).map_err(|e| SignError::Internal(format!("commitment: {e}")))
    }

    /// The challenge: SHA-256 of the canonical JSON.
    pub fn challenge(&self) -> Result<[u8; 32], SignError> {
        Ok(cms::sha256(self.to_json()?.as_bytes()))
    }

    /// The challenge as the browser's client data carries it.
    pub fn challenge_text(&self) -> Result<String, SignError> {
        Ok(B64URL.encode(self.challenge()?))
    }

    /// Whether `digest` is one of the committed documents.
    pub fn covers(&self, digest: &[u8; 32]) -> bool {
        let digest = hex(digest);
        self.documents.contains(&digest)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_challenge_changes_with_every_committed_field() {
        let now = Timestamp::from_unix_millis(1_764_000_000_000);
        let base = Commitment::new("s", "r", &[[1; 32]], now).unwrap();
        let challenge = base.challenge().unwrap();
        let again = Commitment::from_json(&base.to_json().unwrap()).unwrap();
        assert_eq!(again.challenge().unwrap(), challenge);
        let variants = [
            Commitment {
                signer: "t".into(),
                ..base.clone()
            },
            Commitment {
                request: "q".into(),
                ..base.clone()
            },
            Commitment {
                documents: vec![hex(&[2; 32])],
                ..base.clone()
            },
            Commitment {
                time: base.time + 1,
                ..base.clone()
            },
            Commitment {
                nonce: "other".into(),
                ..base.clone()
            },
        ];
        for variant in variants {
            assert_ne!(variant.challenge().unwrap(), challenge);
        }
        assert!(base.covers(&[1; 32]));
        assert!(!base.covers(&[2; 32]));
        // Two commitments to the same documents differ by their nonce.
        let other = Commitment::new("s", "r", &[[1; 32]], now).unwrap();
        assert_ne!(other.challenge().unwrap(), challenge);
    }
}
