//! One JSON log line and one metrics observation per request: method, route template,
//! status, latency, request id. Never the query string, headers or body — they may hold
//! codes, tokens or personal data.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use tongban_core::id::RequestId;

use crate::metrics::Metrics;

/// Route label for requests that matched no route; the raw path would let any client
/// create unbounded metric series.
pub const UNMATCHED: &str = "unmatched";

/// Logs and measures the request.
pub async fn layer(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| UNMATCHED.to_owned());
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_default();
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics.observe_request(method, &route, status, elapsed);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(target: "tongban::http", %method, %route, status, latency_ms, request_id = %request_id, "request");
    } else {
        tracing::info!(target: "tongban::http", %method, %route, status, latency_ms, request_id = %request_id, "request");
    }
    response
}

/// Standard methods by name; anything else (HTTP allows any token) as `other`, for the
/// same reason as [`UNMATCHED`].
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|m| *m == method)
        .map_or("other", Method::as_str)
}
