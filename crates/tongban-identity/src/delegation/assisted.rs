//! Assisted sessions at the counter (窗口协办): a clerk helps a person who is present
//! with their matters online. The clerk asks, naming the person and the matters; the
//! person confirms on a device of theirs, signed in as themself, by typing the code the
//! clerk reads to them; for the next 30 minutes the clerk may then sign in to portals
//! for the person (tokens name the clerk as `act`) and see their certificates — an
//! authority of kind `counter`, with everything it gives ending with it. A request the
//! person never confirms gives nothing and lapses after 10 minutes.

use ring::rand::{SecureRandom, SystemRandom};
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::Conn;

use super::at_counter::Present;
use super::{
    Delegation, DelegationError, find, invalid, named_person, parse_matters, record,
    record_at_counter,
};
use crate::counter::Clerk;
use crate::secrets::{constant_time_eq, sha256_hex};
use crate::sso::Session;
use crate::subjects::SubjectId;

/// How long the person has to confirm.
pub const CONFIRM_WITHIN_MS: i64 = 10 * 60 * 1000;

/// How long an assisted session lasts once confirmed.
pub const SESSION_MS: i64 = 30 * 60 * 1000;

/// Wrong codes before a request is withdrawn.
pub const MAX_TRIES: i64 = 5;

/// A request the clerk reads out: the authority waiting for the person, and its code.
#[derive(Clone, Debug)]
pub struct Requested {
    /// The authority, `offered` until the person confirms.
    pub delegation: Delegation,
    /// Six digits, shown once to the clerk.
    pub code: String,
}

