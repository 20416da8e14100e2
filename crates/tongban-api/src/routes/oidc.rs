//! The OpenID Connect provider's HTTP surface: discovery, authorize, the login form,
//! token and userinfo. Rules live in `tongban-identity`; this module only moves
//! parameters, cookies and redirects.

use std::net::SocketAddr;

use crate::extract::{PageForm, PageQuery};
use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;
use tongban_core::time::Timestamp;
use tongban_identity::client_auth;
use tongban_identity::clients::{self, Client};
use tongban_identity::consent;
use tongban_identity::grants::{self, GrantError, RefreshGrant};
use tongban_identity::registry;
use tongban_identity::sso::{
    self, AuthorizeError, AuthorizeParams, AuthorizeRequest, CodeError, FlowTarget, PageReason,
    Session, SsoError,
};
use tongban_identity::tokens::AccessRequest;
use tongban_identity::{dpop, par, passkeys, totp};

use crate::auth::Authenticated;
use crate::middleware::page_prefs;
use crate::problem::{ApiError, ProblemType};
use crate::state::AppState;
use crate::views::{self, ErrorPage};

use super::web::{self, FLOW_COOKIE, SESSION_COOKIE, cookie, set_cookie, store_page};

fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let separator = if uri.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{uri}{separator}{query}")).into_response()
}

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
                             "name", "email", "phone_number", "resident_id", "acting_for", "uscc", "assurance_level"],
        "acr_values_supported": tongban_identity::assurance::supported_acr_values(),
        "claims_parameter_supported": true,
        "authorization_response_iss_parameter_supported": true,
    }))
}

/// Authorization endpoint: validates the request; with a live session answers with a
/// code at once (single sign-on), after the consent page for a third-party client;
/// otherwise shows the login form.
#[utoipa::path(get, path = "/authorize", tag = "oidc",
    params(
        ("response_type" = String, Query, description = "`code`"),
        ("client_id" = String, Query),
        ("redirect_uri" = String, Query, description = "exactly as registered"),
        ("scope" = String, Query, description = "must include `openid`"),
        ("state" = Option<String>, Query),
        ("nonce" = Option<String>, Query),
        ("code_challenge" = String, Query, description = "PKCE, S256"),
        ("code_challenge_method" = String, Query, description = "`S256`"),
        ("prompt" = Option<String>, Query, description = "`none`, `login` or `consent`"),
        ("max_age" = Option<i64>, Query),
        ("login_hint" = Option<String>, Query),
        ("ui_locales" = Option<String>, Query, description = "`zh-CN` (default) or `en`"),
    ),
    responses(
        (status = 303, description = "redirect to the client with a code or an OAuth error"),
        (status = 200, description = "the login form, or the consent page", content_type = "text/html"),
        (status = 400, description = "unknown client or unregistered redirect URI: an error page, no redirect", content_type = "text/html"),
    ))]
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(params): PageQuery<AuthorizeParams>,
) -> Response {
    let now = Timestamp::now();
    let Some(client_id) = params.client_id.as_deref() else {
        return cannot_continue(PageReason::NoClient);
    };
    // Clients come from the 5-second cache: SSO at a portal needs no client query.
    let client = match state.clients.find(client_id).await {
        Ok(client) => client,
        Err(error) => return store_page(error),
    };
    // A pushed request (RFC 9126 §4) replaces every other parameter.
    let (params, pushed) = match params.request_uri.as_deref() {
        Some(uri) => {
            let taken = match state.store.conn().await {
                Ok(mut conn) => par::take(&mut conn, uri, client_id, now).await,
                Err(error) => return store_page(error),
            };
            match taken {
                Ok(pushed) => (pushed, true),
                Err(par::ParError::Unknown) => {
                    return cannot_continue(PageReason::UnknownRequestUri);
                }
                Err(error) => return store_page(error),
            }
        }
        None => (params, false),
    };
    let request = match sso::validate(client, &params, pushed) {
        Ok((_, request)) => request,
        Err(AuthorizeError::Page(reason)) => {
            return cannot_continue(reason);
        }
        Err(AuthorizeError::Redirect {
            redirect_uri,
            error,
            description,
            state: st,
        }) => {
            return redirect_error(
                &state,
                &redirect_uri,
                error,
                Some(&description),
                st.as_deref(),
            );
        }
    };
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return store_page(error),
    };
    let prefs = web::prefs(&headers, request.ui_locales.as_deref());
    let session = match cookie(&headers, SESSION_COOKIE) {
        Some(token) => match sso::session_from_cookie(&mut conn, &token, now).await {
            Ok(session) => session.filter(|s| sso::session_fits(s, &request, now)),
            Err(error) => return store_page(error),
        },
        None => None,
    };
    // A staff member's password session does not reach portals under the passkey
    // policy: they log in again, with a passkey.
    let session = match session {
        Some(s) => {
            match passkeys::policy_allows(&mut conn, state.auth.staff_passkeys_required, &s).await {
                Ok(true) => Some(s),
                Ok(false) => None,
                Err(error) => return store_page(error),
            }
        }
        None => None,
    };
    if let Some(session) = session {
        return continue_signed_in(&state, &mut conn, &request, &session, prefs, now).await;
    }
    if request.prompt_none {
        return redirect_error(
            &state,
            &request.redirect_uri,
            "login_required",
            None,
            request.state.as_deref(),
        );
    }
    match sso::start_flow(&mut conn, &FlowTarget::Authorize(request.clone()), now).await {
        Ok(flow) => {
            let notice = (request.requirement.min_level > 1).then_some(views::Notice::StepUp);
            let page = views::login(
                prefs,
                &flow.csrf_token,
                request.login_hint.as_deref(),
                notice,
                state.passkeys.available(),
                StatusCode::OK,
            );
            with_flow_cookie(page, &flow.cookie)
        }
        Err(error) => store_page(error),
    }
}

