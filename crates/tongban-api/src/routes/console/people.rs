//! People in the console: found, deactivated after a confirmation, reactivated, or
//! given a one-time password when they lost theirs.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::admin::{self, AdminError};
use tongban_identity::console::{ConsoleError, Desk};
use tongban_identity::person_lifecycle;
use tongban_identity::sso;
use tongban_identity::subjects::{SubjectError, SubjectId};

use super::{administering, administering_form, refused};
use crate::extract::PageQuery;
use crate::prefs::Prefs;
use crate::routes::session_form::{CsrfProtected, SessionForm};
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::console as view;
use crate::views::esign::Message;

/// People per page.
const PEOPLE_PAGE: i64 = 20;

/// The people page's query.
#[derive(Deserialize, Default)]
pub struct PeopleQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
    /// `deactivated` or `reactivated`: what the last form did.
    #[serde(default)]
    done: String,
}

/// People: found by name, e-mail or resident ID number (whole or masked), with their
/// deactivation. For platform administrators signed in at level 3.
#[utoipa::path(get, path = "/console/people", tag = "console",
    params(
        ("q" = Option<String>, Query, description = "a name or part of one, an e-mail address, a resident ID number whole or masked"),
        ("after" = Option<String>, Query, description = "the next page's cursor"),
    ),
    responses(
        (status = 200, description = "the people found", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not a platform administrator at level 3", content_type = "text/html"),
    ))]
pub async fn people_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<PeopleQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, cookie, _, admin) = match administering(&state, &headers, prefs).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let message = match query.done.as_str() {
        "deactivated" => Some(Message::news("people-done-deactivated")),
        "reactivated" => Some(Message::news("people-done-reactivated")),
        _ => None,
    };
    let after = (!query.after.is_empty()).then_some(query.after.as_str());
    let q = query.q.trim();
    match person_lifecycle::search(&mut conn, &admin, q, after, PEOPLE_PAGE).await {
        Ok(page) => {
            let next = page.next.map(|next| {
                let query = serde_urlencoded::to_string([("q", q), ("after", next.as_str())]);
                format!("/console/people?{}", query.unwrap_or_default())
            });
            let csrf = sso::session_csrf(&cookie);
            let page = view::people(
                prefs,
                (&csrf, q),
                &page.items,
                next,
                message,
                StatusCode::OK,
            );
            web::no_store(page)
        }
        Err(error) => store_page(error),
    }
}

/// What a person form does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Deactivate,
    Reactivate,
    ResetPassword,
}

impl Change {
    /// The last step of its address.
    fn verb(self) -> &'static str {
        match self {
            Self::Deactivate => "deactivate",
            Self::Reactivate => "reactivate",
            Self::ResetPassword => "password-reset",
        }
    }
}

/// A deactivation, reactivation or password reset, asked (then confirmed with
/// `confirm=yes`).
#[derive(Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    csrf_token: String,
    /// The search to return to.
    #[serde(default)]
    q: String,
    #[serde(default)]
    confirm: String,
}

