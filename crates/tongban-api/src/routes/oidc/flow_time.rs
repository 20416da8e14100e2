//! Time on a login flow's pages (login, second step, consent, whom a login is for):
//! how long is left, and more of it. `timeout.js` warns two minutes before the end and
//! offers "more time", so that a person who reads or types slowly loses nothing.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_identity::sso;
use utoipa::ToSchema;

use crate::extract::{FlowCookie, PageForm};
use crate::problem::{ApiError, ProblemType};
use crate::routes::web::{FLOW_COOKIE, set_cookie};
use crate::state::AppState;

/// How long the page stays usable.
#[derive(Serialize, ToSchema)]
pub struct TimeLeft {
    /// Seconds.
    seconds: i64,
}

fn answer(left: Option<i64>) -> Response {
    match left {
        Some(ms) => Json(TimeLeft { seconds: ms / 1000 }).into_response(),
        None => ApiError::new(
            ProblemType::NotFound,
            "this browser has no live login page: start again from the portal",
        )
        .into_response(),
    }
}

/// How long the login page of this browser's flow stays usable.
#[utoipa::path(get, path = "/login/time", tag = "oidc",
    responses(
        (status = 200, description = "seconds left", body = TimeLeft),
        (status = 404, description = "no live login flow in this browser", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn time_left(State(state): State<AppState>, FlowCookie(flow): FlowCookie) -> Response {
    let Some(flow) = flow else {
        return answer(None);
    };
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return ApiError::from(error).into_response(),
    };
    match sso::time_left(&mut conn, &flow, Timestamp::now()).await {
        Ok(left) => answer(left),
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// The form of a login page asking for more time.
#[derive(Deserialize)]
pub struct MoreTimeForm {
    #[serde(default)]
    csrf_token: String,
}

/// More time for the login page (15 minutes from now, at most 2 hours in all).
#[utoipa::path(post, path = "/login/more-time", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token"),
    responses(
        (status = 200, description = "seconds left now", body = TimeLeft),
        (status = 400, description = "a form no page sends", content_type = "text/html"),
        (status = 404, description = "no live login flow in this browser, or not its form", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn more_time(
    State(state): State<AppState>,
    FlowCookie(flow): FlowCookie,
    PageForm(form): PageForm<MoreTimeForm>,
) -> Response {
    let Some(flow) = flow else {
        return answer(None);
    };
    let given = state
        .store
        .transaction(async |tx| sso::more_time(tx, &flow, &form.csrf_token, Timestamp::now()).await)
        .await;
    match given {
        // The flow cookie lives as long as the flow now does.
        Ok(Some(ms)) => {
            let mut response = answer(Some(ms));
            let cookie = set_cookie(FLOW_COOKIE, &flow, ms / 1000 + 1);
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Ok(None) => answer(None),
        Err(error) => ApiError::from(error).into_response(),
    }
}
