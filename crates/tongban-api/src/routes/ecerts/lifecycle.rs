//! A certificate's life after issuance: revoke, suspend, resume, reissue.

use crate::auth::Acting;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_ecert::register::{self, Change};
use utoipa::ToSchema;

use super::{CertificateBody, base, identifier, invalid};

/// A status change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeBody {
    /// `revoked` (final), `suspended`, or `active` (resume a suspended certificate).
    status: String,
    /// Why; required to revoke or suspend.
    #[serde(default)]
    reason: Option<String>,
}

impl StatusChangeBody {
    fn change(&self) -> Result<Change, ApiError> {
        match self.status.as_str() {
            "revoked" => Ok(Change::Revoke),
            "suspended" => Ok(Change::Suspend),
            "active" => Ok(Change::Resume),
            _ => Err(invalid("status", "must be revoked, suspended or active")),
        }
    }
}

/// Revokes, suspends or resumes a certificate; its status-list bit changes in the same
/// transaction. The issuing department only.
#[utoipa::path(post, path = "/api/v1/certificates/{identifier}/status", tag = "ecerts",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier")),
    request_body = StatusChangeBody,
    responses(
        (status = 200, description = "changed", body = CertificateBody),
        (status = 400, description = "not an identifier, or a wrong check character", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "not the issuing department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the change does not apply to the certificate's status", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no reason, or an unknown status", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn set_certificate_status(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<StatusChangeBody>,
) -> Result<axum::Json<CertificateBody>, ApiError> {
    let (id, change, now) = (identifier(&text)?, body.change()?, Timestamp::now());
    let reason = body.reason.as_deref();
    let changed = (state.store)
        .transaction(async |tx| register::change_status(tx, &actor, &id, change, reason, now).await)
        .await?;
    Ok(axum::Json(CertificateBody::of(changed, now)))
}

/// Changed face data for a re-issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReissueBody {
    /// The new face fields, checked against the type's schema.
    face: Value,
}

/// Re-issues a certificate with changed face data as its next version, which
/// supersedes it; both name each other. The issuing department only.
#[utoipa::path(post, path = "/api/v1/certificates/{identifier}/reissue", tag = "ecerts",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier")),
    request_body = ReissueBody,
    responses(
        (status = 201, description = "the new version", body = CertificateBody),
        (status = 400, description = "not an identifier, or a wrong check character", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "not the issuing department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "revoked or already superseded", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "face data against the schema", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn reissue(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<ReissueBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = identifier(&text)?;
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    let issued = register::reissue(
        &mut tx,
        &state.pki,
        base(&state),
        &actor,
        &id,
        body.face,
        now,
    )
    .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CertificateBody::of(issued, now)),
    ))
}
