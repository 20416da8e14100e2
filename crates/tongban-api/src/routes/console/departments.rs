//! Departments and their staff in the console: for platform administrators signed in
//! at level 3, the departments by level under their parents and a new one; for them
//! and for a department's own administrators (also at level 3), its staff (added by
//! ID number and name, roles taken away or the membership ended after a
//! confirmation).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tongban_identity::admin::{self, AdminError};
use tongban_identity::caller::Admin;
use tongban_identity::console::{Desk, StaffManager};
use tongban_identity::sso;
use tongban_identity::subjects::{DepartmentId, Level, Role, SubjectError, SubjectId};
use tongban_store::PooledConn;

use super::{administering, administering_form, form_desk, open_desk, refused, refused_as};
use crate::extract::PageQuery;
use crate::prefs::Prefs;
use crate::request_scope;
use crate::routes::session_form::{CsrfProtected, SessionForm};
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::console::{self as view, DepartmentForm, StaffForm};
use crate::views::esign::Message;

/// What the last form did, shown once after its redirect.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

fn done_message(done: &str) -> Option<Message> {
    match done {
        "created" => Some(Message::news("departments-done-created")),
        "added" => Some(Message::news("staff-done-added")),
        "removed" => Some(Message::news("staff-done-removed")),
        _ => None,
    }
}

async fn departments_view(
    conn: &mut PooledConn,
    admin: &Admin,
    prefs: Prefs,
    (csrf, form): (&str, &DepartmentForm),
    message: Option<Message>,
    status: StatusCode,
) -> Response {
    match admin::departments(conn, admin).await {
        Ok(all) => web::no_store(view::departments(
            prefs,
            (csrf, form),
            &all,
            message,
            status,
        )),
        Err(error) => store_page(error),
    }
}

/// The departments, each under its parent, and the form for a new one.
#[utoipa::path(get, path = "/console/departments", tag = "console",
    responses(
        (status = 200, description = "the departments", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not a platform administrator at level 3", content_type = "text/html"),
    ))]
pub async fn departments_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<DoneQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, cookie, _, admin) = match administering(&state, &headers, prefs).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let csrf = sso::session_csrf(&cookie);
    let message = done_message(&query.done);
    let form = DepartmentForm::default();
    departments_view(
        &mut conn,
        &admin,
        prefs,
        (&csrf, &form),
        message,
        StatusCode::OK,
    )
    .await
}

/// A new department, as posted.
#[derive(Deserialize)]
pub struct NewDepartmentForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    uscc: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    parent_id: String,
}

impl CsrfProtected for NewDepartmentForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Why a department or staff form was refused, for the person who typed it.
fn form_message(error: &AdminError) -> Option<&'static str> {
    match error {
        AdminError::Subject(SubjectError::Invalid { field, .. }) => Some(match *field {
            "name" => "departments-invalid-name",
            "uscc" => "departments-invalid-uscc",
            "parent_id" => "departments-invalid-parent",
            "resident_id" => "staff-unknown-person",
            "staff_number" => "staff-invalid-number",
            _ => "staff-invalid",
        }),
        AdminError::Subject(SubjectError::Taken { field }) => Some(match *field {
            "uscc" => "departments-uscc-taken",
            _ => "staff-number-taken",
        }),
        AdminError::Subject(SubjectError::NotFound(what)) => Some(match *what {
            "parent department" => "departments-invalid-parent",
            "person" => "staff-unknown-person",
            "staff role" | "staff member" => "staff-not-member",
            _ => "departments-unknown",
        }),
        _ => None,
    }
}

/// Creates a department (under the parent one level up; none for a province).
#[utoipa::path(post, path = "/console/departments", tag = "console",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, name, uscc, level, parent_id"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed, a path that is no id): an error page", content_type = "text/html"),
        (status = 303, description = "created: back to the departments"),
        (status = 403, description = "not a platform administrator at level 3, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 422, description = "a field is invalid: the form again, with the reason", content_type = "text/html"),
    ))]
pub async fn console_create_department(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<NewDepartmentForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, _, admin) = match administering_form(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let typed = DepartmentForm {
        name: form.name.clone(),
        uscc: form.uscc.clone(),
        level: form.level.clone(),
        parent_id: form.parent_id.clone(),
    };
    let level = Level::parse(form.level.trim());
    let parent = match form.parent_id.trim() {
        "" => Ok(None),
        id => id.parse::<DepartmentId>().map(Some),
    };
    let result = match (level, parent) {
        (Some(level), Ok(parent)) => {
            let (name, uscc) = (form.name.as_str(), form.uscc.trim());
            let created = state
                .store
                .transaction::<_, AdminError>(async |tx| {
                    admin::create_department(tx, &admin, name, uscc, level, parent).await
                })
                .await;
            created.map(|_| ())
        }
        _ => Err(AdminError::Subject(SubjectError::NotFound(
            "parent department",
        ))),
    };
    let csrf = sso::session_csrf(&cookie);
    match result {
        Ok(()) => web::see_other("/console/departments?done=created"),
        Err(error) => match form_message(&error) {
            Some(id) => {
                let message = Some(Message::error(id));
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                departments_view(&mut conn, &admin, prefs, (&csrf, &typed), message, status).await
            }
            None => store_page(error),
        },
    }
}

