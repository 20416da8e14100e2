//! The requester's callback when a request ends (signed, declined or expired): queued
//! in the transaction that ends it, posted by a background task (the binary's
//! `signing_callbacks`) as a signed JWT, retried with back-off.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use crate::error::SignError;

/// Attempts before a callback is given up.
pub const MAX_ATTEMPTS: i64 = 10;
/// The first retry waits this long; each next one twice as long.
const FIRST_RETRY_MS: i64 = 2_000;
/// A claimed callback is not claimed again for this long.
const LEASE_MS: i64 = 30_000;

/// Queues the callback of request `id`, if it has one.
pub(crate) async fn enqueue(tx: &mut Conn, id: &str, now: Timestamp) -> Result<(), SignError> {
    sqlx::query(
        "INSERT INTO signing_callbacks (request_id, url, next_at) \
         SELECT id, callback_url, $2 FROM signing_requests WHERE id = $1 AND callback_url IS NOT NULL",
    )
    .bind(id)
    .bind(now.unix_millis())
    .execute(tx)
    .await?;
    Ok(())
}

/// A callback to post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    /// The request.
    pub request_id: String,
    /// Where.
    pub url: String,
    /// The requesting client (the JWT's audience).
    pub client_id: String,
    /// How the request ended.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// Takes up to `limit` callbacks that are due, leasing each so that no other instance
/// posts it at the same time.
pub async fn claim_due(
    conn: &mut Conn,
    limit: i64,
    now: Timestamp,
) -> Result<Vec<Due>, StoreError> {
    let rows = sqlx::query(
        "SELECT b.request_id, b.url, b.attempts, b.next_at, r.client_id, r.status \
         FROM signing_callbacks b JOIN signing_requests r ON r.id = b.request_id \
         WHERE b.delivered_at IS NULL AND b.attempts < $3 AND b.next_at <= $1 ORDER BY b.next_at LIMIT $2",
    )
    .bind(now.unix_millis())
    .bind(limit)
    .bind(MAX_ATTEMPTS)
    .fetch_all(&mut *conn)
    .await?;
    let mut claimed = Vec::new();
    for r in rows {
        let id: String = r.try_get("request_id")?;
        let due: i64 = r.try_get("next_at")?;
        let won = sqlx::query(
            "UPDATE signing_callbacks SET next_at = $3 WHERE request_id = $1 AND next_at = $2",
        )
        .bind(&id)
        .bind(due)
        .bind(now.unix_millis() + LEASE_MS)
        .execute(&mut *conn)
        .await?;
        if won.rows_affected() == 1 {
            claimed.push(Due {
                request_id: id,
                url: r.try_get("url")?,
                client_id: r.try_get("client_id")?,
                status: r.try_get("status")?,
                attempts: r.try_get("attempts")?,
            });
        }
    }
    Ok(claimed)
}

/// Records one attempt: delivered, or failed with `error` and retried after a back-off.
pub async fn record_attempt(
    conn: &mut Conn,
    due: &Due,
    outcome: Result<(), String>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let attempts = due.attempts + 1;
    let (delivered, next, error) = match outcome {
        Ok(()) => (Some(now.unix_millis()), now.unix_millis(), None),
        Err(error) => {
            let wait = FIRST_RETRY_MS.saturating_mul(1_i64 << (attempts - 1).clamp(0, 20));
            (
                None,
                now.unix_millis() + wait,
                Some(error.chars().take(500).collect::<String>()),
            )
        }
    };
    sqlx::query(
        "UPDATE signing_callbacks SET attempts = $2, delivered_at = $3, next_at = $4, last_error = $5 \
         WHERE request_id = $1 AND attempts = $6",
    )
    .bind(&due.request_id)
    .bind(attempts)
    .bind(delivered)
    .bind(next)
    .bind(error)
    .bind(due.attempts)
    .execute(conn)
    .await?;
    Ok(())
}
