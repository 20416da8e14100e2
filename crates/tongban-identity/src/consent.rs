//! Consent: a person allows a third-party client some scopes, once; the decision is
//! stored, shown on the account page and can be withdrawn. First-party portals (the
//! government's own) need no consent.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use crate::sso::AuthorizeRequest;
use crate::subjects::SubjectId;

/// A consent as the account page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// The client.
    pub client_id: String,
    /// Its display name.
    pub client_name: String,
    /// Allowed scopes.
    pub scopes: Vec<String>,
    /// When it was (last) given.
    pub granted_at: Timestamp,
}

/// Whether `request` needs the person's consent first: never for a first-party
/// client; otherwise when asked (`prompt=consent`) or when a scope was not allowed
/// before.
pub async fn needed(
    conn: &mut Conn,
    subject: SubjectId,
    request: &AuthorizeRequest,
) -> Result<bool, StoreError> {
    if request.first_party {
        return Ok(false);
    }
    if request.prompt_consent {
        return Ok(true);
    }
    let row = sqlx::query("SELECT scopes FROM consents WHERE subject_id = $1 AND client_id = $2")
        .bind(subject.to_string())
        .bind(&request.client_id)
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(true) };
    let allowed: String = row.try_get(0)?;
    let allowed: Vec<&str> = allowed.split_whitespace().collect();
    Ok(request.scope.iter().any(|s| !allowed.contains(&s.as_str())))
}

/// Records that `subject` allows `request`'s client its requested scopes (added to
/// any allowed before).
pub async fn grant(
    conn: &mut Conn,
    subject: SubjectId,
    request: &AuthorizeRequest,
    now: Timestamp,
) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT scopes FROM consents WHERE subject_id = $1 AND client_id = $2")
        .bind(subject.to_string())
        .bind(&request.client_id)
        .fetch_optional(&mut *conn)
        .await?;
    let mut scopes: Vec<String> = match row {
        Some(r) => r
            .try_get::<String, _>(0)?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    };
    for scope in &request.scope {
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    sqlx::query(
        "INSERT INTO consents (subject_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (subject_id, client_id) DO UPDATE SET scopes = $3, granted_at = $4",
    )
    .bind(subject.to_string())
    .bind(&request.client_id)
    .bind(scopes.join(" "))
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The consents `subject` has given, newest first.
pub async fn of(conn: &mut Conn, subject: SubjectId) -> Result<Vec<Consent>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.client_id, k.name, c.scopes, c.granted_at FROM consents c \
         JOIN clients k ON k.id = c.client_id WHERE c.subject_id = $1 \
         ORDER BY c.granted_at DESC, c.client_id",
    )
    .bind(subject.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let scopes: String = r.try_get(2)?;
            Ok(Consent {
                client_id: r.try_get(0)?,
                client_name: r.try_get(1)?,
                scopes: scopes.split_whitespace().map(str::to_owned).collect(),
                granted_at: Timestamp::from_unix_millis(r.try_get(3)?),
            })
        })
        .collect()
}

/// Withdraws `subject`'s consent for `client_id` and revokes the refresh tokens that
/// client holds for them, so it loses access now, not when they expire. False if
/// there was no consent.
pub async fn withdraw(
    conn: &mut Conn,
    subject: SubjectId,
    client_id: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let removed = sqlx::query("DELETE FROM consents WHERE subject_id = $1 AND client_id = $2")
        .bind(subject.to_string())
        .bind(client_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $3 WHERE subject_id = $1 AND client_id = $2 \
         AND revoked_at IS NULL",
    )
    .bind(subject.to_string())
    .bind(client_id)
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(removed > 0)
}
