//! Identity: subjects (natural persons, legal persons, department staff, agents),
//! credentials (argon2id passwords, WebAuthn passkeys, TOTP), throttling, sessions, and
//! the OpenID Connect provider's logic (authorize, token, userinfo, logout) — without
//! HTTP types, so the rules can be tested without a server.
//!
//! So far: the national identifier rules (GB 11643 resident ID numbers, GB 32100
//! unified social credit codes), subjects (departments, natural and legal persons,
//! agents, staff roles), password hashing and policy, and login throttling in the
//! database. The SSO issues build sessions and the OIDC provider on them.

#![forbid(unsafe_code)]

pub mod account;
pub mod acting;
pub mod admin;
pub mod assurance;
pub mod audit_trail;
pub mod authenticator_setup;
pub mod authorization;
pub mod backchannel;
pub mod caller;
pub mod client_auth;
pub mod client_lifecycle;
pub mod clients;
pub mod consent;
pub mod console;
pub mod counter;
pub mod delegation;
pub mod dpop;
pub mod identity_registry;
pub mod logout;
pub mod pairwise;
pub mod par;
pub mod passkey_approval;
pub mod passkeys;
pub mod password;
pub mod person_lifecycle;
pub mod refresh_tokens;
pub mod refusal;
pub mod resident_id;
pub mod secrets;
pub mod sign_in;
pub mod sso;
pub mod subjects;
pub mod throttle;
pub mod token_grants;
pub mod token_info;
pub mod tokens;
pub mod totp;
pub mod uscc;
