//! Assisted sessions at the counter (窗口协办): the clerk asks to help a person who is
//! present (`POST /counter/assist`) and reads them a code; the person types it on the
//! account page of a device of theirs (`POST /account/assist`); the clerk follows it on
//! `GET /counter/assist/{id}`. Then, for 30 minutes, the clerk signs in to portals for
//! the person like a relative does.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::counter;
use tongban_identity::delegation::DelegationError;
use tongban_identity::delegation::assisted;
use tongban_identity::delegation::at_counter::Present;
use tongban_identity::sso;

use crate::routes::relatives::MatterBoxes;
use crate::routes::session_form::{CsrfProtected, SessionForm, signed_in};
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::counter as view;
use crate::views::esign::Message;
use crate::views::{self, ErrorPage, Notice};

/// The clerk's request.
#[derive(Deserialize)]
pub struct AssistForm {
    #[serde(default)]
    csrf_token: String,
    hall: String,
    resident_id: String,
    name: String,
    #[serde(flatten)]
    matters: MatterBoxes,
}

impl CsrfProtected for AssistForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The clerk asks to help the person at the counter: the page with the code to read to
/// them.
#[utoipa::path(post, path = "/counter/assist", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, hall, resident_id, name, matter_sign_in=yes, matter_certificates=yes, matter_signing_requests=yes"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "the code to read to the person, and what happens next", content_type = "text/html"),
        (status = 403, description = "not a counter clerk at level 3, or the person is staff; or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 409, description = "the clerk holds another authority of this person", content_type = "text/html"),
        (status = 422, description = "no such registered person, no matter, or the clerk themself", content_type = "text/html"),
    ))]
pub async fn request_assist(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<AssistForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let matters = form.matters.ticked();
    let person = Present {
        id_number: &form.resident_id,
        name: &form.name,
    };
    let now = Timestamp::now();
    let done = state
        .store
        .transaction(async |tx| {
            let clerk = counter::clerk(tx, &session, &form.hall).await?;
            assisted::request(tx, &clerk, person, &matters, now).await
        })
        .await;
    let csrf = sso::session_csrf(&cookie);
    let (message, status) = match done {
        Ok(requested) => {
            let page = view::assist(
                prefs,
                &requested.delegation,
                Some(&requested.code),
                &csrf,
                &state.public_url,
            );
            return web::no_store(page);
        }
        Err(DelegationError::Level) => ("counter-not-clerk", StatusCode::FORBIDDEN),
        Err(DelegationError::Staff) => ("counter-protected", StatusCode::FORBIDDEN),
        Err(DelegationError::Exists) => ("assist-exists", StatusCode::CONFLICT),
        Err(DelegationError::UnknownRelative) => {
            ("counter-unknown", StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(DelegationError::Store(error)) => return store_page(error),
        Err(_) => ("assist-invalid", StatusCode::UNPROCESSABLE_ENTITY),
    };
    let clerk = message != "counter-not-clerk";
    let message = Some(Message::error(message));
    let page = view::counter(prefs, (&csrf, clerk), &form.hall, message, status);
    web::no_store(page)
}

/// An assisted session as its clerk follows it: waiting for the person, in force until
/// when, or over.
#[utoipa::path(get, path = "/counter/assist/{id}", tag = "account",
    params(("id" = String, Path, description = "the assisted session")),
    responses(
        (status = 200, description = "where it stands", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page, which asks to sign in"),
        (status = 404, description = "no assisted session of this clerk with this id", content_type = "text/html"),
    ))]
pub async fn assist_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (session, cookie) = match signed_in(&state, &headers, Timestamp::now()).await {
        Ok(Some(found)) => found,
        Ok(None) => return web::see_other("/account"),
        Err(page) => return page,
    };
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return store_page(error),
    };
    match assisted::of_clerk(&mut conn, session.subject, &id).await {
        Ok(d) => {
            let csrf = sso::session_csrf(&cookie);
            web::no_store(view::assist(prefs, &d, None, &csrf, &state.public_url))
        }
        Err(DelegationError::Store(error)) => store_page(error),
        Err(_) => web::no_store(views::error(
            prefs,
            StatusCode::NOT_FOUND,
            ErrorPage::NotFound,
        )),
    }
}

/// The person's confirmation.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf_token: String,
    id: String,
    code: String,
}

impl CsrfProtected for ConfirmForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The person, signed in on a device of theirs, confirms a clerk's request with the
/// code the clerk read to them: the clerk may act for them for 30 minutes.
#[utoipa::path(post, path = "/account/assist", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, id, code"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "confirmed: the account page with a notice", content_type = "text/html"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such request waiting for this person (ended, lapsed, or someone else's)", content_type = "text/html"),
        (status = 422, description = "the code is not the one the clerk read out (after five, the request is withdrawn)", content_type = "text/html"),
    ))]
pub async fn confirm_assist(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<ConfirmForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let mut tx = match state.store.begin().await {
        Ok(tx) => tx,
        Err(error) => return store_page(error),
    };
    let now = Timestamp::now();
    let confirmed = assisted::confirm(&mut tx, &session, &form.id, &form.code, now).await;
    // A wrong code's count must stay: refusals commit too.
    if let Err(error) = tx.commit().await {
        return store_page(error);
    }
    let (notice, status) = match confirmed {
        Ok(_) => (Notice::AssistConfirmed, StatusCode::OK),
        Err(DelegationError::WrongCode { withdrawn: false }) => {
            (Notice::AssistWrongCode, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(DelegationError::WrongCode { withdrawn: true }) => {
            (Notice::AssistWithdrawn, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(DelegationError::Store(error)) => return store_page(error),
        Err(_) => (Notice::AssistGone, StatusCode::NOT_FOUND),
    };
    super::super::account::render(&state, prefs, &session, &cookie, Some(notice), status).await
}
