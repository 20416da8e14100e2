//! The console's pages for the rendering tests (see `fixtures.rs`).

use axum::http::StatusCode;
use axum::response::Response;
use tongban_core::time::Timestamp;
use tongban_identity::subjects::{DepartmentId, SubjectId};

use crate::prefs::Prefs;

/// The console's pages, with `v` wherever staff or people could type.
pub(super) fn console_pages(
    prefs: Prefs,
    v: &str,
    now: Timestamp,
) -> Vec<(&'static str, Response)> {
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
    let post = Post {
        department: department.clone(),
        roles: vec![Role::DeptAdmin, Role::Counter, Role::Issuer],
    };
    let worker = Desk::fixture(v, 2, true, vec![post]);
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
    let actors = std::collections::HashMap::from([(v.to_owned(), v.to_owned())]);
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
        actors: &actors,
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
        // A manager's page shows the uploaded image; the other the drawn stamp's note.
        has_image: manages,
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
    let typed_seal = crate::views::console::SealPdfForm {
        page: v.into(),
        anchor: v.into(),
        purpose: v.into(),
        reason: v.into(),
        x: v.into(),
        y: v.into(),
        once: v.into(),
    };
    pages.push((
        "seal pdf",
        crate::views::console::seal_pdf_form(
            prefs,
            ("csrf", &seal, true),
            (&typed_seal, 120.0),
            Some(v.to_owned()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ));
    pages.extend(super::certificate_fixtures::certificate_pages(
        prefs, v, &tree[0], now,
    ));
    pages.push(("overview", overview_page(prefs, v, &tree)));
    pages.extend(admin_pages(prefs, v));
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
            confirm_person(
                prefs,
                ("csrf", v),
                "/console/people/x/deactivate",
                v,
                "deactivate",
            ),
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
                    false,
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
                ("csrf", &StaffForm::default(), true),
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
            confirm_person(
                prefs,
                ("csrf", v),
                "/console/people/x/reactivate",
                v,
                "reactivate",
            ),
        ),
    ]);
    pages
}

/// The overview with every kind of series named by what was typed.
fn overview_page(
    prefs: Prefs,
    v: &str,
    tree: &[tongban_identity::subjects::Department],
) -> axum::response::Response {
    use tongban_ecert::overview::{DAYS, Daily, Overview, Series, SeriesName};
    let counts = |k: i64| (0..DAYS).map(|d| (d * k) % 7).collect::<Vec<_>>();
    let daily = |names: Vec<SeriesName>| Daily {
        first_day: 20_762,
        series: names
            .into_iter()
            .enumerate()
            .map(|(k, name)| Series {
                name,
                counts: counts(k as i64 + 1),
            })
            .collect(),
    };
    let overview = Overview {
        department: Some(tree[0].id),
        issued: daily(vec![
            SeriesName::Type {
                zh: v.into(),
                en: v.into(),
            },
            SeriesName::Others,
        ]),
        seal_uses: daily(vec![SeriesName::Seal(v.into())]),
        verifications: daily(vec![
            SeriesName::CertificatesVerified,
            SeriesName::DocumentsVerified,
        ]),
        failed_logins: Some(daily(vec![SeriesName::LoginsFailed])),
    };
    crate::views::console::overview(prefs, &overview, (tree, true))
}

/// The password reset, the logout deliveries and the registry preview, with what was
/// typed or sent everywhere.
fn admin_pages(prefs: Prefs, v: &str) -> Vec<(&'static str, axum::response::Response)> {
    use tongban_identity::backchannel::DeliveryRecord;
    use tongban_identity::identity_registry::{Outcome, PreviewLine};
    let delivery = |state| DeliveryRecord {
        id: v.into(),
        client_id: v.into(),
        session_id: v.into(),
        state,
        attempts: 8,
        created_at: 1_796_313_600_000,
        next_attempt_at: Some(1_796_313_600_000),
        last_error: Some(v.into()),
    };
    let names = std::collections::HashMap::from([(v.to_owned(), v.to_owned())]);
    let lines: Vec<PreviewLine> = [
        Outcome::New,
        Outcome::Renamed { from: v.into() },
        Outcome::Unchanged,
        Outcome::Invalid(v.into()),
    ]
    .into_iter()
    .enumerate()
    .map(|(line, outcome)| PreviewLine {
        line,
        name: v.into(),
        resident_id: v.into(),
        outcome,
    })
    .collect();
    vec![
        (
            "password reset",
            crate::views::console::password_reset(prefs, v, v, v),
        ),
        (
            "confirm password reset",
            crate::views::console::confirm_person(
                prefs,
                ("csrf", v),
                "/console/people/x/password-reset",
                v,
                "password-reset",
            ),
        ),
        (
            "deliveries",
            crate::views::console::deliveries(
                prefs,
                ("csrf", "failed"),
                &[
                    delivery("failed"),
                    delivery("pending"),
                    delivery("delivered"),
                ],
                &names,
                Some(crate::views::esign::Message::news(
                    "deliveries-done-retried",
                )),
            ),
        ),
        (
            "registry preview",
            crate::views::console::registry(
                prefs,
                "csrf",
                Some((v, &lines)),
                (None, None),
                StatusCode::OK,
            ),
        ),
        (
            "registry importable",
            crate::views::console::registry(
                prefs,
                "csrf",
                Some((v, &lines[..3])),
                (None, Some(3)),
                StatusCode::OK,
            ),
        ),
    ]
}
