//! Refresh tokens (rotated on every use, with reuse detection that revokes the whole
//! family) and revocation of access tokens, for the token, revocation (RFC 7009) and
//! introspection (RFC 7662) endpoints.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use crate::secrets::{RngError, random_token, sha256_hex};

/// How long a refresh token lives (it also dies with its session).
pub const REFRESH_TOKEN_MS: i64 = 12 * 60 * 60 * 1000;

/// What a refresh token stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshGrant {
    /// Every token descended from one grant shares this.
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The SSO session, if the grant came from a login.
    pub session_id: Option<String>,
    /// The subject.
    pub subject_id: String,
    /// Granted scopes.
    pub scope: Vec<String>,
    /// When it expires.
    pub expires_at: Timestamp,
    /// The DPoP key it is bound to (RFC 9449 §5): only proofs by that key use it.
    pub dpop_jkt: Option<String>,
    /// The session's acr and auth_time, for the access tokens it yields.
    pub login: Option<(String, Timestamp)>,
    /// The authority a relative's tokens for the subject were issued under: the tokens
    /// live only while it is in force.
    pub delegation_id: Option<String>,
}

/// Why a refresh token was refused (`invalid_grant`), or a fault.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// Unknown, expired, revoked, for another client, or reused.
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    /// The random number generator failed.
    #[error(transparent)]
    Rng(#[from] RngError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for GrantError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

/// Issues a refresh token for `grant` (a new family if `grant.family_id` is empty).
/// Returns the token and the grant as stored.
pub async fn issue_refresh(
    conn: &mut Conn,
    grant: &RefreshGrant,
    now: Timestamp,
) -> Result<(String, RefreshGrant), GrantError> {
    let token = random_token(32)?;
    let family_id = if grant.family_id.is_empty() {
        random_token(16)?
    } else {
        grant.family_id.clone()
    };
    let stored = RefreshGrant {
        family_id,
        expires_at: Timestamp::from_unix_millis(now.unix_millis() + REFRESH_TOKEN_MS),
        ..grant.clone()
    };
    sqlx::query(
        "INSERT INTO refresh_tokens (token_sha256, family_id, client_id, session_id, subject_id, scope, created_at, expires_at, \
         dpop_jkt, delegation_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(sha256_hex(&token))
    .bind(&stored.family_id)
    .bind(&stored.client_id)
    .bind(stored.session_id.as_deref())
    .bind(&stored.subject_id)
    .bind(stored.scope.join(" "))
    .bind(now.unix_millis())
    .bind(stored.expires_at.unix_millis())
    .bind(stored.dpop_jkt.as_deref())
    .bind(stored.delegation_id.as_deref())
    .execute(conn)
    .await?;
    Ok((token, stored))
}

/// Revokes every token of a family.
pub async fn revoke_family(
    conn: &mut Conn,
    family_id: &str,
    now: Timestamp,
) -> Result<(), GrantError> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family_id)
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Uses a refresh token: it must be live and `client_id`'s, and presented with a proof
/// of its DPoP key (`jkt`) if it is bound to one. Returns its grant and a successor. A
/// token used before is proof of theft: its family is revoked.
pub async fn rotate(
    conn: &mut Conn,
    token: &str,
    client_id: &str,
    jkt: Option<&str>,
    now: Timestamp,
) -> Result<(String, RefreshGrant), GrantError> {
    let digest = sha256_hex(token);
    let row = sqlx::query(
        "SELECT r.family_id, r.client_id, r.session_id, r.subject_id, r.scope, r.expires_at, r.used_at, r.revoked_at, \
         r.dpop_jkt, r.delegation_id, s.ended_at, s.acr, s.auth_time FROM refresh_tokens r LEFT JOIN sessions s ON s.id = r.session_id WHERE r.token_sha256 = $1",
    )
    .bind(&digest)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(GrantError::InvalidGrant("unknown refresh token"))?;
    let family_id: String = row.try_get("family_id")?;
    let owner: String = row.try_get("client_id")?;
    if owner != client_id {
        return Err(GrantError::InvalidGrant(
            "the refresh token was issued to another client",
        ));
    }
    if row.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
        return Err(GrantError::InvalidGrant("the refresh token was revoked"));
    }
    // A bound token without its key's proof is refused before it counts as used: the
    // proof is what tells the holder from a thief.
    let bound: Option<String> = row.try_get("dpop_jkt")?;
    if bound.is_some() && bound.as_deref() != jkt {
        return Err(GrantError::InvalidGrant(
            "the refresh token is bound to another DPoP key",
        ));
    }
    let reused = row.try_get::<Option<i64>, _>("used_at")?.is_some();
    let claimed = !reused
        && sqlx::query(
            "UPDATE refresh_tokens SET used_at = $2 WHERE token_sha256 = $1 AND used_at IS NULL",
        )
        .bind(&digest)
        .bind(now.unix_millis())
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1;
    if !claimed {
        revoke_family(conn, &family_id, now).await?;
        return Err(GrantError::InvalidGrant(
            "the refresh token was already used; its family is revoked",
        ));
    }
    if row.try_get::<i64, _>("expires_at")? <= now.unix_millis() {
        return Err(GrantError::InvalidGrant("the refresh token expired"));
    }
    if row.try_get::<Option<i64>, _>("ended_at")?.is_some() {
        return Err(GrantError::InvalidGrant("the session has ended"));
    }
    let scope: String = row.try_get("scope")?;
    let acr: Option<String> = row.try_get("acr")?;
    let auth_time: Option<i64> = row.try_get("auth_time")?;
    let grant = RefreshGrant {
        family_id,
        client_id: owner,
        session_id: row.try_get("session_id")?,
        subject_id: row.try_get("subject_id")?,
        scope: scope.split_whitespace().map(str::to_owned).collect(),
        expires_at: now,
        dpop_jkt: bound,
        login: acr.zip(auth_time.map(Timestamp::from_unix_millis)),
        delegation_id: row.try_get("delegation_id")?,
    };
    issue_refresh(conn, &grant, now).await
}

