//! Batches in the console, for a department's issuers: the CSV template of a type, the
//! upload (a job issued in the background, once per form: a retried upload answers the
//! same job), the job's page with its progress bar, and its refused rows as a CSV to
//! fix and upload again. Jobs are the e-certificate domain's, as for the API.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use tongban_core::time::Timestamp;
use tongban_ecert::EcertError;
use tongban_ecert::batch;
use tongban_ecert::idempotency;
use tongban_ecert::permissions::console_actor;
use tongban_identity::sso;

use super::certificates::{IssueQuery, cert_refusal, form_key, issuing_type};
use super::open_desk;
use crate::extract::PageQuery;
use crate::routes::session_form::SessionUpload;
use crate::routes::web;
use crate::state::AppState;
use crate::views::console::{self as view, BatchView};

fn csv_file(name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// A type's batch page: the template to start from, and the upload.
#[utoipa::path(get, path = "/console/certificates/batch/{code}", tag = "console",
    params(("code" = String, Path, description = "the type's code"),
        ("department" = Option<String>, Query, description = "the issuing department")),
    responses(
        (status = 200, description = "the page", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not an issuer of that department", content_type = "text/html"),
        (status = 404, description = "no such type", content_type = "text/html"),
    ))]
pub async fn batch_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    PageQuery(query): PageQuery<IssueQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, _, cookie, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let (cert_type, department) =
        match issuing_type(&mut conn, (prefs, &desk), &code, &query.department).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    let (csrf, key, department) = (
        sso::session_csrf(&cookie),
        form_key(),
        department.to_string(),
    );
    let page = BatchView {
        cert_type: &cert_type,
        department_id: &department,
        key: &key,
        error: None,
    };
    web::no_store(view::certificate_batch(prefs, &csrf, page, StatusCode::OK))
}

/// The CSV template of a type: the header line (`id_number,name,<face fields>`).
#[utoipa::path(get, path = "/console/certificates/batch/{code}/template.csv", tag = "console",
    params(("code" = String, Path, description = "the type's code")),
    responses(
        (status = 200, description = "the header line", content_type = "text/csv"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not department staff", content_type = "text/html"),
        (status = 404, description = "no such type", content_type = "text/html"),
    ))]
pub async fn batch_template(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, _, _, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    // The catalogue is public; the template is its header line.
    let template = match tongban_ecert::catalogue::by_code(&mut conn, &code).await {
        Ok(cert_type) => batch::template_csv(&cert_type),
        Err(error) => Err(error),
    };
    match template {
        Ok(csv) => csv_file(&format!("{code}.csv"), csv),
        Err(error) => cert_refusal(prefs, &desk, error),
    }
}

/// Submits a batch from an uploaded CSV file; a retried upload of the same form (its
/// idempotency key) answers the job it made.
#[utoipa::path(post, path = "/console/certificates/batch/{code}", tag = "console",
    params(("code" = String, Path, description = "the type's code")),
    request_body(content_type = "multipart/form-data", description = "csrf_token, department, idempotency_key, csv: the file"),
    responses(
        (status = 303, description = "accepted: to the job's page"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not an issuer of that department (or below level 3), or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such type", content_type = "text/html"),
        (status = 409, description = "the type's seal is not usable, or the key was used for another file", content_type = "text/html"),
        (status = 413, description = "over http.document_limit_bytes: a page saying the file is too large", content_type = "text/html"),
        (status = 422, description = "no file, not UTF-8 CSV, a wrong header, no rows or too many: the page again, saying why", content_type = "text/html"),
    ))]
