//! Turns the framework's bare error responses (405 from the router, 413 from a body
//! limit, a rejected extractor) into problem+json, so that no error leaves without one.
//!
//! Only bodies the framework writes are replaced: empty ones and `text/plain`. A handler
//! that answers an error in another format on purpose (say an OAuth token error in
//! `application/json`, RFC 6749 §5.2) passes through untouched, and so do all headers
//! (`Allow`, `WWW-Authenticate`, `Retry-After`).

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::{ApiError, ProblemType};

/// Replaces framework-made error bodies with problem details.
pub async fn layer(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let framework_body = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !framework_body {
        return response;
    }
    let (parts, _) = response.into_parts();
    // Keep the status the framework chose where our table maps it more coarsely (for
    // example 411 as a malformed request).
    let mut replaced = ApiError::bare(ProblemType::for_status(status))
        .with_status(status)
        .into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().entry(name).or_insert(value.clone());
        }
    }
    replaced
}
