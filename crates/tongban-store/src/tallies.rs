//! Daily tallies of events too frequent to write one row each: public verifications and
//! failed logins. They are counted in this instance's memory ([`Store::tally`]) and
//! added to `daily_tallies` by [`Store::flush_tallies`], one upsert per kind,
//! department and day, which the server runs every few seconds and at shutdown. A
//! verification never waits on a write, and a flood of failed logins never queues on
//! one hot row. An instance that dies loses at most its last interval's counts: they
//! feed the overview's charts, not an account.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::Row;
use tongban_core::time::Timestamp;

use crate::{Conn, Store, StoreError};

/// What is tallied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tally {
    /// A certificate of the department verified (signature good, in the register).
    CertificateVerified,
    /// A document sealed with one of the department's seals verified.
    SealVerified,
    /// A login refused: a wrong password, code or passkey (the platform's).
    LoginFailed,
}

impl Tally {
    /// Its name in `daily_tallies.kind`.
    pub fn name(self) -> &'static str {
        match self {
            Self::CertificateVerified => "certificate.verified",
            Self::SealVerified => "seal.verified",
            Self::LoginFailed => "login.failed",
        }
    }
}

/// Milliseconds in a day, and China Standard Time's offset from UTC.
const DAY_MS: i64 = 86_400_000;
const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;

/// The day `at` falls on in China Standard Time, as days since 1970-01-01.
pub fn china_day(at: Timestamp) -> i64 {
    (at.unix_millis() + CHINA_OFFSET_MS).div_euclid(DAY_MS)
}

/// The first instant of China day `day`.
pub fn day_start(day: i64) -> Timestamp {
    Timestamp::from_unix_millis(day * DAY_MS - CHINA_OFFSET_MS)
}

type Key = (Tally, String, i64);

/// Counts not yet written.
#[derive(Debug, Default)]
pub(crate) struct Pending(Mutex<HashMap<Key, i64>>);

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, i64>> {
        // A panic while holding the lock leaves only whole counts behind.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Store {
    /// Counts one `tally` event of `department` (`None`: the platform's) at `at`.
    pub fn tally(&self, tally: Tally, department: Option<&str>, at: Timestamp) {
        // '' is the platform's: `Scope::Platform`.
        let key = (tally, department.unwrap_or("").to_owned(), china_day(at));
        *self.pending_tallies().lock().entry(key).or_insert(0) += 1;
    }

    /// Adds the counts held in memory to `daily_tallies`, in one transaction. Counts
    /// that were not written (an error, or the flush dropped halfway: the task
    /// aborted, the request gone) are put back for the next flush.
    pub async fn flush_tallies(&self) -> Result<(), StoreError> {
        let mut taken = Taken {
            pending: self.pending_tallies(),
            counts: std::mem::take(&mut *self.pending_tallies().lock()),
            written: false,
        };
        if taken.counts.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for ((tally, department, day), count) in &taken.counts {
            sqlx::query(
                "INSERT INTO daily_tallies (kind, department_id, day, count) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (kind, department_id, day) \
                 DO UPDATE SET count = daily_tallies.count + excluded.count",
            )
            .bind(tally.name())
            .bind(department)
            .bind(day)
            .bind(count)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        taken.written = true;
        Ok(())
    }
}

/// Counts taken out of memory to be written: put back when dropped unwritten.
struct Taken<'a> {
    pending: &'a Pending,
    counts: HashMap<Key, i64>,
    written: bool,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if self.written {
            return;
        }
        let mut pending = self.pending.lock();
        for (key, count) in self.counts.drain() {
            *pending.entry(key).or_insert(0) += count;
        }
    }
}

/// Whose tallies to read.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// One department's.
    Department(&'a str),
    /// The platform's own (failed logins).
    Platform,
    /// Every department's and the platform's, added up.
    Everything,
}

/// Counts of `tally` in `scope` on each day of `first..=last`, oldest first, as
/// written by the last flush.
pub async fn per_day(
    conn: &mut Conn,
    tally: Tally,
    scope: Scope<'_>,
    (first, last): (i64, i64),
) -> Result<Vec<i64>, StoreError> {
    let (sql, department) = match scope {
        Scope::Department(department) => (
            "SELECT day, count FROM daily_tallies \
             WHERE kind = $1 AND day >= $2 AND day <= $3 AND department_id = $4",
            Some(department),
        ),
        Scope::Platform => (
            "SELECT day, count FROM daily_tallies \
             WHERE kind = $1 AND day >= $2 AND day <= $3 AND department_id = ''",
            None,
        ),
        // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back for both engines.
        Scope::Everything => (
            "SELECT day, CAST(SUM(count) AS BIGINT) AS count FROM daily_tallies \
             WHERE kind = $1 AND day >= $2 AND day <= $3 GROUP BY day",
            None,
        ),
    };
    let query = sqlx::query(sql).bind(tally.name()).bind(first).bind(last);
    let query = match department {
        Some(department) => query.bind(department),
        None => query,
    };
    let rows = query.fetch_all(conn).await?;
    let mut counts = vec![0; usize::try_from(last - first + 1).unwrap_or(0)];
    for row in rows {
        let day: i64 = row.try_get("day")?;
        let count: i64 = row.try_get("count")?;
        if let Some(slot) = usize::try_from(day - first)
            .ok()
            .and_then(|i| counts.get_mut(i))
        {
            *slot = count;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_a_flush_could_not_write_are_kept_for_the_next() {
        let dir = std::env::temp_dir().join(format!("tongban-tallies-{}", std::process::id()));
        let config = tongban_core::config::DatabaseConfig {
            url: format!("sqlite://{}/t.db", dir.display()),
            max_connections: 2,
            timeout_ms: 5_000,
        };
        let store = Store::connect(&config).await.unwrap();
        let now = Timestamp::now();
        for _ in 0..3 {
            store.tally(Tally::LoginFailed, None, now);
        }
        // No schema yet: the write fails, and nothing is lost.
        assert!(store.flush_tallies().await.is_err());
        store.migrate().await.unwrap();
        store.tally(Tally::LoginFailed, None, now);
        store.flush_tallies().await.unwrap();
        let day = china_day(now);
        let mut conn = store.conn().await.unwrap();
        let counts = per_day(&mut conn, Tally::LoginFailed, Scope::Platform, (day, day))
            .await
            .unwrap();
        assert_eq!(counts, [4]);
        // Written once: a second flush adds nothing.
        drop(conn);
        store.flush_tallies().await.unwrap();
        let mut conn = store.conn().await.unwrap();
        let again = per_day(&mut conn, Tally::LoginFailed, Scope::Everything, (day, day))
            .await
            .unwrap();
        assert_eq!(again, [4]);
        drop(conn);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn days_are_china_days() {
        // 2026-12-03T16:00:00Z is midnight of 2026-12-04 in Beijing.
        let midnight = Timestamp::from_unix_millis(1_796_313_600_000);
        assert_eq!(
            china_day(midnight),
            20_791,
            "days from 1970-01-01 to 2026-12-04"
        );
        let before = Timestamp::from_unix_millis(midnight.unix_millis() - 1);
        assert_eq!(china_day(midnight) - china_day(before), 1);
        assert_eq!(day_start(china_day(midnight)), midnight);
    }
}
