//! The seal pages of the console: a department's seals, one seal with its grants,
//! status and uses, and their confirmations.

use tongban_seal::grants::{Grant, Grantee};
use tongban_seal::registry::{Seal, SealStatus};
use tongban_seal::sign::Usage;

use super::*;

struct SealRow {
    id: String,
    name: String,
    kind: String,
    algorithm: &'static str,
    status: String,
    valid_until: String,
    open_label: String,
}

#[derive(Template)]
#[template(path = "console_seals.html")]
struct SealsPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    manages: bool,
    department_id: String,
    departments: Vec<Choice>,
    kinds: Vec<Choice>,
    rows: Vec<SealRow>,
    message: Option<Message>,
}

fn seal_kinds(l: Lang) -> Vec<Choice> {
    [
        "official",
        "contract",
        "finance",
        "invoice",
        "legal-representative",
    ]
    .into_iter()
    .map(|kind| Choice {
        value: kind.to_owned(),
        label: l.t(&format!("seal-kind-{kind}")),
        selected: false,
    })
    .collect()
}

fn algorithm_label(algorithm: tongban_crypto::Algorithm) -> &'static str {
    match algorithm {
        tongban_crypto::Algorithm::Sm2 => "SM2",
        _ => "ES256",
    }
}

/// A department's seals, with the form for a new one for those who manage them.
pub fn seals(
    prefs: Prefs,
    (csrf, manages): (&str, bool),
    (departments, chosen): (&[&Department], tongban_identity::subjects::DepartmentId),
    found: &[Seal],
    message: Option<Message>,
) -> Response {
    let l = prefs.lang;
    let rows = found
        .iter()
        .map(|s| SealRow {
            id: s.id.to_string(),
            name: s.name.clone(),
            kind: l.t(&format!("seal-kind-{}", s.kind.name())),
            algorithm: algorithm_label(s.algorithm),
            status: l.t(&format!("seal-status-{}", s.status.name())),
            valid_until: when(s.valid_until),
            open_label: l.t1("seals-open", "seal", &s.name),
        })
        .collect();
    let departments = departments
        .iter()
        .map(|d| Choice {
            value: d.id.to_string(),
            label: format!("\u{2068}{}\u{2069}", d.name),
            selected: d.id == chosen,
        })
        .collect();
    let page = SealsPage {
        l,
        shell: Shell::new(prefs, "/console/seals", "seals-title").wide(),
        csrf,
        manages,
        department_id: chosen.to_string(),
        departments,
        kinds: seal_kinds(l),
        rows,
        message,
    };
    render(StatusCode::OK, &page)
}

/// The usage log's filters as typed (days as `YYYY-MM-DD`).
#[derive(Clone, Debug, Default)]
pub struct UsageFilters {
    /// Actor.
    pub actor: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub until: String,
}

/// What a seal's page shows.
pub struct SealView<'a> {
    /// The seal.
    pub seal: &'a Seal,
    /// Its grants.
    pub grants: &'a [Grant],
    /// The department's seal users (for managers; empty otherwise).
    pub candidates: &'a [StaffMember],
    /// The latest uses.
    pub usages: &'a [Usage],
    /// The usage log's filters.
    pub usage_filters: &'a UsageFilters,
    /// The CSV export with those filters.
    pub export_href: String,
    /// Whether the seal has an uploaded image (else the service draws its stamp).
    pub has_image: bool,
    /// Whether the person manages the seal.
    pub manages: bool,
    /// What the last form did.
    pub message: Option<Message>,
}

struct GrantRow {
    grantee: String,
    staff_id: Option<String>,
    purpose: bool,
    granted: String,
    revoke_label: String,
}

struct UsageRow {
    at: String,
    actor: String,
    format: String,
    purpose: String,
    digest: String,
}

#[derive(Template)]
#[template(path = "console_seal.html")]
struct SealPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    id: String,
    name: &'a str,
    code: &'a str,
    kind: String,
    algorithm: &'static str,
    status: String,
    revoked: bool,
    valid_until: String,
    serial: &'a str,
    manages: bool,
    has_image: bool,
    image_alt: String,
    message: Option<Message>,
    grants: Vec<GrantRow>,
    candidates: Vec<Choice>,
    statuses: Vec<Choice>,
    usages: Vec<UsageRow>,
    usage_filters: &'a UsageFilters,
    export_href: String,
}

