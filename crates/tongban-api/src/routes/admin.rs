//! The platform administration API (`/api/v1/admin/…`): departments, persons, agents,
//! staff, clients and registry entries. Callers hold an access token with scope
//! `admin` (client_credentials of an administration client); the domain checks it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_identity::admin::{self, AdminError};
use tongban_identity::clients::{Client, NewClient};
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

/// The one-time password that replaces a forgotten one.
#[derive(Serialize, ToSchema)]
pub struct PasswordReset {
    /// Shown this once; hand it over through a trusted channel.
    temporary_password: String,
}

/// Resets a natural person's password to a random one-time password and ends all
/// their sessions and refresh tokens.
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

/// A client to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientBody {
    /// Shown on consent pages.
    name: String,
    /// Confidential clients get a secret; public ones (browser, native) do not.
    confidential: bool,
    /// Exact redirect URIs (https, or http on loopback).
    #[serde(default)]
    redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// Scopes it may request.
    scopes: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    grant_types: Vec<String>,
    /// First-party portals skip the consent page.
    #[serde(default)]
    first_party: bool,
    /// The department a department system acts for.
    department_id: Option<String>,
    /// A public JWK Set (ES256 or EdDSA keys): the client authenticates with
    /// private_key_jwt and gets no secret.
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// Where logout tokens are posted (OIDC Back-Channel Logout 1.0).
    backchannel_logout_uri: Option<String>,
    /// Authorization requests only through PAR (RFC 9126).
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    /// The lowest assurance level of its logins, 1 to 3.
    #[serde(default)]
    min_level: u8,
    /// The sector of a third-party client's pairwise subject identifiers; by default
    /// the host of its redirect URIs.
    sector_identifier: Option<String>,
    /// Take logins of a relative acting for a person (亲友代办): the client reads the
    /// ID token's `act` claim (RFC 8693) and shows who is really at the keyboard.
    /// Without it, only people themselves sign in here.
    #[serde(default)]
    accepts_delegation: bool,
}

/// A registered client.
#[derive(Serialize, ToSchema)]
pub struct ClientBody {
    client_id: String,
    /// Present only in the answer to its creation: it is stored as SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    name: String,
    confidential: bool,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    scopes: Vec<String>,
    grant_types: Vec<String>,
    first_party: bool,
    department_id: Option<String>,
    /// Its public keys, if it authenticates with private_key_jwt.
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    backchannel_logout_uri: Option<String>,
    require_pushed_authorization_requests: bool,
    min_level: u8,
    accepts_delegation: bool,
    /// `pairwise` for third-party clients, `public` for first-party ones.
    subject_type: &'static str,
}

impl ClientBody {
    fn new(client: Client, secret: Option<String>) -> Self {
        Self {
            client_id: client.id,
            client_secret: secret,
            name: client.name,
            confidential: client.confidential,
            redirect_uris: client.redirect_uris,
            post_logout_redirect_uris: client.post_logout_redirect_uris,
            scopes: client.scopes,
            grant_types: client.grant_types,
            first_party: client.first_party,
            department_id: client.department_id.map(|d| d.to_string()),
            jwks: client.jwks.and_then(|k| serde_json::to_value(k).ok()),
            backchannel_logout_uri: client.backchannel_logout_uri,
            require_pushed_authorization_requests: client.require_par,
            min_level: client.min_level,
            accepts_delegation: client.accepts_delegation,
            subject_type: if client.sector.is_some() {
                "pairwise"
            } else {
                "public"
            },
        }
    }
}

/// Registers a client (portal or department system). The secret is in this answer
/// only.
#[utoipa::path(post, path = "/api/v1/admin/clients", tag = "admin",
    request_body = NewClientBody,
    responses(
        (status = 201, description = "created, with its secret if confidential", body = ClientBody),
        (status = 422, description = "a field is invalid (named in `detail`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn create_client(
    State(state): State<AppState>,
    Administering(admin): Administering,
    ApiJson(body): ApiJson<NewClientBody>,
) -> Result<impl IntoResponse, ApiError> {
    let department_id = body
        .department_id
        .as_deref()
        .map(|d| parse_id::<DepartmentId>("department_id", d))
        .transpose()?;
    let jwks = body
        .jwks
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| invalid("jwks", &format!("not a JWK Set: {e}")))?;
    let new = NewClient {
        jwks,
        name: body.name,
        confidential: body.confidential,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        scopes: body.scopes,
        grant_types: body.grant_types,
        first_party: body.first_party,
        department_id,
        backchannel_logout_uri: body.backchannel_logout_uri,
        require_par: body.require_pushed_authorization_requests,
        min_level: body.min_level,
        sector_identifier: body.sector_identifier,
        accepts_delegation: body.accepts_delegation,
    };
    let mut tx = state.store.begin().await?;
    let (client, secret) = admin::create_client(&mut tx, &admin, &new).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ClientBody::new(client, secret)),
    ))
}

/// Lists every client (never their secrets).
#[utoipa::path(get, path = "/api/v1/admin/clients", tag = "admin",
    responses((status = 200, description = "the clients", body = Vec<ClientBody>)),
    security(("bearer" = ["admin"])))]
pub async fn clients(
    State(state): State<AppState>,
    Administering(admin): Administering,
) -> Result<axum::Json<Vec<ClientBody>>, ApiError> {
    let mut conn = state.store.conn().await?;
    let list = admin::clients(&mut conn, &admin).await?;
    Ok(axum::Json(
        list.into_iter().map(|c| ClientBody::new(c, None)).collect(),
    ))
}

/// Which logout deliveries to list.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed`; all when absent.
    state: Option<String>,
}

/// A back-channel logout delivery.
#[derive(Serialize, ToSchema)]
pub struct DeliveryBody {
    id: String,
    client_id: String,
    session_id: String,
    /// `pending`, `delivered` or `failed` (given up after the last retry).
    state: &'static str,
    attempts: i64,
    /// Queued, ms since the epoch.
    created_at: i64,
    /// The next attempt of a pending delivery, ms since the epoch.
    next_attempt_at: Option<i64>,
    /// Why the last attempt failed.
    last_error: Option<String>,
}

/// Back-channel logout deliveries, newest first (at most 500): which relying parties
/// were told of a logout, which are still being retried, which were given up.
#[utoipa::path(get, path = "/api/v1/admin/logout-deliveries", tag = "admin",
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "the deliveries", body = Vec<DeliveryBody>),
        (status = 422, description = "an unknown state", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn logout_deliveries(
    State(state): State<AppState>,
    Administering(admin): Administering,
    axum::extract::Query(query): axum::extract::Query<DeliveriesQuery>,
) -> Result<axum::Json<Vec<DeliveryBody>>, ApiError> {
    if let Some(s) = query.state.as_deref()
        && !matches!(s, "pending" | "delivered" | "failed")
    {
        return Err(invalid("state", "must be pending, delivered or failed"));
    }
    let mut conn = state.store.conn().await?;
    let list = admin::logout_deliveries(&mut conn, &admin, query.state.as_deref()).await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|d| DeliveryBody {
                id: d.id,
                client_id: d.client_id,
                session_id: d.session_id,
                state: d.state,
                attempts: d.attempts,
                created_at: d.created_at,
                next_attempt_at: d.next_attempt_at,
                last_error: d.last_error,
            })
            .collect(),
    ))
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
