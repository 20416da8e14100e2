//! Who may manage, see and use a department's seals. Every seal operation asks here
//! first, so the rules hold whatever the HTTP surface does.
//!
//! - Managing (create, suspend, resume, revoke, grant): a staff member with the
//!   `seal-admin` or `dept-admin` role in the seal's department (token scope
//!   `seal:manage`), or a platform administrator (scope `admin`).
//! - Seeing seals, grants and the usage log: the same, plus the department's
//!   `seal-user` staff.
//! - Using a seal: a staff member with the `seal-user` role and a live grant of that
//!   seal, or a client system of the same department with a live grant; both with
//!   scope `seal:use`.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_identity::access::Caller;
use tongban_identity::subjects::{self, DepartmentId, Role, SubjectId};
use tongban_store::Conn;

use crate::error::SealError;
use crate::registry::Seal;

/// Scope for managing seals.
pub const MANAGE_SCOPE: &str = "seal:manage";
/// Scope for applying seals.
pub const USE_SCOPE: &str = "seal:use";
/// The assurance level a person's login needs to apply a seal (L3: a passkey, or a
/// password with an authenticator, on a registry-verified identity).
pub const SEALING_LEVEL: u8 = 3;

/// Who acts on seals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A person (staff) through a portal.
    Person {
        /// The person.
        subject: SubjectId,
        /// Through which client.
        client_id: String,
        /// Granted scopes.
        scopes: Vec<String>,
        /// The assurance level of the login.
        acr: Option<String>,
    },
    /// A client system on its own behalf (client_credentials).
    Client {
        /// The client.
        client_id: String,
        /// Granted scopes.
        scopes: Vec<String>,
    },
}

impl Actor {
    /// The actor behind an API caller.
    pub fn of(caller: &Caller) -> Result<Self, SealError> {
        if caller.subject == caller.client_id {
            return Ok(Self::Client {
                client_id: caller.client_id.clone(),
                scopes: caller.scopes.clone(),
            });
        }
        let subject = caller
            .subject
            .parse()
            .map_err(|_| SealError::Denied("the token's subject is not a person".into()))?;
        Ok(Self::Person {
            subject,
            client_id: caller.client_id.clone(),
            scopes: caller.scopes.clone(),
            acr: caller.acr.clone(),
        })
    }

    /// For the usage log and history: `subject:<id>` or `client:<id>`.
    pub fn label(&self) -> String {
        match self {
            Self::Person { subject, .. } => format!("subject:{subject}"),
            Self::Client { client_id, .. } => format!("client:{client_id}"),
        }
    }

    /// The client the request came through.
    pub fn client_id(&self) -> &str {
        match self {
            Self::Person { client_id, .. } | Self::Client { client_id, .. } => client_id,
        }
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        let scopes = match self {
            Self::Person { scopes, .. } | Self::Client { scopes, .. } => scopes,
        };
        scopes.iter().any(|s| s == scope)
    }
}

/// The roles of a person in `department` (none for a client system).
pub async fn roles(
    conn: &mut Conn,
    actor: &Actor,
    department: DepartmentId,
) -> Result<Vec<Role>, SealError> {
    match actor {
        Actor::Person { subject, .. } => Ok(subjects::roles_in(conn, *subject, department).await?),
        Actor::Client { .. } => Ok(Vec::new()),
    }
}

/// Managing the seals of `department`.
pub async fn may_manage(
    conn: &mut Conn,
    actor: &Actor,
    department: DepartmentId,
) -> Result<(), SealError> {
    if actor.has_scope(tongban_identity::access::ADMIN_SCOPE) {
        return Ok(());
    }
    if !actor.has_scope(MANAGE_SCOPE) {
        return Err(SealError::Denied(format!(
            "this needs the scope {MANAGE_SCOPE}"
        )));
    }
    let roles = roles(conn, actor, department).await?;
    if roles.contains(&Role::SealAdmin) || roles.contains(&Role::DeptAdmin) {
        Ok(())
    } else {
        Err(SealError::Denied(
            "only the department's seal or department administrators manage its seals".into(),
        ))
    }
}

