//! What the page tests render: hostile and ordinary values, a certificate and the two
//! kinds of report carrying them, and every page there is in every mode.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use tongban_core::time::Timestamp;
use tongban_ecert::register::{Certificate, Status};
use tongban_identity::logout::LogoutError;
use tongban_identity::password::PasswordPolicyError;
use tongban_identity::sso::PageReason;
use tongban_identity::subjects::{DepartmentId, SubjectId};
use tongban_seal::validation::{Finding, Indication, Revocation, SealInfo, SignatureReport};

use super::super::*;
use crate::i18n::Lang;
use crate::problem::{ApiError, ProblemType};

/// What a person or a department may have typed, in every field they control.
pub(super) fn hostile_values() -> Vec<String> {
    vec![
        "<script>alert(1)</script>".into(),
        "\"><img src=x onerror=alert(1)>".into(),
        "' onmouseover='alert(1)' x='".into(),
        "javascript:alert(1)".into(),
        "\u{202E}fdp.exe\u{202C} 名字".into(),
        "张".repeat(2000),
    ]
}

pub(super) async fn body(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a page body");
    (status, String::from_utf8(bytes.to_vec()).expect("UTF-8"))
}

fn certificate(v: &str) -> Certificate {
    let now = Timestamp::now();
    Certificate {
        id: v.into(),
        identifier: "1.2.156.3005.2.11100000000000000X001.11100000000000000X.20260001.001.K".into(),
        type_code: "11100000000000000X001".into(),
        type_name_zh: v.into(),
        type_name_en: v.into(),
        department_id: DepartmentId::new(),
        issuer: ("11100000000000000X".into(), v.into()),
        holder_id: SubjectId::new(),
        holder_name: v.into(),
        status: Status::Active,
        status_reason: Some(v.into()),
        face: json!({ v: v }),
        credential: String::new(),
        status_list_id: String::new(),
        status_index: 0,
        valid_from: now,
        valid_until: None,
        supersedes: None,
        superseded_by: Some(v.into()),
        issued_at: now,
        credential_sha256: Default::default(),
    }
}

fn seal_report(v: &str) -> tongban_seal::validation::Report {
    let now = Timestamp::now();
    let signature = |indication, findings, (whole, only_signatures)| SignatureReport {
        format: "pades",
        field: Some(v.into()),
        signer: Some(v.into()),
        seal: Some(SealInfo {
            code: v.into(),
            name: v.into(),
            kind: v.into(),
            department: v.into(),
            department_uscc: v.into(),
            department_id: v.into(),
        }),
        claimed_signing_time: Some(now),
        timestamp_time: Some(now),
        integrity: true,
        trusted: true,
        revocation: Revocation::Good,
        covers_whole_document: Some(whole),
        later_changes_only_signatures: Some(only_signatures),
        pages: vec![1],
        cross_page: false,
        indication,
        sub_indication: Some("REVOKED"),
        findings,
        signature_sha256: Some([0; 32]),
        signature_value_sha256: None,
        log: Some(proven(v)),
    };
    let every_finding = vec![
        Finding::CertificateUnreadable,
        Finding::NotOurSeal,
        Finding::RevokedAfterTimestamp(now),
        Finding::RevokedBeforeTimestamp(now),
        Finding::RevokedNoProof,
        Finding::CertificateNotValidThen,
        Finding::UnknownIssuer,
        Finding::NoRevocationInfo,
        Finding::ChainInvalid(v.into()),
        Finding::DigestMismatch(v.into()),
        Finding::BadSignature(v.into()),
        Finding::MalformedSignature(v.into()),
        Finding::SignerCertificateMissing(v.into()),
        Finding::SigningCertificateMismatch(v.into()),
        Finding::UnsupportedAlgorithm(v.into()),
        Finding::NotBaseline,
        Finding::TimestampAuthorityUntrusted(v.into()),
        Finding::TimestampInvalid(v.into()),
        Finding::NoTimestamp,
        Finding::JwsNoTimestamp,
        Finding::JwsNoCertificate,
        Finding::JwsCertificateUnreadable,
        Finding::ByteRange,
        Finding::LaterSignaturesOnly,
        Finding::LaterChanges,
        Finding::SealMakerSignatureInvalid,
        Finding::SealMakerUntrusted(v.into()),
        Finding::SignerNotListed,
        Finding::SealNotValidThen,
        Finding::SealExpired,
        Finding::SignedDataNotGiven,
        Finding::FileChanged(v.into()),
        Finding::FileMissing(v.into()),
        Finding::FilesAdded(v.into()),
        Finding::SealFileMismatch,
        Finding::PageChanged(2),
    ];
    tongban_seal::validation::Report {
        overall: Indication::TotalFailed,
        signatures: vec![
            signature(Indication::TotalPassed, Vec::new(), (true, false)),
            signature(Indication::TotalFailed, every_finding, (false, false)),
            signature(
                Indication::Indeterminate,
                vec![Finding::NoTimestamp],
                (false, true),
            ),
        ],
    }
}

