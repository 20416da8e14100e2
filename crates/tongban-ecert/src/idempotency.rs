//! `Idempotency-Key` on issuance: a retried issuance answers what the first call
//! answered and creates nothing. The key is remembered
//! ([`tongban_store::idempotency`]) in the transaction that issues, so either both the
//! certificates and the key are stored or neither is.

use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_store::Conn;
use tongban_store::idempotency::{self, Recalled};

use crate::error::{EcertError, corrupt, invalid};

/// Longest key accepted.
pub const MAX_KEY_LEN: usize = idempotency::MAX_KEY_LEN;

/// Checks a key's shape: 1 to 255 visible ASCII characters.
pub fn check_key(key: &str) -> Result<(), EcertError> {
    if !idempotency::key_is_valid(key) {
        return Err(invalid(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        ));
    }
    Ok(())
}

/// The response stored for `actor`'s `key`, if any. The same key with another request
/// is refused: a key names one request.
pub async fn recall(
    conn: &mut Conn,
    actor: &str,
    key: &str,
    request_sha256: &str,
) -> Result<Option<Value>, EcertError> {
    match idempotency::recall(conn, actor, key, request_sha256, Timestamp::now()).await? {
        None => Ok(None),
        Some(Recalled::OtherRequest) => Err(EcertError::Conflict(
            "this Idempotency-Key was used for another request".into(),
        )),
        Some(Recalled::Answer(response)) => serde_json::from_str(&response)
            .map(Some)
            .map_err(|_| corrupt("stored idempotent response")),
    }
}

/// Remembers `response` for `actor`'s `key`, in the caller's transaction.
pub async fn remember(
    conn: &mut Conn,
    actor: &str,
    key: &str,
    request_sha256: &str,
    response: &Value,
    now: Timestamp,
) -> Result<(), EcertError> {
    idempotency::remember(conn, actor, key, request_sha256, &response.to_string(), now).await?;
    Ok(())
}

/// Hex SHA-256 of a request body, to tell a retry from a different request.
pub fn request_hash(body: &[u8]) -> String {
    tongban_crypto::ca::hex(ring::digest::digest(&ring::digest::SHA256, body).as_ref())
}
