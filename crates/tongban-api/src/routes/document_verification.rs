//! Public verification of sealed documents: `POST /api/v1/verify` (a PDF, an OFD document, a `.p7s` with
//! its file or digest, or a JWS with its payload) answers a validation report; `/verify`
//! is the same for people, as a page. Both are throttled per client address.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_esign::verification::{self, Verified};
use tongban_seal::validation::{Input, Revocation, SignatureReport};
use utoipa::ToSchema;

use crate::extract::{Document, VerificationBudget};
use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;
use crate::views;

use super::web;

/// A detached signature to verify, as JSON: exactly one of `p7s`, `jws`, `ses` and
/// `eseal`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetachedBody {
    /// A `.p7s` (DER), base64. Give `file` or `digest` with it.
    p7s: Option<String>,
    /// A compact JWS with a detached payload. Give `payload` with it.
    jws: Option<String>,
    /// A GB/T 38540 electronic signature (`SES_Signature` v4, DER), base64. Give `file`
    /// or `sm3` with it to check what it signed.
    ses: Option<String>,
    /// A GB/T 38540 electronic seal (`SESeal` v4, DER), base64, on its own.
    eseal: Option<String>,
    /// The signed file, base64.
    file: Option<String>,
    /// The signed file's SHA-256, 64 hex characters (the file need not be sent).
    digest: Option<String>,
    /// The signed file's SM3, 64 hex characters, for `ses`.
    sm3: Option<String>,
    /// The JWS payload, base64.
    payload: Option<String>,
}

/// The seal behind a signature.
#[derive(Serialize, ToSchema)]
pub struct SignatureSealBody {
    code: String,
    name: String,
    kind: String,
    department: String,
    department_uscc: String,
}

/// One signature's findings.
#[derive(Serialize, ToSchema)]
pub struct SignatureBody {
    /// `pades`, `cades`, `jws`, `ses` (GB/T 38540 signature) or `eseal` (GB/T 38540
    /// seal).
    format: String,
    /// PDF signature field; for `ses` what it says it signed (`propertyInfo`); for
    /// `eseal` the seal's `esID`.
    field: Option<String>,
    /// Signing certificate subject.
    signer: Option<String>,
    seal: Option<SignatureSealBody>,
    /// Stated by the signer (RFC 3339), not proven.
    claimed_signing_time: Option<String>,
    /// Proven by a valid signature time-stamp (RFC 3339).
    timestamp_time: Option<String>,
    /// The content matches and the signature value verifies.
    integrity: bool,
    /// The certificate chains to the platform root and was valid.
    trusted: bool,
    /// `good`, `revoked-after-signing`, `revoked` or `unknown`.
    revocation: String,
    /// When revoked (RFC 3339).
    revoked_at: Option<String>,
    /// PDF: the signature covers the whole file; OFD: every file of the package but
    /// the signature list and its own files.
    covers_whole_document: Option<bool>,
    /// PDF: what came after it is only later signed revisions; OFD: the files it does
    /// not protect belong to later signatures.
    later_changes_only_signatures: Option<bool>,
    /// OFD and cross-page PDF seals: the pages the seal shows on, from 1.
    pages: Vec<u32>,
    /// A cross-page seal (骑缝章): a slice of the seal on each of `pages`.
    cross_page: bool,
    /// ETSI EN 319 102-1: `TOTAL-PASSED`, `TOTAL-FAILED` or `INDETERMINATE`.
    indication: String,
    /// ETSI EN 319 102-1 sub-indication, e.g. `HASH_FAILURE`, `REVOKED`.
    sub_indication: Option<String>,
    /// Warnings and reasons, for people.
    messages: Vec<String>,
    /// The seal use's entry in the transparency log (`eseal`: none).
    log: super::log::LogBody,
    /// A person's signature made on this platform: who signed and how they approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    signatory: Option<SignatoryBody>,
}

