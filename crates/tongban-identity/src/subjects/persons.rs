//! Natural persons (resident ID number) and legal persons (USCC), and finding one by
//! number and name.

use super::SubjectId;
use crate::resident_id::ResidentId;
use crate::uscc::Uscc;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use super::{SubjectError, invalid, name_field, taken};

/// A natural person to register.
#[derive(Clone, Debug)]
pub struct NewNaturalPerson<'a> {
    /// Full name.
    pub name: &'a str,
    /// Resident ID number (GB 11643).
    pub resident_id: &'a str,
    /// E-mail address, optional.
    pub email: Option<&'a str>,
    /// Phone number, optional: digits with an optional leading `+` (E.164 style).
    pub phone: Option<&'a str>,
}

/// Registers a natural person (assurance level 1 until matched against the registry).
pub async fn create_natural_person(
    conn: &mut Conn,
    person: &NewNaturalPerson<'_>,
    now: Timestamp,
) -> Result<SubjectId, SubjectError> {
    let name = name_field("name", person.name)?;
    let resident_id: ResidentId = person
        .resident_id
        .parse()
        .map_err(|e| invalid("resident_id", e))?;
    let email = person
        .email
        .map(|e| {
            let e = e.trim().to_lowercase();
            let plausible = e.len() <= 254
                && e.split_once('@')
                    .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
            if plausible {
                Ok(e)
            } else {
                Err(invalid("email", "is not an e-mail address"))
            }
        })
        .transpose()?;
    if taken(
        conn,
        "SELECT 1 FROM subjects WHERE resident_id = $1",
        resident_id.as_str(),
    )
    .await?
    {
        return Err(SubjectError::Taken {
            field: "resident_id",
        });
    }
    if let Some(email) = &email
        && taken(conn, "SELECT 1 FROM subjects WHERE email = $1", email).await?
    {
        return Err(SubjectError::Taken { field: "email" });
    }
    let phone = person
        .phone
        .map(|p| {
            let p = p.trim();
            let digits = p.strip_prefix('+').unwrap_or(p);
            if (5..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
                Ok(p.to_owned())
            } else {
                Err(invalid("phone", "digits only, with an optional leading +"))
            }
        })
        .transpose()?;
    let id = SubjectId::new();
    sqlx::query(
        "INSERT INTO subjects (id, kind, name, resident_id, email, phone, created_at) VALUES ($1, 'natural', $2, $3, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(&name)
    .bind(resident_id.as_str())
    .bind(email)
    .bind(phone)
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(id)
}

/// Registers a legal person.
pub async fn create_legal_person(
    conn: &mut Conn,
    name: &str,
    uscc: &str,
    now: Timestamp,
) -> Result<SubjectId, SubjectError> {
    let name = name_field("name", name)?;
    let uscc: Uscc = uscc.parse().map_err(|e| invalid("uscc", e))?;
    if taken(
        conn,
        "SELECT 1 FROM subjects WHERE uscc = $1",
        uscc.as_str(),
    )
    .await?
    {
        return Err(SubjectError::Taken { field: "uscc" });
    }
    let id = SubjectId::new();
    sqlx::query(
        "INSERT INTO subjects (id, kind, name, uscc, created_at) VALUES ($1, 'legal', $2, $3, $4)",
    )
    .bind(id.to_string())
    .bind(&name)
    .bind(uscc.as_str())
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(id)
}

/// Whether a person is natural (found by resident ID number) or legal (by USCC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonKind {
    /// 自然人.
    Natural,
    /// 法人.
    Legal,
}

impl PersonKind {
    fn name(self) -> &'static str {
        match self {
            Self::Natural => "natural",
            Self::Legal => "legal",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::Natural => "resident_id",
            Self::Legal => "uscc",
        }
    }

    /// The number in its canonical form, or why it is not one.
    pub fn number(self, number: &str) -> Result<String, SubjectError> {
        match self {
            Self::Natural => number
                .parse::<ResidentId>()
                .map(|r| r.as_str().to_owned())
                .map_err(|e| invalid("resident_id", e)),
            Self::Legal => number
                .parse::<Uscc>()
                .map(|u| u.as_str().to_owned())
                .map_err(|e| invalid("uscc", e)),
        }
    }
}

