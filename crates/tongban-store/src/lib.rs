//! The one data layer for both engines: SQLite (embedded default, WAL) and PostgreSQL
//! (scale-out). Pools, embedded migrations, the schema-version check, transactions, and
//! the repositories shared by every domain crate.
//!
//! Queries are runtime-checked `sqlx` queries through `sqlx::Any`, written once with `$n`
//! placeholders and portable SQL; the two dialects differ only in `migrations/sqlite` and
//! `migrations/postgres`. Timestamps are `BIGINT` milliseconds since the Unix epoch (UTC),
//! ids are UUID text, flags are `INTEGER` 0/1 with a CHECK in both dialects
//! (`sqlx::Any` cannot decode a SQLite boolean). The whole test suite runs on both
//! engines.

#![forbid(unsafe_code)]

pub mod audit;
pub mod changes;
pub mod circuit;
mod error;
pub mod idempotency;
mod migrate;
pub mod pki;
mod pool;
pub mod rate_leases;
pub mod rows;
pub mod tallies;

pub use error::StoreError;
pub use migrate::SchemaStatus;
pub use pool::{Engine, PoolStats, Store, Tx};

/// A connection on either engine; a [`Tx`] dereferences to one, so repository
/// functions taking `&mut Conn` run inside or outside a transaction.
pub type Conn = sqlx::AnyConnection;
/// A connection taken from the pool (it dereferences to [`Conn`]).
pub type PooledConn = sqlx::pool::PoolConnection<sqlx::Any>;
