//! The authorization endpoint (RFC 6749 §4.1, OpenID Connect Core §3.1.2): validates the
//! request, answers a signed-in session with a code (after consent for a third-party
//! client), and otherwise starts a login flow.

use crate::extract::PageQuery;
use crate::request_scope;
use crate::routes::web::{self, SESSION_COOKIE, cookie, store_page};
use crate::state::AppState;
use crate::views::{self, ErrorPage};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self};
use tongban_identity::consent;
use tongban_identity::sso::{
    self, AuthorizeError, AuthorizeParams, AuthorizeRequest, FlowTarget, PageReason, Session,
};
use tongban_identity::{par, passkeys};

use super::{redirect_error, redirect_with, with_flow_cookie};

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
pub(super) fn cannot_continue(reason: PageReason) -> Response {
    views::error(
        request_scope::page_prefs(),
        StatusCode::BAD_REQUEST,
        ErrorPage::CannotContinue(reason),
    )
}

/// With a signed-in session: a code at once, or first the consent page when a
/// third-party client asks for scopes not allowed before.
pub(super) async fn continue_signed_in(
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

pub(super) async fn consent_page(
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

pub(super) fn code_redirect(
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
