//! Applying a seal: CAdES B-T over digests or a file, a detached JWS, and PAdES B-T on
//! a PDF with the seal visible.

use crate::auth::Acting;
use crate::extract::{Idempotency, JsonWithBytes, read_document, require_content_type};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tongban_seal::pdf_sealing;
use tongban_seal::sign::{self, Authority, Format};
use utoipa::{IntoParams, ToSchema};

use super::{edge_named, invalid, pages_range, seal_id};

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

/// A 32-byte digest (SHA-256, or SM3 written the same way) from its 64 hex digits, or
/// the problem naming `field`.
pub(super) fn parse_digest(field: &str, algorithm: &str, text: &str) -> Result<[u8; 32], ApiError> {
    tongban_crypto::cms::parse_sha256_hex(text)
        .ok_or_else(|| invalid(field, &format!("must be 64 hex characters ({algorithm})")))
}

/// Seals SHA-256 digests (the documents never leave the caller): one CAdES B-T
/// detached signature per digest, with a time-stamp from our TSA. Each use is
/// recorded in the transaction that signs. With `Idempotency-Key`, a retry gets the
/// first signatures and signs nothing.
#[utoipa::path(post, path = "/api/v1/seals/{id}/cades", tag = "seals",
    params(("id" = String, Path, description = "seal id"), ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (within 24 hours) answer the first signature, and nothing is signed again")),
    request_body = DigestsBody,
    responses(
        (status = 200, description = "the signatures", body = DigestSignatures),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired, an SM2 seal (GB/T 38540 signatures only), or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a digest or the Idempotency-Key is malformed, or a required purpose is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn cades_digests(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    idempotency: Idempotency,
    JsonWithBytes(body, bytes): JsonWithBytes<DigestsBody>,
) -> Result<axum::Json<DigestSignatures>, ApiError> {
    let once = idempotency.sealing(&[b"cades", id.as_bytes(), &bytes])?;
    let digests = body
        .digests
        .iter()
        .enumerate()
        .map(|(i, d)| parse_digest(&format!("digests[{i}]"), "SHA-256", d))
        .collect::<Result<Vec<_>, _>>()?;
    let signatures = sign::cades_digests(
        &state.store,
        &state.pki,
        &actor,
        seal_id(&id)?,
        &digests,
        body.purpose.as_deref(),
        once.as_ref(),
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
    params(("id" = String, Path, description = "seal id"), PurposeQuery, ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (within 24 hours) answer the first signature, and nothing is signed again")),
    request_body(content = crate::openapi::Binary, content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "the detached signature", body = crate::openapi::Binary, content_type = "application/pkcs7-signature"),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired, or an SM2 seal (GB/T 38540 signatures only)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "empty body, or a required purpose is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn cades_file(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
    idempotency: Idempotency,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    if body.is_empty() {
        return Err(invalid("body", "the file is empty"));
    }
    let (store, pki, purpose) = (&state.store, &state.pki, query.purpose.as_deref());
    let digests = [tongban_crypto::cms::sha256(&body)];
    let once = idempotency.sealing(&[b"cades/file", id.as_bytes(), &digests[0]])?;
    let seal = seal_id(&id)?;
    let mut p7s =
        sign::cades_digests(store, pki, &actor, seal, &digests, purpose, once.as_ref()).await?;
    let p7s = p7s.pop().unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "application/pkcs7-signature")], p7s))
}

