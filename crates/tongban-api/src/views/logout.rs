//! The sign-out pages: the confirmation a relying party's logout request may need, and
//! the page after it.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::layout::{Shell, render};
use crate::i18n::Lang;
use crate::prefs::Prefs;

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct LogoutConfirmPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    fields: &'a [(&'a str, &'a str)],
}

/// Asks to confirm a logout a relying party requested without a matching hint. The
/// request's parameters ride along as hidden fields.
pub fn logout_confirm(prefs: Prefs, csrf_token: &str, fields: &[(&str, &str)]) -> Response {
    let page = LogoutConfirmPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/account", "sign-out"),
        csrf: csrf_token,
        fields,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage {
    l: Lang,
    shell: Shell,
}

/// After a logout with nowhere to return to.
pub fn signed_out(prefs: Prefs) -> Response {
    let page = SignedOutPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/account", "sign-out"),
    };
    render(StatusCode::OK, &page)
}
