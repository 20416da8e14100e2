//! The public catalogue of certificate types (GB/T 36902 codes), defining a type, and
//! which departments issue it with which seal.

use crate::auth::Acting;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_ecert::EcertError;
use tongban_ecert::catalogue::{self, CertType, HolderCategory, NewType, Rendition, SealUse};
use tongban_store::Conn;
use utoipa::ToSchema;

use super::invalid;

/// A certificate type.
#[derive(Serialize, ToSchema)]
pub struct CertTypeBody {
    /// GB/T 36902 type code: the defining department's USCC and 3 digits.
    code: String,
    department_id: String,
    name_zh: String,
    name_en: String,
    /// `natural` or `legal`.
    holder_category: String,
    /// JSON Schema (2020-12) of the face fields.
    face_schema: Value,
    /// Days of validity from issuance; absent: until revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    validity_days: Option<i64>,
    /// Face fields on the renditions, in order.
    layout: Vec<String>,
    /// The rendition issuing departments get by default: `pdf` or `ofd`.
    rendition: String,
}

impl From<CertType> for CertTypeBody {
    fn from(t: CertType) -> Self {
        Self {
            code: t.code,
            department_id: t.department_id.to_string(),
            name_zh: t.name_zh,
            name_en: t.name_en,
            holder_category: t.holder_category.name().to_owned(),
            face_schema: t.face_schema,
            validity_days: t.validity_days,
            layout: t.layout,
            rendition: t.rendition.name().to_owned(),
        }
    }
}

/// A certificate type to define.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTypeBody {
    /// The 3 digits after the department's USCC in the type code.
    sequence: String,
    name_zh: String,
    name_en: String,
    /// `natural` or `legal`.
    holder_category: String,
    /// JSON Schema (2020-12) of the face fields, `"type": "object"`.
    face_schema: Value,
    /// Days of validity from issuance; absent: until revoked.
    #[serde(default)]
    validity_days: Option<i64>,
    /// Face fields on the PDF rendition; absent: all, in schema order.
    #[serde(default)]
    layout: Vec<String>,
    /// The department's seal that signs the certificates.
    seal_id: String,
    /// The rendition issuing departments get by default: `pdf` (default) or `ofd`
    /// (sealed by the SM2 seal each issuer chooses at `…/issuers/{id}/ofd-seal`).
    #[serde(default)]
    rendition: Option<String>,
}

/// Defines a certificate type of a department, signed with one of its seals.
/// Department administrators (or platform administrators) only.
#[utoipa::path(post, path = "/api/v1/departments/{id}/certificate-types", tag = "ecerts",
    params(("id" = String, Path, description = "department id")),
    request_body = NewTypeBody,
    responses(
        (status = 201, description = "defined", body = CertTypeBody),
        (status = 403, description = "not an administrator of this department, or another department's seal", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the type code is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid (the schema, the sequence, the layout)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:manage"])))]
pub async fn define_type(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewTypeBody>,
) -> Result<impl IntoResponse, ApiError> {
    let department = id
        .parse()
        .map_err(|_| ApiError::new(ProblemType::NotFound, "department not found"))?;
    let new = NewType {
        sequence: body.sequence,
        name_zh: body.name_zh,
        name_en: body.name_en,
        holder_category: HolderCategory::parse(&body.holder_category)
            .ok_or_else(|| invalid("holder_category", "must be natural or legal"))?,
        face_schema: body.face_schema,
        validity_days: body.validity_days,
        layout: body.layout,
        seal_id: body
            .seal_id
            .parse()
            .map_err(|_| invalid("seal_id", "no such seal"))?,
        rendition: match body.rendition.as_deref() {
            None => Rendition::Pdf,
            Some(name) => {
                Rendition::parse(name).ok_or_else(|| invalid("rendition", "must be pdf or ofd"))?
            }
        },
    };
    let mut tx = state.store.begin().await?;
    let defined = catalogue::define(&mut tx, &actor, department, &new, Timestamp::now()).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok((StatusCode::CREATED, axum::Json(CertTypeBody::from(defined))))
}

/// The catalogue of certificate types. Public.
#[utoipa::path(get, path = "/api/v1/certificate-types", tag = "ecerts",
    responses((status = 200, description = "every type, by code", body = Vec<CertTypeBody>)))]
