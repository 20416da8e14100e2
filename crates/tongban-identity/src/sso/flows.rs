//! Login flows: what a login is for (a client's request or the account page), kept in
//! the database under the flow cookie with the form's CSRF token, and the pending second
//! step of a login.

use crate::secrets::{constant_time_eq, random_token, sha256_hex};
use crate::throttle::{self, ThrottleKey};
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use super::login::LoggedIn;
use super::request::FlowTarget;
use super::{FLOW_LIFETIME_MS, SsoError};

/// A pending login: the cookie value that names it and the CSRF token of its form.
#[derive(Clone, Debug)]
pub struct LoginFlow {
    /// Goes into the flow cookie.
    pub cookie: String,
    /// Goes into the form's hidden field.
    pub csrf_token: String,
}

/// The login flow a form was posted in: the browser's flow cookie and the form's CSRF
/// token.
#[derive(Clone, Copy, Debug)]
pub struct PostedIn<'a> {
    /// The flow cookie, if the browser sent one.
    pub flow_cookie: Option<&'a str>,
    /// The form's hidden CSRF field.
    pub csrf_token: &'a str,
}

/// Stores `target` while the person logs in (or decides on consent).
pub async fn start_flow(
    conn: &mut Conn,
    target: &FlowTarget,
    now: Timestamp,
) -> Result<LoginFlow, SsoError> {
    let flow = LoginFlow {
        cookie: random_token(32)?,
        csrf_token: random_token(32)?,
    };
    sqlx::query(
        "INSERT INTO login_flows (id_sha256, csrf_token, request, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sha256_hex(&flow.cookie))
    .bind(&flow.csrf_token)
    .bind(serde_json::to_string(target).map_err(|e| SsoError::Store(StoreError::Corrupt(e.to_string())))?)
    .bind(now.unix_millis())
    .bind(now.unix_millis() + FLOW_LIFETIME_MS)
    .execute(conn)
    .await?;
    Ok(flow)
}

/// The target of the flow named by `cookie`, if `csrf_token` is the form's token.
pub async fn flow_request(
    conn: &mut Conn,
    cookie: &str,
    csrf_token: &str,
    now: Timestamp,
) -> Result<(FlowTarget, String), SsoError> {
    let (target, stored) = flow_by_cookie(conn, cookie, now).await?;
    if !constant_time_eq(&stored, csrf_token) {
        return Err(SsoError::Csrf);
    }
    Ok((target, stored))
}

/// The target and CSRF token of the live flow named by `cookie`, to show its form
/// again (after a language switch, say).
pub async fn flow_by_cookie(
    conn: &mut Conn,
    cookie: &str,
    now: Timestamp,
) -> Result<(FlowTarget, String), SsoError> {
    let row =
        sqlx::query("SELECT csrf_token, request, expires_at FROM login_flows WHERE id_sha256 = $1")
            .bind(sha256_hex(cookie))
            .fetch_optional(conn)
            .await?
            .ok_or(SsoError::Csrf)?;
    let stored: String = row.try_get("csrf_token")?;
    let expires_at: i64 = row.try_get("expires_at")?;
    if expires_at <= now.unix_millis() {
        return Err(SsoError::FlowExpired);
    }
    let request: String = row.try_get("request")?;
    let request = serde_json::from_str(&request)
        .map_err(|e| SsoError::Store(StoreError::Corrupt(e.to_string())))?;
    Ok((request, stored))
}

/// Replaces the target of the flow named by `cookie` (a choice made on one of its
/// pages, such as whom the person acts for, carried to the next page).
pub async fn update_flow(
    conn: &mut Conn,
    cookie: &str,
    target: &FlowTarget,
) -> Result<(), SsoError> {
    let json = serde_json::to_string(target)
        .map_err(|e| SsoError::Store(StoreError::Corrupt(e.to_string())))?;
    sqlx::query("UPDATE login_flows SET request = $2 WHERE id_sha256 = $1")
        .bind(sha256_hex(cookie))
        .bind(json)
        .execute(conn)
        .await?;
    Ok(())
}

/// Binds the flow named by `cookie` to the session a page of it is shown to.
pub async fn bind_flow(conn: &mut Conn, cookie: &str, session_id: &str) -> Result<(), SsoError> {
    sqlx::query("UPDATE login_flows SET session_id = $2 WHERE id_sha256 = $1")
        .bind(sha256_hex(cookie))
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the flow named by `cookie` showed its page to session `session_id`: only
/// that session may answer it (a login form's flow has no session, so its CSRF token
/// answers no page).
pub async fn flow_bound_to(
    conn: &mut Conn,
    cookie: &str,
    session_id: &str,
) -> Result<bool, SsoError> {
    let row = sqlx::query("SELECT session_id FROM login_flows WHERE id_sha256 = $1")
        .bind(sha256_hex(cookie))
        .fetch_optional(conn)
        .await?;
    let bound: Option<String> = match row {
        Some(r) => r.try_get("session_id")?,
        None => None,
    };
    Ok(bound.as_deref() == Some(session_id))
}

/// How long the flow named by `cookie` stays usable, in milliseconds; none if it has
/// ended or expired.
pub async fn time_left(
    conn: &mut Conn,
    cookie: &str,
    now: Timestamp,
) -> Result<Option<i64>, SsoError> {
    let row = sqlx::query("SELECT expires_at FROM login_flows WHERE id_sha256 = $1")
        .bind(sha256_hex(cookie))
        .fetch_optional(conn)
        .await?;
    let expires_at: Option<i64> = row.map(|r| r.try_get("expires_at")).transpose()?;
    Ok(expires_at
        .map(|at| at - now.unix_millis())
        .filter(|left| *left > 0))
}

/// More time for the flow named by `cookie` whose form carries `csrf_token` (a person
/// who reads or types slowly loses nothing): [`super::FLOW_LIFETIME_MS`] from now, up to
/// [`super::FLOW_LONGEST_MS`] after the flow began. The time left after it; none if the
/// flow has ended or expired, or the token is not its own.
pub async fn more_time(
    conn: &mut Conn,
    cookie: &str,
    csrf_token: &str,
    now: Timestamp,
) -> Result<Option<i64>, SsoError> {
    let (_, stored) = match flow_by_cookie(conn, cookie, now).await {
        Ok(found) => found,
        Err(SsoError::Csrf | SsoError::FlowExpired) => return Ok(None),
        Err(error) => return Err(error),
    };
    if !constant_time_eq(&stored, csrf_token) {
        return Ok(None);
    }
    let t = now.unix_millis();
    sqlx::query(
        "UPDATE login_flows SET expires_at = CASE WHEN created_at + $3 < $2 + $4 \
         THEN created_at + $3 ELSE $2 + $4 END WHERE id_sha256 = $1 AND expires_at > $2",
    )
    .bind(sha256_hex(cookie))
    .bind(t)
    .bind(super::FLOW_LONGEST_MS)
    .bind(FLOW_LIFETIME_MS)
    .execute(&mut *conn)
    .await?;
    time_left(conn, cookie, now).await
}

/// Ends a flow once its login succeeded.
pub async fn end_flow(conn: &mut Conn, cookie: &str) -> Result<(), SsoError> {
    sqlx::query("DELETE FROM login_flows WHERE id_sha256 = $1")
        .bind(sha256_hex(cookie))
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks the login flow named by `cookie` as past its password for `login`, waiting for
/// the second factor. Returns true.
pub async fn await_second_factor(
    conn: &mut Conn,
    cookie: &str,
    login: LoggedIn,
) -> Result<bool, SsoError> {
    sqlx::query(
        "UPDATE login_flows SET pending_subject = $2, pending_acting_for = $3 WHERE id_sha256 = $1",
    )
    .bind(sha256_hex(cookie))
    .bind(login.subject.to_string())
    .bind(login.acting_for.map(|a| a.to_string()))
    .execute(conn)
    .await?;
    Ok(true)
}

/// Who passed the password in the flow named by `cookie` and waits for the second
/// factor; none if nobody did.
pub async fn pending_second_factor(
    conn: &mut Conn,
    cookie: &str,
) -> Result<Option<LoggedIn>, SsoError> {
    let row = sqlx::query(
        "SELECT pending_subject, pending_acting_for FROM login_flows WHERE id_sha256 = $1",
    )
    .bind(sha256_hex(cookie))
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let subject: Option<String> = row.try_get("pending_subject")?;
    let acting_for: Option<String> = row.try_get("pending_acting_for")?;
    let corrupt = || SsoError::Store(StoreError::Corrupt("pending subject".into()));
    let Some(subject) = subject else {
        return Ok(None);
    };
    Ok(Some(LoggedIn {
        subject: subject.parse().map_err(|_| corrupt())?,
        acting_for: acting_for
            .map(|a| a.parse())
            .transpose()
            .map_err(|_| corrupt())?,
    }))
}

/// Checks the second factor of `login`, throttled like the password (per person and
/// per client address).
pub async fn check_second_factor(
    conn: &mut Conn,
    key: &crate::totp::TotpKey,
    login: LoggedIn,
    code: &str,
    client_ip: std::net::IpAddr,
    now: Timestamp,
) -> Result<(), SsoError> {
    let keys = [
        ThrottleKey::account(&format!("otp:{}", login.subject)),
        ThrottleKey::address(client_ip),
    ];
    throttle::check(conn, &keys, now).await??;
    match crate::totp::check(conn, key, login.subject, code, now).await {
        Ok(()) => {
            throttle::clear(conn, &keys[0]).await?;
            Ok(())
        }
        Err(crate::totp::TotpError::WrongCode | crate::totp::TotpError::NotEnrolled) => {
            for key in &keys {
                throttle::record_failure(conn, key, now).await?;
            }
            Err(SsoError::InvalidCredentials)
        }
        Err(crate::totp::TotpError::Store(store)) => Err(SsoError::Store(store)),
        Err(crate::totp::TotpError::Rng(rng)) => Err(SsoError::Rng(rng)),
        Err(other) => Err(SsoError::Store(StoreError::Corrupt(other.to_string()))),
    }
}
