//! Token introspection (RFC 7662).

use crate::problem::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tongban_core::time::Timestamp;

use super::client_auth::{ClientCall, TokenOnlyForm};
use super::{oauth_error, token_info, token_response};

/// Token introspection (RFC 7662) for confidential clients (resource servers).
#[utoipa::path(post, path = "/introspect", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token[, token_type_hint]; client authentication"),
    responses(
        (status = 200, description = "{active: false} or the token's claims with active: true", body = Object),
        (status = 401, description = "invalid_client", body = Object),
    ))]
pub async fn introspect(
    State(state): State<AppState>,
    ClientCall { client, form }: ClientCall<TokenOnlyForm>,
) -> Response {
    if !client.confidential {
        let why = "introspection is for confidential clients";
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", why);
    }
    let token = match form.token() {
        Ok(token) => token,
        Err(response) => return response,
    };
    match token_info(&state).introspect(token, Timestamp::now()).await {
        Ok(answer) => token_response(serde_json::to_value(answer).unwrap_or_default()),
        Err(error) => ApiError::from(error).into_response(),
    }
}
