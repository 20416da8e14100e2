//! `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header): a department system
//! that retries an issuance or a sealing after a timeout gets the first answer, not a
//! second certificate or signature.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_ecert::idempotency;
use tongban_seal::permissions::Actor;
use tongban_store::Conn;

use crate::problem::{ApiError, ProblemType};

/// The request's idempotency key, if it has one, and its query as sent (part of what a
/// retry repeats).
#[derive(Debug)]
pub struct Idempotency {
    key: Option<String>,
    query: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(Self { key: None, query });
        };
        let key = value.to_str().map_err(|_| {
            ApiError::new(
                ProblemType::InvalidRequest,
                "Idempotency-Key: must be visible ASCII",
            )
        })?;
        let key = key.trim_matches('"').to_owned();
        idempotency::check_key(&key)?;
        Ok(Self {
            key: Some(key),
            query,
        })
    }
}

impl Idempotency {
    /// The key for a sealing call made of `parts` (the call, the seal, the body or its
    /// digest) and the query: the seal domain remembers its answer.
    pub fn sealing(&self, parts: &[&[u8]]) -> Result<Option<tongban_seal::once::Once>, ApiError> {
        let parts = [parts, &[self.query.as_bytes()]].concat();
        let once = |key: &String| tongban_seal::once::Once::new(key, &parts);
        Ok(self.key.as_ref().map(once).transpose()?)
    }

    /// The caller's key, if it sent one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// What the key names: the request's `body` and its query.
    pub fn request(&self, body: &[u8]) -> Vec<u8> {
        [body, b"?", self.query.as_bytes()].concat()
    }

    /// The answer of `work` in `tx`, once per caller and key: a repeat of the same
    /// `request` gets the remembered answer, another request under the same key a 422.
    /// The answer is remembered in `tx`, so it commits with the work or not at all.
    pub async fn once<T: Serialize>(
        &self,
        tx: &mut Conn,
        actor: &Actor,
        request: &[u8],
        now: Timestamp,
        work: impl AsyncFnOnce(&mut Conn) -> Result<T, ApiError>,
    ) -> Result<Value, ApiError> {
        let hash = idempotency::request_hash(request);
        let caller = actor.label();
        if let Some(key) = &self.key
            && let Some(answer) = idempotency::recall(tx, &caller, key, &hash).await?
        {
            return Ok(answer);
        }
        let answer = serde_json::to_value(work(tx).await?)
            .map_err(|_| ApiError::bare(ProblemType::Internal))?;
        if let Some(key) = &self.key {
            idempotency::remember(tx, &caller, key, &hash, &answer, now).await?;
        }
        Ok(answer)
    }
}