/// A log entry's proof, with text from `v` where the pages show text.
fn proven(v: &str) -> tongban_ledger::Proven {
    tongban_ledger::Proven {
        kind: v.into(),
        time: v.into(),
        leaf_hash: v.into(),
        index: Some(7),
        checkpoint: Some(v.into()),
        tree_size: Some(8),
        proof: vec![v.into()],
        verified: true,
    }
}

fn certificate_report_of(v: &str) -> tongban_ecert::verification::Report {
    use tongban_ecert::verification::Finding as F;
    let now = Timestamp::now();
    tongban_ecert::verification::Report {
        valid: false,
        signature: true,
        chain: Ok(()),
        status: "revoked".into(),
        status_as_of: now,
        in_validity: true,
        certificate: Some(std::sync::Arc::new(certificate(v))),
        log: Some(proven(v)),
        fields: json!({ v: v, "number": 3 }),
        share: Some(tongban_ecert::holder::Share {
            id: v.into(),
            certificate_id: v.into(),
            audience: v.into(),
            purpose: v.into(),
            fields: vec![v.into()],
            max_uses: Some(1),
            uses: 0,
            expires_at: now,
            revoked_at: None,
            created_at: now,
        }),
        findings: vec![
            F::BadSignature,
            F::UntrustedSigner(v.into()),
            F::NoIdentifier,
            F::NotRegistered,
            F::NotIssuedHere,
            F::Expired,
            F::Superseded(Some(v.into())),
            F::Superseded(None),
            F::Revoked(Some(v.into())),
            F::Revoked(None),
            F::Suspended(Some(v.into())),
            F::Suspended(None),
        ],
    }
}

