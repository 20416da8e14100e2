//! Department staff and their roles.

use super::{DepartmentId, SubjectId};
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use super::persons::kind_of;
use super::{SubjectError, invalid, taken};

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
    /// Helps people in person at a service hall (窗口).
    Counter,
}

impl Role {
    /// Stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Issuer => "issuer",
            Self::SealUser => "seal-user",
            Self::SealAdmin => "seal-admin",
            Self::DeptAdmin => "dept-admin",
            Self::Counter => "counter",
        }
    }

    /// The value named `name` in the API.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Issuer,
            Self::SealUser,
            Self::SealAdmin,
            Self::DeptAdmin,
            Self::Counter,
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

/// Takes `role` from `subject` in `department`, or, with no role, ends their
/// membership there (all its roles with it). Roles are checked on every use, so the
/// change holds from the next request.
pub async fn remove_staff(
    conn: &mut Conn,
    subject: SubjectId,
    department: DepartmentId,
    role: Option<Role>,
) -> Result<(), SubjectError> {
    let (who, where_) = (subject.to_string(), department.to_string());
    if let Some(role) = role {
        let removed = sqlx::query(
            "DELETE FROM staff_roles WHERE subject_id = $1 AND department_id = $2 AND role = $3",
        )
        .bind(&who)
        .bind(&where_)
        .bind(role.name())
        .execute(&mut *conn)
        .await?;
        if removed.rows_affected() == 0 {
            return Err(SubjectError::NotFound("staff role"));
        }
        return Ok(());
    }
    sqlx::query("DELETE FROM staff_roles WHERE subject_id = $1 AND department_id = $2")
        .bind(&who)
        .bind(&where_)
        .execute(&mut *conn)
        .await?;
    let removed = sqlx::query("DELETE FROM staff WHERE subject_id = $1 AND department_id = $2")
        .bind(&who)
        .bind(&where_)
        .execute(&mut *conn)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(SubjectError::NotFound("staff member"));
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

/// A member of a department's staff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffMember {
    /// The person.
    pub subject: SubjectId,
    /// Their name.
    pub name: String,
    /// Their staff number in the department.
    pub staff_number: String,
    /// Their roles there, in order.
    pub roles: Vec<Role>,
}

/// The staff of `department`, by staff number.
pub async fn staff_of(
    conn: &mut Conn,
    department: DepartmentId,
) -> Result<Vec<StaffMember>, SubjectError> {
    let rows = sqlx::query(
        "SELECT s.subject_id, p.name, s.staff_number FROM staff s \
         JOIN subjects p ON p.id = s.subject_id WHERE s.department_id = $1 \
         ORDER BY s.staff_number, s.subject_id",
    )
    .bind(department.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut members = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: String = row.try_get(0)?;
        let subject: SubjectId = id
            .parse()
            .map_err(|_| SubjectError::Store(StoreError::Corrupt("subject id".into())))?;
        members.push(StaffMember {
            subject,
            name: row.try_get(1)?,
            staff_number: row.try_get(2)?,
            roles: roles_in(conn, subject, department).await?,
        });
    }
    Ok(members)
}

/// The departments where `subject` holds `role`, in id order.
pub async fn departments_with_role(
    conn: &mut Conn,
    subject: SubjectId,
    role: Role,
) -> Result<Vec<DepartmentId>, SubjectError> {
    let rows = sqlx::query(
        "SELECT department_id FROM staff_roles WHERE subject_id = $1 AND role = $2 \
         ORDER BY department_id",
    )
    .bind(subject.to_string())
    .bind(role.name())
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
