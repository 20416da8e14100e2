//! The public verification endpoints' budget per client address, shared by every
//! instance: a handler that takes a [`VerificationBudget`] has spent one verification
//! of it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::problem::{ApiError, ProblemType};
use crate::state::AppState;

use super::ClientIp;

/// One verification from the client's budget; 429 when it is spent. Pages take it as
/// `Result<VerificationBudget, ApiError>` and say it in their own words.
#[derive(Debug)]
pub struct VerificationBudget;

impl FromRequestParts<AppState> for VerificationBudget {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let now = tongban_core::time::Timestamp::now().unix_millis();
        let limiter = &state.verify_limiter;
        limiter
            .check(&state.store, ip, now)
            .await?
            .map_err(|wait| {
                ApiError::new(
                    ProblemType::TooManyRequests,
                    format!("too many verifications from this address; retry in {wait} s"),
                )
            })?;
        Ok(Self)
    }
}
