//! The account page (profile, e-certificates and who looked at them, sessions,
//! consents, passkeys, authenticator, password) and the authenticator set-up pages.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_core::time::Timestamp;

use super::layout::{Shell, render, when};
use super::login::Notice;
use crate::i18n::Lang;
use crate::prefs::Prefs;

/// What the account page shows.
pub struct AccountView<'a> {
    /// Name, e-mail.
    pub profile: &'a tongban_identity::subjects::Profile,
    /// The assurance level of the login viewing the page (its `acr`).
    pub login_level: u8,
    /// Live sessions.
    pub sessions: &'a [tongban_identity::sso::SessionSummary],
    /// The session viewing the page.
    pub current_session: &'a str,
    /// Consents given.
    pub consents: &'a [tongban_identity::consent::Consent],
    /// Form CSRF token.
    pub csrf_token: &'a str,
    /// A message to show at the top.
    pub notice: Option<Notice>,
    /// Whether an authenticator (TOTP) is on.
    pub totp_enabled: bool,
    /// Signing requests waiting for the person.
    pub signing_waiting: usize,
    /// Registered passkeys; none when passkeys are unavailable on this server.
    pub passkeys: Option<&'a [tongban_identity::passkeys::PasskeySummary]>,
    /// The person's e-certificates and their companies'.
    pub certificates: &'a [tongban_ecert::register::Certificate],
    /// Recent accesses to them.
    pub accesses: &'a [tongban_ecert::holder::Access],
    /// What the transparency log says about them.
    pub logged: &'a [tongban_ecert::transparency::LoggedAct],
    /// Checks of their ID card at a counter.
    pub visits: &'a [tongban_identity::counter::Visit],
    /// Clerks' requests to help them, waiting for their confirmation.
    pub assists: &'a [tongban_identity::delegation::Delegation],
    /// Assisted sessions they confirmed (or refused), newest first.
    pub helped: &'a [tongban_identity::delegation::Delegation],
}

struct HelpedRow<'a> {
    at: String,
    hall: &'a str,
    clerk: &'a str,
    matters: String,
    until: String,
    status: String,
}

struct AssistRow<'a> {
    id: &'a str,
    clerk: &'a str,
    hall: &'a str,
    matters: String,
}

struct VisitRow<'a> {
    at: String,
    hall: &'a str,
    method: String,
}

struct SessionRow<'a> {
    id: &'a str,
    current: bool,
    signed_in: String,
    last_used: String,
}

struct ConsentRow<'a> {
    client_id: &'a str,
    client_name: &'a str,
    granted_at: String,
    scopes: String,
}

struct PasskeyRow<'a> {
    id: &'a str,
    name: &'a str,
    created: String,
    last_used: String,
}

struct CertificateRow<'a> {
    id: &'a str,
    name: &'a str,
    status: String,
    active: bool,
    issued: String,
    identifier: &'a str,
}

struct LoggedRow<'a> {
    at: String,
    act: String,
    identifier: &'a str,
    place: String,
}

struct AccessRow<'a> {
    at: String,
    accessor: &'a str,
    channel: String,
    purpose: &'a str,
    identifier: &'a str,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    notice: Option<Notice>,
    name: &'a str,
    email: Option<&'a str>,
    level: &'static str,
    certificates: Vec<CertificateRow<'a>>,
    accesses: Vec<AccessRow<'a>>,
    logged: Vec<LoggedRow<'a>>,
    sessions: Vec<SessionRow<'a>>,
    consents: Vec<ConsentRow<'a>>,
    passkeys: Option<Vec<PasskeyRow<'a>>>,
    totp_enabled: bool,
    signing_waiting: usize,
    visits: Vec<VisitRow<'a>>,
    assists: Vec<AssistRow<'a>>,
    assist_error: bool,
    helped: Vec<HelpedRow<'a>>,
}

/// The name of a certificate type in `l` (names are kept in zh and en).
pub(super) fn type_name<'a>(l: Lang, zh: &'a str, en: &'a str) -> &'a str {
    if l.is_chinese() { zh } else { en }
}

/// A register status (`active`, `revoked`, …) in words.
pub(super) fn status_text(l: Lang, status: &str) -> String {
    let id = format!("status-{status}");
    if l.has(&id) {
        l.t(&id)
    } else {
        l.t("status-unknown")
    }
}

