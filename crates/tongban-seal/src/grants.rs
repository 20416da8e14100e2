//! Grants of a seal to staff members and client systems.

use serde_json::json;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_identity::subjects::Role;
use tongban_store::Conn;

use crate::error::SealError;
use crate::permissions::{self, Actor};
use crate::registry::{self, Seal, SealId};

/// Who a seal is granted to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grantee {
    /// A staff member (subject id).
    Staff(String),
    /// A client system (client_id).
    Client(String),
}

impl Grantee {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Self::Staff(id) => ("staff", id),
            Self::Client(id) => ("client", id),
        }
    }
}

/// A grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// To whom.
    pub grantee: Grantee,
    /// Each use must state a purpose.
    pub purpose_required: bool,
    /// End of the grant; none for open-ended.
    pub expires_at: Option<Timestamp>,
    /// Who granted it.
    pub granted_by: String,
    /// When.
    pub granted_at: Timestamp,
}

/// Grants `seal` to `grantee` (replacing an earlier grant to them).
pub async fn grant(
    tx: &mut Conn,
    actor: &Actor,
    seal: SealId,
    grantee: &Grantee,
    purpose_required: bool,
    expires_at: Option<Timestamp>,
) -> Result<(), SealError> {
    let found = registry::find(tx, seal).await?;
    permissions::may_manage(tx, actor, found.department_id).await?;
    let now = Timestamp::now();
    if expires_at.is_some_and(|e| e <= now) {
        return Err(SealError::Invalid {
            field: "expires_at",
            reason: "must be in the future".into(),
        });
    }
    let (kind, id) = grantee.parts();
    let exists = match grantee {
        Grantee::Staff(subject) => {
            sqlx::query("SELECT 1 FROM staff WHERE subject_id = $1 AND department_id = $2")
                .bind(subject)
                .bind(found.department_id.to_string())
        }
        Grantee::Client(client) => {
            sqlx::query("SELECT 1 FROM clients WHERE id = $1 AND department_id = $2")
                .bind(client)
                .bind(found.department_id.to_string())
        }
    }
    .fetch_optional(&mut *tx)
    .await?
    .is_some();
    if !exists {
        return Err(SealError::Invalid {
            field: "grantee",
            reason: "must be staff or a client system of the seal's department".into(),
        });
    }
    sqlx::query(
        "INSERT INTO seal_grants (seal_id, grantee_kind, grantee_id, purpose_required, expires_at, granted_by, granted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (seal_id, grantee_kind, grantee_id) \
         DO UPDATE SET purpose_required = $4, expires_at = $5, granted_by = $6, granted_at = $7",
    )
    .bind(seal.to_string())
    .bind(kind)
    .bind(id)
    .bind(i64::from(purpose_required))
    .bind(expires_at.map(Timestamp::unix_millis))
    .bind(actor.label())
    .bind(now.unix_millis())
    .execute(&mut *tx)
    .await?;
    registry::record_history(
        tx,
        seal,
        actor,
        "granted",
        json!({ "grantee": format!("{kind}:{id}"), "purpose_required": purpose_required,
                "expires_at": expires_at.map(Timestamp::unix_millis) }),
    )
    .await
}

/// Ends `grantee`'s grant of `seal` at once: their next use is refused. Only an
/// administrator of the seal's department (like granting).
pub async fn revoke(
    tx: &mut Conn,
    actor: &Actor,
    seal: SealId,
    grantee: &Grantee,
) -> Result<(), SealError> {
    let found = registry::find(tx, seal).await?;
    permissions::may_manage(tx, actor, found.department_id).await?;
    let (kind, id) = grantee.parts();
    let removed = sqlx::query(
        "DELETE FROM seal_grants WHERE seal_id = $1 AND grantee_kind = $2 AND grantee_id = $3",
    )
    .bind(seal.to_string())
    .bind(kind)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if removed.rows_affected() == 0 {
        return Err(SealError::NotFound("grant"));
    }
    registry::record_history(
        tx,
        seal,
        actor,
        "ungranted",
        json!({ "grantee": format!("{kind}:{id}") }),
    )
    .await
}

/// The grants of `seal`.
pub async fn of_seal(
    conn: &mut Conn,
    actor: &Actor,
    seal: SealId,
) -> Result<Vec<Grant>, SealError> {
    let found = registry::find(conn, seal).await?;
    permissions::may_view(conn, actor, found.department_id).await?;
    let rows = sqlx::query(
        "SELECT grantee_kind, grantee_id, purpose_required, expires_at, granted_by, granted_at \
         FROM seal_grants WHERE seal_id = $1 ORDER BY granted_at",
    )
    .bind(seal.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("grantee_kind")?;
            let id: String = r.try_get("grantee_id")?;
            let expires: Option<i64> = r.try_get("expires_at")?;
            Ok(Grant {
                grantee: if kind == "client" {
                    Grantee::Client(id)
                } else {
                    Grantee::Staff(id)
                },
                purpose_required: r.try_get::<i64, _>("purpose_required")? != 0,
                expires_at: expires.map(Timestamp::from_unix_millis),
                granted_by: r.try_get("granted_by")?,
                granted_at: Timestamp::from_unix_millis(r.try_get("granted_at")?),
            })
        })
        .collect()
}

/// The staff of `seal`'s department who may be granted it (the `seal-user` role), for
/// the seal's managers.
pub async fn candidates(
    conn: &mut Conn,
    actor: &Actor,
    seal: SealId,
) -> Result<Vec<tongban_identity::subjects::StaffMember>, SealError> {
    let found = registry::find(conn, seal).await?;
    permissions::may_manage(conn, actor, found.department_id).await?;
    let staff = tongban_identity::subjects::staff_of(conn, found.department_id).await?;
    Ok(staff
        .into_iter()
        .filter(|m| m.roles.contains(&Role::SealUser))
        .collect())
}

/// Applying `seal` now, for `purpose`, under a grant. Checks the scope, the department,
/// the role, the grant (live, and with a purpose if it asks for one) and the seal's
/// state.
pub async fn may_use(
    conn: &mut Conn,
    actor: &Actor,
    seal: &Seal,
    purpose: Option<&str>,
    now: Timestamp,
) -> Result<(), SealError> {
    if !actor.has_scope(permissions::USE_SCOPE) {
        return Err(SealError::Denied(format!(
            "this needs the scope {}",
            permissions::USE_SCOPE
        )));
    }
    let (kind, grantee, client) = match actor {
        Actor::Person { subject, acr, .. } => {
            // A seal binds the department: a person applies it only after a
            // phishing-resistant or two-factor login on a verified identity.
            tongban_identity::assurance::require(acr.as_deref(), permissions::SEALING_LEVEL)
                .map_err(|e| SealError::Denied(e.to_string()))?;
            let roles = permissions::roles(conn, actor, seal.department_id).await?;
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
    seal.usable(now)
}
