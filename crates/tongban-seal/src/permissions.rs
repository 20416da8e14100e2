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
use tongban_identity::caller::Caller;
use tongban_identity::subjects::{self, DepartmentId, Role, SubjectId};
use tongban_store::Conn;

use crate::error::SealError;

/// Scope for managing seals.
pub const MANAGE_SCOPE: &str = "seal:manage";
/// Scope for applying seals.
pub const USE_SCOPE: &str = "seal:use";
/// The client the console's acts are recorded under.
pub const CONSOLE_CLIENT: &str = "console";
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

    /// A person in the provider's own console (a first-party page on their single
    /// sign-on session, `acr` its level): their roles decide, as for a token granted
    /// both seal scopes. The usage log names the client `console`.
    pub fn console(subject: SubjectId, acr: &str) -> Self {
        Self::Person {
            subject,
            client_id: CONSOLE_CLIENT.to_owned(),
            scopes: vec![MANAGE_SCOPE.to_owned(), USE_SCOPE.to_owned()],
            acr: Some(acr.to_owned()),
        }
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
    if actor.has_scope(tongban_identity::caller::ADMIN_SCOPE) {
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
    if actor.has_scope(tongban_identity::caller::ADMIN_SCOPE) {
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
