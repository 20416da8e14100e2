//! The platform administration API (`/api/v1/admin/…`): departments, persons, agents,
//! staff and registry entries here; clients and their logout deliveries in `clients`;
//! finding and deactivating people in `persons`. Callers hold an access token with
//! scope `admin` (client_credentials of an administration client); the domain checks
//! it.

mod clients;
mod persons;

pub use clients::*;
pub use persons::*;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_identity::admin::{self, AdminError};
use tongban_identity::subjects::{
    AgentRole, Department, DepartmentId, Level, NewNaturalPerson, Role, SubjectId,
};
use tongban_store::Conn;
use utoipa::ToSchema;

use crate::auth::Administering;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;

fn invalid(field: &str, reason: &str) -> ApiError {
    ApiError::new(ProblemType::InvalidRequest, format!("{field}: {reason}"))
}

fn parse_id<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| invalid(field, "is not an id of this platform"))
}

/// A department to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDepartmentBody {
    /// Name, e.g. 浙江省市场监督管理局.
    name: String,
    /// Unified social credit code (GB 32100).
    uscc: String,
    /// `province`, `city`, `county` or `town`.
    level: String,
    /// The department one level up; none for a province.
    parent_id: Option<String>,
}

impl NewDepartmentBody {
    fn level(&self) -> Result<Level, ApiError> {
        Level::parse(&self.level)
            .ok_or_else(|| invalid("level", "must be province, city, county or town"))
    }

    fn parent(&self) -> Result<Option<DepartmentId>, ApiError> {
        (self.parent_id.as_deref())
            .map(|p| parse_id::<DepartmentId>("parent_id", p))
            .transpose()
    }
}

/// A department.
#[derive(Serialize, ToSchema)]
pub struct DepartmentBody {
    id: String,
    parent_id: Option<String>,
    level: String,
    name: String,
    uscc: String,
}

impl From<Department> for DepartmentBody {
    fn from(d: Department) -> Self {
        Self {
            id: d.id.to_string(),
            parent_id: d.parent_id.map(|p| p.to_string()),
            level: d.level.name().to_owned(),
            name: d.name,
            uscc: d.uscc.as_str().to_owned(),
        }
    }
}

/// Creates a department under its parent (province → city → county → town).
#[utoipa::path(post, path = "/api/v1/admin/departments", tag = "admin",
    request_body = NewDepartmentBody,
    responses(
        (status = 201, description = "created", body = DepartmentBody),
        (status = 409, description = "the USCC is registered already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid (named in `detail`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn create_department(
    State(state): State<AppState>,
    Administering(admin): Administering,
    ApiJson(body): ApiJson<NewDepartmentBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (level, parent) = (body.level()?, body.parent()?);
    let (name, uscc) = (&body.name, &body.uscc);
    let department = (state.store)
        .transaction(async |tx| {
            admin::create_department(tx, &admin, name, uscc, level, parent).await
        })
        .await?;
    let body = axum::Json(DepartmentBody::from(department));
    Ok((StatusCode::CREATED, body))
}

/// Lists every department, provinces first.
#[utoipa::path(get, path = "/api/v1/admin/departments", tag = "admin",
    responses((status = 200, description = "the departments", body = Vec<DepartmentBody>)),
    security(("bearer" = ["admin"])))]
pub async fn departments(
    State(state): State<AppState>,
    Administering(admin): Administering,
) -> Result<axum::Json<Vec<DepartmentBody>>, ApiError> {
    let mut conn = state.store.conn().await?;
    let list = admin::departments(&mut conn, &admin).await?;
    Ok(axum::Json(list.into_iter().map(Into::into).collect()))
}

/// A natural person to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPersonBody {
    /// Full name.
    name: String,
    /// 18-character resident ID number (GB 11643).
    resident_id: String,
    /// E-mail, also a login identifier.
    email: Option<String>,
    /// Phone number (digits, optional leading `+`), released with scope `phone`.
    phone: Option<String>,
    /// Initial password (checked against the policy); without one the person cannot
    /// log in until an administrator resets it.
    password: Option<String>,
}

/// A legal person to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLegalPersonBody {
    /// Registered name.
    name: String,
    /// Unified social credit code (GB 32100).
    uscc: String,
}

/// The id of a created subject.
#[derive(Serialize, ToSchema)]
pub struct CreatedSubject {
    id: String,
}

