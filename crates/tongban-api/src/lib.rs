//! The HTTP surface: axum routers, extractors, middleware, the one mapping of errors to
//! RFC 9457 problem+json, the OpenAPI document and the docs page.
//!
//! This crate only translates: a handler parses the request, calls one domain function,
//! and maps the result. Rules live in the domain crates; SQL and cryptography never
//! appear here.

#![forbid(unsafe_code)]

pub mod auth;
pub mod extract;
pub mod i18n;
pub mod limit;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod prefs;
pub mod problem;
pub mod request_scope;
mod routes;
mod state;
pub mod views;

pub use routes::{openapi, router};
pub use state::AppState;
