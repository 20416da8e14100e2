//! Sessions: created at login, read from the session cookie (idle and absolute
//! lifetimes), the relying parties that joined one, the person's list, and ending them.

use crate::clients::Client;
use crate::secrets::{random_token, sha256_hex};
use crate::subjects::SubjectId;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use super::login::LoggedIn;
use super::request::AuthorizeRequest;
use super::{SESSION_ABSOLUTE_MS, SESSION_IDLE_MS, SESSION_TOUCH_MS, SsoError};

/// A signed-in session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Public id (the `sid` claim).
    pub id: String,
    /// Who.
    pub subject: SubjectId,
    /// When they authenticated.
    pub auth_time: Timestamp,
    /// Assurance level.
    pub acr: String,
    /// Methods (RFC 8176).
    pub amr: Vec<String>,
    /// The legal person an agent acts for in this session.
    pub acting_for: Option<SubjectId>,
}

/// Starts a session; returns it and the cookie value (shown to the browser only).
pub async fn create_session(
    conn: &mut Conn,
    login: LoggedIn,
    acr: &str,
    amr: &[&str],
    now: Timestamp,
) -> Result<(Session, String), SsoError> {
    let cookie = random_token(32)?;
    let session = Session {
        id: random_token(16)?,
        subject: login.subject,
        auth_time: now,
        acr: acr.to_owned(),
        amr: amr.iter().map(|m| (*m).to_owned()).collect(),
        acting_for: login.acting_for,
    };
    sqlx::query(
        "INSERT INTO sessions (id, token_sha256, subject_id, auth_time, acr, amr, last_seen_at, expires_at, acting_for) \
         VALUES ($1, $2, $3, $4, $5, $6, $4, $7, $8)",
    )
    .bind(&session.id)
    .bind(sha256_hex(&cookie))
    .bind(login.subject.to_string())
    .bind(now.unix_millis())
    .bind(acr)
    .bind(session.amr.join(" "))
    .bind(now.unix_millis() + SESSION_ABSOLUTE_MS)
    .bind(login.acting_for.map(|a| a.to_string()))
    .execute(conn)
    .await?;
    Ok((session, cookie))
}

/// The live session of a session cookie, its idle timer reset; none if ended, idle
/// too long or past its absolute end.
pub async fn session_from_cookie(
    conn: &mut Conn,
    cookie: &str,
    now: Timestamp,
) -> Result<Option<Session>, SsoError> {
    let row = sqlx::query(
        "SELECT id, subject_id, auth_time, acr, amr, acting_for, last_seen_at, expires_at, ended_at FROM sessions \
         WHERE token_sha256 = $1",
    )
    .bind(sha256_hex(cookie))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let get = |e: sqlx::Error| SsoError::Store(StoreError::from(e));
    let ended: Option<i64> = r.try_get("ended_at").map_err(get)?;
    let last_seen: i64 = r.try_get("last_seen_at").map_err(get)?;
    let expires: i64 = r.try_get("expires_at").map_err(get)?;
    let t = now.unix_millis();
    if ended.is_some() || t >= expires || t - last_seen >= SESSION_IDLE_MS {
        return Ok(None);
    }
    let id: String = r.try_get("id").map_err(get)?;
    if t - last_seen >= SESSION_TOUCH_MS {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
            .bind(&id)
            .bind(t)
            .execute(&mut *conn)
            .await?;
    }
    Ok(Some(session_from_row(id, &r)?))
}

/// A session from a row with its subject_id, auth_time, acr, amr and acting_for.
pub(super) fn session_from_row(id: String, r: &sqlx::any::AnyRow) -> Result<Session, StoreError> {
    let corrupt = |_| StoreError::Corrupt("subject id".into());
    let subject: String = r.try_get("subject_id")?;
    let amr: String = r.try_get("amr")?;
    let acting_for: Option<String> = r.try_get("acting_for")?;
    Ok(Session {
        id,
        subject: subject.parse().map_err(corrupt)?,
        auth_time: Timestamp::from_unix_millis(r.try_get("auth_time")?),
        acr: r.try_get("acr")?,
        amr: amr.split_whitespace().map(str::to_owned).collect(),
        acting_for: acting_for.map(|a| a.parse()).transpose().map_err(corrupt)?,
    })
}

