//! What a signed-in person manages on the account page: their password, their
//! sessions and their consents. Sessions and consents live in [`crate::sso`] and
//! [`crate::consent`]; this module holds the password change.

use std::sync::Arc;

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, Store, StoreError};

use crate::password::{PasswordPolicyError, Passwords, check_policy};
use crate::sso::{self, SsoError};
use crate::subjects::SubjectId;
use crate::throttle::{self, ThrottleKey, Throttled};

/// Why a password change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The current password is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// The new password breaks the policy.
    #[error(transparent)]
    Policy(#[from] PasswordPolicyError),
    /// The confirmation differs from the new password.
    #[error("the two new passwords differ")]
    Mismatch,
    /// Too many wrong current passwords.
    #[error(transparent)]
    Throttled(#[from] Throttled),
    /// Hashing failed.
    #[error("password hashing failed")]
    Hash,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AccountError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

impl From<SsoError> for AccountError {
    fn from(error: SsoError) -> Self {
        match error {
            SsoError::Throttled(t) => Self::Throttled(t),
            SsoError::Store(s) => Self::Store(s),
            other => Self::Store(StoreError::Corrupt(other.to_string())),
        }
    }
}

/// A password change request from the account page.
pub struct PasswordChange<'a> {
    /// The current password, proving it is the person and not someone at their
    /// unlocked screen.
    pub current: &'a str,
    /// The new password.
    pub new: &'a str,
    /// The new password again.
    pub confirm: &'a str,
}

/// Changes the password of the person of `session`; throttled like a login. Every
/// other session ends (and its refresh tokens are revoked); this one stays signed in.
pub async fn change_password(
    store: &Store,
    passwords: &Arc<Passwords>,
    session: &sso::Session,
    change: &PasswordChange<'_>,
    client_ip: std::net::IpAddr,
    now: Timestamp,
) -> Result<(), AccountError> {
    let mut tx = store.begin().await?;
    let (subject, keep) = (session.subject, session.id.as_str());
    let outcome = change_in(&mut tx, passwords, subject, keep, change, client_ip, now).await;
    // Failures are recorded for throttling, so they commit too.
    tx.commit().await.map_err(StoreError::from)?;
    outcome
}

/// Checks the password of a natural person who is signed in already (changing it, or
/// approving a signature without a passkey); throttled like a login, per person and
/// per address. The caller commits, so that failures count.
pub async fn confirm_password(
    conn: &mut Conn,
    passwords: &Arc<Passwords>,
    subject: SubjectId,
    password: &str,
    client_ip: std::net::IpAddr,
    now: Timestamp,
) -> Result<(), AccountError> {
    let keys = [
        ThrottleKey::account(&subject.to_string()),
        ThrottleKey::address(client_ip),
    ];
    throttle::check(conn, &keys, now).await??;
    // An administrator's one-time password confirms nothing: it only opens the choice of
    // the person's own.
    let row = sqlx::query(
        "SELECT CASE WHEN password_temporary_until IS NULL THEN password_hash END AS password_hash \
         FROM subjects WHERE id = $1 AND kind = 'natural'",
    )
    .bind(subject.to_string())
    .fetch_one(&mut *conn)
    .await?;
    let stored: Option<String> = row.try_get("password_hash")?;
    let hasher = passwords.clone();
    let current = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || hasher.verify(&current, stored.as_deref()))
        .await
        .unwrap_or(false);
    if !ok {
        for key in &keys {
            throttle::record_failure(conn, key, now).await?;
        }
        return Err(AccountError::WrongPassword);
    }
    throttle::clear(conn, &keys[0]).await?;
    Ok(())
}

async fn change_in(
    conn: &mut Conn,
    passwords: &Arc<Passwords>,
    subject: SubjectId,
    keep_session: &str,
    change: &PasswordChange<'_>,
    client_ip: std::net::IpAddr,
    now: Timestamp,
) -> Result<(), AccountError> {
    confirm_password(conn, passwords, subject, change.current, client_ip, now).await?;
    set_new_password(conn, passwords, subject, change.new, change.confirm).await?;
    sso::end_other_sessions(conn, subject, keep_session, now).await?;
    Ok(())
}

/// Sets `new` as the natural person's password: typed twice the same, and within the
/// policy (not their name, ID number or e-mail). Sessions are the caller's to end.
pub async fn set_new_password(
    conn: &mut Conn,
    passwords: &Arc<Passwords>,
    subject: SubjectId,
    new: &str,
    confirm: &str,
) -> Result<(), AccountError> {
    let row = sqlx::query(
        "SELECT name, resident_id, email FROM subjects WHERE id = $1 AND kind = 'natural'",
    )
    .bind(subject.to_string())
    .fetch_one(&mut *conn)
    .await?;
    if new != confirm {
        return Err(AccountError::Mismatch);
    }
    let name: String = row.try_get("name")?;
    let resident_id: Option<String> = row.try_get("resident_id")?;
    let email: Option<String> = row.try_get("email")?;
    let mut own: Vec<&str> = vec![name.as_str()];
    own.extend(resident_id.as_deref());
    own.extend(email.as_deref());
    check_policy(new, &own)?;
    let hasher = passwords.clone();
    let new = new.to_owned();
    let hash = tokio::task::spawn_blocking(move || hasher.hash(&new))
        .await
        .map_err(|_| AccountError::Hash)?
        .map_err(|_| AccountError::Hash)?;
    sso::set_password_hash(conn, subject, &hash).await?;
    Ok(())
}
