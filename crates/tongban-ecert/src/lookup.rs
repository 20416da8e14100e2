//! Department-to-department lookup: a department's staff or system finds a holder's
//! certificates, stating a purpose (用证事由). Every certificate returned is logged
//! as an access the holder sees.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_identity::subjects::DepartmentId;
use tongban_seal::permissions::Actor;
use tongban_store::Conn;

use crate::catalogue;
use crate::error::{EcertError, invalid};
use crate::holder;
use crate::identifier::Identifier;
use crate::permissions;
use crate::register::{self, Certificate};

/// Most certificates one lookup returns.
pub const MAX_RESULTS: i64 = 100;

async fn accessor(
    conn: &mut Conn,
    actor: &Actor,
    department: Option<DepartmentId>,
) -> Result<String, EcertError> {
    let department = permissions::lookup_department(conn, actor, department).await?;
    let (uscc, name) = catalogue::department(conn, department).await?;
    Ok(format!("{name} ({uscc}), {}", actor.label()))
}

fn purpose_of(purpose: &str) -> Result<String, EcertError> {
    let purpose = purpose.trim();
    if purpose.is_empty() || purpose.chars().count() > 500 {
        return Err(invalid(
            "purpose",
            "a lookup states its purpose (1 to 500 characters)",
        ));
    }
    Ok(purpose.to_owned())
}

async fn log_all(
    conn: &mut Conn,
    found: &[Certificate],
    accessor: &str,
    purpose: &str,
    now: Timestamp,
) -> Result<(), EcertError> {
    for certificate in found {
        holder::record_access(
            conn,
            &certificate.id,
            "lookup",
            None,
            accessor,
            purpose,
            now,
        )
        .await?;
    }
    Ok(())
}

/// The certificates of the holder with this resident ID number or USCC, optionally of
/// one type, newest first; looked up for `department` (see
/// [`permissions::lookup_department`]).
pub async fn by_holder(
    conn: &mut Conn,
    actor: &Actor,
    department: Option<DepartmentId>,
    holder_number: &str,
    type_code: Option<&str>,
    purpose: &str,
    now: Timestamp,
) -> Result<Vec<Certificate>, EcertError> {
    let accessor = accessor(conn, actor, department).await?;
    let purpose = purpose_of(purpose)?;
    let number = holder_number.trim().to_ascii_uppercase();
    let holder = sqlx::query("SELECT id FROM subjects WHERE resident_id = $1 OR uscc = $1")
        .bind(&number)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(holder) = holder else {
        return Ok(Vec::new());
    };
    let holder: String = holder.try_get(0)?;
    let rows = match type_code {
        Some(code) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{} WHERE e.holder_id = $1 AND t.code = $2 ORDER BY e.issued_at DESC LIMIT $3",
                register::SELECT
            )))
            .bind(&holder)
            .bind(code)
            .bind(MAX_RESULTS)
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{} WHERE e.holder_id = $1 ORDER BY e.issued_at DESC LIMIT $2",
                register::SELECT
            )))
            .bind(&holder)
            .bind(MAX_RESULTS)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let found = rows
        .iter()
        .map(register::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    log_all(conn, &found, &accessor, &purpose, now).await?;
    Ok(found)
}

/// The certificate with this identifier, looked up for `department`.
pub async fn by_identifier(
    conn: &mut Conn,
    actor: &Actor,
    department: Option<DepartmentId>,
    identifier: &Identifier,
    purpose: &str,
    now: Timestamp,
) -> Result<Certificate, EcertError> {
    let accessor = accessor(conn, actor, department).await?;
    let purpose = purpose_of(purpose)?;
    let found = register::find(conn, identifier).await?;
    log_all(conn, std::slice::from_ref(&found), &accessor, &purpose, now).await?;
    Ok(found)
}
