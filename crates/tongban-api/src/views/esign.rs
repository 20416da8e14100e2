//! The pages of personal signing: the signing certificate (what it is, enrol, renew,
//! revoke, the signatures made with it) and a signing request (its documents, then the
//! passkey, or the password and authenticator code, that approve them).

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_core::time::Timestamp;
use tongban_esign::certificates::SigningCertificate;
use tongban_esign::records::PersonalSignature;
use tongban_esign::requests::{self, SigningRequest};

use super::layout::{Shell, render, when};
use crate::i18n::Lang;
use crate::prefs::Prefs;

/// A message at the top of a page: a catalogue id, and whether it reports an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// Catalogue id.
    pub id: &'static str,
    /// An error (an alert) or news (a status).
    pub error: bool,
}

impl Message {
    /// An error message.
    pub fn error(id: &'static str) -> Self {
        Self { id, error: true }
    }

    /// A status message.
    pub fn news(id: &'static str) -> Self {
        Self { id, error: false }
    }
}

struct CertificateRow<'a> {
    id: &'a str,
    serial: &'a str,
    status: String,
    usable: bool,
    issued: String,
    valid_until: String,
}

struct SignatureRow<'a> {
    at: String,
    requester: &'a str,
    document: &'a str,
    method: String,
}

struct RequestRow<'a> {
    id: &'a str,
    requester: &'a str,
    purpose: &'a str,
    status: String,
    open: bool,
}

#[derive(Template)]
#[template(path = "signing_certificate.html")]
struct CertificatePage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    message: Option<Message>,
    level_ok: bool,
    current: bool,
    certificates: Vec<CertificateRow<'a>>,
    signatures: Vec<SignatureRow<'a>>,
    requests: Vec<RequestRow<'a>>,
}

/// What the signing certificate page shows.
pub struct CertificateView<'a> {
    /// Form CSRF token.
    pub csrf: &'a str,
    /// A message.
    pub message: Option<Message>,
    /// Whether this login may enrol (level 3).
    pub level_ok: bool,
    /// The person's certificates, newest first.
    pub certificates: &'a [SigningCertificate],
    /// Their latest signatures.
    pub signatures: &'a [PersonalSignature],
    /// Requests to them.
    pub requests: &'a [SigningRequest],
}

fn method_text(l: Lang, method: Option<&str>) -> String {
    match method {
        Some("hwk" | "swk") => l.t("sign-method-passkey"),
        Some("otp") => l.t("sign-method-otp"),
        _ => String::new(),
    }
}

fn request_status(l: Lang, request: &SigningRequest, now: Timestamp) -> String {
    l.t(&format!(
        "sign-status-{}",
        requests::shown_status(request, now)
    ))
}

/// The signing certificate page.
pub fn signing_certificate(
    prefs: Prefs,
    view: &CertificateView<'_>,
    status: StatusCode,
) -> Response {
    let l = prefs.lang;
    let now = Timestamp::now();
    let page = CertificatePage {
        l,
        shell: Shell::new(prefs, "/account", "signing-certificate-title"),
        csrf: view.csrf,
        message: view.message,
        level_ok: view.level_ok,
        current: view.certificates.iter().any(|c| c.usable(now)),
        certificates: view
            .certificates
            .iter()
            .map(|c| CertificateRow {
                id: &c.id,
                serial: &c.serial,
                status: l.t(if c.usable(now) {
                    "status-active"
                } else if c.status == "revoked" {
                    "status-revoked"
                } else {
                    "status-expired"
                }),
                usable: c.usable(now),
                issued: when(c.created_at),
                valid_until: when(c.valid_until),
            })
            .collect(),
        signatures: view
            .signatures
            .iter()
            .map(|s| SignatureRow {
                at: when(s.at),
                requester: s.requester.as_deref().unwrap_or("CSC"),
                document: &s.document_sha256,
                method: method_text(l, s.method.as_deref()),
            })
            .collect(),
        requests: view
            .requests
            .iter()
            .map(|r| RequestRow {
                id: &r.id,
                requester: &r.requester,
                purpose: &r.purpose,
                status: request_status(l, r, now),
                open: r.open(now),
            })
            .collect(),
    };
    render(status, &page)
}

struct DocumentRow<'a> {
    position: i64,
    name: &'a str,
    pages: i64,
    sha256: &'a str,
    kept: bool,
}

#[derive(Template)]
#[template(path = "sign_request.html")]
struct SignPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    message: Option<Message>,
    id: &'a str,
    requester: &'a str,
    started_by: Option<&'a str>,
    purpose: &'a str,
    deadline: String,
    status: String,
    open: bool,
    certified: bool,
    passkeys: bool,
    documents: Vec<DocumentRow<'a>>,
}

/// What the signing page shows.
pub struct SignView<'a> {
    /// Form CSRF token.
    pub csrf: &'a str,
    /// A message.
    pub message: Option<Message>,
    /// The request.
    pub request: &'a SigningRequest,
    /// Whether the person holds a usable signing certificate.
    pub certified: bool,
    /// Whether they can approve with a passkey here.
    pub passkeys: bool,
}

/// A signing request's page.
pub fn sign_request(prefs: Prefs, view: &SignView<'_>, status: StatusCode) -> Response {
    let l = prefs.lang;
    let now = Timestamp::now();
    let request = view.request;
    let page = SignPage {
        l,
        shell: Shell::new(prefs, &format!("/sign/{}", request.id), "sign-title"),
        csrf: view.csrf,
        message: view.message,
        id: &request.id,
        requester: &request.requester,
        started_by: request.started_by.as_deref(),
        purpose: &request.purpose,
        deadline: when(request.deadline),
        status: request_status(l, request, now),
        open: request.open(now),
        certified: view.certified,
        passkeys: view.passkeys,
        documents: request
            .documents
            .iter()
            .map(|d| DocumentRow {
                position: d.position,
                name: &d.name,
                pages: d.pages,
                sha256: &d.sha256,
                kept: d.kept,
            })
            .collect(),
    };
    render(status, &page)
}
