//! Makes the request's page preferences (language, text size: the preferences cookie)
//! known to code that answers with a page but has no request at hand — a store
//! failure or an expired form deep in a handler — so that page is in the person's
//! language too.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::views::Prefs;

tokio::task_local! {
    static PAGE_PREFS: Prefs;
}

/// Runs the rest of the request with its preferences known.
pub async fn layer(request: Request, next: Next) -> Response {
    let prefs = Prefs::from_headers(request.headers(), None);
    PAGE_PREFS.scope(prefs, next.run(request)).await
}

/// The preferences of the request being answered (the defaults outside one).
pub fn current() -> Prefs {
    PAGE_PREFS.try_with(|prefs| *prefs).unwrap_or_default()
}
