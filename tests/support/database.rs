//! [`TestDb`]: a database of its own for each test — a new SQLite file in a temporary
//! directory, or, when `TONGBAN_TEST_DATABASE_URL` is set, a new schema in that
//! PostgreSQL database — removed again when the test ends, so tests run in parallel
//! and leave nothing behind.

use std::net::SocketAddr;
use std::path::PathBuf;

use sqlx::{Connection, Executor};

/// Environment variable naming the PostgreSQL database the suite may use.
pub const PG_ENV: &str = "TONGBAN_TEST_DATABASE_URL";

/// The PostgreSQL URL from the environment, if the suite runs on PostgreSQL.
pub fn postgres_url() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|v| !v.trim().is_empty())
}

/// A database of its own for one test.
pub struct TestDb {
    /// URL the server under test connects with.
    pub url: String,
    /// `sqlite` or `postgresql`.
    pub engine: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(PathBuf),
    Schema { admin_url: String, schema: String },
}

impl TestDb {
    /// A fresh SQLite file, or a fresh PostgreSQL schema when `TONGBAN_TEST_DATABASE_URL`
    /// is set.
    pub async fn new() -> Self {
        match postgres_url() {
            Some(admin_url) => Self::postgres(&admin_url).await,
            None => Self::sqlite(),
        }
    }

    /// A fresh SQLite file in its own temporary directory.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("tongban-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self {
            url: format!("sqlite://{}", dir.join("tongban.db").display()),
            engine: "sqlite",
            cleanup: Cleanup::Directory(dir),
        }
    }

    /// A fresh schema in the PostgreSQL database at `admin_url`; the server's connections
    /// see only it (`search_path`).
    pub async fn postgres(admin_url: &str) -> Self {
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect to TONGBAN_TEST_DATABASE_URL");
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await
            .expect("create test schema");
        conn.close().await.ok();
        Self {
            url: with_search_path(admin_url, &schema),
            engine: "postgresql",
            cleanup: Cleanup::Schema {
                admin_url: admin_url.to_owned(),
                schema,
            },
        }
    }

    /// The PostgreSQL schema of this database, if it is one.
    pub fn schema(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Schema { schema, .. } => Some(schema),
            Cleanup::Directory(_) => None,
        }
    }

    /// The same database reached through `host:port` instead (for [`FaultProxy`]).
    pub fn url_via(&self, addr: SocketAddr) -> String {
        let (scheme, rest) = self.url.split_once("://").expect("url has a scheme");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let userinfo = authority
            .rsplit_once('@')
            .map(|(u, _)| format!("{u}@"))
            .unwrap_or_default();
        format!("{scheme}://{userinfo}{addr}/{path}")
    }

    /// The host and port of a PostgreSQL URL.
    pub fn postgres_addr(&self) -> SocketAddr {
        let rest = self.url.split_once("://").expect("scheme").1;
        let authority = rest.split('/').next().expect("authority");
        let hostport = authority.rsplit('@').next().expect("host");
        let hostport = if hostport.contains(':') {
            hostport.to_owned()
        } else {
            format!("{hostport}:5432")
        };
        let hostport = hostport.replace("localhost", "127.0.0.1");
        hostport
            .parse()
            .expect("numeric host:port in TONGBAN_TEST_DATABASE_URL")
    }
}

/// The URL of `schema`; its connections name themselves after it, so that the schema's
/// drop can end them first.
fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}&application_name={schema}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { admin_url, schema } => {
                let admin_url = admin_url.clone();
                // A background task of a server this test dropped without stopping may
                // hold a transaction open in the test's runtime, which waits on this
                // drop: the schema's own connections are ended first, or the DROP
                // would wait for them forever.
                let end = format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = '{schema}' AND pid <> pg_backend_pid()"
                );
                let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                // Drop cannot await; a thread with its own runtime can, even while the
                // test's runtime is shutting down.
                let done = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    runtime.block_on(async move {
                        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                            let _ = conn.execute(sqlx::AssertSqlSafe(end)).await;
                            let _ = conn.execute(sqlx::AssertSqlSafe(sql)).await;
                            let _ = conn.close().await;
                        }
                    });
                });
                let _ = done.join();
            }
        }
    }
}
