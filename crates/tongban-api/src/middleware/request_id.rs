//! Request ids: the caller's `X-Request-Id` if it is a sane token, else a fresh one.
//! Echoed in the response, put in every log line of the request, and in problem bodies.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tongban_core::id::RequestId;
use tracing::Instrument;

use crate::request_scope;

/// The request id header.
pub const HEADER: &str = "x-request-id";

/// Assigns the request id and runs the rest of the stack in its scope.
pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(RequestId::from_caller)
        .unwrap_or_default();
    req.extensions_mut().insert(id.clone());
    // Every log line written while handling the request carries its id (span field),
    // so a client's X-Request-Id finds all of them, not only the access line.
    let span = tracing::info_span!("request", request_id = %id);
    let mut response =
        request_scope::with_request_id(id.clone(), next.run(req).instrument(span)).await;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