/// Every page there is, with `v` in every field a person or a department controls.
pub(super) async fn every_page(prefs: Prefs, v: &str) -> Vec<(&'static str, StatusCode, String)> {
    let now = Timestamp::now();
    let profile = tongban_identity::subjects::Profile {
        name: v.into(),
        email: Some(v.into()),
        phone: Some(v.into()),
        resident_id: None,
        uscc: None,
        assurance: 3,
    };
    let sessions = vec![
        tongban_identity::sso::SessionSummary {
            id: "current".into(),
            auth_time: now,
            last_seen_at: now,
            amr: vec!["pwd".into()],
        },
        tongban_identity::sso::SessionSummary {
            id: v.into(),
            auth_time: now,
            last_seen_at: now,
            amr: vec![v.into()],
        },
    ];
    let consents = vec![tongban_identity::consent::Consent {
        client_id: v.into(),
        client_name: v.into(),
        scopes: vec!["openid".into(), "profile".into(), v.into()],
        granted_at: now,
    }];
    let passkeys = vec![tongban_identity::passkeys::PasskeySummary {
        id: v.into(),
        name: v.into(),
        created_at: now,
        last_used_at: None,
    }];
    let certificates = vec![certificate(v)];
    let accesses = vec![tongban_ecert::holder::Access {
        identifier: v.into(),
        channel: "share".into(),
        accessor: v.into(),
        purpose: v.into(),
        at: now,
    }];
    use tongban_ledger::Kind;
    let logged: Vec<tongban_ecert::transparency::LoggedAct> = [
        (Kind::CertificateIssued, Some(1)),
        (Kind::CertificateReissued, Some(2)),
        (Kind::CertificateSuspended, Some(3)),
        (Kind::CertificateResumed, Some(4)),
        (Kind::CertificateRevoked, None),
    ]
    .into_iter()
    .map(|(kind, index)| tongban_ecert::transparency::LoggedAct {
        identifier: v.into(),
        kind,
        at: now,
        index,
    })
    .collect();
    let mut pages = vec![
        (
            "login",
            login(
                prefs,
                "csrf",
                Some(v),
                Some(Notice::WrongCredentials),
                true,
                StatusCode::OK,
            ),
        ),
        (
            "login step-up",
            login(
                prefs,
                "csrf",
                None,
                Some(Notice::StepUp),
                false,
                StatusCode::OK,
            ),
        ),
        (
            "second factor",
            second_factor(prefs, "csrf", Some(Notice::WrongCode), StatusCode::OK),
        ),
        (
            "consent",
            consent(
                prefs,
                "csrf",
                v,
                &["openid".into(), "email".into(), v.into()],
            ),
        ),
        (
            "totp set-up",
            totp_setup(
                prefs,
                "csrf",
                &tongban_identity::totp::Enrolment {
                    secret: "JBSWY3DPEHPK3PXP".into(),
                    uri: "otpauth://totp/x".into(),
                },
                Some(Notice::WrongCode),
            ),
        ),
        (
            "recovery codes",
            recovery_codes(prefs, &["abcd-efgh".into()]),
        ),
        (
            "logout confirm",
            logout_confirm(prefs, "csrf", &[("state", v), ("client_id", v)]),
        ),
        ("signed out", signed_out(prefs)),
        ("verify form", verify_form(prefs, None)),
        (
            "verify form refused",
            verify_form(prefs, Some(VerifyError::Unreadable)),
        ),
        ("verify report", verify_report(prefs, &seal_report(v), &[])),
        ("share confirm", share_confirm(prefs, v)),
        (
            "certificate report",
            certificate_report(prefs, v, &certificate_report_of(v)),
        ),
        (
            "refused",
            refused(
                prefs,
                "/verify/i/x",
                &ApiError::new(ProblemType::TooManyRequests, v),
            ),
        ),
        ("sign in first", sign_in_first(prefs, "/account")),
        (
            "shared",
            shared(
                prefs,
                &Shared {
                    link: "https://tongban.example/verify/c/abc",
                    code: "ABCDE-FGHIJ",
                    qr_svg: "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1 1\"></svg>",
                    expires_at: now,
                },
            ),
        ),
    ];
    let status = tongban_ecert::verification::PublicStatus {
        identifier: v.into(),
        type_name: (v.into(), v.into()),
        issuer: (v.into(), v.into()),
        status: "suspended".into(),
        valid_from: now,
        valid_until: Some(now),
        status_as_of: now,
    };
    pages.push(("certificate status", certificate_status(prefs, &status)));
    let visits = vec![tongban_identity::counter::Visit {
        at: now,
        hall: v.into(),
        method: "id-card-reader".into(),
    }];
    let assists = vec![assisted(v, now)];
    for notice in [
        Notice::PasswordChanged,
        Notice::Policy(PasswordPolicyError::TooShort),
        Notice::Policy(PasswordPolicyError::TooLong),
        Notice::Policy(PasswordPolicyError::Common),
        Notice::Policy(PasswordPolicyError::ContainsIdentifier),
        Notice::Mismatch,
        Notice::WrongCurrent,
        Notice::TooMany,
        Notice::PasskeyFailed,
        Notice::PasskeyAdded,
        Notice::PasskeyName,
        Notice::PasskeyDuplicate,
        Notice::AssistConfirmed,
        Notice::AssistWrongCode,
        Notice::AssistWithdrawn,
        Notice::AssistGone,
    ] {
        let view = AccountView {
            assists: &assists,
            helped: &assists,
            visits: &visits,
            login_level: 2,
            profile: &profile,
            sessions: &sessions,
            current_session: "current",
            consents: &consents,
            csrf_token: "csrf",
            notice: Some(notice),
            totp_enabled: false,
            signing_waiting: 1,
            passkeys: Some(&passkeys),
            certificates: &certificates,
            accesses: &accesses,
            logged: &logged,
        };
        pages.push(("account", account(prefs, &view, StatusCode::OK)));
    }
    pages.extend(relatives_pages(prefs, v, now));
    pages.extend(super::console_fixtures::console_pages(prefs, v, now));
    for which in [
        ErrorPage::CannotContinue(PageReason::NoClient),
        ErrorPage::CannotContinue(PageReason::UnknownClient),
        ErrorPage::CannotContinue(PageReason::NoRedirectUri),
        ErrorPage::CannotContinue(PageReason::UnregisteredRedirectUri),
        ErrorPage::CannotContinue(PageReason::UnknownRequestUri),
        ErrorPage::CannotSignOut(LogoutError::ClientMismatch),
        ErrorPage::CannotSignOut(LogoutError::RedirectNeedsClient),
        ErrorPage::CannotSignOut(LogoutError::UnregisteredRedirect),
        ErrorPage::CannotSignOut(LogoutError::BadHint),
        ErrorPage::Unavailable,
        ErrorPage::FormExpired,
        ErrorPage::StrongLoginNeeded,
        ErrorPage::MalformedRequest,
    ] {
        pages.push(("error", error(prefs, StatusCode::BAD_REQUEST, which)));
    }
    let mut rendered = Vec::new();
    for (name, response) in pages {
        let (status, html) = body(response).await;
        rendered.push((name, status, html));
    }
    rendered
}

pub(super) fn every_prefs() -> Vec<Prefs> {
    Lang::all()
        .flat_map(|lang| [false, true].map(|care| Prefs::new(lang, care)))
        .collect()
}