/// Registers a natural person (assurance level 1 until matched in the registry).
#[utoipa::path(post, path = "/api/v1/admin/persons", tag = "admin",
    request_body = NewPersonBody,
    responses(
        (status = 201, description = "created", body = CreatedSubject),
        (status = 409, description = "resident_id or email registered already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid (named in `detail`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn create_person(
    State(state): State<AppState>,
    Administering(admin): Administering,
    ApiJson(body): ApiJson<NewPersonBody>,
) -> Result<impl IntoResponse, ApiError> {
    let person = NewNaturalPerson {
        name: &body.name,
        resident_id: &body.resident_id,
        email: body.email.as_deref(),
        phone: body.phone.as_deref(),
    };
    let mut tx = state.store.begin().await?;
    let id = admin::create_person(
        &mut tx,
        &admin,
        &state.passwords,
        &person,
        body.password.as_deref(),
    )
    .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedSubject { id: id.to_string() }),
    ))
}

/// Registers a legal person (company, organisation).
#[utoipa::path(post, path = "/api/v1/admin/legal-persons", tag = "admin",
    request_body = NewLegalPersonBody,
    responses(
        (status = 201, description = "created", body = CreatedSubject),
        (status = 409, description = "the USCC is registered already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid (named in `detail`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn create_legal_person(
    State(state): State<AppState>,
    Administering(admin): Administering,
    ApiJson(body): ApiJson<NewLegalPersonBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mut tx = state.store.begin().await?;
    let id = admin::create_legal_person(&mut tx, &admin, &body.name, &body.uscc).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedSubject { id: id.to_string() }),
    ))
}

/// An agent link to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgentBody {
    /// The natural person who acts.
    agent_id: String,
    /// The legal person they act for.
    legal_person_id: String,
    /// `legal-representative` (法定代表人) or `agent` (经办人).
    role: String,
    /// End of the authorisation, ms since the Unix epoch; open-ended if absent.
    valid_until: Option<i64>,
}

impl NewAgentBody {
    fn role(&self) -> Result<AgentRole, ApiError> {
        AgentRole::parse(&self.role)
            .ok_or_else(|| invalid("role", "must be legal-representative or agent"))
    }
}

