//! The holder's wallet over the API: their certificates and sealed PDFs, shares, and
//! who looked at them.

use crate::auth::Authenticated;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_ecert::holder::{self, NewShare, Share};
use tongban_ecert::{ofd_rendition, rendition};
use utoipa::ToSchema;

use super::{CertificateBody, actor, base, holder_of};

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

impl From<holder::Access> for AccessBody {
    fn from(a: holder::Access) -> Self {
        Self {
            identifier: a.identifier,
            channel: a.channel,
            accessor: a.accessor,
            purpose: a.purpose,
            at: a.at.to_rfc3339(),
        }
    }
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
    Ok(axum::Json(all.into_iter().map(Into::into).collect()))
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
    let (actor, person) = (actor(&auth)?, holder_of(&auth)?);
    let sealed =
        rendition::holder_copy(&state.store, &state.pki, base(&state), &actor, person, &id).await?;
    Ok(crate::routes::seals::sealing::sealed_pdf(sealed))
}

/// The sealed OFD rendition (GB/T 33190) of one of the caller's certificates: the face
/// of the PDF rendition, sealed with a GB/T 38540 signature by the SM2 seal the
/// issuing department chose for the type's OFD copies.
#[utoipa::path(get, path = "/api/v1/me/certificates/{id}/ofd", tag = "ecerts",
    params(("id" = String, Path, description = "certificate id")),
    responses(
        (status = 200, description = "the sealed OFD document", content_type = "application/ofd", body = crate::openapi::Binary),
        (status = 404, description = "not one of the caller's certificates", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "not in force, no SM2 seal chosen for OFD copies, or the seal is suspended or revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["ecert:wallet"])))]
pub async fn my_certificate_ofd(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (actor, person) = (actor(&auth)?, holder_of(&auth)?);
    let (store, pki) = (&state.store, &state.pki);
    let sealed = ofd_rendition::holder_copy(store, pki, base(&state), &actor, person, &id).await?;
    Ok(ofd_response(sealed))
}

/// A sealed OFD document as a download.
pub(crate) fn ofd_response(sealed: Vec<u8>) -> Response {
    let ofd = crate::routes::seals::ofd::OFD;
    ([(axum::http::header::CONTENT_TYPE, ofd)], sealed).into_response()
}