/// A seal: its state, grants, status changes and latest uses.
pub fn seal(prefs: Prefs, csrf: &str, view: SealView<'_>) -> Response {
    let l = prefs.lang;
    let names: std::collections::HashMap<String, &str> = view
        .candidates
        .iter()
        .map(|c| (c.subject.to_string(), c.name.as_str()))
        .collect();
    let grants = view
        .grants
        .iter()
        .map(|g| {
            let (grantee, staff_id) = match &g.grantee {
                Grantee::Staff(id) => (
                    names
                        .get(id)
                        .map_or_else(|| id.clone(), |n| (*n).to_owned()),
                    Some(id.clone()),
                ),
                Grantee::Client(id) => (l.t1("seals-client", "id", id), None),
            };
            GrantRow {
                revoke_label: l.t1("seals-ungrant-named", "name", &grantee),
                grantee,
                staff_id,
                purpose: g.purpose_required,
                granted: when(g.granted_at),
            }
        })
        .collect();
    let candidates = view
        .candidates
        .iter()
        .map(|c| Choice {
            value: c.subject.to_string(),
            label: format!(
                "\u{2068}{}\u{2069} (\u{2068}{}\u{2069})",
                c.name, c.staff_number
            ),
            selected: false,
        })
        .collect();
    let statuses = [
        SealStatus::Active,
        SealStatus::Suspended,
        SealStatus::Revoked,
    ]
    .into_iter()
    .filter(|s| *s != view.seal.status)
    .map(|s| Choice {
        value: s.name().to_owned(),
        label: l.t(&format!("seals-to-{}", s.name())),
        selected: false,
    })
    .collect();
    let usages = view
        .usages
        .iter()
        .map(|u| UsageRow {
            at: when(u.at),
            actor: u.actor.clone(),
            format: u.format.clone(),
            purpose: u.purpose.clone().unwrap_or_default(),
            digest: u
                .digest_sha256
                .clone()
                .or_else(|| u.digest_sm3.clone())
                .unwrap_or_default(),
        })
        .collect();
    let s = view.seal;
    let back = format!("/console/seals/{}", s.id);
    let page = SealPage {
        l,
        shell: Shell::new(prefs, &back, "seal-title").wide(),
        csrf,
        id: s.id.to_string(),
        name: &s.name,
        code: &s.code,
        kind: l.t(&format!("seal-kind-{}", s.kind.name())),
        algorithm: algorithm_label(s.algorithm),
        status: l.t(&format!("seal-status-{}", s.status.name())),
        revoked: s.status == SealStatus::Revoked,
        valid_until: when(s.valid_until),
        serial: &s.certificate_serial,
        manages: view.manages,
        has_image: view.has_image,
        image_alt: l.t1("seals-image-alt", "seal", &s.name),
        message: view.message,
        grants,
        candidates,
        statuses,
        usages,
        usage_filters: view.usage_filters,
        export_href: view.export_href,
    };
    render(StatusCode::OK, &page)
}

/// "Really take the seal back from this person?"
pub fn confirm_ungrant(
    prefs: Prefs,
    (csrf, action, back): (&str, &str, &str),
    name: &str,
    seal_name: &str,
) -> Response {
    let l = prefs.lang;
    let page = ConfirmPage {
        l,
        shell: Shell::new(prefs, back, "seals-ungrant-title"),
        question: l.t2("seals-confirm-ungrant", ("name", name), ("seal", seal_name)),
        action,
        csrf,
        hidden: Vec::new(),
        back: back.to_owned(),
    };
    render(StatusCode::OK, &page)
}

/// "Really suspend (resume, revoke) this seal?"
pub fn confirm_seal_status(
    prefs: Prefs,
    (csrf, action, back): (&str, &str, &str),
    seal_name: &str,
    (status, reason): (SealStatus, &str),
) -> Response {
    let l = prefs.lang;
    let question = l.t1(
        &format!("seals-confirm-{}", status.name()),
        "seal",
        seal_name,
    );
    let page = ConfirmPage {
        l,
        shell: Shell::new(prefs, back, "seals-status-title"),
        question,
        action,
        csrf,
        hidden: vec![
            ("status", status.name().to_owned()),
            ("reason", reason.to_owned()),
        ],
        back: back.to_owned(),
    };
    render(StatusCode::OK, &page)
}

/// The sealing form as typed.
#[derive(Clone, Debug)]
pub struct SealPdfForm {
    /// Page number, from 1.
    pub page: String,
    /// The spot's name ([`tongban_seal::pdf::Anchor`]).
    pub anchor: String,
    /// Why (用印事由).
    pub purpose: String,
    /// The signature's /Reason.
    pub reason: String,
    /// Where the seal was put on the preview (with `anchor` = `placed`): its lower-left
    /// corner, PDF points.
    pub x: String,
    /// See `x`.
    pub y: String,
    /// A key made for this rendering of the form: the same form sent twice (a double
    /// click, a resent request) seals once and answers the same document.
    pub once: String,
}

impl Default for SealPdfForm {
    fn default() -> Self {
        Self {
            page: "1".into(),
            anchor: tongban_seal::pdf::Anchor::BottomRight.name().into(),
            purpose: String::new(),
            reason: String::new(),
            x: String::new(),
            y: String::new(),
            once: tongban_core::id::Uuid::new_v4().simple().to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "console_seal_pdf.html")]
struct SealPdfPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    id: String,
    name: &'a str,
    form: &'a SealPdfForm,
    anchors: Vec<Choice>,
    placed: bool,
    has_image: bool,
    pdfjs: (&'static str, &'static str),
    stamp_points: f32,
    /// The preview's "the seal is at …" with `%x` and `%y` for the script to fill.
    at_template: String,
    error: Option<String>,
}

/// The form to seal a PDF: the file, the page, the spot (named, or put on the page's
/// preview that `seal-place.js` draws), the purpose. `has_image`: whether the preview
/// can show the seal's own image.
pub fn seal_pdf_form(
    prefs: Prefs,
    (csrf, seal, has_image): (&str, &Seal, bool),
    (form, stamp_points): (&SealPdfForm, f32),
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let l = prefs.lang;
    let anchors = tongban_seal::pdf::Anchor::ALL
        .into_iter()
        .map(|a| Choice {
            value: a.name().to_owned(),
            label: l.t(&format!("seal-pdf-at-{}", a.name())),
            selected: a.name() == form.anchor,
        })
        .collect();
    let back = format!("/console/seals/{}/pdf", seal.id);
    let page = SealPdfPage {
        l,
        shell: Shell::new(prefs, &back, "seal-pdf-title"),
        csrf,
        id: seal.id.to_string(),
        name: &seal.name,
        form,
        anchors,
        placed: form.anchor == "placed",
        has_image,
        pdfjs: (
            crate::routes::assets::PDFJS,
            crate::routes::assets::PDFJS_WORKER,
        ),
        stamp_points,
        at_template: l.t2("seal-place-at", ("x", "%x"), ("y", "%y")),
        error,
    };
    render(status, &page)
}
