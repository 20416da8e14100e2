//! The OpenID Connect provider over HTTP, one file per endpoint or page flow: discovery,
//! authorization, the login pages, the second step, consent, pushed requests, the token
//! endpoint and client authentication, introspection, revocation and userinfo. What they
//! share — OAuth error answers and redirects — is here.

pub(super) mod acting;
pub(super) mod authorize;
pub(super) mod client_auth;
pub(super) mod consent;
pub(super) mod discovery;
pub(super) mod flow_time;
pub(super) mod introspect;
pub(super) mod login;
pub(super) mod par;
pub(super) mod revoke;
pub(super) mod second_factor;
pub(super) mod token;
pub(super) mod userinfo;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use tongban_identity::sso;

use crate::problem::{ApiError, ProblemType};
use crate::routes::web::{self, FLOW_COOKIE, set_cookie};
use crate::state::AppState;

fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let separator = if uri.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{uri}{separator}{query}")).into_response()
}

fn with_flow_cookie(page: Response, flow_cookie: &str) -> Response {
    let mut page = web::no_store(page);
    let max_age = sso::FLOW_LIFETIME_MS / 1000;
    page.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(FLOW_COOKIE, flow_cookie, max_age),
    );
    page
}

/// An OAuth error sent back to the client's (already verified) redirect URI.
fn redirect_error(
    state: &AppState,
    redirect_uri: &str,
    error: &str,
    description: Option<&str>,
    client_state: Option<&str>,
) -> Response {
    let mut query = vec![("error", error), ("iss", state.tokens.issuer())];
    if let Some(description) = description {
        query.push(("error_description", description));
    }
    if let Some(st) = client_state {
        query.push(("state", st));
    }
    redirect_with(redirect_uri, &query)
}

/// An OAuth token endpoint error (RFC 6749 §5.2): JSON, not problem+json, because
/// every OAuth client library expects this shape.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tongban\""),
        );
    }
    response
}

/// The OAuth error answer of a domain refusal: 401 for `invalid_client`, else 400.
fn refused(refusal: &tongban_identity::refusal::Refusal) -> Response {
    let status = match refusal.error {
        "invalid_client" => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    oauth_error(status, refusal.error, &refusal.description)
}

fn token_response(body: serde_json::Value) -> Response {
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The token information endpoints' inputs from the application state.
fn token_info(state: &AppState) -> tongban_identity::token_info::TokenInfo<'_> {
    tongban_identity::token_info::TokenInfo {
        store: &state.store,
        tokens: &state.tokens,
        clients: &state.clients,
        pairwise: &state.pairwise,
    }
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "token endpoint");
    ApiError::bare(ProblemType::Internal).into_response()
}
