//! What delegates did: each act under an authority is one row naming both people, so
//! the person sees who acted for them and the relative sees what they did.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use super::{Delegation, corrupt};
use crate::subjects::SubjectId;

/// An act of a delegate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Act {
    /// The authority it was done under.
    pub delegation_id: String,
    /// For whom.
    pub principal: SubjectId,
    /// Their name.
    pub principal_name: String,
    /// By whom.
    pub delegate: SubjectId,
    /// Their name.
    pub delegate_name: String,
    /// What: `sign-in`, or the API operation (`GET /api/v1/…`).
    pub action: String,
    /// The portal it was done at, by name.
    pub client_name: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// Records that `delegation`'s delegate did `action` through `client_id`.
pub async fn record(
    conn: &mut Conn,
    delegation: &Delegation,
    action: &str,
    client_id: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO delegation_acts (id, delegation_id, principal_id, delegate_id, action, client_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tongban_core::id::Uuid::now_v7().to_string())
    .bind(&delegation.id)
    .bind(delegation.principal.to_string())
    .bind(delegation.delegate.to_string())
    .bind(action)
    .bind(client_id)
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The latest `limit` acts done for `person` or by them, newest first.
pub async fn of_person(
    conn: &mut Conn,
    person: SubjectId,
    limit: i64,
) -> Result<Vec<Act>, StoreError> {
    let rows = sqlx::query(
        "SELECT a.delegation_id, a.principal_id, p.name AS principal_name, a.delegate_id, \
         r.name AS delegate_name, a.action, c.name AS client_name, a.at FROM delegation_acts a \
         JOIN subjects p ON p.id = a.principal_id JOIN subjects r ON r.id = a.delegate_id \
         LEFT JOIN clients c ON c.id = a.client_id \
         WHERE a.principal_id = $1 OR a.delegate_id = $1 ORDER BY a.at DESC, a.id DESC LIMIT $2",
    )
    .bind(person.to_string())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let id = |column: &str| -> Result<SubjectId, StoreError> {
                let text: String = r.try_get(column)?;
                text.parse().map_err(|_| corrupt("subject id"))
            };
            Ok(Act {
                delegation_id: r.try_get("delegation_id")?,
                principal: id("principal_id")?,
                principal_name: r.try_get("principal_name")?,
                delegate: id("delegate_id")?,
                delegate_name: r.try_get("delegate_name")?,
                action: r.try_get("action")?,
                client_name: r.try_get("client_name")?,
                at: Timestamp::from_unix_millis(r.try_get("at")?),
            })
        })
        .collect()
}
