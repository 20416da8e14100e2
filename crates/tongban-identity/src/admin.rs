//! Platform administration: departments, persons, agents, staff, clients, registry
//! entries and password resets. Every operation takes the [`Admin`] proof and writes
//! its audit record in the caller's transaction, so a change never lands without it.

use serde_json::json;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError, audit};

use crate::caller::Admin;
use crate::clients::{self, Client, ClientError, NewClient};
use crate::console::StaffManager;
use crate::identity_registry::{self, ImportError};
use crate::password::{PasswordHashError, Passwords};
use crate::secrets::{RngError, random_token};
use crate::sso;
use crate::subjects::{
    self, AgentRole, Department, DepartmentId, Level, NewNaturalPerson, Role, SubjectError,
    SubjectId,
};

/// Why an administrative operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A subject rule.
    #[error(transparent)]
    Subject(#[from] SubjectError),
    /// A client rule.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A registry entry is invalid.
    #[error(transparent)]
    Registry(#[from] ImportError),
    /// Hashing a password failed.
    #[error(transparent)]
    Hash(#[from] PasswordHashError),
    /// The random number generator failed.
    #[error(transparent)]
    Rng(#[from] RngError),
    /// A department administrator manages their own department's staff only.
    #[error("a department administrator manages their own department's staff only")]
    OtherDepartment,
    /// Their own administration, membership or password: another administrator must
    /// change it, so that nobody locks themself out by mistake.
    #[error("another administrator must change your own administration, membership or password")]
    OwnAccount,
    /// A role a department administrator cannot give: the counter's reaches every
    /// citizen, not one department's matters.
    #[error("only a platform administrator gives the {0} role")]
    RoleNotTheirs(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sso::SsoError> for AdminError {
    fn from(error: sso::SsoError) -> Self {
        match error {
            sso::SsoError::Store(store) => Self::Store(store),
            sso::SsoError::Rng(rng) => Self::Rng(rng),
            other => Self::Store(StoreError::Corrupt(other.to_string())),
        }
    }
}

pub(crate) async fn record(
    conn: &mut Conn,
    admin: &Admin,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    record_in(conn, admin, action, target, None, details).await
}

/// [`record`] for a matter of `department` (its staff, its clients), so that
/// department's administrators read it in their audit trail.
pub(crate) async fn record_in(
    conn: &mut Conn,
    admin: &Admin,
    action: &str,
    target: &str,
    department: Option<DepartmentId>,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    let mut event = AuditEvent::new(
        admin.actor(),
        action,
        Some(target),
        admin.request_id(),
        details,
    );
    event.department = department.map(|d| d.to_string());
    audit::record(conn, &event).await
}

/// Creates a department (see [`subjects::create_department`] for the hierarchy rule).
pub async fn create_department(
    conn: &mut Conn,
    admin: &Admin,
    name: &str,
    uscc: &str,
    level: Level,
    parent: Option<DepartmentId>,
) -> Result<Department, AdminError> {
    let department =
        subjects::create_department(conn, name, uscc, level, parent, Timestamp::now()).await?;
    record_in(
        conn,
        admin,
        "department.created",
        &department.id.to_string(),
        Some(department.id),
        json!({ "level": level.name(), "uscc": department.uscc.as_str() }),
    )
    .await?;
    Ok(department)
}

/// Every department.
pub async fn departments(conn: &mut Conn, _admin: &Admin) -> Result<Vec<Department>, AdminError> {
    Ok(subjects::list_departments(conn).await?)
}

/// Registers a natural person; with `password` (checked against the policy) they can
/// log in at once.
pub async fn create_person(
    conn: &mut Conn,
    admin: &Admin,
    passwords: &Passwords,
    person: &NewNaturalPerson<'_>,
    password: Option<&str>,
) -> Result<SubjectId, AdminError> {
    if let Some(password) = password {
        crate::password::check_policy(password, &[person.resident_id, person.name]).map_err(
            |e| SubjectError::Invalid {
                field: "password",
                reason: e.to_string(),
            },
        )?;
    }
    let id = subjects::create_natural_person(conn, person, Timestamp::now()).await?;
    if let Some(password) = password {
        sso::set_password_hash(conn, id, &passwords.hash(password)?).await?;
    }
    // The resident ID number stays out of the trail: it is personal data.
    record(
        conn,
        admin,
        "person.created",
        &id.to_string(),
        json!({ "password_set": password.is_some() }),
    )
    .await?;
    Ok(id)
}

/// Registers a legal person.
pub async fn create_legal_person(
    conn: &mut Conn,
    admin: &Admin,
    name: &str,
    uscc: &str,
) -> Result<SubjectId, AdminError> {
    let id = subjects::create_legal_person(conn, name, uscc, Timestamp::now()).await?;
    record(
        conn,
        admin,
        "legal_person.created",
        &id.to_string(),
        json!({ "uscc": uscc.trim().to_uppercase() }),
    )
    .await?;
    Ok(id)
}

/// Authorises an agent to act for a legal person.
pub async fn link_agent(
    conn: &mut Conn,
    admin: &Admin,
    agent: SubjectId,
    company: SubjectId,
    role: AgentRole,
    valid_until: Option<Timestamp>,
) -> Result<(), AdminError> {
    let now = Timestamp::now();
    subjects::link_agent(conn, agent, company, role, now, valid_until).await?;
    record(
        conn,
        admin,
        "agent.linked",
        &company.to_string(),
        json!({ "agent": agent.to_string(), "role": role.name(),
                "valid_until": valid_until.map(Timestamp::unix_millis) }),
    )
    .await?;
    Ok(())
}

/// Ends an agent's link to a legal person at once. The agent is signed out everywhere
/// (a session of theirs may act for the company), their refresh tokens revoked.
pub async fn end_agent(
    conn: &mut Conn,
    admin: &Admin,
    agent: SubjectId,
    company: SubjectId,
) -> Result<(), AdminError> {
    let now = Timestamp::now();
    subjects::end_agent(conn, agent, company, now).await?;
    let ended = sso::end_all_sessions(conn, agent, now).await?;
    record(
        conn,
        admin,
        "agent.ended",
        &company.to_string(),
        json!({ "agent": agent.to_string(), "sessions_ended": ended }),
    )
    .await?;
    Ok(())
}

/// Takes a role from a staff member, or (no role) ends their membership of the
/// department.
pub async fn remove_staff(
    conn: &mut Conn,
    admin: &Admin,
    subject: SubjectId,
    department: DepartmentId,
    role: Option<Role>,
) -> Result<(), AdminError> {
    subjects::remove_staff(conn, subject, department, role).await?;
    record_in(
        conn,
        admin,
        "staff.removed",
        &department.to_string(),
        Some(department),
        json!({ "subject": subject.to_string(), "role": role.map(Role::name) }),
    )
    .await?;
    Ok(())
}

/// Makes a natural person a staff member of a department.
pub async fn add_staff(
    conn: &mut Conn,
    admin: &Admin,
    subject: SubjectId,
    department: DepartmentId,
    staff_number: &str,
    roles: &[Role],
) -> Result<(), AdminError> {
    subjects::add_staff(
        conn,
        subject,
        department,
        staff_number,
        roles,
        Timestamp::now(),
    )
    .await?;
    let roles: Vec<&str> = roles.iter().map(|r| r.name()).collect();
    record_in(
        conn,
        admin,
        "staff.added",
        &department.to_string(),
        Some(department),
        json!({ "subject": subject.to_string(), "roles": roles }),
    )
    .await?;
    Ok(())
}

/// The staff of `department`, with their roles.
pub async fn department_staff(
    conn: &mut Conn,
    _admin: &Admin,
    department: DepartmentId,
) -> Result<Vec<subjects::StaffMember>, AdminError> {
    Ok(subjects::staff_of(conn, department).await?)
}

/// `department` and its staff, for one who manages it.
pub async fn managed_staff(
    conn: &mut Conn,
    manager: &StaffManager,
    department: DepartmentId,
) -> Result<(Department, Vec<subjects::StaffMember>), AdminError> {
    let admin = manager.of(department)?;
    let found = subjects::list_departments(conn)
        .await?
        .into_iter()
        .find(|d| d.id == department)
        .ok_or(SubjectError::NotFound("department"))?;
    Ok((found, department_staff(conn, admin, department).await?))
}

/// [`add_staff_named`], by one who manages `department`'s staff.
pub async fn add_managed_staff(
    conn: &mut Conn,
    manager: &StaffManager,
    person: (&str, &str),
    department: DepartmentId,
    (staff_number, roles): (&str, &[Role]),
) -> Result<SubjectId, AdminError> {
    let admin = manager.of(department)?;
    if manager.is_department_admin() && roles.contains(&Role::Counter) {
        return Err(AdminError::RoleNotTheirs(Role::Counter.name()));
    }
    add_staff_named(conn, admin, person, department, staff_number, roles).await
}

/// [`remove_staff`], by one who manages `department`'s staff. A department
/// administrator cannot take away their own administration or membership: another
/// administrator must, so that a department is never left without one by mistake.
pub async fn remove_managed_staff(
    conn: &mut Conn,
    manager: &StaffManager,
    (subject, department): (SubjectId, DepartmentId),
    role: Option<Role>,
) -> Result<(), AdminError> {
    let admin = manager.of(department)?;
    if manager.is_department_self(subject) && matches!(role, None | Some(Role::DeptAdmin)) {
        return Err(AdminError::OwnAccount);
    }
    remove_staff(conn, admin, subject, department, role).await
}

/// Makes the registered person with this resident ID number and name (both must
/// match: a mistyped number never picks someone else) a staff member of `department`.
pub async fn add_staff_named(
    conn: &mut Conn,
    admin: &Admin,
    (resident_id, name): (&str, &str),
    department: DepartmentId,
    staff_number: &str,
    roles: &[Role],
) -> Result<SubjectId, AdminError> {
    let number: crate::resident_id::ResidentId =
        resident_id
            .trim()
            .parse()
            .map_err(|_| SubjectError::Invalid {
                field: "resident_id",
                reason: "not a valid resident ID number".into(),
            })?;
    let person = subjects::find_by_resident_id(conn, &number)
        .await?
        .ok_or(SubjectError::NotFound("person"))?;
    let registered: Option<String> = sqlx::query_scalar("SELECT name FROM subjects WHERE id = $1")
        .bind(person.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::from)?;
    if registered.as_deref() != Some(name.trim()) {
        return Err(SubjectError::NotFound("person").into());
    }
    add_staff(conn, admin, person, department, staff_number, roles).await?;
    Ok(person)
}

/// Registers a client; the secret (if confidential) is returned this once.
pub async fn create_client(
    conn: &mut Conn,
    admin: &Admin,
    new: &NewClient,
) -> Result<(Client, Option<String>), AdminError> {
    let (client, secret) = clients::register(conn, new, Timestamp::now()).await?;
    record_in(
        conn,
        admin,
        "client.created",
        &client.id,
        client.department_id,
        json!({ "scopes": client.scopes, "grant_types": client.grant_types,
                "confidential": client.confidential, "first_party": client.first_party }),
    )
    .await?;
    Ok((client, secret))
}

/// Every client.
pub async fn clients(conn: &mut Conn, _admin: &Admin) -> Result<Vec<Client>, AdminError> {
    Ok(clients::list(conn).await?)
}

/// Back-channel logout deliveries, newest first (`state`: pending, delivered or
/// failed), so that administrators see the relying parties that were not told.
pub async fn logout_deliveries(
    conn: &mut Conn,
    _admin: &Admin,
    state: Option<&str>,
) -> Result<Vec<crate::backchannel::DeliveryRecord>, AdminError> {
    Ok(crate::backchannel::list(conn, state, 500).await?)
}

/// Tries again a back-channel logout delivery that was given up (once the relying
/// party is reachable again): queued now, its attempts counted anew.
pub async fn retry_logout_delivery(
    conn: &mut Conn,
    admin: &Admin,
    id: &str,
) -> Result<(), AdminError> {
    if !crate::backchannel::retry(conn, id, Timestamp::now()).await? {
        return Err(SubjectError::NotFound("given-up logout delivery").into());
    }
    record(conn, admin, "logout.delivery_retried", id, json!({})).await?;
    Ok(())
}

/// Adds or replaces development registry entries `(name, resident_id)`, all or
/// nothing; an error names the entry's 0-based index.
pub async fn import_registry(
    conn: &mut Conn,
    admin: &Admin,
    entries: &[(&str, &str)],
) -> Result<usize, AdminError> {
    let indexed: Vec<(usize, &str, &str)> = entries
        .iter()
        .enumerate()
        .map(|(i, (name, id))| (i, *name, *id))
        .collect();
    let count = identity_registry::import_entries(conn, &indexed, Timestamp::now()).await?;
    record_import(conn, admin, count).await
}

async fn record_import(conn: &mut Conn, admin: &Admin, count: usize) -> Result<usize, AdminError> {
    record(
        conn,
        admin,
        "registry.imported",
        "registry",
        json!({ "entries": count }),
    )
    .await?;
    Ok(count)
}

/// How long a file read for its preview waits for its import.
const REGISTRY_UPLOAD_MS: i64 = 60 * 60 * 1000;

/// What importing the `name,resident_id` lines of `csv` would do, line by line, for an
/// administrator to look at before importing; the file is kept for them to import by
/// the id returned (for an hour), so that no page carries its unmasked numbers.
pub async fn preview_registry_csv(
    conn: &mut Conn,
    admin: &Admin,
    csv: &str,
) -> Result<(String, Vec<identity_registry::PreviewLine>), AdminError> {
    let lines = identity_registry::preview_csv(conn, csv).await?;
    let now = Timestamp::now().unix_millis();
    sqlx::query("DELETE FROM registry_uploads WHERE created_at < $1")
        .bind(now - REGISTRY_UPLOAD_MS)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from)?;
    let id = random_token(16)?;
    sqlx::query(
        "INSERT INTO registry_uploads (id, read_by, csv, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(admin.actor())
    .bind(csv)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from)?;
    Ok((id, lines))
}

/// Imports the file that [`preview_registry_csv`] kept as `upload`, read by this
/// administrator within the hour, all or nothing (an error names the line); records
/// how many. The kept file is gone afterwards.
pub async fn import_registry_upload(
    conn: &mut Conn,
    admin: &Admin,
    upload: &str,
) -> Result<usize, AdminError> {
    let since = Timestamp::now().unix_millis() - REGISTRY_UPLOAD_MS;
    let csv: String = sqlx::query_scalar(
        "DELETE FROM registry_uploads WHERE id = $1 AND read_by = $2 AND created_at >= $3 \
         RETURNING csv",
    )
    .bind(upload)
    .bind(admin.actor())
    .bind(since)
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::from)?
    .ok_or(SubjectError::NotFound("registry file"))?;
    let count = identity_registry::import_csv(conn, &csv, Timestamp::now()).await?;
    record_import(conn, admin, count).await
}

/// How long an administrator's one-time password works: a day, as a counter's printed
/// code, to be handed over or read out and used.
pub const TEMPORARY_PASSWORD_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// Replaces a natural person's password with a random one-time password (returned to
/// be handed over in person) and ends their sessions and refresh tokens, since whoever
/// asked for the reset may have lost control of the account. The one-time password
/// opens no session: signing in with it, within [`TEMPORARY_PASSWORD_LIFETIME_MS`], the
/// person chooses their own, so that no administrator knows the password they use.
pub async fn reset_password(
    conn: &mut Conn,
    admin: &Admin,
    passwords: &Passwords,
    subject: SubjectId,
) -> Result<String, AdminError> {
    let exists = subjects::profile_of(conn, &subject.to_string())
        .await?
        .is_some_and(|p| p.resident_id.is_some());
    if !exists {
        return Err(SubjectError::NotFound("person").into());
    }
    // It would end the administrator's own passkeys and level-3 sign-in.
    if admin.actor() == format!("subject:{subject}") {
        return Err(AdminError::OwnAccount);
    }
    // Read out or handed over on paper, then typed: 80 bits in four groups of four
    // characters that cannot be mistaken for one another.
    let temporary = crate::secrets::readable_token(4)?;
    let until = Timestamp::from_unix_millis(
        Timestamp::now().unix_millis() + TEMPORARY_PASSWORD_LIFETIME_MS,
    );
    let hash = passwords.hash(&temporary)?;
    sso::set_temporary_password_hash(conn, subject, &hash, until).await?;
    let ended = sso::end_all_sessions(conn, subject, Timestamp::now()).await?;
    // Recovery starts over: strong credentials too may be the other holder's.
    let passkeys = crate::passkeys::remove_all(conn, subject)
        .await
        .map_err(|e| match e {
            crate::passkeys::PasskeyError::Store(store) => AdminError::from(store),
            other => AdminError::from(StoreError::Corrupt(other.to_string())),
        })?;
    let authenticator = crate::totp::remove(conn, subject).await?;
    crate::counter::cancel(conn, subject, Timestamp::now()).await?;
    record(
        conn,
        admin,
        "person.password_reset",
        &subject.to_string(),
        json!({ "sessions_ended": ended, "passkeys_removed": passkeys, "authenticator_removed": authenticator }),
    )
    .await?;
    Ok(temporary)
}
