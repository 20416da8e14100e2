//! Who works in the console (`/console`) and what it shows them: staff see their
//! departments' work by their roles there; platform administrators (granted by the
//! operator) see the platform's. The console is a first-party page of the provider:
//! it runs on the person's own single sign-on session, so it ends with that session.
//! Every action still goes through the same domain functions and proofs as the API.

use serde_json::json;
use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::id::RequestId;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError, audit};

use crate::assurance::level_of_acr;
use crate::audit_trail::Reader;
use crate::caller::Admin;
use crate::sso::Session;
use crate::subjects::{self, Department, Role, SubjectError, SubjectId};

/// The level a platform administrator's sign-in needs to change anything (a passkey,
/// or a password with an authenticator, on a verified identity).
pub const ADMIN_LEVEL: u8 = 3;

/// Why the console turns someone away.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Neither staff of a department nor a platform administrator (or signed in for a
    /// company, as its agent).
    #[error("the console is for department staff and platform administrators")]
    NotStaff,
    /// The sign-in is below what the action needs.
    #[error("this needs a sign-in at level {0}")]
    Level(u8),
    /// The caller's roles do not cover the action.
    #[error("your roles do not cover this")]
    NotAllowed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SubjectError> for ConsoleError {
    fn from(error: SubjectError) -> Self {
        match error {
            SubjectError::Store(store) => Self::Store(store),
            other => Self::Store(StoreError::Corrupt(other.to_string())),
        }
    }
}

/// A department someone works in, and their roles there.
#[derive(Clone, Debug)]
pub struct Post {
    /// The department.
    pub department: Department,
    /// Their roles, in order.
    pub roles: Vec<Role>,
}

/// A console user: who they are, at which level they signed in, what they hold. Only
/// [`desk`] makes one from a session, since the proofs it gives ([`Desk::admin`],
/// [`Desk::staff_manager`]) rest on it.
#[derive(Clone, Debug)]
pub struct Desk {
    subject: SubjectId,
    name: String,
    level: u8,
    platform_admin: bool,
    posts: Vec<Post>,
}

/// The desk of the person signed in with `session`.
pub async fn desk(conn: &mut Conn, session: &Session) -> Result<Desk, ConsoleError> {
    if session.acting_for.is_some() {
        return Err(ConsoleError::NotStaff);
    }
    let subject = session.subject;
    let platform_admin = sqlx::query("SELECT 1 FROM platform_admins WHERE subject_id = $1")
        .bind(subject.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::from)?
        .is_some();
    let mine = subjects::departments_of(conn, subject).await?;
    let mut posts = Vec::new();
    if !mine.is_empty() {
        for department in subjects::list_departments(conn).await? {
            if mine.contains(&department.id) {
                let roles = subjects::roles_in(conn, subject, department.id).await?;
                posts.push(Post { department, roles });
            }
        }
    }
    if !platform_admin && posts.is_empty() {
        return Err(ConsoleError::NotStaff);
    }
    let name: String = sqlx::query("SELECT name FROM subjects WHERE id = $1")
        .bind(subject.to_string())
        .fetch_one(&mut *conn)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(StoreError::from)?;
    Ok(Desk {
        subject,
        name,
        level: level_of_acr(&session.acr),
        platform_admin,
        posts,
    })
}

impl Desk {
    /// A desk as the page fixtures need one, never built from a session.
    #[cfg(feature = "fixtures")]
    pub fn fixture(name: &str, level: u8, platform_admin: bool, posts: Vec<Post>) -> Self {
        Self {
            subject: SubjectId::new(),
            name: name.to_owned(),
            level,
            platform_admin,
            posts,
        }
    }

    /// The person.
    pub fn subject(&self) -> SubjectId {
        self.subject
    }

    /// Their name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The assurance level of the sign-in.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// Whether they administer the platform.
    pub fn is_platform_admin(&self) -> bool {
        self.platform_admin
    }

    /// Their departments with their roles there, by department name.
    pub fn posts(&self) -> &[Post] {
        &self.posts
    }

    /// Whether they hold `role` in any department.
    pub fn has_role(&self, role: Role) -> bool {
        self.posts.iter().any(|p| p.roles.contains(&role))
    }

    /// The departments whose seals they see (seal users, seal and department
    /// administrators there).
    pub fn seal_posts(&self) -> Vec<&Post> {
        self.posts
            .iter()
            .filter(|p| {
                p.roles
                    .iter()
                    .any(|r| matches!(r, Role::SealUser | Role::SealAdmin | Role::DeptAdmin))
            })
            .collect()
    }

    /// The departments whose certificates they work with (issuers and department
    /// administrators there).
    pub fn certificate_posts(&self) -> Vec<&Post> {
        self.posts
            .iter()
            .filter(|p| {
                p.roles
                    .iter()
                    .any(|r| matches!(r, Role::Issuer | Role::DeptAdmin))
            })
            .collect()
    }

