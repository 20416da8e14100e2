//! Makes the request's page preferences (language, text size: the preferences cookie)
//! known to code that answers with a page but has no request at hand — a store
//! failure or an expired form deep in a handler — so that page is in the person's
//! language too ([`crate::request_scope::page_prefs`]).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::prefs::Prefs;
use crate::request_scope;

/// Runs the rest of the request with its preferences known.
pub async fn layer(request: Request, next: Next) -> Response {
    let prefs = Prefs::from_headers(request.headers(), None);
    request_scope::with_page_prefs(prefs, next.run(request)).await
}
