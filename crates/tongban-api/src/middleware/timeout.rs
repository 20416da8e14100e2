//! Bounds how long one request may take; a request over the limit is answered 503
//! problem+json (and its work is dropped) instead of holding a connection forever.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::{ApiError, ProblemType};
use crate::state::AppState;

/// Runs the request under the configured timeout.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.request_timeout();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            ProblemType::Timeout,
            format!("the request took longer than {} s", limit.as_secs()),
        )
        .into_response(),
    }
}