/// Whether `session` satisfies the request's `max_age`, `prompt=login` and the level
/// it asks for; a session that does not logs in again (step-up).
pub fn session_fits(session: &Session, request: &AuthorizeRequest, now: Timestamp) -> bool {
    let young_enough = request.max_age.is_none_or(|max| {
        now.unix_millis() - session.auth_time.unix_millis() <= max.saturating_mul(1000)
    });
    let strong_enough =
        crate::assurance::level_of_acr(&session.acr) >= request.requirement.min_level;
    young_enough && strong_enough && !request.prompt_login
}

/// Whether a login at `session`'s level may answer `request`: below an essential
/// requirement it may not (`unmet_authentication_requirements`).
pub fn meets_requirement(session: &Session, request: &AuthorizeRequest) -> bool {
    !request.requirement.essential
        || crate::assurance::level_of_acr(&session.acr) >= request.requirement.min_level
}

/// The identifiers a relying party is told: of the person and of the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// `sub`: public for a first-party client, pairwise for a third-party one.
    pub sub: String,
    /// `sid`, pairwise alike.
    pub sid: String,
}

/// Records that `client` took part in `session` (for back-channel logout) and returns
/// the identifiers it is told about `subject` (the session's person, or the person a
/// relative signs in for); a pairwise subject is remembered for userinfo. None if the
/// session ended meanwhile.
pub async fn join_session(
    conn: &mut Conn,
    pairwise: &crate::pairwise::PairwiseKey,
    client: &Client,
    session: &Session,
    subject: SubjectId,
    delegation: Option<&str>,
) -> Result<Option<Participant>, StoreError> {
    // Locks the session row against a logout committing in between, which would then
    // queue its logout tokens without this client.
    let live = sqlx::query(
        "UPDATE sessions SET last_seen_at = last_seen_at WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(&session.id)
    .execute(&mut *conn)
    .await?;
    if live.rows_affected() != 1 {
        return Ok(None);
    }
    let subject = subject.to_string();
    let sub = client.subject_for(pairwise, &subject);
    // A relative's login for a person is a session of its own to the client: its
    // own `sid`, ended with the authority as well as with the relative's session.
    let sid = match delegation {
        Some(id) => client.sid_for(pairwise, &format!("{}:{id}", session.id)),
        None => client.sid_for(pairwise, &session.id),
    };
    if let Some(sector) = &client.sector {
        crate::pairwise::remember(conn, sector, &sub, &subject).await?;
    }
    let participant = crate::backchannel::Participation {
        session_id: &session.id,
        client_id: &client.id,
        sub: &sub,
        sid: &sid,
        delegation_id: delegation,
    };
    crate::backchannel::record_participant(conn, &participant).await?;
    Ok(Some(Participant { sub, sid }))
}

/// A live session as the account page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    /// Public id.
    pub id: String,
    /// When the person logged in.
    pub auth_time: Timestamp,
    /// Last use.
    pub last_seen_at: Timestamp,
    /// Methods (RFC 8176).
    pub amr: Vec<String>,
}