/// The error page of an authorization request that must not be redirected.
fn cannot_continue(reason: PageReason) -> Response {
    views::error(
        page_prefs::current(),
        StatusCode::BAD_REQUEST,
        ErrorPage::CannotContinue(reason),
    )
}

fn with_flow_cookie(page: Response, flow_cookie: &str) -> Response {
    let mut page = web::no_store(page);
    let max_age = sso::FLOW_LIFETIME_MS / 1000;
    page.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(FLOW_COOKIE, flow_cookie, max_age),
    );
    page
}

/// An OAuth error sent back to the client's (already verified) redirect URI.
fn redirect_error(
    state: &AppState,
    redirect_uri: &str,
    error: &str,
    description: Option<&str>,
    client_state: Option<&str>,
) -> Response {
    let mut query = vec![("error", error), ("iss", state.tokens.issuer())];
    if let Some(description) = description {
        query.push(("error_description", description));
    }
    if let Some(st) = client_state {
        query.push(("state", st));
    }
    redirect_with(redirect_uri, &query)
}

/// With a signed-in session: a code at once, or first the consent page when a
/// third-party client asks for scopes not allowed before.
async fn continue_signed_in(
    state: &AppState,
    conn: &mut tongban_store::Conn,
    request: &AuthorizeRequest,
    session: &Session,
    prefs: views::Prefs,
    now: Timestamp,
) -> Response {
    match consent::needed(conn, session.subject, request).await {
        Ok(false) => code_redirect(state, request, session, now),
        Ok(true) if request.prompt_none => redirect_error(
            state,
            &request.redirect_uri,
            "consent_required",
            None,
            request.state.as_deref(),
        ),
        Ok(true) => {
            match sso::start_flow(conn, &FlowTarget::Authorize(request.clone()), now).await {
                Ok(flow) => {
                    let page = consent_page(conn, request, &flow.csrf_token, prefs).await;
                    with_flow_cookie(page, &flow.cookie)
                }
                Err(error) => store_page(error),
            }
        }
        Err(error) => store_page(error),
    }
}

