//! The certificate pages of the console: a department's types with the lookup and its
//! results, the field editor that defines a type, the form generated from a type's
//! schema (to issue or re-issue one), the status change with its reason, and batches
//! with their progress.

use tongban_ecert::batch::Job;
use tongban_ecert::catalogue::CertType;
use tongban_ecert::face_form::{FieldKind, FormField};
use tongban_ecert::register::Certificate;

use super::*;

fn type_name(l: Lang, t: &CertType) -> String {
    if l.is_chinese() {
        t.name_zh.clone()
    } else {
        t.name_en.clone()
    }
}

fn department_choices(departments: &[&Department], chosen: &str) -> Vec<Choice> {
    departments
        .iter()
        .map(|d| Choice {
            value: d.id.to_string(),
            label: format!("\u{2068}{}\u{2069}", d.name),
            selected: d.id.to_string() == chosen,
        })
        .collect()
}

struct TypeRow {
    code: String,
    name: String,
    holder: String,
    validity: String,
    issue_label: String,
    batch_label: String,
}

/// A found certificate as its row shows it.
struct FoundRow {
    identifier: String,
    type_name: String,
    holder: String,
    status: String,
    issued: String,
    /// Whether the person issues for its department (the actions are theirs).
    actions: bool,
    suspend: bool,
    resume: bool,
    revoke: bool,
    label_suffix: String,
}

/// The lookup as typed.
#[derive(Clone, Debug, Default)]
pub struct CertificateSearch {
    /// An identifier or a holder's number.
    pub q: String,
    /// Why (用证事由).
    pub purpose: String,
}

/// What the certificates page shows.
pub struct CertificatesView<'a> {
    /// The person's departments with certificate roles, and the one shown.
    pub departments: (&'a [&'a Department], String),
    /// The department's types.
    pub types: &'a [CertType],
    /// Whether the person issues for the department.
    pub issues: bool,
    /// Whether the person defines the department's types.
    pub defines: bool,
    /// The lookup typed, and what it found (`None`: no lookup made).
    pub search: &'a CertificateSearch,
    /// The certificates found, each with whether the person issues for its department.
    pub found: Option<Vec<(Certificate, bool)>>,
    /// What the last form did.
    pub message: Option<Message>,
}

#[derive(Template)]
#[template(path = "console_certificates.html")]
struct CertificatesPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    department_id: String,
    departments: Vec<Choice>,
    types: Vec<TypeRow>,
    issues: bool,
    defines: bool,
    search: &'a CertificateSearch,
    searched: bool,
    searched_wrong: bool,
    found: Vec<FoundRow>,
    message: Option<Message>,
}

/// A department's certificate types, the lookup, and what it found.
pub fn certificates(
    prefs: Prefs,
    csrf: &str,
    view: CertificatesView<'_>,
    status: StatusCode,
) -> Response {
    let l = prefs.lang;
    let now = tongban_core::time::Timestamp::now();
    let (departments, chosen) = view.departments;
    let types = view
        .types
        .iter()
        .map(|t| {
            let name = type_name(l, t);
            TypeRow {
                code: t.code.clone(),
                holder: l.t(&format!("certs-holder-{}", t.holder_category.name())),
                validity: t.validity_days.map_or_else(
                    || l.t("certs-validity-none"),
                    |d| l.t1("certs-validity-days", "days", &d.to_string()),
                ),
                issue_label: l.t1("certs-issue-named", "type", &name),
                batch_label: l.t1("certs-batch-named", "type", &name),
                name,
            }
        })
        .collect();
    let searched = view.found.is_some();
    let found = view
        .found
        .unwrap_or_default()
        .into_iter()
        .map(|(c, actions)| {
            let status = c.status_at(now);
            FoundRow {
                type_name: if l.is_chinese() {
                    c.type_name_zh.clone()
                } else {
                    c.type_name_en.clone()
                },
                holder: c.holder_name.clone(),
                status: l.t(&format!("certs-status-{status}")),
                issued: when(c.issued_at),
                actions,
                suspend: status == "active",
                resume: status == "suspended",
                revoke: matches!(status, "active" | "suspended"),
                label_suffix: c.identifier.clone(),
                identifier: c.identifier,
            }
        })
        .collect();
    let page = CertificatesPage {
        l,
        shell: Shell::new(prefs, "/console/certificates", "certs-title").wide(),
        csrf,
        department_id: chosen.clone(),
        departments: department_choices(departments, &chosen),
        types,
        issues: view.issues,
        defines: view.defines,
        search: view.search,
        searched,
        searched_wrong: view.message.as_ref().is_some_and(|m| m.error),
        found,
        message: view.message,
    };
    render(status, &page)
}

