//! Relatives acting for a person (亲友代办) and guardianship (监护).
//!
//! A person authorises another natural person for some [`Matter`]s until a date; the
//! relative accepts (their consent), and either of them ends it at once. The relative
//! then logs in as themself and, at a portal, chooses to act for the person: the
//! portal's tokens name the person as `sub` and the relative as the actor (`act`, RFC
//! 8693 §4.1). Signing is never a matter: nobody signs for another person.
//!
//! What a delegate does under an authority is recorded with both of them ([`acts`]).

pub mod acts;
pub mod assisted;
pub mod at_counter;
mod model;

pub use model::{Delegation, DelegationError, Matter, Status};
pub(crate) use model::{SELECT, corrupt, from_row, invalid};

use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError, audit};

use crate::resident_id::ResidentId;
use crate::sso::Session;
use crate::subjects::SubjectId;

/// Longest an authority may run: three years (a relative's help is renewed, not
/// forgotten).
pub const MAX_DAYS: i64 = 3 * 366;

/// The lowest login level that may set up an authority online.
pub const OFFER_LEVEL: u8 = 2;

/// Whether `subject` is department staff: staff sign in themselves (with a passkey,
/// under that policy), never through a relative.
pub async fn is_staff(conn: &mut Conn, subject: SubjectId) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 FROM staff WHERE subject_id = $1 LIMIT 1")
        .bind(subject.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// One authority by id.
pub async fn find(conn: &mut Conn, id: &str) -> Result<Option<Delegation>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE d.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The authority `id` if it is in force at `now` for `delegate`.
pub async fn live_for(
    conn: &mut Conn,
    id: &str,
    delegate: SubjectId,
    now: Timestamp,
) -> Result<Option<Delegation>, StoreError> {
    Ok(find(conn, id)
        .await?
        .filter(|d| d.delegate == delegate && d.live(now)))
}

/// The authorities `person` gave and received, newest first.
pub async fn of_person(
    conn: &mut Conn,
    person: SubjectId,
) -> Result<(Vec<Delegation>, Vec<Delegation>), StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE d.principal_id = $1 OR d.delegate_id = $1 ORDER BY d.created_at DESC LIMIT 200"
    )))
    .bind(person.to_string())
    .fetch_all(conn)
    .await?;
    let all = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(all.into_iter().partition(|d| d.principal == person))
}

/// The people `delegate` may sign in for at `now`.
pub async fn sign_in_choices(
    conn: &mut Conn,
    delegate: SubjectId,
    now: Timestamp,
) -> Result<Vec<Delegation>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE d.delegate_id = $1 AND d.status = 'active' AND d.valid_until > $2 ORDER BY p.name, d.id"
    )))
    .bind(delegate.to_string())
    .bind(now.unix_millis())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|d| d.covers(Matter::SignIn))
        .collect())
}

/// What a person fills in to authorise a relative.
#[derive(Clone, Debug)]
pub struct Offer<'a> {
    /// The relative's name, as registered.
    pub relative_name: &'a str,
    /// The relative's resident ID number.
    pub relative_id: &'a str,
    /// The matter names ticked.
    pub matters: &'a [String],
    /// The last day, as days from now.
    pub days: i64,
}

/// Sets up an authority of the signed-in person for a relative, waiting for the
/// relative's acceptance. Only the person themself (not as a company's agent, and not
/// someone acting for them: a delegate's session is their own), at level 2 or above.
pub async fn offer(
    conn: &mut Conn,
    session: &Session,
    offer: &Offer<'_>,
    now: Timestamp,
) -> Result<Delegation, DelegationError> {
    if session.acting_for.is_some() || crate::assurance::level_of_acr(&session.acr) < OFFER_LEVEL {
        return Err(DelegationError::Level);
    }
    let matters = parse_matters(offer.matters)?;
    if !(1..=MAX_DAYS).contains(&offer.days) {
        return Err(invalid("days", "between 1 day and 3 years"));
    }
    let (relative, _) =
        named_person(conn, offer.relative_id, offer.relative_name, "relative_id").await?;
    if relative == session.subject {
        return Err(DelegationError::UnknownRelative);
    }
    if is_staff(conn, session.subject).await? {
        return Err(DelegationError::Staff);
    }
    // Authorities of the two that ran out are closed, so that a new one may be set up.
    end_expired_between(conn, (session.subject, relative), now).await?;
    let existing = sqlx::query(
        "SELECT 1 FROM delegations WHERE principal_id = $1 AND delegate_id = $2 \
         AND (status = 'offered' OR (status = 'active' AND valid_until > $3))",
    )
    .bind(session.subject.to_string())
    .bind(relative.to_string())
    .bind(now.unix_millis())
    .fetch_optional(&mut *conn)
    .await?;
    if existing.is_some() {
        return Err(DelegationError::Exists);
    }
    let id = tongban_core::id::Uuid::now_v7().to_string();
    let names: Vec<&str> = matters.iter().map(|m| m.name()).collect();
    sqlx::query(
        "INSERT INTO delegations (id, principal_id, delegate_id, kind, matters, status, valid_until, \
         created_at, created_by) VALUES ($1, $2, $3, 'relative', $4, 'offered', $5, $6, $2)",
    )
    .bind(&id)
    .bind(session.subject.to_string())
    .bind(relative.to_string())
    .bind(names.join(" "))
    .bind(now.unix_millis() + offer.days * 86_400_000)
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await
    .map_err(|e| match StoreError::from(e) {
        // Two offers at once: the unique index lets one through.
        StoreError::Conflict(_) => DelegationError::Exists,
        other => DelegationError::Store(other),
    })?;
    let details =
        serde_json::json!({"delegate": relative.to_string(), "matters": names, "days": offer.days});
    record(conn, session.subject, "delegation.offered", &id, details).await?;
    find(conn, &id).await?.ok_or(DelegationError::NotFound)
}