pub async fn console_submit_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    SessionUpload {
        session,
        cookie,
        upload,
    }: SessionUpload,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, desk) = match super::form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (cert_type, department) =
        match issuing_type(&mut conn, (prefs, &desk), &code, upload.field("department")).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    drop(conn);
    let key = upload.field("idempotency_key");
    if idempotency::check_key(key).is_err() {
        return crate::extract::malformed(prefs, "no idempotency key");
    }
    let file = upload
        .files
        .get("csv")
        .map(Vec::as_slice)
        .unwrap_or_default();
    let rows = match std::str::from_utf8(file) {
        Ok(text) if !text.trim().is_empty() => {
            // A spreadsheet's UTF-8 export starts with a byte-order mark.
            batch::rows_from_csv(&cert_type.face_schema, text.trim_start_matches('\u{feff}'))
        }
        Ok(_) => Err(EcertError::Invalid {
            field: "csv",
            reason: "choose a CSV file with at least one row".into(),
        }),
        Err(_) => Err(EcertError::Invalid {
            field: "csv",
            reason: "the file must be UTF-8 CSV".into(),
        }),
    };
    let actor = console_actor(session.subject, &session.acr);
    // The key names this type, department and file: the same key for another is refused.
    let named = format!("{code}\n{department}\n");
    let request = idempotency::request_hash(&[named.as_bytes(), file].concat());
    let now = Timestamp::now();
    let submit_once = async |rows: &[tongban_ecert::register::NewCertificate]| {
        state
            .store
            .transaction(async |tx| {
                let label = actor.label();
                if let Some(answer) = idempotency::recall(tx, &label, key, &request).await? {
                    return Ok(answer["id"].as_str().unwrap_or_default().to_owned());
                }
                let job = batch::submit(tx, &actor, &code, Some(department), rows, now).await?;
                let answer = json!({ "id": job.id });
                idempotency::remember(tx, &label, key, &request, &answer, now).await?;
                Ok(job.id)
            })
            .await
    };
    // An upload sent twice at once: the second is answered from the first.
    let submitted = match rows {
        Ok(rows) => match submit_once(&rows).await {
            Err(EcertError::Store(tongban_store::StoreError::Conflict(_))) => {
                submit_once(&rows).await
            }
            other => other,
        },
        Err(error) => Err(error),
    };
    match submitted {
        Ok(id) => web::see_other(&format!("/console/certificates/jobs/{id}")),
        Err(error @ EcertError::Invalid { .. }) => {
            let (csrf, department) = (sso::session_csrf(&cookie), department.to_string());
            let fresh = form_key();
            let page = BatchView {
                cert_type: &cert_type,
                department_id: &department,
                key: &fresh,
                error: Some(error.to_string()),
            };
            web::no_store(view::certificate_batch(
                prefs,
                &csrf,
                page,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(error) => cert_refusal(prefs, &desk, error),
    }
}

/// Rows shown as refused on the job's page; the CSV file has them all.
const REFUSED_SHOWN: i64 = 100;

/// A batch's page: its progress bar (which `console.js` moves), and when done its
/// refused rows and the file of them.
#[utoipa::path(get, path = "/console/certificates/jobs/{id}", tag = "console",
    params(("id" = String, Path, description = "the job's id")),
    responses(
        (status = 200, description = "the job", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not an issuer of the job's department", content_type = "text/html"),
        (status = 404, description = "no such job", content_type = "text/html"),
    ))]
pub async fn job_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, session, _, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let actor = console_actor(session.subject, &session.acr);
    let job = match batch::find(&mut conn, &actor, &id).await {
        Ok(job) => job,
        Err(error) => return cert_refusal(prefs, &desk, error),
    };
    let refused_rows = if job.state == "done" && job.failed > 0 {
        match batch::rows(&mut conn, &actor, &id, Some("failed"), 0, REFUSED_SHOWN).await {
            Ok(rows) => rows
                .into_iter()
                .map(|r| {
                    let why: Vec<String> = r
                        .errors
                        .iter()
                        .map(|e| format!("{}: {}", e.pointer, e.message))
                        .collect();
                    (r.row, why.join("; "))
                })
                .collect(),
            Err(error) => return cert_refusal(prefs, &desk, error),
        }
    } else {
        Vec::new()
    };
    web::no_store(view::certificate_job(prefs, &job, &refused_rows))
}

/// A job's progress, for the page's script.
#[derive(Serialize, utoipa::ToSchema)]
pub struct JobProgress {
    /// Rows issued or refused so far.
    settled: i64,
    /// Rows in all.
    total: i64,
    /// Whether every row is settled.
    done: bool,
    /// The progress in words, in the person's language.
    summary: String,
}

/// A job's progress as JSON, for the progress bar's script (the session's own page).
#[utoipa::path(get, path = "/console/certificates/jobs/{id}/progress", tag = "console",
    params(("id" = String, Path, description = "the job's id")),
    responses(
        (status = 200, description = "the progress", body = JobProgress),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not an issuer of the job's department", content_type = "text/html"),
        (status = 404, description = "no such job", content_type = "text/html"),
    ))]
pub async fn job_progress(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, session, _, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let actor = console_actor(session.subject, &session.acr);
    match batch::find(&mut conn, &actor, &id).await {
        Ok(job) => {
            let progress = JobProgress {
                settled: job.issued + job.failed,
                total: job.total,
                done: job.state == "done",
                summary: view::progress_text(prefs.lang, &job),
            };
            let mut response = axum::Json(progress).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(error) => cert_refusal(prefs, &desk, error),
    }
}

/// A job's refused rows as CSV, with an `#errors` column, to fix and upload again.
#[utoipa::path(get, path = "/console/certificates/jobs/{id}/errors.csv", tag = "console",
    params(("id" = String, Path, description = "the job's id")),
    responses(
        (status = 200, description = "the refused rows", content_type = "text/csv"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not an issuer of the job's department", content_type = "text/html"),
        (status = 404, description = "no such job", content_type = "text/html"),
    ))]
pub async fn job_errors(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, session, _, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let actor = console_actor(session.subject, &session.acr);
    match batch::failed_csv(&mut conn, &actor, &id).await {
        Ok(csv) => csv_file(&format!("errors-{id}.csv"), csv),
        Err(error) => cert_refusal(prefs, &desk, error),
    }
}
