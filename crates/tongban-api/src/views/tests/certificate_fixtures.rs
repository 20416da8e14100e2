//! The console's certificate pages for the rendering tests (see `fixtures.rs`).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use tongban_core::time::Timestamp;
use tongban_ecert::batch::Job;
use tongban_ecert::catalogue::{CertType, HolderCategory, Rendition};
use tongban_ecert::face_form;
use tongban_ecert::register::{Certificate, Status};
use tongban_identity::subjects::{Department, DepartmentId, SubjectId};

use crate::prefs::Prefs;
use crate::views::console::{
    BatchView, CertificateFormView, CertificateSearch, CertificatesView, FieldLine, TypeForm,
    certificate_batch, certificate_form, certificate_issued, certificate_job,
    certificate_type_form, certificates, confirm_certificate_change,
};
use crate::views::esign::Message;

/// The certificate pages, with `v` wherever staff, holders or a type's author could type.
pub(super) fn certificate_pages(
    prefs: Prefs,
    v: &str,
    department: &Department,
    now: Timestamp,
) -> Vec<(&'static str, Response)> {
    let cert_type = CertType {
        id: v.into(),
        code: "91350100M000100Y43001".into(),
        department_id: department.id,
        name_zh: v.into(),
        name_en: v.into(),
        holder_category: HolderCategory::Natural,
        face_schema: json!({
            "type": "object",
            "required": ["a"],
            "properties": {
                "a": {"type": "string", "title": v, "maxLength": 10, "pattern": v},
                "b": {"type": "string", "enum": [v, "x"]},
                "c": {"type": "boolean", "title": v},
                "d": {"type": "string", "format": "date"},
                "e": {"type": "integer"}
            }
        }),
        validity_days: Some(365),
        layout: vec!["a".into()],
        rendition: Rendition::Pdf,
    };
    let certificate = Certificate {
        id: v.into(),
        identifier: v.into(),
        type_code: v.into(),
        type_name_zh: v.into(),
        type_name_en: v.into(),
        department_id: DepartmentId::new(),
        issuer: (v.into(), v.into()),
        holder_id: SubjectId::new(),
        holder_name: v.into(),
        status: Status::Active,
        status_reason: Some(v.into()),
        face: json!({"a": v}),
        credential: v.into(),
        status_list_id: v.into(),
        status_index: 0,
        valid_from: now,
        valid_until: None,
        supersedes: None,
        superseded_by: None,
        issued_at: now,
        credential_sha256: Default::default(),
    };
    let suspended = Certificate {
        status: Status::Suspended,
        ..certificate.clone()
    };
    let departments = [department];
    let search = CertificateSearch {
        q: v.into(),
        purpose: v.into(),
    };
    let fields = face_form::fields_of(&cert_type);
    let typed = |_: &str| Some(v.to_owned());
    let errors = [
        ("a".to_owned(), v.to_owned()),
        ("holder.name".to_owned(), v.to_owned()),
        (String::new(), v.to_owned()),
    ];
    let type_form = TypeForm {
        sequence: v.into(),
        name_zh: v.into(),
        name_en: v.into(),
        holder_category: "legal".into(),
        validity_days: v.into(),
        seal_id: v.into(),
        fields: vec![FieldLine {
            name: v.into(),
            title: v.into(),
            kind: "choice".into(),
            required: true,
            options: v.into(),
        }],
        schema: v.into(),
    };
    let job = Job {
        id: v.into(),
        type_code: v.into(),
        department_id: department.id,
        state: "done".into(),
        total: 2000,
        issued: 1980,
        failed: 20,
        created_at: now,
        finished_at: Some(now),
    };
    let running = Job {
        state: "pending".into(),
        issued: 10,
        failed: 1,
        ..job.clone()
    };
    vec![
        (
            "certificates",
            certificates(
                prefs,
                "csrf",
                CertificatesView {
                    departments: (&departments, department.id.to_string()),
                    types: std::slice::from_ref(&cert_type),
                    issues: true,
                    defines: true,
                    search: &search,
                    found: Some(vec![(certificate.clone(), true), (suspended, false)]),
                    message: Some(Message::news("certs-done-defined")),
                },
                StatusCode::OK,
            ),
        ),
        (
            "certificates none",
            certificates(
                prefs,
                "csrf",
                CertificatesView {
                    departments: (&departments, v.into()),
                    types: &[],
                    issues: false,
                    defines: false,
                    search: &CertificateSearch::default(),
                    found: Some(Vec::new()),
                    message: Some(Message::error("certs-find-invalid")),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ),
        (
            "certificate form",
            certificate_form(
                prefs,
                "csrf",
                CertificateFormView {
                    cert_type: &cert_type,
                    department_id: v.into(),
                    reissuing: None,
                    holder: (v, v),
                    fields: &fields,
                    typed: &typed,
                    errors: &errors,
                    key: v,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ),
        (
            "certificate reissue",
            certificate_form(
                prefs,
                "csrf",
                CertificateFormView {
                    cert_type: &cert_type,
                    department_id: v.into(),
                    reissuing: Some(v),
                    holder: ("", ""),
                    fields: &fields,
                    typed: &typed,
                    errors: &[],
                    key: "",
                },
                StatusCode::OK,
            ),
        ),
        (
            "certificate issued",
            certificate_issued(prefs, &certificate, format!("/console/x?{v}")),
        ),
        (
            "confirm revoke",
            confirm_certificate_change(prefs, "csrf", (&certificate, "revoke"), "/x", true),
        ),
        (
            "confirm resume",
            confirm_certificate_change(prefs, "csrf", (&certificate, "resume"), "/x", false),
        ),
        (
            "certificate type",
            certificate_type_form(
                prefs,
                ("csrf", v),
                &type_form,
                &[(v.to_owned(), v.to_owned())],
                (Some(v.to_owned()), Some(v.to_owned())),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ),
        (
            "certificate batch",
            certificate_batch(
                prefs,
                "csrf",
                BatchView {
                    cert_type: &cert_type,
                    department_id: v,
                    key: v,
                    error: Some(v.to_owned()),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ),
        (
            "certificate job done",
            certificate_job(prefs, &job, &[(3, v.to_owned())]),
        ),
        (
            "certificate job running",
            certificate_job(prefs, &running, &[]),
        ),
    ]
}