/// An assisted session waiting for the person, with `v` for every text.
fn assisted(v: &str, now: Timestamp) -> tongban_identity::delegation::Delegation {
    use tongban_identity::delegation::{Delegation, Matter, Status};
    use tongban_identity::subjects::SubjectId;
    Delegation {
        id: v.into(),
        principal: SubjectId::new(),
        principal_name: v.into(),
        principal_assurance: 2,
        delegate: SubjectId::new(),
        delegate_name: v.into(),
        matters: Matter::ALL.to_vec(),
        kind: "counter".into(),
        hall: Some(v.into()),
        status: Status::Offered,
        valid_until: Timestamp::from_unix_millis(now.unix_millis() + 600_000),
        created_at: now,
        ended_at: None,
        ended_by: None,
    }
}

/// The pages of relatives and of the counter, with `v` wherever a person could type.
fn relatives_pages(prefs: Prefs, v: &str, now: Timestamp) -> Vec<(&'static str, Response)> {
    use crate::views::counter::{
        assist, counter, counter_code, enrol, enrol_done, enrol_passkey, enrol_password,
    };
    use crate::views::delegation::{RelativesView, choose_actor, relatives};
    use crate::views::esign::Message;
    use tongban_identity::counter::{Printed, Purpose};
    use tongban_identity::delegation::{Delegation, Matter, Status, acts::Act};
    use tongban_identity::subjects::SubjectId;
    let (principal, delegate) = (SubjectId::new(), SubjectId::new());
    let offered = Delegation {
        id: v.into(),
        principal,
        principal_name: v.into(),
        principal_assurance: 2,
        delegate,
        delegate_name: v.into(),
        matters: Matter::ALL.to_vec(),
        kind: "relative".into(),
        hall: None,
        status: Status::Offered,
        valid_until: now,
        created_at: now,
        ended_at: None,
        ended_by: None,
    };
    let active = Delegation {
        status: Status::Active,
        ..offered.clone()
    };
    let act = Act {
        delegation_id: v.into(),
        principal,
        principal_name: v.into(),
        delegate,
        delegate_name: v.into(),
        action: v.into(),
        client_name: Some(v.into()),
        at: now,
    };
    let waiting = assisted(v, now);
    let helping = Delegation {
        status: Status::Active,
        ..waiting.clone()
    };
    let (given, received, acts) = (
        [offered.clone(), waiting.clone()],
        [active, helping.clone()],
        [act],
    );
    let view = RelativesView {
        person: principal,
        csrf: "csrf",
        message: Some(Message::error("relatives-unknown")),
        may_offer: true,
        given: &given,
        received: &received,
        acts: &acts,
        now,
    };
    let verified = tongban_identity::counter::Verified {
        person: principal,
        name: v.into(),
        printed: Some(Printed {
            code: "ABCD-EFGH".into(),
            purpose: Purpose::Passkey,
            expires_at: now,
        }),
    };
    let no_code = tongban_identity::counter::Verified {
        printed: None,
        ..verified.clone()
    };
    let password = tongban_identity::counter::Verified {
        printed: Some(Printed {
            code: "ABCD-EFGH".into(),
            purpose: Purpose::Password,
            expires_at: now,
        }),
        ..verified.clone()
    };
    let mismatch = Some(crate::views::Notice::Mismatch);
    let wrong = Some(Message::error("enrol-wrong"));
    let unknown = Some(Message::error("counter-unknown"));
    vec![
        (
            "act for",
            choose_actor(prefs, "csrf", v, std::slice::from_ref(&offered)),
        ),
        ("relatives", relatives(prefs, &view, StatusCode::OK)),
        (
            "counter",
            counter(prefs, ("csrf", true), v, unknown, StatusCode::OK),
        ),
        (
            "counter code",
            counter_code(prefs, &verified, "https://t.example"),
        ),
        (
            "counter no code",
            counter_code(prefs, &no_code, "https://t.example"),
        ),
        (
            "enrol",
            enrol(prefs, "csrf", wrong, StatusCode::UNAUTHORIZED),
        ),
        (
            "enrol passkey",
            enrol_passkey(prefs, v, "token", StatusCode::OK),
        ),
        ("enrol done", enrol_done(prefs, Purpose::Passkey)),
        (
            "counter password code",
            counter_code(prefs, &password, "https://t.example"),
        ),
        (
            "enrol password",
            enrol_password(prefs, v, "token", mismatch, StatusCode::OK),
        ),
        ("enrol password done", enrol_done(prefs, Purpose::Password)),
        (
            "assist with code",
            assist(prefs, &waiting, Some("123456"), "csrf", "https://t.example"),
        ),
        (
            "assist live",
            assist(prefs, &helping, None, "csrf", "https://t.example"),
        ),
        (
            "assist over",
            assist(prefs, &offered, None, "csrf", "https://t.example"),
        ),
    ]
}
