//! A department's seals: create, list, change status, history, and the seal's image.

use crate::auth::Acting;
use crate::extract::{ApiJson, Idempotency, JsonWithBytes, require_content_type};
use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_crypto::Algorithm;
use tongban_seal::registry::{self, Seal, SealKind, SealStatus};
use utoipa::ToSchema;

use super::{department_id, invalid, seal_id};

/// A seal.
#[derive(Serialize, ToSchema)]
pub struct SealBody {
    id: String,
    department_id: String,
    /// The department's USCC and a 3-digit sequence.
    code: String,
    /// `official`, `contract`, `finance`, `invoice` or `legal-representative`.
    kind: String,
    name: String,
    /// `active`, `suspended` or `revoked`.
    status: String,
    /// Serial of its certificate (hex), issued by the issuing CA.
    certificate_serial: String,
    /// End of validity, ms since the Unix epoch.
    valid_until: i64,
    /// `ES256` (P-256: PAdES, CAdES, JWS) or `SM2` (SM2 with SM3: GB/T 38540).
    algorithm: String,
}

impl From<Seal> for SealBody {
    fn from(s: Seal) -> Self {
        Self {
            id: s.id.to_string(),
            department_id: s.department_id.to_string(),
            code: s.code,
            kind: s.kind.name().to_owned(),
            name: s.name,
            status: s.status.name().to_owned(),
            certificate_serial: s.certificate_serial,
            valid_until: s.valid_until.unix_millis(),
            algorithm: s.algorithm.db_name().to_owned(),
        }
    }
}

/// A seal to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSealBody {
    /// `official`, `contract`, `finance`, `invoice` or `legal-representative`.
    kind: String,
    /// Name, e.g. 浙江省市场监督管理局合同专用章.
    name: String,
    /// `ES256` (the default) or `SM2`: the seal's key and certificate hierarchy.
    #[serde(default)]
    algorithm: Option<String>,
}

impl NewSealBody {
    fn algorithm(&self) -> Result<Algorithm, ApiError> {
        match self.algorithm.as_deref() {
            None | Some("ES256") => Ok(Algorithm::Es256),
            Some("SM2") => Ok(Algorithm::Sm2),
            Some(_) => Err(invalid("algorithm", "must be ES256 or SM2")),
        }
    }

    fn kind(&self) -> Result<SealKind, ApiError> {
        SealKind::parse(&self.kind).ok_or_else(|| {
            invalid(
                "kind",
                "must be official, contract, finance, invoice or legal-representative",
            )
        })
    }
}

