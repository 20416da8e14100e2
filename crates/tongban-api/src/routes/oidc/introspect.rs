//! Token introspection (RFC 7662).

use crate::problem::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tongban_core::time::Timestamp;
use tongban_identity::refresh_tokens::{self};

use super::client_auth::{TokenOnlyForm, token_request};
use super::token::token_type;
use super::{internal, token_response};

/// Token introspection (RFC 7662) for confidential clients (resource servers).
#[utoipa::path(post, path = "/introspect", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token[, token_type_hint]; client authentication"),
    responses(
        (status = 200, description = "{active: false} or the token's claims with active: true", body = Object),
        (status = 401, description = "invalid_client", body = Object),
    ))]
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TokenOnlyForm>,
) -> Response {
    let now = Timestamp::now();
    let token = match token_request(&state, &headers, &form, "/introspect").await {
        Ok((_, token)) => token,
        Err(response) => return response,
    };
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let inactive = || token_response(json!({ "active": false }));
    if let Ok(claims) = state.tokens.verify_access_token(token, now).await {
        return match refresh_tokens::access_revoked(&mut conn, &claims.jti).await {
            Ok(false) => {
                // A resource server relying on introspection learns the binding too
                // (RFC 9449 §6.2), and the login's level.
                let mut body = json!({
                    "active": true, "token_type": token_type(claims.cnf.as_ref().map(|c| c.jkt.as_str())),
                    "iss": claims.iss, "sub": claims.sub, "aud": claims.aud, "client_id": claims.client_id,
                    "scope": claims.scope, "iat": claims.iat, "exp": claims.exp, "jti": claims.jti,
                });
                if let Some(cnf) = &claims.cnf {
                    body["cnf"] = json!({ "jkt": cnf.jkt });
                }
                if let Some(acr) = &claims.acr {
                    body["acr"] = json!(acr);
                }
                if let Some(auth_time) = claims.auth_time {
                    body["auth_time"] = json!(auth_time);
                }
                token_response(body)
            }
            Ok(true) => inactive(),
            Err(error) => internal(error),
        };
    }
    let grant = match refresh_tokens::active_refresh(&mut conn, token, now).await {
        Ok(Some(grant)) => grant,
        Ok(None) => return inactive(),
        Err(error) => return internal(error),
    };
    drop(conn);
    // The subject as the token's own client knows it: never the internal id to a
    // third-party client.
    let owner = match state.clients.find(&grant.client_id).await {
        Ok(Some(owner)) => owner,
        Ok(None) => return inactive(),
        Err(error) => return internal(error),
    };
    let mut body = json!({
        "active": true, "token_type": "refresh_token",
        "sub": owner.subject_for(&state.pairwise, &grant.subject_id), "client_id": grant.client_id,
        "scope": grant.scope.join(" "), "exp": grant.expires_at.unix_millis() / 1000,
    });
    if let Some(jkt) = &grant.dpop_jkt {
        body["cnf"] = json!({ "jkt": jkt });
    }
    token_response(body)
}
