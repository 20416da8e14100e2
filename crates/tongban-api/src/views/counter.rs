//! The counter pages (线下窗口协办): the clerk's form for a person at the counter, the
//! printed one-time code, and `/enrol`, where the person types that code on their own
//! phone to add their first passkey.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_identity::counter::Verified;

use super::esign::Message;
use super::layout::{Shell, render, when};
use crate::i18n::Lang;
use crate::prefs::Prefs;

#[derive(Template)]
#[template(path = "counter.html")]
struct CounterPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    message: Option<Message>,
    hall: &'a str,
    clerk: bool,
}

/// The clerk's form: hall, the person's ID number and name, how the card was checked.
/// (for `clerk`s only: others see why not).
pub fn counter(
    prefs: Prefs,
    (csrf, clerk): (&str, bool),
    hall: &str,
    message: Option<Message>,
    status: StatusCode,
) -> Response {
    let page = CounterPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/counter", "counter-title"),
        csrf,
        message,
        hall,
        clerk,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "counter_code.html")]
struct CodePage<'a> {
    l: Lang,
    shell: Shell,
    name: &'a str,
    code: Option<&'a str>,
    until: String,
    enrol_url: String,
}

/// The slip for the person: their one-time code and where to type it.
pub fn counter_code(prefs: Prefs, verified: &Verified, public_url: &str) -> Response {
    let page = CodePage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/counter", "counter-code-title"),
        name: &verified.name,
        code: verified.code.as_deref(),
        until: when(verified.expires_at),
        enrol_url: format!("{}/enrol", public_url.trim_end_matches('/')),
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    message: Option<Message>,
}

/// Where the person types their ID number and the code from the counter.
pub fn enrol(prefs: Prefs, csrf: &str, message: Option<Message>, status: StatusCode) -> Response {
    let page = EnrolPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/enrol", "enrol-title"),
        csrf,
        message,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "enrol_passkey.html")]
struct EnrolPasskeyPage<'a> {
    l: Lang,
    shell: Shell,
    name: &'a str,
    token: &'a str,
}

/// The passkey enrolment a code opened, naming whose account it is.
pub fn enrol_passkey(prefs: Prefs, name: &str, token: &str, status: StatusCode) -> Response {
    let page = EnrolPasskeyPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/enrol", "enrol-passkey-title"),
        name,
        token,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "enrol_done.html")]
struct EnrolDonePage {
    l: Lang,
    shell: Shell,
}

/// The passkey is added: sign in with it.
pub fn enrol_done(prefs: Prefs) -> Response {
    let page = EnrolDonePage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/account", "enrol-done-title"),
    };
    render(StatusCode::OK, &page)
}
