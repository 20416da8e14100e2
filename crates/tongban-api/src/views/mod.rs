//! Server-rendered pages for people, one module per page or group of pages. Each page
//! is an askama template in `templates/` (HTML-escaped by default: no page is
//! assembled in Rust) filled from a view struct; every text comes from the message
//! catalogues ([`crate::i18n`]). Plain HTML that works without JavaScript, labelled
//! fields, errors announced to screen readers, one stylesheet from this origin and no
//! inline scripts or styles (the page CSP forbids them).

mod account;
mod certificate_verification;
pub mod console;
pub mod counter;
pub mod delegation;
mod errors;
pub mod esign;
mod layout;
mod login;
mod logout;
mod seal_verification;

#[cfg(test)]
mod tests;

pub use crate::prefs::{PREFS_COOKIE, Prefs};
pub use account::{AccountView, account, recovery_codes, totp_setup};
pub use certificate_verification::{
    Shared, certificate_report, certificate_status, refused, share_confirm, shared, sign_in_first,
};
pub use errors::{ErrorPage, error};
pub use login::{Notice, consent, login, second_factor};
pub use logout::{logout_confirm, signed_out};
pub use seal_verification::{VerifyError, verify_form, verify_report};
