//! The account page (profile, sessions, consents, password) and the page preferences
//! switch. Every form carries a CSRF token derived from the session cookie.

use crate::extract::{ClientIp, PageQuery};
use crate::routes::session_form::{CsrfProtected, SessionForm, signed_in};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::account::{self, AccountError, PasswordChange};
use tongban_identity::authenticator_setup::{self, Confirmed};
use tongban_identity::sso::{self, FlowTarget, Session};
use tongban_identity::{consent, subjects, totp};

use crate::state::AppState;
use crate::views::{self, AccountView, Notice, PREFS_COOKIE, Prefs};

use super::web::{self, SESSION_COOKIE, set_cookie, store_page};

pub(super) async fn render(
    state: &AppState,
    prefs: Prefs,
    session: &Session,
    cookie_value: &str,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let now = Timestamp::now();
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return store_page(error),
    };
    let profile = match subjects::profile_of(&mut conn, &session.subject.to_string()).await {
        Ok(Some(profile)) => profile,
        Ok(None) => return store_page("session of a missing subject"),
        Err(error) => return store_page(error),
    };
    let sessions = match sso::sessions_of(&mut conn, session.subject, now).await {
        Ok(list) => list,
        Err(error) => return store_page(error),
    };
    let consents = match consent::of(&mut conn, session.subject).await {
        Ok(list) => list,
        Err(error) => return store_page(error),
    };
    let totp_enabled = match totp::enabled(&mut conn, session.subject).await {
        Ok(enabled) => enabled,
        Err(error) => return store_page(error),
    };
    let passkeys = if state.passkeys.available() {
        match tongban_identity::passkeys::list(&mut conn, session.subject).await {
            Ok(list) => Some(list),
            Err(error) => return store_page(error),
        }
    } else {
        None
    };
    let certificates =
        match tongban_ecert::holder::certificates(&mut conn, session.subject, now).await {
            Ok(list) => list,
            Err(error) => return store_page(error),
        };
    let accesses = match tongban_ecert::holder::accesses(&mut conn, session.subject, 50, now).await
    {
        Ok(list) => list,
        Err(error) => return store_page(error),
    };
    let logged = match tongban_ecert::transparency::about(&mut conn, &certificates).await {
        Ok(list) => list,
        Err(error) => return store_page(error),
    };
    let waiting = match tongban_esign::requests::of_signer(&mut conn, session.subject).await {
        Ok(list) => list.iter().filter(|r| r.open(now)).count(),
        Err(error) => return store_page(error),
    };
    let visits = match tongban_identity::counter::visits_of(&mut conn, session.subject).await {
        Ok(list) => list,
        Err(error) => return store_page(error),
    };
    let assists = if session.acting_for.is_none() {
        match tongban_identity::delegation::assisted::waiting_for(&mut conn, session.subject, now)
            .await
        {
            Ok(list) => list,
            Err(error) => return store_page(error),
        }
    } else {
        Vec::new()
    };
    let helped = match tongban_identity::delegation::of_person(&mut conn, session.subject).await {
        Ok((given, _)) => given
            .into_iter()
            .filter(|d| d.kind == "counter" && !assists.iter().any(|a| a.id == d.id))
            .collect::<Vec<_>>(),
        Err(error) => return store_page(error),
    };
    let csrf = sso::session_csrf(cookie_value);
    let view = AccountView {
        helped: &helped,
        assists: &assists,
        visits: &visits,
        login_level: tongban_identity::assurance::level_of_acr(&session.acr),
        signing_waiting: waiting,
        certificates: &certificates,
        accesses: &accesses,
        logged: &logged,
        passkeys: passkeys.as_deref(),
        totp_enabled,
        profile: &profile,
        sessions: &sessions,
        current_session: &session.id,
        consents: &consents,
        csrf_token: &csrf,
        notice,
    };
    web::no_store(views::account(prefs, &view, status))
}

/// The account page; without a session, the login form (which returns here).
#[utoipa::path(get, path = "/account", tag = "account",
    responses(
        (status = 200, description = "the account page, or the login form", content_type = "text/html"),
    ))]
pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = Timestamp::now();
    let prefs = web::prefs(&headers, None);
    match signed_in(&state, &headers, now).await {
        Ok(Some((session, token))) => {
            render(&state, prefs, &session, &token, None, StatusCode::OK).await
        }
        Ok(None) => {
            let mut conn = match state.store.conn().await {
                Ok(conn) => conn,
                Err(error) => return store_page(error),
            };
            match sso::start_flow(&mut conn, &FlowTarget::Account, now).await {
                Ok(flow) => {
                    let mut page = web::no_store(views::login(
                        prefs,
                        &flow.csrf_token,
                        None,
                        None,
                        state.passkeys.available(),
                        StatusCode::OK,
                    ));
                    page.headers_mut().append(
                        header::SET_COOKIE,
                        set_cookie(web::FLOW_COOKIE, &flow.cookie, sso::FLOW_LIFETIME_MS / 1000),
                    );
                    page
                }
                Err(error) => store_page(error),
            }
        }
        Err(response) => response,
    }
}

/// A form with only its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(super) csrf_token: String,
}

impl CsrfProtected for CsrfForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// A form naming one session.
#[derive(Deserialize)]
pub struct EndSessionForm {
    #[serde(default)]
    csrf_token: String,
    session_id: String,
}

impl CsrfProtected for EndSessionForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Ends one of the person's other sessions (and its refresh tokens).
#[utoipa::path(post, path = "/account/sessions/end", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, session_id"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "back to the account page"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
    ))]
pub async fn end_session(
    State(state): State<AppState>,
    SessionForm { session, form, .. }: SessionForm<EndSessionForm>,
) -> Response {
    let (subject, id, now) = (session.subject, &form.session_id, Timestamp::now());
    let ended = (state.store).transaction(async |tx| sso::end_session(tx, subject, id, now).await);
    match ended.await {
        Ok(_) if form.session_id == session.id => signed_out(),
        Ok(_) => web::see_other("/account"),
        Err(error) => store_page(error),
    }
}

fn signed_out() -> Response {
    let mut response = web::see_other("/account");
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    response
}

/// Signs out everywhere: every session of the person ends, every refresh token is
/// revoked.
#[utoipa::path(post, path = "/account/sessions/end-all", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "signed out; to the login form"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
    ))]
pub async fn end_all(
    State(state): State<AppState>,
    SessionForm { session, .. }: SessionForm<CsrfForm>,
) -> Response {
    let (subject, now) = (session.subject, Timestamp::now());
    let ended = (state.store).transaction(async |tx| sso::end_all_sessions(tx, subject, now).await);
    match ended.await {
        Ok(_) => signed_out(),
        Err(error) => store_page(error),
    }
}

/// A form naming one client.
#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    csrf_token: String,
    client_id: String,
}

impl CsrfProtected for WithdrawForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Withdraws a consent; the client's refresh tokens for this person are revoked.
#[utoipa::path(post, path = "/account/consents/withdraw", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, client_id"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "back to the account page"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
    ))]
pub async fn withdraw_consent(
    State(state): State<AppState>,
    SessionForm { session, form, .. }: SessionForm<WithdrawForm>,
) -> Response {
    let (subject, client, now) = (session.subject, &form.client_id, Timestamp::now());
    let withdrawn = state
        .store
        .transaction(async |tx| consent::withdraw(tx, subject, client, now).await);
    match withdrawn.await {
        Ok(_) => web::see_other("/account"),
        Err(error) => store_page(error),
    }
}

/// The password form's fields.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf_token: String,
    current_password: String,
    new_password: String,
    confirm_password: String,
}

