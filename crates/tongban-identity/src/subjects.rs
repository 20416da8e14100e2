//! Subjects and the organisations they belong to: departments (province → city →
//! county → town), natural persons (resident ID number), legal persons (USCC), agents
//! (a natural person acting for a legal person) and department staff with roles.
//!
//! Inputs are validated here, and every refusal names the field at fault so the API
//! can answer with a problem that says which one.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_core::typed_id;
use tongban_store::{Conn, StoreError};

use crate::resident_id::ResidentId;
use crate::uscc::Uscc;

typed_id!(
    /// A natural or legal person.
    SubjectId
);
typed_id!(
    /// A government department.
    DepartmentId
);

/// Why a subject operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubjectError {
    /// A field's value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as named in the API.
        field: &'static str,
        /// What is wrong, for a person.
        reason: String,
    },
    /// Another record already has this unique value.
    #[error("{field}: already registered")]
    Taken {
        /// The field.
        field: &'static str,
    },
    /// A referenced record does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SubjectError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

fn invalid(field: &'static str, reason: impl ToString) -> SubjectError {
    SubjectError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

/// Levels of the administrative hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// 省
    Province,
    /// 市
    City,
    /// 县
    County,
    /// 乡镇
    Town,
}

impl Level {
    /// Stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Province => "province",
            Self::City => "city",
            Self::County => "county",
            Self::Town => "town",
        }
    }

    /// The value named `name` in the API.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Province, Self::City, Self::County, Self::Town]
            .into_iter()
            .find(|l| l.name() == name)
    }

    /// The level directly above; none for a province.
    pub fn parent(self) -> Option<Self> {
        match self {
            Self::Province => None,
            Self::City => Some(Self::Province),
            Self::County => Some(Self::City),
            Self::Town => Some(Self::County),
        }
    }
}

/// A department.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    /// Id.
    pub id: DepartmentId,
    /// The department above it; none for a province.
    pub parent_id: Option<DepartmentId>,
    /// Its level.
    pub level: Level,
    /// Its name.
    pub name: String,
    /// Its unified social credit code.
    pub uscc: Uscc,
}

fn name_field(field: &'static str, name: &str) -> Result<String, SubjectError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid(field, "must have 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

async fn taken(conn: &mut Conn, sql: &'static str, value: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query(sql)
        .bind(value)
        .fetch_optional(conn)
        .await?
        .is_some())
}

/// Creates a department under `parent` (which must be one level up; none for a
/// province).
pub async fn create_department(
    conn: &mut Conn,
    name: &str,
    uscc: &str,
    level: Level,
    parent: Option<DepartmentId>,
    now: Timestamp,
) -> Result<Department, SubjectError> {
    let name = name_field("name", name)?;
    let uscc: Uscc = uscc.parse().map_err(|e| invalid("uscc", e))?;
    let parent_level = match parent {
        Some(parent) => {
            let row = sqlx::query("SELECT level FROM departments WHERE id = $1")
                .bind(parent.to_string())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(SubjectError::NotFound("parent department"))?;
            let level: String = row.try_get(0)?;
            Level::parse(&level)
        }
        None => None,
    };
    if parent_level != level.parent() {
        return Err(invalid(
            "parent_id",
            format!(
                "a {} belongs directly under a {}",
                level.name(),
                level.parent().map_or("no parent", Level::name)
            ),
        ));
    }
    if taken(
        conn,
        "SELECT 1 FROM departments WHERE uscc = $1",
        uscc.as_str(),
    )
    .await?
    {
        return Err(SubjectError::Taken { field: "uscc" });
    }
    let department = Department {
        id: DepartmentId::new(),
        parent_id: parent,
        level,
        name,
        uscc,
    };
    sqlx::query(
        "INSERT INTO departments (id, parent_id, level, name, uscc, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(department.id.to_string())
    .bind(parent.map(|p| p.to_string()))
    .bind(level.name())
    .bind(&department.name)
    .bind(department.uscc.as_str())
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(department)
}

/// Every department, from the provinces down, by name within a level.
pub async fn list_departments(conn: &mut Conn) -> Result<Vec<Department>, SubjectError> {
    let rows = sqlx::query(
        "SELECT id, parent_id, level, name, uscc FROM departments \
         ORDER BY CASE level WHEN 'province' THEN 0 WHEN 'city' THEN 1 WHEN 'county' THEN 2 ELSE 3 END, name, id",
    )
    .fetch_all(conn)
    .await?;
    let corrupt = |what: &str| SubjectError::Store(StoreError::Corrupt(what.to_owned()));
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let parent: Option<String> = r.try_get("parent_id")?;
            let level: String = r.try_get("level")?;
            let uscc: String = r.try_get("uscc")?;
            Ok(Department {
                id: id.parse().map_err(|_| corrupt("department id"))?,
                parent_id: parent
                    .map(|p| p.parse())
                    .transpose()
                    .map_err(|_| corrupt("department id"))?,
                level: Level::parse(&level).ok_or_else(|| corrupt("department level"))?,
                name: r.try_get("name")?,
                uscc: uscc.parse().map_err(|_| corrupt("department uscc"))?,
            })
        })
        .collect()
}

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

