//! At the counter (线下窗口协办): staff with the `counter` role, at a service hall, see a
//! person's ID card and record it — a verified identity even where the identity
//! registry does not know the person — and, for a person with no passkey or
//! authenticator yet, print a one-time code. On their own phone the person types it with
//! their ID number and adds their first passkey; the code opens that enrolment and
//! nothing else (no session). From then on they log in alone, at level 3. Staff and
//! administrators are never helped this way: their recovery is an administrator's.
//! Every counter act is audited with the staff member, the hall and the method.

use ring::rand::{SecureRandom, SystemRandom};
use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError, audit};

use crate::assurance::level_of_acr;
use crate::resident_id::ResidentId;
use crate::secrets::sha256_hex;
use crate::sso::Session;
use crate::subjects::{DepartmentId, SubjectId};

/// How long a printed code works: long enough to walk home, not for a lost slip.
pub const CODE_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// How long the passkey enrolment a code opens stays open.
pub const ENROLMENT_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// The login level a counter clerk needs (a passkey or an authenticator).
pub const CLERK_LEVEL: u8 = 3;

/// Characters of codes: Crockford's base32 (no I, L, O, U), easy to read aloud.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// How the person's identity was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The clerk looked at the ID card and the person.
    IdCardSeen,
    /// The card's chip was read.
    IdCardReader,
}

impl Method {
    /// The name in forms, the database and the audit trail.
    pub fn name(self) -> &'static str {
        match self {
            Self::IdCardSeen => "id-card-seen",
            Self::IdCardReader => "id-card-reader",
        }
    }

    /// The method named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::IdCardSeen, Self::IdCardReader]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// Why a counter act was refused.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    /// The session's person has no counter role, or logged in below level 3.
    #[error("this needs a counter clerk signed in at level 3")]
    NotClerk,
    /// A field is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The form field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// No registered person has this ID number and name.
    #[error("no registered person has this ID number and name")]
    UnknownPerson,
    /// Staff and platform administrators recover through an administrator.
    #[error("staff and administrators are not helped at the counter")]
    Protected,
    /// The person has a passkey or an authenticator already: they sign in with it.
    #[error("the person has a passkey or an authenticator already")]
    HasCredential,
    /// The code is unknown, used or expired.
    #[error("the code is unknown, used or expired")]
    Code,
    /// Too many wrong codes from this address.
    #[error(transparent)]
    Throttled(#[from] crate::throttle::Throttled),
    /// The random number generator failed.
    #[error("no randomness")]
    Rng,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CounterError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

fn invalid(field: &'static str, reason: &'static str) -> CounterError {
    CounterError::Invalid { field, reason }
}

/// Proof that a session is a counter clerk's, at a hall. Only [`clerk`] makes one.
#[derive(Clone, Debug)]
pub struct Clerk {
    staff: SubjectId,
    department: DepartmentId,
    hall: String,
}

impl Clerk {
    /// The hall.
    pub fn hall(&self) -> &str {
        &self.hall
    }

    /// The staff member.
    pub fn staff(&self) -> SubjectId {
        self.staff
    }
}

/// The clerk of `session` at `hall`: staff with the counter role in a department,
/// logged in at level 3 themself (not as an agent).
pub async fn clerk(conn: &mut Conn, session: &Session, hall: &str) -> Result<Clerk, CounterError> {
    if session.acting_for.is_some() || level_of_acr(&session.acr) < CLERK_LEVEL {
        return Err(CounterError::NotClerk);
    }
    let hall = hall.trim();
    if hall.is_empty() || hall.chars().count() > 100 {
        return Err(invalid("hall", "name the hall, at most 100 characters"));
    }
    let row = sqlx::query(
        "SELECT department_id FROM staff_roles WHERE subject_id = $1 AND role = 'counter' \
         ORDER BY department_id LIMIT 1",
    )
    .bind(session.subject.to_string())
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Err(CounterError::NotClerk);
    };
    let department: String = row.try_get("department_id")?;
    Ok(Clerk {
        staff: session.subject,
        department: department
            .parse()
            .map_err(|_| StoreError::Corrupt("department id".into()))?,
        hall: hall.to_owned(),
    })
}

