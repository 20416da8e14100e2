//! The pages' static files, carried inside the binary: the stylesheet, the script that
//! drives passkey ceremonies and the one that warns before a login page expires (every
//! form works without them).

use axum::http::header;
use axum::response::IntoResponse;

/// The stylesheet of all pages.
pub async fn stylesheet() -> impl IntoResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/tongban.css"),
    )
}

/// The script that drives passkey ceremonies on the pages.
pub async fn passkey_script() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/passkey.js"),
    )
}

/// The script that warns before a login page expires and asks for more time.
pub async fn timeout_script() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/timeout.js"),
    )
}

/// The console's script: the live check of a pasted schema and a batch's progress bar.
pub async fn console_script() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}
