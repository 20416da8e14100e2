//! The e-seal API: a department's seals, their status, history and grants, and
//! sealing (CAdES over digests or a file, detached JWS). Rules live in `tongban-seal`;
//! this module only moves bytes.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_identity::subjects::DepartmentId;
use tongban_seal::grants::{self, Grantee};
use tongban_seal::permissions::Actor;
use tongban_seal::registry::{self, Seal, SealId, SealKind, SealStatus};
use tongban_seal::sign::{self, UsageFilter};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authenticated;
use crate::extract::{ApiJson, read_document, require_content_type};
use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;

fn invalid(field: &str, reason: &str) -> ApiError {
    ApiError::new(ProblemType::InvalidRequest, format!("{field}: {reason}"))
}

fn seal_id(text: &str) -> Result<SealId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(ProblemType::NotFound, "seal not found"))
}

fn department_id(text: &str) -> Result<DepartmentId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(ProblemType::NotFound, "department not found"))
}

fn actor(auth: &Authenticated) -> Result<Actor, ApiError> {
    Ok(Actor::of(&auth.caller)?)
}

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
}

/// Creates a seal: a new key (encrypted at rest) and a certificate from the issuing CA
/// naming the department and its USCC. Seal or department administrators only.
#[utoipa::path(post, path = "/api/v1/departments/{id}/seals", tag = "seals",
    params(("id" = String, Path, description = "department id")),
    request_body = NewSealBody,
    responses(
        (status = 201, description = "created", body = SealBody),
        (status = 403, description = "not an administrator of this department's seals", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage"])))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewSealBody>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor(&auth)?;
    let department = department_id(&id)?;
    let kind = SealKind::parse(&body.kind).ok_or_else(|| {
        invalid(
            "kind",
            "must be official, contract, finance, invoice or legal-representative",
        )
    })?;
    let mut tx = state.store.begin().await?;
    let seal = registry::create(&mut tx, &state.pki, &actor, department, kind, &body.name).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
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
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<SealBody>>, ApiError> {
    let actor = actor(&auth)?;
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

/// Suspends, resumes or revokes a seal. Revocation also revokes its certificate and
/// publishes a new CRL, in the same transaction.
#[utoipa::path(post, path = "/api/v1/seals/{id}/status", tag = "seals",
    params(("id" = String, Path, description = "seal id")),
    request_body = StatusBody,
    responses(
        (status = 200, description = "the seal", body = SealBody),
        (status = 403, description = "not an administrator of this seal's department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage"])))]
pub async fn set_status(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<axum::Json<SealBody>, ApiError> {
    let actor = actor(&auth)?;
    let status = SealStatus::parse(&body.status)
        .ok_or_else(|| invalid("status", "must be active, suspended or revoked"))?;
    let mut tx = state.store.begin().await?;
    let seal = registry::set_status(
        &mut tx,
        &state.pki,
        &actor,
        seal_id(&id)?,
        status,
        body.reason.as_deref(),
    )
    .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(axum::Json(seal.into()))
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

/// A seal's history, oldest first.
#[utoipa::path(get, path = "/api/v1/seals/{id}/history", tag = "seals",
    params(("id" = String, Path, description = "seal id")),
    responses((status = 200, description = "every change", body = Vec<HistoryBody>)),
    security(("bearer" = ["seal:manage", "seal:use"])))]
pub async fn history(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<HistoryBody>>, ApiError> {
    let actor = actor(&auth)?;
    let mut conn = state.store.conn().await?;
    let entries = registry::history(&mut conn, &actor, seal_id(&id)?).await?;
    Ok(axum::Json(
        entries
            .into_iter()
            .map(|e| HistoryBody {
                at: e.at.unix_millis(),
                actor: e.actor,
                change: e.change,
                details: serde_json::from_str(&e.details).unwrap_or_default(),
            })
            .collect(),
    ))
}

/// A grant of a seal: to a staff member or to a client system of the department.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// A staff member's subject id (exactly one of `staff_id` and `client_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    staff_id: Option<String>,
    /// A client system's client_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// Each use must state a purpose.
    #[serde(default)]
    purpose_required: bool,
    /// End of the grant, ms since the Unix epoch; open-ended if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

/// Grants a seal to a staff member or a client system of its department.
#[utoipa::path(post, path = "/api/v1/seals/{id}/grants", tag = "seals",
    params(("id" = String, Path, description = "seal id")),
    request_body = GrantBody,
    responses(
        (status = 204, description = "granted"),
        (status = 403, description = "not an administrator of this seal's department", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the grantee is not of the seal's department", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage"])))]
pub async fn grant(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GrantBody>,
) -> Result<StatusCode, ApiError> {
    let actor = actor(&auth)?;
    let grantee = match (body.staff_id, body.client_id) {
        (Some(staff), None) => Grantee::Staff(staff),
        (None, Some(client)) => Grantee::Client(client),
        _ => {
            return Err(invalid(
                "grantee",
                "give exactly one of staff_id and client_id",
            ));
        }
    };
    let mut tx = state.store.begin().await?;
    grants::grant(
        &mut tx,
        &actor,
        seal_id(&id)?,
        &grantee,
        body.purpose_required,
        body.expires_at.map(Timestamp::from_unix_millis),
    )
    .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The grants of a seal.
#[utoipa::path(get, path = "/api/v1/seals/{id}/grants", tag = "seals",
    params(("id" = String, Path, description = "seal id")),
    responses((status = 200, description = "the grants", body = Vec<GrantBody>)),
    security(("bearer" = ["seal:manage", "seal:use"])))]
pub async fn grants(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<GrantBody>>, ApiError> {
    let actor = actor(&auth)?;
    let mut conn = state.store.conn().await?;
    let list = grants::of_seal(&mut conn, &actor, seal_id(&id)?).await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|g| {
                let (staff_id, client_id) = match g.grantee {
                    Grantee::Staff(s) => (Some(s), None),
                    Grantee::Client(c) => (None, Some(c)),
                };
                GrantBody {
                    staff_id,
                    client_id,
                    purpose_required: g.purpose_required,
                    expires_at: g.expires_at.map(Timestamp::unix_millis),
                }
            })
            .collect(),
    ))
}

