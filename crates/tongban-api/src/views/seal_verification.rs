//! The public page that verifies a sealed PDF (`/verify`): the upload form, and the
//! report for people — one plain verdict per seal, then the facts.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_seal::validation::{Indication, Report};

use super::layout::{Shell, log_text, render, when};
use crate::i18n::Lang;
use crate::prefs::Prefs;

/// Why the verification page shows its form again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// Nothing uploaded.
    NoDocument,
    /// Not a readable PDF.
    Unreadable,
    /// Throttled.
    TooMany,
}

#[derive(Template)]
#[template(path = "verify_form.html")]
struct VerifyFormPage {
    l: Lang,
    shell: Shell,
    error: Option<&'static str>,
}

/// The verification page's upload form.
pub fn verify_form(prefs: Prefs, error: Option<VerifyError>) -> Response {
    let page = VerifyFormPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/verify", "verify-title"),
        error: error.map(|e| match e {
            VerifyError::NoDocument => "no-document",
            VerifyError::Unreadable => "unreadable",
            VerifyError::TooMany => "notice-too-many",
        }),
    };
    render(StatusCode::OK, &page)
}

struct Fact {
    label: &'static str,
    value: String,
}

struct SignatureView {
    n: usize,
    class: &'static str,
    verdict: &'static str,
    facts: Vec<Fact>,
    coverage: Option<&'static str>,
    findings: Vec<String>,
    indication: String,
}

#[derive(Template)]
#[template(path = "verify_report.html")]
struct VerifyReportPage {
    l: Lang,
    shell: Shell,
    class: &'static str,
    verdict: &'static str,
    signatures: Vec<SignatureView>,
}

fn verdict(indication: Indication) -> (&'static str, &'static str) {
    match indication {
        Indication::TotalPassed => ("passed", "verdict-passed"),
        Indication::TotalFailed => ("failed", "verdict-failed"),
        Indication::Indeterminate => ("indeterminate", "verdict-indeterminate"),
    }
}

/// The verification report, for people: one plain verdict per seal, then the facts.
pub fn verify_report(
    prefs: Prefs,
    report: &Report,
    signatories: &[Option<tongban_esign::records::Signatory>],
) -> Response {
    let l = prefs.lang;
    let (class, overall) = verdict(report.overall);
    let signatures = report
        .signatures
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut facts = Vec::new();
            if let Some(Some(person)) = signatories.get(i) {
                facts.push(Fact {
                    label: "personal-signatory",
                    value: match &person.masked_id {
                        Some(id) => format!("{} ({id})", person.name),
                        None => person.name.clone(),
                    },
                });
                facts.push(Fact {
                    label: "personal-approved-with",
                    value: l.t(match person.method.as_deref() {
                        Some("otp") => "sign-method-otp",
                        _ => "sign-method-passkey",
                    }),
                });
                if let Some(request) = &person.request_id {
                    facts.push(Fact {
                        label: "personal-request",
                        value: request.clone(),
                    });
                }
            } else if let Some(seal) = &s.seal {
                facts.push(Fact {
                    label: "seal-label",
                    value: format!("{} ({})", seal.name, seal.code),
                });
                facts.push(Fact {
                    label: "department-label",
                    value: format!("{} ({})", seal.department, seal.department_uscc),
                });
            } else if let Some(signer) = &s.signer {
                facts.push(Fact {
                    label: "signer-label",
                    value: signer.clone(),
                });
            }
            facts.push(Fact {
                label: "timestamped",
                value: s
                    .timestamp_time
                    .map_or_else(|| l.t("not-timestamped"), when),
            });
            if let Some(at) = s.claimed_signing_time {
                facts.push(Fact {
                    label: "claimed",
                    value: when(at),
                });
            }
            if !s.pages.is_empty() {
                let pages: Vec<String> = s.pages.iter().map(ToString::to_string).collect();
                facts.push(Fact {
                    label: if s.cross_page {
                        "cross-page-seal-on"
                    } else {
                        "seal-on-pages"
                    },
                    value: pages.join(", "),
                });
            }
            if s.signature_sha256.is_some() {
                facts.push(Fact {
                    label: "log-label",
                    value: log_text(l, s.log.as_ref()),
                });
            }
            let (class, verdict) = verdict(s.indication);
            SignatureView {
                n: i + 1,
                class,
                verdict,
                facts,
                coverage: match (s.covers_whole_document, s.later_changes_only_signatures) {
                    (Some(true), _) => Some("whole-document"),
                    (Some(false), Some(true)) => Some("later-signatures"),
                    (Some(false), _) => Some("later-changes"),
                    _ => None,
                },
                findings: s
                    .findings
                    .iter()
                    .map(|f| match f.at() {
                        Some(at) => l.t1(f.message_id(), "at", &when(at)),
                        None => l.t(f.message_id()),
                    })
                    .collect(),
                indication: match s.sub_indication {
                    Some(sub) => format!("{} / {sub}", s.indication.name()),
                    None => s.indication.name().to_owned(),
                },
            }
        })
        .collect();
    let page = VerifyReportPage {
        l,
        shell: Shell::new(prefs, "/verify", "verify-title"),
        class,
        verdict: if report.signatures.is_empty() {
            "no-signatures"
        } else {
            overall
        },
        signatures,
    };
    render(StatusCode::OK, &page)
}
