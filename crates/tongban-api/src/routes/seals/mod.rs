//! The e-seal API, one file per concern: a department's seals (registry: create, list,
//! status, history, image), grants, sealing (CAdES over digests or a file, detached JWS,
//! PAdES; GB/T 38540 seals and signatures of SM2 seals, on files, PDFs and OFD documents) and the usage log. Rules live in `tongban-seal`; this module only moves bytes.

pub(super) mod grants;
pub(super) mod ofd;
pub(super) mod registry;
pub(crate) mod sealing;
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

/// A page range, `first-last` or one page, from 1.
fn pages_range(text: &str) -> Result<(u32, u32), ApiError> {
    let bad = || invalid("pages", "must be first-last, pages from 1 (e.g. 1-10)");
    let (first, last) = text.split_once('-').unwrap_or((text, text));
    let first: u32 = first.trim().parse().map_err(|_| bad())?;
    let last: u32 = last.trim().parse().map_err(|_| bad())?;
    if first == 0 || last < first {
        return Err(bad());
    }
    Ok((first, last))
}

/// The edge of a cross-page seal, by its name in a query.
fn edge_named(name: &str) -> Result<tongban_seal::riding::Edge, ApiError> {
    match name {
        "right" => Ok(tongban_seal::riding::Edge::Right),
        "left" => Ok(tongban_seal::riding::Edge::Left),
        _ => Err(invalid("riding", "must be right or left")),
    }
}

fn department_id(text: &str) -> Result<DepartmentId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(ProblemType::NotFound, "department not found"))
}
