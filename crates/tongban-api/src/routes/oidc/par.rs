//! Pushed authorization requests (RFC 9126).

use crate::problem::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tongban_core::time::Timestamp;
use tongban_identity::par;
use tongban_identity::sso::{self, AuthorizeError, AuthorizeParams};

use super::client_auth::{ClientAuthForm, authenticate_client};
use super::token::dpop_key;
use super::{internal, oauth_error, token_response};

/// A pushed authorization request: the authorization parameters and the client's
/// credentials.
#[derive(Deserialize)]
pub struct ParForm {
    /// Its `client_id` also names the client to authenticate.
    #[serde(flatten)]
    params: AuthorizeParams,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

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
    headers: HeaderMap,
    Form(form): Form<ParForm>,
) -> Response {
    let now = Timestamp::now();
    let auth = ClientAuthForm {
        client_id: form.params.client_id.clone(),
        client_secret: form.client_secret.clone(),
        client_assertion_type: form.client_assertion_type.clone(),
        client_assertion: form.client_assertion.clone(),
    };
    let client = match authenticate_client(&state, &headers, &auth, "/par").await {
        Ok(client) => client,
        Err(response) => return response,
    };
    // A proof on the push binds the code to its key, as dpop_jkt would (RFC 9449 §10.1).
    let proof_key = match dpop_key(&state, &headers, "/par", now).await {
        Ok(jkt) => jkt,
        Err(response) => return response,
    };
    if form.params.request_uri.is_some() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "a pushed request cannot name a request_uri",
        );
    }
    if form
        .params
        .client_id
        .as_deref()
        .is_some_and(|id| id != client.id)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id differs from the authenticated client",
        );
    }
    let mut params = form.params;
    params.client_id = Some(client.id.clone());
    if let Some(jkt) = proof_key {
        if params.dpop_jkt.as_ref().is_some_and(|asked| *asked != jkt) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_dpop_proof",
                "dpop_jkt differs from the proof's key",
            );
        }
        params.dpop_jkt = Some(jkt);
    }
    // Validated now, so the client hears of a bad request at once (§2.1); again when
    // the browser arrives, against the client as it is then.
    match sso::validate(Some(client.clone()), &params, true) {
        Ok(_) => {}
        Err(AuthorizeError::Page(why)) => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &why.to_string());
        }
        Err(AuthorizeError::Redirect {
            error, description, ..
        }) => return oauth_error(StatusCode::BAD_REQUEST, error, &description),
    }
    let pushed = match state.store.conn().await {
        Ok(mut conn) => par::push(&mut conn, &client.id, &params, now).await,
        Err(error) => return ApiError::from(error).into_response(),
    };
    match pushed {
        Ok(uri) => {
            let mut response = token_response(json!({
                "request_uri": uri,
                "expires_in": par::LIFETIME_SECS,
            }));
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Err(error) => internal(error),
    }
}
