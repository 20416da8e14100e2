//! RFC 9457 problem details: the one place where errors become HTTP responses.
//!
//! Every error the API returns is `application/problem+json` with a `type` from
//! [`ProblemType`]. The `type` URIs are stable: clients may match on them, so a variant
//! is never renamed, only added. The OpenAPI document lists them all.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tongban_crypto::CryptoError;
use tongban_identity::admin::AdminError;
use tongban_identity::caller::Denied;
use tongban_identity::clients::ClientError;
use tongban_identity::identity_registry::ImportError;
use tongban_identity::subjects::SubjectError;
use tongban_seal::SealError;
use tongban_store::StoreError;
use utoipa::ToSchema;

use crate::request_scope;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Prefix of every problem `type`.
pub const TYPE_PREFIX: &str = "urn:tongban:problem:";

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

/// Every kind of error the API can answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemType {
    /// No route matches the path.
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The body could not be parsed (malformed JSON, wrong shape).
    MalformedRequest,
    /// The body is valid JSON but a value is not acceptable.
    InvalidRequest,
    /// The request needs (other) credentials.
    Unauthorized,
    /// The caller is known but not allowed to do this.
    Forbidden,
    /// The request conflicts with stored data (a unique value already registered).
    Conflict,
    /// Too many requests; retry after `Retry-After`.
    TooManyRequests,
    /// The body is larger than the configured limit.
    PayloadTooLarge,
    /// The `Content-Type` is not one this route accepts.
    UnsupportedMediaType,
    /// The database is unreachable or saturated; retry after `Retry-After`.
    DatabaseUnavailable,
    /// The instance is not ready (database unreachable or schema not current).
    NotReady,
    /// The request took longer than the configured timeout.
    Timeout,
    /// The service cannot answer now for another reason; retry after `Retry-After`.
    Unavailable,
    /// A fault on our side; the request id in the body finds it in the logs.
    Internal,
}

