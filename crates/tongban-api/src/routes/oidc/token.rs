//! The token endpoint: authorization_code (PKCE), refresh_token (rotation, reuse
//! detection) and client_credentials grants, DPoP-bound when a proof comes (RFC 9449).

use crate::problem::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::dpop;
use tongban_identity::token_grants::{TokenGrants, TokenRequest};

use super::client_auth::ClientCall;
use super::{oauth_error, refused, token_response};

/// The token request's fields.
#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

impl TokenForm {
    /// The request as the grants read it, bound to `jkt` if a DPoP proof came.
    fn request<'a>(&'a self, jkt: Option<&'a str>) -> TokenRequest<'a> {
        TokenRequest {
            grant_type: self.grant_type.as_deref().unwrap_or(""),
            code: self.code.as_deref(),
            redirect_uri: self.redirect_uri.as_deref(),
            code_verifier: self.code_verifier.as_deref(),
            refresh_token: self.refresh_token.as_deref(),
            scope: self.scope.as_deref(),
            jkt,
        }
    }
}

/// Token endpoint: authorization_code (with PKCE), refresh_token (rotated, with reuse
/// detection) and client_credentials.
#[utoipa::path(post, path = "/token", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "grant_type=authorization_code (code, redirect_uri, code_verifier) | refresh_token (refresh_token) | client_credentials (scope); client authentication by HTTP Basic or client_id/client_secret"),
    responses(
        (status = 200, description = "access_token, token_type, expires_in; id_token and refresh_token where they apply", body = Object),
        (status = 400, description = "RFC 6749 §5.2 error (invalid_grant, invalid_request, invalid_scope, unsupported_grant_type)", body = Object),
        (status = 401, description = "invalid_client", body = Object),
    ))]
pub async fn token(
    State(state): State<AppState>,
    DpopKey(jkt): DpopKey,
    ClientCall { client, form }: ClientCall<TokenForm>,
) -> Response {
    let request = form.request(jkt.as_deref());
    match token_grants(&state)
        .exchange(&client, &request, Timestamp::now())
        .await
    {
        Ok(Ok(issued)) => token_response(serde_json::to_value(issued).unwrap_or_default()),
        Ok(Err(refusal)) => refused(&refusal),
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// The grants' inputs from the application state.
fn token_grants(state: &AppState) -> TokenGrants<'_> {
    TokenGrants {
        store: &state.store,
        tokens: &state.tokens,
        codes: &state.codes,
        pairwise: &state.pairwise,
    }
}

/// The key of the request's DPoP proof (RFC 9449 §5), if it has one; a bad proof or
/// one without a current nonce is answered at once.
pub struct DpopKey(pub(super) Option<String>);

impl FromRequestParts<AppState> for DpopKey {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let endpoint = parts.uri.path();
        dpop_key(state, &parts.headers, endpoint, Timestamp::now())
            .await
            .map(Self)
    }
}

/// The key of the request's DPoP proof (RFC 9449 §5), if it has one; a bad proof or
/// one without a current nonce is answered at once.
pub(super) async fn dpop_key(
    state: &AppState,
    headers: &HeaderMap,
    endpoint: &str,
    now: Timestamp,
) -> Result<Option<String>, Response> {
    let Some(proof) = headers.get("dpop") else {
        return Ok(None);
    };
    let proof = proof.to_str().map_err(|_| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            "the DPoP header is not text",
        )
    })?;
    let url = format!("{}{endpoint}", state.tokens.issuer());
    let target = dpop::ProofTarget {
        method: "POST",
        url: &url,
        access_token: None,
    };
    let mut conn = state
        .store
        .conn()
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    match dpop::verify(&mut conn, &state.dpop, proof, target, now).await {
        Ok(jkt) => Ok(Some(jkt)),
        Err(dpop::DpopError::UseNonce) => {
            let mut response = oauth_error(
                StatusCode::BAD_REQUEST,
                "use_dpop_nonce",
                "send the DPoP proof again with this nonce",
            );
            if let Ok(nonce) = HeaderValue::from_str(&state.dpop.issue(now)) {
                response.headers_mut().insert("dpop-nonce", nonce);
            }
            Err(response)
        }
        Err(dpop::DpopError::Invalid(why)) => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            &why,
        )),
        Err(dpop::DpopError::Store(error)) => Err(ApiError::from(error).into_response()),
    }
}
