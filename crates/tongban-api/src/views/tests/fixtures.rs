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
        in_validity: true,
        certificate: Some(certificate(v)),
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
    pages.extend(console_pages(prefs, v, now));
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

/// The console's pages, with `v` wherever staff or people could type.
fn console_pages(prefs: Prefs, v: &str, now: Timestamp) -> Vec<(&'static str, Response)> {
    use crate::views::console::{
        AuditFilters, AuditView, DepartmentForm, StaffForm, audit, confirm_person,
        confirm_staff_removal, departments, desk, people, refused, staff,
    };
    use crate::views::esign::Message;
    use tongban_core::audit::AuditEvent;
    use tongban_identity::console::{Desk, Post};
    use tongban_identity::person_lifecycle::PersonSummary;
    use tongban_identity::subjects::{Department, Level, Role, StaffMember};
    let department = Department {
        id: DepartmentId::new(),
        parent_id: None,
        level: Level::Province,
        name: v.into(),
        uscc: "91350100M000100Y43".parse().unwrap(),
    };
    let worker = Desk {
        subject: SubjectId::new(),
        name: v.into(),
        level: 2,
        platform_admin: true,
        posts: vec![Post {
            department: department.clone(),
            roles: vec![Role::DeptAdmin, Role::Counter, Role::Issuer],
        }],
    };
    let filters = AuditFilters {
        actor: v.into(),
        action: v.into(),
        target: v.into(),
        department: department.id.to_string(),
        from: v.into(),
        until: v.into(),
    };
    let event = AuditEvent::new(v, v, Some(v), None, serde_json::json!({ "v": v }))
        .in_department(department.id);
    let elsewhere = AuditEvent::new(v, v, None, None, serde_json::json!({})).in_department(v);
    let events = [event, elsewhere];
    let city = Department {
        id: DepartmentId::new(),
        parent_id: Some(department.id),
        level: Level::City,
        name: v.into(),
        uscc: "11430000006122244L".parse().unwrap(),
    };
    let lost = Department {
        parent_id: Some(DepartmentId::new()),
        id: DepartmentId::new(),
        ..city.clone()
    };
    let tree = [department.clone(), city, lost];
    let members = [StaffMember {
        subject: SubjectId::new(),
        name: v.into(),
        staff_number: v.into(),
        roles: vec![Role::DeptAdmin, Role::SealUser],
    }];
    let options = [department];
    let person = PersonSummary {
        id: SubjectId::new(),
        name: v.into(),
        resident_id_masked: "110105********002X".into(),
        email: Some(v.into()),
        created_at: now,
        deactivated_at: None,
    };
    let gone = PersonSummary {
        deactivated_at: Some(now),
        ..person.clone()
    };
    let audit_view = |message| AuditView {
        filters: &filters,
        departments: &options,
        events: &events,
        export_href: format!("/console/audit/export?actor={v}"),
        next_href: Some(format!("/console/audit?after={v}")),
        message,
    };
    let seal = tongban_seal::registry::Seal {
        id: tongban_seal::registry::SealId::new(),
        department_id: options[0].id,
        code: v.into(),
        kind: tongban_seal::registry::SealKind::Contract,
        name: v.into(),
        status: tongban_seal::registry::SealStatus::Suspended,
        key_id: v.into(),
        certificate_serial: v.into(),
        valid_until: now,
        algorithm: tongban_crypto::Algorithm::Sm2,
    };
    let grants = [
        tongban_seal::grants::Grant {
            grantee: tongban_seal::grants::Grantee::Staff(members[0].subject.to_string()),
            purpose_required: true,
            expires_at: None,
            granted_by: v.into(),
            granted_at: now,
        },
        tongban_seal::grants::Grant {
            grantee: tongban_seal::grants::Grantee::Client(v.into()),
            purpose_required: false,
            expires_at: Some(now),
            granted_by: v.into(),
            granted_at: now,
        },
    ];
    let usages = [tongban_seal::sign::Usage {
        actor: v.into(),
        client_id: v.into(),
        digest_sha256: Some(v.into()),
        digest_sm3: None,
        format: v.into(),
        purpose: Some(v.into()),
        at: now,
    }];
    let seal_departments: Vec<&Department> = tree.iter().collect();
    let usage_filters = crate::views::console::UsageFilters {
        actor: v.into(),
        from: v.into(),
        until: v.into(),
    };
    let seal_view = |manages| crate::views::console::SealView {
        seal: &seal,
        grants: &grants,
        candidates: &members,
        usages: &usages,
        usage_filters: &usage_filters,
        export_href: format!("/console/seals/x/usages/export?actor={v}"),
        manages,
        message: Some(Message::news("seals-done-granted")),
    };
    let mut pages = vec![
        (
            "seals",
            crate::views::console::seals(
                prefs,
                ("csrf", true),
                (&seal_departments, tree[0].id),
                std::slice::from_ref(&seal),
                None,
            ),
        ),
        (
            "seals none",
            crate::views::console::seals(
                prefs,
                ("csrf", false),
                (&seal_departments[..1], tree[0].id),
                &[],
                None,
            ),
        ),
        (
            "seal managed",
            crate::views::console::seal(prefs, "csrf", seal_view(true)),
        ),
        (
            "seal seen",
            crate::views::console::seal(prefs, "csrf", seal_view(false)),
        ),
        (
            "confirm ungrant",
            crate::views::console::confirm_ungrant(prefs, ("csrf", "/x", "/y"), v, v),
        ),
    ];
    for status in [
        tongban_seal::registry::SealStatus::Active,
        tongban_seal::registry::SealStatus::Suspended,
        tongban_seal::registry::SealStatus::Revoked,
    ] {
        pages.push((
            "confirm seal status",
            crate::views::console::confirm_seal_status(prefs, ("csrf", "/x", "/y"), v, (status, v)),
        ));
    }
    let client_lines = [
        crate::views::console::ClientLine {
            id: v.into(),
            name: v.into(),
            system: true,
            department_id: Some(tree[0].id),
            scopes: vec![v.into(), "openid".into()],
            disabled: false,
            has_secret: true,
            previous_secret_until: Some(Timestamp::from_unix_millis(now.unix_millis() + 60_000)),
        },
        crate::views::console::ClientLine {
            id: v.into(),
            name: v.into(),
            system: false,
            department_id: None,
            scopes: Vec::new(),
            disabled: true,
            has_secret: false,
            previous_secret_until: None,
        },
    ];
    let typed_client = crate::views::console::ClientForm {
        name: v.into(),
        kind: "system".into(),
        redirect_uri: v.into(),
        scopes: v.into(),
        department_id: tree[0].id.to_string(),
        first_party: true,
    };
    pages.extend(vec![
        (
            "clients",
            crate::views::console::clients(
                prefs,
                ("csrf", &typed_client),
                (&client_lines, &tree),
                Some(Message::error("clients-invalid")),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ),
        (
            "client secret",
            crate::views::console::client_secret(prefs, v, v, Some(now)),
        ),
        (
            "confirm client",
            crate::views::console::confirm_client(
                prefs,
                ("csrf", "/x"),
                v,
                (
                    "clients-confirm-rotate",
                    vec![("grace_seconds", "3600".into())],
                ),
            ),
        ),
    ]);
    pages.extend(vec![
        ("console", desk(prefs, &worker, None, StatusCode::OK)),
        (
            "console refused",
            refused(prefs, None, Message::error("console-not-staff")),
        ),
        (
            "console step-up",
            refused(prefs, Some(&worker), Message::error("console-step-up")),
        ),
        ("audit", audit(prefs, audit_view(None), StatusCode::OK)),
        (
            "audit invalid",
            audit(
                prefs,
                audit_view(Some(Message::error("audit-invalid"))),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ),
        (
            "people",
            people(
                prefs,
                ("csrf", v),
                &[person.clone(), gone],
                Some(format!("/console/people?q={v}")),
                Some(Message::news("people-done-deactivated")),
                StatusCode::OK,
            ),
        ),
        (
            "people none",
            people(prefs, ("csrf", v), &[], None, None, StatusCode::OK),
        ),
        (
            "confirm deactivate",
            confirm_person(prefs, ("csrf", v), "/console/people/x/deactivate", v, true),
        ),
        (
            "departments",
            departments(
                prefs,
                (
                    "csrf",
                    &DepartmentForm {
                        name: v.into(),
                        uscc: v.into(),
                        level: v.into(),
                        parent_id: v.into(),
                    },
                ),
                &tree,
                Some(Message::error("departments-invalid-uscc")),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ),
        (
            "departments none",
            departments(
                prefs,
                ("csrf", &DepartmentForm::default()),
                &[],
                None,
                StatusCode::OK,
            ),
        ),
        (
            "staff",
            staff(
                prefs,
                (
                    "csrf",
                    &StaffForm {
                        resident_id: String::new(),
                        name: v.into(),
                        staff_number: v.into(),
                        roles: vec![Role::Issuer],
                    },
                ),
                &tree[1],
                &members,
                Some(Message::news("staff-done-added")),
                StatusCode::OK,
            ),
        ),
        (
            "staff none",
            staff(
                prefs,
                ("csrf", &StaffForm::default()),
                &tree[0],
                &[],
                None,
                StatusCode::OK,
            ),
        ),
        (
            "confirm role removal",
            confirm_staff_removal(
                prefs,
                ("csrf", "/console/x", "/console/y"),
                v,
                Some(Role::Counter),
            ),
        ),
        (
            "confirm membership removal",
            confirm_staff_removal(prefs, ("csrf", "/console/x", "/console/y"), v, None),
        ),
        (
            "confirm reactivate",
            confirm_person(prefs, ("csrf", v), "/console/people/x/reactivate", v, false),
        ),
    ]);
    pages
}
