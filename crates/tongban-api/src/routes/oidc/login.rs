//! The password login of a login flow, and completing any login (password, passkey,
//! second factor): a session, then back to the flow's target.

use crate::extract::PageForm;
use crate::routes::web::{self, FLOW_COOKIE, SESSION_COOKIE, cookie, set_cookie, store_page};
use crate::state::AppState;
use crate::views::{self};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use std::net::SocketAddr;
use tongban_core::time::Timestamp;
use tongban_identity::consent;
use tongban_identity::identity_registry;
use tongban_identity::sso::{self, FlowTarget, SsoError};
use tongban_identity::{passkeys, totp};

use super::authorize::answer;
use super::redirect_error;
use tongban_identity::authorization;

/// Shows the form of the current login flow again (after a language or text-size
/// switch): the login form, or the consent page once signed in.
#[utoipa::path(get, path = "/login", tag = "oidc",
    responses(
        (status = 200, description = "the login form or the consent page", content_type = "text/html"),
        (status = 403, description = "no live login flow in this browser", content_type = "text/html"),
    ))]
pub async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = Timestamp::now();
    let Some(flow_cookie) = cookie(&headers, FLOW_COOKIE) else {
        return web::expired_form();
    };
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return store_page(error),
    };
    let (target, csrf) = match sso::flow_by_cookie(&mut conn, &flow_cookie, now).await {
        Ok(found) => found,
        Err(SsoError::Csrf | SsoError::FlowExpired) => return web::expired_form(),
        Err(error) => return store_page(error),
    };
    let prefs = web::flow_prefs(&headers, &target);
    let hint = match &target {
        FlowTarget::Authorize(request) => request.login_hint.as_deref(),
        FlowTarget::Account => None,
    };
    if let FlowTarget::Authorize(request) = &target
        && let Some(token) = cookie(&headers, SESSION_COOKIE)
    {
        match sso::session_from_cookie(&mut conn, &token, now).await {
            Ok(Some(_)) => {
                let outcome =
                    authorization::consent_page(&mut conn, request.clone(), csrf, None).await;
                return answer(&state, |_| prefs, outcome);
            }
            Ok(None) => {}
            Err(error) => return store_page(error),
        }
    }
    web::no_store(views::login(
        prefs,
        &csrf,
        hint,
        None,
        state.passkeys.available(),
        StatusCode::OK,
    ))
}

/// What each step of a login starts from: the flow in the browser's cookie, checked
/// against the form's CSRF token, on the connection the step goes on with.
pub(crate) struct LoginStep {
    pub(crate) conn: tongban_store::PooledConn,
    pub(crate) flow_cookie: String,
    pub(crate) target: FlowTarget,
    pub(crate) csrf: String,
    pub(crate) prefs: views::Prefs,
}

