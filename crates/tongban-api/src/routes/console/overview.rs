//! The console's overview: a department's last 30 days as charts (certificates issued,
//! seal uses, verifications; refused logins for the platform), for those who read its
//! audit trail.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_ecert::EcertError;
use tongban_ecert::overview;
use tongban_identity::console::ConsoleError;
use tongban_identity::subjects::DepartmentId;

use super::{reading, refused};
use crate::extract::PageQuery;
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::console as view;

/// The overview's query.
#[derive(Deserialize, Default)]
pub struct OverviewQuery {
    /// The department; empty: every department (a platform administrator's); absent:
    /// the reader's first.
    #[serde(default)]
    department: Option<String>,
}

/// The overview of one department (or, for a platform administrator, of all) over the
/// last 30 days.
#[utoipa::path(get, path = "/console/overview", tag = "console",
    params(("department" = Option<String>, Query, description = "the department's id; empty: every department (platform administrators); absent: the reader's first department")),
    responses(
        (status = 200, description = "the charts, each with its table", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not an administrator of that department", content_type = "text/html"),
    ))]
pub async fn overview_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<OverviewQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (conn, desk, reader, departments) = match reading(&state, &headers, prefs).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    drop(conn);
    // No choice made yet: a department administrator's first department, everything
    // for a platform administrator. An id that is not a department is nobody's.
    let department = match query.department.as_deref().map(str::trim) {
        None => reader.departments().and_then(|mine| mine.first().copied()),
        Some("") => None,
        Some(id) => match id.parse::<DepartmentId>() {
            Ok(id) => Some(id),
            Err(_) => return refused(prefs, Some(&desk), &ConsoleError::NotAllowed),
        },
    };
    let everything = reader.departments().is_none();
    match overview::overview(&state.store, &reader, department, Timestamp::now()).await {
        Ok(found) => web::no_store(view::overview(prefs, &found, (&departments, everything))),
        Err(EcertError::Denied(_)) => refused(prefs, Some(&desk), &ConsoleError::NotAllowed),
        Err(error) => store_page(error),
    }
}
