//! The usage log: every application of a department's seals.

use crate::auth::Acting;
use crate::problem::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_seal::sign::{self, UsageFilter};
use tongban_seal::transparency;
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

/// Which page of a seal's log entries.
#[derive(Deserialize, IntoParams)]
pub struct SealLogQuery {
    /// The `next` cursor of the previous page (first page: none).
    after: Option<i64>,
    /// Page size, 1–1000 (default 100).
    limit: Option<i64>,
}

/// One transparency-log entry about a seal.
#[derive(Serialize, ToSchema)]
pub struct LoggedEntryBody {
    /// Its index in the log; absent while it waits for integration (at most 1 s).
    index: Option<u64>,
    /// Base64 leaf hash: its inclusion proof is at `/api/v1/log/proofs/inclusion`.
    leaf_hash: String,
    /// The entry as the log serves it (`kind`, `time`, `seal`, `certificate`, `format`,
    /// `document`, `signature`, …).
    #[schema(value_type = Object)]
    entry: serde_json::Value,
}

/// A page of a seal's entries in the transparency log, beside the uses the log holds
/// and the uses the department's own records hold.
#[derive(Serialize, ToSchema)]
pub struct SealLogBody {
    entries: Vec<LoggedEntryBody>,
    /// The cursor of the next page.
    next: Option<i64>,
    /// Uses of this seal in the log.
    logged_uses: i64,
    /// Uses of this seal in the usage records; a difference is worth asking about.
    recorded_uses: i64,
}

/// Everything the transparency log holds about one seal — its creation, status
/// changes and every use — for those who may read its usage log, in the order they were
/// appended.
#[utoipa::path(get, path = "/api/v1/seals/{id}/log", tag = "seals",
    params(("id" = String, Path, description = "seal id"), SealLogQuery),
    responses(
        (status = 200, description = "a page of entries", body = SealLogBody),
        (status = 403, description = "not a reader of this seal's usage log", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such seal", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "a limit out of range", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage", "seal:use"])))]
pub async fn seal_log(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    Query(query): Query<SealLogQuery>,
) -> Result<axum::Json<SealLogBody>, ApiError> {
    let (after, limit) = (query.after.unwrap_or(0), query.limit.unwrap_or(100));
    let mut conn = state.store.conn().await?;
    let page = transparency::seal_log(&mut conn, &actor, seal_id(&id)?, after, limit).await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(axum::Json(SealLogBody {
        entries: page
            .entries
            .into_iter()
            .map(|(_, stored)| LoggedEntryBody {
                index: stored.index,
                leaf_hash: base64::Engine::encode(&b64, stored.leaf_hash),
                entry: serde_json::to_value(&stored.entry).unwrap_or_default(),
            })
            .collect(),
        next: page.next,
        logged_uses: page.logged_uses,
        recorded_uses: page.recorded_uses,
    }))
}
