//! Assurance levels of a login and what a request or an operation requires of them.
//!
//! - L1 (`urn:tongban:acr:1`): a password on a self-asserted identity.
//! - L2 (`urn:tongban:acr:2`): a password on an identity matched in the registry.
//! - L3 (`urn:tongban:acr:3`): a passkey, or a password with an authenticator code, on
//!   an identity matched in the registry.
//!
//! A relying party asks for a level with `acr_values` (voluntary) or with an essential
//! `acr` claim in `claims` (OIDC Core §5.5.1.1); a client can be registered with a
//! minimum level. A session below what is asked for logs in again (step-up).

use serde_json::Value;

use crate::identity_registry::acr;

/// The highest level.
pub const MAX_LEVEL: u8 = 3;

/// The level a login reaches: `registry_level` is 2 when the identity matched the
/// registry, `amr` the RFC 8176 methods used.
pub fn level_of_login(registry_level: u8, amr: &[&str]) -> u8 {
    let strong = amr.iter().any(|m| matches!(*m, "hwk" | "swk" | "otp"));
    match (registry_level >= 2, strong) {
        (true, true) => 3,
        (true, false) => 2,
        (false, _) => 1,
    }
}

/// The level an `acr` value names; 0 for values that are not ours.
pub fn level_of_acr(value: &str) -> u8 {
    value
        .strip_prefix("urn:tongban:acr:")
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| (1..=MAX_LEVEL).contains(n))
        .unwrap_or(0)
}

/// The `acr` values we can satisfy, lowest first (for discovery).
pub fn supported_acr_values() -> Vec<String> {
    (1..=MAX_LEVEL).map(acr).collect()
}

/// What an authorization request needs of the login.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Requirement {
    /// The lowest acceptable level (1 when nothing is asked).
    pub min_level: u8,
    /// Whether a login below it is refused (`unmet_authentication_requirements`)
    /// rather than answered with the level reached.
    pub essential: bool,
}

/// Why the request's assurance parameters cannot be followed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequirementError {
    /// `claims` is not a JSON object of the expected shape.
    #[error("claims must be a JSON object (OIDC Core §5.5)")]
    Claims,
    /// None of the essential acr values is one of ours.
    #[error("none of the essential acr values is supported")]
    Unsupported,
}

fn lowest_of<'a>(values: impl Iterator<Item = &'a str>) -> Result<Option<u8>, RequirementError> {
    let mut any = false;
    let mut lowest: Option<u8> = None;
    for value in values {
        any = true;
        let level = level_of_acr(value);
        if level > 0 {
            lowest = Some(lowest.map_or(level, |l| l.min(level)));
        }
    }
    match (any, lowest) {
        (true, None) => Err(RequirementError::Unsupported),
        (_, lowest) => Ok(lowest),
    }
}

/// The requirement of a request with `acr_values` and `claims` to a client whose
/// registered minimum is `client_min_level`. The lowest listed level is the one
/// asked for: any of the listed values would do.
pub fn requirement(
    acr_values: Option<&str>,
    claims: Option<&str>,
    client_min_level: u8,
) -> Result<Requirement, RequirementError> {
    let mut required = Requirement {
        min_level: client_min_level.clamp(1, MAX_LEVEL),
        essential: client_min_level > 1,
    };
    // acr_values are voluntary: values that are not ours are ignored.
    if let Ok(Some(level)) = lowest_of(acr_values.unwrap_or("").split_whitespace()) {
        required.min_level = required.min_level.max(level);
    }
    if let Some(claims) = claims.filter(|c| !c.trim().is_empty()) {
        let claims: Value = serde_json::from_str(claims).map_err(|_| RequirementError::Claims)?;
        if !claims.is_object() {
            return Err(RequirementError::Claims);
        }
        if let Some(asked) = claims.pointer("/id_token/acr") {
            let essential = asked.get("essential").and_then(Value::as_bool) == Some(true);
            let values: Vec<&str> = match (asked.get("value"), asked.get("values")) {
                (Some(Value::String(v)), _) => vec![v.as_str()],
                (_, Some(Value::Array(vs))) => vs.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            match lowest_of(values.into_iter()) {
                Ok(Some(level)) => {
                    required.min_level = required.min_level.max(level);
                    required.essential |= essential;
                }
                Ok(None) => {}
                Err(unsupported) if essential => return Err(unsupported),
                Err(_) => {}
            }
        }
    }
    Ok(required)
}

/// Proof-checking for operations that need a level (sealing needs L3).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("this needs a login at assurance level {needed} (the session has {has})")]
pub struct InsufficientAssurance {
    /// Required level.
    pub needed: u8,
    /// The session's level.
    pub has: u8,
}

/// Checks that a login at `acr` reaches `needed`.
pub fn require(acr: Option<&str>, needed: u8) -> Result<(), InsufficientAssurance> {
    let has = acr.map(level_of_acr).unwrap_or(0);
    if has >= needed {
        Ok(())
    } else {
        Err(InsufficientAssurance { needed, has })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_of_logins() {
        assert_eq!(level_of_login(1, &["pwd"]), 1);
        assert_eq!(level_of_login(1, &["swk", "mfa"]), 1);
        assert_eq!(level_of_login(2, &["pwd"]), 2);
        assert_eq!(level_of_login(2, &["pwd", "otp", "mfa"]), 3);
        assert_eq!(level_of_login(2, &["hwk", "mfa"]), 3);
    }

    #[test]
    fn requirements_from_acr_values_claims_and_the_client() {
        let none = requirement(None, None, 1).unwrap();
        assert_eq!(
            none,
            Requirement {
                min_level: 1,
                essential: false
            }
        );
        let voluntary = requirement(Some("urn:tongban:acr:3"), None, 1).unwrap();
        assert_eq!(
            voluntary,
            Requirement {
                min_level: 3,
                essential: false
            }
        );
        let any_of = requirement(
            Some("urn:other urn:tongban:acr:3 urn:tongban:acr:2"),
            None,
            1,
        );
        assert_eq!(any_of.unwrap().min_level, 2);
        assert_eq!(
            requirement(Some("urn:other"), None, 1).unwrap().min_level,
            1
        );
        let foreign = r#"{"id_token":{"acr":{"essential":true,"values":["urn:other"]}}}"#;
        assert_eq!(
            requirement(None, Some(foreign), 1),
            Err(RequirementError::Unsupported)
        );
        let claims = r#"{"id_token":{"acr":{"essential":true,"values":["urn:tongban:acr:3"]}}}"#;
        let essential = requirement(None, Some(claims), 1).unwrap();
        assert_eq!(
            essential,
            Requirement {
                min_level: 3,
                essential: true
            }
        );
        assert_eq!(
            requirement(None, Some("[1]"), 1),
            Err(RequirementError::Claims)
        );
        assert_eq!(
            requirement(None, Some("{"), 1),
            Err(RequirementError::Claims)
        );
        let client = requirement(None, None, 3).unwrap();
        assert_eq!(
            client,
            Requirement {
                min_level: 3,
                essential: true
            }
        );
    }

    #[test]
    fn require_compares_levels() {
        assert!(require(Some("urn:tongban:acr:3"), 3).is_ok());
        assert_eq!(
            require(Some("urn:tongban:acr:2"), 3),
            Err(InsufficientAssurance { needed: 3, has: 2 })
        );
        assert!(require(None, 1).is_err());
        assert_eq!(level_of_acr("urn:tongban:acr:9"), 0);
    }
}
