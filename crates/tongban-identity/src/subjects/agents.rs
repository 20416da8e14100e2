//! Agents: a natural person acting for a legal person, in a role.

use super::SubjectId;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use super::persons::kind_of;
use super::{SubjectError, invalid};

/// How an agent acts for a legal person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentRole {
    /// 法定代表人
    LegalRepresentative,
    /// 经办人
    Agent,
}

impl AgentRole {
    /// The value named `name` in the API.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::LegalRepresentative, Self::Agent]
            .into_iter()
            .find(|r| r.name() == name)
    }

    /// The name in the API.
    pub fn name(self) -> &'static str {
        match self {
            Self::LegalRepresentative => "legal-representative",
            Self::Agent => "agent",
        }
    }
}

/// Authorises natural person `agent` to act for legal person `company` from
/// `valid_from` until `valid_until` (open-ended if none).
pub async fn link_agent(
    conn: &mut Conn,
    agent: SubjectId,
    company: SubjectId,
    role: AgentRole,
    valid_from: Timestamp,
    valid_until: Option<Timestamp>,
) -> Result<(), SubjectError> {
    if kind_of(conn, agent).await?.as_deref() != Some("natural") {
        return Err(invalid("agent_id", "must be a natural person"));
    }
    if kind_of(conn, company).await?.as_deref() != Some("legal") {
        return Err(invalid("legal_person_id", "must be a legal person"));
    }
    if valid_until.is_some_and(|until| until <= valid_from) {
        return Err(invalid("valid_until", "must be after valid_from"));
    }
    sqlx::query(
        "INSERT INTO agent_links (natural_id, legal_id, role, valid_from, valid_until) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(agent.to_string())
    .bind(company.to_string())
    .bind(role.name())
    .bind(valid_from.unix_millis())
    .bind(valid_until.map(Timestamp::unix_millis))
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends `agent`'s link to `company` at `now` (the record stays, with its end).
pub async fn end_agent(
    conn: &mut Conn,
    agent: SubjectId,
    company: SubjectId,
    now: Timestamp,
) -> Result<(), SubjectError> {
    let ended = sqlx::query(
        "UPDATE agent_links SET valid_until = $3 WHERE natural_id = $1 AND legal_id = $2 \
         AND valid_from <= $3 AND (valid_until IS NULL OR valid_until > $3)",
    )
    .bind(agent.to_string())
    .bind(company.to_string())
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    if ended.rows_affected() == 0 {
        return Err(SubjectError::NotFound("agent link in force"));
    }
    Ok(())
}

/// The legal persons `agent` may act for at `at`.
pub async fn represented_by(
    conn: &mut Conn,
    agent: SubjectId,
    at: Timestamp,
) -> Result<Vec<SubjectId>, SubjectError> {
    let rows = sqlx::query(
        "SELECT legal_id FROM agent_links WHERE natural_id = $1 AND valid_from <= $2 \
         AND (valid_until IS NULL OR valid_until > $2) ORDER BY legal_id",
    )
    .bind(agent.to_string())
    .bind(at.unix_millis())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get(0)?;
            id.parse()
                .map_err(|_| SubjectError::Store(StoreError::Corrupt("subject id".into())))
        })
        .collect()
}