/// The live grant of a refresh token, for introspection.
pub async fn active_refresh(
    conn: &mut Conn,
    token: &str,
    now: Timestamp,
) -> Result<Option<RefreshGrant>, GrantError> {
    let row = sqlx::query(
        "SELECT family_id, client_id, session_id, subject_id, scope, expires_at, dpop_jkt, delegation_id FROM refresh_tokens \
         WHERE token_sha256 = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(sha256_hex(token))
    .bind(now.unix_millis())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        let scope: String = r.try_get("scope")?;
        Ok(RefreshGrant {
            family_id: r.try_get("family_id")?,
            client_id: r.try_get("client_id")?,
            session_id: r.try_get("session_id")?,
            subject_id: r.try_get("subject_id")?,
            scope: scope.split_whitespace().map(str::to_owned).collect(),
            expires_at: Timestamp::from_unix_millis(r.try_get("expires_at")?),
            dpop_jkt: r.try_get("dpop_jkt")?,
            login: None,
            delegation_id: r.try_get("delegation_id")?,
        })
    })
    .transpose()
}

/// Revokes a refresh token (and its family) if it belongs to `client_id`; RFC 7009
/// answers the same whether or not it did.
pub async fn revoke_refresh(
    conn: &mut Conn,
    token: &str,
    client_id: &str,
    now: Timestamp,
) -> Result<bool, GrantError> {
    let row = sqlx::query(
        "SELECT family_id FROM refresh_tokens WHERE token_sha256 = $1 AND client_id = $2",
    )
    .bind(sha256_hex(token))
    .bind(client_id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(r) => {
            let family: String = r.try_get(0)?;
            revoke_family(conn, &family, now).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Lists an access token as revoked until it would have expired anyway.
pub async fn revoke_access(
    conn: &mut Conn,
    jti: &str,
    expires_at: Timestamp,
) -> Result<(), GrantError> {
    sqlx::query("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
        .bind(jti)
        .bind(expires_at.unix_millis())
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether an access token was revoked.
pub async fn access_revoked(conn: &mut Conn, jti: &str) -> Result<bool, GrantError> {
    Ok(
        sqlx::query("SELECT 1 FROM revoked_access_tokens WHERE jti = $1")
            .bind(jti)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// Remembers what a code produced, so a replay can revoke it.
pub async fn record_code_tokens(
    conn: &mut Conn,
    code: &str,
    family_id: Option<&str>,
    access_jti: &str,
) -> Result<(), GrantError> {
    sqlx::query("UPDATE auth_codes SET family_id = $2, access_jti = $3 WHERE code_sha256 = $1")
        .bind(sha256_hex(code))
        .bind(family_id)
        .bind(access_jti)
        .execute(conn)
        .await?;
    Ok(())
}

/// A code was presented twice: revoke what its first redemption issued (RFC 6749
/// §4.1.2: "SHOULD revoke … all tokens previously issued based on that code").
pub async fn revoke_code_tokens(
    conn: &mut Conn,
    code_sha256: &str,
    now: Timestamp,
) -> Result<(), GrantError> {
    let row = sqlx::query(
        "SELECT family_id, access_jti, created_at FROM auth_codes WHERE code_sha256 = $1",
    )
    .bind(code_sha256)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(()) };
    if let Some(family) = row.try_get::<Option<String>, _>("family_id")? {
        revoke_family(conn, &family, now).await?;
    }
    if let Some(jti) = row.try_get::<Option<String>, _>("access_jti")? {
        // Access tokens live minutes; a day's listing covers any of them.
        revoke_access(
            conn,
            &jti,
            Timestamp::from_unix_millis(now.unix_millis() + 86_400_000),
        )
        .await?;
    }
    Ok(())
}