/// Whether the session's person is a counter clerk (to show them the counter page).
pub async fn is_clerk(conn: &mut Conn, session: &Session) -> Result<bool, CounterError> {
    let row =
        sqlx::query("SELECT 1 FROM staff_roles WHERE subject_id = $1 AND role = 'counter' LIMIT 1")
            .bind(session.subject.to_string())
            .fetch_optional(conn)
            .await?;
    Ok(row.is_some())
}

/// What the clerk hands the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The person.
    pub person: SubjectId,
    /// Their name.
    pub name: String,
    /// The one-time code for their first passkey, `XXXX-XXXX`; none when they have a
    /// passkey or an authenticator already.
    pub code: Option<String>,
    /// Until when it works.
    pub expires_at: Timestamp,
}

/// Whether `person` has a passkey or an authenticator.
async fn has_credential(conn: &mut Conn, person: SubjectId) -> Result<bool, CounterError> {
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

/// Whether `person` is staff or a platform administrator.
async fn protected(conn: &mut Conn, person: SubjectId) -> Result<bool, CounterError> {
    if crate::delegation::is_staff(conn, person).await? {
        return Ok(true);
    }
    let admin = sqlx::query("SELECT 1 FROM subjects WHERE id = $1 AND platform_admin = 1")
        .bind(person.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(admin.is_some())
}

fn new_code() -> Result<String, CounterError> {
    let mut bytes = [0u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CounterError::Rng)?;
    let chars: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    Ok(format!("{}-{}", &chars[..4], &chars[4..]))
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

/// The person with `resident_id` and `name` is at the counter and `clerk` checked
/// their ID card by `method`: recorded (the person's identity is verified from now
/// on), and, if they have no passkey or authenticator yet, a one-time code printed for
/// their first passkey (cancelling any earlier one).
pub async fn verify_in_person(
    conn: &mut Conn,
    clerk: &Clerk,
    resident_id: &str,
    name: &str,
    method: &str,
    now: Timestamp,
) -> Result<Verified, CounterError> {
    let method = Method::parse(method).ok_or(invalid("method", "how the ID card was checked"))?;
    let resident_id: ResidentId = resident_id
        .trim()
        .parse()
        .map_err(|_| invalid("resident_id", "not a valid resident ID number"))?;
    let row = sqlx::query(
        "SELECT id, name FROM subjects WHERE kind = 'natural' AND resident_id = $1 AND name = $2",
    )
    .bind(resident_id.as_str())
    .bind(name.trim())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(CounterError::UnknownPerson);
    };
    let id: String = row.try_get("id")?;
    let person: SubjectId = id
        .parse()
        .map_err(|_| StoreError::Corrupt("subject id".into()))?;
    if person == clerk.staff {
        return Err(invalid("resident_id", "a clerk does not verify themself"));
    }
    if protected(conn, person).await? {
        return Err(CounterError::Protected);
    }
    sqlx::query(
        "INSERT INTO in_person_verifications (id, subject_id, staff_id, department_id, hall, method, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tongban_core::id::Uuid::now_v7().to_string())
    .bind(&id)
    .bind(clerk.staff.to_string())
    .bind(clerk.department.to_string())
    .bind(&clerk.hall)
    .bind(method.name())
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE subjects SET assurance = 2 WHERE id = $1 AND assurance < 2")
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    let expires_at = Timestamp::from_unix_millis(now.unix_millis() + CODE_LIFETIME_MS);
    let code = if has_credential(conn, person).await? {
        None
    } else {
        // One live code per person: a new slip cancels the old.
        sqlx::query(
            "UPDATE counter_codes SET used_at = $2 WHERE subject_id = $1 AND used_at IS NULL",
        )
        .bind(&id)
        .bind(now.unix_millis())
        .execute(&mut *conn)
        .await?;
        let code = new_code()?;
        sqlx::query(
            "INSERT INTO counter_codes (id, subject_id, code_sha256, staff_id, hall, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tongban_core::id::Uuid::now_v7().to_string())
        .bind(&id)
        .bind(sha256_hex(&code))
        .bind(clerk.staff.to_string())
        .bind(&clerk.hall)
        .bind(now.unix_millis())
        .bind(expires_at.unix_millis())
        .execute(&mut *conn)
        .await?;
        Some(code)
    };
    let details = serde_json::json!({
        "hall": clerk.hall, "method": method.name(), "department": clerk.department.to_string(),
        "code_printed": code.is_some(),
    });
    let event = AuditEvent::new(
        &clerk.staff.to_string(),
        "counter.verified-in-person",
        Some(&id),
        None,
        details,
    );
    audit::record(conn, &event).await?;
    Ok(Verified {
        person,
        name: row.try_get("name")?,
        code,
        expires_at,
    })
}

/// The enrolment a printed code opens: for whom, and the token of its page's form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    /// The person.
    pub person: SubjectId,
    /// Their name, shown on the page so that nobody enrols into someone else's account.
    pub name: String,
    /// The form's token (single use, [`ENROLMENT_LIFETIME_MS`]).
    pub token: String,
}

/// Spends the printed `code` of the person with `resident_id` (once, before it
/// expires, while they still have no passkey or authenticator) and opens their passkey
/// enrolment. Wrong codes are throttled per ID number and per address like passwords.
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
         RETURNING subject_id, staff_id, hall",
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
    if has_credential(conn, subject).await? {
        return Err(CounterError::HasCredential);
    }
    let token = crate::secrets::random_token(32).map_err(|_| CounterError::Rng)?;
    sqlx::query(
        "INSERT INTO counter_enrolments (token_sha256, subject_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(sha256_hex(&token))
    .bind(&person)
    .bind(now.unix_millis() + ENROLMENT_LIFETIME_MS)
    .execute(&mut *conn)
    .await?;
    let staff: String = row.try_get("staff_id")?;
    let hall: String = row.try_get("hall")?;
    let details =
        serde_json::json!({ "hall": hall, "staff": staff, "address": client_ip.to_string() });
    let event = AuditEvent::new(&person, "counter.code-used", Some(&person), None, details);
    audit::record(conn, &event).await?;
    let name: String = sqlx::query("SELECT name FROM subjects WHERE id = $1")
        .bind(&person)
        .fetch_one(&mut *conn)
        .await?
        .try_get("name")?;
    Ok(Enrolment {
        person: subject,
        name,
        token,
    })
}

/// The person of a live enrolment token; with `finish`, the token is spent (in the
/// caller's transaction, with the passkey it adds).
pub async fn enrolment_of(
    conn: &mut Conn,
    token: &str,
    finish: bool,
    now: Timestamp,
) -> Result<SubjectId, CounterError> {
    let sql = if finish {
        "UPDATE counter_enrolments SET used_at = $2 WHERE token_sha256 = $1 AND used_at IS NULL \
         AND expires_at > $2 RETURNING subject_id"
    } else {
        "SELECT subject_id FROM counter_enrolments WHERE token_sha256 = $1 AND used_at IS NULL \
         AND expires_at > $2"
    };
    let row = sqlx::query(sql)
        .bind(sha256_hex(token))
        .bind(now.unix_millis())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(CounterError::Code)?;
    let person: String = row.try_get("subject_id")?;
    let subject = subject_of(&person)?;
    if has_credential(conn, subject).await? {
        return Err(CounterError::HasCredential);
    }
    Ok(subject)
}

fn subject_of(text: &str) -> Result<SubjectId, CounterError> {
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

/// A check of the person's ID card at a counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    /// When.
    pub at: Timestamp,
    /// Where.
    pub hall: String,
    /// How (`id-card-seen`, `id-card-reader`).
    pub method: String,
}

/// When and where the person's ID card was checked at a counter, newest first (their
/// account page lists it).
pub async fn visits_of(conn: &mut Conn, person: SubjectId) -> Result<Vec<Visit>, StoreError> {
    let rows = sqlx::query(
        "SELECT at, hall, method FROM in_person_verifications WHERE subject_id = $1 ORDER BY at DESC LIMIT 20",
    )
    .bind(person.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Visit {
                at: Timestamp::from_unix_millis(r.try_get("at")?),
                hall: r.try_get("hall")?,
                method: r.try_get("method")?,
            })
        })
        .collect()
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
