//! One-time codes printed at the counter. On their own phone the person types the code
//! with their ID number; it opens one thing for 15 minutes, without a session: the
//! enrolment of their first passkey, or a new password. A new code cancels the older
//! ones; expired codes and enrolments are deleted when the next is printed.

use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError, audit};

use super::{Clerk, CounterError};
use crate::password::Passwords;
use crate::secrets::sha256_hex;
use crate::subjects::SubjectId;

/// How long a printed code works: long enough to walk home, not for a lost slip.
pub const CODE_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// How long the enrolment a code opens stays open.
pub const ENROLMENT_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// What a printed code opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The person's first passkey (they have no passkey or authenticator yet).
    Passkey,
    /// A new password for a person who forgot theirs.
    Password,
}

impl Purpose {
    /// The name in the database and the catalogues.
    pub fn name(self) -> &'static str {
        match self {
            Self::Passkey => "passkey",
            Self::Password => "password",
        }
    }

    fn parse(name: &str) -> Result<Self, StoreError> {
        match name {
            "passkey" => Ok(Self::Passkey),
            "password" => Ok(Self::Password),
            other => Err(StoreError::Corrupt(format!("counter code purpose {other}"))),
        }
    }
}

/// A code printed on the slip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Printed {
    /// `XXXX-XXXX`.
    pub code: String,
    /// What it opens.
    pub purpose: Purpose,
    /// Until when it works.
    pub expires_at: Timestamp,
}

/// Whether `person` has a passkey or an authenticator.
pub(super) async fn has_credential(
    conn: &mut Conn,
    person: SubjectId,
) -> Result<bool, CounterError> {
    let store = |e: String| CounterError::Store(StoreError::Corrupt(e));
    let totp = crate::totp::enabled(conn, person)
        .await
        .map_err(|e| match e {
            crate::totp::TotpError::Store(s) => CounterError::Store(s),
            other => store(other.to_string()),
        })?;
    let passkey = crate::passkeys::has_passkey(conn, person)
        .await
        .map_err(|e| match e {
            crate::passkeys::PasskeyError::Store(s) => CounterError::Store(s),
            other => store(other.to_string()),
        })?;
    Ok(totp || passkey)
}

fn new_code() -> Result<String, CounterError> {
    crate::secrets::readable_token(2).map_err(|_| CounterError::Rng)
}

/// The code as typed, in its canonical form (case, spaces and the hyphen do not
/// matter; O and I, L read as 0 and 1).
fn canonical(code: &str) -> String {
    let chars: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    if chars.len() == 8 {
        format!("{}-{}", &chars[..4], &chars[4..])
    } else {
        chars
    }
}

