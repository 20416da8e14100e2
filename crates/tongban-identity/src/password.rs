//! Passwords: argon2id hashing with at least OWASP's parameters (m = 19 MiB, t = 2,
//! p = 1), and the policy for new passwords (length, not a common password, not the
//! person's own identifier).
//!
//! Hashing is deliberately slow (tens of milliseconds): callers run it off the async
//! runtime (`spawn_blocking`). [`Passwords::verify`] spends the same time when the
//! account does not exist, so a login's timing does not reveal who has an account.
//!
//! Each hash needs 19 MiB of working memory. Allocated and freed per login, glibc came
//! to keep one such block in each of its arenas (a freed block that large raises its
//! mmap threshold, so the next comes from an arena heap and stays): the soak's RSS rose
//! in steps of about 20 MiB. The blocks are kept here instead, a few for reuse, and
//! cleared before they are kept.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

/// Working memories kept for reuse (19 MiB each): the hashes that run at once on the
/// machine's cores; more at once get one made and dropped.
const MEMORY_KEPT: usize = 4;

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
    /// Working memory kept for the next hash.
    memory: std::sync::Mutex<Vec<Vec<Block>>>,
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
        let mut passwords = Self {
            argon2,
            memory: std::sync::Mutex::default(),
            dummy: String::new(),
        };
        passwords.dummy = passwords.hash_bytes(&dummy_secret)?;
        Ok(passwords)
    }

    /// Runs `work` on `blocks` blocks of working memory: kept ones when there are,
    /// cleared and kept again after.
    fn with_memory<T>(&self, blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
        let kept = self
            .memory
            .lock()
            .ok()
            .and_then(|mut kept| kept.pop())
            .filter(|memory| memory.len() == blocks);
        let mut memory = kept.unwrap_or_else(|| vec![Block::default(); blocks]);
        let result = work(&mut memory);
        // What the hash left in it derives from the password: not kept around.
        memory.fill(Block::default());
        if let Ok(mut kept) = self.memory.lock()
            && kept.len() < MEMORY_KEPT
        {
            kept.push(memory);
        }
        result
    }

    /// The PHC string of `password` under a fresh salt.
    fn hash_bytes(&self, password: &[u8]) -> Result<String, PasswordHashError> {
        let mut salt = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
            .map_err(|_| PasswordHashError("random number generator failed".into()))?;
        let mut out = [0u8; 32];
        let blocks = self.argon2.params().block_count();
        self.with_memory(blocks, |memory| {
            self.argon2
                .hash_password_into_with_memory(password, &salt, &mut out, memory)
        })
        .map_err(|e| PasswordHashError(e.to_string()))?;
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        Ok(format!(
            "$argon2id$v=19$m={MEMORY_KIB},t={ITERATIONS},p={PARALLELISM}${}${}",
            base64::Engine::encode(&b64, salt),
            base64::Engine::encode(&b64, out)
        ))
    }

    /// Whether `password` hashes to `stored` (a PHC string, with its own parameters).
    fn matches(&self, password: &[u8], stored: &PasswordHash) -> Option<bool> {
        let algorithm = Algorithm::try_from(stored.algorithm.as_str()).ok()?;
        let version = stored
            .version
            .map_or(Ok(Version::V0x13), Version::try_from)
            .ok()?;
        let params = Params::try_from(stored).ok()?;
        let salt = stored.salt.as_ref()?;
        let expected = stored.hash.as_ref()?;
        let argon2 = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        let blocks = argon2.params().block_count();
        self.with_memory(blocks, |memory| {
            argon2.hash_password_into_with_memory(password, salt, &mut out, memory)
        })
        .ok()?;
        // `Output`'s comparison takes the same time wherever they differ.
        Some(Output::new(&out).ok()? == *expected)
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) of `password` with a fresh salt.
    pub fn hash(&self, password: &str) -> Result<String, PasswordHashError> {
        self.hash_bytes(password.as_bytes())
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
        let matches = self.matches(candidate.as_bytes(), &parsed).unwrap_or(false);
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

    #[test]
    fn our_hashes_and_the_argon2_crates_verify_each_other() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let passwords = Passwords::new().unwrap();
        let ours = passwords.hash("绿色的山和蓝色的海").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            passwords
                .argon2
                .verify_password("绿色的山和蓝色的海".as_bytes(), &parsed)
                .is_ok()
        );
        // Stored before the memory was kept (the crate's own hashing), and with older,
        // weaker parameters: both still verify, and only with the right password.
        let theirs = passwords
            .argon2
            .hash_password(b"hunter42 hunter42")
            .unwrap();
        assert!(passwords.verify("hunter42 hunter42", Some(&theirs.to_string())));
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        )
        .hash_password(b"hunter42 hunter42")
        .unwrap()
        .to_string();
        assert!(passwords.verify("hunter42 hunter42", Some(&weak)));
        assert!(!passwords.verify("hunter42 hunter43", Some(&weak)));
        // Memory is kept for reuse, and cleared.
        let kept = passwords.memory.lock().unwrap();
        assert!(!kept.is_empty() && kept.len() <= MEMORY_KEPT);
        assert!(
            kept.iter()
                .flatten()
                .all(|block| block.as_ref().iter().all(|w| *w == 0))
        );
    }
}
