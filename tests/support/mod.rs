//! The test harness every end-to-end test uses, one module per concern:
//!
//! - [`database`]: [`TestDb`], a fresh database per test — a new SQLite file, or a new
//!   schema in the PostgreSQL database named by `TONGBAN_TEST_DATABASE_URL` — removed
//!   again when the test ends.
//! - [`server`]: [`TestServer`], the real router with the real middleware stack on an
//!   ephemeral port, its HTTP client, and [`assert_problem`] for RFC 9457 answers.
//! - [`binary`]: [`Binary`], the built `tongban` executable, for what only a process
//!   shows (exit codes, signals, start-up time).
//! - [`fault_proxy`]: [`FaultProxy`], a TCP proxy in front of PostgreSQL that can cut
//!   the database off.
//! - [`documents`]: PDFs to seal and verify.
//! - [`html`]: what a browser reads off a page or a response (cookies, form tokens,
//!   query parameters).
//! - [`logins`]: people, clients and their logins (passwords, authenticators, tokens).
//!
//! These are re-exported here (`support::TestServer`, `support::login_token`, …). The
//! worlds of the larger suites, each a server with the people and clients its tests
//! share, are used by path: [`sso_world`], [`seal_world`], [`ecert_world`],
//! [`esign_world`], and [`portal_logins`] for logins at portals for another person.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod binary;
pub mod database;
pub mod documents;
pub mod ecert_world;
pub mod esign_world;
pub mod fault_proxy;
pub mod html;
pub mod logins;
pub mod portal_logins;
pub mod seal_world;
pub mod server;
pub mod softhsm;
pub mod sso_world;

use std::path::{Path, PathBuf};

// Each test target uses a subset.
#[allow(unused_imports)]
pub use self::{
    binary::*, database::*, documents::*, fault_proxy::*, html::*, logins::*, server::*,
};

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
