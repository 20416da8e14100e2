//! Bearer access tokens (RFC 6750) on the REST API: verified against our token keys,
//! checked against the revocation list, and turned into a domain [`Caller`].

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use tongban_core::time::Timestamp;
use tongban_identity::access::Caller;
use tongban_identity::grants;
use tongban_identity::tokens::{AccessClaims, TokenError};

use crate::middleware::request_id;
use crate::problem::{ApiError, ProblemType};
use crate::state::AppState;

/// The caller of a request that carries a valid bearer access token.
#[derive(Clone, Debug)]
pub struct Authenticated {
    /// Who calls, for domain checks.
    pub caller: Caller,
    /// The token's claims.
    pub claims: AccessClaims,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError::bearer("a bearer access token is required", false))?;
        let claims = match state
            .tokens
            .verify_access_token(token, Timestamp::now())
            .await
        {
            Ok(claims) => claims,
            Err(TokenError::Invalid(why)) => return Err(ApiError::bearer(why, true)),
            Err(error) => {
                tracing::error!(%error, "access token check");
                return Err(ApiError::bare(ProblemType::Internal));
            }
        };
        // The connection is released before the handler takes its own.
        let revoked = {
            let mut conn = state.store.conn().await?;
            grants::access_revoked(&mut conn, &claims.jti).await
        };
        match revoked {
            Ok(false) => {}
            Ok(true) => return Err(ApiError::bearer("the token was revoked", true)),
            Err(grants::GrantError::Store(error)) => return Err(error.into()),
            Err(error) => {
                tracing::error!(%error, "revocation check");
                return Err(ApiError::bare(ProblemType::Internal));
            }
        }
        Ok(Self {
            caller: Caller::from_claims(&claims, request_id::current()),
            claims,
        })
    }
}
