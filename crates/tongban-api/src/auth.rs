//! Bearer access tokens (RFC 6750) on the REST API: verified against our token keys,
//! checked against the revocation list, and turned into a domain [`Caller`].

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::header;
use axum::http::request::Parts;
use tongban_core::time::Timestamp;
use tongban_identity::caller::Caller;
use tongban_identity::tokens::{AccessClaims, TokenError};
use tongban_identity::{delegation, dpop, refresh_tokens};
use tongban_seal::permissions::Actor;

use crate::problem::{ApiError, ProblemType};
use crate::request_scope;
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
        let now = Timestamp::now();
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let (scheme, token) = match authorization.and_then(|v| v.split_once(' ')) {
            Some(("Bearer", token)) => ("Bearer", token.trim()),
            Some(("DPoP", token)) => ("DPoP", token.trim()),
            _ => return Err(ApiError::bearer("a bearer access token is required", false)),
        };
        let claims = match state.tokens.verify_access_token(token, now).await {
            Ok(claims) => claims,
            Err(TokenError::Invalid(why)) => return Err(ApiError::bearer(why, true)),
            Err(error) => {
                tracing::error!(%error, "access token check");
                return Err(ApiError::bare(ProblemType::Internal));
            }
        };
        // A DPoP-bound token works only with a proof by its key (RFC 9449 §7).
        if let Some(cnf) = &claims.cnf {
            if scheme != "DPoP" {
                return Err(ApiError::dpop(
                    "this token is DPoP-bound: present it with the DPoP scheme and a proof",
                    None,
                ));
            }
            let proof = parts
                .headers
                .get("dpop")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ApiError::dpop("a DPoP proof is required", None))?;
            let url = format!("{}{}", state.tokens.issuer(), parts.uri.path());
            let target = dpop::ProofTarget {
                method: parts.method.as_str(),
                url: &url,
                access_token: Some(token),
            };
            let checked = {
                let mut conn = state.store.conn().await?;
                dpop::verify(&mut conn, &state.dpop, proof, target, now).await
            };
            match checked {
                Ok(jkt) if jkt == cnf.jkt => {}
                Ok(_) => return Err(ApiError::dpop("the proof is by another key", None)),
                Err(dpop::DpopError::UseNonce) => {
                    return Err(ApiError::dpop(
                        "a DPoP nonce is required",
                        Some(state.dpop.issue(now)),
                    ));
                }
                Err(dpop::DpopError::Invalid(why)) => return Err(ApiError::dpop(why, None)),
                Err(dpop::DpopError::Store(error)) => return Err(error.into()),
            }
        } else if scheme == "DPoP" {
            return Err(ApiError::bearer("the token is not DPoP-bound", true));
        }
        // The connection is released before the handler takes its own.
        let revoked = {
            let mut conn = state.store.conn().await?;
            refresh_tokens::access_revoked(&mut conn, &claims.jti).await
        };
        match revoked {
            Ok(false) => {}
            Ok(true) => return Err(ApiError::bearer("the token was revoked", true)),
            Err(refresh_tokens::GrantError::Store(error)) => return Err(error.into()),
            Err(error) => {
                tracing::error!(%error, "revocation check");
                return Err(ApiError::bare(ProblemType::Internal));
            }
        }
        // A relative's token for a person works only while the authority is in force,
        // and what it is used for is recorded for both of them.
        if let Some(id) = &claims.delegation {
            let path = (parts.extensions.get::<MatchedPath>())
                .map_or(parts.uri.path(), MatchedPath::as_str);
            let action = format!("{} {path}", parts.method);
            let in_force = {
                let mut conn = state.store.conn().await?;
                delegation::token_used(&mut conn, id, &action, &claims.client_id, now).await?
            };
            if !in_force {
                let why = "the authority this token acts under has ended";
                return Err(ApiError::bearer(why, true));
            }
        }
        // A disabled client's tokens stop with it (from the client cache: at once on the
        // instance that disabled it, within seconds on the others).
        if state.clients.find(&claims.client_id).await?.is_none() {
            return Err(ApiError::bearer(
                "the client of this token is disabled",
                true,
            ));
        }
        Ok(Self {
            caller: Caller::from_claims(&claims, request_scope::request_id()),
            claims,
        })
    }
}

/// The caller of a seal or e-certificate endpoint as the domain checks it: a client
/// system, or a person through a client.
pub struct Acting(pub Actor);

impl FromRequestParts<AppState> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = Authenticated::from_request_parts(parts, state).await?;
        Ok(Self(Actor::of(&auth.caller)?))
    }
}

/// A platform administrator's call (scope `admin`).
pub struct Administering(pub tongban_identity::caller::Admin);

impl FromRequestParts<AppState> for Administering {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = Authenticated::from_request_parts(parts, state).await?;
        Ok(Self(auth.caller.admin()?))
    }
}
