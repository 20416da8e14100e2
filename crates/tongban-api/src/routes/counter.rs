//! The counter (线下窗口协办): a clerk's page for a person at the counter — the ID card
//! checked, a one-time code printed — and `/enrol`, where the person types the code on
//! their own phone and lands on their account page to add their first passkey.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::counter::{self, CounterError};
use tongban_identity::sso;

use crate::extract::{ClientIp, PageForm};
use crate::routes::session_form::{CsrfProtected, SessionForm, signed_in};
use crate::state::AppState;
use crate::views::counter as view;
use crate::views::esign::Message;

use super::web::{self, SESSION_COOKIE, set_cookie, store_page};

/// The counter page; without a session, to the account page's login.
#[utoipa::path(get, path = "/counter", tag = "account",
    responses(
        (status = 200, description = "the clerk's form", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page, which asks to sign in"),
        (status = 403, description = "not a counter clerk", content_type = "text/html"),
    ))]
pub async fn counter_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
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
    let csrf = sso::session_csrf(&cookie);
    match counter::is_clerk(&mut conn, &session).await {
        Ok(true) => web::no_store(view::counter(prefs, &csrf, "", None, StatusCode::OK)),
        Ok(false) => {
            let message = Some(Message::error("counter-not-clerk"));
            web::no_store(view::counter(
                prefs,
                &csrf,
                "",
                message,
                StatusCode::FORBIDDEN,
            ))
        }
        Err(error) => store_page(error),
    }
}

/// The clerk's form.
#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    csrf_token: String,
    hall: String,
    resident_id: String,
    name: String,
    #[serde(default)]
    method: String,
}

impl CsrfProtected for VerifyForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The person's ID card was checked: recorded, and their one-time code printed.
#[utoipa::path(post, path = "/counter/verify", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, hall, resident_id, name, method=id-card-seen|id-card-reader"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "the slip with the person's one-time code", content_type = "text/html"),
        (status = 403, description = "not a counter clerk at level 3; or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 422, description = "no such registered person, or a field is invalid", content_type = "text/html"),
    ))]
pub async fn verify_in_person(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<VerifyForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let now = Timestamp::now();
    let done = state
        .store
        .transaction(async |tx| {
            let clerk = counter::clerk(tx, &session, &form.hall).await?;
            counter::verify_in_person(tx, &clerk, &form.resident_id, &form.name, &form.method, now)
                .await
        })
        .await;
    let (message, status) = match done {
        Ok(verified) => {
            let slip = view::counter_code(prefs, &verified, &state.public_url);
            return web::no_store(slip);
        }
        Err(CounterError::NotClerk) => ("counter-not-clerk", StatusCode::FORBIDDEN),
        Err(CounterError::UnknownPerson) => ("counter-unknown", StatusCode::UNPROCESSABLE_ENTITY),
        Err(CounterError::Invalid { .. }) => ("counter-invalid", StatusCode::UNPROCESSABLE_ENTITY),
        Err(error) => return store_page(error),
    };
    let csrf = sso::session_csrf(&cookie);
    let page = view::counter(
        prefs,
        &csrf,
        &form.hall,
        Some(Message::error(message)),
        status,
    );
    web::no_store(page)
}

/// Where the person types the code from the counter.
#[utoipa::path(get, path = "/enrol", tag = "account",
    responses(
        (status = 200, description = "the code form", content_type = "text/html"),
    ))]
pub async fn enrol_page(headers: HeaderMap) -> Response {
    let prefs = web::prefs(&headers, None);
    web::no_store(view::enrol(prefs, None, StatusCode::OK))
}

/// The code form.
#[derive(Deserialize)]
pub struct EnrolForm {
    code: String,
}

/// Signs the person of a counter code in (once) and sends them to their account page,
/// where they add their first passkey.
#[utoipa::path(post, path = "/enrol", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "code"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "signed in: to the account page"),
        (status = 401, description = "the code is wrong, used or expired", content_type = "text/html"),
        (status = 429, description = "too many wrong codes from this address", content_type = "text/html"),
    ))]
pub async fn enrol_with_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageForm(form): PageForm<EnrolForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let mut tx = match state.store.begin().await {
        Ok(tx) => tx,
        Err(error) => return store_page(error),
    };
    let signed = counter::sign_in_with_code(&mut tx, &form.code, ip, Timestamp::now()).await;
    // A wrong code's count must stay: refusals commit too.
    if let Err(error) = tx.commit().await {
        return store_page(error);
    }
    match signed {
        Ok((_, cookie)) => {
            let mut response = web::see_other("/account");
            let max_age = sso::SESSION_ABSOLUTE_MS / 1000;
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &cookie, max_age),
            );
            response
        }
        Err(CounterError::Code) => {
            let message = Some(Message::error("enrol-wrong"));
            web::no_store(view::enrol(prefs, message, StatusCode::UNAUTHORIZED))
        }
        Err(CounterError::Throttled(throttled)) => {
            let message = Some(Message::error("enrol-too-many"));
            let page = view::enrol(prefs, message, StatusCode::TOO_MANY_REQUESTS);
            web::with_retry_after(web::no_store(page), throttled.retry_after_secs)
        }
        Err(error) => store_page(error),
    }
}
