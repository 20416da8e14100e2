//! The e-certificate API: the catalogue, issuance, lifecycle, status lists, the
//! holder's wallet and shares, verification and department lookup. Rules live in
//! `tongban-ecert`; this module only translates HTTP.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_ecert::catalogue::{self, CertType, HolderCategory, NewType};
use tongban_ecert::holder::{self, NewShare, Share};
use tongban_ecert::identifier::Identifier;
use tongban_ecert::register::{self, Certificate, Change, HolderRef, Issuing, NewCertificate};
use tongban_ecert::verify::{self, Presented, Report};
use tongban_ecert::{batch, idempotency, lookup, status};
use tongban_identity::subjects::{DepartmentId, SubjectId};
use tongban_seal::access::Actor;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authenticated;
use crate::extract::{ApiJson, PageForm, parse_json};
use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;

fn invalid(field: &str, reason: &str) -> ApiError {
    ApiError::new(ProblemType::InvalidRequest, format!("{field}: {reason}"))
}

/// The department a caller acts for, when named (`department_id`).
fn acting_for(department: Option<&str>) -> Result<Option<DepartmentId>, ApiError> {
    department
        .map(|d| {
            d.parse()
                .map_err(|_| invalid("department_id", "is not an id of this platform"))
        })
        .transpose()
}

fn actor(auth: &Authenticated) -> Result<Actor, ApiError> {
    Ok(Actor::of(&auth.caller)?)
}

fn base(state: &AppState) -> &str {
    state.tokens.issuer()
}

/// The person behind a wallet call: a person's token with scope `ecert:wallet`.
fn holder_of(auth: &Authenticated) -> Result<SubjectId, ApiError> {
    match actor(auth)? {
        Actor::Person {
            subject, scopes, ..
        } if scopes
            .iter()
            .any(|s| s == tongban_ecert::access::WALLET_SCOPE) =>
        {
            Ok(subject)
        }
        Actor::Person { .. } => Err(ApiError::new(
            ProblemType::Forbidden,
            "this needs the scope ecert:wallet",
        )),
        Actor::Client { .. } => Err(ApiError::new(
            ProblemType::Forbidden,
            "a wallet belongs to a person, not to a client system",
        )),
    }
}

fn identifier(text: &str) -> Result<Identifier, ApiError> {
    text.parse::<Identifier>()
        .map_err(|e| tongban_ecert::EcertError::from(e).into())
}

// ---- catalogue ------------------------------------------------------------------

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
    /// Face fields on the PDF rendition, in order.
    layout: Vec<String>,
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
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewTypeBody>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor(&auth)?;
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

// ---- issuance and lifecycle ---------------------------------------------------------

/// An issued certificate.
#[derive(Serialize, ToSchema)]
pub struct CertificateBody {
    id: String,
    /// GB/T 36904 identifier.
    identifier: String,
    /// Type code.
    #[serde(rename = "type")]
    type_code: String,
    type_name_zh: String,
    type_name_en: String,
    /// Issuing department.
    department_id: String,
    /// `active`, `suspended`, `revoked`, `superseded` or `expired`.
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    /// Face fields.
    face: Value,
    /// The signed credential (`application/vc+jwt`).
    credential: String,
    /// Start of validity (RFC 3339).
    valid_from: String,
    /// End of validity (RFC 3339); absent: until revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_until: Option<String>,
    /// The version this one replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    supersedes: Option<String>,
    /// The version that replaced this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    superseded_by: Option<String>,
    /// Issuance time (RFC 3339).
    issued_at: String,
}

impl CertificateBody {
    fn of(c: Certificate, now: Timestamp) -> Self {
        Self {
            status: c.status_at(now).to_owned(),
            id: c.id,
            identifier: c.identifier,
            type_code: c.type_code,
            type_name_zh: c.type_name_zh,
            type_name_en: c.type_name_en,
            department_id: c.department_id.to_string(),
            status_reason: c.status_reason,
            face: c.face,
            credential: c.credential,
            valid_from: c.valid_from.to_rfc3339(),
            valid_until: c.valid_until.map(Timestamp::to_rfc3339),
            supersedes: c.supersedes,
            superseded_by: c.superseded_by,
            issued_at: c.issued_at.to_rfc3339(),
        }
    }
}

