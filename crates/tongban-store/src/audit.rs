//! The audit trail: written inside the caller's transaction, so a change and its record
//! commit or roll back together.

use sqlx::{AnyConnection, Row};
use tongban_core::audit::AuditEvent;
use tongban_core::id::{AuditEventId, RequestId};
use tongban_core::time::Timestamp;

use crate::error::StoreError;

/// Appends `event` in the transaction (or on the connection) given.
pub async fn record(conn: &mut AnyConnection, event: &AuditEvent) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_events (id, occurred_at, actor, action, target, request_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.id.to_string())
    .bind(event.occurred_at.unix_millis())
    .bind(&event.actor)
    .bind(&event.action)
    .bind(event.target.as_deref())
    .bind(event.request_id.as_ref().map(RequestId::as_str))
    .bind(&event.details)
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends many events with few statements (a batch's issuance records).
pub async fn record_all(conn: &mut AnyConnection, events: &[AuditEvent]) -> Result<(), StoreError> {
    for chunk in events.chunks(200) {
        let mut placeholders = crate::rows::Placeholders::on(conn);
        let values: Vec<String> = chunk.iter().map(|_| placeholders.row(7)).collect();
        let sql = format!(
            "INSERT INTO audit_events (id, occurred_at, actor, action, target, request_id, details) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for event in chunk {
            query = query
                .bind(event.id.to_string())
                .bind(event.occurred_at.unix_millis())
                .bind(event.actor.clone())
                .bind(event.action.clone())
                .bind(event.target.clone())
                .bind(event.request_id.as_ref().map(|r| r.as_str().to_owned()))
                .bind(event.details.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The events about `target`, oldest first.
pub async fn for_target(
    conn: &mut AnyConnection,
    target: &str,
) -> Result<Vec<AuditEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, occurred_at, actor, action, target, request_id, details \
         FROM audit_events WHERE target = $1 ORDER BY occurred_at, id",
    )
    .bind(target)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<AuditEvent, StoreError> {
    let id: String = row.try_get("id")?;
    let request_id: Option<String> = row.try_get("request_id")?;
    Ok(AuditEvent {
        id: id
            .parse::<AuditEventId>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        occurred_at: Timestamp::from_unix_millis(row.try_get("occurred_at")?),
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        request_id: request_id.as_deref().and_then(RequestId::from_caller),
        details: row.try_get("details")?,
    })
}
