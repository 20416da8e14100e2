//! The console's pages (`/console`): the desk (sections by role, departments and
//! roles), the audit trail with its filters, and people with their deactivation.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_core::audit::AuditEvent;
use tongban_identity::console::Desk;
use tongban_identity::person_lifecycle::PersonSummary;
use tongban_identity::subjects::{Department, Role, StaffMember};

use super::esign::Message;
use super::layout::{Shell, render, when};
use crate::i18n::Lang;
use crate::prefs::Prefs;

mod certificates;
mod clients;
mod deliveries;
mod overview;
mod registry;
mod seals;

pub use certificates::*;
pub use clients::*;
pub use deliveries::*;
pub use overview::*;
pub use registry::*;
pub use seals::*;

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
    seals: bool,
    certificates: bool,
    /// The staff pages of the departments they administer: (address, label).
    staff_links: Vec<(String, String)>,
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
        .map(|desk| desk.posts())
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
        name: desk.map(|d| d.name()),
        message,
        step_up: desk.is_some_and(|d| {
            d.is_platform_admin() && d.level() < tongban_identity::console::ADMIN_LEVEL
        }),
        audit: desk.is_some_and(|d| d.audit_reader().is_ok()),
        people: desk.is_some_and(|d| d.is_platform_admin()),
        counter: desk.is_some_and(|d| d.has_role(Role::Counter)),
        seals: desk.is_some_and(|d| !d.seal_posts().is_empty()),
        certificates: desk.is_some_and(|d| !d.certificate_posts().is_empty()),
        staff_links: desk
            .map(|d| d.posts())
            .unwrap_or_default()
            .iter()
            .filter(|p| p.roles.contains(&Role::DeptAdmin))
            .map(|p| {
                (
                    format!("/console/departments/{}", p.department.id),
                    l.t1("console-staff-of", "department", &p.department.name),
                )
            })
            .collect(),
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

/// A department in a chooser.
struct DepartmentOption {
    id: String,
    name: String,
    selected: bool,
}

struct AuditRow {
    at: String,
    actor: String,
    actor_name: Option<String>,
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
    /// The names of their actors, by actor.
    pub actors: &'a std::collections::HashMap<String, String>,
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
            actor_name: view.actors.get(&e.actor).cloned(),
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
    reset_label: String,
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
                reset_label: l.t1("people-reset-named", "name", &p.name),
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
    /// Further hidden fields the form posts again.
    hidden: Vec<(&'static str, String)>,
    back: String,
}

/// "Really deactivate (reactivate, reset the password of) this person?", posting
/// `action` again with `confirm=yes`. `verb` is the action's last step.
pub fn confirm_person(
    prefs: Prefs,
    (csrf, q): (&str, &str),
    action: &str,
    name: &str,
    verb: &str,
) -> Response {
    let l = prefs.lang;
    let title = format!("people-confirm-{verb}-title");
    let question = format!("people-confirm-{verb}");
    let (title, question) = (title.as_str(), question.as_str());
    let back = serde_urlencoded::to_string([("q", q)])
        .map(|query| format!("/console/people?{query}"))
        .unwrap_or_else(|_| "/console/people".to_owned());
    let page = ConfirmPage {
        l,
        shell: Shell::new(prefs, "/console/people", title),
        question: l.t1(question, "name", name),
        action,
        csrf,
        hidden: vec![("q", q.to_owned())],
        back,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "console_password_reset.html")]
struct PasswordResetPage<'a> {
    l: Lang,
    shell: Shell,
    name: &'a str,
    temporary: &'a str,
    back: String,
}

/// A person's new one-time password, shown this once (the page is not stored).
pub fn password_reset(prefs: Prefs, name: &str, temporary: &str, q: &str) -> Response {
    let back = serde_urlencoded::to_string([("q", q)])
        .map(|query| format!("/console/people?{query}"))
        .unwrap_or_else(|_| "/console/people".to_owned());
    let page = PasswordResetPage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/console/people", "people-reset-done-title"),
        name,
        temporary,
        back,
    };
    render(StatusCode::OK, &page)
}

/// "Really take this role away (or end this membership)?", posting `action` again.
pub fn confirm_staff_removal(
    prefs: Prefs,
    (csrf, action, back): (&str, &str, &str),
    name: &str,
    role: Option<Role>,
) -> Response {
    let l = prefs.lang;
    let question = match role {
        Some(role) => l.t2(
            "staff-confirm-role",
            ("name", name),
            ("role", &role_name(l, role)),
        ),
        None => l.t1("staff-confirm-membership", "name", name),
    };
    let page = ConfirmPage {
        l,
        shell: Shell::new(prefs, back, "staff-confirm-title"),
        question,
        action,
        csrf,
        hidden: vec![(
            "role",
            role.map(|r| r.name().to_owned()).unwrap_or_default(),
        )],
        back: back.to_owned(),
    };
    render(StatusCode::OK, &page)
}

/// The new-department form as typed (empty on a fresh page).
#[derive(Clone, Debug, Default)]
pub struct DepartmentForm {
    /// Name.
    pub name: String,
    /// USCC.
    pub uscc: String,
    /// Level name.
    pub level: String,
    /// Parent id.
    pub parent_id: String,
}

