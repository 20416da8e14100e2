//! The audit trail in the console: filters, pages, and the CSV export.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::macros::format_description;
use tongban_identity::audit_trail::{self, AuditTrailError};
use tongban_identity::console::ConsoleError;

use super::{open_desk, reading, refused, refused_as};
use crate::extract::PageQuery;
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::console::{self as view, AuditFilters, AuditView};
use crate::views::esign::Message;

/// Events per page.
const AUDIT_PAGE: i64 = 50;

/// The audit page's query.
#[derive(Deserialize, Default)]
pub struct AuditPageQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    department: String,
    /// First day, `YYYY-MM-DD` (Beijing time).
    #[serde(default)]
    from: String,
    /// Last day, `YYYY-MM-DD` (Beijing time), included.
    #[serde(default)]
    until: String,
    #[serde(default)]
    after: String,
}

impl AuditPageQuery {
    fn filters(&self) -> AuditFilters {
        AuditFilters {
            actor: self.actor.trim().to_owned(),
            action: self.action.trim().to_owned(),
            target: self.target.trim().to_owned(),
            department: self.department.trim().to_owned(),
            from: self.from.trim().to_owned(),
            until: self.until.trim().to_owned(),
        }
    }
}

/// The filters' query string (for the next page and the export).
fn filter_query(filters: &AuditFilters) -> String {
    let pairs = [
        ("actor", &filters.actor),
        ("action", &filters.action),
        ("target", &filters.target),
        ("department", &filters.department),
        ("from", &filters.from),
        ("until", &filters.until),
    ];
    let present: Vec<(&str, &String)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    serde_urlencoded::to_string(present).unwrap_or_default()
}

/// A day typed in the form as the RFC 3339 instant it starts at in Beijing time (the
/// day after, for the last day: it is included). `None` for a malformed day, which
/// the domain then refuses by name.
pub(crate) fn day_start(day: &str, next: bool) -> String {
    let format = format_description!("[year]-[month]-[day]");
    let Ok(date) = time::Date::parse(day, format) else {
        return day.to_owned();
    };
    let date = if next {
        date.next_day().unwrap_or(date)
    } else {
        date
    };
    let format = format_description!("[year]-[month]-[day]");
    match date.format(format) {
        Ok(text) => format!("{text}T00:00:00+08:00"),
        Err(_) => day.to_owned(),
    }
}

/// The times the domain reads, from the days typed.
struct Range {
    from: Option<String>,
    until: Option<String>,
}

impl Range {
    fn of(filters: &AuditFilters) -> Self {
        let day = |text: &str, next| (!text.is_empty()).then(|| day_start(text, next));
        Self {
            from: day(&filters.from, false),
            until: day(&filters.until, true),
        }
    }
}

fn audit_query<'a>(filters: &'a AuditFilters, range: &'a Range) -> audit_trail::Query<'a> {
    let some = |text: &'a String| (!text.is_empty()).then_some(text.as_str());
    audit_trail::Query {
        actor: some(&filters.actor),
        action: some(&filters.action),
        target: some(&filters.target),
        department: some(&filters.department),
        from: range.from.as_deref(),
        until: range.until.as_deref(),
    }
}

/// The audit trail with filters, newest first, a page at a time: all of it for a
/// platform administrator, their departments' events for a department administrator.
#[utoipa::path(get, path = "/console/audit", tag = "console",
    params(
        ("actor" = Option<String>, Query, description = "exactly this actor"),
        ("action" = Option<String>, Query, description = "exactly this action, or a prefix ending in *"),
        ("target" = Option<String>, Query, description = "exactly this target"),
        ("department" = Option<String>, Query, description = "one department's events"),
        ("from" = Option<String>, Query, description = "first day, YYYY-MM-DD (Beijing time)"),
        ("until" = Option<String>, Query, description = "last day, YYYY-MM-DD (Beijing time), included"),
        ("after" = Option<String>, Query, description = "the next page's cursor"),
    ),
    responses(
        (status = 200, description = "the trail", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not an administrator, or another department's trail", content_type = "text/html"),
        (status = 422, description = "a filter is invalid: the form with the reason", content_type = "text/html"),
    ))]
