//! Subjects and the organisations they belong to: departments (province → city →
//! county → town), natural persons (resident ID number), legal persons (USCC), agents
//! (a natural person acting for a legal person) and department staff with roles. One
//! file each; the ids, the error and a person's profile are here.
//!
//! Inputs are validated here, and every refusal names the field at fault so the API
//! can answer with a problem that says which one.

mod agents;
mod departments;
mod persons;
mod staff;

pub use agents::*;
pub use departments::*;
pub use persons::*;
pub use staff::*;

use sqlx::Row;
use tongban_core::typed_id;
use tongban_store::{Conn, StoreError};

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
