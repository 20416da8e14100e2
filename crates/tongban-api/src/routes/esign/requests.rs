//! Signing requests (签署任务) for department systems and portals (scope
//! `sign:request`): create one, read its state, collect the signed PDFs, release them.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_esign::requests::{self, NewDocument, NewRequest, SignerRef, SigningRequest};
use tongban_seal::pdf::Placement;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::extract::{Idempotency, JsonWithBytes};
use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;

/// Who signs: exactly one of `id_number` and `sub`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignerBody {
    /// The person's resident ID number.
    #[serde(default)]
    id_number: Option<String>,
    /// The `sub` your portal knows the person by (pairwise for third-party portals).
    #[serde(default)]
    sub: Option<String>,
}

/// One document to sign, and where the signature goes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentBody {
    /// Its name, shown to the person (1–200 characters).
    name: String,
    /// The PDF, base64.
    pdf: String,
    /// Page of the signature, from 1.
    page: u32,
    /// Lower-left corner of the signature, PDF points from the page's lower-left.
    x: f32,
    /// Lower-left corner, PDF points.
    y: f32,
    /// Width and height of the (square) signature, 20–600 points.
    size: f32,
}

/// A new signing request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequestBody {
    /// Who signs.
    signer: SignerBody,
    /// Why, shown to the person (1–500 characters).
    purpose: String,
    /// 1 to 20 PDFs.
    documents: Vec<DocumentBody>,
    /// When the request expires, ms since the Unix epoch (at most 30 days ahead).
    deadline: i64,
    /// Where a signed JWT (`typ` `signing-event+jwt`, our token key) announces that the
    /// request ended: https (http only to loopback, in development).
    #[serde(default)]
    callback_url: Option<String>,
}

/// A document of a request.
#[derive(Serialize, ToSchema)]
pub struct DocumentState {
    /// From 1.
    position: i64,
    /// Name.
    name: String,
    /// SHA-256 of the PDF as sent, hex.
    sha256: String,
    /// Pages.
    pages: i64,
    /// SHA-256 of the signed PDF, once signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_sha256: Option<String>,
    /// Whether the PDF is still kept (until collected, declined or expired).
    kept: bool,
}

/// A signing request's state.
#[derive(Serialize, ToSchema)]
pub struct RequestState {
    /// Its id.
    id: String,
    /// `pending`, `signed`, `declined` or `expired`.
    status: String,
    /// Why the person declined.
    #[serde(skip_serializing_if = "Option::is_none")]
    decline_reason: Option<String>,
    /// Why.
    purpose: String,
    /// Deadline, ms since the Unix epoch.
    deadline: i64,
    /// Created, ms.
    created_at: i64,
    /// Signed, declined or expired, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<i64>,
    /// Collected, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    collected_at: Option<i64>,
    /// Where the person signs: send them here.
    sign_url: String,
    /// The documents.
    documents: Vec<DocumentState>,
}

fn state_of(request: SigningRequest, public_url: &str, now: Timestamp) -> RequestState {
    RequestState {
        status: requests::shown_status(&request, now).to_owned(),
        sign_url: format!("{}/sign/{}", public_url.trim_end_matches('/'), request.id),
        id: request.id,
        decline_reason: request.decline_reason,
        purpose: request.purpose,
        deadline: request.deadline.unix_millis(),
        created_at: request.created_at.unix_millis(),
        completed_at: request.completed_at.map(Timestamp::unix_millis),
        collected_at: request.collected_at.map(Timestamp::unix_millis),
        documents: request
            .documents
            .into_iter()
            .map(|d| DocumentState {
                position: d.position,
                name: d.name,
                sha256: d.sha256,
                pages: d.pages,
                signed_sha256: d.signed_sha256,
                kept: d.kept,
            })
            .collect(),
    }
}

