//! Budgets shared by every instance, in fixed windows: an instance takes a slice of a
//! key's budget (`take`) and spends it in memory; the table only ever grows by what was
//! taken, so the instances together never spend more than the budget.

use crate::{Conn, StoreError};

/// What `take` found: the window `key`'s budget is in, and how much the instances have
/// taken in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub window_start: i64,
    pub used: i64,
}

/// Takes `slice` more of `key`'s budget in the window starting at `window_start` (ms,
/// a new window starting from nothing) and returns how much the instances have taken in
/// that window, this slice included: the caller got `min(slice, budget - before)` of it.
/// When the row has moved on to a later window (a caller whose clock or request lags),
/// nothing is taken, the row never goes back, and the later window is returned with
/// what was taken in it.
pub async fn take(
    conn: &mut Conn,
    key: &str,
    window_start: i64,
    slice: i64,
) -> Result<Taken, StoreError> {
    let (used, window): (i64, i64) = sqlx::query_as(
        "INSERT INTO rate_leases (key, window_start, used) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET \
           used = CASE WHEN rate_leases.window_start = $2 THEN rate_leases.used + $3 \
                       WHEN rate_leases.window_start < $2 THEN $3 \
                       ELSE rate_leases.used END, \
           window_start = CASE WHEN rate_leases.window_start < $2 THEN $2 \
                               ELSE rate_leases.window_start END \
         RETURNING used, window_start",
    )
    .bind(key)
    .bind(window_start)
    .bind(slice)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Taken {
        window_start: window,
        used,
    })
}

/// Forgets the windows that started before `before`; returns how many.
pub async fn forget_before(conn: &mut Conn, before: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM rate_leases WHERE window_start < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
