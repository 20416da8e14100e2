//! Embedded migrations and the schema-version check.
//!
//! The schema version is the highest migration version applied (sqlx's
//! `_sqlx_migrations` table). A binary refuses a database whose version is newer than
//! the newest migration it carries: it would not know the meaning of what it finds.

use sqlx::Row;
use sqlx::migrate::Migrator;

use crate::error::StoreError;
use crate::pool::{Engine, Store};

static SQLITE: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("../../migrations/postgres");

/// The schema version of the database and of this binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Highest migration applied to the database; `None` for an empty database.
    pub database: Option<i64>,
    /// Highest migration this binary carries.
    pub binary: i64,
}

impl SchemaStatus {
    /// Whether the database is exactly at this binary's version.
    pub fn is_current(&self) -> bool {
        self.database == Some(self.binary)
    }
}

impl Store {
    fn migrator(&self) -> &'static Migrator {
        match self.engine() {
            Engine::Sqlite => &SQLITE,
            Engine::Postgres => &POSTGRES,
        }
    }

    /// Reads the schema version of the database.
    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let binary = self.migrator().iter().map(|m| m.version).max().unwrap_or(0);
        let mut conn = self.conn().await?;
        let exists_sql = match self.engine() {
            Engine::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Engine::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        let exists: i64 = sqlx::query(exists_sql)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        if exists == 0 {
            return Ok(SchemaStatus {
                database: None,
                binary,
            });
        }
        let row = sqlx::query("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&mut *conn)
            .await?;
        let database: Option<i64> = row.try_get(0)?;
        Ok(SchemaStatus { database, binary })
    }

    /// Applies the embedded migrations that the database lacks. Refuses a database
    /// migrated by a newer binary, with a message that says so.
    pub async fn migrate(&self) -> Result<SchemaStatus, StoreError> {
        let status = self.schema_status().await?;
        if let Some(database) = status.database
            && database > status.binary
        {
            return Err(StoreError::SchemaTooNew {
                database,
                binary: status.binary,
            });
        }
        self.migrator().run(self.pool()).await?;
        self.schema_status().await
    }
}
