//! Real-name assurance: the identity registry a natural person's name and resident ID
//! number are checked against. A deployment implements [`IdentityRegistry`] over the
//! population (or legal-person) database; development uses [`TableRegistry`], a table
//! imported from CSV.
//!
//! Assurance levels, as `acr` values: `urn:tongban:acr:1` self-asserted,
//! `urn:tongban:acr:2` name and ID number matched in the registry, `urn:tongban:acr:3`
//! phishing-resistant (passkey) on a matched identity (the strong-authentication issue).

use std::future::Future;
use std::pin::Pin;

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, Store, StoreError};

use crate::resident_id::ResidentId;
use crate::subjects::SubjectId;

/// The `acr` value of an assurance level.
pub fn acr(level: u8) -> String {
    format!("urn:tongban:acr:{level}")
}

/// A boxed future, so that registries can be used as trait objects.
pub type RegistryFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + 'a>>;

/// Answers whether a name and resident ID number belong together.
pub trait IdentityRegistry: Send + Sync {
    /// Whether the registry knows `resident_id` under `name`.
    fn matches<'a>(&'a self, name: &'a str, resident_id: &'a ResidentId) -> RegistryFuture<'a>;
}

/// The development registry: the `registry_entries` table.
#[derive(Clone)]
pub struct TableRegistry {
    store: Store,
}

impl TableRegistry {
    /// The registry in `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

impl IdentityRegistry for TableRegistry {
    fn matches<'a>(&'a self, name: &'a str, resident_id: &'a ResidentId) -> RegistryFuture<'a> {
        Box::pin(async move {
            let mut conn = self.store.conn().await?;
            let row = sqlx::query("SELECT name FROM registry_entries WHERE resident_id = $1")
                .bind(resident_id.as_str())
                .fetch_optional(&mut *conn)
                .await?;
            Ok(match row {
                Some(r) => r.try_get::<String, _>(0)?.trim() == name.trim(),
                None => false,
            })
        })
    }
}

/// Why a registry import was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A line is not `name,resident_id` with a valid number.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Imports `name,resident_id` lines (a header line `name,resident_id` is skipped);
/// all or nothing. Returns how many entries were written.
pub async fn import_csv(conn: &mut Conn, text: &str, now: Timestamp) -> Result<usize, ImportError> {
    let entries = csv_entries(text)?;
    import_entries(conn, &entries, now).await
}

/// The `(line, name, resident_id)` entries of `name,resident_id` lines.
fn csv_entries(text: &str) -> Result<Vec<(usize, &str, &str)>, ImportError> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || (index == 0 && line.eq_ignore_ascii_case("name,resident_id")) {
            continue;
        }
        let (name, id) = line.split_once(',').ok_or_else(|| ImportError::Line {
            line: index + 1,
            reason: "expected name,resident_id".into(),
        })?;
        entries.push((index + 1, name, id));
    }
    Ok(entries)
}

/// What importing one line would do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A number the registry does not hold yet.
    New,
    /// The number is held under another name, which the import replaces.
    Renamed {
        /// The name held now.
        from: String,
    },
    /// Held already, with this name.
    Unchanged,
    /// Not importable: why.
    Invalid(String),
}

/// One line of an import, as its preview shows it.
#[derive(Clone, Debug)]
pub struct PreviewLine {
    /// 1-based line number.
    pub line: usize,
    /// The name, trimmed.
    pub name: String,
    /// The number masked (`110105********002X`), or as typed when it is no number.
    pub resident_id: String,
    /// What importing it would do.
    pub outcome: Outcome,
}

/// A number that did not parse, masked like a good one: one wrong check character
/// does not make the rest any less someone's.
fn masked_as_typed(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// What importing `text` (`name,resident_id` lines) would do, line by line, without
/// writing anything. A line that is not `name,resident_id` is refused whole, as the
/// import itself refuses it.
pub async fn preview_csv(conn: &mut Conn, text: &str) -> Result<Vec<PreviewLine>, ImportError> {
    let mut lines = Vec::new();
    for (line, name, id) in csv_entries(text)? {
        let name = name.trim();
        let (resident_id, outcome) = match id.trim().parse::<ResidentId>() {
            Err(error) => (
                masked_as_typed(id),
                Outcome::Invalid(format!("resident_id: {error}")),
            ),
            Ok(number) if name.is_empty() => {
                (number.masked(), Outcome::Invalid("name is empty".into()))
            }
            Ok(number) => {
                let held: Option<String> =
                    sqlx::query_scalar("SELECT name FROM registry_entries WHERE resident_id = $1")
                        .bind(number.as_str())
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(StoreError::from)?;
                let outcome = match held {
                    None => Outcome::New,
                    Some(held) if held == name => Outcome::Unchanged,
                    Some(from) => Outcome::Renamed { from },
                };
                (number.masked(), outcome)
            }
        };
        lines.push(PreviewLine {
            line,
            name: name.to_owned(),
            resident_id,
            outcome,
        });
    }
    Ok(lines)
}

/// Imports `(position, name, resident_id)` entries, all or nothing; errors name the
/// position (a line or a list index).
pub async fn import_entries(
    conn: &mut Conn,
    entries: &[(usize, &str, &str)],
    now: Timestamp,
) -> Result<usize, ImportError> {
    let mut checked = Vec::with_capacity(entries.len());
    for (line, name, id) in entries {
        let fail = |reason: String| ImportError::Line {
            line: *line,
            reason,
        };
        let id: ResidentId = id
            .trim()
            .parse()
            .map_err(|e| fail(format!("resident_id: {e}")))?;
        if name.trim().is_empty() {
            return Err(fail("name is empty".into()));
        }
        checked.push((name.trim(), id));
    }
    for (name, id) in &checked {
        sqlx::query(
            "INSERT INTO registry_entries (resident_id, name, imported_at) VALUES ($1, $2, $3) \
             ON CONFLICT (resident_id) DO UPDATE SET name = $2, imported_at = $3",
        )
        .bind(id.as_str())
        .bind(*name)
        .bind(now.unix_millis())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from)?;
    }
    Ok(checked.len())
}

/// The assurance level of `subject` after a password login: 2 if the registry
/// confirms their name and ID number (remembered on the subject), else 1. Holds no
/// connection while the registry answers.
pub async fn assurance_after_login(
    store: &Store,
    registry: &dyn IdentityRegistry,
    subject: SubjectId,
) -> Result<u8, StoreError> {
    let row = {
        let mut conn = store.conn().await?;
        sqlx::query("SELECT name, resident_id FROM subjects WHERE id = $1 AND kind = 'natural'")
            .bind(subject.to_string())
            .fetch_optional(&mut *conn)
            .await?
    };
    let Some(row) = row else { return Ok(1) };
    let name: String = row.try_get("name")?;
    let resident_id: Option<String> = row.try_get("resident_id")?;
    let Some(resident_id) = resident_id.and_then(|id| id.parse::<ResidentId>().ok()) else {
        return Ok(1);
    };
    // No connection is held while the registry answers (it may be slow).
    let matched = registry.matches(&name, &resident_id).await?;
    let mut conn = store.conn().await?;
    if !matched {
        // Staff who saw the person's ID card at a counter verified them too.
        let seen =
            sqlx::query("SELECT 1 FROM in_person_verifications WHERE subject_id = $1 LIMIT 1")
                .bind(subject.to_string())
                .fetch_optional(&mut *conn)
                .await?;
        return Ok(if seen.is_some() { 2 } else { 1 });
    }
    sqlx::query("UPDATE subjects SET assurance = 2 WHERE id = $1 AND assurance < 2")
        .bind(subject.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(2)
}