async fn consent_page(
    conn: &mut tongban_store::Conn,
    request: &AuthorizeRequest,
    csrf: &str,
    prefs: views::Prefs,
) -> Response {
    match clients::find(conn, &request.client_id).await {
        Ok(Some(client)) => {
            web::no_store(views::consent(prefs, csrf, &client.name, &request.scope))
        }
        Ok(None) => cannot_continue(PageReason::UnknownClient),
        Err(error) => store_page(error),
    }
}

fn code_redirect(
    state: &AppState,
    request: &AuthorizeRequest,
    session: &Session,
    now: Timestamp,
) -> Response {
    if !sso::meets_requirement(session, request) {
        return redirect_error(
            state,
            &request.redirect_uri,
            "unmet_authentication_requirements",
            Some("the login did not reach the assurance level the client requires"),
            request.state.as_deref(),
        );
    }
    match sso::issue_code(&state.codes, request, session, now) {
        Ok(code) => {
            let mut query = vec![("code", code.as_str()), ("iss", state.tokens.issuer())];
            if let Some(st) = request.state.as_deref() {
                query.push(("state", st));
            }
            redirect_with(&request.redirect_uri, &query)
        }
        Err(error) => store_page(error),
    }
}

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
            Ok(Some(_)) => return consent_page(&mut conn, request, &csrf, prefs).await,
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
pub(super) struct LoginStep {
    pub(super) conn: tongban_store::PooledConn,
    pub(super) flow_cookie: String,
    pub(super) target: FlowTarget,
    pub(super) csrf: String,
    pub(super) prefs: views::Prefs,
}

/// The [`LoginStep`] of a form post, or the page that says the form expired.
pub(super) async fn login_step(
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
pub(super) async fn complete_login(
    state: &AppState,
    flow_cookie: &str,
    target: &FlowTarget,
    csrf: &str,
    prefs: views::Prefs,
    logged_in: sso::LoggedIn,
    amr: &[&str],
    now: Timestamp,
) -> Response {
    let level = match registry::assurance_after_login(
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
    let created = sso::create_session(&mut tx, logged_in, &registry::acr(level), amr, now).await;
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
            consent_page(&mut tx, request, csrf, prefs).await
        }
        FlowTarget::Authorize(request) => code_redirect(state, request, &session, now),
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

/// The consent form's fields.
#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf_token: String,
    /// `allow` or `deny`.
    decision: String,
}

/// The person's decision on the consent page: allow (stored, then a code) or deny
/// (`access_denied` to the client).
#[utoipa::path(post, path = "/consent", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, decision=allow|deny"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "back to the client with a code or access_denied"),
        (status = 403, description = "missing or foreign CSRF token, or no session", content_type = "text/html"),
    ))]
pub async fn consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm<ConsentForm>,
) -> Response {
    let now = Timestamp::now();
    let (Some(flow_cookie), Some(session_cookie)) = (
        cookie(&headers, FLOW_COOKIE),
        cookie(&headers, SESSION_COOKIE),
    ) else {
        return web::expired_form();
    };
    let mut tx = match state.store.begin().await {
        Ok(tx) => tx,
        Err(error) => return store_page(error),
    };
    let request = match sso::flow_request(&mut tx, &flow_cookie, &form.csrf_token, now).await {
        Ok((FlowTarget::Authorize(request), _)) => request,
        Ok((FlowTarget::Account, _)) | Err(SsoError::Csrf | SsoError::FlowExpired) => {
            return web::expired_form();
        }
        Err(error) => return store_page(error),
    };
    let session = match sso::session_from_cookie(&mut tx, &session_cookie, now).await {
        Ok(Some(session)) => session,
        Ok(None) => return web::expired_form(),
        Err(error) => return store_page(error),
    };
    if let Err(error) = sso::end_flow(&mut tx, &flow_cookie).await {
        return store_page(error);
    }
    let mut response = if form.decision == "allow" {
        if let Err(error) = consent::grant(&mut tx, session.subject, &request, now).await {
            return store_page(error);
        }
        code_redirect(&state, &request, &session, now)
    } else {
        redirect_error(
            &state,
            &request.redirect_uri,
            "access_denied",
            Some("the person did not allow access"),
            request.state.as_deref(),
        )
    };
    if let Err(error) = tx.commit().await {
        return store_page(error);
    }
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(FLOW_COOKIE, "", 0));
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

