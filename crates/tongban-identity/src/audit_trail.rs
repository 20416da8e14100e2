//! Reading the audit trail. A platform administrator reads all of it; a department
//! administrator reads their departments' events (certificate types and certificates,
//! seals, staff, clients and counter acts of the department), never another's and
//! never a person's own matters.

use tongban_core::audit::AuditEvent;
use tongban_core::id::AuditEventId;
use tongban_core::spreadsheet::safe_cell;
use tongban_core::time::Timestamp;
use tongban_store::audit::{self, AuditFilter};
use tongban_store::{Conn, StoreError};

use crate::caller::{ADMIN_SCOPE, Caller};
use crate::subjects::{self, DepartmentId, Role, SubjectError, SubjectId};

/// The scope a department administrator's token needs to read the trail.
pub const AUDIT_SCOPE: &str = "audit:read";
/// Events per page at most.
pub const MAX_PAGE: i64 = 200;
/// Events in one export at most; a longer trail is exported in narrower time ranges.
pub const MAX_EXPORT: usize = 100_000;

/// Why the trail cannot be read as asked.
#[derive(Debug, thiserror::Error)]
pub enum AuditTrailError {
    /// The caller may not read it, or not this department's.
    #[error("{0}")]
    Denied(String),
    /// A filter or the cursor is invalid.
    #[error("{field}: {reason}")]
    Invalid {
        /// Which parameter.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The export would be longer than [`MAX_EXPORT`] events.
    #[error("more than {MAX_EXPORT} events match; export a narrower time range")]
    TooMany,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SubjectError> for AuditTrailError {
    fn from(error: SubjectError) -> Self {
        match error {
            SubjectError::Store(store) => Self::Store(store),
            other => Self::Store(StoreError::Corrupt(other.to_string())),
        }
    }
}

/// Proof of what a caller may read; only [`reader`] makes one.
#[derive(Clone, Debug)]
pub struct Reader {
    departments: Option<Vec<DepartmentId>>,
}

impl Reader {
    /// A reader of all of the trail (a platform administrator).
    pub(crate) fn everything() -> Self {
        Self { departments: None }
    }

    /// A reader of these departments' events.
    pub(crate) fn of_departments(departments: Vec<DepartmentId>) -> Self {
        Self {
            departments: Some(departments),
        }
    }

    /// The departments readable: `None` for all of the trail.
    pub fn departments(&self) -> Option<&[DepartmentId]> {
        self.departments.as_deref()
    }
}

/// The departments `reader` reads (every one, for a reader of everything), for a
/// chooser of departments.
pub async fn readable_departments(
    conn: &mut Conn,
    reader: &Reader,
) -> Result<Vec<crate::subjects::Department>, crate::subjects::SubjectError> {
    Ok(crate::subjects::list_departments(conn)
        .await?
        .into_iter()
        .filter(|d| reader.departments().is_none_or(|mine| mine.contains(&d.id)))
        .collect())
}

/// The names of the people and client systems who acted in `events` (actors
/// `subject:…` and `client:…`), by actor: a trail is read by people, who know each
/// other by name. An actor without one (`system`, or someone since removed) is absent.
pub async fn actor_names(
    conn: &mut Conn,
    events: &[AuditEvent],
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    let mut names = std::collections::HashMap::new();
    for (prefix, table) in [("subject:", "subjects"), ("client:", "clients")] {
        let mut ids: Vec<&str> = events
            .iter()
            .filter_map(|e| e.actor.strip_prefix(prefix))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            continue;
        }
        let mut placeholders = tongban_store::rows::Placeholders::on(conn);
        let sql = format!(
            "SELECT id, name FROM {table} WHERE id IN {}",
            placeholders.row(ids.len())
        );
        let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
        for id in &ids {
            query = query.bind(*id);
        }
        for (id, name) in query.fetch_all(&mut *conn).await? {
            names.insert(format!("{prefix}{id}"), name);
        }
    }
    Ok(names)
}

/// What `caller` may read: everything with scope `admin`; with scope `audit:read`, a
/// person's own login (not a relative's) reads the departments where they hold the
/// `dept-admin` role.
pub async fn reader(conn: &mut Conn, caller: &Caller) -> Result<Reader, AuditTrailError> {
    if caller.has_scope(ADMIN_SCOPE) {
        return Ok(Reader { departments: None });
    }
    if !caller.has_scope(AUDIT_SCOPE) {
        return Err(AuditTrailError::Denied(format!(
            "this needs the scope {AUDIT_SCOPE} or admin"
        )));
    }
    if caller.delegation.is_some() {
        return Err(AuditTrailError::Denied(
            "nobody reads a department's audit trail for someone else".into(),
        ));
    }
    let subject: SubjectId = caller.subject.parse().map_err(|_| {
        AuditTrailError::Denied("only a department administrator reads the trail".into())
    })?;
    let departments = subjects::departments_with_role(conn, subject, Role::DeptAdmin).await?;
    if departments.is_empty() {
        return Err(AuditTrailError::Denied(
            "only a department administrator reads the trail".into(),
        ));
    }
    Ok(Reader {
        departments: Some(departments),
    })
}

/// The filters of a search, as the caller wrote them.
#[derive(Clone, Debug, Default)]
pub struct Query<'a> {
    /// Exactly this actor.
    pub actor: Option<&'a str>,
    /// Exactly this action, or a prefix ending in `*` (`ecert.*`).
    pub action: Option<&'a str>,
    /// Exactly this target (a certificate identifier, a seal id, …).
    pub target: Option<&'a str>,
    /// One department.
    pub department: Option<&'a str>,
    /// From this time (RFC 3339), inclusive.
    pub from: Option<&'a str>,
    /// Until this time (RFC 3339), exclusive.
    pub until: Option<&'a str>,
}

