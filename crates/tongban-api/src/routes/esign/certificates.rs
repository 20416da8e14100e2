//! Administrators revoke a person's signing certificate (the person does it on their
//! signing certificate page).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use tongban_core::time::Timestamp;
use tongban_esign::certificates;

use crate::auth::Administering;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Revokes a person's signing certificate at once (reason privilegeWithdrawn); the CRL
/// that lists it is published in the same transaction.
#[utoipa::path(post, path = "/api/v1/admin/signing-certificates/{id}/revoke", tag = "admin",
    params(("id" = String, Path, description = "signing certificate id")),
    responses(
        (status = 204, description = "revoked"),
        (status = 403, description = "not a platform administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such certificate", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "revoked already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn admin_revoke_signing_certificate(
    State(state): State<AppState>,
    Administering(admin): Administering,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = Timestamp::now();
    certificates::revoke_by_admin(&state.store, &state.pki, &admin, &id, now).await?;
    Ok(StatusCode::NO_CONTENT)
}