/// The live sessions of `subject`, most recent first.
pub async fn sessions_of(
    conn: &mut Conn,
    subject: SubjectId,
    now: Timestamp,
) -> Result<Vec<SessionSummary>, SsoError> {
    let t = now.unix_millis();
    let rows = sqlx::query(
        "SELECT id, auth_time, last_seen_at, amr FROM sessions WHERE subject_id = $1 \
         AND ended_at IS NULL AND expires_at > $2 AND last_seen_at > $3 ORDER BY last_seen_at DESC, id",
    )
    .bind(subject.to_string())
    .bind(t)
    .bind(t - SESSION_IDLE_MS)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let amr: String = r.try_get("amr")?;
            Ok(SessionSummary {
                id: r.try_get("id")?,
                auth_time: Timestamp::from_unix_millis(r.try_get("auth_time")?),
                last_seen_at: Timestamp::from_unix_millis(r.try_get("last_seen_at")?),
                amr: amr.split_whitespace().map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// Which of a person's live sessions to end.
pub(super) enum Ending<'a> {
    One(&'a str),
    AllBut(&'a str),
    All,
}

/// Ends the chosen live sessions of `subject`: each relying party that took part is
/// queued a logout token (back-channel logout) and the sessions' refresh tokens are
/// revoked, in the caller's transaction. Returns how many sessions ended.
pub(super) async fn end_sessions(
    conn: &mut Conn,
    subject: SubjectId,
    which: Ending<'_>,
    now: Timestamp,
) -> Result<u64, SsoError> {
    let live = "SELECT id FROM sessions WHERE subject_id = $1 AND ended_at IS NULL";
    let (sql, other) = match which {
        Ending::One(id) => (format!("{live} AND id = $2"), Some(id)),
        Ending::AllBut(id) => (format!("{live} AND id <> $2"), Some(id)),
        Ending::All => (live.to_owned(), None),
    };
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(subject.to_string());
    if let Some(other) = other {
        query = query.bind(other);
    }
    let ids: Vec<String> = query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
    for id in &ids {
        // Ending first takes the row lock a code redemption holds while it joins the
        // session, so the queue below sees every relying party that joined.
        let ended =
            sqlx::query("UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
                .bind(id)
                .bind(now.unix_millis())
                .execute(&mut *conn)
                .await?;
        if ended.rows_affected() == 1 {
            crate::backchannel::queue(conn, id, now).await?;
        }
        // A relative's tokens for someone else are the other person's subject's but
        // this session's: they end with it.
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE session_id = $1 \
             AND delegation_id IS NOT NULL AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now.unix_millis())
        .execute(&mut *conn)
        .await?;
    }
    // Refresh tokens of the ended sessions; ending all (or all but one) also takes
    // those that belong to no session.
    let revoke = match which {
        Ending::One(_) => {
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE subject_id = $1 \
             AND session_id = $3 AND revoked_at IS NULL"
        }
        Ending::AllBut(_) => {
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE subject_id = $1 \
             AND (session_id IS NULL OR session_id <> $3) AND revoked_at IS NULL"
        }
        Ending::All => {
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE subject_id = $1 AND revoked_at IS NULL"
        }
    };
    let mut query = sqlx::query(revoke)
        .bind(subject.to_string())
        .bind(now.unix_millis());
    if let Some(other) = other {
        query = query.bind(other);
    }
    query.execute(conn).await?;
    Ok(ids.len() as u64)
}

/// Ends session `session_id` of `subject` and revokes the refresh tokens issued in
/// it. False if there was no such live session of theirs.
pub async fn end_session(
    conn: &mut Conn,
    subject: SubjectId,
    session_id: &str,
    now: Timestamp,
) -> Result<bool, SsoError> {
    Ok(end_sessions(conn, subject, Ending::One(session_id), now).await? > 0)
}

/// Ends every session of `subject` but `keep` and revokes their refresh tokens
/// (after a password change). Returns how many sessions ended.
pub async fn end_other_sessions(
    conn: &mut Conn,
    subject: SubjectId,
    keep: &str,
    now: Timestamp,
) -> Result<u64, SsoError> {
    end_sessions(conn, subject, Ending::AllBut(keep), now).await
}

/// The CSRF token of the account page's forms: derived from the session cookie, which
/// only the person's browser holds (HttpOnly), so another site cannot know it.
pub fn session_csrf(cookie: &str) -> String {
    sha256_hex(&format!("tongban-account-form|{cookie}"))
}

/// Ends every session of `subject` and revokes all their refresh tokens ("sign out
/// everywhere", and after a password change or reset). Returns how many sessions
/// ended.
pub async fn end_all_sessions(
    conn: &mut Conn,
    subject: SubjectId,
    now: Timestamp,
) -> Result<u64, SsoError> {
    end_sessions(conn, subject, Ending::All, now).await
}