/// An OAuth token endpoint error (RFC 6749 §5.2): JSON, not problem+json, because
/// every OAuth client library expects this shape.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tongban\""),
        );
    }
    response
}

/// A pushed authorization request: the authorization parameters and the client's
/// credentials.
#[derive(Deserialize)]
pub struct ParForm {
    /// Its `client_id` also names the client to authenticate.
    #[serde(flatten)]
    params: AuthorizeParams,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// Pushed authorization request endpoint (RFC 9126): the client posts its request,
/// authenticated, and gets a `request_uri` to send the browser with.
#[utoipa::path(post, path = "/par", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "the /authorize parameters (response_type, redirect_uri, scope, state, nonce, code_challenge, code_challenge_method, prompt, max_age, acr_values, claims, …) and client authentication"),
    responses(
        (status = 201, description = "`request_uri` and `expires_in` (60 s); the URI works once", body = Object),
        (status = 400, description = "RFC 6749 §5.2 error (invalid_request, invalid_scope, unauthorized_client, invalid_dpop_proof)", body = Object),
        (status = 401, description = "invalid_client", body = Object),
    ))]
pub async fn pushed_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ParForm>,
) -> Response {
    let now = Timestamp::now();
    let auth = ClientAuthForm {
        client_id: form.params.client_id.clone(),
        client_secret: form.client_secret.clone(),
        client_assertion_type: form.client_assertion_type.clone(),
        client_assertion: form.client_assertion.clone(),
    };
    let client = match authenticate_client(&state, &headers, &auth, "/par").await {
        Ok(client) => client,
        Err(response) => return response,
    };
    // A proof on the push binds the code to its key, as dpop_jkt would (RFC 9449 §10.1).
    let proof_key = match dpop_key(&state, &headers, "/par", now).await {
        Ok(jkt) => jkt,
        Err(response) => return response,
    };
    if form.params.request_uri.is_some() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "a pushed request cannot name a request_uri",
        );
    }
    if form
        .params
        .client_id
        .as_deref()
        .is_some_and(|id| id != client.id)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id differs from the authenticated client",
        );
    }
    let mut params = form.params;
    params.client_id = Some(client.id.clone());
    if let Some(jkt) = proof_key {
        if params.dpop_jkt.as_ref().is_some_and(|asked| *asked != jkt) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_dpop_proof",
                "dpop_jkt differs from the proof's key",
            );
        }
        params.dpop_jkt = Some(jkt);
    }
    // Validated now, so the client hears of a bad request at once (§2.1); again when
    // the browser arrives, against the client as it is then.
    match sso::validate(Some(client.clone()), &params, true) {
        Ok(_) => {}
        Err(AuthorizeError::Page(why)) => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &why.to_string());
        }
        Err(AuthorizeError::Redirect {
            error, description, ..
        }) => return oauth_error(StatusCode::BAD_REQUEST, error, &description),
    }
    let pushed = match state.store.conn().await {
        Ok(mut conn) => par::push(&mut conn, &client.id, &params, now).await,
        Err(error) => return ApiError::from(error).into_response(),
    };
    match pushed {
        Ok(uri) => {
            let mut response = token_response(json!({
                "request_uri": uri,
                "expires_in": par::LIFETIME_SECS,
            }));
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Err(error) => internal(error),
    }
}

/// The token request's fields.
#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    #[serde(flatten)]
    auth: ClientAuthForm,
}

/// Client authentication fields of a form (RFC 6749 §2.3.1, RFC 7523 §2.2).
#[derive(Deserialize, Default)]
pub struct ClientAuthForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// client_secret_basic (RFC 6749 §2.3.1: both parts form-urlencoded).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| -> Option<String> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()?
            .pop()
            .map(|(_, v)| v)
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// How a caller identified itself.
enum Presented {
    /// client_secret_basic or client_secret_post.
    Secret(String, String),
    /// A public client: its id alone.
    IdOnly(String),
    /// private_key_jwt.
    Assertion(String, Option<String>),
}