/// Digests to seal.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DigestsBody {
    /// SHA-256 digests, 64 hex characters each; 1 to 1 000.
    digests: Vec<String>,
    /// Why (用印事由); required when the grant says so.
    purpose: Option<String>,
}

/// One CAdES signature.
#[derive(Serialize, ToSchema)]
pub struct DigestSignature {
    /// The digest it covers.
    digest: String,
    /// Detached CMS SignedData (`.p7s`, DER), base64: CAdES B-T.
    p7s: String,
}

/// The signatures, in the order of the digests.
#[derive(Serialize, ToSchema)]
pub struct DigestSignatures {
    signatures: Vec<DigestSignature>,
}

fn parse_digest(index: usize, text: &str) -> Result<[u8; 32], ApiError> {
    tongban_crypto::cms::parse_sha256_hex(text).ok_or_else(|| {
        invalid(
            &format!("digests[{index}]"),
            "must be 64 hex characters (SHA-256)",
        )
    })
}

/// Seals SHA-256 digests (the documents never leave the caller): one CAdES B-T
/// detached signature per digest, with a time-stamp from our TSA. Each use is
/// recorded in the transaction that signs.
#[utoipa::path(post, path = "/api/v1/seals/{id}/cades", tag = "seals",
    params(("id" = String, Path, description = "seal id")),
    request_body = DigestsBody,
    responses(
        (status = 200, description = "the signatures", body = DigestSignatures),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a digest is malformed, or a required purpose is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn cades_digests(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DigestsBody>,
) -> Result<axum::Json<DigestSignatures>, ApiError> {
    let actor = actor(&auth)?;
    let digests = body
        .digests
        .iter()
        .enumerate()
        .map(|(i, d)| parse_digest(i, d))
        .collect::<Result<Vec<_>, _>>()?;
    let signatures = sign::cades_digests(
        &state.store,
        &state.pki,
        &actor,
        seal_id(&id)?,
        &digests,
        body.purpose.as_deref(),
    )
    .await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(axum::Json(DigestSignatures {
        signatures: body
            .digests
            .into_iter()
            .zip(signatures)
            .map(|(digest, p7s)| DigestSignature {
                digest: digest.to_ascii_lowercase(),
                p7s: b64.encode(p7s),
            })
            .collect(),
    }))
}

/// Query of the file-sealing calls.
#[derive(Deserialize, IntoParams)]
pub struct PurposeQuery {
    /// Why (用印事由); required when the grant says so.
    purpose: Option<String>,
}

/// Seals a file: a CAdES B-T detached signature (`.p7s`) over the request body.
#[utoipa::path(post, path = "/api/v1/seals/{id}/cades/file", tag = "seals",
    params(("id" = String, Path, description = "seal id"), PurposeQuery),
    request_body(content = crate::openapi::Binary, content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "the detached signature", body = crate::openapi::Binary, content_type = "application/pkcs7-signature"),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "empty body, or a required purpose is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn cades_file(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor(&auth)?;
    if body.is_empty() {
        return Err(invalid("body", "the file is empty"));
    }
    let digest = tongban_crypto::cms::sha256(&body);
    let mut signatures = sign::cades_digests(
        &state.store,
        &state.pki,
        &actor,
        seal_id(&id)?,
        &[digest],
        query.purpose.as_deref(),
    )
    .await?;
    let p7s = signatures.pop().unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "application/pkcs7-signature")], p7s))
}

