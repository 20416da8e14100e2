//! The choice, at a portal's login, of whom a person who may act for others signs in
//! for: themself, or a person whose authority they hold.

use crate::extract::{FlowCookie, PageForm};
use crate::request_scope;
use crate::routes::web::{self, FLOW_COOKIE, SESSION_COOKIE, cookie, set_cookie, store_page};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::authorization::Outcome;

use super::authorize::{answer, authorization};

/// The choice form's fields.
#[derive(Deserialize)]
pub struct ActorForm {
    #[serde(default)]
    csrf_token: String,
    /// `myself`, or the id of an authority to act under.
    choice: String,
}

/// The person's choice: the login goes on for them or for the person they act for
/// (to the consent page if that person has not allowed the client yet, else back to
/// the client with a code).
#[utoipa::path(post, path = "/authorize/act", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, choice=myself|<authority id>"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "the consent page, for the person signed in for", content_type = "text/html"),
        (status = 303, description = "back to the client with a code, or access_denied when the authority is not in force"),
        (status = 403, description = "missing or foreign CSRF token, or no session", content_type = "text/html"),
    ))]
pub async fn choose_actor(
    State(state): State<AppState>,
    flow: FlowCookie,
    headers: HeaderMap,
    PageForm(form): PageForm<ActorForm>,
) -> Response {
    let session = cookie(&headers, SESSION_COOKIE);
    let decided = authorization(&state)
        .actor_decision(
            flow.posted(&form.csrf_token),
            session.as_deref(),
            &form.choice,
            Timestamp::now(),
        )
        .await;
    let outcome = match decided {
        Ok(Some(outcome)) => outcome,
        Ok(None) => return web::expired_form(),
        Err(error) => return store_page(error),
    };
    let page = matches!(outcome, Outcome::Consent { .. });
    let mut response = answer(&state, |_| request_scope::page_prefs(), Ok(outcome));
    if !page {
        let cleared = set_cookie(FLOW_COOKIE, "", 0);
        response.headers_mut().append(header::SET_COOKIE, cleared);
        *response.status_mut() = StatusCode::SEE_OTHER;
    }
    response
}
