//! Pushed authorization requests (RFC 9126).

use crate::problem::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tongban_core::time::Timestamp;
use tongban_identity::par;
use tongban_identity::sso::AuthorizeParams;

use super::client_auth::ClientCall;
use super::token::DpopKey;
use super::{refused, token_response};

/// Pushed authorization request endpoint (RFC 9126): the client posts its request,
/// authenticated, and gets a `request_uri` to send the browser with.
#[utoipa::path(post, path = "/par", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "the /authorize parameters (response_type, redirect_uri, scope, state, nonce, code_challenge, code_challenge_method, prompt, max_age, acr_values, claims, …) and client authentication"),
    responses(
        (status = 201, description = "`request_uri` and `expires_in` (60 s); the URI works once", body = Object),
        (status = 400, description = "RFC 6749 §5.2 error (invalid_request, invalid_scope, unauthorized_client, invalid_dpop_proof)", body = Object),
        (status = 401, description = "invalid_client", body = Object),
    ))]
pub async fn pushed_request(
    State(state): State<AppState>,
    DpopKey(proof_key): DpopKey,
    ClientCall { client, form }: ClientCall<AuthorizeParams>,
) -> Response {
    let now = Timestamp::now();
    match par::accept(&state.store, &client, form, proof_key, now).await {
        Ok(Ok(uri)) => {
            let body = json!({ "request_uri": uri, "expires_in": par::LIFETIME_SECS });
            let mut response = token_response(body);
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Ok(Err(refusal)) => refused(&refusal),
        Err(error) => ApiError::from(error).into_response(),
    }
}
