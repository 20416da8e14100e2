//! Identity: subjects (natural persons, legal persons, department staff, agents),
//! credentials (argon2id passwords, WebAuthn passkeys, TOTP), throttling, sessions, and
//! the OpenID Connect provider's logic (authorize, token, userinfo, logout) — without
//! HTTP types, so the rules can be tested without a server.
//!
//! Built by the single sign-on issues; empty until then.

#![forbid(unsafe_code)]
