//! Batch issuance: up to 10 000 certificates as JSON or CSV, issued in the background,
//! with per-row results.

use crate::auth::Acting;
use crate::extract::{Document, Idempotency, parse_json};
use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_ecert::batch;
use tongban_ecert::catalogue::{self};
use tongban_ecert::register::{HolderRef, NewCertificate};
use tongban_identity::subjects::DepartmentId;
use utoipa::{IntoParams, ToSchema};

use super::{HolderBody, acting_for, invalid};

/// A batch job.
#[derive(Serialize, ToSchema)]
pub struct JobBody {
    id: String,
    /// Type code.
    #[serde(rename = "type")]
    type_code: String,
    /// `pending` while rows remain, then `done`.
    state: String,
    total: i64,
    issued: i64,
    failed: i64,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339, once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
}

impl From<batch::Job> for JobBody {
    fn from(j: batch::Job) -> Self {
        Self {
            id: j.id,
            type_code: j.type_code,
            state: j.state,
            total: j.total,
            issued: j.issued,
            failed: j.failed,
            created_at: j.created_at.to_rfc3339(),
            finished_at: j.finished_at.map(Timestamp::to_rfc3339),
        }
    }
}

/// One row of a batch.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRowBody {
    holder: HolderBody,
    face: Value,
}

/// A batch as JSON.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// Type code.
    #[serde(rename = "type")]
    type_code: String,
    /// The issuing department, for a person who issues the type for several.
    #[serde(default)]
    department_id: Option<String>,
    /// 1 to 10 000 rows.
    rows: Vec<BatchRowBody>,
}

/// The type of a CSV batch.
#[derive(Deserialize, IntoParams)]
pub struct BatchQuery {
    /// Type code (CSV bodies only).
    #[serde(rename = "type")]
    type_code: Option<String>,
    /// The issuing department, for a person who issues the type for several (CSV
    /// bodies only).
    department_id: Option<String>,
}

