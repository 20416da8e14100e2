//! The second step of a login: an authenticator (TOTP) or recovery code.

use crate::extract::PageForm;
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::{self};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::net::SocketAddr;
use tongban_core::time::Timestamp;
use tongban_identity::sso::{self, SsoError};

use super::login::{LoginStep, complete_login, login_step};

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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PageForm(form): PageForm<SecondFactorForm>,
) -> Response {
    let now = Timestamp::now();
    let LoginStep {
        mut conn,
        flow_cookie,
        target,
        csrf,
        prefs,
    } = match login_step(&state, &headers, &form.csrf_token, now).await {
        Ok(step) => step,
        Err(page) => return page,
    };
    let logged_in = match sso::pending_second_factor(&mut conn, &flow_cookie).await {
        Ok(Some(logged_in)) => logged_in,
        Ok(None) => return web::expired_form(),
        Err(error) => return store_page(error),
    };
    let ip = web::client_ip(peer.ip(), &headers, &state.http.trusted_proxies);
    let checked =
        sso::check_second_factor(&mut conn, &state.totp, logged_in, &form.code, ip, now).await;
    drop(conn);
    match checked {
        Ok(()) => {
            complete_login(
                &state,
                &flow_cookie,
                &target,
                &csrf,
                prefs,
                logged_in,
                &["pwd", "otp", "mfa"],
                now,
            )
            .await
        }
        Err(SsoError::Throttled(throttled)) => {
            let page = views::second_factor(
                prefs,
                &csrf,
                Some(views::Notice::TooMany),
                StatusCode::TOO_MANY_REQUESTS,
            );
            web::with_retry_after(page, throttled.retry_after_secs)
        }
        Err(SsoError::InvalidCredentials) => views::second_factor(
            prefs,
            &csrf,
            Some(views::Notice::WrongCode),
            StatusCode::UNAUTHORIZED,
        ),
        Err(error) => store_page(error),
    }
}
