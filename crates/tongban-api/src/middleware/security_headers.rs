//! Security headers on every response. HTML pages get a strict Content-Security-Policy
//! (only our own scripts and styles, no framing, no plugins, reports to us); other
//! responses get one that forbids everything, so a JSON body opened in a browser cannot
//! run anything. A route may set its own CSP first (the API docs page does).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// `Reporting-Endpoints` for pages: where browsers send CSP violation reports (the
/// `report-to csp` directive names this endpoint).
pub const REPORTING_ENDPOINTS: &str = "csp=\"/api/v1/reports/csp\"";

/// CSP for server-rendered pages.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'; report-to csp";

/// CSP for everything that is not a page.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds the headers that are not already set.
pub async fn layer(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 5] = [
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    let csp = if is_html { PAGE_CSP } else { API_CSP };
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(csp));
    if is_html {
        headers
            .entry(HeaderName::from_static("reporting-endpoints"))
            .or_insert(HeaderValue::from_static(REPORTING_ENDPOINTS));
    }
    response
}