/// The person behind a personal signature (个人电子签名) made on this platform.
#[derive(Serialize, ToSchema)]
pub struct SignatoryBody {
    /// `personal`.
    kind: &'static str,
    /// The person's name.
    name: String,
    /// Their resident ID number, masked (`110105********002X`).
    masked_id: Option<String>,
    /// How they approved the signature: `hwk` or `swk` (a passkey) or `otp` (password
    /// and authenticator code).
    approved_with: Option<String>,
    /// The assurance of that approval: `urn:tongban:acr:3`.
    acr: &'static str,
    /// The signing request it answered (none for the CSC API).
    request: Option<String>,
    /// When the platform signed (RFC 3339).
    signed_at: String,
}

impl From<tongban_esign::records::Signatory> for SignatoryBody {
    fn from(s: tongban_esign::records::Signatory) -> Self {
        Self {
            kind: "personal",
            name: s.name,
            masked_id: s.masked_id,
            approved_with: s.method,
            acr: "urn:tongban:acr:3",
            request: s.request_id,
            signed_at: s.at.to_rfc3339(),
        }
    }
}

/// A validation report.
#[derive(Serialize, ToSchema)]
pub struct ReportBody {
    /// The worst indication of all signatures.
    overall: String,
    signatures: Vec<SignatureBody>,
}

fn rfc3339(at: Option<Timestamp>) -> Option<String> {
    at.map(Timestamp::to_rfc3339)
}

impl From<SignatureReport> for SignatureBody {
    fn from(r: SignatureReport) -> Self {
        let (revocation, revoked_at) = match r.revocation {
            Revocation::Good => ("good", None),
            Revocation::RevokedAfter(at) => ("revoked-after-signing", Some(at)),
            Revocation::Revoked(at) => ("revoked", Some(at)),
            Revocation::Unknown => ("unknown", None),
        };
        Self {
            format: r.format.to_owned(),
            field: r.field,
            signer: r.signer,
            seal: r.seal.map(|s| SignatureSealBody {
                code: s.code,
                name: s.name,
                kind: s.kind,
                department: s.department,
                department_uscc: s.department_uscc,
            }),
            claimed_signing_time: rfc3339(r.claimed_signing_time),
            timestamp_time: rfc3339(r.timestamp_time),
            integrity: r.integrity,
            trusted: r.trusted,
            revocation: revocation.to_owned(),
            revoked_at: rfc3339(revoked_at),
            covers_whole_document: r.covers_whole_document,
            later_changes_only_signatures: r.later_changes_only_signatures,
            pages: r.pages,
            cross_page: r.cross_page,
            indication: r.indication.name().to_owned(),
            sub_indication: r.sub_indication.map(str::to_owned),
            messages: r.findings.iter().map(ToString::to_string).collect(),
            log: r.log.into(),
            signatory: None,
        }
    }
}

impl ReportBody {
    fn of(verified: Verified) -> Self {
        let Verified {
            report,
            signatories,
        } = verified;
        Self {
            overall: report.overall.name().to_owned(),
            signatures: report
                .signatures
                .into_iter()
                .zip(signatories)
                .map(|(signature, signatory)| SignatureBody {
                    signatory: signatory.map(Into::into),
                    ..signature.into()
                })
                .collect(),
        }
    }
}

fn invalid(field: &str, reason: &str) -> ApiError {
    ApiError::new(ProblemType::InvalidRequest, format!("{field}: {reason}"))
}

fn base64_field(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| invalid(field, "must be base64"))
}

fn hex_digest(text: &str) -> Result<[u8; 32], ApiError> {
    tongban_crypto::cms::parse_sha256_hex(text)
        .ok_or_else(|| invalid("digest", "must be 64 hex characters (SHA-256)"))
}

fn sm3_digest(text: &str) -> Result<[u8; 32], ApiError> {
    // The same 64 hex characters as a SHA-256; only the name differs.
    tongban_crypto::cms::parse_sha256_hex(text)
        .ok_or_else(|| invalid("sm3", "must be 64 hex characters (SM3)"))
}