/// The holder of a certificate to issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderBody {
    /// Resident ID number (natural person) or USCC (legal person).
    id_number: String,
    /// Name, to register a holder the platform does not know yet (unverified).
    name: String,
}

/// A certificate to issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCertificateBody {
    /// Type code.
    #[serde(rename = "type")]
    type_code: String,
    /// The issuing department, for a person who issues the type for several.
    #[serde(default)]
    department_id: Option<String>,
    holder: HolderBody,
    /// Face fields, checked against the type's schema.
    face: Value,
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| invalid("Idempotency-Key", "must be visible ASCII"))?
        .trim_matches('"')
        .to_owned();
    idempotency::check_key(&key)?;
    Ok(Some(key))
}

/// Issues one certificate: signed credential (VC-JWT with `x5c`), status-list entry
/// and audit record in one transaction. With `Idempotency-Key`, a retry answers the
/// first answer and creates nothing. Department systems and issuer staff (level 3).
#[utoipa::path(post, path = "/api/v1/certificates", tag = "ecerts",
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: the same key and body answer the first response")),
    request_body = NewCertificateBody,
    responses(
        (status = 201, description = "issued (or, for a repeated Idempotency-Key, issued before)", body = CertificateBody),
        (status = 403, description = "the caller does not issue this type", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such type", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the type's seal is suspended or revoked, or the key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "face data against the schema (each field in `errors`), the holder, or `department_id` missing for a person who issues the type for several departments", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn issue(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = actor(&auth)?;
    let key = idempotency_key(&headers)?;
    if !crate::extract::is_json(&headers) {
        return Err(ApiError::new(
            ProblemType::UnsupportedMediaType,
            "expected Content-Type: application/json",
        ));
    }
    let parsed: NewCertificateBody = parse_json(&body)?;
    let hash = idempotency::request_hash(&body);
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    if let Some(key) = &key
        && let Some(answer) = idempotency::recall(&mut tx, &actor.label(), key, &hash).await?
    {
        return Ok((StatusCode::CREATED, axum::Json(answer)).into_response());
    }
    let department = acting_for(parsed.department_id.as_deref())?;
    let issuing = Issuing::open(&mut tx, &state.pki, &actor, &parsed.type_code, department).await?;
    let new = NewCertificate {
        holder: HolderRef {
            id_number: parsed.holder.id_number,
            name: parsed.holder.name,
        },
        face: parsed.face,
    };
    let issued = issuing
        .issue(&mut tx, base(&state), &actor, &new, now)
        .await?;
    let answer = serde_json::to_value(CertificateBody::of(issued, now))
        .map_err(|_| ApiError::bare(ProblemType::Internal))?;
    if let Some(key) = &key {
        idempotency::remember(&mut tx, &actor.label(), key, &hash, &answer, now).await?;
    }
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

/// A status change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeBody {
    /// `revoked` (final), `suspended`, or `active` (resume a suspended certificate).
    status: String,
    /// Why; required to revoke or suspend.
    #[serde(default)]
    reason: Option<String>,
}

/// Revokes, suspends or resumes a certificate; its status-list bit changes in the same
/// transaction. The issuing department only.
#[utoipa::path(post, path = "/api/v1/certificates/{identifier}/status", tag = "ecerts",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier")),
    request_body = StatusChangeBody,
    responses(
        (status = 200, description = "changed", body = CertificateBody),
        (status = 400, description = "not an identifier, or a wrong check character", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "not the issuing department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the change does not apply to the certificate's status", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no reason, or an unknown status", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn set_certificate_status(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<StatusChangeBody>,
) -> Result<axum::Json<CertificateBody>, ApiError> {
    let actor = actor(&auth)?;
    let id = identifier(&text)?;
    let change = match body.status.as_str() {
        "revoked" => Change::Revoke,
        "suspended" => Change::Suspend,
        "active" => Change::Resume,
        _ => return Err(invalid("status", "must be revoked, suspended or active")),
    };
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    let changed =
        register::change_status(&mut tx, &actor, &id, change, body.reason.as_deref(), now).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(axum::Json(CertificateBody::of(changed, now)))
}

/// Changed face data for a re-issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReissueBody {
    /// The new face fields, checked against the type's schema.
    face: Value,
}

/// Re-issues a certificate with changed face data as its next version, which
/// supersedes it; both name each other. The issuing department only.
#[utoipa::path(post, path = "/api/v1/certificates/{identifier}/reissue", tag = "ecerts",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier")),
    request_body = ReissueBody,
    responses(
        (status = 201, description = "the new version", body = CertificateBody),
        (status = 400, description = "not an identifier, or a wrong check character", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "not the issuing department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "revoked or already superseded", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "face data against the schema", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:issue"])))]
