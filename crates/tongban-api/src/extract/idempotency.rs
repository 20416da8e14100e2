//! `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header): a department system
//! that retries an issuance after a timeout gets the first answer, not a second
//! certificate.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_ecert::idempotency;
use tongban_seal::permissions::Actor;
use tongban_store::Conn;

use crate::problem::{ApiError, ProblemType};

/// The request's idempotency key, if it has one.
#[derive(Debug)]
pub struct Idempotency(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(Self(None));
        };
        let key = value.to_str().map_err(|_| {
            ApiError::new(
                ProblemType::InvalidRequest,
                "Idempotency-Key: must be visible ASCII",
            )
        })?;
        let key = key.trim_matches('"').to_owned();
        idempotency::check_key(&key)?;
        Ok(Self(Some(key)))
    }
}

impl Idempotency {
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
        if let Some(key) = &self.0
            && let Some(answer) = idempotency::recall(tx, &caller, key, &hash).await?
        {
            return Ok(answer);
        }
        let answer = serde_json::to_value(work(tx).await?)
            .map_err(|_| ApiError::bare(ProblemType::Internal))?;
        if let Some(key) = &self.0 {
            idempotency::remember(tx, &caller, key, &hash, &answer, now).await?;
        }
        Ok(answer)
    }
}