/// The page for a refused staff act.
fn staff_refusal(prefs: Prefs, desk: &Desk, error: AdminError) -> Response {
    match error {
        AdminError::Subject(SubjectError::NotFound("department")) => refused_as(
            prefs,
            Some(desk),
            "departments-unknown",
            StatusCode::NOT_FOUND,
        ),
        AdminError::Subject(SubjectError::NotFound(_)) => {
            refused_as(prefs, Some(desk), "staff-not-member", StatusCode::NOT_FOUND)
        }
        AdminError::OwnAccount => refused_as(
            prefs,
            Some(desk),
            "staff-not-yourself",
            StatusCode::FORBIDDEN,
        ),
        AdminError::RoleNotTheirs(_) => refused_as(
            prefs,
            Some(desk),
            "staff-role-not-yours",
            StatusCode::FORBIDDEN,
        ),
        AdminError::OtherDepartment => refused_as(
            prefs,
            Some(desk),
            "console-not-allowed",
            StatusCode::FORBIDDEN,
        ),
        other => store_page(other),
    }
}

async fn staff_view(
    conn: &mut PooledConn,
    (desk, manager): (&Desk, &StaffManager),
    prefs: Prefs,
    (csrf, department, form): (&str, DepartmentId, &StaffForm),
    message: Option<Message>,
    status: StatusCode,
) -> Response {
    match admin::managed_staff(conn, manager, department).await {
        Ok((found, staff)) => web::no_store(view::staff(
            prefs,
            (csrf, form, desk.is_platform_admin()),
            &found,
            &staff,
            message,
            status,
        )),
        Err(error) => staff_refusal(prefs, desk, error),
    }
}

/// A department's staff and their roles, with the form that adds a member.
#[utoipa::path(get, path = "/console/departments/{id}", tag = "console",
    params(("id" = String, Path, description = "the department's id")),
    responses(
        (status = 200, description = "the staff", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "neither a platform administrator nor the department's administrator, at level 3", content_type = "text/html"),
        (status = 404, description = "no such department", content_type = "text/html"),
    ))]
pub async fn staff_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageQuery(query): PageQuery<DoneQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, _, cookie, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let Ok(department) = id.parse::<DepartmentId>() else {
        return refused_as(prefs, None, "departments-unknown", StatusCode::NOT_FOUND);
    };
    let manager = match desk.staff_manager(department, request_scope::request_id()) {
        Ok(manager) => manager,
        Err(error) => return refused(prefs, Some(&desk), &error),
    };
    let csrf = sso::session_csrf(&cookie);
    let message = done_message(&query.done);
    let form = StaffForm::default();
    staff_view(
        &mut conn,
        (&desk, &manager),
        prefs,
        (&csrf, department, &form),
        message,
        StatusCode::OK,
    )
    .await
}

/// A new staff member, as posted: the person's ID number and name, a staff number,
/// and the roles ticked.
#[derive(Deserialize)]
pub struct NewStaffForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    resident_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    staff_number: String,
    #[serde(default)]
    role_issuer: String,
    #[serde(default)]
    role_seal_user: String,
    #[serde(default)]
    role_seal_admin: String,
    #[serde(default)]
    role_dept_admin: String,
    #[serde(default)]
    role_counter: String,
}

impl CsrfProtected for NewStaffForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl NewStaffForm {
    fn roles(&self) -> Vec<Role> {
        [
            (&self.role_issuer, Role::Issuer),
            (&self.role_seal_user, Role::SealUser),
            (&self.role_seal_admin, Role::SealAdmin),
            (&self.role_dept_admin, Role::DeptAdmin),
            (&self.role_counter, Role::Counter),
        ]
        .into_iter()
        .filter(|(ticked, _)| ticked.as_str() == "yes")
        .map(|(_, role)| role)
        .collect()
    }
}

/// Adds a registered person to the department's staff with the roles ticked.
#[utoipa::path(post, path = "/console/departments/{id}/staff", tag = "console",
    params(("id" = String, Path, description = "the department's id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, resident_id, name, staff_number, role_issuer|role_seal_user|role_seal_admin|role_dept_admin|role_counter=yes"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed, a path that is no id): an error page", content_type = "text/html"),
        (status = 303, description = "added: back to the staff"),
        (status = 403, description = "neither a platform administrator nor the department's administrator, at level 3, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such department", content_type = "text/html"),
        (status = 422, description = "no such person, or a field is invalid: the form again, with the reason", content_type = "text/html"),
    ))]