/// A form field as the issuance page shows it: its input, its typed value and its
/// errors.
struct FieldRow {
    name: String,
    title: String,
    input: &'static str,
    /// `step` of a number input: whole numbers, or any.
    step: &'static str,
    required: bool,
    max_length: Option<u64>,
    value: String,
    checked: bool,
    options: Vec<Choice>,
    errors: Vec<String>,
    hint: String,
}

/// What the issuance (or re-issuance) form shows.
pub struct CertificateFormView<'a> {
    /// The type.
    pub cert_type: &'a CertType,
    /// The issuing department.
    pub department_id: String,
    /// The certificate re-issued (no holder fields then).
    pub reissuing: Option<&'a str>,
    /// The holder typed: number and name.
    pub holder: (&'a str, &'a str),
    /// The fields.
    pub fields: &'a [FormField],
    /// The value typed in each field, by name.
    pub typed: &'a dyn Fn(&str) -> Option<String>,
    /// Errors by field name (`holder.id_number`, `holder.name`, a face field, or `""`
    /// for the whole face).
    pub errors: &'a [(String, String)],
    /// The idempotency key of this form (a resubmission issues nothing twice).
    pub key: &'a str,
}

#[derive(Template)]
#[template(path = "console_certificate_form.html")]
struct CertificateFormPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    action: String,
    type_name: String,
    department_id: String,
    reissuing: Option<&'a str>,
    holder_number: &'a str,
    holder_name: &'a str,
    holder_number_errors: Vec<String>,
    holder_name_errors: Vec<String>,
    general_errors: Vec<String>,
    fields: Vec<FieldRow>,
    key: &'a str,
    has_errors: bool,
}