/// What the caller presented: HTTP Basic, a client assertion, or form fields.
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP answer, returned at once"
)]
fn presented(headers: &HeaderMap, form: &ClientAuthForm) -> Result<Presented, Response> {
    if let Some((id, secret)) = basic_credentials(headers) {
        return Ok(Presented::Secret(id, secret));
    }
    match (&form.client_assertion_type, &form.client_assertion) {
        (Some(kind), Some(assertion)) if kind == client_auth::ASSERTION_TYPE => {
            return Ok(Presented::Assertion(
                assertion.clone(),
                form.client_id.clone(),
            ));
        }
        (None, None) => {}
        _ => {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unsupported client_assertion_type",
            ));
        }
    }
    match (&form.client_id, &form.client_secret) {
        (Some(id), Some(secret)) => Ok(Presented::Secret(id.clone(), secret.clone())),
        (Some(id), None) => Ok(Presented::IdOnly(id.clone())),
        (None, _) => Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required",
        )),
    }
}

/// Checks a looked-up client against the presented secret (none for public clients).
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP answer, returned at once"
)]
fn check_client(
    found: Result<Option<Client>, clients::ClientError>,
    secret: Option<&str>,
) -> Result<Client, Response> {
    let client = match found {
        Ok(Some(client)) => client,
        Ok(None) => {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client",
            ));
        }
        Err(error) => return Err(internal(error)),
    };
    let authenticated = match (secret, client.confidential) {
        (Some(secret), true) => client.secret_matches(secret),
        (None, false) => true,
        _ => false,
    };
    if authenticated {
        Ok(client)
    } else {
        Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ))
    }
}

/// Checks a client assertion for a call to `endpoint` (`/token`, `/introspect`, …).
async fn check_assertion(
    state: &AppState,
    conn: &mut tongban_store::Conn,
    assertion: &str,
    client_id: Option<&str>,
    endpoint: &str,
) -> Result<Client, Response> {
    let issuer = state.tokens.issuer();
    let endpoint_url = format!("{issuer}{endpoint}");
    let audiences = [issuer, endpoint_url.as_str()];
    match client_auth::authenticate(conn, assertion, client_id, &audiences, Timestamp::now()).await
    {
        Ok(client) => Ok(client),
        Err(client_auth::AssertionError::Invalid(why)) => Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            &why,
        )),
        Err(client_auth::AssertionError::Store(error)) => {
            Err(ApiError::from(error).into_response())
        }
    }
}

/// Authenticates the calling client of `endpoint`. Call it before taking a connection
/// or opening a transaction: a cache miss and an assertion's jti each take their own
/// connection, and holding one while waiting for another starves the pool.
async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    form: &ClientAuthForm,
    endpoint: &str,
) -> Result<Client, Response> {
    // Secrets are checked against the 5-second client cache.
    match presented(headers, form)? {
        Presented::Secret(id, secret) => check_client(state.clients.find(&id).await, Some(&secret)),
        Presented::IdOnly(id) => check_client(state.clients.find(&id).await, None),
        Presented::Assertion(assertion, id) => match state.store.conn().await {
            Ok(mut conn) => {
                check_assertion(state, &mut conn, &assertion, id.as_deref(), endpoint).await
            }
            Err(error) => Err(ApiError::from(error).into_response()),
        },
    }
}

