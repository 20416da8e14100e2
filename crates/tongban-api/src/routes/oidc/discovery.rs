//! Discovery (OpenID Connect Discovery 1.0 §4): the provider's metadata.

use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

/// The discovery document (OpenID Connect Discovery 1.0).
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oidc",
    responses((status = 200, description = "provider metadata", body = Object)))]
pub async fn discovery(State(state): State<AppState>) -> impl IntoResponse {
    let iss = state.tokens.issuer();
    axum::Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "introspection_endpoint": format!("{iss}/introspect"),
        "revocation_endpoint": format!("{iss}/revoke"),
        "end_session_endpoint": format!("{iss}/logout"),
        "subject_types_supported": ["public", "pairwise"],
        "pushed_authorization_request_endpoint": format!("{iss}/par"),
        "require_pushed_authorization_requests": false,
        "dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "EdDSA"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "phone", "tongban:identity"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
                             "name", "email", "phone_number", "resident_id", "acting_for", "act", "uscc", "assurance_level"],
        "acr_values_supported": tongban_identity::assurance::supported_acr_values(),
        "claims_parameter_supported": true,
        "authorization_response_iss_parameter_supported": true,
    }))
}
