//! Token revocation (RFC 7009).

use crate::problem::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tongban_core::time::Timestamp;

use super::client_auth::{ClientCall, TokenOnlyForm};
use super::token_info;

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
    ClientCall { client, form }: ClientCall<TokenOnlyForm>,
) -> Response {
    let token = match form.token() {
        Ok(token) => token,
        Err(response) => return response,
    };
    match token_info(&state)
        .revoke(&client.id, token, Timestamp::now())
        .await
    {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}