/// What `POST /api/v1/verify` was sent: a PDF, or a detached signature with what it
/// signed.
pub struct Submitted(SubmittedInput);

enum SubmittedInput {
    Pdf(Vec<u8>),
    Ofd(Vec<u8>),
    Cades { p7s: Vec<u8>, digest: [u8; 32] },
    Jws { jws: String, payload: Vec<u8> },
    Ses { ses: Vec<u8>, sm3: Option<[u8; 32]> },
    Eseal(Vec<u8>),
}

impl Submitted {
    fn from_json(body: DetachedBody) -> Result<Self, ApiError> {
        let one = "give exactly one of p7s, jws, ses and eseal";
        let input = match (body.p7s, body.jws, body.ses, body.eseal) {
            (None, None, Some(ses), None) => SubmittedInput::Ses {
                ses: base64_field("ses", &ses)?,
                sm3: match (&body.file, &body.sm3) {
                    (Some(file), None) => {
                        Some(tongban_crypto::shangmi::sm3(&base64_field("file", file)?))
                    }
                    (None, Some(sm3)) => Some(sm3_digest(sm3)?),
                    (None, None) => None,
                    (Some(_), Some(_)) => {
                        return Err(invalid("file", "give at most one of file and sm3"));
                    }
                },
            },
            (None, None, None, Some(eseal)) => {
                SubmittedInput::Eseal(base64_field("eseal", &eseal)?)
            }
            (Some(p7s), None, None, None) => SubmittedInput::Cades {
                p7s: base64_field("p7s", &p7s)?,
                digest: match (&body.file, &body.digest) {
                    (Some(file), None) => tongban_crypto::cms::sha256(&base64_field("file", file)?),
                    (None, Some(digest)) => hex_digest(digest)?,
                    _ => return Err(invalid("file", "give exactly one of file and digest")),
                },
            },
            (None, Some(jws), None, None) => {
                let payload = body.payload.as_deref();
                let payload = payload.ok_or_else(|| invalid("payload", "required with jws"))?;
                SubmittedInput::Jws {
                    jws,
                    payload: base64_field("payload", payload)?,
                }
            }
            _ => return Err(invalid("p7s", one)),
        };
        Ok(Self(input))
    }

    /// The validation report of what was sent.
    async fn verify(self, state: &AppState) -> Result<Verified, tongban_esign::SignError> {
        let (store, pki, log) = (&state.store, &state.pki, state.ledger.as_ref());
        match self.0 {
            SubmittedInput::Pdf(pdf) => {
                verification::verify(store, pki, log, Input::Pdf(pdf)).await
            }
            SubmittedInput::Ofd(ofd) => {
                verification::verify(store, pki, log, Input::Ofd(ofd)).await
            }
            SubmittedInput::Cades { p7s, digest } => {
                let p7s = &p7s;
                verification::verify(store, pki, log, Input::Cades { p7s, digest }).await
            }
            SubmittedInput::Jws { jws, payload } => {
                let (jws, payload) = (&jws, &payload);
                verification::verify(store, pki, log, Input::Jws { jws, payload }).await
            }
            SubmittedInput::Ses { ses, sm3 } => {
                verification::verify(store, pki, log, Input::Ses { ses: &ses, sm3 }).await
            }
            SubmittedInput::Eseal(eseal) => {
                verification::verify(store, pki, log, Input::Eseal(&eseal)).await
            }
        }
    }
}

impl FromRequest<AppState> for Submitted {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let Document {
            content_type,
            bytes,
        } = Document::from_request(req, state).await?;
        match content_type.as_str() {
            "application/pdf" if bytes.is_empty() => Err(invalid("pdf", "the body is empty")),
            "application/pdf" => Ok(Self(SubmittedInput::Pdf(bytes))),
            "application/ofd" if bytes.is_empty() => Err(invalid("ofd", "the body is empty")),
            "application/ofd" => Ok(Self(SubmittedInput::Ofd(bytes))),
            "application/json" => Self::from_json(crate::extract::parse_json(&bytes)?),
            _ => Err(ApiError::new(
                ProblemType::UnsupportedMediaType,
                "expected application/pdf, application/ofd or application/json",
            )),
        }
    }
}

