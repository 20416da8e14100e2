//! The counter (线下窗口协办): a clerk's page for a person at the counter — the ID card
//! checked, a one-time code printed, an authority set up — with `/enrol` ([`enrol`]),
//! where the person types the code on their own phone, and assisted sessions
//! ([`assist`]).

pub mod assist;
pub mod enrol;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::counter::{self, CounterError};
use tongban_identity::sso;

use crate::routes::session_form::{CsrfProtected, SessionForm, signed_in};
use crate::state::AppState;
use crate::views::counter as view;
use crate::views::esign::Message;

use super::web::{self, store_page};

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
        Ok(true) => web::no_store(view::counter(
            prefs,
            (&csrf, true),
            "",
            None,
            StatusCode::OK,
        )),
        Ok(false) => {
            let message = Some(Message::error("counter-not-clerk"));
            let page = view::counter(prefs, (&csrf, false), "", message, StatusCode::FORBIDDEN);
            web::no_store(page)
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
    /// `yes`: print a code for a new password (the person forgot theirs).
    #[serde(default)]
    new_password: String,
}

impl CsrfProtected for VerifyForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The person's ID card was checked: recorded, and their one-time code printed (for
/// the first passkey, or for a new password when asked).
#[utoipa::path(post, path = "/counter/verify", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, hall, resident_id, name, method=id-card-seen|id-card-reader, new_password=yes"),
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
            let new_password = form.new_password == "yes";
            let (id, name, method) = (&form.resident_id, &form.name, &form.method);
            counter::verify_in_person(tx, &clerk, id, name, method, new_password, now).await
        })
        .await;
    let (message, status) = match done {
        Ok(verified) => {
            let slip = view::counter_code(prefs, &verified, &state.public_url);
            return web::no_store(slip);
        }
        Err(CounterError::NotClerk) => ("counter-not-clerk", StatusCode::FORBIDDEN),
        Err(CounterError::UnknownPerson) => ("counter-unknown", StatusCode::UNPROCESSABLE_ENTITY),
        Err(CounterError::Protected) => ("counter-protected", StatusCode::FORBIDDEN),
        Err(CounterError::Invalid { .. }) => ("counter-invalid", StatusCode::UNPROCESSABLE_ENTITY),
        Err(error) => return store_page(error),
    };
    let csrf = sso::session_csrf(&cookie);
    let clerk = message != "counter-not-clerk";
    let message = Some(Message::error(message));
    let page = view::counter(prefs, (&csrf, clerk), &form.hall, message, status);
    web::no_store(page)
}

/// The form for an authority set up at the counter.
#[derive(Deserialize)]
pub struct AuthorityForm {
    #[serde(default)]
    csrf_token: String,
    hall: String,
    principal_id: String,
    principal_name: String,
    delegate_id: String,
    delegate_name: String,
    #[serde(flatten)]
    matters: super::relatives::MatterBoxes,
    #[serde(default)]
    days: String,
    #[serde(default)]
    legal_basis: String,
}

impl CsrfProtected for AuthorityForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Sets up a relative's authority or a guardianship with both people at the counter.
#[utoipa::path(post, path = "/counter/authority", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, hall, principal_id, principal_name, delegate_id, delegate_name, matter_sign_in=yes, matter_certificates=yes, matter_signing_requests=yes, days, legal_basis"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "set up: the counter page with a notice", content_type = "text/html"),
        (status = 403, description = "not a counter clerk at level 3, or the person acted for is staff; or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 422, description = "no such registered people, no matter, or a guardianship for an adult", content_type = "text/html"),
    ))]
pub async fn set_up_authority(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<AuthorityForm>,
) -> Response {
    use tongban_identity::delegation::DelegationError;
    use tongban_identity::delegation::at_counter::{self, CounterAuthority, Present};
    let prefs = web::prefs(&headers, None);
    let matters = form.matters.ticked();
    let basis = form.legal_basis.trim();
    let authority = CounterAuthority {
        principal: Present {
            id_number: &form.principal_id,
            name: &form.principal_name,
        },
        delegate: Present {
            id_number: &form.delegate_id,
            name: &form.delegate_name,
        },
        matters: &matters,
        days: form.days.trim().parse().unwrap_or(0),
        legal_basis: (!basis.is_empty()).then_some(basis),
    };
    let now = Timestamp::now();
    let done = state
        .store
        .transaction(async |tx| {
            let clerk = counter::clerk(tx, &session, &form.hall).await?;
            at_counter::set_up(tx, &clerk, &authority, now).await
        })
        .await;
    let (message, status) = match done {
        Ok(_) => (Message::news("counter-authority-done"), StatusCode::OK),
        Err(DelegationError::Level) => (Message::error("counter-not-clerk"), StatusCode::FORBIDDEN),
        Err(DelegationError::Staff) => (Message::error("counter-protected"), StatusCode::FORBIDDEN),
        Err(DelegationError::Store(error)) => return store_page(error),
        Err(_) => (
            Message::error("counter-authority-invalid"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let csrf = sso::session_csrf(&cookie);
    let clerk = message.id != "counter-not-clerk";
    let page = view::counter(prefs, (&csrf, clerk), &form.hall, Some(message), status);
    web::no_store(page)
}
