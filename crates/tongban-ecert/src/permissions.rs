//! Who may define certificate types, issue and change certificates, and look them up.
//! Every e-certificate operation asks here first.
//!
//! - Defining a type (catalogue): a department administrator of the defining
//!   department (scope `ecert:manage`), or a platform administrator.
//! - Issuing, and revoking, suspending, resuming or re-issuing: a staff member with the
//!   `issuer` role in the issuing department on a level-3 login, or a client system of
//!   that department; both with scope `ecert:issue`.
//! - Department lookup: a staff member or client system of any department, with scope
//!   `ecert:lookup`, stating a purpose.

use tongban_identity::subjects::{DepartmentId, Role};
use tongban_seal::permissions::{self as seal_access, Actor};
use tongban_store::Conn;

use crate::error::EcertError;

/// Scope for defining certificate types.
pub const MANAGE_SCOPE: &str = "ecert:manage";
/// Scope for issuing and changing certificates.
pub const ISSUE_SCOPE: &str = "ecert:issue";
/// Scope for department-to-department lookup.
pub const LOOKUP_SCOPE: &str = "ecert:lookup";
/// Scope for a holder's own certificates and shares through a portal.
pub const WALLET_SCOPE: &str = "ecert:wallet";
/// The assurance level a person's login needs to issue: issuance signs with the
/// department's seal, so it asks what sealing asks.
pub const ISSUING_LEVEL: u8 = tongban_seal::permissions::SEALING_LEVEL;

/// A person in the provider's own console (a first-party page on their single
/// sign-on session, `acr` its level): their roles decide, as for a token granted the
/// e-certificate scopes. Acts are recorded with the client `console`.
pub fn console_actor(subject: tongban_identity::subjects::SubjectId, acr: &str) -> Actor {
    Actor::Person {
        subject,
        client_id: seal_access::CONSOLE_CLIENT.to_owned(),
        scopes: [MANAGE_SCOPE, ISSUE_SCOPE, LOOKUP_SCOPE]
            .map(str::to_owned)
            .to_vec(),
        acr: Some(acr.to_owned()),
    }
}

fn needs(actor: &Actor, scope: &str) -> Result<(), EcertError> {
    if actor.has_scope(scope) {
        Ok(())
    } else {
        Err(EcertError::Denied(format!("this needs the scope {scope}")))
    }
}

/// Defining certificate types of `department`.
pub async fn may_define(
    conn: &mut Conn,
    actor: &Actor,
    department: DepartmentId,
) -> Result<(), EcertError> {
    if actor.has_scope(tongban_identity::caller::ADMIN_SCOPE) {
        return Ok(());
    }
    needs(actor, MANAGE_SCOPE)?;
    if seal_access::roles(conn, actor, department)
        .await?
        .contains(&Role::DeptAdmin)
    {
        Ok(())
    } else {
        Err(EcertError::Denied(
            "only the department's administrators define its certificate types".into(),
        ))
    }
}

/// Issuing, or changing the status of, certificates in the name of `department`.
pub async fn may_issue(
    conn: &mut Conn,
    actor: &Actor,
    department: DepartmentId,
) -> Result<(), EcertError> {
    needs(actor, ISSUE_SCOPE)?;
    match actor {
        Actor::Person { acr, .. } => {
            tongban_identity::assurance::require(acr.as_deref(), ISSUING_LEVEL)
                .map_err(|e| EcertError::Denied(e.to_string()))?;
            if seal_access::roles(conn, actor, department)
                .await?
                .contains(&Role::Issuer)
            {
                Ok(())
            } else {
                Err(EcertError::Denied(
                    "only the department's issuers issue its certificates".into(),
                ))
            }
        }
        Actor::Client { client_id, .. } => {
            if seal_access::client_department(conn, client_id).await? == Some(department) {
                Ok(())
            } else {
                Err(EcertError::Denied(
                    "the client belongs to another department".into(),
                ))
            }
        }
    }
}

/// The department a lookup comes from: lookups are between departments. `department`
/// names it for a person on the staff of several; a client system's is its own.
pub async fn lookup_department(
    conn: &mut Conn,
    actor: &Actor,
    department: Option<DepartmentId>,
) -> Result<DepartmentId, EcertError> {
    needs(actor, LOOKUP_SCOPE)?;
    let mine = match actor {
        Actor::Client { client_id, .. } => seal_access::client_department(conn, client_id)
            .await?
            .into_iter()
            .collect(),
        Actor::Person { subject, .. } => {
            tongban_identity::subjects::departments_of(conn, *subject).await?
        }
    };
    match (department, mine.as_slice()) {
        (_, []) => Err(EcertError::Denied(
            "lookups are for department staff and systems".into(),
        )),
        (Some(named), mine) if mine.contains(&named) => Ok(named),
        (Some(_), _) => Err(EcertError::Denied(
            "you do not look up for that department".into(),
        )),
        (None, [one]) => Ok(*one),
        (None, _) => Err(crate::error::invalid(
            "department_id",
            "you work for several departments: name the one this lookup is for",
        )),
    }
}
