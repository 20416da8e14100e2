//! The usage log: every application of a department's seals.

use crate::auth::Acting;
use crate::problem::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_seal::sign::{self, UsageFilter};
use utoipa::{IntoParams, ToSchema};

use super::seal_id;

/// Filters of the usage log.
#[derive(Deserialize, IntoParams)]
pub struct UsageQuery {
    /// Only this actor (`subject:<id>` or `client:<id>`).
    actor: Option<String>,
    /// From, ms since the Unix epoch.
    from: Option<i64>,
    /// Until (exclusive), ms since the Unix epoch.
    until: Option<i64>,
    /// Page size, 1–100 (default 50).
    limit: Option<i64>,
    /// Entries to skip.
    offset: Option<i64>,
}

/// One use of a seal.
#[derive(Serialize, ToSchema)]
pub struct UsageBody {
    actor: String,
    client_id: String,
    /// SHA-256 of what was sealed, hex (PAdES, CAdES, JWS).
    digest_sha256: Option<String>,
    /// SM3 of what was sealed, hex (GB/T 38540).
    digest_sm3: Option<String>,
    /// `cades`, `pades`, `jws` or `ses`.
    format: String,
    purpose: Option<String>,
    at: i64,
}

/// A seal's usage log, newest first.
#[utoipa::path(get, path = "/api/v1/seals/{id}/usages", tag = "seals",
    params(("id" = String, Path, description = "seal id"), UsageQuery),
    responses((status = 200, description = "a page of uses", body = Vec<UsageBody>)),
    security(("bearer" = ["seal:manage", "seal:use"])))]
pub async fn usages(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    Query(query): Query<UsageQuery>,
) -> Result<axum::Json<Vec<UsageBody>>, ApiError> {
    let filter = UsageFilter {
        actor: query.actor,
        from: query.from.map(Timestamp::from_unix_millis),
        until: query.until.map(Timestamp::from_unix_millis),
        limit: query.limit,
        offset: query.offset,
    };
    let mut conn = state.store.conn().await?;
    let list = sign::usages(&mut conn, &actor, seal_id(&id)?, &filter).await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|u| UsageBody {
                actor: u.actor,
                client_id: u.client_id,
                digest_sha256: u.digest_sha256,
                digest_sm3: u.digest_sm3,
                format: u.format,
                purpose: u.purpose,
                at: u.at.unix_millis(),
            })
            .collect(),
    ))
}
