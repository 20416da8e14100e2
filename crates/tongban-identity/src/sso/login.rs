//! Password login: finding the account by resident ID, e-mail or staff number (with the
//! organisation's USCC), checking the password, throttled per account and address.

use crate::password::Passwords;
use crate::subjects::SubjectId;
use crate::throttle::{self, ThrottleKey};
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use super::SsoError;

/// Who logged in: the person, and the legal person they act for when they logged in
/// as an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoggedIn {
    /// The natural person.
    pub subject: SubjectId,
    /// The company they act for in this session.
    pub acting_for: Option<SubjectId>,
}

/// What the login form submitted.
#[derive(Clone, Copy, Debug)]
pub struct Credentials<'a> {
    /// Resident ID number or e-mail; with a department's `organisation`, a staff number.
    pub identifier: &'a str,
    /// A unified social credit code: a department (staff login) or a legal person the
    /// person is an agent of.
    pub organisation: Option<&'a str>,
    /// The password.
    pub password: &'a str,
}

/// The account a login names.
struct Account {
    id: String,
    password_hash: Option<String>,
    acting_for: Option<String>,
    /// Set for a password an administrator set: until when it may be used.
    temporary_until: Option<i64>,
}

async fn find_login(
    conn: &mut Conn,
    credentials: &Credentials<'_>,
    now: Timestamp,
) -> Result<Option<Account>, SsoError> {
    let identifier = credentials.identifier.trim();
    let upper = identifier.to_uppercase();
    let lower = identifier.to_lowercase();
    let pick = |row: Option<sqlx::any::AnyRow>| -> Result<_, SsoError> {
        row.map(|r| {
            Ok(Account {
                id: r.try_get(0)?,
                password_hash: r.try_get(1)?,
                acting_for: r.try_get(2)?,
                temporary_until: r.try_get(3)?,
            })
        })
        .transpose()
    };
    let Some(organisation) = credentials.organisation.map(|o| o.trim().to_uppercase()) else {
        let row = sqlx::query(
            "SELECT id, password_hash, NULL AS acting_for, password_temporary_until FROM subjects \
             WHERE kind = 'natural' AND (resident_id = $1 OR email = $2) AND deactivated_at IS NULL",
        )
        .bind(&upper)
        .bind(&lower)
        .fetch_optional(&mut *conn)
        .await?;
        return pick(row);
    };
    let staff = sqlx::query(
        "SELECT s.id, s.password_hash, NULL AS acting_for, s.password_temporary_until FROM subjects s \
         JOIN staff st ON st.subject_id = s.id JOIN departments d ON d.id = st.department_id \
         WHERE d.uscc = $1 AND st.staff_number = $2 AND s.deactivated_at IS NULL",
    )
    .bind(&organisation)
    .bind(identifier)
    .fetch_optional(&mut *conn)
    .await?;
    if staff.is_some() {
        return pick(staff);
    }
    let agent = sqlx::query(
        "SELECT s.id, s.password_hash, l.id AS acting_for, s.password_temporary_until FROM subjects s \
         JOIN agent_links a ON a.natural_id = s.id JOIN subjects l ON l.id = a.legal_id \
         WHERE l.uscc = $1 AND (s.resident_id = $2 OR s.email = $3) AND s.deactivated_at IS NULL \
         AND a.valid_from <= $4 AND (a.valid_until IS NULL OR a.valid_until > $4)",
    )
    .bind(&organisation)
    .bind(&upper)
    .bind(&lower)
    .bind(now.unix_millis())
    .fetch_optional(&mut *conn)
    .await?;
    pick(agent)
}

/// Checks credentials — a resident ID number or e-mail; a staff number with the
/// department's USCC; or an agent's ID number with the company's USCC — throttled per
/// account and per client address, with equal effort for unknown accounts.
pub async fn password_login(
    conn: &mut Conn,
    passwords: &std::sync::Arc<Passwords>,
    credentials: &Credentials<'_>,
    client_ip: std::net::IpAddr,
    now: Timestamp,
) -> Result<LoggedIn, SsoError> {
    let account = match credentials.organisation.map(str::trim) {
        Some(org) if !org.is_empty() => format!("{org}/{}", credentials.identifier),
        _ => credentials.identifier.to_owned(),
    };
    let keys = [
        ThrottleKey::account(&account),
        ThrottleKey::address(client_ip),
    ];
    throttle::check(conn, &keys, now).await??;
    let credentials = Credentials {
        organisation: credentials
            .organisation
            .map(str::trim)
            .filter(|o| !o.is_empty()),
        ..*credentials
    };
    let found = find_login(conn, &credentials, now).await?;
    let (id, hash, acting_for, temporary_until) = match found {
        Some(a) => (Some(a.id), a.password_hash, a.acting_for, a.temporary_until),
        None => (None, None, None, None),
    };
    // argon2id takes tens of milliseconds of CPU: not on the async workers.
    let hasher = passwords.clone();
    let candidate = credentials.password.to_owned();
    let ok = tokio::task::spawn_blocking(move || hasher.verify(&candidate, hash.as_deref()))
        .await
        .unwrap_or(false);
    let corrupt = || SsoError::Store(StoreError::Corrupt("subject id".into()));
    match (ok, id) {
        (true, Some(id)) => {
            throttle::clear(conn, &keys[0]).await?;
            let subject = id.parse().map_err(|_| corrupt())?;
            // An administrator's one-time password opens no session: it only lets the
            // person choose their own, for as long as it lives.
            match temporary_until {
                Some(until) if now.unix_millis() >= until => {
                    return Err(SsoError::TemporaryPasswordExpired);
                }
                Some(_) => return Err(SsoError::MustChoosePassword(subject)),
                None => {}
            }
            Ok(LoggedIn {
                subject,
                acting_for: acting_for
                    .map(|a| a.parse())
                    .transpose()
                    .map_err(|_| corrupt())?,
            })
        }
        _ => {
            for key in &keys {
                throttle::record_failure(conn, key, now).await?;
            }
            Err(SsoError::InvalidCredentials)
        }
    }
}

/// Sets a natural person's password hash: a password they chose.
pub async fn set_password_hash(
    conn: &mut Conn,
    subject: SubjectId,
    hash: &str,
) -> Result<(), StoreError> {
    set_hash(conn, subject, hash, None).await
}

/// Sets a natural person's password hash to an administrator's one-time password,
/// usable until `until` and then only to choose their own.
pub async fn set_temporary_password_hash(
    conn: &mut Conn,
    subject: SubjectId,
    hash: &str,
    until: Timestamp,
) -> Result<(), StoreError> {
    set_hash(conn, subject, hash, Some(until.unix_millis())).await
}

async fn set_hash(
    conn: &mut Conn,
    subject: SubjectId,
    hash: &str,
    temporary_until: Option<i64>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE subjects SET password_hash = $2, password_temporary_until = $3 \
         WHERE id = $1 AND kind = 'natural'",
    )
    .bind(subject.to_string())
    .bind(hash)
    .bind(temporary_until)
    .execute(conn)
    .await?;
    Ok(())
}