pub async fn reissue(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<ReissueBody>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor(&auth)?;
    let id = identifier(&text)?;
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    let issued = register::reissue(
        &mut tx,
        &state.pki,
        base(&state),
        &actor,
        &id,
        body.face,
        now,
    )
    .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CertificateBody::of(issued, now)),
    ))
}

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

// ---- lookup -----------------------------------------------------------------------

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

fn purpose_given(purpose: Option<&str>) -> Result<&str, ApiError> {
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
    auth: Authenticated,
    Query(query): Query<LookupQuery>,
) -> Result<axum::Json<Vec<CertificateBody>>, ApiError> {
    let actor = actor(&auth)?;
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
    auth: Authenticated,
    Path(text): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> Result<axum::Json<CertificateBody>, ApiError> {
    let actor = actor(&auth)?;
    let id = identifier(&text)?;
    let purpose = purpose_given(query.purpose.as_deref())?;
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    let department = acting_for(query.department_id.as_deref())?;
    let found = lookup::by_identifier(&mut tx, &actor, department, &id, purpose, now).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(axum::Json(CertificateBody::of(found, now)))
}

// ---- wallet ------------------------------------------------------------------------

/// The caller's certificates and those of the companies they act for.
#[utoipa::path(get, path = "/api/v1/me/certificates", tag = "ecerts",
    responses(
        (status = 200, description = "newest first", body = Vec<CertificateBody>),
        (status = 403, description = "not a person's token with ecert:wallet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:wallet"])))]
pub async fn my_certificates(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<axum::Json<Vec<CertificateBody>>, ApiError> {
    let person = holder_of(&auth)?;
    let now = Timestamp::now();
    let mut conn = state.store.conn().await?;
    let all = holder::certificates(&mut conn, person, now).await?;
    Ok(axum::Json(
        all.into_iter()
            .map(|c| CertificateBody::of(c, now))
            .collect(),
    ))
}

/// A share.
#[derive(Serialize, ToSchema)]
pub struct ShareBody {
    id: String,
    certificate_id: String,
    audience: String,
    purpose: String,
    /// Face fields the verifier sees.
    fields: Vec<String>,
    /// Uses allowed; absent: until expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    max_uses: Option<i64>,
    uses: i64,
    /// RFC 3339.
    expires_at: String,
    /// RFC 3339, when revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
    /// RFC 3339.
    created_at: String,
}

impl From<Share> for ShareBody {
    fn from(s: Share) -> Self {
        Self {
            id: s.id,
            certificate_id: s.certificate_id,
            audience: s.audience,
            purpose: s.purpose,
            fields: s.fields,
            max_uses: s.max_uses,
            uses: s.uses,
            expires_at: s.expires_at.to_rfc3339(),
            revoked_at: s.revoked_at.map(Timestamp::to_rfc3339),
            created_at: s.created_at.to_rfc3339(),
        }
    }
}

/// A new share, with its secrets (shown once).
#[derive(Serialize, ToSchema)]
pub struct CreatedShareBody {
    share: ShareBody,
    /// Bearer token of the share.
    token: String,
    /// The verification page for the share.
    link: String,
    /// A short code to read out or type in at the verifier.
    code: String,
    /// The link as a QR code (SVG).
    qr_svg: String,
}

/// A share to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShareBody {
    /// Who it is for (a bank, an employer).
    audience: String,
    /// What for.
    purpose: String,
    /// Seconds it lives: 60 to 2 592 000 (30 days).
    expires_in: i64,
    /// Face fields shown; absent: all.
    #[serde(default)]
    fields: Option<Vec<String>>,
    /// Works once only.
    #[serde(default)]
    single_use: bool,
}

