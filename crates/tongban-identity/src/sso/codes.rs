//! Authorization codes: sealed with a key derived from the KEK (nothing stored until
//! redeemed), redeemed once (a second redemption revokes what the first gave).

use crate::secrets::{RngError, constant_time_eq, s256_challenge, sha256_hex};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_crypto::kek::Kek;
use tongban_store::{Conn, StoreError};

use super::request::AuthorizeRequest;
use super::sessions::{Session, session_from_row};
use super::{CODE_LIFETIME_MS, SsoError};

/// The key authorization codes are sealed with (AES-256-GCM), derived from the KEK so
/// that every instance opens what another issued.
pub struct CodeKey(Kek);

impl CodeKey {
    /// The code key of this deployment.
    pub fn derive(kek: &Kek) -> Self {
        Self(kek.derive("tongban authorization codes v1"))
    }
}

pub(super) const CODE_AAD: &[u8] = b"tongban-code-v1";

/// What a code carries, sealed: the authorization request's outcome.
#[derive(Serialize, Deserialize)]
pub(super) struct SealedCode {
    client_id: String,
    session_id: String,
    redirect_uri: String,
    scope: Vec<String>,
    nonce: Option<String>,
    code_challenge: String,
    expires_at: i64,
    #[serde(default)]
    dpop_jkt: Option<String>,
    /// The authority the login acts under, when a relative signs in for a person.
    #[serde(default)]
    delegation: Option<String>,
}

/// Issues a single-use code for `request` in `session`. The code is the request's
/// outcome sealed under the code key, so issuing writes nothing; redeeming records it,
/// which is what makes it single-use.
pub fn issue_code(
    key: &CodeKey,
    request: &AuthorizeRequest,
    session: &Session,
    now: Timestamp,
) -> Result<String, SsoError> {
    let sealed = SealedCode {
        client_id: request.client_id.clone(),
        session_id: session.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        expires_at: now.unix_millis() + CODE_LIFETIME_MS,
        dpop_jkt: request.dpop_jkt.clone(),
        delegation: request.delegation().map(str::to_owned),
    };
    let json = serde_json::to_vec(&sealed)
        .map_err(|e| SsoError::Store(StoreError::Corrupt(e.to_string())))?;
    let bytes = key
        .0
        .seal(CODE_AAD, &json)
        .map_err(|_| SsoError::Rng(RngError))?;
    Ok(B64URL.encode(bytes))
}

/// What a redeemed code grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeGrant {
    /// The session it was issued in.
    pub session: Session,
    /// Granted scopes.
    pub scope: Vec<String>,
    /// For the ID token.
    pub nonce: Option<String>,
    /// The authority under which the session's person signs in for another.
    pub delegation: Option<crate::delegation::Delegation>,
}

/// Why a code was not accepted (`invalid_grant` for all but a store fault).
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// Unknown, expired, replayed, for another client or redirect URI, or the PKCE
    /// verifier does not match.
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CodeError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

/// What a token request presents to redeem a code.
#[derive(Clone, Copy, Debug)]
pub struct Redemption<'a> {
    /// The code.
    pub code: &'a str,
    /// The authenticated client.
    pub client_id: &'a str,
    /// As in the authorization request.
    pub redirect_uri: &'a str,
    /// The PKCE verifier.
    pub verifier: &'a str,
    /// The thumbprint of the request's DPoP proof key, if it has one.
    pub jkt: Option<&'a str>,
}

/// Redeems a code once. A second attempt fails (the caller revokes what the first one
/// issued: RFC 6749 §4.1.2).
pub async fn redeem_code(
    conn: &mut Conn,
    key: &CodeKey,
    redemption: Redemption<'_>,
    now: Timestamp,
) -> Result<CodeGrant, CodeError> {
    let Redemption {
        code,
        client_id,
        redirect_uri,
        verifier,
        jkt,
    } = redemption;
    let sealed: SealedCode = B64URL
        .decode(code)
        .ok()
        .and_then(|bytes| key.0.open(CODE_AAD, &bytes))
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or(CodeError::InvalidGrant("unknown code"))?;
    let digest = sha256_hex(code);
    // Record the redemption first, atomically: of two redemptions one wins, and the
    // other is a replay whose tokens are taken back.
    let claimed = sqlx::query(
        "INSERT INTO auth_codes (code_sha256, client_id, session_id, redirect_uri, scope, nonce, code_challenge, \
         created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8) \
         ON CONFLICT (code_sha256) DO NOTHING",
    )
    .bind(&digest)
    .bind(&sealed.client_id)
    .bind(&sealed.session_id)
    .bind(&sealed.redirect_uri)
    .bind(sealed.scope.join(" "))
    .bind(sealed.nonce.as_deref())
    .bind(&sealed.code_challenge)
    .bind(now.unix_millis())
    .bind(sealed.expires_at)
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() != 1 {
        crate::refresh_tokens::revoke_code_tokens(conn, &digest, now)
            .await
            .map_err(|e| match e {
                crate::refresh_tokens::GrantError::Store(s) => CodeError::Store(s),
                other => CodeError::Store(StoreError::Corrupt(other.to_string())),
            })?;
        return Err(CodeError::InvalidGrant(
            "the code was already used; what it issued is revoked",
        ));
    }
    if sealed.expires_at <= now.unix_millis() {
        return Err(CodeError::InvalidGrant("the code expired"));
    }
    if sealed.client_id != client_id {
        return Err(CodeError::InvalidGrant(
            "the code was issued to another client",
        ));
    }
    if sealed.redirect_uri != redirect_uri {
        return Err(CodeError::InvalidGrant(
            "redirect_uri differs from the authorization request",
        ));
    }
    if !constant_time_eq(&s256_challenge(verifier), &sealed.code_challenge) {
        return Err(CodeError::InvalidGrant(
            "the PKCE code_verifier does not match",
        ));
    }
    if sealed.dpop_jkt.is_some() && sealed.dpop_jkt.as_deref() != jkt {
        return Err(CodeError::InvalidGrant(
            "the code is bound to another DPoP key (RFC 9449 §10)",
        ));
    }
    let s = sqlx::query(
        "SELECT subject_id, auth_time, acr, amr, acting_for, ended_at FROM sessions WHERE id = $1",
    )
    .bind(&sealed.session_id)
    .fetch_one(&mut *conn)
    .await?;
    if s.try_get::<Option<i64>, _>("ended_at")?.is_some() {
        return Err(CodeError::InvalidGrant("the session has ended"));
    }
    let session = session_from_row(sealed.session_id, &s)?;
    // An authority ended between the login and the redemption gives nothing.
    let delegation = match &sealed.delegation {
        Some(id) => Some(
            crate::delegation::live_for(conn, id, session.subject, now)
                .await?
                .filter(|d| d.covers(crate::delegation::Matter::SignIn))
                .ok_or(CodeError::InvalidGrant(
                    "the authority to act for this person has ended",
                ))?,
        ),
        None => None,
    };
    Ok(CodeGrant {
        session,
        scope: sealed.scope,
        nonce: sealed.nonce,
        delegation,
    })
}
