//! Verifying a certificate: over the API (a VC-JWT or a share), on the page a share link
//! opens, and the public status page a printed certificate's QR code opens.

use crate::extract::{ApiJson, VerificationBudget};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_ecert::verification::{self, Presented, Report};
use utoipa::ToSchema;

use super::{identifier, invalid};

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
    /// RFC 3339: the time the status is known as of. The register's status at that
    /// moment, never more than a second before the report; for `unknown`, the time of
    /// the report.
    status_as_of: String,
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
    /// The issuance's entry in the transparency log.
    log: crate::routes::log::LogBody,
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
            status_as_of: r.status_as_of.to_rfc3339(),
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
            log: r.log.into(),
        }
    }
}

pub(crate) async fn run_verification(
    state: &AppState,
    presented: Presented<'_>,
) -> Result<Report, ApiError> {
    Ok(verification::verify(
        &state.store,
        &state.pki,
        &state.ledger,
        presented,
        Timestamp::now(),
    )
    .await?)
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
    _: VerificationBudget,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<axum::Json<CertificateReportBody>, ApiError> {
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
    crate::views::share_confirm(crate::routes::web::prefs(&headers, None), &token)
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
    budget: Result<VerificationBudget, ApiError>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let prefs = crate::routes::web::prefs(&headers, None);
    let verified = match budget {
        Ok(_) => run_verification(&state, Presented::Share(&token)).await,
        Err(error) => Err(error),
    };
    match verified {
        Ok(report) => crate::views::certificate_report(prefs, &token, &report),
        Err(error) => crate::views::refused(prefs, &format!("/verify/c/{token}"), &error),
    }
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
    budget: Result<VerificationBudget, ApiError>,
    headers: HeaderMap,
    Path(text): Path<String>,
) -> Response {
    let prefs = crate::routes::web::prefs(&headers, None);
    let found = async {
        budget?;
        let id = identifier(&text)?;
        Ok::<_, ApiError>(verification::public_status(&state.store, &id, Timestamp::now()).await?)
    };
    match found.await {
        Ok(status) => crate::views::certificate_status(prefs, &status),
        Err(error) => crate::views::refused(prefs, &format!("/verify/i/{text}"), &error),
    }
}
