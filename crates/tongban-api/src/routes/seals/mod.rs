//! The e-seal API, one file per concern: a department's seals (registry: create, list,
//! status, history, image), grants, sealing (CAdES over digests or a file, detached JWS,
//! PAdES; GB/T 38540 seals and signatures of SM2 seals) and the usage log. Rules live in `tongban-seal`; this module only moves bytes.

pub(super) mod grants;
pub(super) mod registry;
pub(super) mod sealing;
pub(super) mod ses;
pub(super) mod usage;

use crate::problem::{ApiError, ProblemType};
use tongban_identity::subjects::DepartmentId;
use tongban_seal::registry::SealId;

fn invalid(field: &str, reason: &str) -> ApiError {
    ApiError::new(ProblemType::InvalidRequest, format!("{field}: {reason}"))
}

fn seal_id(text: &str) -> Result<SealId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(ProblemType::NotFound, "seal not found"))
}

fn department_id(text: &str) -> Result<DepartmentId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(ProblemType::NotFound, "department not found"))
}