/// The form generated from a type's schema, with the errors beside their fields.
pub fn certificate_form(
    prefs: Prefs,
    csrf: &str,
    view: CertificateFormView<'_>,
    status: StatusCode,
) -> Response {
    let l = prefs.lang;
    let errors_of = |name: &str| -> Vec<String> {
        view.errors
            .iter()
            .filter(|(field, _)| field == name)
            .map(|(_, message)| message.clone())
            .collect()
    };
    let fields = view
        .fields
        .iter()
        .map(|f| {
            let value = (view.typed)(&f.name).unwrap_or_default();
            let (input, hint) = match &f.kind {
                FieldKind::Integer | FieldKind::Number => ("number", l.t("certs-hint-number")),
                FieldKind::Date => ("date", l.t("certs-hint-date")),
                FieldKind::Boolean => ("checkbox", String::new()),
                FieldKind::Choice(_) => ("select", String::new()),
                FieldKind::Text => (
                    "text",
                    f.pattern
                        .as_deref()
                        .map(|p| l.t1("certs-hint-pattern", "pattern", p))
                        .unwrap_or_default(),
                ),
            };
            let options = match &f.kind {
                FieldKind::Choice(options) => options
                    .iter()
                    .map(|o| Choice {
                        value: o.clone(),
                        label: format!("\u{2068}{o}\u{2069}"),
                        selected: *o == value,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            FieldRow {
                name: f.name.clone(),
                title: f.title.clone(),
                input,
                step: if f.kind == FieldKind::Number {
                    "any"
                } else {
                    "1"
                },
                required: f.required && f.kind != FieldKind::Boolean,
                max_length: f.max_length,
                checked: value == "true",
                value,
                options,
                errors: errors_of(&f.name),
                hint,
            }
        })
        .collect();
    let action = match view.reissuing {
        Some(identifier) => format!("/console/certificates/{identifier}/reissue"),
        None => format!("/console/certificates/issue/{}", view.cert_type.code),
    };
    let title = if view.reissuing.is_some() {
        "certs-reissue-title"
    } else {
        "certs-issue-title"
    };
    let page = CertificateFormPage {
        l,
        shell: Shell::new(prefs, &action, title),
        csrf,
        type_name: type_name(l, view.cert_type),
        department_id: view.department_id,
        reissuing: view.reissuing,
        holder_number: view.holder.0,
        holder_name: view.holder.1,
        holder_number_errors: errors_of("holder.id_number"),
        holder_name_errors: errors_of("holder.name"),
        general_errors: errors_of(""),
        fields,
        key: view.key,
        has_errors: !view.errors.is_empty(),
        action,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "console_certificate_issued.html")]
struct IssuedPage<'a> {
    l: Lang,
    shell: Shell,
    identifier: &'a str,
    type_name: String,
    holder: &'a str,
    valid_until: String,
    verify_href: String,
    again_href: String,
}

/// A certificate just issued: its identifier, and where anyone verifies it.
pub fn certificate_issued(prefs: Prefs, certificate: &Certificate, again_href: String) -> Response {
    let l = prefs.lang;
    let page = IssuedPage {
        l,
        shell: Shell::new(prefs, "/console/certificates", "certs-issued-title"),
        identifier: &certificate.identifier,
        type_name: if l.is_chinese() {
            certificate.type_name_zh.clone()
        } else {
            certificate.type_name_en.clone()
        },
        holder: &certificate.holder_name,
        valid_until: certificate
            .valid_until
            .map_or_else(|| l.t("certs-validity-none"), when),
        verify_href: format!("/verify/i/{}", certificate.identifier),
        again_href,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "console_certificate_change.html")]
struct ChangePage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    identifier: &'a str,
    change: &'a str,
    question: String,
    needs_reason: bool,
    back: &'a str,
    error: bool,
}

/// The confirmation of a status change, asking for its reason.
pub fn confirm_certificate_change(
    prefs: Prefs,
    csrf: &str,
    (certificate, change): (&Certificate, &str),
    back: &str,
    error: bool,
) -> Response {
    let l = prefs.lang;
    let page = ChangePage {
        l,
        shell: Shell::new(
            prefs,
            "/console/certificates",
            &format!("certs-confirm-{change}-title"),
        ),
        csrf,
        identifier: &certificate.identifier,
        change,
        question: l.t2(
            &format!("certs-confirm-{change}"),
            ("identifier", &certificate.identifier),
            ("holder", &certificate.holder_name),
        ),
        needs_reason: change != "resume",
        back,
        error,
    };
    let status = if error {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(status, &page)
}

/// A field editor's row as typed.
#[derive(Clone, Debug, Default)]
pub struct FieldLine {
    /// Property name.
    pub name: String,
    /// Label.
    pub title: String,
    /// `text`, `integer`, `number`, `date`, `boolean` or `choice`.
    pub kind: String,
    /// Required.
    pub required: bool,
    /// A choice's options, one per line or comma-separated.
    pub options: String,
}

/// The type form as typed.
#[derive(Clone, Debug, Default)]
pub struct TypeForm {
    /// The 3-digit sequence.
    pub sequence: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// `natural` or `legal`.
    pub holder_category: String,
    /// Days of validity (empty: until revoked).
    pub validity_days: String,
    /// The signing seal's id.
    pub seal_id: String,
    /// The field editor's rows.
    pub fields: Vec<FieldLine>,
    /// A pasted schema (used instead of the rows when not empty).
    pub schema: String,
}

struct FieldLineRow<'a> {
    n: usize,
    line: &'a FieldLine,
    kinds: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "console_certificate_type.html")]
struct TypePage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    department_id: &'a str,
    form: &'a TypeForm,
    seals: Vec<Choice>,
    legal: bool,
    rows: Vec<FieldLineRow<'a>>,
    preview: Option<String>,
    error: Option<String>,
}

