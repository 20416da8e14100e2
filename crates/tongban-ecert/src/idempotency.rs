//! `Idempotency-Key`: a retried issuance answers what the first call answered and
//! creates nothing. The key is remembered in the transaction that issues, so either
//! both the certificates and the key are stored or neither is.

use serde_json::Value;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::Conn;

use crate::error::{EcertError, corrupt, invalid};

/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// Checks a key's shape: 1 to 255 visible ASCII characters.
pub fn check_key(key: &str) -> Result<(), EcertError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
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
    let row = sqlx::query(
        "SELECT request_sha256, response FROM idempotency_keys WHERE actor = $1 AND key = $2",
    )
    .bind(actor)
    .bind(key)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored: String = row.try_get("request_sha256")?;
    if stored != request_sha256 {
        return Err(EcertError::Conflict(
            "this Idempotency-Key was used for another request".into(),
        ));
    }
    let response: String = row.try_get("response")?;
    serde_json::from_str(&response)
        .map(Some)
        .map_err(|_| corrupt("stored idempotent response"))
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
    sqlx::query(
        "INSERT INTO idempotency_keys (actor, key, request_sha256, response, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(actor)
    .bind(key)
    .bind(request_sha256)
    .bind(response.to_string())
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Hex SHA-256 of a request body, to tell a retry from a different request.
pub fn request_hash(body: &[u8]) -> String {
    tongban_crypto::ca::hex(ring::digest::digest(&ring::digest::SHA256, body).as_ref())
}
