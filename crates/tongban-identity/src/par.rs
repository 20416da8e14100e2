//! Pushed authorization requests (RFC 9126): a client posts its authorization request
//! to the back channel, authenticated, and sends the browser to `/authorize` with only
//! its `client_id` and the `request_uri` it got back. The parameters never pass through
//! the browser, and a client registered with `require_par` cannot be sent any other way.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, Store, StoreError};

use crate::clients::Client;
use crate::refusal::Refusal;
use crate::secrets::{RngError, random_token, sha256_hex};
use crate::sso::{self, AuthorizeError, AuthorizeParams};

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

/// Takes a request pushed by the authenticated `client`, bound to the key of the
/// push's DPoP proof if it had one (as `dpop_jkt` would bind it, RFC 9449 §10.1), and
/// returns its request URI, or why it is refused (RFC 9126 §2.3). The request is
/// validated now, so the client hears of a bad
/// one at once (§2.1), and again when the browser arrives, against the client as it is
/// then.
pub async fn accept(
    store: &Store,
    client: &Client,
    mut params: AuthorizeParams,
    proof_key: Option<String>,
    now: Timestamp,
) -> Result<Result<String, Refusal>, ParError> {
    if params.request_uri.is_some() {
        let why = "a pushed request cannot name a request_uri";
        return Ok(Err(Refusal::new("invalid_request", why)));
    }
    if params
        .client_id
        .as_deref()
        .is_some_and(|id| id != client.id)
    {
        let why = "client_id differs from the authenticated client";
        return Ok(Err(Refusal::new("invalid_request", why)));
    }
    params.client_id = Some(client.id.clone());
    if let Some(jkt) = proof_key {
        if params.dpop_jkt.as_ref().is_some_and(|asked| *asked != jkt) {
            let why = "dpop_jkt differs from the proof's key";
            return Ok(Err(Refusal::new("invalid_dpop_proof", why)));
        }
        params.dpop_jkt = Some(jkt);
    }
    match sso::validate(Some(client.clone()), &params, true) {
        Ok(_) => {}
        Err(AuthorizeError::Page(why)) => {
            return Ok(Err(Refusal::new("invalid_request", why.to_string())));
        }
        Err(AuthorizeError::Redirect {
            error, description, ..
        }) => return Ok(Err(Refusal::new(error, description))),
    }
    let mut conn = store.conn().await?;
    push(&mut conn, &client.id, &params, now).await.map(Ok)
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