pub async fn console_add_staff(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<NewStaffForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, desk) = match form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Ok(department) = id.parse::<DepartmentId>() else {
        return refused_as(prefs, None, "departments-unknown", StatusCode::NOT_FOUND);
    };
    let manager = match desk.staff_manager(department, request_scope::request_id()) {
        Ok(manager) => manager,
        Err(error) => return refused(prefs, Some(&desk), &error),
    };
    let roles = form.roles();
    let person = (form.resident_id.as_str(), form.name.as_str());
    let number = form.staff_number.as_str();
    let added = state
        .store
        .transaction::<_, AdminError>(async |tx| {
            admin::add_managed_staff(tx, &manager, person, department, (number, &roles)).await
        })
        .await;
    let csrf = sso::session_csrf(&cookie);
    match added {
        Ok(_) => web::see_other(&format!("/console/departments/{department}?done=added")),
        Err(AdminError::Subject(SubjectError::NotFound("department"))) => {
            refused_as(prefs, None, "departments-unknown", StatusCode::NOT_FOUND)
        }
        Err(
            error @ (AdminError::OtherDepartment
            | AdminError::OwnAccount
            | AdminError::RoleNotTheirs(_)),
        ) => staff_refusal(prefs, &desk, error),
        Err(error) => match form_message(&error) {
            Some(id) => {
                let typed = StaffForm {
                    resident_id: String::new(),
                    name: form.name.clone(),
                    staff_number: form.staff_number.clone(),
                    roles,
                };
                let message = Some(Message::error(id));
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                staff_view(
                    &mut conn,
                    (&desk, &manager),
                    prefs,
                    (&csrf, department, &typed),
                    message,
                    status,
                )
                .await
            }
            None => store_page(error),
        },
    }
}

/// Taking a role away, or (`role` empty) ending the membership; asked first.
#[derive(Deserialize)]
pub struct RemoveStaffForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    confirm: String,
}

impl CsrfProtected for RemoveStaffForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Takes a role from a staff member, or ends their membership (after a confirmation
/// page). Their next request finds them without it.
#[utoipa::path(post, path = "/console/departments/{id}/staff/{subject_id}/remove", tag = "console",
    params(
        ("id" = String, Path, description = "the department's id"),
        ("subject_id" = String, Path, description = "the staff member's subject id"),
    ),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, role (empty: the whole membership), confirm=yes"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed, a path that is no id): an error page", content_type = "text/html"),
        (status = 200, description = "the confirmation page (without confirm=yes)", content_type = "text/html"),
        (status = 303, description = "done: back to the staff"),
        (status = 403, description = "neither a platform administrator nor the department's administrator, at level 3; their own administration; or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such department or member", content_type = "text/html"),
    ))]
pub async fn console_remove_staff(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, subject_id)): Path<(String, String)>,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<RemoveStaffForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, desk) = match form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let not_found = |id| refused_as(prefs, Some(&desk), id, StatusCode::NOT_FOUND);
    let (Ok(department), Ok(subject)) =
        (id.parse::<DepartmentId>(), subject_id.parse::<SubjectId>())
    else {
        return not_found("staff-not-member");
    };
    let manager = match desk.staff_manager(department, request_scope::request_id()) {
        Ok(manager) => manager,
        Err(error) => return refused(prefs, Some(&desk), &error),
    };
    let role = match form.role.as_str() {
        "" => None,
        name => match Role::parse(name) {
            Some(role) => Some(role),
            None => return not_found("staff-not-member"),
        },
    };
    if form.confirm != "yes" {
        let staff = match admin::managed_staff(&mut conn, &manager, department).await {
            Ok((_, staff)) => staff,
            Err(error) => return staff_refusal(prefs, &desk, error),
        };
        let Some(member) = staff.iter().find(|m| m.subject == subject) else {
            return not_found("staff-not-member");
        };
        let csrf = sso::session_csrf(&cookie);
        let action = format!("/console/departments/{department}/staff/{subject}/remove");
        let back = format!("/console/departments/{department}");
        let page = view::confirm_staff_removal(prefs, (&csrf, &action, &back), &member.name, role);
        return web::no_store(page);
    }
    drop(conn);
    let removed = state
        .store
        .transaction::<_, AdminError>(async |tx| {
            admin::remove_managed_staff(tx, &manager, (subject, department), role).await
        })
        .await;
    match removed {
        Ok(()) => web::see_other(&format!("/console/departments/{department}?done=removed")),
        Err(error) => staff_refusal(prefs, &desk, error),
    }
}
