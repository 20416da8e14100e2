//! Finding people and deactivating them, for platform administrators: a search by
//! name, e-mail, resident ID number (whole, or masked as `110105********002X`), in
//! pages; a deactivated person cannot sign in by any path (password, passkey, as staff
//! or agent) and is signed out everywhere, until reactivated. Their data stays. Every
//! change is audited.

use serde_json::json;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use crate::admin::{AdminError, record};
use crate::caller::Admin;
use crate::resident_id::ResidentId;
use crate::sso;
use crate::subjects::{SubjectError, SubjectId};

/// Most people on a page.
pub const MAX_PAGE: i64 = 100;

/// A person as administrators see them: never the whole ID number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonSummary {
    /// Subject id.
    pub id: SubjectId,
    /// Name.
    pub name: String,
    /// The ID number, masked.
    pub resident_id_masked: String,
    /// E-mail.
    pub email: Option<String>,
    /// Registered at.
    pub created_at: Timestamp,
    /// Deactivated at; none while active.
    pub deactivated_at: Option<Timestamp>,
}

/// A page of people and the cursor of the next (none on the last page).
#[derive(Clone, Debug)]
pub struct PersonPage {
    /// The people, oldest registration first.
    pub items: Vec<PersonSummary>,
    /// Pass as `after` for the next page.
    pub next: Option<String>,
}

fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// What `query` asks for, as a WHERE clause on `subjects` and its two parameters.
fn condition(query: &str) -> (&'static str, String, String) {
    let q = query.trim();
    let upper = q.to_uppercase();
    if let Ok(number) = upper.parse::<ResidentId>() {
        return (
            "resident_id = $1 AND $2 = ''",
            number.as_str().to_owned(),
            String::new(),
        );
    }
    // Masked: six digits, stars, the last four.
    let stars = upper.chars().filter(|c| *c == '*').count();
    // Byte slices below are on ASCII only.
    if stars > 0
        && upper.is_ascii()
        && upper.len() == 18
        && upper[..6].chars().all(|c| c.is_ascii_digit())
    {
        let (head, tail) = (&upper[..6], &upper[18 - 4..]);
        if !tail.contains('*') && upper[6..14].chars().all(|c| c == '*') {
            return (
                "resident_id LIKE $1 ESCAPE '\\' AND resident_id LIKE $2 ESCAPE '\\'",
                format!("{}%", like_escaped(head)),
                format!("%{}", like_escaped(tail)),
            );
        }
    }
    if q.contains('@') {
        return ("email = $1 AND $2 = ''", q.to_lowercase(), String::new());
    }
    (
        "name LIKE $1 ESCAPE '\\' AND $2 = ''",
        format!("%{}%", like_escaped(q)),
        String::new(),
    )
}

/// The natural persons matching `query` (empty: everyone), `limit` at a time after the
/// cursor `after`.
pub async fn search(
    conn: &mut Conn,
    _admin: &Admin,
    query: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<PersonPage, AdminError> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(SubjectError::Invalid {
            field: "limit",
            reason: format!("1 to {MAX_PAGE}"),
        }
        .into());
    }
    let (clause, first, second) = if query.trim().is_empty() {
        ("$1 = '' AND $2 = ''", String::new(), String::new())
    } else {
        condition(query)
    };
    let sql = format!(
        "SELECT id, name, resident_id, email, created_at, deactivated_at FROM subjects \
         WHERE kind = 'natural' AND {clause} AND id > $3 ORDER BY id LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(first)
        .bind(second)
        .bind(after.unwrap_or_default())
        .bind(limit + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(StoreError::from)?;
    let mut items = rows
        .iter()
        .map(summary)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|p| p.id.to_string())
    } else {
        None
    };
    Ok(PersonPage { items, next })
}