/// A page of events, newest first.
#[derive(Clone, Debug)]
pub struct Page {
    /// The events.
    pub items: Vec<AuditEvent>,
    /// The cursor of the next page; none on the last.
    pub next: Option<String>,
}

/// The events matching `query` that `reader` may read, newest first, `limit` after the
/// cursor `after` (the `next` of the page before).
pub async fn search(
    conn: &mut Conn,
    reader: &Reader,
    query: &Query<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Page, AuditTrailError> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(invalid("limit", format!("between 1 and {MAX_PAGE}")));
    }
    let mut filter = filter(reader, query)?;
    filter.before = after.map(parse_cursor).transpose()?;
    let mut items = audit::search(conn, &filter, limit + 1).await?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(cursor)
    } else {
        None
    };
    Ok(Page { items, next })
}

/// Every event matching `query` that `reader` may read, newest first, as CSV (RFC 4180,
/// UTF-8, a header row). Cells that a spreadsheet would run as a formula are prefixed
/// with `'`.
pub async fn export_csv(
    conn: &mut Conn,
    reader: &Reader,
    query: &Query<'_>,
) -> Result<Vec<u8>, AuditTrailError> {
    let mut filter = filter(reader, query)?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    write_row(
        &mut writer,
        [
            "id",
            "occurred_at",
            "actor",
            "action",
            "target",
            "department",
            "request_id",
            "details",
        ],
    )?;
    let mut written = 0usize;
    loop {
        let events = audit::search(conn, &filter, 1000).await?;
        let Some(last) = events.last() else { break };
        filter.before = Some((last.occurred_at, last.id));
        written += events.len();
        if written > MAX_EXPORT {
            return Err(AuditTrailError::TooMany);
        }
        for event in &events {
            let occurred_at = event.occurred_at.to_rfc3339();
            let request_id = event.request_id.as_ref().map(|r| r.as_str().to_owned());
            write_row(
                &mut writer,
                [
                    &event.id.to_string(),
                    &occurred_at,
                    &event.actor,
                    &event.action,
                    event.target.as_deref().unwrap_or_default(),
                    event.department.as_deref().unwrap_or_default(),
                    request_id.as_deref().unwrap_or_default(),
                    &event.details,
                ],
            )?;
        }
        if events.len() < 1000 {
            break;
        }
    }
    writer
        .into_inner()
        .map_err(|e| AuditTrailError::Store(StoreError::Corrupt(e.to_string())))
}

fn write_row(writer: &mut csv::Writer<Vec<u8>>, cells: [&str; 8]) -> Result<(), AuditTrailError> {
    writer
        .write_record(cells.map(|cell| safe_cell(cell).into_owned()))
        .map_err(|e| AuditTrailError::Store(StoreError::Corrupt(e.to_string())))
}

