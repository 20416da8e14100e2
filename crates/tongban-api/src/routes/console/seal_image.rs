//! A seal's image in the console: served to those who may see the seal (for the
//! preview of how it stamps), uploaded by its managers through the seal domain.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use tongban_seal::SealError;
use tongban_seal::image;
use tongban_seal::permissions::Actor;

use super::seals::{SealPath, seal_refusal};
use super::{form_desk, open_desk};
use crate::routes::session_form::SessionUpload;
use crate::routes::web;
use crate::state::AppState;

/// A seal's uploaded image, for the seal page's preview (people who may see the seal).
#[utoipa::path(get, path = "/console/seals/{id}/image", tag = "console",
    params(("id" = String, Path, description = "the seal's id")),
    responses(
        (status = 200, description = "the PNG", content_type = "image/png"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not of the seal's department", content_type = "text/html"),
        (status = 404, description = "no such seal, or no uploaded image", content_type = "text/html"),
    ))]
pub async fn seal_image(
    State(state): State<AppState>,
    headers: HeaderMap,
    SealPath(seal_id): SealPath,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, session, _, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let actor = Actor::console(session.subject, &session.acr);
    match image::of_seal(&mut conn, &actor, seal_id).await {
        Ok(Some(png)) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, no-store"),
            ],
            png,
        )
            .into_response(),
        Ok(None) => seal_refusal(prefs, &desk, SealError::NotFound("image")),
        Err(error) => seal_refusal(prefs, &desk, error),
    }
}

/// Uploads a seal's image (PNG with transparency); its stamps use it from then on.
#[utoipa::path(post, path = "/console/seals/{id}/image", tag = "console",
    params(("id" = String, Path, description = "the seal's id")),
    request_body(content_type = "multipart/form-data", description = "csrf_token, image: a PNG"),
    responses(
        (status = 303, description = "uploaded: back to the seal"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not a manager of the seal, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such seal", content_type = "text/html"),
        (status = 413, description = "over http.body_limit_bytes: a page saying the file is too large", content_type = "text/html"),
        (status = 422, description = "not a PNG, no transparency, or outside the size limits", content_type = "text/html"),
    ))]
pub async fn console_seal_image(
    State(state): State<AppState>,
    headers: HeaderMap,
    SealPath(seal_id): SealPath,
    SessionUpload {
        session, upload, ..
    }: SessionUpload,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (conn, desk) = match form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    drop(conn);
    let png = upload
        .files
        .get("image")
        .map(Vec::as_slice)
        .unwrap_or_default();
    let actor = Actor::console(session.subject, &session.acr);
    let set = state
        .store
        .transaction(async |tx| image::set(tx, &state.pki, &actor, seal_id, png).await)
        .await;
    match set {
        Ok(()) => web::see_other(&format!("/console/seals/{seal_id}?done=image")),
        Err(error) => seal_refusal(prefs, &desk, error),
    }
}
