//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): every relying party
//! that took part in a session is told when it ends, by a signed logout token posted
//! to its registered `backchannel_logout_uri`.
//!
//! Ending a session queues one delivery per such client in the same transaction; a
//! background task delivers them, retrying with exponential back-off, and records the
//! failures so that administrators see them. Deliveries live in the database, so any
//! instance delivers what another queued.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

/// Attempts before a delivery is given up (and stays listed as failed).
pub const MAX_ATTEMPTS: i64 = 8;
/// The first retry waits this long; each later one twice as long as the one before.
pub const FIRST_RETRY_MS: i64 = 2_000;
/// A delivery being attempted is not picked again for this long: longer than a whole
/// batch of attempts at their timeout takes.
pub const LEASE_MS: i64 = 150_000;

/// A client taking part in a session.
#[derive(Clone, Copy, Debug)]
pub struct Participation<'a> {
    /// The session.
    pub session_id: &'a str,
    /// The client.
    pub client_id: &'a str,
    /// The person as the client knows them.
    pub sub: &'a str,
    /// The session as the client knows it.
    pub sid: &'a str,
    /// The authority, when the session's person signed in there for another.
    pub delegation_id: Option<&'a str>,
}

/// Records that a client took part in a session, knowing the person as `sub` and the
/// session as `sid` (once for the person at the keyboard, once for each person they
/// signed in for there).
pub async fn record_participant(
    conn: &mut Conn,
    participation: &Participation<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO session_clients (session_id, client_id, sub, sid, delegation_id) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (session_id, client_id, sub) DO NOTHING",
    )
    .bind(participation.session_id)
    .bind(participation.client_id)
    .bind(participation.sub)
    .bind(participation.sid)
    .bind(participation.delegation_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The session a client knows as `sid` (for its `id_token_hint` at logout).
pub async fn session_of(
    conn: &mut Conn,
    client_id: &str,
    sid: &str,
) -> Result<Option<String>, StoreError> {
    let row =
        sqlx::query("SELECT session_id FROM session_clients WHERE client_id = $1 AND sid = $2")
            .bind(client_id)
            .bind(sid)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|r| r.try_get("session_id")).transpose()?)
}

/// Queues logout tokens for the relying parties of `session_id`, which is ending.
pub(crate) async fn queue(
    conn: &mut Conn,
    session_id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    queue_where(conn, "sc.session_id = $1", session_id, now).await
}

/// Queues logout tokens for the logins made under authority `delegation_id`, which
/// ended: the relying parties forget the person the relative signed in for.
pub(crate) async fn queue_delegation(
    conn: &mut Conn,
    delegation_id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    queue_where(conn, "sc.delegation_id = $1", delegation_id, now).await
}

async fn queue_where(
    conn: &mut Conn,
    condition: &'static str,
    value: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO logout_deliveries (id, client_id, session_id, sub, sid, created_at, next_attempt_at) \
         SELECT sc.session_id || ':' || sc.client_id || ':' || sc.sid, sc.client_id, sc.session_id, sc.sub, sc.sid, $2, $2 \
         FROM session_clients sc JOIN clients c ON c.id = sc.client_id \
         WHERE {condition} AND c.backchannel_logout_uri IS NOT NULL \
         ON CONFLICT (id) DO NOTHING"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .bind(now.unix_millis())
        .execute(conn)
        .await?;
    Ok(())
}

/// A logout token to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The delivery.
    pub id: String,
    /// The relying party.
    pub client_id: String,
    /// Where to post it.
    pub uri: String,
    /// The ended session.
    pub session_id: String,
    /// The session as the relying party knows it (`sid`).
    pub sid: String,
    /// The subject as the relying party knows it.
    pub sub: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// Claims up to `limit` deliveries that are due. A claimed delivery is not handed out
/// again for a while, so two instances do not post the same token at once.
pub async fn claim_due(
    conn: &mut Conn,
    limit: i64,
    now: Timestamp,
) -> Result<Vec<Delivery>, StoreError> {
    let rows = sqlx::query(
        "SELECT d.id, d.client_id, c.backchannel_logout_uri AS uri, d.session_id, d.sub, d.sid, d.attempts, d.next_attempt_at \
         FROM logout_deliveries d JOIN clients c ON c.id = d.client_id \
         WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= $1 \
         ORDER BY d.next_attempt_at LIMIT $2",
    )
    .bind(now.unix_millis())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut claimed = Vec::new();
    for r in rows {
        let id: String = r.try_get("id")?;
        let due: i64 = r.try_get("next_attempt_at")?;
        let won = sqlx::query(
            "UPDATE logout_deliveries SET next_attempt_at = $3 WHERE id = $1 AND next_attempt_at = $2",
        )
        .bind(&id)
        .bind(due)
        .bind(now.unix_millis() + LEASE_MS)
        .execute(&mut *conn)
        .await?;
        let uri: Option<String> = r.try_get("uri")?;
        if won.rows_affected() == 1
            && let Some(uri) = uri
        {
            claimed.push(Delivery {
                id,
                client_id: r.try_get("client_id")?,
                uri,
                session_id: r.try_get("session_id")?,
                sub: r.try_get("sub")?,
                sid: r.try_get("sid")?,
                attempts: r.try_get("attempts")?,
            });
        }
    }
    Ok(claimed)
}