fn filter(reader: &Reader, query: &Query<'_>) -> Result<AuditFilter, AuditTrailError> {
    let departments = match (query.department, reader.departments()) {
        (None, None) => None,
        (None, Some(mine)) => Some(mine.iter().map(ToString::to_string).collect()),
        (Some(asked), mine) => {
            let asked: DepartmentId = asked
                .parse()
                .map_err(|_| invalid("department", "not a department id"))?;
            if mine.is_some_and(|mine| !mine.contains(&asked)) {
                return Err(AuditTrailError::Denied(
                    "you administer other departments; this one's trail is not yours to read"
                        .into(),
                ));
            }
            Some(vec![asked.to_string()])
        }
    };
    let (action, action_prefix) = match query.action {
        Some(action) => match action.strip_suffix('*') {
            Some(prefix) => (Some(prefix.to_owned()), true),
            None => (Some(action.to_owned()), false),
        },
        None => (None, false),
    };
    let from = query.from.map(|t| time("from", t)).transpose()?;
    let until = query.until.map(|t| time("until", t)).transpose()?;
    if let (Some(from), Some(until)) = (from, until)
        && from >= until
    {
        return Err(invalid("until", "must be after from"));
    }
    Ok(AuditFilter {
        actor: query.actor.map(str::to_owned),
        action,
        action_prefix,
        target: query.target.map(str::to_owned),
        departments,
        from,
        until,
        before: None,
    })
}

fn time(field: &'static str, text: &str) -> Result<Timestamp, AuditTrailError> {
    Timestamp::parse_rfc3339(text).ok_or_else(|| {
        invalid(
            field,
            "an RFC 3339 date and time, e.g. 2026-12-01T00:00:00+08:00",
        )
    })
}

/// The cursor after `event`: its time and id, which order the trail.
fn cursor(event: &AuditEvent) -> String {
    format!("{}.{}", event.occurred_at.unix_millis(), event.id)
}

fn parse_cursor(text: &str) -> Result<(Timestamp, AuditEventId), AuditTrailError> {
    let bad = || invalid("after", "not a cursor this API gave");
    let (millis, id) = text.split_once('.').ok_or_else(bad)?;
    let millis: i64 = millis.parse().map_err(|_| bad())?;
    let id: AuditEventId = id.parse().map_err(|_| bad())?;
    Ok((Timestamp::from_unix_millis(millis), id))
}

fn invalid(field: &'static str, reason: impl Into<String>) -> AuditTrailError {
    AuditTrailError::Invalid {
        field,
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let event = AuditEvent::new("system", "x", None, None, serde_json::json!({}));
        let (at, id) = parse_cursor(&cursor(&event)).expect("parses");
        assert_eq!((at, id), (event.occurred_at, event.id));
        for bad in ["", "12", "x.y", "12.not-a-uuid", ".", "1.2.3"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_department_reader_is_held_to_their_departments() {
        let mine: DepartmentId = "5f0c8a3e-6a4b-4e43-9d8e-1f6f6c0f7a10".parse().expect("id");
        let other = "6f0c8a3e-6a4b-4e43-9d8e-1f6f6c0f7a10";
        let reader = Reader {
            departments: Some(vec![mine]),
        };
        let everything = filter(&reader, &Query::default()).expect("filter");
        assert_eq!(everything.departments, Some(vec![mine.to_string()]));
        let asked = Query {
            department: Some(other),
            ..Query::default()
        };
        assert!(matches!(
            filter(&reader, &asked),
            Err(AuditTrailError::Denied(_))
        ));
        let platform = Reader { departments: None };
        assert_eq!(
            filter(&platform, &asked).expect("filter").departments,
            Some(vec![other.to_string()])
        );
    }

    #[test]
    fn time_ranges_are_checked() {
        let reader = Reader { departments: None };
        let backwards = Query {
            from: Some("2026-12-02T00:00:00Z"),
            until: Some("2026-12-01T00:00:00Z"),
            ..Query::default()
        };
        assert!(filter(&reader, &backwards).is_err());
        let garbage = Query {
            from: Some("yesterday"),
            ..Query::default()
        };
        assert!(filter(&reader, &garbage).is_err());
        let prefix = Query {
            action: Some("ecert.*"),
            ..Query::default()
        };
        let f = filter(&reader, &prefix).expect("filter");
        assert_eq!(
            (f.action.as_deref(), f.action_prefix),
            (Some("ecert."), true)
        );
    }
}
