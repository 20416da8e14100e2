//! The test harness every end-to-end test uses.
//!
//! - [`TestDb`]: a fresh database per test — a new SQLite file in a temporary directory,
//!   or, when `TONGBAN_TEST_DATABASE_URL` is set, a new schema in that PostgreSQL
//!   database — removed again when the test ends, so tests run in parallel and leave
//!   nothing behind.
//! - [`TestServer`]: the real router with the real middleware stack, started through
//!   `tongban::server::start` on an ephemeral port over a [`TestDb`].
//! - [`Binary`]: the built `tongban` executable, for what only a process shows (exit
//!   codes, signals, start-up time).
//! - [`assert_problem`]: checks an RFC 9457 answer and returns its body.
//! - [`FaultProxy`]: a TCP proxy in front of PostgreSQL that can cut the database off.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use sqlx::{Connection, Executor};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tongban_core::config::Config;

/// Environment variable naming the PostgreSQL database the suite may use.
pub const PG_ENV: &str = "TONGBAN_TEST_DATABASE_URL";

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

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

fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { admin_url, schema } => {
                let admin_url = admin_url.clone();
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

/// The built `tongban` executable.
pub struct Binary;

impl Binary {
    /// Path of the executable cargo built for these tests.
    pub fn path() -> &'static str {
        env!("CARGO_BIN_EXE_tongban")
    }

    /// A command for it, run from the repository root with a clean `TONGBAN_*`
    /// environment.
    pub fn command() -> tokio::process::Command {
        let mut command = tokio::process::Command::new(Self::path());
        command.current_dir(repo_root()).kill_on_drop(true);
        for (key, _) in std::env::vars() {
            if key.starts_with("TONGBAN_") || key == "DATABASE_URL" {
                command.env_remove(key);
            }
        }
        command
    }
}

/// A TCP proxy to a database that a test can switch off: existing connections are cut
/// and new ones are refused until it is switched on again.
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    cut: broadcast::Sender<()>,
}

impl FaultProxy {
    /// Starts forwarding to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let down = Arc::new(AtomicBool::new(false));
        let (cut, _) = broadcast::channel(4);
        let (down_task, cut_task) = (down.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if down_task.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut_rx = cut_task.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.recv() => {}
                    }
                });
            }
        });
        Self { addr, down, cut }
    }

    /// Cuts every connection and refuses new ones.
    pub fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    /// Accepts connections again.
    pub fn come_back(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// A PDF of `pages` pages with a line of text each, padded to about `size` bytes with
/// an attached (unreferenced by pages) data stream; written by lopdf, not by us.
#[allow(dead_code)]
pub fn sample_pdf(pages: u32, size: usize) -> Vec<u8> {
    sample_pdf_in_streams(pages, size, 1)
}

/// A PDF like [`sample_pdf`] whose `size` filler bytes are split over `streams`
/// attachments (as a scanned document's pages are over its images).
#[allow(dead_code)]
pub fn sample_pdf_in_streams(pages: u32, size: usize, streams: usize) -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let mut kids = Vec::new();
    for n in 1..=pages {
        let text = format!("BT /F1 24 Tf 72 720 Td (Tongban test document, page {n}) Tj ET");
        let content = doc.add_object(Stream::new(dictionary! {}, text.into_bytes()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Contents" => content,
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        });
        kids.push(Object::Reference(page));
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => i64::from(pages),
        }),
    );
    let streams = streams.max(1);
    let mut names = Vec::new();
    for n in 0..streams {
        let filler: Vec<u8> = (0..size / streams)
            .map(|i| (i.wrapping_mul(7919).wrapping_add(n) % 251) as u8)
            .collect();
        let attachment = doc.add_object(Stream::new(
            dictionary! { "Type" => "EmbeddedFile" },
            filler,
        ));
        let name = format!("data-{n}.bin");
        names.push(Object::string_literal(name.clone()));
        names.push(
            dictionary! {
                "Type" => "Filespec", "F" => Object::string_literal(name),
                "EF" => dictionary! { "F" => attachment },
            }
            .into(),
        );
    }
    let catalog = doc.add_object(dictionary! {
        "Type" => "Catalog", "Pages" => pages_id,
        "Names" => dictionary! { "EmbeddedFiles" => dictionary! { "Names" => names } },
    });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("lopdf writes the sample");
    out
}

/// The value of cookie `name` that `response` sets.
#[allow(dead_code)]
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            v.split(';')
                .next()
                .unwrap()
                .split_once('=')
                .unwrap()
                .1
                .to_owned()
        })
}

/// The CSRF token of a page's form.
#[allow(dead_code)]
pub fn csrf_of(html: &str) -> String {
    let start =
        html.find("name=\"csrf_token\" value=\"").unwrap() + "name=\"csrf_token\" value=\"".len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Query parameter `name` of `url`.
#[allow(dead_code)]
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The TOTP code of base32 `secret` at the current time step plus `offset_steps`, as
/// an authenticator app computes it.
#[allow(dead_code)]
pub fn totp_now(secret: &str, offset_steps: i64) -> String {
    let mut bits = 0u64;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in secret.chars() {
        let value = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".find(c).unwrap() as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
        }
    }
    let step =
        tongban_identity::totp::step_of(tongban_core::time::Timestamp::now().unix_millis() / 1000)
            + offset_steps;
    format!(
        "{:06}",
        tongban_identity::totp::hotp(&bytes, step as u64, 6)
    )
}

