//! The pages' static files, carried inside the binary: the stylesheet, the script that
//! drives passkey ceremonies, the one that warns before a login page expires, the
//! console's, and pdf.js (vendored unchanged, `assets/vendor/README.md`) for placing a
//! seal on a page's preview. Every form works without them.

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

/// The script that draws a page of the PDF to seal and lets the seal be put on it.
pub async fn seal_place_script() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/seal-place.js"),
    )
}

/// Where pdf.js is served. The version is in the path, so a new one is a new address
/// and the files can be cached for a year.
pub const PDFJS: &str = "/static/pdfjs-dist-6.5.438/pdf.min.mjs";
/// Where pdf.js's worker is served.
pub const PDFJS_WORKER: &str = "/static/pdfjs-dist-6.5.438/pdf.worker.min.mjs";

/// pdf.js.
pub async fn pdfjs() -> impl IntoResponse {
    versioned(include_str!(
        "../../assets/vendor/pdfjs-dist-6.5.438/pdf.min.mjs"
    ))
}

/// pdf.js's worker, which parses the PDF off the page's thread.
pub async fn pdfjs_worker() -> impl IntoResponse {
    versioned(include_str!(
        "../../assets/vendor/pdfjs-dist-6.5.438/pdf.worker.min.mjs"
    ))
}

fn versioned(body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
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
