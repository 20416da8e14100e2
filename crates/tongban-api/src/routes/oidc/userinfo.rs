//! The userinfo endpoint (OpenID Connect Core §5.3).

use crate::auth::Authenticated;
use crate::problem::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::internal;

/// UserInfo (OpenID Connect Core §5.3) for a bearer access token.
#[utoipa::path(get, path = "/userinfo", tag = "oidc",
    responses(
        (status = 200, description = "claims about the subject", body = Object),
        (status = 401, description = "missing, invalid or expired token",
         headers(("WWW-Authenticate" = String, description = "Bearer error=\"invalid_token\""))),
    ),
    security(("bearer" = [])))]
pub async fn userinfo(State(state): State<AppState>, caller: Authenticated) -> Response {
    let claims = caller.claims;
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let scopes: Vec<&str> = claims.scope.split_whitespace().collect();
    // A third-party client's token names the person by a pairwise identifier.
    let sector = match state.clients.find(&claims.client_id).await {
        Ok(client) => client.and_then(|c| c.sector),
        Err(error) => return internal(error),
    };
    let subject = match &sector {
        Some(sector) => {
            match tongban_identity::pairwise::resolve(&mut conn, sector, &claims.sub).await {
                Ok(found) => found.unwrap_or_default(),
                Err(error) => return ApiError::from(error).into_response(),
            }
        }
        None => claims.sub.clone(),
    };
    let profile = match tongban_identity::subjects::profile_of(&mut conn, &subject).await {
        Ok(profile) => profile,
        Err(error) => return internal(error),
    };
    let mut body = json!({ "sub": claims.sub });
    if let Some(profile) = profile {
        if scopes.contains(&"profile") {
            body["name"] = json!(profile.name);
        }
        if scopes.contains(&"email")
            && let Some(email) = profile.email
        {
            body["email"] = json!(email);
        }
        if scopes.contains(&"phone")
            && let Some(phone) = profile.phone
        {
            body["phone_number"] = json!(phone);
        }
        // Identity numbers only to clients allowed `tongban:identity` (checked when
        // the scope was granted).
        if scopes.contains(&"tongban:identity") {
            body["name"] = json!(profile.name);
            body["assurance_level"] = json!(profile.assurance);
            if let Some(id) = profile.resident_id {
                body["resident_id"] = json!(id);
            }
            if let Some(uscc) = profile.uscc {
                body["uscc"] = json!(uscc);
            }
        }
    }
    axum::Json(body).into_response()
}
