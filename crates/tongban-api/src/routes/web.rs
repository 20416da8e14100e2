//! What the browser-facing handlers share: cookies, page preferences, local redirects.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use tongban_identity::sso::FlowTarget;

pub(crate) use crate::extract::{FLOW_COOKIE, SESSION_COOKIE, cookie};
use crate::request_scope;
use crate::views::{self, ErrorPage, Prefs};

/// `__Host-` cookies: Secure, host-only, Path=/ (RFC 6265bis §4.1.3.2); HttpOnly and
/// SameSite=Lax so scripts cannot read them and cross-site posts do not carry them.
pub(crate) fn set_cookie(name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let text =
        format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The page preferences of this browser (cookie, else `ui_locales`).
pub(crate) fn prefs(headers: &HeaderMap, ui_locales: Option<&str>) -> Prefs {
    Prefs::from_headers(headers, ui_locales)
}

/// The page preferences of a login flow: the cookie, else the client's `ui_locales`.
pub(crate) fn flow_prefs(headers: &HeaderMap, target: &FlowTarget) -> Prefs {
    match target {
        FlowTarget::Authorize(request) => prefs(headers, request.ui_locales.as_deref()),
        FlowTarget::Account => prefs(headers, None),
    }
}

/// A throttled answer: the page, 429's `Retry-After`.
pub(crate) fn with_retry_after(mut page: Response, seconds: u64) -> Response {
    page.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    page
}

/// A page that must not be cached (it carries a CSRF token or personal data).
pub(crate) fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 303 to a path on this site.
pub(crate) fn see_other(path: &str) -> Response {
    let mut response = Redirect::to(path).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

/// Whether `path` stays on this site: one leading slash, no scheme or authority, no
/// backslash (which some browsers read as a slash).
pub(crate) fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

/// The page for a store failure: the person can retry; the details go to the log.
pub(crate) fn store_page(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "sso store error");
    views::error(
        request_scope::page_prefs(),
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorPage::Unavailable,
    )
}

/// The page for a form whose CSRF token or flow is missing, foreign or expired.
pub(crate) fn expired_form() -> Response {
    views::error(
        request_scope::page_prefs(),
        StatusCode::FORBIDDEN,
        ErrorPage::FormExpired,
    )
}

/// Why a password session cannot change strong credentials (passkeys, authenticator).
pub(crate) const STRONG_LOGIN_NEEDED: &str = "sign in with a passkey or your authenticator first: a password alone cannot add, replace or remove them";

/// The page for a password session that tried to change a strong credential.
pub(crate) fn strong_login_needed() -> Response {
    no_store(views::error(
        request_scope::page_prefs(),
        StatusCode::FORBIDDEN,
        ErrorPage::StrongLoginNeeded,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_local() {
        for ok in ["/", "/account", "/login?x=1"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
            "",
            "/a\r\nb",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }
}
