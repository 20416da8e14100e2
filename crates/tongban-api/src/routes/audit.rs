//! The audit trail (`/api/v1/audit-events`): platform administrators read all of it,
//! department administrators their departments' part; the domain decides
//! ([`audit_trail::reader`]).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tongban_identity::audit_trail;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Which events to read; every filter narrows the search.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Exactly this actor: `subject:<id>`, `client:<id>`, a subject id or `system`.
    actor: Option<String>,
    /// Exactly this action (`seal.granted`), or every action starting with what comes
    /// before a final `*` (`ecert.*`).
    action: Option<String>,
    /// Exactly this target: a certificate identifier, a seal id, a person's id, ….
    target: Option<String>,
    /// One department's events (a department administrator reads only their own).
    department: Option<String>,
    /// From this time, inclusive (RFC 3339).
    from: Option<String>,
    /// Until this time, exclusive (RFC 3339).
    until: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// Events per page, 1 to 200 (50 when absent).
    limit: Option<i64>,
}

impl AuditQuery {
    fn filters(&self) -> audit_trail::Query<'_> {
        audit_trail::Query {
            actor: self.actor.as_deref(),
            action: self.action.as_deref(),
            target: self.target.as_deref(),
            department: self.department.as_deref(),
            from: self.from.as_deref(),
            until: self.until.as_deref(),
        }
    }
}

/// One event of the trail.
#[derive(Serialize, ToSchema)]
pub struct AuditEventBody {
    id: String,
    /// RFC 3339.
    occurred_at: String,
    /// Who acted: `subject:<id>`, `client:<id>`, a subject id, or `system`.
    actor: String,
    /// What was done, a dotted verb such as `ecert.issued`.
    action: String,
    /// What it was done to.
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    /// The department whose matter it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    department: Option<String>,
    /// The request that caused it (`X-Request-Id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    /// Further facts; never secrets or whole resident ID numbers.
    details: serde_json::Value,
}

/// A page of the trail, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPageBody {
    items: Vec<AuditEventBody>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Reads the audit trail, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "a page of events, newest first", body = AuditPageBody),
        (status = 403, description = "not an administrator, or another department's trail", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a filter, the cursor or the limit is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]), ("bearer" = ["audit:read"])))]
pub async fn audit_events(
    State(state): State<AppState>,
    authenticated: Authenticated,
    Query(query): Query<AuditQuery>,
) -> Result<axum::Json<AuditPageBody>, ApiError> {
    let mut conn = state.store.conn().await?;
    let reader = audit_trail::reader(&mut conn, &authenticated.caller).await?;
    let page = audit_trail::search(
        &mut conn,
        &reader,
        &query.filters(),
        query.after.as_deref(),
        query.limit.unwrap_or(50),
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(|e| AuditEventBody {
            id: e.id.to_string(),
            occurred_at: e.occurred_at.to_rfc3339(),
            actor: e.actor,
            action: e.action,
            target: e.target,
            department: e.department,
            request_id: e.request_id.map(|r| r.as_str().to_owned()),
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(axum::Json(AuditPageBody {
        items,
        next: page.next,
    }))
}

/// Filters for an export (the same as for a page, without the cursor).
#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditExportQuery {
    /// Exactly this actor.
    actor: Option<String>,
    /// Exactly this action, or a prefix ending in `*`.
    action: Option<String>,
    /// Exactly this target.
    target: Option<String>,
    /// One department's events.
    department: Option<String>,
    /// From this time, inclusive (RFC 3339).
    from: Option<String>,
    /// Until this time, exclusive (RFC 3339).
    until: Option<String>,
}

/// Exports every matching event (at most 100 000; narrow the time range for more) as
/// CSV, newest first: `id, occurred_at, actor, action, target, department, request_id,
/// details`. Cells a spreadsheet would run as formulas start with `'`.
#[utoipa::path(get, path = "/api/v1/audit-events/export", tag = "audit",
    params(AuditExportQuery),
    responses(
        (status = 200, description = "the events as CSV", body = String, content_type = "text/csv"),
        (status = 403, description = "not an administrator, or another department's trail", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a filter is invalid, or too many events match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]), ("bearer" = ["audit:read"])))]
pub async fn export_audit_events(
    State(state): State<AppState>,
    authenticated: Authenticated,
    Query(query): Query<AuditExportQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let mut conn = state.store.conn().await?;
    let reader = audit_trail::reader(&mut conn, &authenticated.caller).await?;
    let filters = audit_trail::Query {
        actor: query.actor.as_deref(),
        action: query.action.as_deref(),
        target: query.target.as_deref(),
        department: query.department.as_deref(),
        from: query.from.as_deref(),
        until: query.until.as_deref(),
    };
    let csv = audit_trail::export_csv(&mut conn, &reader, &filters).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-events.csv\"",
            ),
        ],
        csv,
    ))
}
