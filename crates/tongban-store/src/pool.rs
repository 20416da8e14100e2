//! The connection pool over either engine, and the statistics `/metrics` shows.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor};
use tongban_core::config::{DatabaseConfig, redact_url as redact};

use crate::error::StoreError;

/// A transaction on either engine. Domain crates run their queries on `&mut *tx`.
pub type Tx = sqlx::Transaction<'static, Any>;

/// Which engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// SQLite, one file, WAL mode: the embedded default.
    Sqlite,
    /// PostgreSQL: shared by many instances.
    Postgres,
}

impl Engine {
    /// The engine's name as shown to operators.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgresql",
        }
    }

    fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }
}

/// Pool figures for `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoolStats {
    /// Open connections, idle or in use.
    pub size: u32,
    /// Idle connections.
    pub idle: usize,
    /// Configured upper bound.
    pub max: u32,
    /// Connections (or transactions) handed out so far.
    pub acquired: u64,
    /// Total time callers waited for them, in seconds.
    pub wait_seconds: f64,
    /// Times a caller gave up waiting.
    pub timeouts: u64,
}

#[derive(Default)]
struct Counters {
    acquired: AtomicU64,
    wait_micros: AtomicU64,
    timeouts: AtomicU64,
}

/// The database: a pool on one engine, with wait statistics.
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    options: AnyConnectOptions,
    connect_timeout: Duration,
    circuit: Arc<crate::circuit::Circuit>,
    max_connections: u32,
    counters: Arc<Counters>,
    tallies: Arc<crate::tallies::Pending>,
    changes: Arc<crate::changes::Changes>,
}

/// How long a connection may sit idle before it is pinged when taken.
const IDLE_PING: Duration = Duration::from_secs(1);

impl Store {
    /// Opens a pool on the configured database. For SQLite the file and its directory are
    /// created if missing. Does not migrate; see [`Store::migrate`].
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let engine = Engine::from_url(&config.url)?;
        let url = match engine {
            Engine::Sqlite => sqlite_url(&config.url)?,
            Engine::Postgres => config.url.clone(),
        };
        let options: AnyConnectOptions = url
            .parse::<AnyConnectOptions>()
            .map_err(|_| StoreError::UnsupportedUrl(redact(&config.url)))?
            // Statements are logged by our own spans; sqlx's own statement log would
            // print bound values, which may be personal data.
            .disable_statement_logging();
        let timeout = Duration::from_millis(config.timeout_ms);
        let busy_ms = config.timeout_ms;
        let max_connections = config.max_connections.max(1);
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .acquire_timeout(timeout)
            // A connection that died while the database was away is noticed and
            // replaced here, which is how the service recovers without a restart. Only
            // one idle a while is pinged: sqlx pings every connection it takes back
            // already, and a ping per acquire was a third of a short request's
            // round trips.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_PING {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // WAL lets readers run beside the one writer; busy_timeout makes a
                        // second writer wait instead of failing at once.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        // FULL: a commit survives power loss. Issuance and seal-use
                        // records must never vanish after we answered 201.
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "PRAGMA busy_timeout = {busy_ms}"
                        )))
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await?;
        Ok(Self {
            pool,
            engine,
            options,
            connect_timeout: timeout,
            circuit: Arc::default(),
            max_connections,
            counters: Arc::default(),
            tallies: Arc::default(),
            changes: Arc::new(crate::changes::Changes::new(engine)),
        })
    }

    /// Counts not yet written to `daily_tallies`.
    pub(crate) fn pending_tallies(&self) -> &crate::tallies::Pending {
        &self.tallies
    }

    /// The engine this store runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A pooled connection, for reads that need no transaction.
    pub async fn conn(&self) -> Result<PoolConnection<Any>, StoreError> {
        let started = Instant::now();
        let result = self.circuit.guard(self.pool.acquire()).await;
        self.count(started, result.is_ok());
        result
    }

    /// Begins a transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so two writers queue on `busy_timeout` instead of one failing with
    /// "database is locked" when it later upgrades a read lock.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let started = Instant::now();
        let result = match self.engine {
            Engine::Sqlite => {
                self.circuit
                    .guard(self.pool.begin_with("BEGIN IMMEDIATE"))
                    .await
            }
            Engine::Postgres => self.circuit.guard(self.pool.begin()).await,
        };
        self.count(started, result.is_ok());
        result
    }

    /// Watches a PostgreSQL database until the task is aborted, failing fast while it is
    /// away ([`crate::circuit`]); returns at once for SQLite.
    pub async fn watch_database(&self) {
        if self.engine == Engine::Postgres {
            let options = self.options.clone();
            self.circuit.watch(options, self.connect_timeout).await;
        }
    }

    /// What this instance hears of other instances' changes, and the caches it keeps
    /// fresh ([`crate::changes`]).
    pub fn changes(&self) -> &Arc<crate::changes::Changes> {
        &self.changes
    }

    /// Listens for other instances' changes on PostgreSQL until the task is aborted;
    /// returns at once for SQLite, whose caches are never used.
    pub async fn watch_changes(&self) {
        self.changes
            .watch(&self.options, self.connect_timeout)
            .await;
    }

    /// Whether the database failed its last check.
    pub fn is_down(&self) -> bool {
        self.circuit.is_open()
    }

    /// Runs `work` in one transaction ([`Store::begin`]), committed when it returns
    /// `Ok`; an error rolls all of it back.
    pub async fn transaction<T, E>(
        &self,
        work: impl AsyncFnOnce(&mut crate::Conn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut tx = self.begin().await?;
        let value = work(&mut tx).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(value)
    }

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.execute("SELECT 1").await?;
        Ok(())
    }

    /// Current pool figures.
    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle(),
            max: self.max_connections,
            acquired: self.counters.acquired.load(Ordering::Relaxed),
            wait_seconds: self.counters.wait_micros.load(Ordering::Relaxed) as f64 / 1e6,
            timeouts: self.counters.timeouts.load(Ordering::Relaxed),
        }
    }

    /// Closes the pool: waits for connections in use to come back, then closes all.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn count(&self, started: Instant, ok: bool) {
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.counters
            .wait_micros
            .fetch_add(micros, Ordering::Relaxed);
        if ok {
            self.counters.acquired.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// Makes sure the SQLite file's directory exists and that the file is created if
/// missing (`mode=rwc`).
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::UnsupportedUrl(
            "an in-memory SQLite database would lose everything at exit; name a file".into(),
        ));
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let query = if query.split('&').any(|p| p.starts_with("mode=")) {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        let dir = std::env::temp_dir().join(format!("tongban-url-{}", std::process::id()));
        let file = dir.join("a.db");
        let url = sqlite_url(&format!("sqlite://{}", file.display())).expect("url");
        assert!(url.ends_with("a.db?mode=rwc"), "{url}");
        assert!(dir.is_dir());
        std::fs::remove_dir_all(dir).ok();
        assert!(sqlite_url("sqlite::memory:").is_err());
    }
}