fn summary(r: &sqlx::any::AnyRow) -> Result<PersonSummary, StoreError> {
    let id: String = r.try_get("id")?;
    let number: String = r.try_get("resident_id")?;
    let masked = number
        .parse::<ResidentId>()
        .map(|n| n.masked())
        .unwrap_or_else(|_| "******************".into());
    Ok(PersonSummary {
        id: id
            .parse()
            .map_err(|_| StoreError::Corrupt("subject id".into()))?,
        name: r.try_get("name")?,
        resident_id_masked: masked,
        email: r.try_get("email")?,
        created_at: Timestamp::from_unix_millis(r.try_get("created_at")?),
        deactivated_at: r
            .try_get::<Option<i64>, _>("deactivated_at")?
            .map(Timestamp::from_unix_millis),
    })
}

/// The natural person `person`, as administrators see them.
pub async fn find(
    conn: &mut Conn,
    _admin: &Admin,
    person: SubjectId,
) -> Result<PersonSummary, AdminError> {
    let row = sqlx::query(
        "SELECT id, name, resident_id, email, created_at, deactivated_at FROM subjects \
         WHERE id = $1 AND kind = 'natural'",
    )
    .bind(person.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::from)?
    .ok_or(AdminError::Subject(SubjectError::NotFound("person")))?;
    Ok(summary(&row)?)
}

async fn exists(conn: &mut Conn, person: SubjectId) -> Result<(), AdminError> {
    let row = sqlx::query("SELECT 1 FROM subjects WHERE id = $1 AND kind = 'natural'")
        .bind(person.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::from)?;
    row.map(|_| ())
        .ok_or(AdminError::Subject(SubjectError::NotFound("person")))
}

/// Deactivates `person` (again: nothing more happens): no login by any path, every
/// session ended and every refresh token revoked. Access tokens already issued run out
/// within their 10 minutes.
pub async fn deactivate(
    conn: &mut Conn,
    admin: &Admin,
    person: SubjectId,
    now: Timestamp,
) -> Result<(), AdminError> {
    exists(conn, person).await?;
    // An administrator who locks themself out needs another one to get back in.
    if admin.actor() == format!("subject:{person}") {
        return Err(SubjectError::Invalid {
            field: "id",
            reason: "administrators cannot deactivate themselves".into(),
        }
        .into());
    }
    let changed = sqlx::query(
        "UPDATE subjects SET deactivated_at = $2 WHERE id = $1 AND deactivated_at IS NULL",
    )
    .bind(person.to_string())
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from)?;
    if changed.rows_affected() == 0 {
        return Ok(());
    }
    let ended = sso::end_all_sessions(conn, person, now).await?;
    let details = json!({ "sessions_ended": ended });
    record(
        conn,
        admin,
        "person.deactivated",
        &person.to_string(),
        details,
    )
    .await?;
    Ok(())
}

/// Reactivates `person`: they sign in again with the credentials they had.
pub async fn reactivate(
    conn: &mut Conn,
    admin: &Admin,
    person: SubjectId,
) -> Result<(), AdminError> {
    exists(conn, person).await?;
    let changed = sqlx::query(
        "UPDATE subjects SET deactivated_at = NULL WHERE id = $1 AND deactivated_at IS NOT NULL",
    )
    .bind(person.to_string())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from)?;
    if changed.rows_affected() == 1 {
        record(
            conn,
            admin,
            "person.reactivated",
            &person.to_string(),
            json!({}),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_a_number_a_masked_number_an_email_or_a_name() {
        assert_eq!(condition("11010519491231002x").1, "11010519491231002X");
        let masked = condition("110105********002X");
        assert_eq!((masked.1.as_str(), masked.2.as_str()), ("110105%", "%002X"));
        assert_eq!(condition("Zhang.San@Example.cn").1, "zhang.san@example.cn");
        assert_eq!(condition("张_三%").1, "%张\\_三\\%%");
        // Not ASCII: a name, never a byte slice through a character.
        assert_eq!(
            condition("a张张张张张**").0,
            "name LIKE $1 ESCAPE '\\' AND $2 = ''"
        );
    }
}
