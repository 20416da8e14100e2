//! At the counter (线下窗口协办): staff with the `counter` role, at a service hall, see a
//! person's ID card and record it — a verified identity even where the identity
//! registry does not know the person — and print a one-time code ([`codes`]) for the
//! person's first passkey or a new password. Assisted sessions, where the clerk acts
//! for a person who is present, are authorities of their own kind
//! ([`crate::delegation::assisted`]). Staff and administrators are never helped this
//! way: their recovery is an administrator's. Every counter act is audited with the
//! staff member, the hall and the method.

pub mod codes;

use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError, audit};

use crate::assurance::level_of_acr;
use crate::resident_id::ResidentId;
use crate::sso::Session;
use crate::subjects::{DepartmentId, SubjectId};

pub use codes::{
    CODE_LIFETIME_MS, ENROLMENT_LIFETIME_MS, Enrolment, Printed, Purpose, cancel, enrolment_of,
    open_password_choice, reset_password, start_enrolment,
};

/// The login level a counter clerk needs (a passkey or an authenticator).
pub const CLERK_LEVEL: u8 = 3;

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
    /// The new password is not acceptable (typed differently twice, or against the
    /// policy).
    #[error(transparent)]
    Password(#[from] crate::account::AccountError),
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

    /// The department the clerk serves for; its administrators read the counter's
    /// audit trail.
    pub fn department(&self) -> DepartmentId {
        self.department
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
    /// The slip's one-time code: for a new password when the clerk asked for one, else
    /// for the first passkey of a person with no passkey or authenticator yet.
    pub printed: Option<Printed>,
}

/// Whether `person` is staff or a platform administrator.
pub(crate) async fn protected(conn: &mut Conn, person: SubjectId) -> Result<bool, StoreError> {
    if crate::delegation::is_staff(conn, person).await? {
        return Ok(true);
    }
    let admin = sqlx::query("SELECT 1 FROM subjects WHERE id = $1 AND platform_admin = 1")
        .bind(person.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(admin.is_some())
}

/// The person with `resident_id` and `name` is at the counter and `clerk` checked
/// their ID card by `method`: recorded (the person's identity is verified from now
/// on), and a one-time code printed: for a new password if `new_password`, else for
/// their first passkey if they have no passkey or authenticator yet.
pub async fn verify_in_person(
    conn: &mut Conn,
    clerk: &Clerk,
    resident_id: &str,
    name: &str,
    method: &str,
    new_password: bool,
    now: Timestamp,
) -> Result<Verified, CounterError> {
    let method = Method::parse(method).ok_or(invalid("method", "how the ID card was checked"))?;
    // A new password hands the account over: only on the card's chip, read at the
    // counter, not on a number typed in.
    if new_password && method != Method::IdCardReader {
        return Err(invalid("method", "a new password needs the ID card read"));
    }
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
    let purpose = if new_password {
        Some(Purpose::Password)
    } else if codes::has_credential(conn, person).await? {
        None
    } else {
        Some(Purpose::Passkey)
    };
    let printed = match purpose {
        Some(purpose) => Some(codes::print(conn, clerk, person, purpose, now).await?),
        None => None,
    };
    let details = serde_json::json!({
        "hall": clerk.hall, "method": method.name(), "department": clerk.department.to_string(),
        "code_printed": printed.as_ref().map(|p| p.purpose.name()),
    });
    let event = AuditEvent::new(
        &clerk.staff.to_string(),
        "counter.verified-in-person",
        Some(&id),
        None,
        details,
    )
    .in_department(clerk.department);
    audit::record(conn, &event).await?;
    Ok(Verified {
        person,
        name: row.try_get("name")?,
        printed,
    })
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
