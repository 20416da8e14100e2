//! The vocabulary every other Tongban crate shares: typed ids, UTC timestamps and the
//! clock, configuration types and their loading, and audit event types.
//!
//! Nothing here does I/O beyond reading the configuration file; nothing here knows about
//! HTTP, SQL or cryptography.

#![forbid(unsafe_code)]

pub mod audit;
pub mod config;
pub mod id;
pub mod spreadsheet;
pub mod time;

pub use time::{Clock, SystemClock, Timestamp};
