//! [`TestServer`]: the real router with the real middleware stack, started through
//! `tongban::server::start` on an ephemeral port over a [`TestDb`]; its configuration,
//! an HTTP client, and [`assert_problem`], which checks an RFC 9457 answer.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tongban_core::config::Config;

use super::{TestDb, repo_root};

/// A configuration for tests: ephemeral port, the given database, short database
/// timeouts so fault tests do not wait long (3 s: a fresh SQLite file's first fsync
/// can take over a second while CI's build output is still being written back), the
/// repository's dev keys.
pub fn test_config(database_url: &str) -> Config {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    config.database.url = database_url.to_owned();
    config.database.timeout_ms = 3_000;
    config.keys.dir = repo_root().join("keys-dev");
    config.http.shutdown_grace_secs = 5;
    config
}

/// The real application on an ephemeral port.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// HTTP client for it.
    pub client: reqwest::Client,
    running: Option<tongban::server::Running>,
    /// The test's database (dropped after the server).
    pub db: TestDb,
}

impl TestServer {
    /// A server over a fresh database with the test configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server over a fresh database, with the test configuration changed by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new().await;
        let mut config = test_config(&db.url);
        adjust(&mut config);
        Self::start_on(db, config).await
    }

    /// A server over `db` with `config`.
    pub async fn start_on(db: TestDb, config: Config) -> Self {
        let running = tongban::server::start(config).await.expect("server starts");
        Self {
            base: format!("http://{}", running.addr()),
            client: client(),
            running: Some(running),
            db,
        }
    }

    /// The server's PKI, to issue and revoke certificates in tests.
    pub fn pki(&self) -> &std::sync::Arc<tongban_crypto::pki::Pki> {
        self.running.as_ref().expect("running").pki()
    }

    /// The server's store, for checks below the HTTP surface.
    pub fn store(&self) -> &tongban_store::Store {
        self.running.as_ref().expect("running").store()
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    /// `POST path` with a raw body and content type.
    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// Stops the server gracefully and hands back its database, for a next start.
    pub async fn stop_keeping_db(mut self) -> TestDb {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("clean shutdown");
        }
        self.db
    }

    /// Stops the server gracefully.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("clean shutdown");
        }
    }
}

/// An HTTP client for tests (rustls with ring, no redirects followed).
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Asserts an RFC 9457 answer: the status, `application/problem+json`, the `type`
/// `urn:tongban:problem:{slug}`, a title, the same status in the body, and the request
/// id of the response header. Returns the body.
pub async fn assert_problem(response: reqwest::Response, status: u16, slug: &str) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status of {}",
        response.url()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .expect("content-type")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(
        body["type"],
        format!("urn:tongban:problem:{slug}"),
        "{body}"
    );
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert_eq!(
        body["request_id"].as_str().map(str::to_owned),
        request_id,
        "{body}"
    );
    body
}
