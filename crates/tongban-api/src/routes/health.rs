//! Liveness, readiness and metrics for operators and orchestrators.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;

/// A readiness probe must answer quickly even when the database hangs.
const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is alive.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `alive`.
    #[schema(example = "alive")]
    pub status: &'static str,
}

/// The instance can serve requests.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// Always `ready`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// `sqlite` or `postgresql`.
    #[schema(example = "sqlite")]
    pub database: &'static str,
    /// Schema version of the database, equal to this binary's.
    pub schema_version: i64,
}

/// Liveness: the process runs and answers. Never touches the database.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "alive" })
}

/// Readiness: the database answers and its schema is exactly this binary's version.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "ready", body = Readiness),
        (status = 503, description = "database unreachable or schema not current",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u32, description = "seconds to wait"))),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    let check = async {
        state.store.ping().await?;
        state.store.schema_status().await
    };
    let status = match tokio::time::timeout(READY_CHECK_TIMEOUT, check).await {
        Err(_) => return Err(not_ready("the database did not answer in time")),
        Ok(Err(error)) => {
            // The driver's words stay in our logs; callers are anonymous.
            tracing::warn!(%error, "readiness check failed");
            return Err(not_ready("the database is unreachable"));
        }
        Ok(Ok(status)) => status,
    };
    match status.database {
        Some(version) if status.is_current() => Ok(Json(Readiness {
            status: "ready",
            database: state.store.engine().name(),
            schema_version: version,
        })),
        database => Err(not_ready(&format!(
            "database schema version {} differs from this binary's {}",
            database.map_or_else(|| "none".to_owned(), |v| v.to_string()),
            status.binary
        ))),
    }
}

fn not_ready(detail: &str) -> ApiError {
    ApiError::new(ProblemType::NotReady, detail)
}

/// Prometheus metrics: request counts and latency histograms by route template and
/// status, database pool size, idle connections and wait time.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format",
               body = String, content_type = "text/plain; version=0.0.4")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let text = state
        .metrics
        .render(&state.store.pool_stats(), state.store.engine().name());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