struct DepartmentRow {
    id: String,
    name: String,
    depth: usize,
    level: String,
    uscc: String,
    parent: String,
    staff_label: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console_departments.html")]
struct DepartmentsPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    form: &'a DepartmentForm,
    message: Option<Message>,
    rows: Vec<DepartmentRow>,
    levels: Vec<Choice>,
    parents: Vec<Choice>,
}

/// The departments in tree order (each under its parent), with the form for a new one.
pub fn departments(
    prefs: Prefs,
    (csrf, form): (&str, &DepartmentForm),
    all: &[Department],
    message: Option<Message>,
    status: StatusCode,
) -> Response {
    let l = prefs.lang;
    let mut rows = Vec::with_capacity(all.len());
    // Depth-first from the provinces; a department whose parent is missing is shown at
    // the top rather than lost.
    fn walk(
        l: Lang,
        all: &[Department],
        parent: Option<&Department>,
        depth: usize,
        rows: &mut Vec<DepartmentRow>,
    ) {
        for d in all.iter().filter(|d| d.parent_id == parent.map(|p| p.id)) {
            rows.push(DepartmentRow {
                id: d.id.to_string(),
                name: d.name.clone(),
                depth: depth.min(3),
                level: l.t(&format!("level-{}", d.level.name())),
                uscc: d.uscc.as_str().to_owned(),
                parent: parent.map(|p| p.name.clone()).unwrap_or_default(),
                staff_label: l.t1("departments-staff-of", "name", &d.name),
            });
            walk(l, all, Some(d), depth + 1, rows);
        }
    }
    walk(l, all, None, 0, &mut rows);
    for d in all {
        let orphan = d
            .parent_id
            .is_some_and(|p| !all.iter().any(|other| other.id == p));
        if orphan {
            rows.push(DepartmentRow {
                id: d.id.to_string(),
                name: d.name.clone(),
                depth: 0,
                level: l.t(&format!("level-{}", d.level.name())),
                uscc: d.uscc.as_str().to_owned(),
                parent: String::new(),
                staff_label: l.t1("departments-staff-of", "name", &d.name),
            });
        }
    }
    let levels = ["province", "city", "county", "town"]
        .into_iter()
        .map(|level| Choice {
            value: level.to_owned(),
            label: l.t(&format!("level-{level}")),
            selected: form.level == level,
        })
        .collect();
    let parents = all
        .iter()
        .filter(|d| d.level != tongban_identity::subjects::Level::Town)
        .map(|d| Choice {
            value: d.id.to_string(),
            label: format!("\u{2068}{}\u{2069}", d.name),
            selected: form.parent_id == d.id.to_string(),
        })
        .collect();
    let page = DepartmentsPage {
        l,
        shell: Shell::new(prefs, "/console/departments", "departments-title").wide(),
        csrf,
        form,
        message,
        rows,
        levels,
        parents,
    };
    render(status, &page)
}

/// The add-staff form as typed (the ID number is never echoed back).
#[derive(Clone, Debug, Default)]
pub struct StaffForm {
    /// Always empty: an ID number is not written into a page again.
    pub resident_id: String,
    /// The person's name.
    pub name: String,
    /// Staff number.
    pub staff_number: String,
    /// Roles ticked.
    pub roles: Vec<Role>,
}

struct StaffRow {
    subject: String,
    name: String,
    staff_number: String,
    roles: Vec<Choice>,
    remove_label: String,
}

struct RoleBox {
    field: String,
    id: String,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "console_staff.html")]
struct StaffPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    department_id: String,
    department_name: &'a str,
    form: &'a StaffForm,
    message: Option<Message>,
    rows: Vec<StaffRow>,
    boxes: Vec<RoleBox>,
    /// A platform administrator goes back to the departments; a department's own
    /// administrator to the desk.
    platform: bool,
}

/// A department's staff, each with a form that takes a role away or ends the
/// membership, and the form that adds a member.
pub fn staff(
    prefs: Prefs,
    (csrf, form, platform): (&str, &StaffForm, bool),
    department: &Department,
    members: &[StaffMember],
    message: Option<Message>,
    status: StatusCode,
) -> Response {
    let l = prefs.lang;
    let rows = members
        .iter()
        .map(|m| StaffRow {
            subject: m.subject.to_string(),
            name: m.name.clone(),
            staff_number: m.staff_number.clone(),
            roles: m
                .roles
                .iter()
                .map(|r| Choice {
                    value: r.name().to_owned(),
                    label: role_name(l, *r),
                    selected: false,
                })
                .collect(),
            remove_label: l.t1("staff-remove-from", "name", &m.name),
        })
        .collect();
    let boxes = [
        Role::Issuer,
        Role::SealUser,
        Role::SealAdmin,
        Role::DeptAdmin,
        Role::Counter,
    ]
    .into_iter()
    .map(|role| RoleBox {
        field: format!("role_{}", role.name().replace('-', "_")),
        id: format!("role-{}", role.name()),
        label: role_name(l, role),
        checked: form.roles.contains(&role),
    })
    .collect();
    let back = format!("/console/departments/{}", department.id);
    let page = StaffPage {
        l,
        shell: Shell::new(prefs, &back, "staff-title").wide(),
        csrf,
        department_id: department.id.to_string(),
        department_name: &department.name,
        form,
        message,
        rows,
        boxes,
        platform,
    };
    render(status, &page)
}
