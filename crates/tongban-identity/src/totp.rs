//! TOTP second factor (RFC 6238 over RFC 4226 HOTP, HMAC-SHA-1, 30-second steps, six
//! digits — what authenticator apps implement), with one-time recovery codes.
//!
//! The secret is sealed under a key derived from the KEK; the last accepted time step
//! is stored, so a code is accepted once even within its window; recovery codes are
//! stored as SHA-256 and used once.

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_crypto::kek::Kek;
use tongban_store::{Conn, StoreError};

use crate::secrets::{RngError, sha256_hex};
use crate::subjects::SubjectId;

/// Seconds per time step.
pub const STEP_SECS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps before and after the current one that are accepted (clock drift).
pub const WINDOW: i64 = 1;
/// Recovery codes handed out on enrolment.
pub const RECOVERY_CODES: usize = 10;

const SECRET_AAD: &[u8] = b"tongban-totp-v1";

/// HOTP (RFC 4226 §5.3) with HMAC-SHA-1: the code for `counter`.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    binary % 10u32.pow(digits)
}

/// The time step of `unix_secs`.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The key TOTP secrets are sealed with.
pub struct TotpKey(Kek);

impl TotpKey {
    /// This deployment's TOTP key.
    pub fn derive(kek: &Kek) -> Self {
        Self(kek.derive("tongban totp secrets v1"))
    }
}

/// Why a TOTP operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    /// Wrong, reused or malformed code.
    #[error("the code is wrong or was used before")]
    WrongCode,
    /// No (confirmed) TOTP for this person.
    #[error("no authenticator is set up")]
    NotEnrolled,
    /// The random number generator failed.
    #[error(transparent)]
    Rng(#[from] RngError),
    /// Sealing failed.
    #[error("sealing the secret failed")]
    Seal,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TotpError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

/// A new, not yet confirmed, authenticator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    /// The secret in base32, to type into an app.
    pub secret: String,
    /// The `otpauth://` URI (what a QR code would carry).
    pub uri: String,
}

/// Starts (or restarts) enrolment: a fresh secret, unconfirmed until a code from it is
/// entered.
pub async fn enrol(
    conn: &mut Conn,
    key: &TotpKey,
    subject: SubjectId,
    account_label: &str,
    now: Timestamp,
) -> Result<Enrolment, TotpError> {
    let mut secret = [0u8; 20];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| RngError)?;
    let sealed = key
        .0
        .seal(SECRET_AAD, &secret)
        .map_err(|_| TotpError::Seal)?;
    sqlx::query(
        "INSERT INTO totp_credentials (subject_id, secret_sealed, confirmed, last_step, created_at) \
         VALUES ($1, $2, 0, 0, $3) ON CONFLICT (subject_id) DO UPDATE \
         SET secret_sealed = $2, confirmed = 0, last_step = 0, created_at = $3",
    )
    .bind(subject.to_string())
    .bind(sealed)
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(enrolment(&secret, account_label))
}

/// The enrolment waiting for its confirmation, to show it again.
pub async fn pending(
    conn: &mut Conn,
    key: &TotpKey,
    subject: SubjectId,
    account_label: &str,
) -> Result<Option<Enrolment>, TotpError> {
    match secret_of(conn, key, subject, false).await {
        Ok((secret, _)) => Ok(Some(enrolment(&secret, account_label))),
        Err(TotpError::NotEnrolled) => Ok(None),
        Err(other) => Err(other),
    }
}

fn enrolment(secret: &[u8], account_label: &str) -> Enrolment {
    let secret = base32(secret);
    let label: String = serde_urlencoded::to_string([("x", account_label)])
        .unwrap_or_default()
        .trim_start_matches("x=")
        .to_owned();
    Enrolment {
        uri: format!(
            "otpauth://totp/Tongban:{label}?secret={secret}&issuer=Tongban&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}"
        ),
        secret,
    }
}

async fn secret_of(
    conn: &mut Conn,
    key: &TotpKey,
    subject: SubjectId,
    confirmed: bool,
) -> Result<(Vec<u8>, i64), TotpError> {
    let row = sqlx::query(
        "SELECT secret_sealed, last_step FROM totp_credentials WHERE subject_id = $1 AND confirmed = $2",
    )
    .bind(subject.to_string())
    .bind(i64::from(confirmed))
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(TotpError::NotEnrolled)?;
    let sealed: Vec<u8> = row.try_get("secret_sealed")?;
    let secret = key
        .0
        .open(SECRET_AAD, &sealed)
        .ok_or_else(|| StoreError::Corrupt("TOTP secret does not open".into()))?;
    Ok((secret, row.try_get("last_step")?))
}