/// The account page: profile, certificates, sessions, consents, credentials, password.
pub fn account(prefs: Prefs, view: &AccountView<'_>, status: StatusCode) -> Response {
    let l = prefs.lang;
    let now = Timestamp::now();
    let page = AccountPage {
        l,
        shell: Shell::new(prefs, "/account", "account"),
        csrf: view.csrf_token,
        notice: view.notice,
        name: &view.profile.name,
        email: view.profile.email.as_deref(),
        assists: view
            .assists
            .iter()
            .map(|d| AssistRow {
                id: &d.id,
                clerk: &d.delegate_name,
                hall: d.hall.as_deref().unwrap_or_default(),
                matters: super::delegation::matters_text(l, &d.matters),
            })
            .collect(),
        assist_error: matches!(view.notice, Some(Notice::AssistWrongCode)),
        helped: view
            .helped
            .iter()
            .map(|d| {
                let status = d.state(now);
                HelpedRow {
                    at: when(d.created_at),
                    hall: d.hall.as_deref().unwrap_or_default(),
                    clerk: &d.delegate_name,
                    matters: super::delegation::matters_text(l, &d.matters),
                    until: when(d.valid_until),
                    status: l.t(&format!("delegation-{status}")),
                }
            })
            .collect(),
        visits: view
            .visits
            .iter()
            .map(|v| VisitRow {
                at: when(v.at),
                hall: &v.hall,
                method: l.t(if v.method == "id-card-reader" {
                    "counter-method-reader"
                } else {
                    "counter-method-seen"
                }),
            })
            .collect(),
        level: match view.login_level {
            3.. => "level-3",
            2 => "level-2",
            _ => "level-1",
        },
        certificates: view
            .certificates
            .iter()
            .map(|c| CertificateRow {
                id: &c.id,
                name: type_name(l, &c.type_name_zh, &c.type_name_en),
                status: status_text(l, c.status_at(now)),
                active: c.status_at(now) == "active",
                issued: when(c.issued_at),
                identifier: &c.identifier,
            })
            .collect(),
        accesses: view
            .accesses
            .iter()
            .map(|a| AccessRow {
                at: when(a.at),
                accessor: &a.accessor,
                channel: l.t(if a.channel == "share" {
                    "ecert-via-share"
                } else {
                    "ecert-via-lookup"
                }),
                purpose: &a.purpose,
                identifier: &a.identifier,
            })
            .collect(),
        logged: view
            .logged
            .iter()
            .map(|a| LoggedRow {
                at: when(a.at),
                act: l.t(&format!("log-kind-{}", a.kind.name().replace('.', "-"))),
                identifier: &a.identifier,
                place: match a.index {
                    Some(index) => l.t1("log-index", "index", &index.to_string()),
                    None => l.t("log-entry-pending"),
                },
            })
            .collect(),
        sessions: view
            .sessions
            .iter()
            .map(|s| SessionRow {
                id: &s.id,
                current: s.id == view.current_session,
                signed_in: when(s.auth_time),
                last_used: when(s.last_seen_at),
            })
            .collect(),
        consents: view
            .consents
            .iter()
            .map(|c| ConsentRow {
                client_id: &c.client_id,
                client_name: &c.client_name,
                granted_at: when(c.granted_at),
                scopes: c
                    .scopes
                    .iter()
                    .map(|s| super::login::scope_text(l, s))
                    .collect::<Vec<_>>()
                    .join(if l.is_chinese() { "、" } else { ", " }),
            })
            .collect(),
        passkeys: view.passkeys.map(|list| {
            list.iter()
                .map(|p| PasskeyRow {
                    id: &p.id,
                    name: &p.name,
                    created: when(p.created_at),
                    last_used: p.last_used_at.map_or_else(|| l.t("never"), when),
                })
                .collect()
        }),
        totp_enabled: view.totp_enabled,
        signing_waiting: view.signing_waiting,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "totp_setup.html")]
struct TotpSetupPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    secret: &'a str,
    uri: &'a str,
    notice: Option<Notice>,
}

/// The authenticator set-up page: the secret to add, and the confirmation form.
pub fn totp_setup(
    prefs: Prefs,
    csrf_token: &str,
    enrolment: &tongban_identity::totp::Enrolment,
    notice: Option<Notice>,
) -> Response {
    let page = TotpSetupPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/account", "totp-title"),
        csrf: csrf_token,
        secret: &enrolment.secret,
        uri: &enrolment.uri,
        notice,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    l: Lang,
    shell: Shell,
    codes: &'a [String],
}

/// The recovery codes, shown once.
pub fn recovery_codes(prefs: Prefs, codes: &[String]) -> Response {
    let page = RecoveryCodesPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/account", "totp-title"),
        codes,
    };
    render(StatusCode::OK, &page)
}
