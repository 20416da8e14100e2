//! Signed entry promises: a successful answer to a request whose act appended entries
//! to the transparency log carries `Tongban-Log-Promise`, the log's signed word that
//! they will be in the tree within the maximum merge delay.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tongban_core::time::Timestamp;

use crate::state::AppState;

/// The promise header.
pub const HEADER: &str = "tongban-log-promise";

/// Runs the request collecting the entries it appends, and signs them after.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut response, leaves) = tongban_ledger::promise::collect(next.run(req)).await;
    // A failed act rolled its entries back with its transaction.
    if !response.status().is_success() {
        return response;
    }
    if let Some(promise) = state.ledger.promise(&leaves, Timestamp::now())
        && let Ok(value) = HeaderValue::from_str(&promise)
    {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