/// Submits a batch of up to 10 000 certificates of one type, as JSON or as CSV
/// (`id_number,name,<face fields…>`), issued in the background; the answer names the
/// job to follow. Each row is issued or refused on its own; with `Idempotency-Key` a
/// retry answers the same job and creates nothing.
#[utoipa::path(post, path = "/api/v1/certificate-jobs", tag = "ecerts",
    params(BatchQuery, ("Idempotency-Key" = Option<String>, Header, description = "the same key and body answer the first job")),
    request_body(content(
        (BatchBody = "application/json"),
        (String = "text/csv"),
    )),
    responses(
        (status = 202, description = "accepted; `Location` names the job", body = JobBody),
        (status = 403, description = "the caller does not issue this type", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the type's seal is not usable, or the key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "over http.document_limit_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "neither JSON nor CSV", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no rows, more than 10 000, or unreadable CSV", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn submit_job(
    State(state): State<AppState>,
    Acting(actor): Acting,
    idempotency: Idempotency,
    Query(query): Query<BatchQuery>,
    Document {
        content_type,
        bytes,
    }: Document,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    let (type_code, department, rows) =
        batch_request(&mut tx, &content_type, query, &bytes).await?;
    // The type and department are part of the request (a CSV names them in the query).
    let department_text = department.map(|d| d.to_string()).unwrap_or_default();
    let request = [
        &content_type,
        "\n",
        &type_code,
        "\n",
        &department_text,
        "\n",
    ]
    .concat();
    let request = [request.as_bytes(), &bytes].concat();
    let answer = idempotency
        .once(&mut tx, &actor, &request, now, async |tx| {
            let job = batch::submit(tx, &actor, &type_code, department, &rows, now).await?;
            Ok(JobBody::from(job))
        })
        .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(accepted(answer))
}

/// A batch's type, issuing department and rows, from a JSON body or from a CSV body
/// with the type (and department) in the query.
async fn batch_request(
    tx: &mut tongban_store::Conn,
    content_type: &str,
    query: BatchQuery,
    bytes: &[u8],
) -> Result<(String, Option<DepartmentId>, Vec<NewCertificate>), ApiError> {
    Ok(match content_type {
        "application/json" => {
            let parsed: BatchBody = parse_json(bytes)?;
            let department = acting_for(parsed.department_id.as_deref())?;
            let rows = parsed
                .rows
                .into_iter()
                .map(|r| NewCertificate {
                    holder: HolderRef {
                        id_number: r.holder.id_number,
                        name: r.holder.name,
                    },
                    face: r.face,
                })
                .collect();
            (parsed.type_code, department, rows)
        }
        "text/csv" => {
            let code = query
                .type_code
                .ok_or_else(|| invalid("type", "a CSV batch names its type in the query"))?;
            let text = std::str::from_utf8(bytes).map_err(|_| invalid("csv", "must be UTF-8"))?;
            let schema = catalogue::by_code(tx, &code).await?.face_schema;
            let department = acting_for(query.department_id.as_deref())?;
            (code, department, batch::rows_from_csv(&schema, text)?)
        }
        _ => {
            return Err(ApiError::new(
                ProblemType::UnsupportedMediaType,
                "expected application/json or text/csv",
            ));
        }
    })
}

/// 202 with the job and its `Location`.
fn accepted(job: serde_json::Value) -> Response {
    let location = format!(
        "/api/v1/certificate-jobs/{}",
        job["id"].as_str().unwrap_or_default()
    );
    let mut response = (StatusCode::ACCEPTED, axum::Json(job)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A batch job's progress.
#[utoipa::path(get, path = "/api/v1/certificate-jobs/{id}", tag = "ecerts",
    params(("id" = String, Path, description = "job id")),
    responses(
        (status = 200, description = "the job", body = JobBody),
        (status = 403, description = "not an issuer of the job's department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn job(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
) -> Result<axum::Json<JobBody>, ApiError> {
    let mut conn = state.store.conn().await?;
    Ok(axum::Json(
        batch::find(&mut conn, &actor, &id).await?.into(),
    ))
}

/// One row's outcome.
#[derive(Serialize, ToSchema)]
pub struct JobRowBody {
    /// 1-based row number (for CSV, the line after the header).
    row: i64,
    /// `pending`, `issued` or `failed`.
    state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<String>,
    /// Why the row was refused: each field, as a JSON Pointer into the row.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<crate::problem::ProblemField>,
}

/// Which rows.
#[derive(Deserialize, IntoParams)]
pub struct JobRowsQuery {
    /// `pending`, `issued` or `failed`.
    state: Option<String>,
    /// Rows after this row number (paging).
    #[serde(default)]
    after: i64,
    /// At most this many (1 to 1 000; default 100).
    limit: Option<i64>,
}

/// A batch job's rows: the identifier each issued row got, the errors of each refused one.
#[utoipa::path(get, path = "/api/v1/certificate-jobs/{id}/rows", tag = "ecerts",
    params(("id" = String, Path, description = "job id"), JobRowsQuery),
    responses(
        (status = 200, description = "rows by number", body = Vec<JobRowBody>),
        (status = 403, description = "not an issuer of the job's department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn job_rows(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    Query(query): Query<JobRowsQuery>,
) -> Result<axum::Json<Vec<JobRowBody>>, ApiError> {
    let mut conn = state.store.conn().await?;
    let rows = batch::rows(
        &mut conn,
        &actor,
        &id,
        query.state.as_deref(),
        query.after,
        query.limit.unwrap_or(100),
    )
    .await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|r| JobRowBody {
                row: r.row,
                state: r.state,
                identifier: r.identifier,
                errors: r
                    .errors
                    .into_iter()
                    .map(|e| crate::problem::ProblemField {
                        pointer: e.pointer,
                        message: e.message,
                    })
                    .collect(),
            })
            .collect(),
    ))
}