fn new_request(body: NewRequestBody) -> Result<NewRequest, ApiError> {
    let invalid = |field: &str, reason: &str| {
        ApiError::new(ProblemType::InvalidRequest, format!("{field}: {reason}"))
    };
    let signer = match (body.signer.id_number, body.signer.sub) {
        (Some(number), None) => SignerRef::IdNumber(number),
        (None, Some(sub)) => SignerRef::Sub(sub),
        _ => return Err(invalid("signer", "give exactly one of id_number and sub")),
    };
    let documents = body
        .documents
        .into_iter()
        .map(|d| {
            let pdf = B64
                .decode(d.pdf.as_bytes())
                .map_err(|_| invalid("documents.pdf", "not base64"))?;
            Ok(NewDocument {
                name: d.name,
                pdf,
                placement: Placement {
                    page: d.page,
                    x: d.x,
                    y: d.y,
                    size: d.size,
                },
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(NewRequest {
        signer,
        purpose: body.purpose,
        documents,
        deadline: Timestamp::from_unix_millis(body.deadline),
        callback_url: body.callback_url,
    })
}

/// Asks a person to sign 1–20 PDFs; send them to `sign_url`. With `Idempotency-Key`,
/// a retry creates nothing and answers the request the first call created.
#[utoipa::path(post, path = "/api/v1/signing-requests", tag = "signing",
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (within 24 hours, by the same client for the same person) create nothing and answer the request the first call created, as it stands now")),
    request_body = NewRequestBody,
    responses(
        (status = 201, description = "created (or, for a retry, the request the first call created)", body = RequestState),
        (status = 403, description = "no scope sign:request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the Idempotency-Key was used for another request, or a copy of this one is being created right now", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is not acceptable (an unknown signer, a PDF that cannot be signed there, a deadline, a callback URL that is not https)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["sign:request"])))]
pub async fn create_signing_request(
    State(state): State<AppState>,
    auth: Authenticated,
    idempotency: Idempotency,
    JsonWithBytes(body, bytes): JsonWithBytes<NewRequestBody>,
) -> Result<(StatusCode, axum::Json<RequestState>), ApiError> {
    let now = Timestamp::now();
    let new = new_request(body)?;
    let dev = state.development;
    let request = idempotency.request(&bytes);
    let retryable = idempotency.key().map(|key| requests::Retryable {
        key,
        request: &request,
    });
    let created = requests::create(&state.store, &auth.caller, new, retryable, dev, now).await?;
    let body = state_of(created, &state.public_url, now);
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// A signing request's state, for its requester (its client, or another client system
/// of the same department).
#[utoipa::path(get, path = "/api/v1/signing-requests/{id}", tag = "signing",
    params(("id" = String, Path, description = "request id")),
    responses(
        (status = 200, description = "the request", body = RequestState),
        (status = 403, description = "no scope sign:request", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request of yours", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["sign:request"])))]
pub async fn signing_request(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<RequestState>, ApiError> {
    let mut conn = state.store.conn().await?;
    let request = requests::for_requester(&mut conn, &auth.caller, &id).await?;
    let now = Timestamp::now();
    Ok(axum::Json(state_of(request, &state.public_url, now)))
}

/// A signed PDF of a signed request.
#[utoipa::path(get, path = "/api/v1/signing-requests/{id}/documents/{position}", tag = "signing",
    params(("id" = String, Path, description = "request id"), ("position" = i64, Path, description = "document, from 1")),
    responses(
        (status = 200, description = "the signed PDF (PAdES B-T)", content_type = "application/pdf"),
        (status = 404, description = "no such request or document, or no longer kept", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the request is not signed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["sign:request"])))]
pub async fn signed_document(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((id, position)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let mut conn = state.store.conn().await?;
    let pdf = requests::signed_document(&mut conn, &auth.caller, &id, position).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

/// Says the signed PDFs are collected: they are erased.
#[utoipa::path(post, path = "/api/v1/signing-requests/{id}/collected", tag = "signing",
    params(("id" = String, Path, description = "request id")),
    responses(
        (status = 200, description = "the request, its documents erased", body = RequestState),
        (status = 404, description = "no such request of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the request is still pending", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["sign:request"])))]
pub async fn signing_request_collected(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<RequestState>, ApiError> {
    let now = Timestamp::now();
    let request = requests::collected(&state.store, &auth.caller, &id, now).await?;
    Ok(axum::Json(state_of(request, &state.public_url, now)))
}
