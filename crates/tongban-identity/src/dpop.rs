//! DPoP (RFC 9449): proofs of possession of a client's key, which bind access and
//! refresh tokens to that key so that a stolen token is useless without it.
//!
//! Nonces (§8, §9) are stateless: a time and its HMAC under a key derived from the
//! KEK, so every instance accepts what another issued. Each proof's `jti` is accepted
//! once while the proof is fresh, recorded in the database.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_crypto::jose::{self, Jwk, Jwks};
use tongban_crypto::kek::Kek;
use tongban_store::{Conn, StoreError};

use crate::secrets::sha256_hex;

/// How long a nonce is accepted, seconds.
pub const NONCE_SECS: i64 = 300;
/// How far a proof's `iat` may lie from now, seconds.
pub const IAT_WINDOW_SECS: i64 = 60;

/// Why a DPoP proof was refused.
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    /// The proof is malformed, badly signed, for another request, stale or replayed
    /// (`invalid_dpop_proof`).
    #[error("invalid DPoP proof: {0}")]
    Invalid(String),
    /// The proof lacks a current nonce (`use_dpop_nonce`): retry with the one given.
    #[error("a DPoP nonce is required")]
    UseNonce,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(why: impl Into<String>) -> DpopError {
    DpopError::Invalid(why.into())
}

/// Issues and checks DPoP nonces.
pub struct DpopNonces(Kek);

impl DpopNonces {
    /// This deployment's nonce key.
    pub fn derive(kek: &Kek) -> Self {
        Self(kek.derive("tongban dpop nonces v1"))
    }

    /// A fresh nonce: the time and its MAC.
    pub fn issue(&self, now: Timestamp) -> String {
        let at = (now.unix_millis() / 1000).to_be_bytes();
        let tag = self.0.mac(&at);
        B64URL.encode([&at[..], &tag[..]].concat())
    }

    fn accepts(&self, nonce: &str, now: Timestamp) -> bool {
        let Ok(bytes) = B64URL.decode(nonce) else {
            return false;
        };
        if bytes.len() != 40 {
            return false;
        }
        let (at, tag) = bytes.split_at(8);
        if !self.0.mac_matches(at, tag) {
            return false;
        }
        let mut secs = [0u8; 8];
        secs.copy_from_slice(at);
        let age = now.unix_millis() / 1000 - i64::from_be_bytes(secs);
        (0..=NONCE_SECS).contains(&age)
    }
}

/// The request a proof must be for.
#[derive(Clone, Copy, Debug)]
pub struct ProofTarget<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The URL without query and fragment (RFC 9449 §4.3).
    pub url: &'a str,
    /// The access token presented with it, at a resource (`ath`).
    pub access_token: Option<&'a str>,
}

/// A DPoP proof whose signature, key and claims were checked, not yet its uniqueness.
#[derive(Debug)]
pub struct Proof {
    /// The JWK SHA-256 thumbprint of its key (RFC 7638).
    pub jkt: String,
    /// Its `jti`.
    pub jti: String,
}

/// Verifies a DPoP proof for `target`; returns the JWK thumbprint of its key.
pub async fn verify(
    conn: &mut Conn,
    nonces: &DpopNonces,
    proof: &str,
    target: ProofTarget<'_>,
    now: Timestamp,
) -> Result<String, DpopError> {
    let Proof { jkt, jti } = read(nonces, proof, target, now)?;
    let now_secs = now.unix_millis() / 1000;
    // Once per key and jti while a proof with that iat could still be accepted.
    let seen = sqlx::query(
        "INSERT INTO dpop_proofs (jti_sha256, expires_at) VALUES ($1, $2) ON CONFLICT (jti_sha256) DO NOTHING",
    )
    .bind(sha256_hex(&format!("{jkt}|{jti}")))
    .bind((now_secs + 2 * IAT_WINDOW_SECS) * 1000)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from)?;
    if seen.rows_affected() != 1 {
        return Err(invalid("the proof was used before"));
    }
    sqlx::query("DELETE FROM dpop_proofs WHERE expires_at < $1")
        .bind(now.unix_millis())
        .execute(conn)
        .await
        .map_err(StoreError::from)?;
    Ok(jkt)
}

/// Reads a DPoP proof for `target` (RFC 9449 §4.3): everything but whether its `jti`
/// was seen before, which needs the store.
pub fn read(
    nonces: &DpopNonces,
    proof: &str,
    target: ProofTarget<'_>,
    now: Timestamp,
) -> Result<Proof, DpopError> {
    let header_b64 = proof
        .split('.')
        .next()
        .ok_or_else(|| invalid("not a JWS"))?;
    let header: Value = B64URL
        .decode(header_b64)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| invalid("header is not base64url JSON"))?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(invalid("typ must be dpop+jwt"));
    }
    let jwk_value = header.get("jwk").ok_or_else(|| invalid("no jwk header"))?;
    if jwk_value.get("d").is_some() {
        return Err(invalid("the jwk holds a private key"));
    }
    let mut jwk: Jwk =
        serde_json::from_value(jwk_value.clone()).map_err(|_| invalid("jwk is not a JWK"))?;
    let key = jwk.public_key().map_err(|e| invalid(format!("jwk: {e}")))?;
    jwk.kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    let verified = jose::verify_compact(proof, None, &Jwks { keys: vec![jwk] })
        .map_err(|e| invalid(e.to_string()))?;
    let claims: Value =
        serde_json::from_slice(&verified.payload).map_err(|_| invalid("claims are not JSON"))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("htm") != Some(target.method) {
        return Err(invalid("htm is not this request's method"));
    }
    let htu = text("htu").ok_or_else(|| invalid("no htu"))?;
    let htu = htu.split(['?', '#']).next().unwrap_or(htu);
    if htu != target.url {
        return Err(invalid("htu is not this request's URL"));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("no iat"))?;
    let now_secs = now.unix_millis() / 1000;
    if iat.abs_diff(now_secs) > IAT_WINDOW_SECS.unsigned_abs() {
        return Err(invalid("iat is not current"));
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| invalid("no jti"))?;
    if let Some(token) = target.access_token {
        // ath is the S256 of the token, as PKCE's challenge is of its verifier.
        if text("ath") != Some(crate::secrets::s256_challenge(token).as_str()) {
            return Err(invalid("ath does not match the access token"));
        }
    }
    if !text("nonce").is_some_and(|n| nonces.accepts(n, now)) {
        return Err(DpopError::UseNonce);
    }
    Ok(Proof {
        jkt: key.thumbprint(),
        jti: jti.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_expire_and_cannot_be_forged() {
        let nonces = DpopNonces::derive(&Kek::generate().expect("kek"));
        let now = Timestamp::now();
        let nonce = nonces.issue(now);
        assert!(nonces.accepts(&nonce, now));
        let later = Timestamp::from_unix_millis(now.unix_millis() + (NONCE_SECS + 1) * 1000);
        assert!(!nonces.accepts(&nonce, later));
        let other = DpopNonces::derive(&Kek::generate().expect("kek"));
        assert!(!other.accepts(&nonce, now));
        assert!(!nonces.accepts("garbage", now));
    }
}
