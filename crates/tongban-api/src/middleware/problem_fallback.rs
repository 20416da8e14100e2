//! Turns the framework's bare error responses (405 from the router, 413 from a body
//! limit, a rejected extractor) into problem+json, so that no error leaves without one.

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::{ApiError, PROBLEM_JSON, ProblemType};

/// Replaces error responses that are not problem+json.
pub async fn layer(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return response;
    }
    let kind = ProblemType::for_status(status);
    let allow = response.headers().get(header::ALLOW).cloned();
    // Keep the status the framework chose where our table maps it more coarsely (for
    // example 411 as a malformed request), and keep `Allow` on a 405.
    let mut replaced = ApiError::bare(kind).with_status(status).into_response();
    if let Some(allow) = allow {
        replaced.headers_mut().insert(header::ALLOW, allow);
    }
    replaced
}
