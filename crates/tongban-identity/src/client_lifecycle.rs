//! A client's life after registration, for platform administrators: its secret rotated
//! with a grace period (the previous secret keeps working until then, so that a relying
//! party switches without an outage), and the client disabled — unknown to every
//! protocol endpoint and API, its refresh tokens revoked — and enabled again. Every
//! change is audited in the caller's transaction.

use serde_json::json;
use tongban_core::time::Timestamp;
use tongban_store::Conn;

use crate::admin::{AdminError, record_in};
use crate::caller::Admin;
use crate::clients::{self, Client, ClientError};
use crate::secrets::{random_token, sha256_hex};
use crate::subjects::SubjectError;

/// How long the previous secret works after a rotation, unless asked otherwise: a day,
/// time for a relying party's deployment.
pub const DEFAULT_GRACE_SECS: i64 = 24 * 3600;

/// The longest grace period: 30 days.
pub const MAX_GRACE_SECS: i64 = 30 * 24 * 3600;

async fn existing(conn: &mut Conn, id: &str) -> Result<Client, AdminError> {
    clients::find_any(conn, id)
        .await?
        .ok_or(AdminError::Subject(SubjectError::NotFound("client")))
}

/// Gives client `id` a new secret (returned this once); the previous one works for
/// `grace_secs` more (0 ends it at once; [`DEFAULT_GRACE_SECS`] when not given).
pub async fn rotate_secret(
    conn: &mut Conn,
    admin: &Admin,
    id: &str,
    grace_secs: Option<i64>,
    now: Timestamp,
) -> Result<(Client, String), AdminError> {
    let client = existing(conn, id).await?;
    if !client.has_secret() {
        return Err(ClientError::NoSecret.into());
    }
    let grace = grace_secs.unwrap_or(DEFAULT_GRACE_SECS);
    if !(0..=MAX_GRACE_SECS).contains(&grace) {
        return Err(ClientError::Invalid {
            field: "grace_seconds",
            reason: format!("0 to {MAX_GRACE_SECS} seconds"),
        }
        .into());
    }
    if grace > 0
        && let Some(until) = client.previous_secret_until
        && until > now
    {
        return Err(ClientError::GraceRunning {
            until: until.unix_millis(),
        }
        .into());
    }
    let secret = random_token(32)?;
    let until = now.unix_millis() + grace * 1000;
    // The grace rule again in the statement: of two rotations at once, the second
    // finds the first's grace running and changes nothing.
    let rotated = sqlx::query(
        "UPDATE clients SET previous_secret_sha256 = secret_sha256, previous_secret_until = $2, \
         secret_sha256 = $3 WHERE id = $1 \
         AND ($4 = 0 OR previous_secret_until IS NULL OR previous_secret_until <= $5)",
    )
    .bind(id)
    .bind(until)
    .bind(sha256_hex(&secret))
    .bind(grace)
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await
    .map_err(ClientError::from)?;
    if rotated.rows_affected() != 1 {
        let running = existing(conn, id).await?.previous_secret_until;
        return Err(ClientError::GraceRunning {
            until: running.map_or(until, Timestamp::unix_millis),
        }
        .into());
    }
    let details = json!({ "grace_seconds": grace, "previous_valid_until": until });
    let client = existing(conn, id).await?;
    let department = client.department_id;
    record_in(
        conn,
        admin,
        "client.secret-rotated",
        id,
        department,
        details,
    )
    .await?;
    Ok((client, secret))
}

/// Disables client `id` (`disabled`), revoking its refresh tokens, or enables it again.
/// Its access tokens stop at once on this instance, and within the client cache's
/// lifetime ([`clients::CACHE_TTL`]) on the others.
pub async fn set_disabled(
    conn: &mut Conn,
    admin: &Admin,
    id: &str,
    disabled: bool,
    now: Timestamp,
) -> Result<Client, AdminError> {
    existing(conn, id).await?;
    let at = disabled.then_some(now.unix_millis());
    sqlx::query("UPDATE clients SET disabled_at = $2 WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(ClientError::from)?;
    let (action, revoked) = if disabled {
        let revoked = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now.unix_millis())
        .execute(&mut *conn)
        .await
        .map_err(ClientError::from)?
        .rows_affected();
        ("client.disabled", revoked)
    } else {
        ("client.enabled", 0)
    };
    let client = existing(conn, id).await?;
    let details = json!({ "refresh_tokens_revoked": revoked });
    record_in(conn, admin, action, id, client.department_id, details).await?;
    Ok(client)
}