/// The step a `code` matches in the window around `now`, after `last_step`.
fn matching_step(secret: &[u8], code: &str, now: Timestamp, last_step: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let current = step_of(now.unix_millis() / 1000);
    (current - WINDOW..=current + WINDOW)
        .filter(|step| *step > last_step)
        .find(|step| u64::try_from(*step).is_ok_and(|s| hotp(secret, s, DIGITS) == wanted))
}

/// Confirms enrolment with a code from the app; returns the one-time recovery codes
/// (shown once).
pub async fn confirm(
    conn: &mut Conn,
    key: &TotpKey,
    subject: SubjectId,
    code: &str,
    now: Timestamp,
) -> Result<Vec<String>, TotpError> {
    let (secret, last_step) = secret_of(conn, key, subject, false).await?;
    let step = matching_step(&secret, code, now, last_step).ok_or(TotpError::WrongCode)?;
    sqlx::query("UPDATE totp_credentials SET confirmed = 1, last_step = $2 WHERE subject_id = $1")
        .bind(subject.to_string())
        .bind(step)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE subject_id = $1")
        .bind(subject.to_string())
        .execute(&mut *conn)
        .await?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut raw = [0u8; 5];
        SystemRandom::new().fill(&mut raw).map_err(|_| RngError)?;
        let text = base32(&raw);
        let code = format!("{}-{}", &text[..4], &text[4..8]);
        sqlx::query("INSERT INTO recovery_codes (subject_id, code_sha256) VALUES ($1, $2)")
            .bind(subject.to_string())
            .bind(sha256_hex(&code))
            .execute(&mut *conn)
            .await?;
        codes.push(code);
    }
    Ok(codes)
}

/// Whether `subject` has a confirmed authenticator.
pub async fn enabled(conn: &mut Conn, subject: SubjectId) -> Result<bool, TotpError> {
    Ok(
        sqlx::query("SELECT 1 FROM totp_credentials WHERE subject_id = $1 AND confirmed = 1")
            .bind(subject.to_string())
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// Removes the authenticator of `subject` and their recovery codes (account recovery).
/// Returns whether there was one.
pub async fn remove(conn: &mut Conn, subject: SubjectId) -> Result<bool, StoreError> {
    let removed = sqlx::query("DELETE FROM totp_credentials WHERE subject_id = $1")
        .bind(subject.to_string())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from)?;
    sqlx::query("DELETE FROM recovery_codes WHERE subject_id = $1")
        .bind(subject.to_string())
        .execute(conn)
        .await
        .map_err(StoreError::from)?;
    Ok(removed.rows_affected() > 0)
}

/// Checks a second factor: a current code (each step once) or an unused recovery code.
pub async fn check(
    conn: &mut Conn,
    key: &TotpKey,
    subject: SubjectId,
    code: &str,
    now: Timestamp,
) -> Result<(), TotpError> {
    let (secret, last_step) = secret_of(conn, key, subject, true).await?;
    if let Some(step) = matching_step(&secret, code, now, last_step) {
        // Conditional, so that of two concurrent uses of one code only one counts.
        let updated = sqlx::query(
            "UPDATE totp_credentials SET last_step = $2 WHERE subject_id = $1 AND last_step < $2",
        )
        .bind(subject.to_string())
        .bind(step)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        return if updated == 1 {
            Ok(())
        } else {
            Err(TotpError::WrongCode)
        };
    }
    let used = sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE subject_id = $1 AND code_sha256 = $2 AND used_at IS NULL",
    )
    .bind(subject.to_string())
    .bind(sha256_hex(&code.trim().to_uppercase()))
    .bind(now.unix_millis())
    .execute(conn)
    .await?
    .rows_affected();
    if used == 1 {
        Ok(())
    } else {
        Err(TotpError::WrongCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1, eight digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59i64, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(hotp(secret, step_of(time) as u64, 8), code, "T = {time}");
        }
    }

    /// RFC 4226 Appendix D, six digits.
    #[test]
    fn rfc_4226_test_vectors() {
        let secret = b"12345678901234567890";
        let expected = [755_224, 287_082, 359_152, 969_429, 338_314];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(secret, counter as u64, 6), *code);
        }
    }

    #[test]
    fn a_code_matches_once_within_its_window() {
        let secret = b"12345678901234567890";
        let now = Timestamp::from_unix_millis(1_111_111_111_000);
        let step = step_of(1_111_111_111);
        let code = format!("{:06}", hotp(secret, step as u64, 6));
        assert_eq!(matching_step(secret, &code, now, 0), Some(step));
        assert_eq!(matching_step(secret, &code, now, step), None, "replay");
        assert_eq!(matching_step(secret, "12345", now, 0), None);
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }
}