pub async fn types(
    State(state): State<AppState>,
) -> Result<axum::Json<Vec<CertTypeBody>>, ApiError> {
    let mut conn = state.store.conn().await?;
    let all = catalogue::list(&mut conn).await?;
    Ok(axum::Json(all.into_iter().map(Into::into).collect()))
}

/// A department to issue a type.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIssuerBody {
    department_id: String,
}

/// Lets another department issue a type; it then chooses its own seal. The defining
/// department's administrators only.
#[utoipa::path(post, path = "/api/v1/certificate-types/{code}/issuers", tag = "ecerts",
    params(("code" = String, Path, description = "type code")),
    request_body = NewIssuerBody,
    responses(
        (status = 204, description = "the department may issue the type once it chose a seal"),
        (status = 403, description = "not an administrator of the defining department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such type or department", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:manage"])))]
pub async fn add_issuer(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<NewIssuerBody>,
) -> Result<StatusCode, ApiError> {
    let department = body
        .department_id
        .parse()
        .map_err(|_| ApiError::new(ProblemType::NotFound, "department not found"))?;
    let mut tx = state.store.begin().await?;
    catalogue::add_issuer(&mut tx, &actor, &code, department, Timestamp::now()).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The seal an issuing department signs a type with.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuerSealBody {
    seal_id: String,
}

/// An issuing department chooses which of its own seals signs a type. Its
/// administrators only.
#[utoipa::path(put, path = "/api/v1/certificate-types/{code}/issuers/{department_id}", tag = "ecerts",
    params(("code" = String, Path, description = "type code"), ("department_id" = String, Path, description = "the issuing department")),
    request_body = IssuerSealBody,
    responses(
        (status = 204, description = "chosen"),
        (status = 403, description = "not an administrator of the department, another department's seal, or not an issuer of the type", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no such seal, or not active", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:manage"])))]
pub async fn choose_seal(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path((code, department)): Path<(String, String)>,
    ApiJson(body): ApiJson<IssuerSealBody>,
) -> Result<StatusCode, ApiError> {
    let chosen = (code, department, body.seal_id, SealUse::Signing);
    choose(&state, &actor, chosen).await
}

/// One domain call: the department's seal for the type, for `used`.
async fn choose(
    state: &AppState,
    actor: &tongban_seal::permissions::Actor,
    (code, department, seal, used): (String, String, String, SealUse),
) -> Result<StatusCode, ApiError> {
    let department = (department.parse())
        .map_err(|_| ApiError::new(ProblemType::NotFound, "department not found"))?;
    let seal = (seal.parse()).map_err(|_| invalid("seal_id", "no such seal"))?;
    let choose = async |tx: &mut Conn| {
        catalogue::choose_seal(tx, actor, &code, department, (seal, used)).await
    };
    state.store.transaction::<_, EcertError>(choose).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An issuing department chooses which of its SM2 seals seals the OFD copies of a
/// type (GB/T 38540 signatures need an SM2 seal). Its administrators only.
#[utoipa::path(put, path = "/api/v1/certificate-types/{code}/issuers/{department_id}/ofd-seal", tag = "ecerts",
    params(("code" = String, Path, description = "type code"), ("department_id" = String, Path, description = "the issuing department")),
    request_body = IssuerSealBody,
    responses(
        (status = 204, description = "chosen"),
        (status = 403, description = "not an administrator of the department, another department's seal, or not an issuer of the type", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no such seal, not active, or not an SM2 seal", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:manage"])))]
pub async fn choose_ofd_seal(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path((code, department)): Path<(String, String)>,
    ApiJson(body): ApiJson<IssuerSealBody>,
) -> Result<StatusCode, ApiError> {
    let chosen = (code, department, body.seal_id, SealUse::Ofd);
    choose(&state, &actor, chosen).await
}
