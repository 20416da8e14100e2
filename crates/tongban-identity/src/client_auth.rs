//! private_key_jwt client authentication (RFC 7523 §2.2, OpenID Connect Core §9): the
//! client signs a short-lived JWT with a key it registered; we verify it against that
//! key only, check issuer, subject, audience and lifetime, and accept each `jti` once.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_crypto::jose;
use tongban_store::{Conn, StoreError};

use crate::clients::{self, Client, ClientError};

/// The `client_assertion_type` of a JWT client assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longest accepted assertion lifetime; bounds the replay table too.
pub const MAX_LIFETIME_SECS: i64 = 300;
/// Allowed clock difference with the client.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// Why an assertion was refused. Every variant is `invalid_client` to the caller.
#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    /// Malformed, unsigned, signed by another key, or with wrong claims.
    #[error("client assertion refused: {0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ClientError> for AssertionError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Store(store) => Self::Store(store),
            other => Self::Invalid(other.to_string()),
        }
    }
}

fn invalid(why: impl Into<String>) -> AssertionError {
    AssertionError::Invalid(why.into())
}

/// The unverified `iss` of an assertion: only to find whose keys to verify it with.
fn claimed_issuer(assertion: &str) -> Result<String, AssertionError> {
    let payload = assertion
        .split('.')
        .nth(1)
        .ok_or_else(|| invalid("not a compact JWS"))?;
    let bytes = B64URL
        .decode(payload)
        .map_err(|_| invalid("payload is not base64url"))?;
    let claims: Value =
        serde_json::from_slice(&bytes).map_err(|_| invalid("payload is not JSON"))?;
    claims
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| invalid("no iss"))
}

/// Authenticates the client of `assertion`. `client_id`, if the request also names
/// one, must be the assertion's issuer. `audiences` are the values accepted in `aud`
/// (our issuer and the endpoint called).
pub async fn authenticate(
    conn: &mut Conn,
    assertion: &str,
    client_id: Option<&str>,
    audiences: &[&str],
    now: Timestamp,
) -> Result<Client, AssertionError> {
    let issuer = claimed_issuer(assertion)?;
    if client_id.is_some_and(|id| id != issuer) {
        return Err(invalid("client_id differs from the assertion's iss"));
    }
    let client = clients::find(conn, &issuer)
        .await?
        .ok_or_else(|| invalid("unknown client"))?;
    let keys = client
        .jwks
        .as_ref()
        .ok_or_else(|| invalid("the client has no registered keys"))?;
    let verified =
        jose::verify_compact(assertion, None, keys).map_err(|e| invalid(e.to_string()))?;
    let claims: Value =
        serde_json::from_slice(&verified.payload).map_err(|_| invalid("payload is not JSON"))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client.id.as_str()) || text("sub") != Some(client.id.as_str()) {
        return Err(invalid("iss and sub must both be the client_id"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => audiences.contains(&aud.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| audiences.contains(&aud)),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid("aud is not this server"));
    }
    let t = now.unix_millis() / 1000;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("no exp"))?;
    if exp + CLOCK_SKEW_SECS <= t {
        return Err(invalid("expired"));
    }
    if exp > t + MAX_LIFETIME_SECS + CLOCK_SKEW_SECS {
        return Err(invalid(format!(
            "exp is more than {MAX_LIFETIME_SECS} s away"
        )));
    }
    if claims
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > t + CLOCK_SKEW_SECS)
    {
        return Err(invalid("not valid yet (nbf)"));
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| invalid("no jti"))?;
    remember_jti(conn, &client.id, jti, exp, t).await?;
    Ok(client)
}

/// Records a jti; a second use is a replay.
async fn remember_jti(
    conn: &mut Conn,
    client_id: &str,
    jti: &str,
    exp: i64,
    now_secs: i64,
) -> Result<(), AssertionError> {
    sqlx::query("DELETE FROM client_assertions WHERE client_id = $1 AND expires_at < $2")
        .bind(client_id)
        .bind(now_secs * 1000)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from)?;
    let inserted = sqlx::query(
        "INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (client_id, jti) DO NOTHING",
    )
    .bind(client_id)
    .bind(jti)
    .bind((exp + CLOCK_SKEW_SECS) * 1000)
    .execute(conn)
    .await
    .map_err(StoreError::from)?
    .rows_affected();
    if inserted == 0 {
        return Err(invalid("the assertion's jti was used before"));
    }
    Ok(())
}
