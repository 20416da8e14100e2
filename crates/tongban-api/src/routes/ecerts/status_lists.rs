//! Bitstring Status Lists (W3C), signed once per version, with ETags.

use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_ecert::status;
use utoipa::IntoParams;

use super::base;

/// The status list's purpose.
#[derive(Deserialize, IntoParams)]
pub struct ListPath {
    /// Status list id.
    id: String,
    /// `revocation` or `suspension`.
    purpose: String,
}

/// A Bitstring Status List as a signed credential (`application/vc+jwt`). Public and
/// cacheable: the ETag changes with every status change in the list.
#[utoipa::path(get, path = "/api/v1/status-lists/{id}/{purpose}", tag = "ecerts",
    params(ListPath),
    responses(
        (status = 200, description = "the BitstringStatusListCredential", content_type = "application/vc+jwt", body = String),
        (status = 304, description = "unchanged since the ETag given in If-None-Match"),
        (status = 404, description = "no such list", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn status_list(
    State(state): State<AppState>,
    Path(path): Path<ListPath>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let purpose = status::Purpose::parse(&path.purpose)
        .ok_or_else(|| ApiError::new(ProblemType::NotFound, "status list not found"))?;
    let mut conn = state.store.conn().await?;
    let version = status::version(&mut conn, &path.id).await?;
    let etag = format!("\"{}-{version}\"", purpose.name());
    if matches_etag(&headers, &etag) {
        return cacheable(StatusCode::NOT_MODIFIED.into_response(), &etag);
    }
    let (pki, base) = (&state.pki, base(&state));
    let now = Timestamp::now();
    let published = status::publish(&mut conn, pki, base, &path.id, purpose, now).await?;
    let mut response = published.credential.into_response();
    let media_type = HeaderValue::from_static(tongban_ecert::credential::MEDIA_TYPE);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media_type);
    cacheable(
        response,
        &format!("\"{}-{}\"", purpose.name(), published.version),
    )
}

/// Whether `If-None-Match` names `etag`.
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
}

/// `response` with its entity tag, cacheable by anyone for a minute.
fn cacheable(mut response: Response, etag: &str) -> Result<Response, ApiError> {
    let etag = HeaderValue::from_str(etag).map_err(|_| ApiError::bare(ProblemType::Internal))?;
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    Ok(response)
}