/// The matters named by `names`, each once; at least one.
fn parse_matters(names: &[String]) -> Result<Vec<Matter>, DelegationError> {
    let mut matters = Vec::new();
    for name in names {
        let matter = Matter::parse(name).ok_or(invalid("matters", "unknown matter"))?;
        if !matters.contains(&matter) {
            matters.push(matter);
        }
    }
    if matters.is_empty() {
        return Err(invalid("matters", "choose at least one"));
    }
    // Signing requests are started at a portal, under a login for the person.
    if matters.contains(&Matter::SigningRequests) && !matters.contains(&Matter::SignIn) {
        return Err(invalid(
            "matters",
            "starting signing requests needs signing in",
        ));
    }
    Ok(matters)
}

/// The registered natural person with this ID number and name (`field` names the
/// number's form field); an unknown person and a wrong name get the same answer.
async fn named_person(
    conn: &mut Conn,
    id_number: &str,
    name: &str,
    field: &'static str,
) -> Result<(SubjectId, ResidentId), DelegationError> {
    let number: ResidentId = id_number
        .trim()
        .parse()
        .map_err(|_| invalid(field, "not a valid resident ID number"))?;
    let row = sqlx::query(
        "SELECT id FROM subjects WHERE kind = 'natural' AND resident_id = $1 AND name = $2",
    )
    .bind(number.as_str())
    .bind(name.trim())
    .fetch_optional(conn)
    .await?
    .ok_or(DelegationError::UnknownRelative)?;
    let id: String = row.try_get("id")?;
    Ok((id.parse().map_err(|_| corrupt("subject id"))?, number))
}

async fn record(
    conn: &mut Conn,
    actor: SubjectId,
    action: &str,
    id: &str,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    let event = AuditEvent::new(&actor.to_string(), action, Some(id), None, details);
    audit::record(conn, &event).await
}

/// [`record`] for a clerk's act, attributed to the clerk's department.
async fn record_at_counter(
    conn: &mut Conn,
    clerk: &crate::counter::Clerk,
    action: &str,
    id: &str,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    let event = AuditEvent::new(&clerk.staff().to_string(), action, Some(id), None, details)
        .in_department(clerk.department());
    audit::record(conn, &event).await
}

/// The relative accepts (`accept`) or declines an authority offered to them. An
/// assisted session is the person's to confirm ([`assisted::confirm`]), never the
/// clerk's.
pub async fn answer(
    conn: &mut Conn,
    delegate: SubjectId,
    id: &str,
    accept: bool,
    now: Timestamp,
) -> Result<(), DelegationError> {
    let (status, action) = if accept {
        ("active", "delegation.accepted")
    } else {
        ("declined", "delegation.declined")
    };
    let changed = sqlx::query(
        "UPDATE delegations SET status = $3, accepted_at = $5 \
         WHERE id = $1 AND delegate_id = $2 AND status = 'offered' AND valid_until > $4 \
         AND kind <> 'counter'",
    )
    .bind(id)
    .bind(delegate.to_string())
    .bind(status)
    .bind(now.unix_millis())
    .bind(accept.then_some(now.unix_millis()))
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() != 1 {
        return Err(DelegationError::NotFound);
    }
    record(conn, delegate, action, id, serde_json::json!({})).await?;
    Ok(())
}

