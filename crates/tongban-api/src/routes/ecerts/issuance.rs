//! Issuing one certificate (idempotent with `Idempotency-Key`).

use crate::auth::Acting;
use crate::extract::{Idempotency, JsonWithBytes};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_ecert::register::{HolderRef, Issuing, NewCertificate};
use utoipa::ToSchema;

use super::{CertificateBody, HolderBody, acting_for, base};

/// A certificate to issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCertificateBody {
    /// Type code.
    #[serde(rename = "type")]
    type_code: String,
    /// The issuing department, for a person who issues the type for several.
    #[serde(default)]
    department_id: Option<String>,
    holder: HolderBody,
    /// Face fields, checked against the type's schema.
    face: Value,
}

/// Issues one certificate: signed credential (VC-JWT with `x5c`), status-list entry
/// and audit record in one transaction. With `Idempotency-Key`, a retry answers the
/// first answer and creates nothing. Department systems and issuer staff (level 3).
#[utoipa::path(post, path = "/api/v1/certificates", tag = "ecerts",
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and body answer the first response")),
    request_body = NewCertificateBody,
    responses(
        (status = 201, description = "issued (or, for a repeated Idempotency-Key, issued before)", body = CertificateBody),
        (status = 403, description = "the caller does not issue this type", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such type", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the type's seal is suspended or revoked, or the key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "face data against the schema (each field in `errors`), the holder, or `department_id` missing for a person who issues the type for several departments", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn issue(
    State(state): State<AppState>,
    Acting(actor): Acting,
    idempotency: Idempotency,
    JsonWithBytes(body, bytes): JsonWithBytes<NewCertificateBody>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    let answer = idempotency
        .once(&mut tx, &actor, &bytes, now, async |tx| {
            let department = acting_for(body.department_id.as_deref())?;
            let issuing =
                Issuing::open(tx, &state.pki, &actor, &body.type_code, department).await?;
            let new = NewCertificate {
                holder: HolderRef {
                    id_number: body.holder.id_number,
                    name: body.holder.name,
                },
                face: body.face,
            };
            let issued = issuing.issue(tx, base(&state), &actor, &new, now).await?;
            Ok(CertificateBody::of(issued, now))
        })
        .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}
