//! The second step of a login: an authenticator (TOTP) or recovery code.

use crate::extract::{ClientIp, FlowCookie, PageForm};
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;

use super::login::{Posted, answer_step, sign_in};

/// The second-factor form's fields.
#[derive(Deserialize)]
pub struct SecondFactorForm {
    #[serde(default)]
    csrf_token: String,
    /// A 6-digit authenticator code or a recovery code.
    code: String,
}

/// The second factor of a login whose password was right: an authenticator (TOTP)
/// code, each usable once, or a one-time recovery code.
#[utoipa::path(post, path = "/login/otp", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, code"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "signed in: back to the client with a code, or to the account page"),
        (status = 200, description = "signed in: the consent page of a third-party client", content_type = "text/html"),
        (status = 401, description = "wrong or reused code: the form again", content_type = "text/html"),
        (status = 403, description = "missing or foreign CSRF token, or no password step before", content_type = "text/html"),
        (status = 429, description = "too many failures", content_type = "text/html"),
    ))]
pub async fn second_factor(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    flow: FlowCookie,
    headers: HeaderMap,
    PageForm(form): PageForm<SecondFactorForm>,
) -> Response {
    let posted = flow.posted(&form.csrf_token);
    let step = sign_in(&state)
        .second_factor(posted, &form.code, ip, Timestamp::now())
        .await;
    answer_step(&state, &headers, Posted::SecondFactor, step)
}
