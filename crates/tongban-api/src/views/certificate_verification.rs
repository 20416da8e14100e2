//! The public e-certificate pages: the page a share link or QR code opens
//! (`/verify/c/{token}`: a button first, so link previews and prefetchers cannot spend
//! a single-use share), its report, the public status of a printed certificate
//! (`/verify/i/{identifier}`), refusals, and the page after a holder made a share.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_core::time::Timestamp;
use tongban_ecert::verification::{PublicStatus, Report};

use super::account::{status_text, type_name};
use super::layout::{Shell, log_text, render, when, when_to_the_second};
use crate::i18n::Lang;
use crate::prefs::Prefs;
use crate::problem::{ApiError, ProblemType};

struct Fact {
    label: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "certificate_confirm.html")]
struct ConfirmPage {
    l: Lang,
    shell: Shell,
    path: String,
}

/// The page a share link opens: what it is, and the button that verifies.
pub fn share_confirm(prefs: Prefs, token: &str) -> Response {
    let path = format!("/verify/c/{token}");
    let page = ConfirmPage {
        l: prefs.lang,
        shell: Shell::new(prefs, &path, "ecert-title"),
        path,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "certificate_report.html")]
struct ReportPage {
    l: Lang,
    shell: Shell,
    valid: bool,
    facts: Vec<Fact>,
    fields: Vec<(String, String)>,
    findings: Vec<String>,
}

fn validity(l: Lang, from: Timestamp, until: Option<Timestamp>) -> String {
    let until = until.map_or_else(|| l.t("ecert-until-revoked"), when);
    format!("{} – {until}", when(from))
}

/// The report of a shared certificate, plainly: one verdict, then the facts.
pub fn certificate_report(prefs: Prefs, token: &str, report: &Report) -> Response {
    let l = prefs.lang;
    let mut facts = Vec::new();
    if let Some(c) = &report.certificate {
        let (uscc, issuer) = &c.issuer;
        facts.extend([
            Fact {
                label: "ecert-certificate",
                value: type_name(l, &c.type_name_zh, &c.type_name_en).to_owned(),
            },
            Fact {
                label: "ecert-identifier",
                value: c.identifier.clone(),
            },
            Fact {
                label: "ecert-validity",
                value: validity(l, c.valid_from, c.valid_until),
            },
            Fact {
                label: "ecert-issuer",
                value: format!("{issuer} ({uscc})"),
            },
            Fact {
                label: "ecert-holder",
                value: c.holder_name.clone(),
            },
        ]);
    }
    facts.extend([
        Fact {
            label: "ecert-status",
            value: status_text(l, &report.status),
        },
        Fact {
            label: "ecert-status-as-of",
            value: when_to_the_second(report.status_as_of),
        },
    ]);
    if report.certificate.is_some() {
        facts.push(Fact {
            label: "log-label",
            value: log_text(l, report.log.as_ref()),
        });
    }
    if let Some(share) = &report.share {
        facts.push(Fact {
            label: "ecert-shared-with",
            value: format!("{} · {}", share.audience, share.purpose),
        });
    }
    let fields = report
        .fields
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| {
                    let value = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k.clone(), value)
                })
                .collect()
        })
        .unwrap_or_default();
    let findings = report
        .findings
        .iter()
        .map(|f| match f.argument() {
            Some(value) => {
                let name = if f.message_id() == "ecert-finding-superseded" {
                    "by"
                } else {
                    "reason"
                };
                l.t1(f.message_id(), name, value)
            }
            None => l.t(f.message_id()),
        })
        .collect();
    let path = format!("/verify/c/{token}");
    let page = ReportPage {
        l,
        shell: Shell::new(prefs, &path, "ecert-title"),
        valid: report.valid,
        facts,
        fields,
        findings,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "certificate_status.html")]
struct StatusPage {
    l: Lang,
    shell: Shell,
    in_force: bool,
    facts: Vec<Fact>,
}