/// The [`LoginStep`] of a form post, or the page that says the form expired.
pub(crate) async fn login_step(
    state: &AppState,
    headers: &HeaderMap,
    csrf_token: &str,
    now: Timestamp,
) -> Result<LoginStep, Response> {
    let Some(flow_cookie) = cookie(headers, FLOW_COOKIE) else {
        return Err(web::expired_form());
    };
    let mut conn = state.store.conn().await.map_err(store_page)?;
    let (target, csrf) = match sso::flow_request(&mut conn, &flow_cookie, csrf_token, now).await {
        Ok(found) => found,
        Err(SsoError::Csrf | SsoError::FlowExpired) => return Err(web::expired_form()),
        Err(error) => return Err(store_page(error)),
    };
    let prefs = web::flow_prefs(headers, &target);
    Ok(LoginStep {
        conn,
        flow_cookie,
        target,
        csrf,
        prefs,
    })
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    let now = Timestamp::now();
    // Reads and the password check run on one plain connection, released before
    // the registry (which may take its own) is asked; only the final writes share a
    // transaction. Holding a connection while waiting for another starves the pool.
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
    let credentials = sso::Credentials {
        identifier: &form.identifier,
        organisation: form.organisation.as_deref(),
        password: &form.password,
    };
    let ip = web::client_ip(peer.ip(), &headers, &state.http.trusted_proxies);
    let login = sso::password_login(&mut conn, &state.passwords, &credentials, ip, now).await;
    let logged_in = match login {
        Ok(logged_in) => logged_in,
        Err(SsoError::InvalidCredentials) => {
            return views::login(
                prefs,
                &csrf,
                Some(&form.identifier),
                Some(views::Notice::WrongCredentials),
                state.passkeys.available(),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(SsoError::Throttled(throttled)) => {
            let page = views::login(
                prefs,
                &csrf,
                Some(&form.identifier),
                Some(views::Notice::TooMany),
                state.passkeys.available(),
                StatusCode::TOO_MANY_REQUESTS,
            );
            return web::with_retry_after(page, throttled.retry_after_secs);
        }
        Err(error) => return store_page(error),
    };
    // A person with an authenticator passes it before the session starts.
    let second_factor = match totp::enabled(&mut conn, logged_in.subject).await {
        Ok(true) => sso::await_second_factor(&mut conn, &flow_cookie, logged_in).await,
        Ok(false) => Ok(false),
        Err(error) => return store_page(error),
    };
    drop(conn);
    match second_factor {
        Ok(true) => views::second_factor(prefs, &csrf, None, StatusCode::OK),
        Ok(false) => {
            complete_login(
                &state,
                &flow_cookie,
                &target,
                &csrf,
                prefs,
                logged_in,
                &["pwd"],
                now,
            )
            .await
        }
        Err(error) => store_page(error),
    }
}

/// Starts the session of a person who passed every factor and continues: to the
/// client with a code, to the consent page, or to the account page.
#[expect(
    clippy::too_many_arguments,
    reason = "the state of one login, passed along once"
)]
pub(crate) async fn complete_login(
    state: &AppState,
    flow_cookie: &str,
    target: &FlowTarget,
    csrf: &str,
    prefs: views::Prefs,
    logged_in: sso::LoggedIn,
    amr: &[&str],
    now: Timestamp,
) -> Response {
    let level = match identity_registry::assurance_after_login(
        &state.store,
        state.registry.as_ref(),
        logged_in.subject,
    )
    .await
    {
        Ok(level) => level,
        Err(error) => return store_page(error),
    };
    let level = tongban_identity::assurance::level_of_login(level, amr);
    let mut tx = match state.store.begin().await {
        Ok(tx) => tx,
        Err(error) => return store_page(error),
    };
    let created =
        sso::create_session(&mut tx, logged_in, &identity_registry::acr(level), amr, now).await;
    let (session, session_cookie) = match created {
        Ok(created) => created,
        Err(error) => return store_page(error),
    };
    // Under the staff passkey policy a password session of staff serves the account
    // page only (where the passkey is added); the relying party hears why.
    let allowed = match passkeys::policy_allows(
        &mut tx,
        state.auth.staff_passkeys_required,
        &session,
    )
    .await
    {
        Ok(allowed) => allowed,
        Err(error) => return store_page(error),
    };
    let needs_consent = match target {
        FlowTarget::Authorize(request) if allowed => {
            match consent::needed(&mut tx, session.subject, request).await {
                Ok(needed) => needed,
                Err(error) => return store_page(error),
            }
        }
        FlowTarget::Authorize(_) | FlowTarget::Account => false,
    };
    // The flow lives on while consent is pending: the consent form posts its token.
    if !needs_consent && let Err(error) = sso::end_flow(&mut tx, flow_cookie).await {
        return store_page(error);
    }
    let mut response = match target {
        FlowTarget::Authorize(request) if !allowed => redirect_error(
            state,
            &request.redirect_uri,
            "unmet_authentication_requirements",
            Some("staff sign in with a passkey; add one on the account page (/account)"),
            request.state.as_deref(),
        ),
        FlowTarget::Authorize(request) if needs_consent => {
            let outcome =
                authorization::consent_page(&mut tx, request.clone(), csrf.to_owned(), None).await;
            answer(state, |_| prefs, outcome)
        }
        FlowTarget::Authorize(request) => {
            let outcome =
                super::authorize::authorization(state).code(request.clone(), &session, now);
            answer(state, |_| prefs, outcome)
        }
        FlowTarget::Account => web::see_other("/account"),
    };
    if let Err(error) = tx.commit().await {
        return store_page(error);
    }
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &session_cookie,
            sso::SESSION_ABSOLUTE_MS / 1000,
        ),
    );
    if !needs_consent {
        headers.append(header::SET_COOKIE, set_cookie(FLOW_COOKIE, "", 0));
        // 303: the browser follows with GET, never re-posting a secret.
        *response.status_mut() = StatusCode::SEE_OTHER;
    }
    response
}
