//! Pushed authorization requests (RFC 9126): a client posts its authorization request
//! to the back channel, authenticated, and sends the browser to `/authorize` with only
//! its `client_id` and the `request_uri` it got back. The parameters never pass through
//! the browser, and a client registered with `require_par` cannot be sent any other way.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use crate::secrets::{RngError, random_token, sha256_hex};
use crate::sso::AuthorizeParams;

/// The prefix of our request URIs (RFC 9126 §2.2).
pub const URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request waits for the browser, seconds.
pub const LIFETIME_SECS: i64 = 60;

/// Why a pushed request cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ParError {
    /// Unknown, expired, used, or pushed by another client.
    #[error("the request_uri is unknown, expired, used or another client's")]
    Unknown,
    /// The random number generator failed.
    #[error(transparent)]
    Rng(#[from] RngError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ParError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

/// Stores `params` pushed by `client_id` (already validated); returns the request URI.
pub async fn push(
    conn: &mut Conn,
    client_id: &str,
    params: &AuthorizeParams,
    now: Timestamp,
) -> Result<String, ParError> {
    let uri = format!("{URI_PREFIX}{}", random_token(32)?);
    let json = serde_json::to_string(params)
        .map_err(|e| ParError::Store(StoreError::Corrupt(e.to_string())))?;
    sqlx::query(
        "INSERT INTO pushed_requests (uri_sha256, client_id, params, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(sha256_hex(&uri))
    .bind(client_id)
    .bind(json)
    .bind(now.unix_millis() + LIFETIME_SECS * 1000)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM pushed_requests WHERE expires_at <= $1")
        .bind(now.unix_millis())
        .execute(conn)
        .await?;
    Ok(uri)
}

/// Takes the request pushed as `uri` by `client_id`, once.
pub async fn take(
    conn: &mut Conn,
    uri: &str,
    client_id: &str,
    now: Timestamp,
) -> Result<AuthorizeParams, ParError> {
    let row = sqlx::query(
        "DELETE FROM pushed_requests WHERE uri_sha256 = $1 AND client_id = $2 RETURNING params, expires_at",
    )
    .bind(sha256_hex(uri))
    .bind(client_id)
    .fetch_optional(conn)
    .await?
    .ok_or(ParError::Unknown)?;
    if row.try_get::<i64, _>("expires_at")? <= now.unix_millis() {
        return Err(ParError::Unknown);
    }
    let params: String = row.try_get("params")?;
    serde_json::from_str(&params).map_err(|e| ParError::Store(StoreError::Corrupt(e.to_string())))
}
