//! Token revocation (RFC 7009).

use crate::problem::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tongban_core::time::Timestamp;
use tongban_identity::refresh_tokens::{self};

use super::client_auth::{TokenOnlyForm, token_request};
use super::internal;

/// Token revocation (RFC 7009): refresh tokens (with their family) and access tokens of
/// the calling client. Always 200, so that it reveals nothing about other tokens.
#[utoipa::path(post, path = "/revoke", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token[, token_type_hint]; client authentication"),
    responses(
        (status = 200, description = "revoked, or was not a token of this client"),
        (status = 401, description = "invalid_client", body = Object),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TokenOnlyForm>,
) -> Response {
    let now = Timestamp::now();
    let (client, token) = match token_request(&state, &headers, &form, "/revoke").await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let mut tx = match state.store.begin().await {
        Ok(tx) => tx,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let result = match state.tokens.verify_access_token(token, now).await {
        Ok(claims) if claims.client_id == client.id => refresh_tokens::revoke_access(
            &mut tx,
            &claims.jti,
            Timestamp::from_unix_millis(claims.exp * 1000),
        )
        .await
        .map(|_| ()),
        Ok(_) => Ok(()),
        Err(_) => refresh_tokens::revoke_refresh(&mut tx, token, &client.id, now)
            .await
            .map(|_| ()),
    };
    if let Err(error) = result {
        return internal(error);
    }
    if let Err(error) = tx.commit().await {
        return ApiError::from(tongban_store::StoreError::from(error)).into_response();
    }
    StatusCode::OK.into_response()
}
