//! Passwords: argon2id hashing with at least OWASP's parameters (m = 19 MiB, t = 2,
//! p = 1), and the policy for new passwords (length, not a common password, not the
//! person's own identifier).
//!
//! Hashing is deliberately slow (tens of milliseconds): callers run it off the async
//! runtime (`spawn_blocking`). [`Passwords::verify`] spends the same time when the
//! account does not exist, so a login's timing does not reveal who has an account.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted (NIST SP 800-63B §5.1.1.2).
pub const MIN_LENGTH: usize = 8;
/// Longest password accepted, in bytes: long enough for any passphrase, short enough
/// that nobody can make us hash megabytes.
pub const MAX_BYTES: usize = 1024;
/// argon2id memory in KiB (OWASP Password Storage Cheat Sheet minimum: 19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// argon2id passes.
pub const ITERATIONS: u32 = 2;
/// argon2id lanes.
pub const PARALLELISM: u32 = 1;

/// The bundled list (see its header for source and licence), lower case.
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_lowercase)
        .collect()
});

/// Why a new password is refused. The messages are shown to the person choosing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// Fewer than [`MIN_LENGTH`] characters.
    #[error("the password must have at least {MIN_LENGTH} characters")]
    TooShort,
    /// More than [`MAX_BYTES`] bytes.
    #[error("the password is too long")]
    TooLong,
    /// In the list of common passwords.
    #[error("this password is too common; choose another")]
    Common,
    /// Contains the person's own identifier (ID number, phone, e-mail name).
    #[error("the password must not contain your own identifier")]
    ContainsIdentifier,
}

/// Checks a new password against the policy. `identifiers` are the person's own
/// identifiers, which must not appear in it.
pub fn check_policy(password: &str, identifiers: &[&str]) -> Result<(), PasswordPolicyError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordPolicyError::TooShort);
    }
    if password.len() > MAX_BYTES {
        return Err(PasswordPolicyError::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower) {
        return Err(PasswordPolicyError::Common);
    }
    let contains = identifiers
        .iter()
        .map(|id| id.trim().to_lowercase())
        .filter(|id| id.chars().count() >= 4)
        .any(|id| lower.contains(&id));
    if contains {
        return Err(PasswordPolicyError::ContainsIdentifier);
    }
    Ok(())
}

/// A hashing failure (the random number generator or the parameters); never the
/// caller's fault.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordHashError(String);

/// Hashes and verifies passwords with fixed argon2id parameters.
pub struct Passwords {
    argon2: Argon2<'static>,
    /// A hash of a random password, verified against when an account does not exist.
    dummy: String,
}

impl Passwords {
    /// The hasher with this platform's parameters.
    pub fn new() -> Result<Self, PasswordHashError> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
            .map_err(|e| PasswordHashError(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut dummy_secret = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut dummy_secret)
            .map_err(|_| PasswordHashError("random number generator failed".into()))?;
        let dummy = argon2
            .hash_password(&dummy_secret)
            .map_err(|e| PasswordHashError(e.to_string()))?
            .to_string();
        Ok(Self { argon2, dummy })
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) of `password` with a fresh salt.
    pub fn hash(&self, password: &str) -> Result<String, PasswordHashError> {
        self.argon2
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| PasswordHashError(e.to_string()))
    }

    /// Whether `password` matches `stored`. With `None` (no such account) it spends the
    /// same effort on a dummy hash and answers false.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let candidate = if password.len() > MAX_BYTES {
            ""
        } else {
            password
        };
        let (phc, real) = match stored {
            Some(phc) => (phc, true),
            None => (self.dummy.as_str(), false),
        };
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let matches = self
            .argon2
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok();
        matches && real
    }

    /// Whether `stored` was made with other parameters and should be re-hashed at the
    /// next successful login.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let wanted = format!("$argon2id$v=19$m={MEMORY_KIB},t={ITERATIONS},p={PARALLELISM}$");
        !stored.starts_with(&wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_short_common_and_own_identifiers() {
        assert_eq!(
            check_policy("short", &[]),
            Err(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            check_policy("password", &[]),
            Err(PasswordPolicyError::Common)
        );
        assert_eq!(
            check_policy("Baseball", &[]),
            Err(PasswordPolicyError::Common)
        );
        assert_eq!(
            check_policy("QWERTYUIOP", &[]),
            Err(PasswordPolicyError::Common)
        );
        assert_eq!(
            check_policy("my-13800138000-pw", &["13800138000"]),
            Err(PasswordPolicyError::ContainsIdentifier)
        );
        assert_eq!(
            check_policy(&"x".repeat(2000), &[]),
            Err(PasswordPolicyError::TooLong)
        );
        assert!(check_policy("绿色的山和蓝色的海", &[]).is_ok());
        assert!(check_policy("correct horse battery staple", &["13800138000"]).is_ok());
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let passwords = Passwords::new().unwrap();
        let phc = passwords.hash("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!passwords.needs_rehash(&phc));
        assert!(passwords.verify("correct horse battery staple", Some(&phc)));
        assert!(!passwords.verify("correct horse battery stapl", Some(&phc)));
        assert!(!passwords.verify("anything", None));
        assert!(!passwords.verify("anything", Some("not a phc string")));
        let weak = "$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        assert!(passwords.needs_rehash(weak));
    }
}
