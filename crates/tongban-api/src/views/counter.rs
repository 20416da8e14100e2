//! The counter pages (线下窗口协办): the clerk's form for a person at the counter, the
//! printed one-time code, an assisted session's code and state, and `/enrol`, where
//! the person types a printed code on their own phone to add their first passkey or
//! set a new password.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_core::time::Timestamp;
use tongban_identity::counter::{Purpose, Verified};
use tongban_identity::delegation::{Delegation, Status};

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
    password: bool,
    until: String,
    enrol_url: String,
}

/// The slip for the person: their one-time code and where to type it.
pub fn counter_code(prefs: Prefs, verified: &Verified, public_url: &str) -> Response {
    let page = CodePage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/counter", "counter-code-title"),
        name: &verified.name,
        code: verified.printed.as_ref().map(|p| p.code.as_str()),
        password: verified
            .printed
            .as_ref()
            .is_some_and(|p| p.purpose == Purpose::Password),
        until: verified
            .printed
            .as_ref()
            .map(|p| when(p.expires_at))
            .unwrap_or_default(),
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
#[template(path = "enrol_password.html")]
struct EnrolPasswordPage<'a> {
    l: Lang,
    shell: Shell,
    name: &'a str,
    token: &'a str,
    notice: Option<super::Notice>,
    bad_new: bool,
    bad_confirm: bool,
}

/// The new password form a code opened, naming whose account it is.
pub fn enrol_password(
    prefs: Prefs,
    name: &str,
    token: &str,
    notice: Option<super::Notice>,
    status: StatusCode,
) -> Response {
    let page = EnrolPasswordPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/enrol", "enrol-password-title"),
        name,
        token,
        bad_new: matches!(notice, Some(super::Notice::Policy(_))),
        bad_confirm: matches!(notice, Some(super::Notice::Mismatch)),
        notice,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "enrol_done.html")]
struct EnrolDonePage {
    l: Lang,
    shell: Shell,
    title: &'static str,
    done: &'static str,
}

/// The passkey is added, or the password set: sign in with it.
pub fn enrol_done(prefs: Prefs, purpose: Purpose) -> Response {
    let (title, done) = match purpose {
        Purpose::Passkey => ("enrol-done-title", "enrol-done"),
        Purpose::Password => ("enrol-password-done-title", "enrol-password-done"),
    };
    let page = EnrolDonePage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/account", title),
        title,
        done,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "counter_assist.html")]
struct AssistPage<'a> {
    l: Lang,
    shell: Shell,
    id: &'a str,
    name: &'a str,
    matters: String,
    code: Option<String>,
    state: &'static str,
    live: bool,
    open: bool,
    until: String,
    account_url: String,
    csrf: &'a str,
}

/// An assisted session as the clerk sees it: right after asking, with the code to read
/// to the person (shown once); later, where it stands.
pub fn assist(
    prefs: Prefs,
    d: &Delegation,
    code: Option<&str>,
    csrf: &str,
    public_url: &str,
) -> Response {
    let now = Timestamp::now();
    let live = d.live(now);
    let waiting = d.status == Status::Offered && now < d.valid_until;
    let state = if live {
        "assist-state-live"
    } else if waiting {
        "assist-state-waiting"
    } else {
        "assist-state-over"
    };
    let page = AssistPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/counter", "assist-title"),
        id: &d.id,
        name: &d.principal_name,
        matters: super::delegation::matters_text(prefs.lang, &d.matters),
        // Read in two groups of three, like a phone number.
        code: code.map(|c| format!("{} {}", &c[..3.min(c.len())], &c[3.min(c.len())..])),
        state,
        live,
        open: live || waiting,
        until: when(d.valid_until),
        account_url: format!("{}/account", public_url.trim_end_matches('/')),
        csrf,
    };
    render(StatusCode::OK, &page)
}
