//! Sealed copies of a certificate for the department that issued it.

use crate::auth::Acting;
use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use tongban_ecert::catalogue::Rendition;
use tongban_ecert::copies::{self, Copy};
use utoipa::IntoParams;

use super::{base, identifier};

/// Which rendition.
#[derive(Deserialize, IntoParams)]
pub struct CopyQuery {
    /// `pdf` or `ofd` (default: the type's rendition).
    format: Option<String>,
}

/// A sealed copy of one of the department's certificates, to print or file: the PDF
/// rendition (PAdES B-T) or the OFD one (GB/T 38540, by the SM2 seal the department
/// chose), by default the one its type names. Its issuers and systems only; the copy
/// is recorded as a use of the seal.
#[utoipa::path(get, path = "/api/v1/certificates/{identifier}/rendition", tag = "ecerts",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier"), CopyQuery),
    responses(
        (status = 200, description = "the sealed copy", content(
            (crate::openapi::Binary = "application/pdf"),
            (crate::openapi::Binary = "application/ofd"),
        )),
        (status = 400, description = "not an identifier, or a wrong check character", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "not an issuer or system of the issuing department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such certificate", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "not in force, no SM2 seal chosen for OFD copies, or the seal is suspended or revoked", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a format other than pdf or ofd", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn department_copy(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(text): Path<String>,
    Query(query): Query<CopyQuery>,
) -> Result<Response, ApiError> {
    let id = identifier(&text)?;
    let format = query
        .format
        .as_deref()
        .map(|name| {
            Rendition::parse(name).ok_or_else(|| {
                ApiError::new(ProblemType::InvalidRequest, "format: must be pdf or ofd")
            })
        })
        .transpose()?;
    let (store, pki) = (&state.store, &state.pki);
    let copy = copies::department_copy(store, pki, base(&state), &actor, &id, format).await?;
    Ok(match copy {
        Copy::Pdf(sealed) => crate::routes::seals::sealing::sealed_pdf(sealed),
        Copy::Ofd(sealed) => super::wallet::ofd_response(sealed),
    })
}