/// Seals bytes or JSON as a detached JWS (compact, `header..signature`) with the
/// certificate chain in `x5c` and the signing time in `sigT`.
#[utoipa::path(post, path = "/api/v1/seals/{id}/jws", tag = "seals",
    params(("id" = String, Path, description = "seal id"), PurposeQuery, ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (within 24 hours) answer the first signature, and nothing is signed again")),
    request_body(content = crate::openapi::Binary, content_type = "application/octet-stream", description = "the payload, any bytes (JSON as it is)"),
    responses(
        (status = 200, description = "the detached JWS", body = String, content_type = "application/jose"),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired, or an SM2 seal (GB/T 38540 signatures only)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "empty body, or a required purpose is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn jws(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    Query(query): Query<PurposeQuery>,
    idempotency: Idempotency,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    if body.is_empty() {
        return Err(invalid("body", "the payload is empty"));
    }
    let (store, pki, purpose) = (&state.store, &state.pki, query.purpose.as_deref());
    let once = idempotency.sealing(&[b"jws", id.as_bytes(), &body])?;
    let seal = seal_id(&id)?;
    let jws = sign::jws_detached(store, pki, &actor, seal, &body, purpose, once.as_ref()).await?;
    Ok(([(header::CONTENT_TYPE, "application/jose")], jws))
}

/// Where the seal goes and what the signature states.
#[derive(Deserialize, IntoParams)]
pub struct PadesQuery {
    /// 1-based page (default 1); not for a cross-page seal.
    page: Option<u32>,
    /// Lower-left corner of the seal, PDF points from the page's lower-left corner
    /// (default 400); not for a cross-page seal.
    x: Option<f32>,
    /// Lower-left corner, PDF points (default 80; a cross-page seal: centred on the
    /// edge).
    y: Option<f32>,
    /// Width and height of the seal, PDF points, 20–600 (default 120).
    size: Option<f32>,
    /// A cross-page seal (骑缝章) on this edge: `right` or `left`; one signature
    /// field with a widget on each page showing its slice of the seal.
    riding: Option<String>,
    /// The pages of a cross-page seal, `first-last` (default: all).
    pages: Option<String>,
    /// /Reason of the signature.
    reason: Option<String>,
    /// /Location of the signature.
    location: Option<String>,
    /// Why (用印事由) for the usage log; required when the grant says so.
    pub(super) purpose: Option<String>,
}

/// A signature's /Reason and /Location.
pub(super) type Statement = (Option<String>, Option<String>);

impl PadesQuery {
    /// The seal's place, and the signature's /Reason and /Location.
    pub(super) fn placement(self) -> Result<(tongban_seal::pdf::Position, Statement), ApiError> {
        let size = self.size.unwrap_or(120.0);
        let position = match &self.riding {
            None if self.pages.is_some() => {
                return Err(invalid("pages", "only for a cross-page seal (riding)"));
            }
            None => tongban_seal::pdf::Placement {
                page: self.page.unwrap_or(1),
                x: self.x.unwrap_or(400.0),
                y: self.y.unwrap_or(80.0),
                size,
            }
            .into(),
            Some(_) if self.page.is_some() || self.x.is_some() => {
                return Err(invalid(
                    "page",
                    "a cross-page seal takes pages and y, not page or x",
                ));
            }
            Some(edge) => tongban_seal::pdf::Position::Riding(tongban_seal::pdf::Riding {
                pages: self.pages.as_deref().map(pages_range).transpose()?,
                edge: edge_named(edge)?,
                y: self.y,
                size,
            }),
        };
        Ok((position, (self.reason, self.location)))
    }
}

/// Seals a PDF: PAdES baseline B-T (ETSI.CAdES.detached, ESS signing-certificate-v2,
/// the chain, a signature time-stamp from our TSA) in an incremental update, with the
/// seal visible at the given place. Earlier signatures stay valid.
#[utoipa::path(post, path = "/api/v1/seals/{id}/pades", tag = "seals",
    params(("id" = String, Path, description = "seal id"), PadesQuery, ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (within 24 hours) answer the first signature, and nothing is signed again")),
    request_body(content = crate::openapi::Binary, content_type = "application/pdf"),
    responses(
        (status = 200, description = "the sealed PDF", body = crate::openapi::Binary, content_type = "application/pdf"),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired, or an SM2 seal (GB/T 38540 signatures only)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "over http.document_limit_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not application/pdf", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a PDF we can seal (truncated, broken, encrypted), or a bad placement", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn pades(
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
    let once = idempotency.sealing(&[b"pades", id.as_bytes()])?;
    // The seal is looked up and the caller's right checked while the document arrives
    // (documents have their own, larger limit than API bodies).
    let purpose = query.purpose.clone();
    let (placement, statement) = query.placement()?;
    let (seal, purpose) = (seal_id(&id)?, purpose.as_deref());
    let checking = pdf_sealing::check_pdf(
        &state.store,
        &actor,
        (seal, Format::Pades),
        purpose,
        Authority::Grant,
    );
    let reading =
        read_document::<pdf_sealing::Incoming>(body, &headers, state.http.document_limit_bytes);
    // Both run to their end (a refusal is audited even when the body fails too), and
    // a refusal is what the caller hears first.
    let (checked, document) = tokio::join!(checking, reading);
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
