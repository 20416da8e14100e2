//! The consent decision of a third-party client's request.

use crate::extract::{FlowCookie, PageForm};
use crate::request_scope;
use crate::routes::web::{self, FLOW_COOKIE, SESSION_COOKIE, cookie, set_cookie, store_page};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;

use super::authorize::{answer, authorization};

/// The consent form's fields.
#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf_token: String,
    /// `allow` or `deny`.
    decision: String,
}

/// The person's decision on the consent page: allow (stored, then a code) or deny
/// (`access_denied` to the client).
#[utoipa::path(post, path = "/consent", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, decision=allow|deny"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 303, description = "back to the client with a code or access_denied"),
        (status = 403, description = "missing or foreign CSRF token, or no session", content_type = "text/html"),
    ))]
pub async fn consent(
    State(state): State<AppState>,
    flow: FlowCookie,
    headers: HeaderMap,
    PageForm(form): PageForm<ConsentForm>,
) -> Response {
    let session = cookie(&headers, SESSION_COOKIE);
    let allow = form.decision == "allow";
    let decided = authorization(&state)
        .consent_decision(
            flow.posted(&form.csrf_token),
            session.as_deref(),
            allow,
            Timestamp::now(),
        )
        .await;
    let outcome = match decided {
        Ok(Some(outcome)) => outcome,
        Ok(None) => return web::expired_form(),
        Err(error) => return store_page(error),
    };
    let mut response = answer(&state, |_| request_scope::page_prefs(), Ok(outcome));
    let cleared = set_cookie(FLOW_COOKIE, "", 0);
    response.headers_mut().append(header::SET_COOKIE, cleared);
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}