impl CsrfProtected for PersonForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn change_person(
    state: &AppState,
    headers: &HeaderMap,
    (id, change): (&str, Change),
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<PersonForm>,
) -> Response {
    let prefs = web::prefs(headers, None);
    let (mut conn, desk, admin) = match administering_form(state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Ok(person) = id.parse::<SubjectId>() else {
        return refused(prefs, Some(&desk), &ConsoleError::NotAllowed);
    };
    let verb = change.verb();
    let action = format!("/console/people/{person}/{verb}");
    let found = match person_lifecycle::find(&mut conn, &admin, person).await {
        Ok(found) => found,
        Err(error) => return person_refusal(prefs, &desk, error),
    };
    if form.confirm != "yes" {
        let csrf = sso::session_csrf(&cookie);
        let page = view::confirm_person(prefs, (&csrf, &form.q), &action, &found.name, verb);
        return web::no_store(page);
    }
    drop(conn);
    let now = Timestamp::now();
    let passwords = &state.passwords;
    let done = state
        .store
        .transaction::<_, AdminError>(async |tx| match change {
            Change::Deactivate => person_lifecycle::deactivate(tx, &admin, person, now)
                .await
                .map(|()| None),
            Change::Reactivate => person_lifecycle::reactivate(tx, &admin, person)
                .await
                .map(|()| None),
            Change::ResetPassword => admin::reset_password(tx, &admin, passwords, person)
                .await
                .map(Some),
        })
        .await;
    match done {
        // Shown once, on this answer: no redirect that would carry it in an address.
        Ok(Some(temporary)) => web::no_store(view::password_reset(
            prefs,
            &found.name,
            &temporary,
            &form.q,
        )),
        Ok(None) => {
            let done = if change == Change::Deactivate {
                "deactivated"
            } else {
                "reactivated"
            };
            let query = serde_urlencoded::to_string([("q", form.q.as_str()), ("done", done)]);
            web::see_other(&format!("/console/people?{}", query.unwrap_or_default()))
        }
        Err(error) => person_refusal(prefs, &desk, error),
    }
}

fn person_refusal(prefs: Prefs, desk: &Desk, error: AdminError) -> Response {
    let id = match error {
        AdminError::Subject(SubjectError::NotFound(_)) => "people-unknown",
        AdminError::Subject(SubjectError::Invalid { .. }) => "people-not-yourself",
        AdminError::OwnAccount => "people-reset-not-yourself",
        other => return store_page(other),
    };
    web::no_store(view::refused(prefs, Some(desk), Message::error(id)))
}

/// Deactivates a person (after a confirmation page): no login by any path, signed out
/// everywhere. Never oneself.
#[utoipa::path(post, path = "/console/people/{id}/deactivate", tag = "console",
    params(("id" = String, Path, description = "the person's subject id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, q, confirm=yes"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed, a path that is no id): an error page", content_type = "text/html"),
        (status = 200, description = "the confirmation page (without confirm=yes)", content_type = "text/html"),
        (status = 303, description = "done: back to the people found"),
        (status = 403, description = "not a platform administrator at level 3, oneself, or no session or a foreign CSRF token", content_type = "text/html"),
    ))]
pub async fn console_deactivate_person(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: SessionForm<PersonForm>,
) -> Response {
    change_person(&state, &headers, (&id, Change::Deactivate), form).await
}

/// Reactivates a person (after a confirmation page).
#[utoipa::path(post, path = "/console/people/{id}/reactivate", tag = "console",
    params(("id" = String, Path, description = "the person's subject id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, q, confirm=yes"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed, a path that is no id): an error page", content_type = "text/html"),
        (status = 200, description = "the confirmation page (without confirm=yes)", content_type = "text/html"),
        (status = 303, description = "done: back to the people found"),
        (status = 403, description = "not a platform administrator at level 3, or no session or a foreign CSRF token", content_type = "text/html"),
    ))]
pub async fn console_reactivate_person(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: SessionForm<PersonForm>,
) -> Response {
    change_person(&state, &headers, (&id, Change::Reactivate), form).await
}

/// Gives a person who lost their password a one-time password (after a confirmation
/// page), shown once on the answer; they are signed out everywhere and their passkeys
/// and authenticator are removed, as with the API's reset.
#[utoipa::path(post, path = "/console/people/{id}/password-reset", tag = "console",
    params(("id" = String, Path, description = "the person's subject id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, q, confirm=yes"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed, a path that is no id): an error page", content_type = "text/html"),
        (status = 200, description = "the confirmation page (without confirm=yes), then the one-time password, not stored", content_type = "text/html"),
        (status = 403, description = "not a platform administrator at level 3, or no session or a foreign CSRF token", content_type = "text/html"),
    ))]
pub async fn console_reset_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: SessionForm<PersonForm>,
) -> Response {
    change_person(&state, &headers, (&id, Change::ResetPassword), form).await
}