/// The PKCE verifier test logins use.
pub const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Logs a person in at `portal` (authorization code with PKCE); returns their access token. With the base32
/// secret of their authenticator, the login passes its second factor too (level 3 on
/// a registry-verified identity, as sealing needs).
pub async fn login_token(
    server: &TestServer,
    portal: &(String, String),
    redirect_uri: &str,
    scope: &str,
    resident_id: &str,
    password: &str,
    totp_secret: Option<&str>,
) -> String {
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", portal.0.as_str()),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        (
            "code_challenge",
            &tongban_identity::secrets::s256_challenge(PKCE_VERIFIER),
        ),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let form = server.get(&format!("/authorize?{query}")).await;
    let (login, flow, csrf) = password_login(server, form, resident_id, password).await;
    let login = match totp_secret {
        None => login,
        Some(secret) => {
            assert_eq!(login.status(), 200, "the second-factor step");
            server
                .client
                .post(format!("{}/login/otp", server.base))
                .header("cookie", format!("__Host-tongban-flow={flow}"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("code", &totp_now(secret, 0)),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let code = query_param(login.headers()["location"].to_str().unwrap(), "code").unwrap();
    let tokens: Value = server
        .client
        .post(format!("{}/token", server.base))
        .basic_auth(&portal.0, Some(&portal.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", PKCE_VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// A client system's access token (client_credentials).
pub async fn client_token(server: &TestServer, id: &str, secret: &str) -> String {
    let tokens: Value = server
        .client
        .post(format!("{}/token", server.base))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// The TOTP key of the development KEK, as the test server uses.
pub fn dev_totp_key() -> tongban_identity::totp::TotpKey {
    let kek = std::fs::read_to_string(repo_root().join("keys-dev/kek")).unwrap();
    tongban_identity::totp::TotpKey::derive(
        &tongban_crypto::kek::Kek::from_base64(kek.trim()).unwrap(),
    )
}

/// Registers a person with a password. With `totp`, they are also registry-verified
/// and have a confirmed authenticator, so their logins reach level 3; its base32
/// secret is returned.
pub async fn person_with_login(
    tx: &mut tongban_store::Tx,
    resident_id: &str,
    password_hash: &str,
    totp: Option<&tongban_identity::totp::TotpKey>,
) -> (tongban_identity::subjects::SubjectId, Option<String>) {
    use tongban_identity::{identity_registry, sso, subjects, totp as otp};
    let now = tongban_core::time::Timestamp::now();
    let person = subjects::create_natural_person(
        tx,
        &subjects::NewNaturalPerson {
            name: "职员",
            resident_id,
            email: None,
            phone: None,
        },
        now,
    )
    .await
    .unwrap();
    sso::set_password_hash(tx, person, password_hash)
        .await
        .unwrap();
    let Some(key) = totp else {
        return (person, None);
    };
    identity_registry::import_csv(tx, &format!("职员,{resident_id}\n"), now)
        .await
        .unwrap();
    let enrolment = otp::enrol(tx, key, person, "staff", now).await.unwrap();
    otp::confirm(tx, key, person, &totp_now(&enrolment.secret, -1), now)
        .await
        .unwrap();
    (person, Some(enrolment.secret))
}

/// A valid resident ID number for each `i` (GB 11643: region, birth date, sequence,
/// check character).
pub fn resident_id(i: usize) -> String {
    let birth = time::Date::from_calendar_date(1970, time::Month::January, 1).unwrap()
        + time::Duration::days(i64::try_from(i / 999).unwrap());
    let base = format!(
        "110101{:04}{:02}{:02}{:03}",
        birth.year(),
        u8::from(birth.month()),
        birth.day(),
        i % 999 + 1
    );
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = base
        .chars()
        .zip(weights)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!(
        "{base}{}",
        "10X98765432".as_bytes()[(sum % 11) as usize] as char
    )
}

/// Posts the login form that `page` shows (its flow cookie and CSRF token) with a
/// password; returns the answer, the flow cookie and the CSRF token.
async fn password_login(
    server: &TestServer,
    page: reqwest::Response,
    identifier: &str,
    password: &str,
) -> (reqwest::Response, String, String) {
    let flow = set_cookie(&page, "__Host-tongban-flow").unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let login = server
        .client
        .post(format!("{}/login", server.base))
        .header("cookie", format!("__Host-tongban-flow={flow}"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("identifier", identifier),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (login, flow, csrf)
}

/// Signs in with a password through the account page; returns the session cookie
/// (`__Host-tongban-session=…`).
pub async fn account_session(server: &TestServer, identifier: &str, password: &str) -> String {
    let page = server.get("/account").await;
    let (login, _, _) = password_login(server, page, identifier, password).await;
    assert_eq!(login.status(), 303);
    format!(
        "__Host-tongban-session={}",
        set_cookie(&login, "__Host-tongban-session").unwrap()
    )
}
