//! Throttling of failed logins, kept in the database so that it holds across instances:
//! per account and per client address, failures inside a window count; past a
//! threshold each further failure locks the key for twice as long as the last, up to a
//! ceiling. Callers answer 429 with `Retry-After` while a key is locked.
//!
//! Account keys are a hash of the identifier as typed, whether or not such an account
//! exists, so the answers are the same for unknown and known accounts.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

/// Failures counted within this window (milliseconds).
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failures allowed before back-off starts, per account.
pub const ACCOUNT_THRESHOLD: i64 = 5;
/// Failures allowed before back-off starts, per client address (shared by everyone
/// behind one NAT, so higher).
pub const ADDRESS_THRESHOLD: i64 = 20;
/// First lock after the threshold (milliseconds); doubled by each further failure.
pub const FIRST_LOCK_MS: i64 = 1_000;
/// Longest lock (milliseconds).
pub const MAX_LOCK_MS: i64 = 15 * 60 * 1000;

/// What is throttled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleKey {
    key: String,
    threshold: i64,
}

impl ThrottleKey {
    /// The account named by `identifier` (normalised: trimmed, lower case), hashed so
    /// the table holds no identifiers.
    pub fn account(identifier: &str) -> Self {
        let normal = identifier.trim().to_lowercase();
        let digest = ring::digest::digest(&ring::digest::SHA256, normal.as_bytes());
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        Self {
            key: format!("account:{hex}"),
            threshold: ACCOUNT_THRESHOLD,
        }
    }

    /// A client address.
    pub fn address(addr: std::net::IpAddr) -> Self {
        Self {
            key: format!("ip:{addr}"),
            threshold: ADDRESS_THRESHOLD,
        }
    }
}

/// A locked key: try again after this many seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many failed attempts; retry after {retry_after_secs} s")]
pub struct Throttled {
    /// Whole seconds until the lock ends (at least 1).
    pub retry_after_secs: u64,
}

/// Refuses if any of `keys` is locked at `now`.
pub async fn check(
    conn: &mut Conn,
    keys: &[ThrottleKey],
    now: Timestamp,
) -> Result<Result<(), Throttled>, StoreError> {
    let mut longest = 0i64;
    for key in keys {
        let row = sqlx::query("SELECT locked_until FROM throttle WHERE key = $1")
            .bind(&key.key)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = row {
            let until: i64 = row.try_get(0)?;
            longest = longest.max(until - now.unix_millis());
        }
    }
    Ok(if longest > 0 {
        Err(Throttled {
            retry_after_secs: u64::try_from((longest + 999) / 1000).unwrap_or(1).max(1),
        })
    } else {
        Ok(())
    })
}

/// Counts a failure against `key` at `now`; returns the lock it causes, if any.
pub async fn record_failure(
    conn: &mut Conn,
    key: &ThrottleKey,
    now: Timestamp,
) -> Result<Option<Throttled>, StoreError> {
    let now_ms = now.unix_millis();
    // One statement: a fresh window starts when the old one has passed.
    let row = sqlx::query(
        "INSERT INTO throttle (key, failures, window_start, locked_until) VALUES ($1, 1, $2, 0) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN throttle.window_start + $3 < $2 THEN 1 ELSE throttle.failures + 1 END, \
           window_start = CASE WHEN throttle.window_start + $3 < $2 THEN $2 ELSE throttle.window_start END \
         RETURNING failures",
    )
    .bind(&key.key)
    .bind(now_ms)
    .bind(WINDOW_MS)
    .fetch_one(&mut *conn)
    .await?;
    let failures: i64 = row.try_get(0)?;
    if failures <= key.threshold {
        return Ok(None);
    }
    let doublings = u32::try_from(failures - key.threshold - 1)
        .unwrap_or(u32::MAX)
        .min(20);
    let lock_ms = FIRST_LOCK_MS
        .saturating_mul(1 << doublings)
        .min(MAX_LOCK_MS);
    sqlx::query("UPDATE throttle SET locked_until = $2 WHERE key = $1")
        .bind(&key.key)
        .bind(now_ms + lock_ms)
        .execute(&mut *conn)
        .await?;
    Ok(Some(Throttled {
        retry_after_secs: u64::try_from(lock_ms / 1000).unwrap_or(1).max(1),
    }))
}

/// Forgets the failures of `key` (after a successful login to that account).
pub async fn clear(conn: &mut Conn, key: &ThrottleKey) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM throttle WHERE key = $1")
        .bind(&key.key)
        .execute(conn)
        .await?;
    Ok(())
}