/// Verifies a sealed document and answers a validation report: for each signature the
/// seal and department, claimed and time-stamped times, integrity, chain to our root,
/// revocation at the time-stamp, coverage, and an ETSI EN 319 102-1 indication.
/// Public; throttled per client address.
#[utoipa::path(post, path = "/api/v1/verify", tag = "seals",
    request_body(
        description = "`application/pdf`: a PDF; `application/ofd`: an OFD document (GB/T 33190); `application/json`: a detached signature (`p7s` with `file` or `digest`, `jws` with `payload`, a GB/T 38540 `ses` with `file` or `sm3`, or an `eseal` on its own)",
        content(
            (crate::openapi::Binary = "application/pdf"),
            (crate::openapi::Binary = "application/ofd"),
            (DetachedBody = "application/json"),
        )),
    responses(
        (status = 200, description = "the report (also for invalid signatures: see `indication`)", body = ReportBody),
        (status = 413, description = "over http.document_limit_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "neither a PDF, an OFD document nor JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a readable PDF or OFD document, or an incomplete request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many verifications from this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api(
    State(state): State<AppState>,
    _: VerificationBudget,
    submitted: Submitted,
) -> Result<axum::Json<ReportBody>, ApiError> {
    let verified = submitted.verify(&state).await?;
    Ok(axum::Json(ReportBody::of(verified)))
}

/// The verification page: upload a PDF, read the report.
#[utoipa::path(get, path = "/verify", tag = "seals",
    responses((status = 200, description = "the upload form", content_type = "text/html")))]
pub async fn form(headers: HeaderMap) -> Response {
    views::verify_form(web::prefs(&headers, None), None)
}

/// The verification page's upload: the report, for people.
#[utoipa::path(post, path = "/verify", tag = "seals",
    request_body(content_type = "multipart/form-data", description = "`document`: a PDF, an OFD document, or a GB/T 38540 signature (`SES_Signature`) or seal (`SESeal`), DER; `signed_file`: for a signature, the file it signed (optional)"),
    responses(
        (status = 200, description = "the report", content_type = "text/html"),
        (status = 422, description = "no document, or not one we can read: the form again", content_type = "text/html"),
        (status = 429, description = "too many verifications from this address", content_type = "text/html"),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    budget: Result<VerificationBudget, ApiError>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    if budget.is_err() {
        let mut page = views::verify_form(prefs, Some(views::VerifyError::TooMany));
        *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return web::with_retry_after(page, crate::problem::RETRY_AFTER_SECS.into());
    }
    let (mut document, mut signed_file) = (None, None);
    if let Ok(mut multipart) = multipart {
        while let Ok(Some(field)) = multipart.next_field().await {
            match field.name() {
                Some("document") => document = field.bytes().await.ok(),
                Some("signed_file") => signed_file = field.bytes().await.ok(),
                _ => {}
            }
        }
    }
    let refuse = |error| {
        let mut page = views::verify_form(prefs, Some(error));
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        page
    };
    let Some(document) = document.filter(|d| !d.is_empty()) else {
        return refuse(views::VerifyError::NoDocument);
    };
    let signed_file = signed_file.filter(|f| !f.is_empty());
    let (store, pki) = (&state.store, &state.pki);
    match verification::verify_upload(
        store,
        pki,
        &state.ledger,
        Vec::from(document),
        signed_file.as_deref(),
    )
    .await
    {
        Ok(verified) => views::verify_report(prefs, &verified.report, &verified.signatories),
        Err(tongban_esign::SignError::Invalid { .. }) => refuse(views::VerifyError::Unreadable),
        Err(error) => ApiError::from(error).into_response(),
    }
}
