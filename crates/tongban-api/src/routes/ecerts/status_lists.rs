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
    let cache = HeaderValue::from_static("public, max-age=60");
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let etag_value =
        HeaderValue::from_str(&etag).map_err(|_| ApiError::bare(ProblemType::Internal))?;
    if unchanged {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().insert(header::ETAG, etag_value);
        response.headers_mut().insert(header::CACHE_CONTROL, cache);
        return Ok(response);
    }
    let published = status::publish(
        &mut conn,
        &state.pki,
        base(&state),
        &path.id,
        purpose,
        Timestamp::now(),
    )
    .await?;
    let etag = format!("\"{}-{}\"", purpose.name(), published.version);
    let mut response = published.credential.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(tongban_ecert::credential::MEDIA_TYPE),
    );
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(|_| ApiError::bare(ProblemType::Internal))?,
    );
    headers.insert(header::CACHE_CONTROL, cache);
    Ok(response)
}