async fn kind_of(conn: &mut Conn, id: SubjectId) -> Result<Option<String>, SubjectError> {
    let row = sqlx::query("SELECT kind FROM subjects WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
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

/// What a staff member may do in a department.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Issues e-certificates.
    Issuer,
    /// Applies seals granted to them.
    SealUser,
    /// Manages the department's seals and grants.
    SealAdmin,
    /// Manages the department's staff.
    DeptAdmin,
}

impl Role {
    /// Stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Issuer => "issuer",
            Self::SealUser => "seal-user",
            Self::SealAdmin => "seal-admin",
            Self::DeptAdmin => "dept-admin",
        }
    }

    /// The value named `name` in the API.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Issuer,
            Self::SealUser,
            Self::SealAdmin,
            Self::DeptAdmin,
        ]
        .into_iter()
        .find(|r| r.name() == name)
    }
}

/// Makes natural person `subject` a member of `department` with `roles`.
pub async fn add_staff(
    conn: &mut Conn,
    subject: SubjectId,
    department: DepartmentId,
    staff_number: &str,
    roles: &[Role],
    now: Timestamp,
) -> Result<(), SubjectError> {
    let staff_number = staff_number.trim();
    if staff_number.is_empty() || staff_number.len() > 64 {
        return Err(invalid("staff_number", "must have 1 to 64 characters"));
    }
    if kind_of(conn, subject).await?.as_deref() != Some("natural") {
        return Err(invalid("subject_id", "must be a natural person"));
    }
    let department_exists = taken(
        conn,
        "SELECT 1 FROM departments WHERE id = $1",
        &department.to_string(),
    )
    .await?;
    if !department_exists {
        return Err(SubjectError::NotFound("department"));
    }
    sqlx::query("INSERT INTO staff (subject_id, department_id, staff_number, created_at) VALUES ($1, $2, $3, $4)")
        .bind(subject.to_string())
        .bind(department.to_string())
        .bind(staff_number)
        .bind(now.unix_millis())
        .execute(&mut *conn)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => SubjectError::Taken { field: "staff_number" },
            other => other.into(),
        })?;
    for role in roles {
        sqlx::query(
            "INSERT INTO staff_roles (subject_id, department_id, role) VALUES ($1, $2, $3)",
        )
        .bind(subject.to_string())
        .bind(department.to_string())
        .bind(role.name())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The roles `subject` holds in `department` (none if not a member). Authorisation
/// checks in the domain crates call this.
pub async fn roles_in(
    conn: &mut Conn,
    subject: SubjectId,
    department: DepartmentId,
) -> Result<Vec<Role>, SubjectError> {
    let rows = sqlx::query(
        "SELECT role FROM staff_roles WHERE subject_id = $1 AND department_id = $2 ORDER BY role",
    )
    .bind(subject.to_string())
    .bind(department.to_string())
    .fetch_all(conn)
    .await?;
    let mut roles = rows
        .iter()
        .map(|r| {
            let name: String = r.try_get(0)?;
            Role::parse(&name).ok_or(SubjectError::Store(StoreError::Corrupt(format!(
                "role {name}"
            ))))
        })
        .collect::<Result<Vec<_>, _>>()?;
    roles.sort();
    Ok(roles)
}

/// The departments `subject` works in, in id order.
pub async fn departments_of(
    conn: &mut Conn,
    subject: SubjectId,
) -> Result<Vec<DepartmentId>, SubjectError> {
    let rows =
        sqlx::query("SELECT department_id FROM staff WHERE subject_id = $1 ORDER BY department_id")
            .bind(subject.to_string())
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get(0)?;
            id.parse()
                .map_err(|_| SubjectError::Store(StoreError::Corrupt("department id".into())))
        })
        .collect()
}

/// What a natural or legal person shows to relying parties, by scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Display name (`profile`).
    pub name: String,
    /// E-mail (`email`).
    pub email: Option<String>,
    /// Phone number (`phone`).
    pub phone: Option<String>,
    /// Resident ID number (`tongban:identity` only).
    pub resident_id: Option<String>,
    /// Unified social credit code of a legal person (`tongban:identity` only).
    pub uscc: Option<String>,
    /// Assurance level.
    pub assurance: i64,
}

/// The profile of subject `id`.
pub async fn profile_of(conn: &mut Conn, id: &str) -> Result<Option<Profile>, SubjectError> {
    let row = sqlx::query(
        "SELECT name, email, phone, resident_id, uscc, assurance FROM subjects WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Profile {
            name: r.try_get("name")?,
            email: r.try_get("email")?,
            phone: r.try_get("phone")?,
            resident_id: r.try_get("resident_id")?,
            uscc: r.try_get("uscc")?,
            assurance: r.try_get("assurance")?,
        })
    })
    .transpose()
}
