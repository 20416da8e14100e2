//! The console's pages (`/console`): the desk (sections by role, departments and
//! roles), the audit trail with its filters, and people with their deactivation.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_core::audit::AuditEvent;
use tongban_identity::console::Desk;
use tongban_identity::person_lifecycle::PersonSummary;
use tongban_identity::subjects::{Department, Role};

use super::esign::Message;
use super::layout::{Shell, render, when};
use crate::i18n::Lang;
use crate::prefs::Prefs;

/// A department and the roles held there, for the desk's table.
struct PostRow {
    name: String,
    roles: String,
}

#[derive(Template)]
#[template(path = "console.html")]
struct DeskPage<'a> {
    l: Lang,
    shell: Shell,
    /// None for someone the console turns away.
    name: Option<&'a str>,
    message: Option<Message>,
    step_up: bool,
    audit: bool,
    people: bool,
    counter: bool,
    posts: Vec<PostRow>,
}

/// A role's name in `l`.
fn role_name(l: Lang, role: Role) -> String {
    l.t(&format!("role-{}", role.name()))
}

/// The desk: what the console holds for `desk`.
pub fn desk(prefs: Prefs, desk: &Desk, message: Option<Message>, status: StatusCode) -> Response {
    render(status, &desk_page(prefs, Some(desk), message))
}

/// A refusal (403) with the reason: on the desk, or alone for someone who has none.
pub fn refused(prefs: Prefs, desk: Option<&Desk>, message: Message) -> Response {
    render(
        StatusCode::FORBIDDEN,
        &desk_page(prefs, desk, Some(message)),
    )
}

fn desk_page<'a>(prefs: Prefs, desk: Option<&'a Desk>, message: Option<Message>) -> DeskPage<'a> {
    let l = prefs.lang;
    let posts = desk
        .map(|desk| desk.posts.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|p| PostRow {
            name: p.department.name.clone(),
            roles: p
                .roles
                .iter()
                .map(|r| role_name(l, *r))
                .collect::<Vec<_>>()
                .join(&l.t("list-separator")),
        })
        .collect();
    DeskPage {
        l,
        shell: Shell::new(prefs, "/console", "console-title").wide(),
        name: desk.map(|d| d.name.as_str()),
        message,
        step_up: desk
            .is_some_and(|d| d.platform_admin && d.level < tongban_identity::console::ADMIN_LEVEL),
        audit: desk.is_some_and(|d| d.audit_reader().is_ok()),
        people: desk.is_some_and(|d| d.platform_admin),
        counter: desk.is_some_and(|d| d.has_role(Role::Counter)),
        posts,
    }
}

/// The audit page's filters, as typed (dates as `YYYY-MM-DD`).
#[derive(Clone, Debug, Default)]
pub struct AuditFilters {
    /// Actor.
    pub actor: String,
    /// Action, or a prefix ending in `*`.
    pub action: String,
    /// Target.
    pub target: String,
    /// Department id.
    pub department: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub until: String,
}

struct DepartmentOption {
    id: String,
    name: String,
    selected: bool,
}

struct AuditRow {
    at: String,
    actor: String,
    action: String,
    target: String,
    department: String,
    details: String,
}

#[derive(Template)]
#[template(path = "console_audit.html")]
struct AuditPage<'a> {
    l: Lang,
    shell: Shell,
    filters: &'a AuditFilters,
    message: Option<Message>,
    departments: Vec<DepartmentOption>,
    rows: Vec<AuditRow>,
    export_href: String,
    next_href: Option<String>,
}

/// What the audit page shows.
pub struct AuditView<'a> {
    /// The filters typed.
    pub filters: &'a AuditFilters,
    /// The departments the reader may choose (all, for a platform administrator).
    pub departments: &'a [Department],
    /// The events of this page.
    pub events: &'a [AuditEvent],
    /// The CSV export's address with these filters.
    pub export_href: String,
    /// The next page's address.
    pub next_href: Option<String>,
    /// Why the filters were refused.
    pub message: Option<Message>,
}

