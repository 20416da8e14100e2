//! GB/T 38540 for SM2 seals: the seal's electronic seal (`SESeal`), and electronic
//! signatures (`SES_Signature`) over SM3 digests or a file.

use crate::auth::Acting;
use crate::extract::{Idempotency, JsonWithBytes, read_document, require_content_type};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tongban_seal::pdf_sealing::{self, Incoming};
use tongban_seal::ses::{self, Item};
use tongban_seal::sign::{Authority, Format};
use utoipa::{IntoParams, ToSchema};

use super::sealing::{PadesQuery, sealed_pdf};
use super::{invalid, seal_id};

/// DER of GB/T 38540 data has no registered media type.
const DER: &str = "application/octet-stream";

/// An SM2 seal's electronic seal (电子印章, GB/T 38540-2020 `SESeal` v4, DER), made by
/// the platform's seal maker when the seal's image was set.
#[utoipa::path(get, path = "/api/v1/seals/{id}/eseal", tag = "seals",
    params(("id" = String, Path, description = "seal id")),
    responses(
        (status = 200, description = "the SESeal (DER)", body = crate::openapi::Binary, content_type = "application/octet-stream"),
        (status = 403, description = "not staff of this seal's department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such seal", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a P-256 seal, or an SM2 seal without an image yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage", "seal:use"])))]
pub async fn eseal(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let seal = seal_id(&id)?;
    let mut conn = state.store.conn().await?;
    let der = ses::eseal(&mut conn, &actor, seal).await?;
    let disposition = format!("attachment; filename=\"{seal}.esl\"");
    Ok((
        [
            (header::CONTENT_TYPE, DER.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        der,
    ))
}

/// One digest to sign.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SesDigest {
    /// SM3 of the file, 64 hex characters.
    sm3: String,
    /// What the file is (`propertyInfo`): its name, 1 to 256 ASCII characters.
    property_info: String,
}

/// Digests to sign.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SesDigestsBody {
    /// 1 to 1 000.
    digests: Vec<SesDigest>,
    /// Why (用印事由); required when the grant says so.
    purpose: Option<String>,
}

/// One electronic signature.
#[derive(Serialize, ToSchema)]
pub struct SesSignatureBody {
    /// The SM3 digest it covers.
    sm3: String,
    /// `SES_Signature` v4 (DER), base64.
    ses: String,
}

/// The signatures, in the order of the digests.
#[derive(Serialize, ToSchema)]
pub struct SesSignatures {
    signatures: Vec<SesSignatureBody>,
}

/// Signs SM3 digests with an SM2 seal (the documents never leave the caller): one
/// GB/T 38540 electronic signature (`SES_Signature` v4) per digest, its `TBS_Sign`
/// holding the seal's `SESeal`, the time, the digest and the file's name, signed SM2
/// with SM3 by the seal's key. Each use is recorded in the transaction that signs.
#[utoipa::path(post, path = "/api/v1/seals/{id}/ses", tag = "seals",
    params(("id" = String, Path, description = "seal id"), ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (within 24 hours) answer the first signature, and nothing is signed again")),
    request_body = SesDigestsBody,
    responses(
        (status = 200, description = "the signatures", body = SesSignatures),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired, a P-256 seal, or has no image yet", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a digest or file name is malformed, or a required purpose is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn digests(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    idempotency: Idempotency,
    JsonWithBytes(body, bytes): JsonWithBytes<SesDigestsBody>,
) -> Result<axum::Json<SesSignatures>, ApiError> {
    let once = idempotency.sealing(&[b"ses", id.as_bytes(), &bytes])?;
    let items = body
        .digests
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Ok(Item {
                digest: super::sealing::parse_digest(&format!("digests[{i}].sm3"), "SM3", &d.sm3)?,
                property_info: d.property_info.clone(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let (store, pki, purpose) = (&state.store, &state.pki, body.purpose.as_deref());
    let seal = seal_id(&id)?;
    let signed =
        ses::sign_digests(store, pki, &actor, seal, &items, purpose, once.as_ref()).await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(axum::Json(SesSignatures {
        signatures: body
            .digests
            .into_iter()
            .zip(signed)
            .map(|(digest, der)| SesSignatureBody {
                sm3: digest.sm3.to_ascii_lowercase(),
                ses: b64.encode(der),
            })
            .collect(),
    }))
}

/// Query of the file-signing call.
#[derive(Deserialize, IntoParams)]
pub struct SesFileQuery {
    /// The file's name (`propertyInfo`), 1 to 256 ASCII characters.
    name: String,
    /// Why (用印事由); required when the grant says so.
    purpose: Option<String>,
}

/// Signs a file with an SM2 seal: a GB/T 38540 electronic signature (`SES_Signature`
/// v4, DER) whose `dataHash` is the SM3 of the request body.
#[utoipa::path(post, path = "/api/v1/seals/{id}/ses/file", tag = "seals",
    params(("id" = String, Path, description = "seal id"), SesFileQuery, ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (within 24 hours) answer the first signature, and nothing is signed again")),
    request_body(content = crate::openapi::Binary, content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "the signature (DER)", body = crate::openapi::Binary, content_type = "application/octet-stream"),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired, a P-256 seal, or has no image yet", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "empty body, a malformed name, or a required purpose is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn file(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    Query(query): Query<SesFileQuery>,
    idempotency: Idempotency,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    if body.is_empty() {
        return Err(invalid("body", "the file is empty"));
    }
    let digest = tongban_crypto::shangmi::sm3(&body);
    let once = idempotency.sealing(&[b"ses/file", id.as_bytes(), &digest])?;
    let items = [Item {
        digest,
        property_info: query.name,
    }];
    let (store, pki, purpose) = (&state.store, &state.pki, query.purpose.as_deref());
    let seal = seal_id(&id)?;
    let mut signed =
        ses::sign_digests(store, pki, &actor, seal, &items, purpose, once.as_ref()).await?;
    Ok((
        [(header::CONTENT_TYPE, DER)],
        signed.pop().unwrap_or_default(),
    ))
}

/// Seals a PDF with an SM2 seal: a GB/T 38540 electronic signature (`SES_Signature`
/// v4, its `dataHash` the SM3 of the ByteRange, `propertyInfo` `PDF /ByteRange`) in
/// /Contents of a signature dictionary with /Filter /Tongban.SES and /SubFilter
/// /GBT38540.SES, in an incremental update, with the seal's image at the given place.
/// Earlier signatures (PAdES or SES) stay valid.
#[utoipa::path(post, path = "/api/v1/seals/{id}/ses/pdf", tag = "seals",
    params(("id" = String, Path, description = "seal id"), PadesQuery, ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (within 24 hours) answer the first signature, and nothing is signed again")),
    request_body(content = crate::openapi::Binary, content_type = "application/pdf"),
    responses(
        (status = 200, description = "the sealed PDF", body = crate::openapi::Binary, content_type = "application/pdf"),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired, a P-256 seal, or has no image yet", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "over http.document_limit_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not application/pdf", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a PDF we can seal (truncated, broken, encrypted), or a bad placement", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn pdf(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    Query(query): Query<PadesQuery>,
    idempotency: Idempotency,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<impl IntoResponse, ApiError> {
    require_content_type(&headers, "application/pdf")?;
    // The document's digest is added once it has arrived.
    let once = idempotency.sealing(&[b"ses/pdf", id.as_bytes()])?;
    let purpose = query.purpose.clone();
    let (placement, statement) = query.placement()?;
    let (seal, purpose) = ((seal_id(&id)?, Format::Ses), purpose.as_deref());
    let checking = pdf_sealing::check_pdf(&state.store, &actor, seal, purpose, Authority::Grant);
    let limit = state.http.document_limit_bytes;
    let (checked, document) =
        tokio::join!(checking, read_document::<Incoming>(body, &headers, limit));
    let (checked, document) = (checked?, document?);
    if document.is_empty() {
        return Err(invalid("pdf", "the body is empty"));
    }
    let (store, pki) = (&state.store, &state.pki);
    let (position, once) = (placement, once.as_ref());
    let sealed =
        pdf_sealing::seal_pdf(store, pki, checked, document, position, statement, once).await?;
    Ok(sealed_pdf(sealed))
}