/// Shares one of the caller's certificates with an audience for a purpose: a link, a QR
/// code and a short code. The verifier sees only the fields chosen.
#[utoipa::path(post, path = "/api/v1/me/certificates/{id}/shares", tag = "ecerts",
    params(("id" = String, Path, description = "certificate id")),
    request_body = NewShareBody,
    responses(
        (status = 201, description = "created", body = CreatedShareBody),
        (status = 404, description = "not one of the caller's certificates", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the certificate is not in force", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:wallet"])))]
pub async fn create_share(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewShareBody>,
) -> Result<impl IntoResponse, ApiError> {
    let person = holder_of(&auth)?;
    let new = NewShare {
        audience: body.audience,
        purpose: body.purpose,
        expires_in: body.expires_in,
        fields: body.fields,
        single_use: body.single_use,
    };
    let mut tx = state.store.begin().await?;
    let created = holder::share(&mut tx, person, &id, &new, Timestamp::now()).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    let link = format!("{}/verify/c/{}", base(&state), created.token);
    let qr_svg = tongban_ecert::qr::svg(&link)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedShareBody {
            share: created.share.into(),
            token: created.token,
            link,
            code: created.code,
            qr_svg,
        }),
    ))
}

/// The share form of the account page.
#[derive(Deserialize)]
pub struct AccountShareForm {
    #[serde(default)]
    csrf_token: String,
    certificate_id: String,
    audience: String,
    purpose: String,
    days: i64,
    /// Present (any value) when the share works once only.
    single_use: Option<String>,
}

/// Shares one of the signed-in person's certificates (all its face fields) from the
/// account page, and shows the link, QR code and short code to pass on.
#[utoipa::path(post, path = "/account/certificates/share", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, certificate_id, audience, purpose, days (1 to 30), single_use"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 201, description = "the page with the share's link, QR code and code", content_type = "text/html"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "not one of the person's certificates", content_type = "text/html"),
        (status = 409, description = "the certificate is not in force", content_type = "text/html"),
        (status = 422, description = "a field is invalid", content_type = "text/html"),
    ))]
pub async fn account_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm<AccountShareForm>,
) -> Response {
    let now = Timestamp::now();
    let prefs = super::web::prefs(&headers, None);
    let (session, _) =
        match super::account::form_session(&state, &headers, &form.csrf_token, now).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let new = NewShare {
        audience: form.audience,
        purpose: form.purpose,
        expires_in: form.days.saturating_mul(86_400),
        fields: None,
        single_use: form.single_use.is_some(),
    };
    let created = async {
        let mut tx = state.store.begin().await?;
        let created =
            holder::share(&mut tx, session.subject, &form.certificate_id, &new, now).await?;
        tx.commit().await.map_err(tongban_store::StoreError::from)?;
        let link = format!("{}/verify/c/{}", base(&state), created.token);
        let qr_svg = tongban_ecert::qr::svg(&link)?;
        Ok::<_, ApiError>((created, link, qr_svg))
    };
    match created.await {
        Ok((created, link, qr_svg)) => crate::views::shared(
            prefs,
            &crate::views::Shared {
                link: &link,
                code: &created.code,
                qr_svg: &qr_svg,
                expires_at: created.share.expires_at,
            },
        ),
        Err(error) => crate::views::refused(prefs, "/account", &error),
    }
}