/// Seals bytes or JSON as a detached JWS (compact, `header..signature`) with the
/// certificate chain in `x5c` and the signing time in `sigT`.
#[utoipa::path(post, path = "/api/v1/seals/{id}/jws", tag = "seals",
    params(("id" = String, Path, description = "seal id"), PurposeQuery),
    request_body(content = crate::openapi::Binary, content_type = "application/octet-stream", description = "the payload, any bytes (JSON as it is)"),
    responses(
        (status = 200, description = "the detached JWS", body = String, content_type = "application/jose"),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "empty body, or a required purpose is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn jws(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor(&auth)?;
    if body.is_empty() {
        return Err(invalid("body", "the payload is empty"));
    }
    let jws = sign::jws_detached(
        &state.store,
        &state.pki,
        &actor,
        seal_id(&id)?,
        &body,
        query.purpose.as_deref(),
    )
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/jose")], jws))
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
    auth: Authenticated,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let actor = actor(&auth)?;
    require_content_type(&headers, "image/png")?;
    let mut tx = state.store.begin().await?;
    tongban_seal::image::set(&mut tx, &actor, seal_id(&id)?, &body).await?;
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
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor(&auth)?;
    let seal = seal_id(&id)?;
    let mut conn = state.store.conn().await?;
    let png = tongban_seal::image::of_seal(&mut conn, &actor, seal)
        .await?
        .ok_or_else(|| ApiError::new(ProblemType::NotFound, "no uploaded image"))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png))
}

/// Where the seal goes on the page and what the signature states.
#[derive(Deserialize, IntoParams)]
pub struct PadesQuery {
    /// 1-based page (default 1).
    page: Option<u32>,
    /// Lower-left corner of the seal, PDF points from the page's lower-left corner
    /// (default 400).
    x: Option<f32>,
    /// Lower-left corner, PDF points (default 80).
    y: Option<f32>,
    /// Width and height of the seal, PDF points, 20–600 (default 120).
    size: Option<f32>,
    /// /Reason of the signature.
    reason: Option<String>,
    /// /Location of the signature.
    location: Option<String>,
    /// Why (用印事由) for the usage log; required when the grant says so.
    purpose: Option<String>,
}

/// Seals a PDF: PAdES baseline B-T (ETSI.CAdES.detached, ESS signing-certificate-v2,
/// the chain, a signature time-stamp from our TSA) in an incremental update, with the
/// seal visible at the given place. Earlier signatures stay valid.
#[utoipa::path(post, path = "/api/v1/seals/{id}/pades", tag = "seals",
    params(("id" = String, Path, description = "seal id"), PadesQuery),
    request_body(content = crate::openapi::Binary, content_type = "application/pdf"),
    responses(
        (status = 200, description = "the sealed PDF", body = crate::openapi::Binary, content_type = "application/pdf"),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "over http.document_limit_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not application/pdf", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a PDF we can seal (truncated, broken, encrypted), or a bad placement", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn pades(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Query(query): Query<PadesQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor(&auth)?;
    require_content_type(&headers, "application/pdf")?;
    // The seal is looked up and the caller's right checked while the document arrives
    // (documents have their own, larger limit than API bodies).
    let seal = seal_id(&id)?;
    let purpose = query.purpose.as_deref();
    let checking = sign::check_pades(&state.store, &actor, seal, purpose, sign::Authority::Grant);
    let reading = read_document::<sign::Incoming>(body, &headers, state.http.document_limit_bytes);
    // Both run to their end (a refusal is audited even when the body fails too), and
    // a refusal is what the caller hears first.
    let (checked, document) = tokio::join!(checking, reading);
    let (checked, document) = (checked?, document?);
    if document.is_empty() {
        return Err(invalid("pdf", "the body is empty"));
    }
    let placement = tongban_seal::pdf::Placement {
        page: query.page.unwrap_or(1),
        x: query.x.unwrap_or(400.0),
        y: query.y.unwrap_or(80.0),
        size: query.size.unwrap_or(120.0),
    };
    let statement = (query.reason, query.location);
    let sealed = sign::pades(
        &state.store,
        &state.pki,
        checked,
        document,
        placement,
        statement,
    )
    .await?;
    Ok(sealed_pdf(sealed))
}

/// A sealed PDF as a response: the original and the update go out as they are, so the
/// document is never copied whole (peak memory stays near one document).
pub(crate) fn sealed_pdf(sealed: tongban_seal::pdf::Sealed) -> axum::response::Response {
    let length = sealed.original.len() + sealed.update.len();
    let parts = [sealed.original, sealed.update]
        .map(|part| Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(part)));
    let body = axum::body::Body::from_stream(futures_util::stream::iter(parts));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(length)),
        ],
        body,
    )
        .into_response()
}

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
    digest_sha256: String,
    /// `cades`, `pades` or `jws`.
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
    auth: Authenticated,
    Path(id): Path<String>,
    Query(query): Query<UsageQuery>,
) -> Result<axum::Json<Vec<UsageBody>>, ApiError> {
    let actor = actor(&auth)?;
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
                format: u.format,
                purpose: u.purpose,
                at: u.at.unix_millis(),
            })
            .collect(),
    ))
}
