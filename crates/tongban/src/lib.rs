//! The `tongban` binary's library half: command line, start-up checks, logging, and the
//! server's life cycle (bind, serve, graceful shutdown). Tests start the same server
//! through [`server::start`].

#![forbid(unsafe_code)]

pub mod admin;
pub mod authority_expiry;
pub mod batch_worker;
pub mod cli;
pub mod form_post;
pub mod keys;
pub mod log_client;
pub mod log_monitor;
pub mod log_witness;
pub mod logging;
pub mod logout_delivery;
pub mod server;
pub mod signing_callbacks;
pub mod startup;
pub mod tally_writer;