/// The audit trail with its filters, newest first.
pub fn audit(prefs: Prefs, view: AuditView<'_>, status: StatusCode) -> Response {
    let names: std::collections::HashMap<String, &str> = view
        .departments
        .iter()
        .map(|d| (d.id.to_string(), d.name.as_str()))
        .collect();
    let departments = view
        .departments
        .iter()
        .map(|d| DepartmentOption {
            id: d.id.to_string(),
            // An option holds text only (no <bdi>): the name is isolated by FSI … PDI.
            name: format!("\u{2068}{}\u{2069}", d.name),
            selected: d.id.to_string() == view.filters.department,
        })
        .collect();
    let rows = view
        .events
        .iter()
        .map(|e| AuditRow {
            at: when(e.occurred_at),
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone().unwrap_or_default(),
            department: e
                .department
                .as_deref()
                .map(|d| {
                    names
                        .get(d)
                        .map_or_else(|| d.to_owned(), |n| (*n).to_owned())
                })
                .unwrap_or_default(),
            details: e.details.clone(),
        })
        .collect();
    let page = AuditPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/console/audit", "audit-title").wide(),
        filters: view.filters,
        message: view.message,
        departments,
        rows,
        export_href: view.export_href,
        next_href: view.next_href,
    };
    render(status, &page)
}

struct PersonRow {
    id: String,
    name: String,
    resident_id: String,
    email: String,
    registered: String,
    active: bool,
    button_label: String,
}

#[derive(Template)]
#[template(path = "console_people.html")]
struct PeoplePage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    q: &'a str,
    message: Option<Message>,
    rows: Vec<PersonRow>,
    next_href: Option<String>,
}

/// People found by `q`, with a button each to deactivate or reactivate them.
pub fn people(
    prefs: Prefs,
    (csrf, q): (&str, &str),
    found: &[PersonSummary],
    next_href: Option<String>,
    message: Option<Message>,
    status: StatusCode,
) -> Response {
    let l = prefs.lang;
    let rows = found
        .iter()
        .map(|p| {
            let active = p.deactivated_at.is_none();
            let verb = if active {
                "people-deactivate-named"
            } else {
                "people-reactivate-named"
            };
            PersonRow {
                id: p.id.to_string(),
                name: p.name.clone(),
                resident_id: p.resident_id_masked.clone(),
                email: p.email.clone().unwrap_or_default(),
                registered: when(p.created_at),
                active,
                button_label: l.t1(verb, "name", &p.name),
            }
        })
        .collect();
    let page = PeoplePage {
        l,
        shell: Shell::new(prefs, "/console/people", "people-title").wide(),
        csrf,
        q,
        message,
        rows,
        next_href,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "console_confirm.html")]
struct ConfirmPage<'a> {
    l: Lang,
    shell: Shell,
    question: String,
    action: &'a str,
    csrf: &'a str,
    q: &'a str,
    back: String,
}

/// "Really deactivate (or reactivate) this person?", posting `action` again with
/// `confirm=yes`.
pub fn confirm_person(
    prefs: Prefs,
    (csrf, q): (&str, &str),
    action: &str,
    name: &str,
    deactivate: bool,
) -> Response {
    let l = prefs.lang;
    let (title, question) = if deactivate {
        (
            "people-confirm-deactivate-title",
            "people-confirm-deactivate",
        )
    } else {
        (
            "people-confirm-reactivate-title",
            "people-confirm-reactivate",
        )
    };
    let back = serde_urlencoded::to_string([("q", q)])
        .map(|query| format!("/console/people?{query}"))
        .unwrap_or_else(|_| "/console/people".to_owned());
    let page = ConfirmPage {
        l,
        shell: Shell::new(prefs, "/console/people", title),
        question: l.t1(question, "name", name),
        action,
        csrf,
        q,
        back,
    };
    render(StatusCode::OK, &page)
}
