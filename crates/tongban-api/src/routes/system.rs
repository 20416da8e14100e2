//! Facts about this instance for API clients.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Version and storage facts of the instance that answered.
#[derive(Serialize, ToSchema)]
pub struct ServiceStatus {
    /// Version of the `tongban` binary.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    /// `sqlite` or `postgresql`.
    #[schema(example = "postgresql")]
    pub database: &'static str,
    /// Schema version of the database.
    pub schema_version: Option<i64>,
    /// Newest schema version this binary knows.
    pub binary_schema_version: i64,
}

/// The version of this instance and of its database schema.
#[utoipa::path(get, path = "/api/v1/status", tag = "system",
    responses(
        (status = 200, description = "instance facts", body = ServiceStatus),
        (status = 503, description = "database unavailable", body = Problem,
         content_type = "application/problem+json",
         headers(("Retry-After" = u32, description = "seconds to wait"))),
    ))]
pub async fn status(State(state): State<AppState>) -> Result<Json<ServiceStatus>, ApiError> {
    let schema = state.store.schema_status().await?;
    Ok(Json(ServiceStatus {
        version: env!("CARGO_PKG_VERSION"),
        database: state.store.engine().name(),
        schema_version: schema.database,
        binary_schema_version: schema.binary,
    }))
}
