//! What is known of the request being answered, for code that has no request at hand
//! (a problem body, an error page deep in a handler): its id and the person's page
//! preferences. The middleware layers set them for the rest of the request.

use std::future::Future;

use tongban_core::id::RequestId;

use crate::prefs::Prefs;

tokio::task_local! {
    static REQUEST_ID: RequestId;
    static PAGE_PREFS: Prefs;
}

/// Runs `work` with `id` as the request's id.
pub async fn with_request_id<F: Future>(id: RequestId, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// Runs `work` with `prefs` as the request's page preferences.
pub async fn with_page_prefs<F: Future>(prefs: Prefs, work: F) -> F::Output {
    PAGE_PREFS.scope(prefs, work).await
}

/// The id of the request being handled, if called inside one.
pub fn request_id() -> Option<RequestId> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The page preferences of the request being answered (the defaults outside one).
pub fn page_prefs() -> Prefs {
    PAGE_PREFS.try_with(|prefs| *prefs).unwrap_or_default()
}
