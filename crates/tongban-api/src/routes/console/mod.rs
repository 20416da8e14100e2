//! The console (`/console`) for department staff and platform administrators. Each
//! page finds the person's desk (their single sign-on session, their roles and
//! whether they administer the platform) and makes one domain call with the proof the
//! desk gives, the same as the API's; forms carry the session's CSRF token.

pub mod audit;
pub mod certificate_batches;
pub mod certificate_changes;
pub mod certificate_types;
pub mod certificates;
pub mod clients;
pub mod deliveries;
pub mod departments;
pub mod overview;
pub mod people;
pub mod registry;
pub mod seal_image;
pub mod seal_pdf;
pub mod seals;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tongban_core::time::Timestamp;
use tongban_identity::console::{self, ConsoleError, Desk};
use tongban_identity::sso::Session;
use tongban_store::PooledConn;

use crate::prefs::Prefs;
use crate::routes::session_form::signed_in;
use crate::state::AppState;
use crate::views::console as view;
use crate::views::esign::Message;

use super::web::{self, store_page};

/// The desk of the signed-in person, or the page to show instead: to the account page
/// (which asks to sign in) without a session, a refusal for people who are not staff.
pub(crate) async fn open_desk(
    state: &AppState,
    headers: &HeaderMap,
    prefs: Prefs,
) -> Result<(PooledConn, Session, String, Desk), Response> {
    let (session, cookie) = match signed_in(state, headers, Timestamp::now()).await? {
        Some(found) => found,
        None => return Err(web::see_other("/account")),
    };
    let mut conn = state.store.conn().await.map_err(store_page)?;
    match console::desk(&mut conn, &session).await {
        Ok(desk) => Ok((conn, session, cookie, desk)),
        Err(error) => Err(refused(prefs, None, &error)),
    }
}

/// The desk of a form's session.
pub(crate) async fn form_desk(
    state: &AppState,
    prefs: Prefs,
    session: &Session,
) -> Result<(PooledConn, Desk), Response> {
    let mut conn = state.store.conn().await.map_err(store_page)?;
    let desk = console::desk(&mut conn, session)
        .await
        .map_err(|error| refused(prefs, None, &error))?;
    Ok((conn, desk))
}

/// A refusal page saying `id` with `status`: on the desk when there is one.
pub(crate) fn refused_as(
    prefs: Prefs,
    desk: Option<&Desk>,
    id: &'static str,
    status: StatusCode,
) -> Response {
    let mut page = web::no_store(view::refused(prefs, desk, Message::error(id)));
    *page.status_mut() = status;
    page
}

/// The page for a console refusal: on the desk when there is one, alone otherwise.
pub(crate) fn refused(prefs: Prefs, desk: Option<&Desk>, error: &ConsoleError) -> Response {
    let id = match error {
        ConsoleError::NotStaff => "console-not-staff",
        ConsoleError::Level(_) => "console-step-up",
        ConsoleError::NotAllowed => "console-not-allowed",
        ConsoleError::Store(store) => return store_page(store),
    };
    web::no_store(view::refused(prefs, desk, Message::error(id)))
}

/// The console's desk: its sections for this person, and their departments and roles.
#[utoipa::path(get, path = "/console", tag = "console",
    responses(
        (status = 200, description = "the desk", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page, which asks to sign in"),
        (status = 403, description = "neither department staff nor a platform administrator", content_type = "text/html"),
    ))]
pub async fn desk_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let prefs = web::prefs(&headers, None);
    match open_desk(&state, &headers, prefs).await {
        Ok((_, _, _, desk)) => web::no_store(view::desk(prefs, &desk, None, StatusCode::OK)),
        Err(page) => page,
    }
}
