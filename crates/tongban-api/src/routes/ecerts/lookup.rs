//! Department lookup of certificates with a stated purpose (用证事由), logged for the
//! holder.

use crate::auth::Acting;
use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_ecert::lookup;
use utoipa::IntoParams;

use super::{CertificateBody, acting_for, identifier};

/// A department lookup.
#[derive(Deserialize, IntoParams)]
pub struct LookupQuery {
    /// The holder's resident ID number or USCC.
    #[param(required = true)]
    holder: Option<String>,
    /// Only this type.
    #[serde(rename = "type")]
    type_code: Option<String>,
    /// Why (用证事由); required, shown to the holder.
    #[param(required = true)]
    purpose: Option<String>,
    /// The department looking up, for a person on the staff of several.
    department_id: Option<String>,
}

pub(super) fn purpose_given(purpose: Option<&str>) -> Result<&str, ApiError> {
    match purpose.map(str::trim) {
        Some(p) if !p.is_empty() => Ok(p),
        _ => Err(ApiError::new(
            ProblemType::MalformedRequest,
            "purpose: a lookup states its purpose (用证事由)",
        )),
    }
}

/// Department-to-department lookup of a holder's certificates. Needs `ecert:lookup` and
/// a purpose; each certificate returned is logged and shown to its holder.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "ecerts",
    params(LookupQuery),
    responses(
        (status = 200, description = "the holder's certificates, newest first (at most 100)", body = Vec<CertificateBody>),
        (status = 400, description = "no holder or no purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "not a department's staff or system, or no ecert:lookup", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`department_id` missing for a person on the staff of several departments, or not an id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:lookup"])))]
pub async fn lookup(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Query(query): Query<LookupQuery>,
) -> Result<axum::Json<Vec<CertificateBody>>, ApiError> {
    let purpose = purpose_given(query.purpose.as_deref())?;
    let holder = query
        .holder
        .as_deref()
        .filter(|h| !h.trim().is_empty())
        .ok_or_else(|| ApiError::new(ProblemType::MalformedRequest, "holder: required"))?;
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    let found = lookup::by_holder(
        &mut tx,
        &actor,
        acting_for(query.department_id.as_deref())?,
        holder,
        query.type_code.as_deref(),
        purpose,
        now,
    )
    .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(axum::Json(
        found
            .into_iter()
            .map(|c| CertificateBody::of(c, now))
            .collect(),
    ))
}

/// A lookup by identifier.
#[derive(Deserialize, IntoParams)]
pub struct PurposeQuery {
    /// Why (用证事由); required, shown to the holder.
    #[param(required = true)]
    purpose: Option<String>,
    /// The department looking up, for a person on the staff of several.
    department_id: Option<String>,
}

/// Department lookup of one certificate by identifier; the check character is
/// verified first. Needs `ecert:lookup` and a purpose; logged for the holder.
#[utoipa::path(get, path = "/api/v1/certificates/{identifier}", tag = "ecerts",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier"), PurposeQuery),
    responses(
        (status = 200, description = "the certificate", body = CertificateBody),
        (status = 400, description = "not an identifier, a wrong check character, or no purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "not a department's staff or system, or no ecert:lookup", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`department_id` missing for a person on the staff of several departments, or not an id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such certificate", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:lookup"])))]
pub async fn lookup_one(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(text): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Result<axum::Json<CertificateBody>, ApiError> {
    let id = identifier(&text)?;
    let purpose = purpose_given(query.purpose.as_deref())?;
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    let department = acting_for(query.department_id.as_deref())?;
    let found = lookup::by_identifier(&mut tx, &actor, department, &id, purpose, now).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(axum::Json(CertificateBody::of(found, now)))
}
