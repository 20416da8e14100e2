//! The relatives page (亲友代办) under the account: authorities a person gave and
//! received, setting one up, accepting or declining one, ending one, and what was done
//! under them. Every form carries the session's CSRF token.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::assurance::level_of_acr;
use tongban_identity::delegation::{self, DelegationError, Offer, acts};
use tongban_identity::sso::{self, Session};

use crate::routes::session_form::{CsrfProtected, SessionForm, signed_in};
use crate::state::AppState;
use crate::views::delegation::{self as view, RelativesView};
use crate::views::esign::Message;

use super::web::{self, store_page};

async fn page(
    state: &AppState,
    headers: &HeaderMap,
    (session, cookie): (&Session, &str),
    message: Option<Message>,
    status: StatusCode,
) -> Response {
    let now = Timestamp::now();
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return store_page(error),
    };
    let listed = async {
        let (given, received) = delegation::of_person(&mut conn, session.subject).await?;
        let acts = acts::of_person(&mut conn, session.subject, 100).await?;
        Ok::<_, tongban_store::StoreError>((given, received, acts))
    };
    let (given, received, acts) = match listed.await {
        Ok(lists) => lists,
        Err(error) => return store_page(error),
    };
    let csrf = sso::session_csrf(cookie);
    let view = RelativesView {
        person: session.subject,
        csrf: &csrf,
        message,
        may_offer: session.acting_for.is_none()
            && level_of_acr(&session.acr) >= delegation::OFFER_LEVEL,
        given: &given,
        received: &received,
        acts: &acts,
        now,
    };
    web::no_store(view::relatives(web::prefs(headers, None), &view, status))
}

/// The relatives page; without a session, to the account page's login.
#[utoipa::path(get, path = "/account/relatives", tag = "account",
    responses(
        (status = 200, description = "who may act for the person, whom they may act for, what was done", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page, which asks to sign in"),
    ))]
pub async fn relatives_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers, Timestamp::now()).await {
        Ok(Some((session, cookie))) => {
            page(&state, &headers, (&session, &cookie), None, StatusCode::OK).await
        }
        Ok(None) => web::see_other("/account"),
        Err(response) => response,
    }
}

/// The form that authorises a relative.
#[derive(Deserialize)]
pub struct OfferForm {
    #[serde(default)]
    csrf_token: String,
    relative_name: String,
    relative_id: String,
    #[serde(flatten)]
    matters: MatterBoxes,
    days: String,
}

impl CsrfProtected for OfferForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// A form's matter checkboxes, `yes` when ticked (one field per matter: several values
/// under one name do not decode into a form struct).
#[derive(Deserialize)]
pub struct MatterBoxes {
    #[serde(default)]
    matter_sign_in: String,
    #[serde(default)]
    matter_certificates: String,
    #[serde(default)]
    matter_signing_requests: String,
}

impl MatterBoxes {
    /// The names of the matters ticked.
    pub(super) fn ticked(&self) -> Vec<String> {
        [
            ("sign-in", &self.matter_sign_in),
            ("certificates", &self.matter_certificates),
            ("signing-requests", &self.matter_signing_requests),
        ]
        .into_iter()
        .filter(|(_, value)| *value == "yes")
        .map(|(name, _)| name.to_owned())
        .collect()
    }
}

/// The message and status of a refused change.
fn refused(error: &DelegationError) -> Option<(Message, StatusCode)> {
    Some(match error {
        DelegationError::Invalid { .. } => (
            Message::error("relatives-invalid"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        DelegationError::UnknownRelative => (
            Message::error("relatives-unknown"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        DelegationError::Level => (Message::error("relatives-level"), StatusCode::FORBIDDEN),
        DelegationError::Staff => (Message::error("relatives-staff"), StatusCode::FORBIDDEN),
        DelegationError::Exists => (Message::error("relatives-exists"), StatusCode::CONFLICT),
        DelegationError::NotFound | DelegationError::WrongCode { .. } => {
            (Message::error("relatives-gone"), StatusCode::NOT_FOUND)
        }
        DelegationError::Store(_) => return None,
    })
}

/// Authorises a relative (they accept when they next log in); needs a level-2 login
/// of the person themself.
#[utoipa::path(post, path = "/account/relatives", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, relative_name, relative_id, matter_sign_in=yes, matter_certificates=yes, matter_signing_requests=yes, days"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "sent: the page with a notice", content_type = "text/html"),
        (status = 403, description = "the login is below level 2, or the person is department staff; or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 409, description = "this relative is already authorised", content_type = "text/html"),
        (status = 422, description = "no such registered person, no matter chosen, or days out of range", content_type = "text/html"),
    ))]
pub async fn offer_relative(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<OfferForm>,
) -> Response {
    let matters = form.matters.ticked();
    let offer = Offer {
        relative_name: &form.relative_name,
        relative_id: &form.relative_id,
        matters: &matters,
        days: form.days.trim().parse().unwrap_or(0),
    };
    let now = Timestamp::now();
    let made =
        (state.store).transaction(async |tx| delegation::offer(tx, &session, &offer, now).await);
    let (message, status) = match made.await {
        Ok(_) => (Message::news("relatives-offered"), StatusCode::OK),
        Err(error) => match refused(&error) {
            Some(answer) => answer,
            None => return store_page(error),
        },
    };
    page(&state, &headers, (&session, &cookie), Some(message), status).await
}

/// A form naming one authority, with the relative's answer when it is one.
#[derive(Deserialize)]
pub struct AuthorityForm {
    #[serde(default)]
    csrf_token: String,
    id: String,
    /// `accept` or `decline`.
    #[serde(default)]
    answer: String,
}

impl CsrfProtected for AuthorityForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The relative accepts (their consent) or declines an authority offered to them.
#[utoipa::path(post, path = "/account/relatives/answer", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, id, answer=accept|decline"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "answered: the page with a notice", content_type = "text/html"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no authority offered to this person with that id", content_type = "text/html"),
    ))]
pub async fn answer_relative(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<AuthorityForm>,
) -> Response {
    let accept = form.answer == "accept";
    let (delegate, now) = (session.subject, Timestamp::now());
    let answered = (state.store)
        .transaction(async |tx| delegation::answer(tx, delegate, &form.id, accept, now).await);
    let news = if accept {
        "relatives-accepted"
    } else {
        "relatives-declined"
    };
    let (message, status) = match answered.await {
        Ok(()) => (Message::news(news), StatusCode::OK),
        Err(error) => match refused(&error) {
            Some(answer) => answer,
            None => return store_page(error),
        },
    };
    page(&state, &headers, (&session, &cookie), Some(message), status).await
}

/// Ends an authority at once; either of the two people may.
#[utoipa::path(post, path = "/account/relatives/end", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, id"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "ended: the page with a notice", content_type = "text/html"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no open authority of this person with that id", content_type = "text/html"),
    ))]
pub async fn end_relative(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<AuthorityForm>,
) -> Response {
    let (by, now) = (session.subject, Timestamp::now());
    let ended = (state.store).transaction(async |tx| delegation::end(tx, by, &form.id, now).await);
    let (message, status) = match ended.await {
        Ok(()) => (Message::news("relatives-ended"), StatusCode::OK),
        Err(error) => match refused(&error) {
            Some(answer) => answer,
            None => return store_page(error),
        },
    };
    page(&state, &headers, (&session, &cookie), Some(message), status).await
}
