//! Passkeys over HTTP: the options of a ceremony as JSON for `passkey.js`, and the
//! browser's answer as a form post on the login and account pages. The ceremonies live
//! in `tongban_identity::passkeys`.

use crate::extract::{ClientIp, FlowCookie, PageForm};
use crate::routes::session_form::{CsrfProtected, SessionForm};
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::passkeys::{self, PasskeyError};
use tongban_identity::sso::{self, SsoError};

use crate::problem::{ApiError, ProblemType};
use crate::state::AppState;
use crate::views::Notice;

use super::account::{CsrfForm, render};
use super::oidc::login::{Posted, answer_step, sign_in};
use super::session_form::form_session;
use super::web::{self, FLOW_COOKIE, STRONG_LOGIN_NEEDED, cookie, store_page};

pub(crate) fn options_response(options: impl serde::Serialize) -> Response {
    web::no_store(axum::Json(options).into_response())
}

/// Options for a usernameless login in this browser's login flow.
#[utoipa::path(post, path = "/login/passkey/options", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token of the login form"),
    responses(
        (status = 200, description = "`ceremony` and WebAuthn `publicKey` request options (no credentials listed: discoverable)", body = Object),
        (status = 403, description = "no live login flow, or a foreign CSRF token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "passkeys are not available on this server (its public URL is an IP address)", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn passkey_login_options(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let flow = cookie(&headers, FLOW_COOKIE)
        .ok_or_else(|| ApiError::new(ProblemType::Forbidden, "no login in progress"))?;
    let mut conn = state.store.conn().await?;
    match sso::flow_request(&mut conn, &flow, &form.csrf_token, now).await {
        Ok(_) => {}
        Err(SsoError::Csrf | SsoError::FlowExpired) => {
            return Err(ApiError::new(
                ProblemType::Forbidden,
                "the login page expired; start again",
            ));
        }
        Err(SsoError::Store(error)) => return Err(error.into()),
        Err(error) => return Err(ApiError::new(ProblemType::Internal, error.to_string())),
    }
    let ceremony = passkeys::start_login(&mut conn, &state.passkeys, &flow, now).await?;
    Ok(options_response(ceremony))
}

/// The answer of a passkey ceremony, posted by `passkey.js`.
#[derive(Deserialize)]
pub struct PasskeyForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    ceremony: String,
    /// The `PublicKeyCredential`, JSON with base64url binary fields.
    #[serde(default)]
    credential: String,
    /// A name for a new passkey.
    #[serde(default)]
    name: String,
}

impl CsrfProtected for PasskeyForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Usernameless login: verifies the passkey's assertion and starts the session
/// (amr `hwk` or `swk` with `mfa`; level 3 on a registry-verified identity).
#[utoipa::path(post, path = "/login/passkey", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, ceremony, credential (the PublicKeyCredential as JSON)"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "signed in: back to the client with a code, or to the account page"),
        (status = 200, description = "signed in: the consent page of a third-party client", content_type = "text/html"),
        (status = 401, description = "the passkey did not verify (another origin, a cloned authenticator, an unknown credential): the login page again", content_type = "text/html"),
        (status = 403, description = "missing or foreign CSRF token, or a spent ceremony", content_type = "text/html"),
        (status = 429, description = "too many failures from this address", content_type = "text/html"),
    ))]
pub async fn passkey_login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    flow: FlowCookie,
    headers: HeaderMap,
    PageForm(form): PageForm<PasskeyForm>,
) -> Response {
    let posted = flow.posted(&form.csrf_token);
    let step = sign_in(&state)
        .passkey(
            posted,
            &form.ceremony,
            &form.credential,
            ip,
            Timestamp::now(),
        )
        .await;
    answer_step(&state, &headers, Posted::Passkey, step)
}

/// Options to enrol a passkey for the signed-in person.
#[utoipa::path(post, path = "/account/passkeys/options", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token of the account page"),
    responses(
        (status = 200, description = "`ceremony` and WebAuthn `publicKey` creation options (discoverable, user verification required)", body = Object),
        (status = 403, description = "no session, or a foreign CSRF token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "passkeys are not available on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn passkey_enrol_options(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let (session, _) = form_session(&state, &headers, &form.csrf_token, now)
        .await
        .map_err(|_| ApiError::new(ProblemType::Forbidden, "sign in again"))?;
    let mut conn = state.store.conn().await?;
    if !passkeys::may_manage_credentials(&mut conn, &session).await? {
        return Err(ApiError::new(ProblemType::Forbidden, STRONG_LOGIN_NEEDED));
    }
    let profile = tongban_identity::subjects::profile_of(&mut conn, &session.subject.to_string())
        .await?
        .ok_or_else(|| ApiError::new(ProblemType::Forbidden, "sign in again"))?;
    // The name the authenticator shows; never the ID number.
    let user_name = profile
        .email
        .clone()
        .unwrap_or_else(|| profile.name.clone());
    let ceremony = passkeys::start_registration(
        &mut conn,
        &state.passkeys,
        session.subject,
        &user_name,
        &profile.name,
        now,
    )
    .await?;
    Ok(options_response(ceremony))
}

/// Registers the passkey the browser created, under the name given.
#[utoipa::path(post, path = "/account/passkeys", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, ceremony, name, credential (the PublicKeyCredential as JSON)"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "added: the account page with a notice", content_type = "text/html"),
        (status = 401, description = "the authenticator's answer did not verify: the account page with the reason", content_type = "text/html"),
        (status = 403, description = "no session, a foreign CSRF token, or a spent ceremony", content_type = "text/html"),
        (status = 409, description = "this passkey is registered already", content_type = "text/html"),
        (status = 422, description = "the name is empty or too long", content_type = "text/html"),
    ))]
pub async fn passkey_enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie: token,
        form,
    }: SessionForm<PasskeyForm>,
) -> Response {
    let (ceremony, name, credential) = (&form.ceremony, &form.name, &form.credential);
    let added = passkeys::add(
        &state.store,
        &state.passkeys,
        &session,
        ceremony,
        name,
        credential,
        Timestamp::now(),
    );
    let (notice, status) = match added.await {
        Ok(()) => (Notice::PasskeyAdded, StatusCode::OK),
        Err(PasskeyError::Ceremony) => return web::expired_form(),
        Err(PasskeyError::Store(error)) => return store_page(error),
        Err(PasskeyError::Name) => (Notice::PasskeyName, StatusCode::UNPROCESSABLE_ENTITY),
        Err(PasskeyError::Duplicate) => (Notice::PasskeyDuplicate, StatusCode::CONFLICT),
        Err(error) => {
            tracing::info!(%error, "passkey enrolment refused");
            (Notice::PasskeyFailed, StatusCode::UNAUTHORIZED)
        }
    };
    let prefs = web::prefs(&headers, None);
    render(&state, prefs, &session, &token, Some(notice), status).await
}

/// A form naming one passkey.
#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf_token: String,
    credential_id: String,
}

impl CsrfProtected for RemoveForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Removes one of the person's passkeys.
#[utoipa::path(post, path = "/account/passkeys/remove", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, credential_id"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "back to the account page"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
    ))]
pub async fn passkey_remove(
    State(state): State<AppState>,
    SessionForm { session, form, .. }: SessionForm<RemoveForm>,
) -> Response {
    match passkeys::remove_own(&state.store, &session, &form.credential_id).await {
        Ok(true) => web::see_other("/account"),
        Ok(false) => web::strong_login_needed(),
        Err(error) => store_page(error),
    }
}