/// A person someone else (an issuing department) names: name and number.
#[derive(Clone, Copy, Debug)]
pub struct Named<'a> {
    /// Full name.
    pub name: &'a str,
    /// Resident ID number or USCC.
    pub number: &'a str,
}

/// A name as a subject's name is stored, or why it cannot be one.
pub fn check_name(field: &'static str, name: &str) -> Result<String, SubjectError> {
    name_field(field, name)
}

/// The registered persons of `kind` among `numbers` (canonical resident ID numbers or
/// USCCs): number → (subject, name). One query per few hundred numbers, for a batch.
pub async fn named_in(
    conn: &mut Conn,
    kind: PersonKind,
    numbers: &[String],
) -> Result<std::collections::HashMap<String, (SubjectId, String)>, SubjectError> {
    let column = kind.column();
    let mut found = std::collections::HashMap::new();
    for chunk in numbers.chunks(500) {
        let list = tongban_store::rows::Placeholders::on(conn).list(chunk.len());
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, name, {column} AS number FROM subjects WHERE {column} IN ({list})"
        )));
        for number in chunk {
            query = query.bind(number.clone());
        }
        for row in query.fetch_all(&mut *conn).await? {
            let id: String = row.try_get("id")?;
            let id = id
                .parse()
                .map_err(|_| StoreError::Corrupt("subject id".into()))?;
            found.insert(row.try_get("number")?, (id, row.try_get("name")?));
        }
    }
    Ok(found)
}

/// Registers, unverified, persons of `kind` that an issuer named, several per
/// statement (a batch of certificates names thousands). The caller has looked the
/// numbers up and passes only unregistered ones, each once; one registered meanwhile
/// fails the statement on the unique index, and the caller's transaction with it.
pub async fn create_named(
    conn: &mut Conn,
    kind: PersonKind,
    named: &[Named<'_>],
    now: Timestamp,
) -> Result<Vec<SubjectId>, SubjectError> {
    let mut rows = Vec::with_capacity(named.len());
    for person in named {
        rows.push((
            SubjectId::new(),
            name_field("name", person.name)?,
            kind.number(person.number)?,
        ));
    }
    let (kind_name, column) = (kind.name(), kind.column());
    for chunk in rows.chunks(200) {
        let mut placeholders = tongban_store::rows::Placeholders::on(conn);
        let values: Vec<String> = chunk
            .iter()
            .map(|_| {
                let id = placeholders.take();
                format!("({id}, '{kind_name}', {})", placeholders.list(3))
            })
            .collect();
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO subjects (id, kind, name, {column}, created_at) VALUES {}",
            values.join(", ")
        )));
        for (id, name, number) in chunk {
            query = query
                .bind(id.to_string())
                .bind(name.clone())
                .bind(number.clone())
                .bind(now.unix_millis());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(rows.into_iter().map(|(id, _, _)| id).collect())
}

/// The natural person with this resident ID number.
pub async fn find_by_resident_id(
    conn: &mut Conn,
    resident_id: &ResidentId,
) -> Result<Option<SubjectId>, SubjectError> {
    let row = sqlx::query("SELECT id FROM subjects WHERE resident_id = $1")
        .bind(resident_id.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        let id: String = r.try_get(0)?;
        id.parse()
            .map_err(|_| SubjectError::Store(StoreError::Corrupt("subject id".into())))
    })
    .transpose()
}

pub(crate) async fn kind_of(
    conn: &mut Conn,
    id: SubjectId,
) -> Result<Option<String>, SubjectError> {
    let row = sqlx::query("SELECT kind FROM subjects WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}
