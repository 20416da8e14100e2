//! People in the administration API: finding them (never the whole ID number shown)
//! and deactivating or reactivating them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_identity::admin::AdminError;
use tongban_identity::person_lifecycle;
use tongban_identity::subjects::SubjectId;
use tongban_store::Conn;
use utoipa::ToSchema;

use super::parse_id;
use crate::auth::Administering;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// What to look for.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct PersonsQuery {
    /// A name or part of one, an e-mail address, a resident ID number, or one masked as
    /// `110105********002X`; everyone when absent.
    q: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// People per page, 1 to 100 (20 when absent).
    limit: Option<i64>,
}

/// A person as administrators see them.
#[derive(Serialize, ToSchema)]
pub struct PersonSummaryBody {
    id: String,
    name: String,
    /// The resident ID number with the birth date and sequence hidden.
    resident_id_masked: String,
    email: Option<String>,
    /// Registered, ms since the epoch.
    created_at: i64,
    /// Deactivated, ms since the epoch; absent while active.
    #[serde(skip_serializing_if = "Option::is_none")]
    deactivated_at: Option<i64>,
}

/// A page of people.
#[derive(Serialize, ToSchema)]
pub struct PersonPageBody {
    items: Vec<PersonSummaryBody>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Finds natural persons by name, e-mail or resident ID number, a page at a time.
#[utoipa::path(get, path = "/api/v1/admin/persons", tag = "admin",
    params(PersonsQuery),
    responses(
        (status = 200, description = "a page of people, oldest registration first", body = PersonPageBody),
        (status = 422, description = "the limit is out of range", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn search_persons(
    State(state): State<AppState>,
    Administering(admin): Administering,
    Query(query): Query<PersonsQuery>,
) -> Result<axum::Json<PersonPageBody>, ApiError> {
    let mut conn = state.store.conn().await?;
    let page = person_lifecycle::search(
        &mut conn,
        &admin,
        query.q.as_deref().unwrap_or_default(),
        query.after.as_deref(),
        query.limit.unwrap_or(20),
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(|p| PersonSummaryBody {
            id: p.id.to_string(),
            name: p.name,
            resident_id_masked: p.resident_id_masked,
            email: p.email,
            created_at: p.created_at.unix_millis(),
            deactivated_at: p.deactivated_at.map(Timestamp::unix_millis),
        })
        .collect();
    Ok(axum::Json(PersonPageBody {
        items,
        next: page.next,
    }))
}

/// Deactivates a person: no login by any path, signed out everywhere, refresh tokens
/// revoked (access tokens run out within 10 minutes). Deactivating twice changes
/// nothing.
#[utoipa::path(post, path = "/api/v1/admin/persons/{id}/deactivate", tag = "admin",
    params(("id" = String, Path, description = "subject id of a natural person")),
    responses(
        (status = 204, description = "deactivated"),
        (status = 404, description = "no such person", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the id is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn deactivate_person(
    State(state): State<AppState>,
    Administering(admin): Administering,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let person: SubjectId = parse_id("id", &id)?;
    let now = Timestamp::now();
    let change = async |tx: &mut Conn| person_lifecycle::deactivate(tx, &admin, person, now).await;
    state.store.transaction::<_, AdminError>(change).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reactivates a person: they sign in again with the credentials they had.
#[utoipa::path(post, path = "/api/v1/admin/persons/{id}/reactivate", tag = "admin",
    params(("id" = String, Path, description = "subject id of a natural person")),
    responses(
        (status = 204, description = "active"),
        (status = 404, description = "no such person", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the id is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn reactivate_person(
    State(state): State<AppState>,
    Administering(admin): Administering,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let person: SubjectId = parse_id("id", &id)?;
    let change = async |tx: &mut Conn| person_lifecycle::reactivate(tx, &admin, person).await;
    state.store.transaction::<_, AdminError>(change).await?;
    Ok(StatusCode::NO_CONTENT)
}
