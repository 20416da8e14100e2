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
        "INSERT INTO audit_events (id, occurred_at, actor, action, target, request_id, details, department_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.id.to_string())
    .bind(event.occurred_at.unix_millis())
    .bind(&event.actor)
    .bind(&event.action)
    .bind(event.target.as_deref())
    .bind(event.request_id.as_ref().map(RequestId::as_str))
    .bind(&event.details)
    .bind(event.department.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends many events with few statements (a batch's issuance records).
pub async fn record_all(conn: &mut AnyConnection, events: &[AuditEvent]) -> Result<(), StoreError> {
    for chunk in events.chunks(200) {
        let mut placeholders = crate::rows::Placeholders::on(conn);
        let values: Vec<String> = chunk.iter().map(|_| placeholders.row(8)).collect();
        let sql = format!(
            "INSERT INTO audit_events (id, occurred_at, actor, action, target, request_id, details, department_id) VALUES {}",
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
                .bind(event.details.clone())
                .bind(event.department.clone());
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
        "SELECT id, occurred_at, actor, action, target, request_id, details, department_id \
         FROM audit_events WHERE target = $1 ORDER BY occurred_at, id",
    )
    .bind(target)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Which events to read; every field narrows the search, none reads everything.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Exactly this actor (`subject:<id>`, `client:<id>`, a subject id, `system`).
    pub actor: Option<String>,
    /// Exactly this action, or with `action_prefix` every action starting with it.
    pub action: Option<String>,
    /// Whether `action` is a prefix (`ecert.` for every e-certificate action).
    pub action_prefix: bool,
    /// Exactly this target.
    pub target: Option<String>,
    /// Only events of these departments; `None` for all events, attributed or not.
    pub departments: Option<Vec<String>>,
    /// At or after this time.
    pub from: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Older than this event (the last one of the previous page), newest first.
    pub before: Option<(Timestamp, AuditEventId)>,
}

/// The events matching `filter`, newest first, at most `limit`.
pub async fn search(
    conn: &mut AnyConnection,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut placeholders = crate::rows::Placeholders::on(conn);
    let mut conditions: Vec<String> = Vec::new();
    let mut binds: Vec<Bind> = Vec::new();
    if let Some(actor) = &filter.actor {
        conditions.push(format!("actor = {}", placeholders.take()));
        binds.push(Bind::Text(actor.clone()));
    }
    if let Some(action) = &filter.action {
        if filter.action_prefix {
            // `substr` rather than LIKE: an action may hold `_`, which LIKE reads as a
            // wildcard. The length is ours (a count), so it is written into the
            // statement: PostgreSQL has no substr taking a bound BIGINT.
            let length = action.chars().count();
            conditions.push(format!(
                "substr(action, 1, {length}) = {}",
                placeholders.take()
            ));
        } else {
            conditions.push(format!("action = {}", placeholders.take()));
        }
        binds.push(Bind::Text(action.clone()));
    }
    if let Some(target) = &filter.target {
        conditions.push(format!("target = {}", placeholders.take()));
        binds.push(Bind::Text(target.clone()));
    }
    if let Some(departments) = &filter.departments {
        if departments.is_empty() {
            return Ok(Vec::new());
        }
        conditions.push(format!(
            "department_id IN ({})",
            placeholders.list(departments.len())
        ));
        binds.extend(departments.iter().cloned().map(Bind::Text));
    }
    if let Some(from) = filter.from {
        conditions.push(format!("occurred_at >= {}", placeholders.take()));
        binds.push(Bind::Int(from.unix_millis()));
    }
    if let Some(until) = filter.until {
        conditions.push(format!("occurred_at < {}", placeholders.take()));
        binds.push(Bind::Int(until.unix_millis()));
    }
    if let Some((at, id)) = &filter.before {
        let (a1, a2, i) = (
            placeholders.take(),
            placeholders.take(),
            placeholders.take(),
        );
        conditions.push(format!(
            "(occurred_at < {a1} OR (occurred_at = {a2} AND id < {i}))"
        ));
        binds.push(Bind::Int(at.unix_millis()));
        binds.push(Bind::Int(at.unix_millis()));
        binds.push(Bind::Text(id.to_string()));
    }
    let condition = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT id, occurred_at, actor, action, target, request_id, details, department_id \
         FROM audit_events {condition} ORDER BY occurred_at DESC, id DESC LIMIT {}",
        placeholders.take()
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(int) => query.bind(int),
        };
    }
    let rows = query.bind(limit).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

enum Bind {
    Text(String),
    Int(i64),
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
        department: row.try_get("department_id")?,
    })
}
