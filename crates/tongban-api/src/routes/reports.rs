//! Content-Security-Policy violation reports from browsers (W3C Reporting API), sent
//! because our pages' CSP says `report-to csp`. A violation means either a bug in our
//! pages or an injection attempt; both belong in the logs.

use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};

/// At most this many reports of one request are logged.
const MAX_LOGGED: usize = 20;
/// Longest text of a report field that is logged.
const MAX_FIELD: usize = 200;

/// One report as browsers send it (`application/reports+json`).
#[derive(Deserialize, ToSchema)]
pub struct Report {
    /// Report type; only `csp-violation` is logged.
    #[serde(rename = "type")]
    pub type_: String,
    /// The page the report is about.
    #[serde(default)]
    pub url: String,
    /// The violation.
    pub body: CspViolation,
}

/// The body of a `csp-violation` report.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CspViolation {
    /// The directive that was violated, e.g. `script-src-elem`.
    #[serde(default)]
    pub effective_directive: String,
    /// What was blocked: a URL, or `inline` / `eval`.
    #[serde(default, rename = "blockedURL")]
    pub blocked_url: String,
    /// `enforce` or `report`.
    #[serde(default)]
    pub disposition: String,
}

/// Receives CSP violation reports and logs them (without query strings, which may hold
/// codes or tokens).
#[utoipa::path(post, path = "/api/v1/reports/csp", tag = "system",
    request_body(content = Vec<Report>, content_type = "application/reports+json"),
    responses(
        (status = 204, description = "reports accepted"),
        (status = 400, description = "malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "body over the limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not JSON", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn csp(ApiJson(reports): ApiJson<Vec<Report>>) -> Result<StatusCode, ApiError> {
    for report in reports
        .iter()
        .filter(|r| r.type_ == "csp-violation")
        .take(MAX_LOGGED)
    {
        tracing::warn!(
            target: "tongban::csp",
            page = %clip(&report.url),
            directive = %clip(&report.body.effective_directive),
            blocked = %clip(&report.body.blocked_url),
            disposition = %clip(&report.body.disposition),
            "content security policy violation"
        );
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Drops the query and fragment, and bounds the length.
fn clip(text: &str) -> String {
    let end = text.find(['?', '#']).unwrap_or(text.len());
    text[..end].chars().take(MAX_FIELD).collect()
}