/// Seeing the seals of `department`, their grants and usage log.
pub async fn may_view(
    conn: &mut Conn,
    actor: &Actor,
    department: DepartmentId,
) -> Result<(), SealError> {
    if actor.has_scope(tongban_identity::access::ADMIN_SCOPE) {
        return Ok(());
    }
    if !(actor.has_scope(MANAGE_SCOPE) || actor.has_scope(USE_SCOPE)) {
        return Err(SealError::Denied(format!(
            "this needs the scope {MANAGE_SCOPE} or {USE_SCOPE}"
        )));
    }
    if let Actor::Client { client_id, .. } = actor {
        return if client_department(conn, client_id).await? == Some(department) {
            Ok(())
        } else {
            Err(SealError::Denied(
                "the client belongs to another department".into(),
            ))
        };
    }
    let roles = roles(conn, actor, department).await?;
    if [Role::SealUser, Role::SealAdmin, Role::DeptAdmin]
        .iter()
        .any(|r| roles.contains(r))
    {
        Ok(())
    } else {
        Err(SealError::Denied(
            "only the department's seal users and administrators see its seals".into(),
        ))
    }
}

/// The department a client system belongs to, if any.
pub async fn client_department(
    conn: &mut Conn,
    client_id: &str,
) -> Result<Option<DepartmentId>, SealError> {
    let row = sqlx::query("SELECT department_id FROM clients WHERE id = $1")
        .bind(client_id)
        .fetch_optional(conn)
        .await?;
    let department: Option<String> = match row {
        Some(r) => r.try_get(0)?,
        None => None,
    };
    Ok(department.and_then(|d| d.parse().ok()))
}

/// Applying `seal` now, for `purpose`. Checks the scope, the department, the role,
/// the grant (live, and with a purpose if it asks for one) and the seal's state.
pub async fn may_use(
    conn: &mut Conn,
    actor: &Actor,
    seal: &Seal,
    purpose: Option<&str>,
    now: Timestamp,
) -> Result<(), SealError> {
    if !actor.has_scope(USE_SCOPE) {
        return Err(SealError::Denied(format!(
            "this needs the scope {USE_SCOPE}"
        )));
    }
    let (kind, grantee, client) = match actor {
        Actor::Person { subject, acr, .. } => {
            // A seal binds the department: a person applies it only after a
            // phishing-resistant or two-factor login on a verified identity.
            tongban_identity::assurance::require(acr.as_deref(), SEALING_LEVEL)
                .map_err(|e| SealError::Denied(e.to_string()))?;
            let roles = roles(conn, actor, seal.department_id).await?;
            if !roles.contains(&Role::SealUser) {
                return Err(SealError::Denied(
                    "only the department's seal users apply its seals".into(),
                ));
            }
            ("staff", subject.to_string(), None)
        }
        Actor::Client { client_id, .. } => ("client", client_id.clone(), Some(client_id.as_str())),
    };
    // The grant and, for a client system, its department, in one query: sealing asks
    // this twice per document, once while the document arrives and once as it signs.
    let row = sqlx::query(
        "SELECT c.department_id, g.grantee_id AS granted, g.purpose_required, g.expires_at \
         FROM (SELECT 1 AS one) AS one \
         LEFT JOIN clients c ON c.id = $4 \
         LEFT JOIN seal_grants g ON g.seal_id = $1 AND g.grantee_kind = $2 AND g.grantee_id = $3",
    )
    .bind(seal.id.to_string())
    .bind(kind)
    .bind(&grantee)
    .bind(client)
    .fetch_one(&mut *conn)
    .await?;
    if client.is_some() {
        let department: Option<String> = row.try_get("department_id")?;
        if department.and_then(|d| d.parse().ok()) != Some(seal.department_id) {
            return Err(SealError::Denied(
                "the client belongs to another department".into(),
            ));
        }
    }
    let granted: Option<String> = row.try_get("granted")?;
    if granted.is_none() {
        return Err(SealError::Denied(
            "no grant of this seal to the caller".into(),
        ));
    }
    let expires: Option<i64> = row.try_get("expires_at")?;
    if expires.is_some_and(|e| e <= now.unix_millis()) {
        return Err(SealError::Denied(
            "the grant of this seal has expired".into(),
        ));
    }
    let purpose_required: i64 = row.try_get("purpose_required")?;
    if purpose_required != 0 && purpose.is_none_or(|p| p.trim().is_empty()) {
        return Err(SealError::Invalid {
            field: "purpose",
            reason: "this grant requires a purpose".into(),
        });
    }
    usable(seal, now)
}

/// Whether `seal` can sign at all at `now`: active and within its validity.
pub fn usable(seal: &Seal, now: Timestamp) -> Result<(), SealError> {
    match seal.status {
        crate::registry::SealStatus::Active => {}
        crate::registry::SealStatus::Suspended => {
            return Err(SealError::Conflict("the seal is suspended"));
        }
        crate::registry::SealStatus::Revoked => {
            return Err(SealError::Conflict("the seal is revoked"));
        }
    }
    if seal.valid_until <= now {
        return Err(SealError::Conflict("the seal has expired"));
    }
    Ok(())
}