fn token_response(body: serde_json::Value) -> Response {
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let now = Timestamp::now();
    let grant_type = form.grant_type.as_deref().unwrap_or("");
    let jkt = match dpop_key(&state, &headers, "/token", now).await {
        Ok(jkt) => jkt,
        Err(response) => return response,
    };
    let jkt = jkt.as_deref();
    // client_credentials writes nothing: no transaction, so no write lock is held
    // while its token is signed.
    if grant_type == "client_credentials" {
        // Writes nothing (but an assertion's jti): no transaction, and with a secret
        // on a cache hit no connection at all.
        let found = authenticate_client(&state, &headers, &form.auth, "/token").await;
        return match found {
            Ok(client) if client.allows_grant(grant_type) => {
                client_credentials_grant(&state, &client, &form, jkt, now)
                    .await
                    .unwrap_or_else(|response| response)
            }
            Ok(_) => oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "this client may not use that grant type",
            ),
            Err(response) => response,
        };
    }
    let client = match authenticate_client(&state, &headers, &form.auth, "/token").await {
        Ok(client) => client,
        Err(response) => return response,
    };
    if !client.allows_grant(grant_type) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "this client may not use that grant type",
        );
    }
    let mut tx = match state.store.begin().await {
        Ok(tx) => tx,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let result = match grant_type {
        "authorization_code" => code_grant(&state, &mut tx, &client, &form, jkt, now).await,
        "refresh_token" => refresh_grant(&state, &mut tx, &client, &form, jkt, now).await,
        _ => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unknown grant type",
        )),
    };
    // Refusals commit too: a spent code, a revoked family must stay so.
    if let Err(error) = tx.commit().await {
        return ApiError::from(tongban_store::StoreError::from(error)).into_response();
    }
    result.unwrap_or_else(|response| response)
}

/// The key of the request's DPoP proof (RFC 9449 §5), if it has one; a bad proof or
/// one without a current nonce is answered at once.
async fn dpop_key(
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

fn token_type(jkt: Option<&str>) -> &'static str {
    if jkt.is_some() { "DPoP" } else { "Bearer" }
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "token endpoint");
    ApiError::bare(ProblemType::Internal).into_response()
}

async fn code_grant(
    state: &AppState,
    tx: &mut tongban_store::Conn,
    client: &Client,
    form: &TokenForm,
    jkt: Option<&str>,
    now: Timestamp,
) -> Result<Response, Response> {
    let (Some(code), Some(redirect_uri), Some(verifier)) =
        (&form.code, &form.redirect_uri, &form.code_verifier)
    else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code, redirect_uri and code_verifier are required",
        ));
    };
    let redemption = sso::Redemption {
        code,
        client_id: &client.id,
        redirect_uri,
        verifier,
        jkt,
    };
    let grant = match sso::redeem_code(tx, &state.codes, redemption, now).await {
        Ok(grant) => grant,
        Err(CodeError::InvalidGrant(why)) => {
            return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why));
        }
        Err(CodeError::Store(error)) => return Err(ApiError::from(error).into_response()),
    };
    let subject = grant.session.subject.to_string();
    // The relying party joins the session (for back-channel logout) under the subject
    // it is told: pairwise for a third-party client.
    let participant = match sso::join_session(tx, &state.pairwise, client, &grant.session).await {
        Ok(Some(participant)) => participant,
        Ok(None) => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the session has ended",
            ));
        }
        Err(error) => return Err(ApiError::from(error).into_response()),
    };
    let sub = participant.sub.clone();
    let id_token = state
        .tokens
        .id_token(
            &client.id,
            &participant,
            &grant.session,
            grant.nonce.as_deref(),
            now,
        )
        .await
        .map_err(internal)?;
    let request = AccessRequest {
        sub: &sub,
        client_id: &client.id,
        scope: &grant.scope,
        login: Some((&grant.session.acr, grant.session.auth_time)),
        jkt,
    };
    let (access_token, claims) = state
        .tokens
        .access_token(request, now)
        .await
        .map_err(internal)?;
    let mut body = json!({
        "access_token": access_token,
        "token_type": token_type(jkt),
        "expires_in": tongban_identity::tokens::ACCESS_TOKEN_SECS,
        "id_token": id_token,
        "scope": grant.scope.join(" "),
    });
    let mut family = None;
    if client.allows_grant("refresh_token") {
        let refresh = RefreshGrant {
            family_id: String::new(),
            client_id: client.id.clone(),
            session_id: Some(grant.session.id.clone()),
            subject_id: subject,
            scope: grant.scope.clone(),
            expires_at: now,
            dpop_jkt: jkt.map(str::to_owned),
            login: None,
        };
        let (token, stored) = grants::issue_refresh(tx, &refresh, now)
            .await
            .map_err(internal)?;
        body["refresh_token"] = json!(token);
        family = Some(stored.family_id);
    }
    grants::record_code_tokens(tx, code, family.as_deref(), &claims.jti)
        .await
        .map_err(internal)?;
    Ok(token_response(body))
}