/// Ends an authority at once, by either of the two people: what it gave ends with
/// it (refresh tokens are revoked; access tokens are checked against it on each use).
pub async fn end(
    conn: &mut Conn,
    by: SubjectId,
    id: &str,
    now: Timestamp,
) -> Result<(), DelegationError> {
    let changed = sqlx::query(
        "UPDATE delegations SET status = 'ended', ended_at = $3, ended_by = $2 \
         WHERE id = $1 AND (principal_id = $2 OR delegate_id = $2) AND status IN ('offered', 'active')",
    )
    .bind(id)
    .bind(by.to_string())
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() != 1 {
        return Err(DelegationError::NotFound);
    }
    close(conn, id, now).await?;
    record(conn, by, "delegation.ended", id, serde_json::json!({})).await?;
    Ok(())
}

/// What an ended authority gave ends with it: its refresh tokens are revoked, and the
/// portals the delegate signed in to for the person hear that it is over (back-channel
/// logout).
async fn close(conn: &mut Conn, id: &str, now: Timestamp) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE delegation_id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await?;
    crate::backchannel::queue_delegation(conn, id, now).await
}

/// Ends, as `by` (a clerk at a counter), the open authorities between `principal` and
/// `delegate` — of `kind` only, if given — with what they gave.
pub(crate) async fn end_between(
    conn: &mut Conn,
    (principal, delegate): (SubjectId, SubjectId),
    kind: Option<&str>,
    by: SubjectId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT id FROM delegations WHERE principal_id = $1 AND delegate_id = $2 \
         AND status IN ('offered', 'active') AND ($3 = '' OR kind = $3)",
    )
    .bind(principal.to_string())
    .bind(delegate.to_string())
    .bind(kind.unwrap_or_default())
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let id: String = row.try_get("id")?;
        let changed = sqlx::query(
            "UPDATE delegations SET status = 'ended', ended_at = $2, ended_by = $3 \
             WHERE id = $1 AND status IN ('offered', 'active')",
        )
        .bind(&id)
        .bind(now.unix_millis())
        .bind(by.to_string())
        .execute(&mut *conn)
        .await?;
        if changed.rows_affected() == 1 {
            close(conn, &id, now).await?;
        }
    }
    Ok(())
}

/// The authorities between `principal` and `delegate` that ran out by `now` are ended
/// (by `expiry`), with what they gave.
pub(crate) async fn end_expired_between(
    conn: &mut Conn,
    (principal, delegate): (SubjectId, SubjectId),
    now: Timestamp,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT id FROM delegations WHERE principal_id = $1 AND delegate_id = $2 \
         AND status IN ('offered', 'active') AND valid_until <= $3",
    )
    .bind(principal.to_string())
    .bind(delegate.to_string())
    .bind(now.unix_millis())
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let id: String = row.try_get("id")?;
        expire(conn, &id, now).await?;
    }
    Ok(())
}

/// Ends authority `id` by expiry (once, whichever instance gets there first) with what
/// it gave. Whether this call ended it.
async fn expire(conn: &mut Conn, id: &str, now: Timestamp) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "UPDATE delegations SET status = 'ended', ended_at = valid_until, ended_by = 'expiry' \
         WHERE id = $1 AND status IN ('offered', 'active') AND valid_until <= $2",
    )
    .bind(id)
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 1 {
        close(conn, id, now).await?;
    }
    Ok(changed.rows_affected() == 1)
}

/// Authorities that ran out by `now` are ended (by `expiry`), at most `limit` per call,
/// with what they gave: an assisted session's 30 minutes end at the portals too, not
/// only at our APIs. Returns how many ended. Safe on several instances at once: each
/// authority is ended by one of them.
pub async fn end_expired(conn: &mut Conn, limit: i64, now: Timestamp) -> Result<u64, StoreError> {
    let rows = sqlx::query(
        "SELECT id FROM delegations WHERE status IN ('offered', 'active') \
         AND valid_until <= $1 ORDER BY valid_until, id LIMIT $2",
    )
    .bind(now.unix_millis())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut ended = 0;
    for row in rows {
        let id: String = row.try_get("id")?;
        if expire(conn, &id, now).await? {
            ended += 1;
        }
    }
    Ok(ended)
}

/// A relative's access token for a person is used for `action` through `client_id`:
/// true (and the act recorded under both of them) if the authority is still in force,
/// false if it ended or expired (the token then stops working at once).
pub async fn token_used(
    conn: &mut Conn,
    id: &str,
    action: &str,
    client_id: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    match find(conn, id).await? {
        Some(d) if d.live(now) => {
            acts::record(conn, &d, action, Some(client_id), now).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
