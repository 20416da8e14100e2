//! What can go wrong in the store, in terms callers can act on.

/// An error from the data layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is too busy right now; retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The database failed its last check (`circuit`): refused at once, without asking.
    #[error("database unreachable: it failed its last check")]
    Down,
    /// The database URL names no engine we support, or cannot be parsed.
    #[error("unsupported database URL (expected sqlite://… or postgres://…): {0}")]
    UnsupportedUrl(String),
    /// The database was migrated by a newer `tongban` than this one.
    #[error(
        "database schema version {database} is newer than this binary supports \
         ({binary}); run the newer tongban, or restore a backup taken before the upgrade"
    )]
    SchemaTooNew {
        /// Highest version applied to the database.
        database: i64,
        /// Highest version this binary carries.
        binary: i64,
    },
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A uniqueness or foreign-key constraint refused the write.
    #[error("constraint violated: {0}")]
    Conflict(String),
    /// A stored value could not be read back as its type (corrupt or foreign data).
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    /// Any other database error: a bug or an operator problem, not the caller's.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Creating the SQLite directory failed.
    #[error("cannot create database directory {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the caller may retry later with a fair chance of success.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Down)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        classify(error)
    }
}

/// Sorts a driver error into "try again later", "refused by a constraint" and the rest.
fn classify(error: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match &error {
        E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => {
            StoreError::Unavailable(error)
        }
        E::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let postgres = db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some();
            let unavailable = if postgres {
                is_unavailable_sqlstate(&code)
            } else {
                is_unavailable_sqlite(&code)
            };
            if unavailable {
                return StoreError::Unavailable(error);
            }
            if db.is_unique_violation() || db.is_foreign_key_violation() || db.is_check_violation()
            {
                return StoreError::Conflict(db.message().to_owned());
            }
            StoreError::Database(error)
        }
        E::Protocol(_) => StoreError::Unavailable(error),
        E::ColumnDecode { .. } | E::Decode(_) => StoreError::Corrupt(error.to_string()),
        _ => StoreError::Database(error),
    }
}

/// SQLite: BUSY (5), LOCKED (6), IOERR (10), FULL (13), CANTOPEN (14) — the file is
/// locked by someone else or the storage under it failed — and their extended codes,
/// which keep the primary code in the low byte.
fn is_unavailable_sqlite(code: &str) -> bool {
    code.parse::<i64>()
        .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 10 | 13 | 14))
}

/// PostgreSQL SQLSTATE: class 08 (connection exception), class 53 (insufficient
/// resources), 40001/40P01 (serialization failure, deadlock: retrying succeeds),
/// 57014 (statement timeout), 57P01–57P03 (admin shutdown, crash shutdown, cannot
/// connect now).
fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "40001" | "40P01" | "57014" | "57P01" | "57P02" | "57P03"
        )
}

#[cfg(test)]
mod tests {
    use super::{is_unavailable_sqlite, is_unavailable_sqlstate};

    #[test]
    fn unavailable_codes() {
        assert!(is_unavailable_sqlite("5"));
        assert!(is_unavailable_sqlite("517")); // SQLITE_BUSY_SNAPSHOT
        assert!(is_unavailable_sqlite("6"));
        assert!(!is_unavailable_sqlite("19")); // SQLITE_CONSTRAINT
        assert!(!is_unavailable_sqlite("2067")); // SQLITE_CONSTRAINT_UNIQUE
        assert!(is_unavailable_sqlstate("08006"));
        assert!(is_unavailable_sqlstate("57P01"));
        assert!(is_unavailable_sqlstate("53300"));
        assert!(!is_unavailable_sqlstate("23505"));
    }
}