impl CsrfProtected for PasswordForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Changes the password (the current one is asked again); other sessions end.
#[utoipa::path(post, path = "/account/password", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, current_password, new_password, confirm_password"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "changed: the account page with a notice", content_type = "text/html"),
        (status = 401, description = "the current password is wrong", content_type = "text/html"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
        (status = 422, description = "the new password breaks the policy or differs from its confirmation", content_type = "text/html"),
        (status = 429, description = "too many wrong current passwords", content_type = "text/html"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie: token,
        form,
    }: SessionForm<PasswordForm>,
) -> Response {
    let change = PasswordChange {
        current: &form.current_password,
        new: &form.new_password,
        confirm: &form.confirm_password,
    };
    let changed = account::change_password(
        &state.store,
        &state.passwords,
        &session,
        &change,
        ip,
        Timestamp::now(),
    )
    .await;
    let (notice, status) = match changed {
        Ok(()) => (Notice::PasswordChanged, StatusCode::OK),
        Err(AccountError::WrongPassword) => (Notice::WrongCurrent, StatusCode::UNAUTHORIZED),
        Err(AccountError::Mismatch) => (Notice::Mismatch, StatusCode::UNPROCESSABLE_ENTITY),
        Err(AccountError::Policy(reason)) => {
            (Notice::Policy(reason), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(AccountError::Throttled(_)) => (Notice::TooMany, StatusCode::TOO_MANY_REQUESTS),
        Err(error) => return store_page(error),
    };
    let prefs = web::prefs(&headers, None);
    render(&state, prefs, &session, &token, Some(notice), status).await
}

/// Starts setting up an authenticator (TOTP): a new secret to add to an app.
#[utoipa::path(post, path = "/account/totp/enrol", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "the secret and the confirmation form", content_type = "text/html"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
    ))]
pub async fn totp_enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie: token,
        ..
    }: SessionForm<CsrfForm>,
) -> Response {
    let started = authenticator_setup::start(&state.store, &state.totp, &session, Timestamp::now());
    match started.await {
        Ok(Some(enrolment)) => {
            let prefs = web::prefs(&headers, None);
            let page = views::totp_setup(prefs, &sso::session_csrf(&token), &enrolment, None);
            web::no_store(page)
        }
        Ok(None) => web::strong_login_needed(),
        Err(error) => store_page(error),
    }
}

/// A code form.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf_token: String,
    code: String,
}

impl CsrfProtected for CodeForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Confirms the authenticator with a code from it; shows the recovery codes once.
#[utoipa::path(post, path = "/account/totp/confirm", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, code"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "on: the recovery codes, shown once", content_type = "text/html"),
        (status = 401, description = "wrong code: the set-up page again", content_type = "text/html"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
    ))]
pub async fn totp_confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie: token,
        form,
    }: SessionForm<CodeForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let now = Timestamp::now();
    let confirmed =
        authenticator_setup::confirm(&state.store, &state.totp, &session, &form.code, now);
    match confirmed.await {
        Ok(Confirmed::RecoveryCodes(codes)) => web::no_store(views::recovery_codes(prefs, &codes)),
        Ok(Confirmed::WrongCode(enrolment)) => {
            let csrf = sso::session_csrf(&token);
            let notice = Some(Notice::WrongCode);
            let mut page = views::totp_setup(prefs, &csrf, &enrolment, notice);
            *page.status_mut() = StatusCode::UNAUTHORIZED;
            web::no_store(page)
        }
        Ok(Confirmed::NotStarted) => web::see_other("/account"),
        Err(error) => store_page(error),
    }
}

/// The preferences switch.
#[derive(Deserialize)]
pub struct PrefsQuery {
    /// `zh`, `en`, `zh-care` or `en-care`.
    set: String,
    /// A path on this site to return to.
    back: Option<String>,
}

/// Sets the language and care mode, then returns to the page the person was on.
#[utoipa::path(get, path = "/prefs", tag = "account",
    params(
        ("set" = String, Query, description = "`zh`, `en`, `zh-care` or `en-care`"),
        ("back" = Option<String>, Query, description = "a path on this site"),
    ),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "back, with the preferences cookie"),
    ))]
pub async fn prefs(PageQuery(query): PageQuery<PrefsQuery>) -> Response {
    let chosen = Prefs::resolve(Some(&query.set), None);
    let back = query
        .back
        .filter(|b| web::is_local_path(b))
        .unwrap_or_else(|| "/account".to_owned());
    let mut response = web::see_other(&back);
    let one_year = 365 * 24 * 60 * 60;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(PREFS_COOKIE, &chosen.cookie_value(), one_year),
    );
    response
}
