//! A certificate's life after issuance: revoke, suspend, resume, reissue.

use crate::auth::Acting;
use crate::extract::{Idempotency, JsonWithBytes};
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
/// transaction. The issuing department only. With `Idempotency-Key`, a retry answers
/// the first answer and changes nothing.
#[utoipa::path(post, path = "/api/v1/certificates/{identifier}/status", tag = "ecerts",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier"), ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (within 24 hours) answer the first response, and nothing is changed again")),
    request_body = StatusChangeBody,
    responses(
        (status = 200, description = "changed", body = CertificateBody),
        (status = 400, description = "not an identifier, or a wrong check character", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "not the issuing department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the change does not apply to the certificate's status, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no reason, or an unknown status", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn set_certificate_status(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(text): Path<String>,
    idempotency: Idempotency,
    JsonWithBytes(body, bytes): JsonWithBytes<StatusChangeBody>,
) -> Result<axum::Json<Value>, ApiError> {
    let (id, change, now) = (identifier(&text)?, body.change()?, Timestamp::now());
    let reason = body.reason.as_deref();
    let request = [b"status ", text.as_bytes(), b" ", &bytes].concat();
    let mut tx = state.store.begin().await?;
    let answer = idempotency
        .once(&mut tx, &actor, &request, now, async |tx| {
            let changed = register::change_status(
                tx,
                state.store.changes(),
                &actor,
                &id,
                change,
                reason,
                now,
            )
            .await?;
            Ok(CertificateBody::of(changed, now))
        })
        .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(axum::Json(answer))
}

/// Changed face data for a re-issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReissueBody {
    /// The new face fields, checked against the type's schema.
    face: Value,
}

/// Re-issues a certificate with changed face data as its next version, which
/// supersedes it; both name each other. The issuing department only. With
/// `Idempotency-Key`, a retry answers the first new version and issues nothing.
#[utoipa::path(post, path = "/api/v1/certificates/{identifier}/reissue", tag = "ecerts",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier"), ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (within 24 hours) answer the first response, and nothing is changed again")),
    request_body = ReissueBody,
    responses(
        (status = 201, description = "the new version", body = CertificateBody),
        (status = 400, description = "not an identifier, or a wrong check character", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "not the issuing department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "revoked or already superseded, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "face data against the schema", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn reissue(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(text): Path<String>,
    idempotency: Idempotency,
    JsonWithBytes(body, bytes): JsonWithBytes<ReissueBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = identifier(&text)?;
    let now = Timestamp::now();
    let request = [b"reissue ", text.as_bytes(), b" ", &bytes].concat();
    let mut tx = state.store.begin().await?;
    let answer = idempotency
        .once(&mut tx, &actor, &request, now, async |tx| {
            let issued = register::reissue(
                tx,
                state.store.changes(),
                &state.pki,
                base(&state),
                &actor,
                &id,
                body.face,
                now,
            )
            .await?;
            Ok(CertificateBody::of(issued, now))
        })
        .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok((StatusCode::CREATED, axum::Json(answer)))
}
