//! An OAuth error answer to a client (RFC 6749 §5.2): what the token and pushed
//! authorization request endpoints refuse with.

/// An OAuth error code and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// `invalid_request`, `invalid_grant`, `invalid_client`, `invalid_scope`,
    /// `unsupported_grant_type`, `invalid_dpop_proof`, …
    pub error: &'static str,
    /// For the client's developer.
    pub description: String,
}

impl Refusal {
    pub(crate) fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }
}