/// Authorises a natural person to act for a legal person, from now on.
#[utoipa::path(post, path = "/api/v1/admin/agents", tag = "admin",
    request_body = NewAgentBody,
    responses(
        (status = 204, description = "linked"),
        (status = 422, description = "a field is invalid (named in `detail`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn link_agent(
    State(state): State<AppState>,
    Administering(admin): Administering,
    ApiJson(body): ApiJson<NewAgentBody>,
) -> Result<StatusCode, ApiError> {
    let agent: SubjectId = parse_id("agent_id", &body.agent_id)?;
    let company: SubjectId = parse_id("legal_person_id", &body.legal_person_id)?;
    let (role, until) = (
        body.role()?,
        body.valid_until.map(Timestamp::from_unix_millis),
    );
    let link =
        async |tx: &mut Conn| admin::link_agent(tx, &admin, agent, company, role, until).await;
    state.store.transaction::<_, AdminError>(link).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A staff membership to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffBody {
    /// The natural person.
    subject_id: String,
    /// Their number in the department.
    staff_number: String,
    /// Any of `issuer`, `seal-user`, `seal-admin`, `dept-admin`, `counter`.
    roles: Vec<String>,
}

/// Makes a natural person a staff member of a department, with roles.
#[utoipa::path(post, path = "/api/v1/admin/departments/{id}/staff", tag = "admin",
    params(("id" = String, Path, description = "department id")),
    request_body = NewStaffBody,
    responses(
        (status = 204, description = "added"),
        (status = 404, description = "no such department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the staff number is taken in this department", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid (named in `detail`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn add_staff(
    State(state): State<AppState>,
    Administering(admin): Administering,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewStaffBody>,
) -> Result<StatusCode, ApiError> {
    let department: DepartmentId = parse_id("id", &id)?;
    let subject: SubjectId = parse_id("subject_id", &body.subject_id)?;
    let roles = body
        .roles
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                invalid(
                    "roles",
                    "each must be issuer, seal-user, seal-admin or dept-admin",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut tx = state.store.begin().await?;
    admin::add_staff(
        &mut tx,
        &admin,
        subject,
        department,
        &body.staff_number,
        &roles,
    )
    .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which role to take.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct RemoveStaffQuery {
    /// One role to take (`issuer`, `seal-user`, `seal-admin`, `dept-admin`,
    /// `counter`); without it the membership ends, with all its roles.
    role: Option<String>,
}

/// Takes a role from a staff member, or ends their membership of the department.
#[utoipa::path(delete, path = "/api/v1/admin/departments/{id}/staff/{subject_id}", tag = "admin",
    params(
        ("id" = String, Path, description = "department id"),
        ("subject_id" = String, Path, description = "the staff member"),
        RemoveStaffQuery,
    ),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such staff member (or role) in this department", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an id or the role is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn remove_staff(
    State(state): State<AppState>,
    Administering(admin): Administering,
    Path((id, subject_id)): Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<RemoveStaffQuery>,
) -> Result<StatusCode, ApiError> {
    let department: DepartmentId = parse_id("id", &id)?;
    let subject: SubjectId = parse_id("subject_id", &subject_id)?;
    let role = query
        .role
        .as_deref()
        .map(|r| Role::parse(r).ok_or_else(|| invalid("role", "not a staff role")))
        .transpose()?;
    let remove =
        async |tx: &mut Conn| admin::remove_staff(tx, &admin, subject, department, role).await;
    state.store.transaction::<_, AdminError>(remove).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends an agent's link to a legal person at once; the agent is signed out everywhere.
#[utoipa::path(delete, path = "/api/v1/admin/agents/{legal_person_id}/{agent_id}", tag = "admin",
    params(
        ("legal_person_id" = String, Path, description = "the legal person"),
        ("agent_id" = String, Path, description = "the agent (a natural person)"),
    ),
    responses(
        (status = 204, description = "ended"),
        (status = 404, description = "no link in force between the two", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an id is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn end_agent(
    State(state): State<AppState>,
    Administering(admin): Administering,
    Path((legal_person_id, agent_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let company: SubjectId = parse_id("legal_person_id", &legal_person_id)?;
    let agent: SubjectId = parse_id("agent_id", &agent_id)?;
    let end = async |tx: &mut Conn| admin::end_agent(tx, &admin, agent, company).await;
    state.store.transaction::<_, AdminError>(end).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The one-time password that replaces a forgotten one.
#[derive(Serialize, ToSchema)]
pub struct PasswordReset {
    /// Shown this once; hand it over through a trusted channel. It works for 24
    /// hours, and only to choose a new password: signing in with it opens the new
    /// password form, not a session.
    temporary_password: String,
}

/// Resets a natural person's password to a random one-time password and ends all
/// their sessions and refresh tokens; their passkeys and authenticator are removed.
#[utoipa::path(post, path = "/api/v1/admin/persons/{id}/password-reset", tag = "admin",
    params(("id" = String, Path, description = "subject id of a natural person")),
    responses(
        (status = 200, description = "the temporary password", body = PasswordReset),
        (status = 404, description = "no such person", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn reset_password(
    State(state): State<AppState>,
    Administering(admin): Administering,
    Path(id): Path<String>,
) -> Result<axum::Json<PasswordReset>, ApiError> {
    let subject: SubjectId = parse_id("id", &id)?;
    let mut tx = state.store.begin().await?;
    let temporary = admin::reset_password(&mut tx, &admin, &state.passwords, subject).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(axum::Json(PasswordReset {
        temporary_password: temporary,
    }))
}

/// One development registry entry.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryEntryBody {
    name: String,
    resident_id: String,
}

/// Registry entries to add or replace.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryImportBody {
    entries: Vec<RegistryEntryBody>,
}

/// How many entries were written.
#[derive(Serialize, ToSchema)]
pub struct RegistryImported {
    imported: usize,
}

/// Adds or replaces entries of the development identity registry, all or nothing.
#[utoipa::path(post, path = "/api/v1/admin/registry", tag = "admin",
    request_body = RegistryImportBody,
    responses(
        (status = 200, description = "written", body = RegistryImported),
        (status = 422, description = "an entry is invalid (its index is in `detail`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn import_registry(
    State(state): State<AppState>,
    Administering(admin): Administering,
    ApiJson(body): ApiJson<RegistryImportBody>,
) -> Result<axum::Json<RegistryImported>, ApiError> {
    let entries: Vec<(&str, &str)> = (body.entries.iter())
        .map(|e| (e.name.as_str(), e.resident_id.as_str()))
        .collect();
    let imported = (state.store)
        .transaction(async |tx| admin::import_registry(tx, &admin, &entries).await)
        .await?;
    Ok(axum::Json(RegistryImported { imported }))
}