/// The type form: names, holder, validity, seal, the field editor (or a pasted schema),
/// and the schema it writes when checked.
pub fn certificate_type_form(
    prefs: Prefs,
    (csrf, department_id): (&str, &str),
    form: &TypeForm,
    seals: &[(String, String)],
    (preview, error): (Option<String>, Option<String>),
    status: StatusCode,
) -> Response {
    let l = prefs.lang;
    let kinds = |chosen: &str| -> Vec<Choice> {
        ["text", "integer", "number", "date", "boolean", "choice"]
            .into_iter()
            .map(|k| Choice {
                value: k.to_owned(),
                label: l.t(&format!("certs-kind-{k}")),
                selected: k == chosen,
            })
            .collect()
    };
    let rows = form
        .fields
        .iter()
        .enumerate()
        .map(|(n, line)| FieldLineRow {
            n,
            line,
            kinds: kinds(&line.kind),
        })
        .collect();
    let seals = seals
        .iter()
        .map(|(id, name)| Choice {
            value: id.clone(),
            label: format!("\u{2068}{name}\u{2069}"),
            selected: *id == form.seal_id,
        })
        .collect();
    let page = TypePage {
        l,
        shell: Shell::new(prefs, "/console/certificates", "certs-type-title").wide(),
        csrf,
        department_id,
        form,
        seals,
        legal: form.holder_category == "legal",
        rows,
        preview,
        error,
    };
    render(status, &page)
}

/// What a batch page shows.
pub struct BatchView<'a> {
    /// The type.
    pub cert_type: &'a CertType,
    /// The issuing department.
    pub department_id: &'a str,
    /// This form's idempotency key.
    pub key: &'a str,
    /// Why the last upload was refused.
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "console_certificate_batch.html")]
struct BatchPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    code: &'a str,
    type_name: String,
    department_id: &'a str,
    key: &'a str,
    max_rows: usize,
    error: Option<String>,
}

/// A batch's upload page: the template to start from, and the upload.
pub fn certificate_batch(
    prefs: Prefs,
    csrf: &str,
    view: BatchView<'_>,
    status: StatusCode,
) -> Response {
    let l = prefs.lang;
    let page = BatchPage {
        l,
        shell: Shell::new(prefs, "/console/certificates", "certs-batch-title"),
        csrf,
        code: &view.cert_type.code,
        type_name: type_name(l, view.cert_type),
        department_id: view.department_id,
        key: view.key,
        max_rows: tongban_ecert::batch::MAX_ROWS,
        error: view.error,
    };
    render(status, &page)
}

struct RefusedRow {
    row: i64,
    errors: String,
}

#[derive(Template)]
#[template(path = "console_certificate_job.html")]
struct JobPage<'a> {
    l: Lang,
    shell: Shell,
    id: &'a str,
    code: &'a str,
    department_id: String,
    done: bool,
    settled: i64,
    total: i64,
    summary: String,
    refused: Vec<RefusedRow>,
    failed: i64,
}

/// A batch's progress; when done, its refused rows and the file of them.
pub fn certificate_job(prefs: Prefs, job: &Job, refused: &[(i64, String)]) -> Response {
    let l = prefs.lang;
    let settled = job.issued + job.failed;
    let page = JobPage {
        l,
        shell: Shell::new(prefs, "/console/certificates", "certs-job-title"),
        id: &job.id,
        code: &job.type_code,
        department_id: job.department_id.to_string(),
        done: job.state == "done",
        settled,
        total: job.total,
        summary: progress_text(l, job),
        refused: refused
            .iter()
            .map(|(row, errors)| RefusedRow {
                row: *row,
                errors: errors.clone(),
            })
            .collect(),
        failed: job.failed,
    };
    render(StatusCode::OK, &page)
}

/// "x of n rows settled: i issued, f refused", as the page and its script say it.
pub fn progress_text(l: Lang, job: &Job) -> String {
    l.tnums(
        "certs-job-progress",
        &[
            ("settled", job.issued + job.failed),
            ("total", job.total),
            ("issued", job.issued),
            ("failed", job.failed),
        ],
    )
}