async fn refresh_grant(
    state: &AppState,
    tx: &mut tongban_store::Conn,
    client: &Client,
    form: &TokenForm,
    jkt: Option<&str>,
    now: Timestamp,
) -> Result<Response, Response> {
    let Some(token) = &form.refresh_token else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        ));
    };
    let (next, grant) = match grants::rotate(tx, token, &client.id, jkt, now).await {
        Ok(rotated) => rotated,
        Err(GrantError::InvalidGrant(why)) => {
            return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why));
        }
        Err(error) => return Err(internal(error)),
    };
    let sub = client.subject_for(&state.pairwise, &grant.subject_id);
    let request = AccessRequest {
        sub: &sub,
        client_id: &client.id,
        scope: &grant.scope,
        login: grant.login.as_ref().map(|(acr, at)| (acr.as_str(), *at)),
        jkt,
    };
    let (access_token, _) = state
        .tokens
        .access_token(request, now)
        .await
        .map_err(internal)?;
    Ok(token_response(json!({
        "access_token": access_token,
        "token_type": token_type(jkt),
        "expires_in": tongban_identity::tokens::ACCESS_TOKEN_SECS,
        "refresh_token": next,
        "scope": grant.scope.join(" "),
    })))
}

async fn client_credentials_grant(
    state: &AppState,
    client: &Client,
    form: &TokenForm,
    jkt: Option<&str>,
    now: Timestamp,
) -> Result<Response, Response> {
    if !client.confidential {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client_credentials needs a confidential client",
        ));
    }
    let requested: Vec<String> = match form.scope.as_deref() {
        Some(scope) => scope.split_whitespace().map(str::to_owned).collect(),
        None => client.scopes.clone(),
    };
    if let Some(extra) = requested.iter().find(|s| !client.scopes.contains(s)) {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("this client may not request {extra}"),
        ));
    }
    // With no resource owner, the client is the subject (RFC 9068 §2.2).
    let request = AccessRequest {
        sub: &client.id,
        client_id: &client.id,
        scope: &requested,
        login: None,
        jkt,
    };
    let (access_token, _) = state
        .tokens
        .access_token(request, now)
        .await
        .map_err(internal)?;
    Ok(token_response(json!({
        "access_token": access_token,
        "token_type": token_type(jkt),
        "expires_in": tongban_identity::tokens::ACCESS_TOKEN_SECS,
        "scope": requested.join(" "),
    })))
}

/// A token to introspect or revoke, and the caller's credentials.
#[derive(Deserialize)]
pub struct TokenOnlyForm {
    token: Option<String>,
    #[serde(rename = "token_type_hint")]
    _hint: Option<String>,
    #[serde(flatten)]
    auth: ClientAuthForm,
}

/// Authenticates the caller of /introspect or /revoke (only confidential clients when
/// `confidential_only`) and returns it with the token it names.
async fn token_request<'f>(
    state: &AppState,
    headers: &HeaderMap,
    form: &'f TokenOnlyForm,
    endpoint: &str,
) -> Result<(Client, &'f str), Response> {
    let client = authenticate_client(state, headers, &form.auth, endpoint).await?;
    let confidential_only = endpoint == "/introspect";
    if confidential_only && !client.confidential {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "introspection is for confidential clients",
        ));
    }
    let token = form.token.as_deref().map(str::trim);
    let token = token.ok_or_else(|| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        )
    })?;
    Ok((client, token))
}

