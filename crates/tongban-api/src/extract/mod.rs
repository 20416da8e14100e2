//! Typed request extractors: for the API, whose failures are problem+json; for pages
//! ([`page`]), whose failures are pages.

mod browser;
mod idempotency;
mod page;
mod verification_budget;

pub use browser::{ClientIp, FlowCookie};
pub(crate) use browser::{FLOW_COOKIE, SESSION_COOKIE, cookie};
pub use idempotency::Idempotency;
pub(crate) use page::malformed;
pub use page::{PageForm, PageQuery, PageUpload};
pub use verification_budget::VerificationBudget;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, ProblemType};

/// A JSON request body. Unlike `axum::Json`, every failure is a problem+json answer:
/// 415 for a non-JSON content type, 413 over the body limit, and 400 naming the parse
/// error (line and column, or the field whose value has the wrong type).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonWithBytes(value, _) = JsonWithBytes::from_request(req, state).await?;
        Ok(Self(value))
    }
}

/// A JSON body with its bytes (an idempotent request is recognised by its bytes).
#[derive(Debug, Clone)]
pub struct JsonWithBytes<T>(pub T, pub Bytes);

impl<T, S> FromRequest<S> for JsonWithBytes<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                ProblemType::UnsupportedMediaType,
                "expected Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            ApiError::new(ProblemType::for_status(status), rejection.body_text())
        })?;
        Ok(Self(parse_json(&bytes)?, bytes))
    }
}

/// A document body (a PDF, a CSV batch) of at most `http.document_limit_bytes`, with
/// its media type.
#[derive(Debug)]
pub struct Document {
    /// The media type, lowercased, without parameters.
    pub content_type: String,
    /// The body.
    pub bytes: Vec<u8>,
}

impl FromRequest<crate::state::AppState> for Document {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &crate::state::AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let limit = state.http.document_limit_bytes;
        Ok(Self {
            content_type: content_type(&parts.headers),
            bytes: read_document(body, &parts.headers, limit).await?,
        })
    }
}

/// Parses a JSON document, with an error that says where and what.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let detail = if path.is_empty() || path == "." {
            format!("invalid JSON: {inner}")
        } else {
            format!("invalid JSON at `{path}`: {inner}")
        };
        ApiError::new(ProblemType::MalformedRequest, detail)
    })
}

/// The request's media type without parameters, lowercased; empty if there is none.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// 415 unless the request's media type is `expected`.
pub fn require_content_type(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    if content_type(headers) == expected {
        Ok(())
    } else {
        Err(ApiError::new(
            ProblemType::UnsupportedMediaType,
            format!("expected Content-Type: {expected}"),
        ))
    }
}

/// `application/json` or any `application/*+json` type, parameters ignored.
pub fn is_json(headers: &HeaderMap) -> bool {
    let essence = content_type(headers);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Where a document body goes as it arrives.
pub trait DocumentBuffer {
    /// Room for a declared length.
    fn with_capacity(capacity: usize) -> Self;
    /// Bytes so far.
    fn received(&self) -> usize;
    /// The next bytes (a sealed document's hash may make the reader wait).
    fn push(&mut self, chunk: axum::body::Bytes) -> impl Future<Output = ()> + Send;
}

impl DocumentBuffer for Vec<u8> {
    fn with_capacity(capacity: usize) -> Self {
        Vec::with_capacity(capacity)
    }
    fn received(&self) -> usize {
        self.len()
    }
    async fn push(&mut self, chunk: axum::body::Bytes) {
        self.extend_from_slice(&chunk);
    }
}

impl DocumentBuffer for tongban_seal::pdf_sealing::Incoming {
    fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity(capacity)
    }
    fn received(&self) -> usize {
        self.len()
    }
    async fn push(&mut self, chunk: axum::body::Bytes) {
        self.push(chunk).await;
    }
}

/// Reads a document body (a PDF to seal or verify) of at most `limit` bytes into one
/// buffer sized from `Content-Length`, so that a large document is held once, not in
/// a growing buffer and its copies.
pub async fn read_document<B: DocumentBuffer>(
    body: axum::body::Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<B, ApiError> {
    use http_body_util::BodyExt as _;
    let too_large = || {
        ApiError::new(
            ProblemType::PayloadTooLarge,
            format!("the document is larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut buffer = B::with_capacity(declared.unwrap_or(0));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::new(ProblemType::MalformedRequest, e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if buffer.received() + data.len() > limit {
                return Err(too_large());
            }
            buffer.push(data).await;
        }
    }
    Ok(buffer)
}
