//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0). With an
//! `id_token_hint` from the browser's own session the logout happens at once; otherwise
//! the person confirms on a page (a CSRF-protected form). Ending the session revokes its
//! refresh tokens.

use crate::extract::PageQuery;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::logout::{self, LogoutError, LogoutRequest};
use tongban_identity::secrets::constant_time_eq;
use tongban_identity::sso::{self, Session};

use crate::request_scope;
use crate::state::AppState;
use crate::views::{self, ErrorPage};

use super::web::{self, SESSION_COOKIE, cookie, set_cookie, store_page};

/// The end-session request's parameters.
#[derive(Deserialize, Default)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    ui_locales: Option<String>,
    /// On the confirmation form only.
    #[serde(default)]
    csrf_token: Option<String>,
}

async fn validated(state: &AppState, params: &LogoutParams) -> Result<LogoutRequest, Response> {
    let now = Timestamp::now();
    let hint = match &params.id_token_hint {
        Some(token) => Some(
            state
                .tokens
                .verify_id_token_hint(token.trim(), now)
                .await
                .map_err(|error| {
                    tracing::info!(%error, "logout with an invalid id_token_hint");
                    bad_request(LogoutError::BadHint)
                })?,
        ),
        None => None,
    };
    let client_id = hint
        .as_ref()
        .map(|h| h.client_id.clone())
        .or_else(|| params.client_id.clone());
    let client = match client_id {
        Some(id) => state.clients.find(&id).await.map_err(store_page)?,
        None => None,
    };
    let mut request = logout::validate(
        hint.as_ref(),
        params.client_id.as_deref(),
        client.as_ref(),
        params.post_logout_redirect_uri.as_deref(),
        params.state.as_deref(),
    )
    .map_err(bad_request)?;
    // A third-party client knows the session by a pairwise sid.
    if let (Some(client), Some(sid)) = (&client, &request.hinted_session)
        && client.sector.is_some()
    {
        let mut conn = state.store.conn().await.map_err(store_page)?;
        request.hinted_session =
            tongban_identity::backchannel::session_of(&mut conn, &client.id, sid)
                .await
                .map_err(store_page)?;
    }
    Ok(request)
}

fn bad_request(reason: LogoutError) -> Response {
    views::error(
        request_scope::page_prefs(),
        StatusCode::BAD_REQUEST,
        ErrorPage::CannotSignOut(reason),
    )
}

async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Session, String)>, Response> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let mut conn = state.store.conn().await.map_err(store_page)?;
    let session = sso::session_from_cookie(&mut conn, &token, Timestamp::now())
        .await
        .map_err(store_page)?;
    Ok(session.map(|s| (s, token)))
}

/// The checked request and the browser's live session (with its cookie), if any.
async fn validated_with_session(
    state: &AppState,
    headers: &HeaderMap,
    params: &LogoutParams,
) -> Result<(LogoutRequest, Option<(Session, String)>), Response> {
    Ok((
        validated(state, params).await?,
        current(state, headers).await?,
    ))
}

/// Ends `session`, clears the cookie, and returns to the client or shows a page.
async fn finish(
    state: &AppState,
    headers: &HeaderMap,
    session: Option<&Session>,
    request: &LogoutRequest,
) -> Response {
    if let Some(session) = session {
        let ended = async {
            let mut tx = state.store.begin().await?;
            sso::end_session(&mut tx, session.subject, &session.id, Timestamp::now()).await?;
            tx.commit().await.map_err(tongban_store::StoreError::from)?;
            Ok::<_, sso::SsoError>(())
        };
        if let Err(error) = ended.await {
            return store_page(error);
        }
    }
    let mut response = match &request.redirect {
        Some(uri) => {
            let mut target = uri.clone();
            if let Some(st) = &request.state {
                let query = serde_urlencoded::to_string([("state", st)]).unwrap_or_default();
                target.push(if uri.contains('?') { '&' } else { '?' });
                target.push_str(&query);
            }
            let mut r = axum::response::Redirect::to(&target).into_response();
            *r.status_mut() = StatusCode::SEE_OTHER;
            r
        }
        None => views::signed_out(web::prefs(headers, None)),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    response
}

/// The end-session endpoint: logs the browser's session out (at once when the
/// `id_token_hint` came from it, else after a confirmation), then returns to the exact
/// registered `post_logout_redirect_uri` with `state`.
#[utoipa::path(get, path = "/logout", tag = "oidc",
    params(
        ("id_token_hint" = Option<String>, Query, description = "an ID token we issued (expired ones too)"),
        ("client_id" = Option<String>, Query),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "exactly as registered"),
        ("state" = Option<String>, Query),
        ("ui_locales" = Option<String>, Query),
    ),
    responses(
        (status = 303, description = "signed out: back to the client"),
        (status = 200, description = "the confirmation page, or 'signed out'", content_type = "text/html"),
        (status = 400, description = "a bad hint or an unregistered post_logout_redirect_uri: a page, no redirect", content_type = "text/html"),
    ))]
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(params): PageQuery<LogoutParams>,
) -> Response {
    let (request, current) = match validated_with_session(&state, &headers, &params).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    match current {
        // Nobody is signed in here: nothing to confirm.
        None => finish(&state, &headers, None, &request).await,
        Some((session, _)) if request.hinted_session.as_deref() == Some(session.id.as_str()) => {
            finish(&state, &headers, Some(&session), &request).await
        }
        Some((_, token)) => {
            let prefs = web::prefs(&headers, params.ui_locales.as_deref());
            let mut fields = Vec::new();
            for (name, value) in [
                ("id_token_hint", &params.id_token_hint),
                ("client_id", &params.client_id),
                ("post_logout_redirect_uri", &params.post_logout_redirect_uri),
                ("state", &params.state),
            ] {
                if let Some(value) = value {
                    fields.push((name, value.as_str()));
                }
            }
            web::no_store(views::logout_confirm(
                prefs,
                &sso::session_csrf(&token),
                &fields,
            ))
        }
    }
}

/// The confirmation form's post.
#[utoipa::path(post, path = "/logout", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token and the end-session parameters"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "signed out: back to the client"),
        (status = 200, description = "signed out", content_type = "text/html"),
        (status = 403, description = "a missing or foreign CSRF token", content_type = "text/html"),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(params): Form<LogoutParams>,
) -> Response {
    let (request, current) = match validated_with_session(&state, &headers, &params).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some((session, token)) = current else {
        return finish(&state, &headers, None, &request).await;
    };
    let csrf = params.csrf_token.as_deref().unwrap_or("");
    if !constant_time_eq(&sso::session_csrf(&token), csrf) {
        return web::expired_form();
    }
    finish(&state, &headers, Some(&session), &request).await
}