/// Creates a seal: a new key (encrypted at rest) and a certificate from the issuing CA
/// of its algorithm (P-256 by default, or SM2) naming the department and its USCC. Seal
/// or department administrators only.
#[utoipa::path(post, path = "/api/v1/departments/{id}/seals", tag = "seals",
    params(("id" = String, Path, description = "department id")),
    request_body = NewSealBody,
    responses(
        (status = 201, description = "created", body = SealBody),
        (status = 403, description = "not an administrator of this department's seals", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "an SM2 seal asked of a platform without an SM2 issuing CA", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage"])))]
pub async fn create(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewSealBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (department, kind, name) = (department_id(&id)?, body.kind()?, &body.name);
    let algorithm = body.algorithm()?;
    let seal = (state.store)
        .transaction(async |tx| {
            registry::create(tx, &state.pki, &actor, department, kind, name, algorithm).await
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(SealBody::from(seal))))
}

/// Lists a department's seals (its staff, its client systems, administrators).
#[utoipa::path(get, path = "/api/v1/departments/{id}/seals", tag = "seals",
    params(("id" = String, Path, description = "department id")),
    responses(
        (status = 200, description = "the seals", body = Vec<SealBody>),
        (status = 403, description = "not of this department", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage", "seal:use"])))]
pub async fn list(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<SealBody>>, ApiError> {
    let mut conn = state.store.conn().await?;
    let seals = registry::of_department(&mut conn, &actor, department_id(&id)?).await?;
    Ok(axum::Json(seals.into_iter().map(Into::into).collect()))
}

/// A status change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// `active` (resume), `suspended` or `revoked` (final; revokes the certificate).
    status: String,
    /// Why, for the history.
    reason: Option<String>,
}

impl StatusBody {
    fn status(&self) -> Result<SealStatus, ApiError> {
        SealStatus::parse(&self.status)
            .ok_or_else(|| invalid("status", "must be active, suspended or revoked"))
    }
}

/// Suspends, resumes or revokes a seal. Revocation also revokes its certificate and
/// publishes a new CRL, in the same transaction. With `Idempotency-Key`, a retry
/// answers the first answer and changes nothing.
#[utoipa::path(post, path = "/api/v1/seals/{id}/status", tag = "seals",
    params(("id" = String, Path, description = "seal id"), ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (within 24 hours) answer the first response, and nothing is changed again")),
    request_body = StatusBody,
    responses(
        (status = 200, description = "the seal", body = SealBody),
        (status = 403, description = "not an administrator of this seal's department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is revoked, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage"])))]
pub async fn set_status(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    idempotency: Idempotency,
    JsonWithBytes(body, bytes): JsonWithBytes<StatusBody>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let (seal, status, reason) = (seal_id(&id)?, body.status()?, body.reason.as_deref());
    let (pki, now) = (&state.pki, Timestamp::now());
    let request = [b"seal status ", id.as_bytes(), b" ", &bytes].concat();
    let mut tx = state.store.begin().await?;
    let answer = idempotency
        .once(&mut tx, &actor, &request, now, async |tx| {
            let seal = registry::set_status(tx, pki, &actor, seal, status, reason).await?;
            Ok(SealBody::from(seal))
        })
        .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(axum::Json(answer))
}

/// One change of a seal.
#[derive(Serialize, ToSchema)]
pub struct HistoryBody {
    at: i64,
    actor: String,
    /// `created`, `suspended`, `resumed`, `revoked`, `granted`.
    change: String,
    #[schema(value_type = Object)]
    details: serde_json::Value,
}

impl From<registry::HistoryEntry> for HistoryBody {
    fn from(e: registry::HistoryEntry) -> Self {
        Self {
            at: e.at.unix_millis(),
            actor: e.actor,
            change: e.change,
            details: serde_json::from_str(&e.details).unwrap_or_default(),
        }
    }
}

/// A seal's history, oldest first.
#[utoipa::path(get, path = "/api/v1/seals/{id}/history", tag = "seals",
    params(("id" = String, Path, description = "seal id")),
    responses((status = 200, description = "every change", body = Vec<HistoryBody>)),
    security(("bearer" = ["seal:manage", "seal:use"])))]
pub async fn history(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<HistoryBody>>, ApiError> {
    let mut conn = state.store.conn().await?;
    let entries = registry::history(&mut conn, &actor, seal_id(&id)?).await?;
    Ok(axum::Json(entries.into_iter().map(Into::into).collect()))
}

/// Sets a seal's image: a PNG with transparency (at most 512 KiB, sides of 64 to
/// 1 024 pixels), shown on sealed PDFs instead of the stamp the service draws.
#[utoipa::path(put, path = "/api/v1/seals/{id}/image", tag = "seals",
    params(("id" = String, Path, description = "seal id")),
    request_body(content = crate::openapi::Binary, content_type = "image/png"),
    responses(
        (status = 204, description = "set"),
        (status = 403, description = "not an administrator of this seal's department", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not image/png", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a PNG, no transparency, or outside the size limits", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage"])))]
pub async fn set_image(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    require_content_type(&headers, "image/png")?;
    let mut tx = state.store.begin().await?;
    tongban_seal::image::set(&mut tx, &state.pki, &actor, seal_id(&id)?, &body).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A seal's uploaded image (404 while it uses the stamp the service draws).
#[utoipa::path(get, path = "/api/v1/seals/{id}/image", tag = "seals",
    params(("id" = String, Path, description = "seal id")),
    responses(
        (status = 200, description = "the PNG", body = crate::openapi::Binary, content_type = "image/png"),
        (status = 404, description = "no uploaded image", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage", "seal:use"])))]
pub async fn image(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let seal = seal_id(&id)?;
    let mut conn = state.store.conn().await?;
    let png = tongban_seal::image::of_seal(&mut conn, &actor, seal)
        .await?
        .ok_or_else(|| ApiError::new(ProblemType::NotFound, "no uploaded image"))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png))
}
