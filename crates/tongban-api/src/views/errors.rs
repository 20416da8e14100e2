//! Error pages for requests that cannot be answered by redirecting (an unknown client,
//! an unregistered redirect URI, an expired form, a store failure).

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_identity::logout::LogoutError;
use tongban_identity::sso::PageReason;

use super::layout::{Shell, render};
use crate::i18n::Lang;
use crate::prefs::Prefs;

/// Which error page, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorPage {
    /// An authorization request that must not be redirected.
    CannotContinue(PageReason),
    /// A logout request that cannot be followed.
    CannotSignOut(LogoutError),
    /// The store failed: try again later.
    Unavailable,
    /// A form whose CSRF token or flow is missing, foreign or expired.
    FormExpired,
    /// A password session tried to change a strong credential.
    StrongLoginNeeded,
    /// A form or query string no page of ours sends (a field missing or malformed).
    MalformedRequest,
    /// Nothing at this address for this person.
    NotFound,
    /// An upload over the size this service takes.
    TooLarge,
}

impl ErrorPage {
    /// Catalogue ids of the title and the detail; whether to point back to the service.
    fn texts(self) -> (&'static str, &'static str, bool) {
        match self {
            Self::CannotContinue(reason) => ("error-cannot-continue", reason.message_id(), true),
            Self::CannotSignOut(reason) => ("error-cannot-sign-out", reason.message_id(), true),
            Self::Unavailable => ("error-unavailable", "error-unavailable-detail", false),
            Self::FormExpired => ("error-form-expired", "error-form-expired-detail", false),
            Self::StrongLoginNeeded => ("error-strong-login", "error-strong-login-detail", false),
            Self::MalformedRequest => ("error-malformed", "error-malformed-detail", true),
            Self::NotFound => ("error-not-found", "error-not-found-detail", false),
            Self::TooLarge => ("error-too-large", "error-too-large-detail", false),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    l: Lang,
    shell: Shell,
    detail: &'static str,
    back_to_service: bool,
}

/// The error page `which`, with `status`.
pub fn error(prefs: Prefs, status: StatusCode, which: ErrorPage) -> Response {
    let (title, detail, back_to_service) = which.texts();
    let page = ErrorTemplate {
        l: prefs.lang,
        shell: Shell::new(prefs, "/account", title),
        detail,
        back_to_service,
    };
    render(status, &page)
}
