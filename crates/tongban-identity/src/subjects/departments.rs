//! Departments: a tree from province to town, each with its USCC.

use super::DepartmentId;
use crate::uscc::Uscc;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use super::{SubjectError, invalid, name_field, taken};

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
