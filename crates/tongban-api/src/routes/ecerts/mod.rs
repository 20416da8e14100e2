//! E-certificates (电子证照) over HTTP, one file per concern: the catalogue of types and
//! who issues them, issuance, lifecycle, status lists, department lookup, the holder's
//! wallet and account pages, verification, and batch jobs. What they share — the
//! certificate's JSON shape, the caller as an actor, identifiers — is here.

pub(super) mod account;
pub(super) mod catalogue;
pub(super) mod copies;
pub(super) mod issuance;
pub(super) mod jobs;
pub(super) mod lifecycle;
pub(super) mod lookup;
pub(super) mod status_lists;
pub(super) mod verification;
pub(super) mod wallet;

use crate::auth::Authenticated;
use crate::problem::{ApiError, ProblemType};
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_ecert::identifier::Identifier;
use tongban_ecert::register::Certificate;
use tongban_identity::subjects::{DepartmentId, SubjectId};
use tongban_seal::permissions::Actor;
use utoipa::ToSchema;

fn invalid(field: &str, reason: &str) -> ApiError {
    ApiError::new(ProblemType::InvalidRequest, format!("{field}: {reason}"))
}

/// The department a caller acts for, when named (`department_id`).
fn acting_for(department: Option<&str>) -> Result<Option<DepartmentId>, ApiError> {
    department
        .map(|d| {
            d.parse()
                .map_err(|_| invalid("department_id", "is not an id of this platform"))
        })
        .transpose()
}

fn actor(auth: &Authenticated) -> Result<Actor, ApiError> {
    Ok(Actor::of(&auth.caller)?)
}

fn base(state: &AppState) -> &str {
    state.tokens.issuer()
}

/// The person behind a wallet call: a person's token with scope `ecert:wallet`.
fn holder_of(auth: &Authenticated) -> Result<SubjectId, ApiError> {
    match actor(auth)? {
        Actor::Person {
            subject, scopes, ..
        } if scopes
            .iter()
            .any(|s| s == tongban_ecert::permissions::WALLET_SCOPE) =>
        {
            Ok(subject)
        }
        Actor::Person { .. } => Err(ApiError::new(
            ProblemType::Forbidden,
            "this needs the scope ecert:wallet",
        )),
        Actor::Client { .. } => Err(ApiError::new(
            ProblemType::Forbidden,
            "a wallet belongs to a person, not to a client system",
        )),
    }
}

fn identifier(text: &str) -> Result<Identifier, ApiError> {
    text.parse::<Identifier>()
        .map_err(|e| tongban_ecert::EcertError::from(e).into())
}

/// An issued certificate.
#[derive(Serialize, ToSchema)]
pub struct CertificateBody {
    id: String,
    /// GB/T 36904 identifier.
    identifier: String,
    /// Type code.
    #[serde(rename = "type")]
    type_code: String,
    type_name_zh: String,
    type_name_en: String,
    /// Issuing department.
    department_id: String,
    /// `active`, `suspended`, `revoked`, `superseded` or `expired`.
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    /// Face fields.
    face: Value,
    /// The signed credential (`application/vc+jwt`).
    credential: String,
    /// Start of validity (RFC 3339).
    valid_from: String,
    /// End of validity (RFC 3339); absent: until revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_until: Option<String>,
    /// The version this one replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    supersedes: Option<String>,
    /// The version that replaced this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    superseded_by: Option<String>,
    /// Issuance time (RFC 3339).
    issued_at: String,
}

impl CertificateBody {
    fn of(c: Certificate, now: Timestamp) -> Self {
        Self {
            status: c.status_at(now).to_owned(),
            id: c.id,
            identifier: c.identifier,
            type_code: c.type_code,
            type_name_zh: c.type_name_zh,
            type_name_en: c.type_name_en,
            department_id: c.department_id.to_string(),
            status_reason: c.status_reason,
            face: c.face,
            credential: c.credential,
            valid_from: c.valid_from.to_rfc3339(),
            valid_until: c.valid_until.map(Timestamp::to_rfc3339),
            supersedes: c.supersedes,
            superseded_by: c.superseded_by,
            issued_at: c.issued_at.to_rfc3339(),
        }
    }
}

/// The holder of a certificate to issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderBody {
    /// Resident ID number (natural person) or USCC (legal person).
    id_number: String,
    /// Name, to register a holder the platform does not know yet (unverified).
    name: String,
}