    /// Whether they hold `role` in `department` (what a page offers; the domain checks
    /// again on each act).
    pub fn holds(&self, department: crate::subjects::DepartmentId, role: Role) -> bool {
        self.posts
            .iter()
            .any(|p| p.department.id == department && p.roles.contains(&role))
    }

    /// Whether they manage `department`'s seals (the domain checks again on each act).
    pub fn manages_seals_of(&self, department: crate::subjects::DepartmentId) -> bool {
        self.posts.iter().any(|p| {
            p.department.id == department
                && p.roles
                    .iter()
                    .any(|r| matches!(r, Role::SealAdmin | Role::DeptAdmin))
        })
    }

    /// What of the audit trail they read: all of it as a platform administrator, their
    /// departments' part as a department administrator, nothing otherwise.
    /// The whole trail holds people's matters, so a platform administrator reads it at
    /// [`ADMIN_LEVEL`]; below it, only what a department role of theirs gives.
    pub fn audit_reader(&self) -> Result<Reader, ConsoleError> {
        if self.platform_admin && self.level >= ADMIN_LEVEL {
            return Ok(Reader::everything());
        }
        let departments: Vec<_> = self
            .posts
            .iter()
            .filter(|p| p.roles.contains(&Role::DeptAdmin))
            .map(|p| p.department.id)
            .collect();
        if departments.is_empty() {
            return Err(if self.platform_admin {
                ConsoleError::Level(ADMIN_LEVEL)
            } else {
                ConsoleError::NotAllowed
            });
        }
        Ok(Reader::of_departments(departments))
    }

    /// The proof that they manage `department`'s staff: as a platform administrator,
    /// or as that department's administrator, signed in at [`ADMIN_LEVEL`] either way
    /// (a role given is a power given); `request_id` goes into the audit trail.
    pub fn staff_manager(
        &self,
        department: crate::subjects::DepartmentId,
        request_id: Option<RequestId>,
    ) -> Result<StaffManager, ConsoleError> {
        if !self.platform_admin && !self.holds(department, Role::DeptAdmin) {
            return Err(ConsoleError::NotAllowed);
        }
        if self.level < ADMIN_LEVEL {
            return Err(ConsoleError::Level(ADMIN_LEVEL));
        }
        Ok(StaffManager {
            admin: Admin::person(self.subject, request_id),
            subject: self.subject,
            only: (!self.platform_admin).then_some(department),
        })
    }

    /// The platform administration proof, for a platform administrator signed in at
    /// [`ADMIN_LEVEL`]; `request_id` goes into the audit trail.
    pub fn admin(&self, request_id: Option<RequestId>) -> Result<Admin, ConsoleError> {
        if !self.platform_admin {
            return Err(ConsoleError::NotAllowed);
        }
        if self.level < ADMIN_LEVEL {
            return Err(ConsoleError::Level(ADMIN_LEVEL));
        }
        Ok(Admin::person(self.subject, request_id))
    }
}

/// Proof that a person manages staff: a platform administrator's (every department),
/// or a department administrator's (theirs only). Only [`Desk::staff_manager`] makes
/// one; the staff functions of [`crate::admin`] check the department again.
#[derive(Clone, Debug)]
pub struct StaffManager {
    admin: Admin,
    subject: SubjectId,
    only: Option<crate::subjects::DepartmentId>,
}

impl StaffManager {
    /// The administration proof for `department`, if it is theirs to manage.
    pub(crate) fn of(
        &self,
        department: crate::subjects::DepartmentId,
    ) -> Result<&Admin, crate::admin::AdminError> {
        match self.only {
            Some(theirs) if theirs != department => Err(crate::admin::AdminError::OtherDepartment),
            _ => Ok(&self.admin),
        }
    }

    /// Whether `subject` is the manager as a department administrator (not as a
    /// platform administrator, who may change their own roles).
    pub(crate) fn is_department_self(&self, subject: SubjectId) -> bool {
        self.only.is_some() && self.subject == subject
    }

    /// Whether they manage as a department administrator (not the platform's).
    pub(crate) fn is_department_admin(&self) -> bool {
        self.only.is_some()
    }
}

/// Makes `person` a platform administrator (the operator's act: `by` names them, e.g.
/// `operator:cli`). Granting twice changes nothing.
pub async fn grant_platform_admin(
    conn: &mut Conn,
    person: SubjectId,
    by: &str,
    now: Timestamp,
) -> Result<bool, ConsoleError> {
    if subjects::kind_of(conn, person).await?.as_deref() != Some("natural") {
        return Err(ConsoleError::NotStaff);
    }
    let added = sqlx::query(
        "INSERT INTO platform_admins (subject_id, granted_at, granted_by) VALUES ($1, $2, $3) \
         ON CONFLICT (subject_id) DO NOTHING",
    )
    .bind(person.to_string())
    .bind(now.unix_millis())
    .bind(by)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from)?
    .rows_affected()
        == 1;
    if added {
        let event = AuditEvent::new(
            by,
            "platform_admin.granted",
            Some(&person.to_string()),
            None,
            json!({}),
        );
        audit::record(conn, &event).await?;
    }
    Ok(added)
}
