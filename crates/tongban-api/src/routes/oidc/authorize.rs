//! The authorization endpoint (RFC 6749 §4.1, OpenID Connect Core §3.1.2): validates the
//! request, answers a signed-in session with a code (after consent for a third-party
//! client), and otherwise starts a login flow.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tongban_core::time::Timestamp;
use tongban_identity::authorization::{Authorization, AuthorizationError, Outcome};
use tongban_identity::sso::{AuthorizeParams, AuthorizeRequest, PageReason};

use crate::extract::PageQuery;
use crate::request_scope;
use crate::routes::web::{self, SESSION_COOKIE, cookie, store_page};
use crate::state::AppState;
use crate::views::{self, ErrorPage, Prefs};

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
    let session = cookie(&headers, SESSION_COOKIE);
    let decided = authorization(&state)
        .decide(params, session.as_deref(), Timestamp::now())
        .await;
    answer(
        &state,
        |request| web::prefs(&headers, request.ui_locales.as_deref()),
        decided,
    )
}

/// The decision's inputs from the application state.
pub(crate) fn authorization(state: &AppState) -> Authorization<'_> {
    Authorization {
        store: &state.store,
        clients: &state.clients,
        codes: &state.codes,
        staff_passkeys_required: state.auth.staff_passkeys_required,
    }
}

/// The HTTP answer of an authorization outcome (also after a login or a consent
/// decision): redirects to the client, an error page, the login form, the consent page
/// (in the language the request asks for, unless the browser chose one).
pub(crate) fn answer(
    state: &AppState,
    prefs: impl Fn(&AuthorizeRequest) -> Prefs,
    decided: Result<Outcome, AuthorizationError>,
) -> Response {
    let outcome = match decided {
        Ok(outcome) => outcome,
        Err(error) => return store_page(error),
    };
    match outcome {
        Outcome::Code {
            redirect_uri,
            code,
            state: client_state,
        } => {
            let mut query = vec![("code", code.as_str()), ("iss", state.tokens.issuer())];
            if let Some(st) = client_state.as_deref() {
                query.push(("state", st));
            }
            redirect_with(&redirect_uri, &query)
        }
        Outcome::Error {
            redirect_uri,
            error,
            description,
            state: client_state,
        } => redirect_error(
            state,
            &redirect_uri,
            error,
            description.as_deref(),
            client_state.as_deref(),
        ),
        Outcome::Page(reason) => cannot_continue(reason),
        Outcome::Login { request, flow } => {
            let notice = (request.requirement.min_level > 1).then_some(views::Notice::StepUp);
            let page = views::login(
                prefs(&request),
                &flow.csrf_token,
                request.login_hint.as_deref(),
                notice,
                state.passkeys.available(),
                StatusCode::OK,
            );
            with_flow_cookie(page, &flow.cookie)
        }
        Outcome::Consent {
            request,
            client_name,
            csrf_token,
            new_flow_cookie,
        } => {
            let page = web::no_store(views::consent(
                prefs(&request),
                &csrf_token,
                &client_name,
                &request.scope,
            ));
            match new_flow_cookie {
                Some(cookie) => with_flow_cookie(page, &cookie),
                None => page,
            }
        }
        Outcome::ChooseActor {
            request,
            client_name,
            choices,
            csrf_token,
            new_flow_cookie,
        } => {
            let page = web::no_store(views::delegation::choose_actor(
                prefs(&request),
                &csrf_token,
                &client_name,
                &choices,
            ));
            match new_flow_cookie {
                Some(cookie) => with_flow_cookie(page, &cookie),
                None => page,
            }
        }
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