fn six_digits() -> Result<String, DelegationError> {
    let rng = SystemRandom::new();
    loop {
        let mut bytes = [0u8; 4];
        rng.fill(&mut bytes)
            .map_err(|_| invalid("code", "no randomness"))?;
        let n = u32::from_be_bytes(bytes);
        // Below the largest multiple of a million, so that every code is as likely.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// `clerk` asks to help `person` with `matters`: an authority waiting for the person's
/// confirmation, replacing an earlier request of this clerk for them. Never for the
/// clerk themself, for staff or for platform administrators.
pub async fn request(
    conn: &mut Conn,
    clerk: &Clerk,
    person: Present<'_>,
    matters: &[String],
    now: Timestamp,
) -> Result<Requested, DelegationError> {
    let (principal, _) = named_person(conn, person.id_number, person.name, "resident_id").await?;
    if principal == clerk.staff() {
        return Err(invalid("resident_id", "a clerk does not help themself"));
    }
    if crate::counter::protected(conn, principal).await? {
        return Err(DelegationError::Staff);
    }
    let matters = parse_matters(matters)?;
    let pair = (principal, clerk.staff());
    // What ran out between the two is closed, and this clerk's earlier request (or
    // session) for the person gives way to the new one.
    super::end_expired_between(conn, pair, now).await?;
    super::end_between(conn, pair, Some("counter"), clerk.staff(), now).await?;
    let code = six_digits()?;
    let id = tongban_core::id::Uuid::now_v7().to_string();
    let names: Vec<&str> = matters.iter().map(|m| m.name()).collect();
    sqlx::query(
        "INSERT INTO delegations (id, principal_id, delegate_id, kind, matters, status, valid_until, \
         created_at, created_by, hall, code_sha256) \
         VALUES ($1, $2, $3, 'counter', $4, 'offered', $5, $6, $3, $7, $8)",
    )
    .bind(&id)
    .bind(principal.to_string())
    .bind(clerk.staff().to_string())
    .bind(names.join(" "))
    .bind(now.unix_millis() + CONFIRM_WITHIN_MS)
    .bind(now.unix_millis())
    .bind(clerk.hall())
    .bind(sha256_hex(&code))
    .execute(&mut *conn)
    .await
    .map_err(|e| match tongban_store::StoreError::from(e) {
        // The clerk holds another authority of this person (a relative's).
        tongban_store::StoreError::Conflict(_) => DelegationError::Exists,
        other => DelegationError::Store(other),
    })?;
    let details = serde_json::json!({
        "hall": clerk.hall(), "matters": names, "person": principal.to_string(),
        "method": "code-read-to-the-person",
    });
    record_at_counter(conn, clerk, "counter.assist-requested", &id, details).await?;
    let delegation = find(conn, &id).await?.ok_or(DelegationError::NotFound)?;
    Ok(Requested { delegation, code })
}

/// The assisted sessions clerks asked `person` to confirm, still waiting at `now`.
pub async fn waiting_for(
    conn: &mut Conn,
    person: SubjectId,
    now: Timestamp,
) -> Result<Vec<Delegation>, DelegationError> {
    let rows = sqlx::query(
        "SELECT id FROM delegations WHERE principal_id = $1 AND kind = 'counter' \
         AND status = 'offered' AND valid_until > $2 ORDER BY created_at DESC",
    )
    .bind(person.to_string())
    .bind(now.unix_millis())
    .fetch_all(&mut *conn)
    .await?;
    let mut waiting = Vec::new();
    for row in rows {
        let id: String = row.try_get("id")?;
        waiting.extend(find(conn, &id).await?);
    }
    Ok(waiting)
}

/// The person of `session`, themself, confirms the assisted session `id` with the code
/// the clerk read to them: in force for [`SESSION_MS`] from now. A wrong code counts;
/// after [`MAX_TRIES`] the request is withdrawn.
pub async fn confirm(
    conn: &mut Conn,
    session: &Session,
    id: &str,
    code: &str,
    now: Timestamp,
) -> Result<Delegation, DelegationError> {
    if session.acting_for.is_some() {
        return Err(DelegationError::NotFound);
    }
    let row = sqlx::query(
        "SELECT code_sha256 FROM delegations WHERE id = $1 AND principal_id = $2 \
         AND kind = 'counter' AND status = 'offered' AND valid_until > $3 AND code_tries < $4",
    )
    .bind(id)
    .bind(session.subject.to_string())
    .bind(now.unix_millis())
    .bind(MAX_TRIES)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DelegationError::NotFound)?;
    let stored: Option<String> = row.try_get("code_sha256")?;
    let typed: String = code.chars().filter(char::is_ascii_digit).collect();
    let right = stored.is_some_and(|s| constant_time_eq(&s, &sha256_hex(&typed)));
    if !right {
        // Counted in one statement, so that tries at once cannot share a count.
        let tries: i64 = sqlx::query_scalar(
            "UPDATE delegations SET code_tries = code_tries + 1 WHERE id = $1 RETURNING code_tries",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        let withdrawn = tries >= MAX_TRIES;
        if withdrawn {
            sqlx::query(
                "UPDATE delegations SET status = 'ended', ended_at = $2, ended_by = 'wrong-codes' \
                 WHERE id = $1 AND status = 'offered'",
            )
            .bind(id)
            .bind(now.unix_millis())
            .execute(&mut *conn)
            .await?;
        }
        return Err(DelegationError::WrongCode { withdrawn });
    }
    let confirmed = sqlx::query(
        "UPDATE delegations SET status = 'active', accepted_at = $2, valid_until = $3, \
         code_sha256 = NULL WHERE id = $1 AND status = 'offered' AND code_tries < $4",
    )
    .bind(id)
    .bind(now.unix_millis())
    .bind(now.unix_millis() + SESSION_MS)
    .bind(MAX_TRIES)
    .execute(&mut *conn)
    .await?;
    if confirmed.rows_affected() != 1 {
        return Err(DelegationError::NotFound);
    }
    let delegation = find(conn, id).await?.ok_or(DelegationError::NotFound)?;
    let details = serde_json::json!({
        "hall": delegation.hall, "staff": delegation.delegate.to_string(),
        "method": "own-device-and-code", "minutes": SESSION_MS / 60_000,
    });
    record(
        conn,
        session.subject,
        "counter.assist-confirmed",
        id,
        details,
    )
    .await?;
    Ok(delegation)
}

/// The assisted session `id` as its clerk sees it, if it is theirs.
pub async fn of_clerk(
    conn: &mut Conn,
    clerk: SubjectId,
    id: &str,
) -> Result<Delegation, DelegationError> {
    find(conn, id)
        .await?
        .filter(|d| d.kind == "counter" && d.delegate == clerk)
        .ok_or(DelegationError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let code = six_digits().expect("a code");
            assert_eq!(code.len(), 6);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
        }
    }
}
