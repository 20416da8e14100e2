//! A department's seals in the transparency log: every entry about one seal (created,
//! suspended, resumed, revoked, each use), beside the number of uses the department's
//! own usage records hold, so that a use the log has and the records lack, or the
//! reverse, shows.

use tongban_ledger::storage::{self, Filter, Stored};
use tongban_store::Conn;

use crate::error::SealError;
use crate::permissions::{self, Actor};
use crate::registry::{self, SealId};

/// A page of a seal's log entries.
#[derive(Clone, Debug)]
pub struct SealLog {
    /// Entries in the order they were appended, each with its cursor.
    pub entries: Vec<(i64, Stored)>,
    /// The cursor of the next page, when there is one.
    pub next: Option<i64>,
    /// Uses of the seal the log holds.
    pub logged_uses: i64,
    /// Uses of the seal the usage records hold.
    pub recorded_uses: i64,
}

/// Seal `seal`'s entries after cursor `after` (0 for the first page), at most `limit`
/// (1–1000), for those who may read its usage log.
pub async fn seal_log(
    conn: &mut Conn,
    actor: &Actor,
    seal: SealId,
    after: i64,
    limit: i64,
) -> Result<SealLog, SealError> {
    let found = registry::find(conn, seal).await?;
    permissions::may_view(conn, actor, found.department_id).await?;
    if !(1..=1000).contains(&limit) {
        return Err(SealError::Invalid {
            field: "limit",
            reason: "1 to 1000".into(),
        });
    }
    let id = seal.to_string();
    let mut entries = storage::entries(conn, Filter::Seal(&id), after.max(0), limit + 1).await?;
    let next = if entries.len() as i64 > limit {
        entries.truncate(limit as usize);
        entries.last().map(|(cursor, _)| *cursor)
    } else {
        None
    };
    let logged_uses: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ledger_entries WHERE seal_id = $1 AND kind = 'seal.used'",
    )
    .bind(&id)
    .fetch_one(&mut *conn)
    .await?;
    let recorded_uses: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM seal_usages WHERE seal_id = $1")
            .bind(&id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(SealLog {
        entries,
        next,
        logged_uses,
        recorded_uses,
    })
}
