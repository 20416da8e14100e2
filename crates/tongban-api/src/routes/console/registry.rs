//! The identity registry's entries (name and resident ID number, what a password login
//! is checked against for level 2) imported from CSV in the console, for platform
//! administrators at level 3: the file is read and each line's effect shown (new,
//! renamed, unchanged, refused) before anything is written; the import then runs all
//! or nothing, as `POST /api/v1/admin/registry` does.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tongban_identity::admin::{self, AdminError};
use tongban_identity::identity_registry::ImportError;
use tongban_identity::sso;

use super::{administering, administering_form};
use crate::extract::PageQuery;
use crate::routes::session_form::{CsrfProtected, SessionForm, SessionUpload};
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::console as view;
use crate::views::esign::Message;

/// What the last import did.
#[derive(Deserialize, Default)]
pub struct RegistryQuery {
    /// How many entries the last import wrote.
    #[serde(default)]
    imported: Option<usize>,
}

/// The upload form (and what the last import wrote).
#[utoipa::path(get, path = "/console/registry", tag = "console",
    responses(
        (status = 200, description = "the upload form", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not a platform administrator at level 3", content_type = "text/html"),
    ))]
pub async fn registry_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<RegistryQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (_, cookie, _, _) = match administering(&state, &headers, prefs).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let csrf = sso::session_csrf(&cookie);
    web::no_store(view::registry(
        prefs,
        &csrf,
        None,
        (None, query.imported),
        StatusCode::OK,
    ))
}

/// Reads the uploaded CSV and shows what importing it would do; writes nothing.
#[utoipa::path(post, path = "/console/registry", tag = "console",
    request_body(content_type = "multipart/form-data", description = "csrf_token, csv: name,resident_id lines (a header line name,resident_id is skipped)"),
    responses(
        (status = 200, description = "the preview, with the import form when every line can be imported", content_type = "text/html"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not a platform administrator at level 3, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 413, description = "over http.body_limit_bytes: a page saying the file is too large", content_type = "text/html"),
        (status = 422, description = "no file, not UTF-8, or a line that is not name,resident_id: the form again, saying why", content_type = "text/html"),
    ))]
pub async fn console_preview_registry(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionUpload {
        session,
        cookie,
        upload,
    }: SessionUpload,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, _, admin) = match administering_form(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let csrf = sso::session_csrf(&cookie);
    let again = |id: &'static str| {
        web::no_store(view::registry(
            prefs,
            &csrf,
            None,
            (Some(Message::error(id)), None),
            StatusCode::UNPROCESSABLE_ENTITY,
        ))
    };
    let Some(csv) = upload
        .files
        .get("csv")
        .filter(|bytes| !bytes.is_empty())
        .and_then(|bytes| String::from_utf8(bytes.clone()).ok())
    else {
        return again("registry-no-file");
    };
    match admin::preview_registry_csv(&mut conn, &admin, &csv).await {
        Ok((_, lines)) if lines.is_empty() => again("registry-no-file"),
        Ok((upload, lines)) => web::no_store(view::registry(
            prefs,
            &csrf,
            Some((&upload, &lines)),
            (None, None),
            StatusCode::OK,
        )),
        Err(AdminError::Registry(ImportError::Line { .. })) => again("registry-not-csv"),
        Err(error) => store_page(error),
    }
}

/// The import, as previewed.
#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csrf_token: String,
    /// The file the preview read and kept, by its id.
    #[serde(default)]
    upload: String,
}

impl CsrfProtected for ImportForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Imports the previewed CSV, all or nothing; recorded in the audit trail.
#[utoipa::path(post, path = "/console/registry/import", tag = "console",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, upload: the id of the file the preview read (kept for its reader for an hour)"),
    responses(
        (status = 303, description = "imported: to the form, saying how many"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not a platform administrator at level 3, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 422, description = "no such file kept for this administrator (imported already, or over an hour old), or a line cannot be imported: the form again, saying so; nothing was written", content_type = "text/html"),
    ))]
pub async fn console_import_registry(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<ImportForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (conn, _, admin) = match administering_form(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    drop(conn);
    let imported = state
        .store
        .transaction::<_, AdminError>(async |tx| {
            admin::import_registry_upload(tx, &admin, &form.upload).await
        })
        .await;
    match imported {
        Ok(count) => web::see_other(&format!("/console/registry?imported={count}")),
        Err(error @ (AdminError::Registry(ImportError::Line { .. }) | AdminError::Subject(_))) => {
            let id = match error {
                AdminError::Subject(_) => "registry-expired",
                _ => "registry-not-imported",
            };
            let csrf = sso::session_csrf(&cookie);
            web::no_store(view::registry(
                prefs,
                &csrf,
                None,
                (Some(Message::error(id)), None),
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(error) => store_page(error),
    }
}