/// The public status of a printed certificate (what its QR code opens).
pub fn certificate_status(prefs: Prefs, status: &PublicStatus) -> Response {
    let l = prefs.lang;
    let (uscc, issuer) = &status.issuer;
    let facts = vec![
        Fact {
            label: "ecert-certificate",
            value: type_name(l, &status.type_name.0, &status.type_name.1).to_owned(),
        },
        Fact {
            label: "ecert-identifier",
            value: status.identifier.clone(),
        },
        Fact {
            label: "ecert-issuer",
            value: format!("{issuer} ({uscc})"),
        },
        Fact {
            label: "ecert-validity",
            value: validity(l, status.valid_from, status.valid_until),
        },
        Fact {
            label: "ecert-status",
            value: status_text(l, &status.status),
        },
        Fact {
            label: "ecert-status-as-of",
            value: when_to_the_second(status.status_as_of),
        },
    ];
    let path = format!("/verify/i/{}", status.identifier);
    let page = StatusPage {
        l,
        shell: Shell::new(prefs, &path, "ecert-title"),
        in_force: status.status == "active",
        facts,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "certificate_refused.html")]
struct RefusedPage {
    l: Lang,
    shell: Shell,
    reason: &'static str,
}

/// Why a verification page cannot answer, in words, by the problem type of `error`.
fn refusal_id(kind: ProblemType) -> &'static str {
    match kind {
        ProblemType::NotFound => "refusal-not-found",
        ProblemType::Forbidden | ProblemType::Unauthorized => "refusal-forbidden",
        ProblemType::InvalidRequest | ProblemType::MalformedRequest => "refusal-invalid-request",
        ProblemType::Conflict => "refusal-conflict",
        ProblemType::TooManyRequests => "refusal-too-many-requests",
        ProblemType::DatabaseUnavailable
        | ProblemType::NotReady
        | ProblemType::Timeout
        | ProblemType::Unavailable => "refusal-unavailable",
        _ => "refusal-other",
    }
}

fn refused_with(prefs: Prefs, back: &str, status: StatusCode, reason: &'static str) -> Response {
    let page = RefusedPage {
        l: prefs.lang,
        shell: Shell::new(prefs, back, "ecert-refused"),
        reason,
    };
    render(status, &page)
}

/// A share or identifier that cannot be verified (expired, revoked, used up, unknown,
/// throttled); `back` is the page's own path.
pub fn refused(prefs: Prefs, back: &str, error: &ApiError) -> Response {
    let mut page = refused_with(prefs, back, error.kind().status(), refusal_id(error.kind()));
    if error.kind() == ProblemType::TooManyRequests {
        page.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(crate::problem::RETRY_AFTER_SECS),
        );
    }
    page
}

/// A holder's page asked for without a session.
pub fn sign_in_first(prefs: Prefs, back: &str) -> Response {
    refused_with(prefs, back, StatusCode::FORBIDDEN, "refusal-sign-in-first")
}

/// What a share made on the account page gives the holder to pass on.
pub struct Shared<'a> {
    /// The verification link.
    pub link: &'a str,
    /// The short code.
    pub code: &'a str,
    /// The link as a QR code (SVG).
    pub qr_svg: &'a str,
    /// End of validity.
    pub expires_at: Timestamp,
}

#[derive(Template)]
#[template(path = "certificate_shared.html")]
struct SharedPage<'a> {
    l: Lang,
    shell: Shell,
    link: &'a str,
    code: &'a str,
    qr_svg: String,
    expires: String,
}

/// The page after a share was made on the account page.
pub fn shared(prefs: Prefs, shared: &Shared<'_>) -> Response {
    let page = SharedPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/account/certificates/share", "ecert-shared-title"),
        link: shared.link,
        code: shared.code,
        qr_svg: shared
            .qr_svg
            .replacen("<svg ", "<svg width=\"240\" height=\"240\" ", 1),
        expires: when(shared.expires_at),
    };
    render(StatusCode::CREATED, &page)
}
