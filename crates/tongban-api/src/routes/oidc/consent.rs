//! The consent decision of a third-party client's request.

use crate::extract::PageForm;
use crate::routes::web::{self, FLOW_COOKIE, SESSION_COOKIE, cookie, set_cookie, store_page};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::consent;
use tongban_identity::sso::{self, FlowTarget, SsoError};

use super::authorize::answer;
use super::redirect_error;

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
    headers: HeaderMap,
    PageForm(form): PageForm<ConsentForm>,
) -> Response {
    let now = Timestamp::now();
    let (Some(flow_cookie), Some(session_cookie)) = (
        cookie(&headers, FLOW_COOKIE),
        cookie(&headers, SESSION_COOKIE),
    ) else {
        return web::expired_form();
    };
    let mut tx = match state.store.begin().await {
        Ok(tx) => tx,
        Err(error) => return store_page(error),
    };
    let request = match sso::flow_request(&mut tx, &flow_cookie, &form.csrf_token, now).await {
        Ok((FlowTarget::Authorize(request), _)) => request,
        Ok((FlowTarget::Account, _)) | Err(SsoError::Csrf | SsoError::FlowExpired) => {
            return web::expired_form();
        }
        Err(error) => return store_page(error),
    };
    let session = match sso::session_from_cookie(&mut tx, &session_cookie, now).await {
        Ok(Some(session)) => session,
        Ok(None) => return web::expired_form(),
        Err(error) => return store_page(error),
    };
    if let Err(error) = sso::end_flow(&mut tx, &flow_cookie).await {
        return store_page(error);
    }
    let mut response = if form.decision == "allow" {
        if let Err(error) = consent::grant(&mut tx, session.subject, &request, now).await {
            return store_page(error);
        }
        let outcome = super::authorize::authorization(&state).code(request, &session, now);
        answer(&state, |_| crate::request_scope::page_prefs(), outcome)
    } else {
        redirect_error(
            &state,
            &request.redirect_uri,
            "access_denied",
            Some("the person did not allow access"),
            request.state.as_deref(),
        )
    };
    if let Err(error) = tx.commit().await {
        return store_page(error);
    }
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(FLOW_COOKIE, "", 0));
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}
