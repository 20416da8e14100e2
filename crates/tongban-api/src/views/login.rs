//! The pages of a login: the password form (and the passkey form `passkey.js` drives),
//! the second step, and the consent page of a third-party client.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_identity::password::PasswordPolicyError;

use super::layout::{Shell, render};
use crate::i18n::Lang;
use crate::prefs::Prefs;

/// Messages a handler can ask a form page to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Login refused.
    WrongCredentials,
    /// The right one-time password, after its lifetime.
    TemporaryExpired,
    /// Throttled.
    TooMany,
    /// Password changed.
    PasswordChanged,
    /// Current password wrong.
    WrongCurrent,
    /// Confirmation differs.
    Mismatch,
    /// The new password breaks the policy.
    Policy(PasswordPolicyError),
    /// Wrong or reused second-factor code.
    WrongCode,
    /// The passkey did not verify.
    PasskeyFailed,
    /// The relying party needs a stronger login than the session has.
    StepUp,
    /// A passkey was added.
    PasskeyAdded,
    /// A passkey's name is empty or too long.
    PasskeyName,
    /// The passkey is registered already.
    PasskeyDuplicate,
    /// The person confirmed a clerk's assisted session.
    AssistConfirmed,
    /// The code typed for it is not the clerk's.
    AssistWrongCode,
    /// Too many wrong codes: the request is withdrawn.
    AssistWithdrawn,
    /// The request is over or not the person's.
    AssistGone,
}

impl Notice {
    /// The sentence, in `l`.
    pub fn text(&self, l: &Lang) -> String {
        let id = match self {
            Self::WrongCredentials => "notice-wrong-credentials",
            Self::TemporaryExpired => "notice-temporary-expired",
            Self::TooMany => "notice-too-many",
            Self::PasswordChanged => "notice-password-changed",
            Self::WrongCurrent => "notice-wrong-current",
            Self::Mismatch => "notice-mismatch",
            Self::Policy(PasswordPolicyError::TooShort) => {
                return l.tn(
                    "policy-too-short",
                    "min",
                    tongban_identity::password::MIN_LENGTH,
                );
            }
            Self::Policy(PasswordPolicyError::TooLong) => "policy-too-long",
            Self::Policy(PasswordPolicyError::Common) => "policy-common",
            Self::Policy(PasswordPolicyError::ContainsIdentifier) => "policy-contains-identifier",
            Self::WrongCode => "notice-wrong-code",
            Self::PasskeyFailed => "notice-passkey-failed",
            Self::StepUp => "notice-step-up",
            Self::PasskeyAdded => "notice-passkey-added",
            Self::PasskeyName => {
                return l.tn(
                    "notice-passkey-name",
                    "max",
                    tongban_identity::passkeys::NAME_MAX_CHARS,
                );
            }
            Self::PasskeyDuplicate => "notice-passkey-duplicate",
            Self::AssistConfirmed => "notice-assist-confirmed",
            Self::AssistWrongCode => "notice-assist-wrong-code",
            Self::AssistWithdrawn => "notice-assist-withdrawn",
            Self::AssistGone => "notice-assist-gone",
        };
        l.t(id)
    }

    /// Errors are alerts; the rest are statuses.
    pub fn is_error(&self) -> bool {
        !matches!(
            self,
            Self::PasswordChanged | Self::PasskeyAdded | Self::StepUp | Self::AssistConfirmed
        )
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    hint: &'a str,
    notice: Option<Notice>,
    passkeys: bool,
}

/// The login page of a login flow: the password form and, where passkeys work, the
/// "sign in with a passkey" form that `passkey.js` shows and drives.
pub fn login(
    prefs: Prefs,
    csrf_token: &str,
    login_hint: Option<&str>,
    notice: Option<Notice>,
    passkeys: bool,
    status: StatusCode,
) -> Response {
    let page = LoginPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/login", "sign-in"),
        csrf: csrf_token,
        hint: login_hint.unwrap_or(""),
        notice,
        passkeys,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct SecondFactorPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    notice: Option<Notice>,
}

/// The second step of a login: an authenticator or recovery code.
pub fn second_factor(
    prefs: Prefs,
    csrf_token: &str,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let page = SecondFactorPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/login", "second-factor"),
        csrf: csrf_token,
        notice,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    client: &'a str,
    scopes: Vec<String>,
}

/// What a scope lets the client see, in words.
pub(super) fn scope_text(l: Lang, scope: &str) -> String {
    let id = format!("scope-{}", scope.replace(':', "-"));
    if l.has(&id) {
        l.t(&id)
    } else {
        l.t1("scope-other", "scope", scope)
    }
}

/// The consent page of a third-party client's request.
pub fn consent(prefs: Prefs, csrf_token: &str, client_name: &str, scopes: &[String]) -> Response {
    let page = ConsentPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/login", "consent-title"),
        csrf: csrf_token,
        client: client_name,
        scopes: scopes.iter().map(|s| scope_text(prefs.lang, s)).collect(),
    };
    render(StatusCode::OK, &page)
}