/// The client a person's own requests on the account page are recorded under (seal
/// usage of a PDF rendition downloaded there).
const ACCOUNT_PAGE: &str = "account-page";

/// The sealed PDF rendition of one of the signed-in person's certificates, from the
/// account page.
#[utoipa::path(get, path = "/account/certificates/{id}/pdf", tag = "account",
    params(("id" = String, Path, description = "certificate id")),
    responses(
        (status = 200, description = "the sealed PDF", content_type = "application/pdf", body = crate::openapi::Binary),
        (status = 403, description = "not signed in", content_type = "text/html"),
        (status = 404, description = "not one of the person's certificates", content_type = "text/html"),
        (status = 409, description = "the certificate is not in force, or its seal is suspended or revoked", content_type = "text/html"),
    ))]
pub async fn account_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let now = Timestamp::now();
    let prefs = super::web::prefs(&headers, None);
    let back = format!("/account/certificates/{id}/pdf");
    let session = match super::account::signed_in(&state, &headers, now).await {
        Ok(Some((session, _))) => session,
        Ok(None) => {
            return crate::views::sign_in_first(prefs, &back);
        }
        Err(response) => return response,
    };
    let actor = Actor::Person {
        subject: session.subject,
        client_id: ACCOUNT_PAGE.to_owned(),
        scopes: Vec::new(),
        acr: Some(session.acr),
    };
    let sealed = async {
        let certificate = {
            let mut conn = state.store.conn().await?;
            holder::certificate(&mut conn, session.subject, &id, now).await?
        };
        let sealed = tongban_ecert::rendition::sealed(
            &state.store,
            &state.pki,
            base(&state),
            &actor,
            &certificate,
        )
        .await?;
        Ok::<_, ApiError>(sealed)
    };
    match sealed.await {
        Ok(sealed) => super::seals::sealed_pdf(sealed),
        Err(error) => crate::views::refused(prefs, &back, &error),
    }
}

