//! The login pages of a login flow — the form shown again, the password post — and
//! the answer of any login step (password, second factor, passkey): the form again, the
//! next step, or a session and the flow's target.

use crate::extract::{ClientIp, FlowCookie, PageForm};
use crate::routes::web::{self, FLOW_COOKIE, SESSION_COOKIE, cookie, set_cookie, store_page};
use crate::state::AppState;
use crate::views::{self, Notice};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::sign_in::{Next, Refusal, SignIn, SignInError, SignedIn, Step, Then};
use tongban_identity::sso;

use super::authorize::{answer, authorization};

/// Shows the form of the current login flow again (after a language or text-size
/// switch): the login form, or the consent page once signed in.
#[utoipa::path(get, path = "/login", tag = "oidc",
    responses(
        (status = 200, description = "the login form or the consent page", content_type = "text/html"),
        (status = 403, description = "no live login flow in this browser", content_type = "text/html"),
    ))]
pub async fn login_page(
    State(state): State<AppState>,
    FlowCookie(flow): FlowCookie,
    headers: HeaderMap,
) -> Response {
    let session = cookie(&headers, SESSION_COOKIE);
    let step = sign_in(&state)
        .resume(flow.as_deref(), session.as_deref(), Timestamp::now())
        .await;
    answer_step(&state, &headers, Posted::Nothing, step)
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    /// Missing counts as wrong: 403 like any forged token.
    #[serde(default)]
    csrf_token: String,
    identifier: String,
    /// A department's or company's USCC (staff or agent login).
    #[serde(default)]
    organisation: Option<String>,
    password: String,
}

/// Password login: checks the CSRF token against the flow cookie, throttles, verifies
/// the password, starts the session and continues: to the client with a code, to the
/// consent page, or to the account page.
#[utoipa::path(post, path = "/login", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, identifier, organisation (optional USCC), password"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "signed in: back to the client with a code, or to the account page"),
        (status = 200, description = "signed in: the consent page of a third-party client", content_type = "text/html"),
        (status = 401, description = "wrong identifier or password: the form again", content_type = "text/html"),
        (status = 403, description = "missing or foreign CSRF token", content_type = "text/html"),
        (status = 429, description = "too many failures", content_type = "text/html",
         headers(("Retry-After" = u32, description = "seconds to wait"))),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    flow: FlowCookie,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    let credentials = sso::Credentials {
        identifier: &form.identifier,
        organisation: form.organisation.as_deref(),
        password: &form.password,
    };
    let posted = flow.posted(&form.csrf_token);
    let step = sign_in(&state)
        .password(posted, &credentials, ip, Timestamp::now())
        .await;
    answer_step(&state, &headers, Posted::Password(&form.identifier), step)
}

/// The login steps' inputs from the application state.
pub(crate) fn sign_in(state: &AppState) -> SignIn<'_> {
    SignIn {
        authorization: authorization(state),
        passwords: &state.passwords,
        totp: &state.totp,
        passkeys: &state.passkeys,
        registry: state.registry.as_ref(),
    }
}

/// Which form a step answers, to show it again when the step refuses.
#[derive(Clone, Copy)]
pub(crate) enum Posted<'a> {
    /// No form: the login page was asked for.
    Nothing,
    /// The password form, with the identifier typed.
    Password(&'a str),
    /// The second-factor form.
    SecondFactor,
    /// A passkey from the login form.
    Passkey,
}

/// The HTTP answer of a login step.
pub(crate) fn answer_step(
    state: &AppState,
    headers: &HeaderMap,
    posted: Posted<'_>,
    step: Result<Step, SignInError>,
) -> Response {
    let (target, csrf, next) = match step {
        Ok(Step::InFlow {
            target,
            csrf_token,
            next,
        }) => (target, csrf_token, next),
        Ok(Step::Expired) => return web::expired_form(),
        Err(error) => return store_page(error),
    };
    let prefs = web::flow_prefs(headers, &target);
    let login_form = |hint: Option<&str>, notice: Option<Notice>, status| {
        let available = state.passkeys.available();
        web::no_store(views::login(prefs, &csrf, hint, notice, available, status))
    };
    match next {
        Next::Refused(refusal) => {
            let (notice, status) = match refusal {
                Refusal::WrongCredentials => (Notice::WrongCredentials, StatusCode::UNAUTHORIZED),
                Refusal::WrongCode => (Notice::WrongCode, StatusCode::UNAUTHORIZED),
                Refusal::PasskeyFailed => (Notice::PasskeyFailed, StatusCode::UNAUTHORIZED),
                Refusal::TemporaryPasswordExpired => {
                    (Notice::TemporaryExpired, StatusCode::UNAUTHORIZED)
                }
                Refusal::Throttled { .. } => (Notice::TooMany, StatusCode::TOO_MANY_REQUESTS),
            };
            let page = match posted {
                Posted::SecondFactor => views::second_factor(prefs, &csrf, Some(notice), status),
                Posted::Password(identifier) => login_form(Some(identifier), Some(notice), status),
                Posted::Passkey | Posted::Nothing => login_form(None, Some(notice), status),
            };
            match refusal {
                Refusal::Throttled { retry_after_secs } => {
                    web::with_retry_after(page, retry_after_secs)
                }
                _ => page,
            }
        }
        Next::LoginForm { login_hint } => login_form(login_hint.as_deref(), None, StatusCode::OK),
        Next::SecondFactor => views::second_factor(prefs, &csrf, None, StatusCode::OK),
        // No session: the counter's new-password page, its form bound to the choice.
        Next::ChoosePassword(choice) => web::no_store(views::counter::enrol_password(
            prefs,
            &choice.name,
            &choice.token,
            None,
            StatusCode::OK,
        )),
        Next::Authorization(outcome) => answer(state, |_| prefs, Ok(outcome)),
        Next::SignedIn(signed_in) => with_session(state, prefs, signed_in),
    }
}

/// Where a new session goes, with its cookie (and the flow's cleared once it ended).
fn with_session(state: &AppState, prefs: views::Prefs, signed_in: SignedIn) -> Response {
    let mut response = match signed_in.then {
        Then::Account => web::see_other("/account"),
        Then::Authorization(outcome) => answer(state, |_| prefs, Ok(outcome)),
    };
    let max_age = sso::SESSION_ABSOLUTE_MS / 1000;
    let session = set_cookie(SESSION_COOKIE, &signed_in.session_cookie, max_age);
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session);
    if signed_in.flow_ended {
        headers.append(header::SET_COOKIE, set_cookie(FLOW_COOKIE, "", 0));
        // 303: the browser follows with GET, never re-posting a secret.
        *response.status_mut() = StatusCode::SEE_OTHER;
    }
    response
}
