//! `Idempotency-Key`: a request retried under the same key (per caller) is answered with
//! what the first one was answered, and nothing is done again. The answer is remembered
//! in the transaction that did the work, so the work and the answer are stored together
//! or not at all, whichever instance ends up answering the retry.

use sqlx::Row;
use tongban_core::time::Timestamp;

use crate::{Conn, StoreError};

/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// How long a key is remembered: a client retries within minutes; a day covers one
/// that retries after an outage.
pub const KEPT_MS: i64 = 24 * 60 * 60 * 1000;

/// Whether `key` is 1 to [`MAX_KEY_LEN`] visible ASCII characters.
pub fn key_is_valid(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

/// What is remembered under a caller's key.
#[derive(Debug, PartialEq, Eq)]
pub enum Recalled {
    /// The same request was answered so.
    Answer(String),
    /// The key was used for another request.
    OtherRequest,
}

/// What `actor`'s `key` remembers for the request whose hash is `request_sha256`, if
/// the key was used in the last [`KEPT_MS`].
pub async fn recall(
    conn: &mut Conn,
    actor: &str,
    key: &str,
    request_sha256: &str,
    now: Timestamp,
) -> Result<Option<Recalled>, StoreError> {
    let row = sqlx::query(
        "SELECT request_sha256, response FROM idempotency_keys \
         WHERE actor = $1 AND key = $2 AND created_at >= $3",
    )
    .bind(actor)
    .bind(key)
    .bind(now.unix_millis() - KEPT_MS)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored: String = row.try_get("request_sha256")?;
    if stored != request_sha256 {
        return Ok(Some(Recalled::OtherRequest));
    }
    Ok(Some(Recalled::Answer(row.try_get("response")?)))
}

/// Remembers `response` for `actor`'s `key`, in the caller's transaction, and forgets
/// keys older than [`KEPT_MS`] (an expired row of the same key included).
pub async fn remember(
    conn: &mut Conn,
    actor: &str,
    key: &str,
    request_sha256: &str,
    response: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(now.unix_millis() - KEPT_MS)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO idempotency_keys (actor, key, request_sha256, response, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(actor)
    .bind(key)
    .bind(request_sha256)
    .bind(response)
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(())
}