/// Token introspection (RFC 7662) for confidential clients (resource servers).
#[utoipa::path(post, path = "/introspect", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token[, token_type_hint]; client authentication"),
    responses(
        (status = 200, description = "{active: false} or the token's claims with active: true", body = Object),
        (status = 401, description = "invalid_client", body = Object),
    ))]
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TokenOnlyForm>,
) -> Response {
    let now = Timestamp::now();
    let token = match token_request(&state, &headers, &form, "/introspect").await {
        Ok((_, token)) => token,
        Err(response) => return response,
    };
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let inactive = || token_response(json!({ "active": false }));
    if let Ok(claims) = state.tokens.verify_access_token(token, now).await {
        return match grants::access_revoked(&mut conn, &claims.jti).await {
            Ok(false) => {
                // A resource server relying on introspection learns the binding too
                // (RFC 9449 §6.2), and the login's level.
                let mut body = json!({
                    "active": true, "token_type": token_type(claims.cnf.as_ref().map(|c| c.jkt.as_str())),
                    "iss": claims.iss, "sub": claims.sub, "aud": claims.aud, "client_id": claims.client_id,
                    "scope": claims.scope, "iat": claims.iat, "exp": claims.exp, "jti": claims.jti,
                });
                if let Some(cnf) = &claims.cnf {
                    body["cnf"] = json!({ "jkt": cnf.jkt });
                }
                if let Some(acr) = &claims.acr {
                    body["acr"] = json!(acr);
                }
                if let Some(auth_time) = claims.auth_time {
                    body["auth_time"] = json!(auth_time);
                }
                token_response(body)
            }
            Ok(true) => inactive(),
            Err(error) => internal(error),
        };
    }
    let grant = match grants::active_refresh(&mut conn, token, now).await {
        Ok(Some(grant)) => grant,
        Ok(None) => return inactive(),
        Err(error) => return internal(error),
    };
    drop(conn);
    // The subject as the token's own client knows it: never the internal id to a
    // third-party client.
    let owner = match state.clients.find(&grant.client_id).await {
        Ok(Some(owner)) => owner,
        Ok(None) => return inactive(),
        Err(error) => return internal(error),
    };
    let mut body = json!({
        "active": true, "token_type": "refresh_token",
        "sub": owner.subject_for(&state.pairwise, &grant.subject_id), "client_id": grant.client_id,
        "scope": grant.scope.join(" "), "exp": grant.expires_at.unix_millis() / 1000,
    });
    if let Some(jkt) = &grant.dpop_jkt {
        body["cnf"] = json!({ "jkt": jkt });
    }
    token_response(body)
}

/// Token revocation (RFC 7009): refresh tokens (with their family) and access tokens of
/// the calling client. Always 200, so that it reveals nothing about other tokens.
#[utoipa::path(post, path = "/revoke", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token[, token_type_hint]; client authentication"),
    responses(
        (status = 200, description = "revoked, or was not a token of this client"),
        (status = 401, description = "invalid_client", body = Object),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TokenOnlyForm>,
) -> Response {
    let now = Timestamp::now();
    let (client, token) = match token_request(&state, &headers, &form, "/revoke").await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let mut tx = match state.store.begin().await {
        Ok(tx) => tx,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let result = match state.tokens.verify_access_token(token, now).await {
        Ok(claims) if claims.client_id == client.id => grants::revoke_access(
            &mut tx,
            &claims.jti,
            Timestamp::from_unix_millis(claims.exp * 1000),
        )
        .await
        .map(|_| ()),
        Ok(_) => Ok(()),
        Err(_) => grants::revoke_refresh(&mut tx, token, &client.id, now)
            .await
            .map(|_| ()),
    };
    if let Err(error) = result {
        return internal(error);
    }
    if let Err(error) = tx.commit().await {
        return ApiError::from(tongban_store::StoreError::from(error)).into_response();
    }
    StatusCode::OK.into_response()
}

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

/// The stylesheet of the pages.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        views::STYLESHEET,
    )
}