/// Records the outcome of one attempt: delivered, or failed with `error` (retried
/// after a back-off until [`MAX_ATTEMPTS`]).
pub async fn record_attempt(
    conn: &mut Conn,
    delivery: &Delivery,
    outcome: Result<(), String>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let attempts = delivery.attempts + 1;
    let t = now.unix_millis();
    match outcome {
        Ok(()) => {
            sqlx::query(
                "UPDATE logout_deliveries SET attempts = $2, delivered_at = $3, last_error = NULL \
                 WHERE id = $1 AND attempts = $4",
            )
            .bind(&delivery.id)
            .bind(attempts)
            .bind(t)
            .bind(delivery.attempts)
            .execute(conn)
            .await?;
        }
        Err(error) => {
            let failed_at = (attempts >= MAX_ATTEMPTS).then_some(t);
            let wait = FIRST_RETRY_MS.saturating_mul(1_i64 << (attempts - 1).clamp(0, 20));
            sqlx::query(
                "UPDATE logout_deliveries SET attempts = $2, next_attempt_at = $3, failed_at = $4, last_error = $5 \
                 WHERE id = $1 AND attempts = $6 AND delivered_at IS NULL",
            )
            .bind(&delivery.id)
            .bind(attempts)
            .bind(t + wait)
            .bind(failed_at)
            .bind(error.chars().take(500).collect::<String>())
            .bind(delivery.attempts)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// A delivery as administrators see it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryRecord {
    /// The delivery.
    pub id: String,
    /// The relying party.
    pub client_id: String,
    /// The ended session.
    pub session_id: String,
    /// `pending`, `delivered` or `failed`.
    pub state: &'static str,
    /// Attempts made.
    pub attempts: i64,
    /// Queued, ms since the epoch.
    pub created_at: i64,
    /// The next attempt, for a pending delivery.
    pub next_attempt_at: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// Puts a given-up delivery back in the queue, due at `now`, with its attempts counted
/// anew (its last error stays until the next attempt). `false` when no given-up
/// delivery has this id.
pub async fn retry(conn: &mut Conn, id: &str, now: Timestamp) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE logout_deliveries SET failed_at = NULL, attempts = 0, next_attempt_at = $2 \
         WHERE id = $1 AND delivered_at IS NULL AND failed_at IS NOT NULL",
    )
    .bind(id)
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deliveries, newest first; only those in `state` (`delivered`, `failed`, or else
/// `pending`) when given.
pub async fn list(
    conn: &mut Conn,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let filter = match state {
        Some("delivered") => "WHERE delivered_at IS NOT NULL",
        Some("failed") => "WHERE delivered_at IS NULL AND failed_at IS NOT NULL",
        Some(_) => "WHERE delivered_at IS NULL AND failed_at IS NULL",
        None => "",
    };
    let sql = format!(
        "SELECT id, client_id, session_id, attempts, created_at, next_attempt_at, delivered_at, failed_at, last_error \
         FROM logout_deliveries {filter} ORDER BY created_at DESC, id LIMIT $1"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(limit.clamp(1, 1000))
        .fetch_all(conn)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let delivered: Option<i64> = r.try_get("delivered_at")?;
        let failed: Option<i64> = r.try_get("failed_at")?;
        let current = match (delivered, failed) {
            (Some(_), _) => "delivered",
            (None, Some(_)) => "failed",
            (None, None) => "pending",
        };
        out.push(DeliveryRecord {
            id: r.try_get("id")?,
            client_id: r.try_get("client_id")?,
            session_id: r.try_get("session_id")?,
            state: current,
            attempts: r.try_get("attempts")?,
            created_at: r.try_get("created_at")?,
            next_attempt_at: (current == "pending")
                .then(|| r.try_get("next_attempt_at"))
                .transpose()?,
            last_error: r.try_get("last_error")?,
        });
    }
    Ok(out)
}