/// The shares of one of the caller's certificates.
#[utoipa::path(get, path = "/api/v1/me/certificates/{id}/shares", tag = "ecerts",
    params(("id" = String, Path, description = "certificate id")),
    responses(
        (status = 200, description = "newest first", body = Vec<ShareBody>),
        (status = 404, description = "not one of the caller's certificates", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:wallet"])))]
pub async fn shares(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<ShareBody>>, ApiError> {
    let person = holder_of(&auth)?;
    let mut conn = state.store.conn().await?;
    let all = holder::shares(&mut conn, person, &id, Timestamp::now()).await?;
    Ok(axum::Json(all.into_iter().map(Into::into).collect()))
}

/// Revokes one of the caller's shares at once.
#[utoipa::path(delete, path = "/api/v1/me/shares/{id}", tag = "ecerts",
    params(("id" = String, Path, description = "share id")),
    responses(
        (status = 204, description = "revoked"),
        (status = 404, description = "not one of the caller's shares", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:wallet"])))]
pub async fn revoke_share(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let person = holder_of(&auth)?;
    let mut tx = state.store.begin().await?;
    holder::revoke_share(&mut tx, person, &id, Timestamp::now()).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// One access to a certificate.
#[derive(Serialize, ToSchema)]
pub struct AccessBody {
    identifier: String,
    /// `share` (a verifier used a share) or `lookup` (a department looked it up).
    channel: String,
    /// The share's audience, or the department and system.
    accessor: String,
    purpose: String,
    /// RFC 3339.
    at: String,
}

/// Every access to the caller's certificates (and their companies'): who, when, why.
#[utoipa::path(get, path = "/api/v1/me/certificate-accesses", tag = "ecerts",
    responses(
        (status = 200, description = "newest first (at most 500)", body = Vec<AccessBody>),
        (status = 403, description = "not a person's token with ecert:wallet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:wallet"])))]
pub async fn accesses(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<axum::Json<Vec<AccessBody>>, ApiError> {
    let person = holder_of(&auth)?;
    let mut conn = state.store.conn().await?;
    let all = holder::accesses(&mut conn, person, 500, Timestamp::now()).await?;
    Ok(axum::Json(
        all.into_iter()
            .map(|a| AccessBody {
                identifier: a.identifier,
                channel: a.channel,
                accessor: a.accessor,
                purpose: a.purpose,
                at: a.at.to_rfc3339(),
            })
            .collect(),
    ))
}

// ---- verification -------------------------------------------------------------------

/// What a verifier presents: exactly one of them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// A share's token or short code.
    #[serde(default)]
    share: Option<String>,
    /// A VC-JWT.
    #[serde(default)]
    credential: Option<String>,
}

/// The checks of a verification.
#[derive(Serialize, ToSchema)]
pub struct ChecksBody {
    /// The signature verifies with the credential's `x5c` certificate.
    signature: bool,
    /// The signing certificate chains to the platform root, unrevoked.
    chain: bool,
    /// Why the chain failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    chain_detail: Option<String>,
    /// Within its validity period.
    validity: bool,
    /// In force in the register and the status lists.
    status: bool,
}

/// A certificate verification report.
#[derive(Serialize, ToSchema)]
pub struct CertificateReportBody {
    /// Genuine and in force now.
    valid: bool,
    checks: ChecksBody,
    /// `active`, `suspended`, `revoked`, `superseded`, `expired` or `unknown`.
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    type_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    type_name_zh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    type_name_en: Option<String>,
    /// The issuing department's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    /// The issuing department's USCC.
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_uscc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    holder_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_until: Option<String>,
    /// The face fields shown (a share shows only the fields it allows).
    fields: Value,
    /// The share presented.
    #[serde(skip_serializing_if = "Option::is_none")]
    share: Option<ShareSummaryBody>,
    /// Plain-language findings.
    messages: Vec<String>,
}

/// What a verifier learns of the share it used.
#[derive(Serialize, ToSchema)]
pub struct ShareSummaryBody {
    audience: String,
    purpose: String,
    /// RFC 3339.
    expires_at: String,
}

impl From<Report> for CertificateReportBody {
    fn from(r: Report) -> Self {
        let certificate = r.certificate.as_ref();
        Self {
            valid: r.valid,
            checks: ChecksBody {
                signature: r.signature,
                chain: r.chain.is_ok(),
                chain_detail: r.chain.clone().err(),
                validity: r.in_validity,
                status: r.status == "active",
            },
            status: r.status.clone(),
            identifier: certificate.map(|c| c.identifier.clone()),
            type_code: certificate.map(|c| c.type_code.clone()),
            type_name_zh: certificate.map(|c| c.type_name_zh.clone()),
            type_name_en: certificate.map(|c| c.type_name_en.clone()),
            issuer: certificate.map(|c| c.issuer.1.clone()),
            issuer_uscc: certificate.map(|c| c.issuer.0.clone()),
            holder_name: certificate.map(|c| c.holder_name.clone()),
            valid_from: certificate.map(|c| c.valid_from.to_rfc3339()),
            valid_until: certificate.and_then(|c| c.valid_until.map(Timestamp::to_rfc3339)),
            fields: r.fields,
            share: r.share.map(|s| ShareSummaryBody {
                audience: s.audience,
                purpose: s.purpose,
                expires_at: s.expires_at.to_rfc3339(),
            }),
            messages: r.findings.iter().map(ToString::to_string).collect(),
        }
    }
}

pub(crate) async fn run_verification(
    state: &AppState,
    presented: Presented<'_>,
) -> Result<Report, ApiError> {
    Ok(verify::verify(&state.store, &state.pki, presented, Timestamp::now()).await?)
}

/// Verifies a certificate from a share (token or short code) or a presented VC-JWT:
/// signature, chain, status, validity, issuing department and the face fields the
/// share allows. Public; throttled per client address. A share's use is counted and
/// shown to the holder.
#[utoipa::path(post, path = "/api/v1/certificates/verify", tag = "ecerts",
    request_body = VerifyBody,
    responses(
        (status = 200, description = "the report (also for a forged or revoked certificate: see `valid`)", body = CertificateReportBody),
        (status = 403, description = "the share expired, was revoked or is used up", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such share", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "neither or both of share and credential", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many verifications from this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_certificate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<axum::Json<CertificateReportBody>, ApiError> {
    super::verify::throttle(&state, peer, &headers)?;
    let presented = match (&body.share, &body.credential) {
        (Some(share), None) => Presented::Share(share),
        (None, Some(jwt)) => Presented::Credential(jwt),
        _ => return Err(invalid("share", "give exactly one of share and credential")),
    };
    let report = run_verification(&state, presented).await?;
    Ok(axum::Json(report.into()))
}

/// The page a share link or QR code opens: a button that verifies (so a link preview
/// does not spend a single-use share).
#[utoipa::path(get, path = "/verify/c/{token}", tag = "ecerts",
    params(("token" = String, Path, description = "share token")),
    responses((status = 200, description = "the page", content_type = "text/html")))]
pub async fn share_page(headers: HeaderMap, Path(token): Path<String>) -> Response {
    crate::views::share_confirm(super::web::prefs(&headers, None), &token)
}

/// Verifies the share of the page and shows the report for people.
#[utoipa::path(post, path = "/verify/c/{token}", tag = "ecerts",
    params(("token" = String, Path, description = "share token")),
    responses(
        (status = 200, description = "the report page", content_type = "text/html"),
        (status = 403, description = "the share expired, was revoked or is used up", content_type = "text/html"),
        (status = 404, description = "no such share", content_type = "text/html"),
        (status = 429, description = "too many verifications from this address", content_type = "text/html"),
    ))]