impl ProblemType {
    /// All problem types, in the order the OpenAPI document lists them.
    pub const ALL: [Self; 15] = [
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::MalformedRequest,
        Self::InvalidRequest,
        Self::Unauthorized,
        Self::Forbidden,
        Self::Conflict,
        Self::TooManyRequests,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::DatabaseUnavailable,
        Self::NotReady,
        Self::Timeout,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The stable last segment of the `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::MalformedRequest => "malformed-request",
            Self::InvalidRequest => "invalid-request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Conflict => "conflict",
            Self::TooManyRequests => "too-many-requests",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::DatabaseUnavailable => "database-unavailable",
            Self::NotReady => "not-ready",
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The full `type` URI.
    pub fn uri(self) -> String {
        format!("{TYPE_PREFIX}{}", self.slug())
    }

    /// The HTTP status that goes with it.
    pub fn status(self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::MalformedRequest => StatusCode::BAD_REQUEST,
            Self::InvalidRequest => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Conflict => StatusCode::CONFLICT,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::DatabaseUnavailable | Self::NotReady | Self::Timeout | Self::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, fixed summary (RFC 9457 `title`).
    pub fn title(self) -> &'static str {
        match self {
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::MalformedRequest => "Malformed request",
            Self::InvalidRequest => "Invalid request",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::Conflict => "Conflict",
            Self::TooManyRequests => "Too many requests",
            Self::PayloadTooLarge => "Request body too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::DatabaseUnavailable => "Database unavailable",
            Self::NotReady => "Not ready",
            Self::Timeout => "Request timed out",
            Self::Unavailable => "Service unavailable",
            Self::Internal => "Internal error",
        }
    }

    /// Whether clients should retry later (a `Retry-After` header is sent).
    pub fn is_retryable(self) -> bool {
        matches!(
            self.status(),
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
        )
    }

    /// The problem type that fits a bare status code produced by the framework (for
    /// example a 405 from the router or a 413 from the body limit).
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => Self::InvalidRequest,
            StatusCode::UNAUTHORIZED => Self::Unauthorized,
            StatusCode::FORBIDDEN => Self::Forbidden,
            StatusCode::CONFLICT => Self::Conflict,
            StatusCode::TOO_MANY_REQUESTS => Self::TooManyRequests,
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => Self::Timeout,
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
            s if s.is_client_error() => Self::MalformedRequest,
            _ => Self::Internal,
        }
    }
}

/// An RFC 9457 problem details object.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// Stable URI naming the kind of problem; see the list in the API description.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the kind of problem; the same for every occurrence.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong this time, for a human.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request id (also in the `X-Request-Id` header), to find this in the logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Each field that failed validation (an RFC 9457 extension member), when there are
    /// several to report at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One invalid field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProblemField {
    /// JSON Pointer to the field in the request body.
    pub pointer: String,
    /// What is wrong with it.
    pub message: String,
}

/// An error on its way to becoming a problem+json response.
#[derive(Debug)]
pub struct ApiError {
    kind: ProblemType,
    status: Option<StatusCode>,
    detail: Option<String>,
    challenge: Option<&'static str>,
    dpop_nonce: Option<String>,
    errors: Vec<ProblemField>,
}

impl ApiError {
    /// An error of `kind` with a human-readable `detail`.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            detail: Some(detail.into()),
            challenge: None,
            dpop_nonce: None,
            errors: Vec::new(),
        }
    }

    /// An error of `kind` without detail.
    pub fn bare(kind: ProblemType) -> Self {
        Self {
            kind,
            status: None,
            detail: None,
            challenge: None,
            dpop_nonce: None,
            errors: Vec::new(),
        }
    }

    /// Answers with `status` instead of the kind's usual one, for a framework error
    /// whose exact code (say 411) is finer than our table.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// A 401 for a bearer token that is missing (`invalid` false) or refused, with the
    /// RFC 6750 §3 `WWW-Authenticate` challenge.
    pub fn bearer(detail: impl Into<String>, invalid: bool) -> Self {
        let mut error = Self::new(ProblemType::Unauthorized, detail);
        error.challenge = Some(if invalid {
            "Bearer realm=\"tongban\", error=\"invalid_token\""
        } else {
            "Bearer realm=\"tongban\""
        });
        error
    }

    /// A 401 for a DPoP-bound token presented without a valid proof (RFC 9449 §7.1),
    /// with a fresh nonce when the proof lacked one.
    pub fn dpop(detail: impl Into<String>, nonce: Option<String>) -> Self {
        let mut error = Self::new(ProblemType::Unauthorized, detail);
        error.challenge = Some(if nonce.is_some() {
            "DPoP error=\"use_dpop_nonce\", algs=\"ES256 EdDSA\""
        } else {
            "DPoP error=\"invalid_dpop_proof\", algs=\"ES256 EdDSA\""
        });
        error.dpop_nonce = nonce;
        error
    }

    /// Lists the invalid fields in the `errors` member.
    pub fn with_errors(mut self, errors: Vec<ProblemField>) -> Self {
        self.errors = errors;
        self
    }

    /// The human-readable detail.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The problem type.
    pub fn kind(&self) -> ProblemType {
        self.kind
    }
}

impl From<CryptoError> for ApiError {
    fn from(error: CryptoError) -> Self {
        match error {
            CryptoError::Store(store) => store.into(),
            CryptoError::NotFound(what) => {
                Self::new(ProblemType::NotFound, format!("{what} not found"))
            }
            // The HSM is away or not set up as the key says: the operator's to mend,
            // the caller's to retry; what is wrong goes to the log, not to the caller.
            CryptoError::Token(why) => {
                tracing::error!(error = %why, "PKCS#11 token");
                Self::new(
                    ProblemType::Unavailable,
                    "the key's hardware security module is unavailable; retry later",
                )
            }
            other => {
                tracing::error!(error = %other, "crypto error");
                Self::bare(ProblemType::Internal)
            }
        }
    }
}

impl From<SubjectError> for ApiError {
    fn from(error: SubjectError) -> Self {
        match error {
            SubjectError::Invalid { .. } => {
                Self::new(ProblemType::InvalidRequest, error.to_string())
            }
            SubjectError::Taken { .. } => Self::new(ProblemType::Conflict, error.to_string()),
            SubjectError::NotFound(_) => Self::new(ProblemType::NotFound, error.to_string()),
            SubjectError::Store(store) => store.into(),
        }
    }
}

impl From<ClientError> for ApiError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Store(store) => store.into(),
            ClientError::NoSecret | ClientError::GraceRunning { .. } => {
                Self::new(ProblemType::Conflict, error.to_string())
            }
            ClientError::Rng(_) => {
                tracing::error!(%error, "client registration");
                Self::bare(ProblemType::Internal)
            }
            other => Self::new(ProblemType::InvalidRequest, other.to_string()),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Subject(e) => e.into(),
            AdminError::Client(e) => e.into(),
            AdminError::Registry(ImportError::Store(store)) | AdminError::Store(store) => {
                store.into()
            }
            AdminError::Registry(e @ ImportError::Line { .. }) => {
                Self::new(ProblemType::InvalidRequest, format!("entries: {e}"))
            }
            e @ (AdminError::OtherDepartment
            | AdminError::OwnAccount
            | AdminError::RoleNotTheirs(_)) => Self::new(ProblemType::Forbidden, e.to_string()),
            other @ (AdminError::Hash(_) | AdminError::Rng(_)) => {
                tracing::error!(error = %other, "admin operation");
                Self::bare(ProblemType::Internal)
            }
        }
    }
}

impl From<tongban_identity::audit_trail::AuditTrailError> for ApiError {
    fn from(error: tongban_identity::audit_trail::AuditTrailError) -> Self {
        match error {
            tongban_identity::audit_trail::AuditTrailError::Denied(_) => {
                Self::new(ProblemType::Forbidden, error.to_string())
            }
            tongban_identity::audit_trail::AuditTrailError::Invalid { .. }
            | tongban_identity::audit_trail::AuditTrailError::TooMany => {
                Self::new(ProblemType::InvalidRequest, error.to_string())
            }
            tongban_identity::audit_trail::AuditTrailError::Store(store) => store.into(),
        }
    }
}

impl From<SealError> for ApiError {
    fn from(error: SealError) -> Self {
        match error {
            SealError::Denied(_) => Self::new(ProblemType::Forbidden, error.to_string()),
            SealError::Invalid { .. } => Self::new(ProblemType::InvalidRequest, error.to_string()),
            SealError::NotFound(_) => Self::new(ProblemType::NotFound, error.to_string()),
            SealError::Conflict(_) => Self::new(ProblemType::Conflict, error.to_string()),
            SealError::Crypto(crypto) => crypto.into(),
            SealError::Store(store) => store.into(),
            SealError::Internal(_) => Self::new(ProblemType::Internal, error.to_string()),
        }
    }
}

impl From<tongban_esign::SignError> for ApiError {
    fn from(error: tongban_esign::SignError) -> Self {
        use tongban_esign::SignError as E;
        match error {
            E::Denied(_) | E::Assurance => Self::new(ProblemType::Forbidden, error.to_string()),
            E::Invalid { .. } => Self::new(ProblemType::InvalidRequest, error.to_string()),
            E::NotFound(_) => Self::new(ProblemType::NotFound, error.to_string()),
            E::Conflict(_) => Self::new(ProblemType::Conflict, error.to_string()),
            E::Approval(_) => Self::new(ProblemType::Forbidden, error.to_string()),
            E::Crypto(crypto) => crypto.into(),
            E::Store(store) => store.into(),
            E::Internal(_) => Self::new(ProblemType::Internal, error.to_string()),
        }
    }
}

impl From<tongban_ecert::EcertError> for ApiError {
    fn from(error: tongban_ecert::EcertError) -> Self {
        use tongban_ecert::EcertError as E;
        match error {
            E::Denied(_) => Self::new(ProblemType::Forbidden, error.to_string()),
            E::Invalid { .. } => Self::new(ProblemType::InvalidRequest, error.to_string()),
            E::Face(ref fields) => {
                let errors = fields
                    .iter()
                    .map(|f| ProblemField {
                        pointer: format!("/face{}", f.pointer),
                        message: f.message.clone(),
                    })
                    .collect();
                Self::new(ProblemType::InvalidRequest, error.to_string()).with_errors(errors)
            }
            E::Identifier(_) => Self::new(ProblemType::MalformedRequest, error.to_string()),
            E::NotFound(_) => Self::new(ProblemType::NotFound, error.to_string()),
            E::Conflict(_) => Self::new(ProblemType::Conflict, error.to_string()),
            E::Crypto(crypto) => crypto.into(),
            E::Store(store) => store.into(),
            E::Internal(_) => Self::new(ProblemType::Internal, error.to_string()),
        }
    }
}

impl From<tongban_identity::passkeys::PasskeyError> for ApiError {
    fn from(error: tongban_identity::passkeys::PasskeyError) -> Self {
        use tongban_identity::passkeys::PasskeyError as E;
        match error {
            E::Unavailable => Self::new(ProblemType::Unavailable, error.to_string()),
            E::Ceremony => Self::new(ProblemType::Forbidden, error.to_string()),
            E::Rejected(_) | E::Unknown => Self::new(ProblemType::Unauthorized, error.to_string()),
            E::Duplicate => Self::new(ProblemType::Conflict, error.to_string()),
            E::Name => Self::new(ProblemType::InvalidRequest, error.to_string()),
            E::Rng(_) => Self::new(ProblemType::Internal, error.to_string()),
            E::Store(store) => store.into(),
        }
    }
}

impl From<tongban_identity::sso::SsoError> for ApiError {
    fn from(error: tongban_identity::sso::SsoError) -> Self {
        use tongban_identity::sso::SsoError as E;
        match error {
            E::Store(store) => store.into(),
            E::Csrf | E::FlowExpired => Self::new(ProblemType::Forbidden, error.to_string()),
            other => {
                tracing::error!(error = %other, "login flow");
                Self::bare(ProblemType::Internal)
            }
        }
    }
}

impl From<tongban_identity::token_info::TokenInfoError> for ApiError {
    fn from(error: tongban_identity::token_info::TokenInfoError) -> Self {
        use tongban_identity::token_info::TokenInfoError as E;
        match error {
            E::Store(store) | E::Subject(SubjectError::Store(store)) => store.into(),
            other => {
                tracing::error!(error = %other, "token information");
                Self::bare(ProblemType::Internal)
            }
        }
    }
}

impl From<tongban_identity::token_grants::TokenGrantError> for ApiError {
    fn from(error: tongban_identity::token_grants::TokenGrantError) -> Self {
        use tongban_identity::token_grants::TokenGrantError as E;
        match error {
            E::Store(store)
            | E::Grant(tongban_identity::refresh_tokens::GrantError::Store(store)) => store.into(),
            other => {
                tracing::error!(error = %other, "token endpoint");
                Self::bare(ProblemType::Internal)
            }
        }
    }
}

impl From<tongban_identity::par::ParError> for ApiError {
    fn from(error: tongban_identity::par::ParError) -> Self {
        use tongban_identity::par::ParError as E;
        match error {
            E::Store(store) => store.into(),
            other => {
                tracing::error!(error = %other, "pushed request");
                Self::bare(ProblemType::Internal)
            }
        }
    }
}

impl From<Denied> for ApiError {
    fn from(error: Denied) -> Self {
        Self::new(ProblemType::Forbidden, error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            tracing::warn!(error = %error, "database unavailable");
            return Self::new(
                ProblemType::DatabaseUnavailable,
                "the database is unavailable; retry later",
            );
        }
        // Store errors other than unavailability are our faults: log them in full, tell
        // the caller nothing about our internals.
        tracing::error!(error = %error, "store error");
        Self::bare(ProblemType::Internal)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = self.kind;
        let status = self.status.unwrap_or(kind.status());
        let problem = Problem {
            type_: kind.uri(),
            title: kind.title().to_owned(),
            status: status.as_u16(),
            detail: self.detail,
            request_id: request_scope::request_id().map(|id| id.to_string()),
            errors: self.errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if kind.is_retryable() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        if let Some(challenge) = self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(nonce) = self.dpop_nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            headers.insert("dpop-nonce", nonce);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_statuses_are_errors() {
        let mut slugs: Vec<_> = ProblemType::ALL.iter().map(|p| p.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemType::ALL.len());
        for p in ProblemType::ALL {
            assert!(p.status().as_u16() >= 400, "{p:?}");
        }
    }
}
