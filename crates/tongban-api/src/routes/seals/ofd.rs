//! Sealing OFD documents (GB/T 33190) with SM2 seals: a GB/T 38540 signature on one
//! page, or across the edge of many (骑缝章).

use crate::auth::Acting;
use crate::extract::{Idempotency, read_document, require_content_type};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use tongban_seal::ofd::signing::Placement;
use tongban_seal::ofd_sealing;
use tongban_seal::sign::Authority;
use utoipa::IntoParams;

use super::{edge_named, invalid, pages_range, seal_id};

/// The media type OFD documents are sent and answered in.
pub(crate) const OFD: &str = "application/ofd";

/// Where the seal goes, millimetres from the page's top left corner.
#[derive(Deserialize, IntoParams)]
pub struct OfdQuery {
    /// 1-based page (default 1); not for a cross-page seal.
    page: Option<u32>,
    /// Left of the seal, mm (default 140); not for a cross-page seal.
    x: Option<f64>,
    /// Top of the seal, mm (default 220; a cross-page seal: centred on the edge).
    y: Option<f64>,
    /// Width of the seal, mm (default: the electronic seal's picture width); the
    /// height follows the picture.
    width: Option<f64>,
    /// A cross-page seal (骑缝章) on this edge of every page: `right` or `left`.
    riding: Option<String>,
    /// The pages of a cross-page seal, `first-last` (default: all).
    pages: Option<String>,
    /// Why (用印事由) for the usage log; required when the grant says so.
    purpose: Option<String>,
}

impl OfdQuery {
    fn placement(&self) -> Result<Placement, ApiError> {
        let Some(edge) = &self.riding else {
            if self.pages.is_some() {
                return Err(invalid("pages", "only for a cross-page seal (riding)"));
            }
            return Ok(Placement::Single {
                page: self.page.unwrap_or(1),
                x: self.x.unwrap_or(140.0),
                y: self.y.unwrap_or(220.0),
                width: self.width,
            });
        };
        if self.page.is_some() || self.x.is_some() {
            return Err(invalid(
                "page",
                "a cross-page seal takes pages and y, not page or x",
            ));
        }
        let edge = edge_named(edge)?;
        let pages = self.pages.as_deref().map(pages_range).transpose()?;
        Ok(Placement::Riding {
            pages,
            edge,
            y: self.y,
            width: self.width,
        })
    }
}

/// Seals an OFD document with an SM2 seal (GB/T 33190 §18, GB/T 38540): the seal file,
/// a `Signature.xml` with the SM3 of every file of the package but the signature
/// list, the seal placed by `StampAnnot` (one per page, each with its `Clip`, for a
/// cross-page seal), and an `SES_Signature` over `Signature.xml` in `SignedValue.dat`,
/// time-stamped. Earlier signatures stay valid. The use is recorded in the
/// transaction that signs.
#[utoipa::path(post, path = "/api/v1/seals/{id}/ofd", tag = "seals",
    params(("id" = String, Path, description = "seal id"), OfdQuery, ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and request (the same document, within 24 hours) sign nothing and answer the same sealed document")),
    request_body(content = crate::openapi::Binary, content_type = "application/ofd"),
    responses(
        (status = 200, description = "the sealed OFD document", body = crate::openapi::Binary, content_type = "application/ofd"),
        (status = 403, description = "no right to use this seal (the refusal is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the seal is suspended, revoked or expired, a P-256 seal, or has no image yet; or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "over http.document_limit_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not application/ofd", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not an OFD package we can seal (not a ZIP, too large inflated, a path outside the package, a missing part), or a bad placement", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:use"])))]
pub async fn seal(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    Query(query): Query<OfdQuery>,
    idempotency: Idempotency,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<impl IntoResponse, ApiError> {
    require_content_type(&headers, OFD)?;
    let once = idempotency.sealing(&[b"ofd", id.as_bytes()])?;
    let (placement, seal) = (query.placement()?, (seal_id(&id)?, Authority::Grant));
    let purpose = query.purpose.as_deref();
    let checking = ofd_sealing::check_ofd(&state.store, &actor, seal, purpose);
    let limit = state.http.document_limit_bytes;
    // Both run to their end (a refusal is audited even when the body fails too), and
    // a refusal is what the caller hears first.
    let (checked, document) =
        tokio::join!(checking, read_document::<Vec<u8>>(body, &headers, limit));
    let (checked, document) = (checked?, document?);
    if document.is_empty() {
        return Err(invalid("ofd", "the body is empty"));
    }
    let sealed = ofd_sealing::seal_ofd(
        &state.store,
        &state.pki,
        checked,
        document,
        placement,
        once.as_ref(),
    )
    .await?;
    Ok(([(header::CONTENT_TYPE, OFD)], sealed))
}