pub async fn share_page_verify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let prefs = super::web::prefs(&headers, None);
    let refused =
        |error: ApiError| crate::views::refused(prefs, &format!("/verify/c/{token}"), &error);
    if let Err(error) = super::verify::throttle(&state, peer, &headers) {
        return refused(error);
    }
    match run_verification(&state, Presented::Share(&token)).await {
        Ok(report) => crate::views::certificate_report(prefs, &token, &report),
        Err(error) => refused(error),
    }
}

// ---- batch issuance -------------------------------------------------------------------

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
    auth: Authenticated,
    Query(query): Query<BatchQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let actor = actor(&auth)?;
    let key = idempotency_key(&headers)?;
    let content_type = crate::extract::content_type(&headers);
    let bytes =
        crate::extract::read_document::<Vec<u8>>(body, &headers, state.http.document_limit_bytes)
            .await?;
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    let (type_code, department, rows) = match content_type.as_str() {
        "application/json" => {
            let parsed: BatchBody = parse_json(&bytes)?;
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
            let text = std::str::from_utf8(&bytes).map_err(|_| invalid("csv", "must be UTF-8"))?;
            let schema = catalogue::by_code(&mut tx, &code).await?.face_schema;
            let department = acting_for(query.department_id.as_deref())?;
            (code, department, batch::rows_from_csv(&schema, text)?)
        }
        _ => {
            return Err(ApiError::new(
                ProblemType::UnsupportedMediaType,
                "expected application/json or text/csv",
            ));
        }
    };
    // The type and department are part of the request (a CSV names them in the query).
    let department_text = department.map(|d| d.to_string()).unwrap_or_default();
    let hash = idempotency::request_hash(
        &[
            content_type.as_bytes(),
            b"\n",
            type_code.as_bytes(),
            b"\n",
            department_text.as_bytes(),
            b"\n",
            &bytes,
        ]
        .concat(),
    );
    let answer = match &key {
        Some(key) => idempotency::recall(&mut tx, &actor.label(), key, &hash).await?,
        None => None,
    };
    let answer = match answer {
        Some(answer) => answer,
        None => {
            let job = batch::submit(&mut tx, &actor, &type_code, department, &rows, now).await?;
            let answer = serde_json::to_value(JobBody::from(job))
                .map_err(|_| ApiError::bare(ProblemType::Internal))?;
            if let Some(key) = &key {
                idempotency::remember(&mut tx, &actor.label(), key, &hash, &answer, now).await?;
            }
            tx.commit().await.map_err(tongban_store::StoreError::from)?;
            answer
        }
    };
    let location = format!(
        "/api/v1/certificate-jobs/{}",
        answer["id"].as_str().unwrap_or_default()
    );
    let mut response = (StatusCode::ACCEPTED, axum::Json(answer)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
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
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<JobBody>, ApiError> {
    let actor = actor(&auth)?;
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
    auth: Authenticated,
    Path(id): Path<String>,
    Query(query): Query<JobRowsQuery>,
) -> Result<axum::Json<Vec<JobRowBody>>, ApiError> {
    let actor = actor(&auth)?;
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

/// The sealed PDF rendition of one of the caller's certificates: the face fields, a QR
/// code of the public status page, and the department's visible seal (PAdES B-T).
#[utoipa::path(get, path = "/api/v1/me/certificates/{id}/pdf", tag = "ecerts",
    params(("id" = String, Path, description = "certificate id")),
    responses(
        (status = 200, description = "the sealed PDF", content_type = "application/pdf", body = crate::openapi::Binary),
        (status = 404, description = "not one of the caller's certificates", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the signing seal is suspended or revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:wallet"])))]
pub async fn my_certificate_pdf(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let person = holder_of(&auth)?;
    let certificate = {
        let mut conn = state.store.conn().await?;
        holder::certificate(&mut conn, person, &id, Timestamp::now()).await?
    };
    let sealed = tongban_ecert::rendition::sealed(
        &state.store,
        &state.pki,
        base(&state),
        &actor(&auth)?,
        &certificate,
    )
    .await?;
    Ok(super::seals::sealed_pdf(sealed))
}

/// The public status page a printed certificate's QR code opens: in force or not, type
/// and issuing department; never the holder or the face fields. Throttled.
#[utoipa::path(get, path = "/verify/i/{identifier}", tag = "ecerts",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier")),
    responses(
        (status = 200, description = "the status page", content_type = "text/html"),
        (status = 400, description = "not an identifier, or a wrong check character", content_type = "text/html"),
        (status = 404, description = "no such certificate", content_type = "text/html"),
        (status = 429, description = "too many verifications from this address (`Retry-After`)", content_type = "text/html"),
    ))]
pub async fn status_page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(text): Path<String>,
) -> Response {
    let prefs = super::web::prefs(&headers, None);
    let refused =
        |error: ApiError| crate::views::refused(prefs, &format!("/verify/i/{text}"), &error);
    if let Err(error) = super::verify::throttle(&state, peer, &headers) {
        return refused(error);
    }
    let found = async {
        let id = identifier(&text)?;
        let mut conn = state.store.conn().await?;
        Ok::<_, ApiError>(verify::public_status(&mut conn, &id, Timestamp::now()).await?)
    }
    .await;
    match found {
        Ok(status) => crate::views::certificate_status(prefs, &status),
        Err(error) => refused(error),
    }
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
    auth: Authenticated,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<NewIssuerBody>,
) -> Result<StatusCode, ApiError> {
    let actor = actor(&auth)?;
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
    auth: Authenticated,
    Path((code, department)): Path<(String, String)>,
    ApiJson(body): ApiJson<IssuerSealBody>,
) -> Result<StatusCode, ApiError> {
    let actor = actor(&auth)?;
    let department = department
        .parse()
        .map_err(|_| ApiError::new(ProblemType::NotFound, "department not found"))?;
    let seal = body
        .seal_id
        .parse()
        .map_err(|_| invalid("seal_id", "no such seal"))?;
    let mut tx = state.store.begin().await?;
    catalogue::choose_seal(&mut tx, &actor, &code, department, seal).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