/// Prints a code for `purpose` for `person`, cancelling their older codes and what
/// they opened (one live code per person: a new slip cancels the old).
pub(super) async fn print(
    conn: &mut Conn,
    clerk: &Clerk,
    person: SubjectId,
    purpose: Purpose,
    now: Timestamp,
) -> Result<Printed, CounterError> {
    let at = now.unix_millis();
    for table in ["counter_codes", "counter_enrolments"] {
        let sql = format!("DELETE FROM {table} WHERE expires_at <= $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(at)
            .execute(&mut *conn)
            .await?;
    }
    cancel(conn, person, now).await?;
    let code = new_code()?;
    let expires_at = Timestamp::from_unix_millis(at + CODE_LIFETIME_MS);
    sqlx::query(
        "INSERT INTO counter_codes (id, subject_id, code_sha256, staff_id, hall, created_at, expires_at, purpose) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tongban_core::id::Uuid::now_v7().to_string())
    .bind(person.to_string())
    .bind(sha256_hex(&code))
    .bind(clerk.staff().to_string())
    .bind(clerk.hall())
    .bind(at)
    .bind(expires_at.unix_millis())
    .bind(purpose.name())
    .execute(&mut *conn)
    .await?;
    Ok(Printed {
        code,
        purpose,
        expires_at,
    })
}

/// What a printed code opens: for whom, and the token of its page's form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    /// The person.
    pub person: SubjectId,
    /// Their name, shown on the page so that nobody enrols into someone else's account.
    pub name: String,
    /// What it opens.
    pub purpose: Purpose,
    /// The form's token (single use, [`ENROLMENT_LIFETIME_MS`]).
    pub token: String,
}

/// Spends the printed `code` of the person with `resident_id` (once, before it
/// expires; a passkey code only while they still have no passkey or authenticator)
/// and opens what it is for. Wrong codes are throttled per ID number and per address
/// like passwords.
pub async fn start_enrolment(
    conn: &mut Conn,
    resident_id: &str,
    code: &str,
    client_ip: std::net::IpAddr,
    now: Timestamp,
) -> Result<Enrolment, CounterError> {
    use crate::throttle::{self, ThrottleKey};
    let number = resident_id.trim().to_uppercase();
    let keys = [
        ThrottleKey::account(&format!("counter/{number}")),
        ThrottleKey::address(client_ip),
    ];
    throttle::check(conn, &keys, now).await??;
    let spent = sqlx::query(
        "UPDATE counter_codes SET used_at = $3 WHERE code_sha256 = $2 AND used_at IS NULL AND expires_at > $3 \
         AND subject_id = (SELECT id FROM subjects WHERE kind = 'natural' AND resident_id = $1) \
         RETURNING subject_id, staff_id, hall, purpose",
    )
    .bind(&number)
    .bind(sha256_hex(&canonical(code)))
    .bind(now.unix_millis())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = spent else {
        for key in &keys {
            throttle::record_failure(conn, key, now).await?;
        }
        return Err(CounterError::Code);
    };
    throttle::clear(conn, &keys[0]).await?;
    let person: String = row.try_get("subject_id")?;
    let subject = subject_of(&person)?;
    let purpose = Purpose::parse(&row.try_get::<String, _>("purpose")?)?;
    if purpose == Purpose::Passkey && has_credential(conn, subject).await? {
        return Err(CounterError::HasCredential);
    }
    let staff: String = row.try_get("staff_id")?;
    let hall: String = row.try_get("hall")?;
    let details = serde_json::json!({
        "hall": hall, "staff": staff, "address": client_ip.to_string(), "purpose": purpose.name(),
    });
    let event = AuditEvent::new(&person, "counter.code-used", Some(&person), None, details);
    audit::record(conn, &event).await?;
    open(conn, subject, purpose, now).await
}

/// Opens the choice of a new password for `person`, who signed in with the right
/// one-time password of an administrator's reset: the same page as a counter code's.
pub async fn open_password_choice(
    conn: &mut Conn,
    person: SubjectId,
    now: Timestamp,
) -> Result<Enrolment, CounterError> {
    let id = person.to_string();
    let event = AuditEvent::new(
        &id,
        "person.temporary_password_used",
        Some(&id),
        None,
        serde_json::json!({}),
    );
    audit::record(conn, &event).await?;
    // One open choice at a time: the newest sign-in's.
    close_password_choices(conn, person, now).await?;
    open(conn, person, Purpose::Password, now).await
}

/// Closes the person's open password enrolments.
async fn close_password_choices(
    conn: &mut Conn,
    person: SubjectId,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE counter_enrolments SET used_at = $2 \
         WHERE subject_id = $1 AND purpose = 'password' AND used_at IS NULL",
    )
    .bind(person.to_string())
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An enrolment for `purpose` of `person`, open for [`ENROLMENT_LIFETIME_MS`].
async fn open(
    conn: &mut Conn,
    person: SubjectId,
    purpose: Purpose,
    now: Timestamp,
) -> Result<Enrolment, CounterError> {
    let token = crate::secrets::random_token(32).map_err(|_| CounterError::Rng)?;
    sqlx::query(
        "INSERT INTO counter_enrolments (token_sha256, subject_id, expires_at, purpose) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(sha256_hex(&token))
    .bind(person.to_string())
    .bind(now.unix_millis() + ENROLMENT_LIFETIME_MS)
    .bind(purpose.name())
    .execute(&mut *conn)
    .await?;
    let name: String = sqlx::query("SELECT name FROM subjects WHERE id = $1")
        .bind(person.to_string())
        .fetch_one(&mut *conn)
        .await?
        .try_get("name")?;
    Ok(Enrolment {
        person,
        name,
        purpose,
        token,
    })
}

/// The person of a live enrolment token for `purpose`; with `finish`, the token is
/// spent (in the caller's transaction, with what it adds).
pub async fn enrolment_of(
    conn: &mut Conn,
    token: &str,
    purpose: Purpose,
    finish: bool,
    now: Timestamp,
) -> Result<SubjectId, CounterError> {
    let sql = if finish {
        "UPDATE counter_enrolments SET used_at = $2 WHERE token_sha256 = $1 AND used_at IS NULL \
         AND expires_at > $2 AND purpose = $3 RETURNING subject_id"
    } else {
        "SELECT subject_id FROM counter_enrolments WHERE token_sha256 = $1 AND used_at IS NULL \
         AND expires_at > $2 AND purpose = $3"
    };
    let row = sqlx::query(sql)
        .bind(sha256_hex(token))
        .bind(now.unix_millis())
        .bind(purpose.name())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(CounterError::Code)?;
    let person: String = row.try_get("subject_id")?;
    let subject = subject_of(&person)?;
    if purpose == Purpose::Passkey && has_credential(conn, subject).await? {
        return Err(CounterError::HasCredential);
    }
    Ok(subject)
}

/// Sets the new password of the person of a password enrolment `token` (spending it)
/// and ends all their sessions and refresh tokens: whoever else knew the old password
/// is signed out. Their passkeys and authenticator stay: a counter code reached the
/// person in person (an administrator's reset removed them already).
pub async fn reset_password(
    conn: &mut Conn,
    passwords: &std::sync::Arc<Passwords>,
    token: &str,
    new: &str,
    confirm: &str,
    now: Timestamp,
) -> Result<SubjectId, CounterError> {
    let person = enrolment_of(conn, token, Purpose::Password, true, now).await?;
    crate::account::set_new_password(conn, passwords, person, new, confirm).await?;
    // Any other open choice goes: someone else who knew the one-time password or the
    // code must not choose after the person did.
    close_password_choices(conn, person, now).await?;
    let ended = crate::sso::end_all_sessions(conn, person, now)
        .await
        .map_err(|e| CounterError::Store(StoreError::Corrupt(e.to_string())))?;
    let details = serde_json::json!({ "sessions_ended": ended });
    let id = person.to_string();
    // The event before says what opened the choice (a counter code, or an
    // administrator's one-time password).
    let event = AuditEvent::new(&id, "person.password_chosen", Some(&id), None, details);
    audit::record(conn, &event).await?;
    Ok(person)
}

pub(super) fn subject_of(text: &str) -> Result<SubjectId, CounterError> {
    Ok(text
        .parse()
        .map_err(|_| StoreError::Corrupt("subject id".into()))?)
}

/// Cancels the person's printed codes and open enrolments (an administrator's
/// account recovery starts over).
pub async fn cancel(conn: &mut Conn, person: SubjectId, now: Timestamp) -> Result<(), StoreError> {
    for table in ["counter_codes", "counter_enrolments"] {
        let sql =
            format!("UPDATE {table} SET used_at = $2 WHERE subject_id = $1 AND used_at IS NULL");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(person.to_string())
            .bind(now.unix_millis())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_aloud_or_typed_loosely_are_the_same_code() {
        let code = new_code().expect("a code");
        assert_eq!(code.len(), 9);
        assert_eq!(canonical(&code.to_lowercase().replace('-', " ")), code);
        assert_eq!(canonical("o1l2-abcd"), "0112-ABCD");
    }
}