pub async fn audit_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<AuditPageQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, desk, reader, departments) = match reading(&state, &headers, prefs).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let filters = query.filters();
    let range = Range::of(&filters);
    let after = (!query.after.is_empty()).then_some(query.after.as_str());
    let found = audit_trail::search(
        &mut conn,
        &reader,
        &audit_query(&filters, &range),
        after,
        AUDIT_PAGE,
    )
    .await;
    let filter_query = filter_query(&filters);
    let export_href = format!("/console/audit/export?{filter_query}");
    let (events, next_href, message, status) = match found {
        Ok(page) => {
            let next = page.next.map(|next| {
                let cursor = serde_urlencoded::to_string([("after", next)]).unwrap_or_default();
                format!("/console/audit?{filter_query}&{cursor}")
            });
            (page.items, next, None, StatusCode::OK)
        }
        Err(AuditTrailError::Invalid { .. } | AuditTrailError::TooMany) => (
            Vec::new(),
            None,
            Some(Message::error("audit-invalid")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(AuditTrailError::Denied(_)) => {
            return refused(prefs, Some(&desk), &ConsoleError::NotAllowed);
        }
        Err(AuditTrailError::Store(error)) => return store_page(error),
    };
    let actors = match audit_trail::actor_names(&mut conn, &events).await {
        Ok(names) => names,
        Err(error) => return store_page(error),
    };
    let view = AuditView {
        filters: &filters,
        departments: &departments,
        events: &events,
        actors: &actors,
        export_href,
        next_href,
        message,
    };
    web::no_store(view::audit(prefs, view, status))
}

/// The audit trail as CSV, with the page's filters (as the API's export).
#[utoipa::path(get, path = "/console/audit/export", tag = "console",
    responses(
        (status = 200, description = "the events as CSV", content_type = "text/csv"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not an administrator, or another department's trail", content_type = "text/html"),
        (status = 422, description = "a filter is invalid", content_type = "text/html"),
    ))]
pub async fn audit_export(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<AuditPageQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, _, _, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let reader = match desk.audit_reader() {
        Ok(reader) => reader,
        Err(error) => return refused(prefs, Some(&desk), &error),
    };
    let filters = query.filters();
    let range = Range::of(&filters);
    match audit_trail::export_csv(&mut conn, &reader, &audit_query(&filters, &range)).await {
        Ok(csv) => web::no_store(
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"audit-events.csv\"",
                    ),
                ],
                csv,
            )
                .into_response(),
        ),
        Err(AuditTrailError::Denied(_)) => refused(prefs, Some(&desk), &ConsoleError::NotAllowed),
        Err(AuditTrailError::Store(error)) => store_page(error),
        Err(error @ (AuditTrailError::Invalid { .. } | AuditTrailError::TooMany)) => {
            let id = match error {
                AuditTrailError::TooMany => "audit-too-many",
                _ => "audit-invalid",
            };
            refused_as(prefs, Some(&desk), id, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_beijing_midnights_and_the_last_day_is_included() {
        assert_eq!(day_start("2026-12-01", false), "2026-12-01T00:00:00+08:00");
        assert_eq!(day_start("2026-12-31", true), "2027-01-01T00:00:00+08:00");
        // Left as typed: the domain refuses it by name.
        assert_eq!(day_start("yesterday", false), "yesterday");
    }

    #[test]
    fn the_filters_travel_in_the_query_without_empty_ones() {
        let filters = AuditFilters {
            action: "ecert.*".into(),
            department: "d&x=1".into(),
            ..AuditFilters::default()
        };
        assert_eq!(
            filter_query(&filters),
            "action=ecert.*&department=d%26x%3D1"
        );
    }
}
