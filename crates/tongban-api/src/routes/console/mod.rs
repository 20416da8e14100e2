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
use tongban_identity::audit_trail::{self, Reader};
use tongban_identity::caller::Admin;
use tongban_identity::console::{self, ConsoleError, Desk};
use tongban_identity::sso::{self, Session};
use tongban_identity::subjects::Department;
use tongban_store::PooledConn;

use crate::prefs::Prefs;
use crate::request_scope;
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

/// The desk and the administration proof of a console page, or the page instead.
pub(crate) async fn administering(
    state: &AppState,
    headers: &HeaderMap,
    prefs: Prefs,
) -> Result<(PooledConn, String, Desk, Admin), Response> {
    let (conn, _, cookie, desk) = open_desk(state, headers, prefs).await?;
    match desk.admin(request_scope::request_id()) {
        Ok(admin) => Ok((conn, cookie, desk, admin)),
        Err(error) => Err(refused(prefs, Some(&desk), &error)),
    }
}

/// The same for a form: its session is already checked against the CSRF token.
pub(crate) async fn administering_form(
    state: &AppState,
    prefs: Prefs,
    session: &sso::Session,
) -> Result<(PooledConn, Desk, Admin), Response> {
    let (conn, desk) = form_desk(state, prefs, session).await?;
    match desk.admin(request_scope::request_id()) {
        Ok(admin) => Ok((conn, desk, admin)),
        Err(error) => Err(refused(prefs, Some(&desk), &error)),
    }
}

/// The desk of a page that reads the audit trail's data (the trail, the overview):
/// what its reader may read, and the departments that covers, or the page instead.
pub(crate) async fn reading(
    state: &AppState,
    headers: &HeaderMap,
    prefs: Prefs,
) -> Result<(PooledConn, Desk, Reader, Vec<Department>), Response> {
    let (mut conn, _, _, desk) = open_desk(state, headers, prefs).await?;
    let reader = match desk.audit_reader() {
        Ok(reader) => reader,
        Err(error) => return Err(refused(prefs, Some(&desk), &error)),
    };
    match audit_trail::readable_departments(&mut conn, &reader).await {
        Ok(departments) => Ok((conn, desk, reader, departments)),
        Err(error) => Err(store_page(error)),
    }
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
