//! Back-channel logout deliveries in the console, for platform administrators at level
//! 3: the notices sent to portals when a session ends, and a given-up one tried again.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tongban_identity::admin::{self, AdminError};
use tongban_identity::sso;
use tongban_identity::subjects::SubjectError;

use super::{administering, administering_form, refused_as};
use crate::extract::PageQuery;
use crate::routes::session_form::{CsrfProtected, SessionForm};
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::console as view;
use crate::views::esign::Message;

/// The deliveries page's query.
#[derive(Deserialize, Default)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered`, `failed`, or empty for all.
    #[serde(default)]
    state: String,
    /// `retried`: what the last form did.
    #[serde(default)]
    done: String,
}

/// The back-channel logout deliveries, newest first (at most 500), by state.
#[utoipa::path(get, path = "/console/deliveries", tag = "console",
    params(("state" = Option<String>, Query, description = "pending, delivered or failed; empty for all")),
    responses(
        (status = 200, description = "the deliveries", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not a platform administrator at level 3", content_type = "text/html"),
    ))]
pub async fn deliveries_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<DeliveriesQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, cookie, _, admin) = match administering(&state, &headers, prefs).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    // An unknown state shows them all, as the form's first choice does.
    let chosen = match query.state.as_str() {
        chosen @ ("pending" | "delivered" | "failed") => chosen,
        _ => "",
    };
    let filter = (!chosen.is_empty()).then_some(chosen);
    let found = match admin::logout_deliveries(&mut conn, &admin, filter).await {
        Ok(found) => found,
        Err(error) => return store_page(error),
    };
    let names = match admin::clients(&mut conn, &admin).await {
        Ok(clients) => clients.into_iter().map(|c| (c.id, c.name)).collect(),
        Err(error) => return store_page(error),
    };
    let message = (query.done == "retried").then(|| Message::news("deliveries-done-retried"));
    let csrf = sso::session_csrf(&cookie);
    web::no_store(view::deliveries(
        prefs,
        (&csrf, chosen),
        &found,
        &names,
        message,
    ))
}

/// The retry form.
#[derive(Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    csrf_token: String,
    /// The state the list was filtered by, to return to.
    #[serde(default)]
    state: String,
}

impl CsrfProtected for RetryForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Tries a given-up delivery again, as `POST /api/v1/admin/logout-deliveries/{id}/retry`.
#[utoipa::path(post, path = "/console/deliveries/{id}/retry", tag = "console",
    params(("id" = String, Path, description = "the delivery's id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, state"),
    responses(
        (status = 303, description = "queued again: back to the list"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not a platform administrator at level 3, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no given-up delivery with this id", content_type = "text/html"),
    ))]
pub async fn console_retry_delivery(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    SessionForm { session, form, .. }: SessionForm<RetryForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (_, desk, admin) = match administering_form(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let retried = state
        .store
        .transaction::<_, AdminError>(async |tx| {
            admin::retry_logout_delivery(tx, &admin, &id).await
        })
        .await;
    match retried {
        Ok(()) => {
            let query =
                serde_urlencoded::to_string([("state", form.state.as_str()), ("done", "retried")]);
            web::see_other(&format!(
                "/console/deliveries?{}",
                query.unwrap_or_default()
            ))
        }
        Err(AdminError::Subject(SubjectError::NotFound(_))) => refused_as(
            prefs,
            Some(&desk),
            "deliveries-unknown",
            axum::http::StatusCode::NOT_FOUND,
        ),
        Err(error) => store_page(error),
    }
}
