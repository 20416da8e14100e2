//! The userinfo endpoint (OpenID Connect Core §5.3).

use crate::auth::Authenticated;
use crate::problem::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use tongban_identity::token_info::UserInfo;

use super::token_info;

/// UserInfo (OpenID Connect Core §5.3) for a bearer access token.
#[utoipa::path(get, path = "/userinfo", tag = "oidc",
    responses(
        (status = 200, description = "claims about the subject", body = Object),
        (status = 401, description = "missing, invalid or expired token",
         headers(("WWW-Authenticate" = String, description = "Bearer error=\"invalid_token\""))),
    ),
    security(("bearer" = [])))]
pub async fn userinfo(
    State(state): State<AppState>,
    caller: Authenticated,
) -> Result<Json<UserInfo>, ApiError> {
    Ok(Json(token_info(&state).userinfo(&caller.claims).await?))
}
