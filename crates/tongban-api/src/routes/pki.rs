//! The public PKI surface: CA certificates and CRLs (where our certificates' AIA and CRL
//! distribution point URLs lead) and the RFC 3161 time-stamp authority.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;

use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;

const PKIX_CERT: &str = "application/pkix-cert";
const PKIX_CRL: &str = "application/pkix-crl";
const TIMESTAMP_QUERY: &str = "application/timestamp-query";
const TIMESTAMP_REPLY: &str = "application/timestamp-reply";

/// `{name}.{extension}` → `name`, or 404.
fn strip<'a>(file: &'a str, extension: &str) -> Result<&'a str, ApiError> {
    file.strip_suffix(extension)
        .ok_or_else(|| ApiError::new(ProblemType::NotFound, "no such file"))
}

/// A CA certificate, DER (`root.crt`, `issuing.crt`; the SM2 hierarchy's `sm2-root.crt`,
/// `sm2-issuing.crt`).
#[utoipa::path(get, path = "/pki/ca/{file}", tag = "pki",
    params(("file" = String, Path, description = "`root.crt`, `issuing.crt`, `sm2-root.crt` or `sm2-issuing.crt`")),
    responses(
        (status = 200, description = "the certificate", body = crate::openapi::Binary, content_type = "application/pkix-cert"),
        (status = 404, description = "no such CA", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ca_certificate(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let name = strip(&file, ".crt")?;
    let der = state
        .pki
        .ca_certificate(name)
        .ok_or_else(|| ApiError::new(ProblemType::NotFound, format!("no CA named {name}")))?
        .to_vec();
    Ok(([(header::CONTENT_TYPE, PKIX_CERT)], der))
}

/// The newest CRL of a CA, DER (`issuing.crl`, `root.crl`, `sm2-issuing.crl`,
/// `sm2-root.crl`). Signed again before half
/// its validity has passed, so it is never stale; an offline root's CRL is published as
/// the operator provides it.
#[utoipa::path(get, path = "/pki/crl/{file}", tag = "pki",
    params(("file" = String, Path, description = "`issuing.crl`, `root.crl`, `sm2-issuing.crl` or `sm2-root.crl`")),
    responses(
        (status = 200, description = "the CRL", body = crate::openapi::Binary, content_type = "application/pkix-crl"),
        (status = 404, description = "no CRL for that CA", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn crl(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let der = state.pki.crl(strip(&file, ".crl")?).await?;
    Ok(([(header::CONTENT_TYPE, PKIX_CRL)], der))
}

/// RFC 3161 time-stamp request → time-stamp response. A query we cannot grant (bad
/// format, hash other than SHA-256, foreign policy) is still answered 200 with an
/// RFC 3161 rejection status and failure reason.
#[utoipa::path(post, path = "/pki/tsa", tag = "pki",
    request_body(content = crate::openapi::Binary, content_type = "application/timestamp-query"),
    responses(
        (status = 200, description = "TimeStampResp (granted or rejected)", body = crate::openapi::Binary, content_type = "application/timestamp-reply"),
        (status = 413, description = "query over the body limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not application/timestamp-query", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn timestamp(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    crate::extract::require_content_type(&headers, TIMESTAMP_QUERY)?;
    let reply = state.pki.tsa().respond(&body);
    Ok(([(header::CONTENT_TYPE, TIMESTAMP_REPLY)], reply))
}

/// JWKS cache lifetime announced to relying parties; far below the rotation lead time
/// (`PUBLISH_LEAD`), so every cache sees a new key before it signs.
const JWKS_MAX_AGE_SECS: u32 = 300;

/// The token signing keys (JWK Set, RFC 7517): the key that signs now, the one that
/// will sign next, and replaced keys whose tokens may still be live. `kid` is the
/// RFC 7638 thumbprint.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "pki",
    responses(
        (status = 200, description = "the JWK Set", body = Object, content_type = "application/jwk-set+json",
         headers(("Cache-Control" = String, description = "public, max-age=300"))),
    ))]
pub async fn jwks(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let jwks = state
        .pki
        .token_keys()
        .jwks(tongban_core::Timestamp::now())
        .await?;
    let body = serde_json::to_vec(&jwks).map_err(|e| {
        tracing::error!(error = %e, "JWKS encoding");
        ApiError::bare(ProblemType::Internal)
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/jwk-set+json".to_owned()),
            (
                header::CACHE_CONTROL,
                format!("public, max-age={JWKS_MAX_AGE_SECS}"),
            ),
        ],
        body,
    ))
}
