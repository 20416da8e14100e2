//! Issuing one certificate (idempotent with `Idempotency-Key`).

use crate::auth::Authenticated;
use crate::extract::parse_json;
use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_ecert::idempotency;
use tongban_ecert::register::{HolderRef, Issuing, NewCertificate};
use utoipa::ToSchema;

use super::{CertificateBody, HolderBody, acting_for, actor, base, idempotency_key};

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
    auth: Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = actor(&auth)?;
    let key = idempotency_key(&headers)?;
    if !crate::extract::is_json(&headers) {
        return Err(ApiError::new(
            ProblemType::UnsupportedMediaType,
            "expected Content-Type: application/json",
        ));
    }
    let parsed: NewCertificateBody = parse_json(&body)?;
    let hash = idempotency::request_hash(&body);
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    if let Some(key) = &key
        && let Some(answer) = idempotency::recall(&mut tx, &actor.label(), key, &hash).await?
    {
        return Ok((StatusCode::CREATED, axum::Json(answer)).into_response());
    }
    let department = acting_for(parsed.department_id.as_deref())?;
    let issuing = Issuing::open(&mut tx, &state.pki, &actor, &parsed.type_code, department).await?;
    let new = NewCertificate {
        holder: HolderRef {
            id_number: parsed.holder.id_number,
            name: parsed.holder.name,
        },
        face: parsed.face,
    };
    let issued = issuing
        .issue(&mut tx, base(&state), &actor, &new, now)
        .await?;
    let answer = serde_json::to_value(CertificateBody::of(issued, now))
        .map_err(|_| ApiError::bare(ProblemType::Internal))?;
    if let Some(key) = &key {
        idempotency::remember(&mut tx, &actor.label(), key, &hash, &answer, now).await?;
    }
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}
