//! Single sign-on: authorization requests, login flows with CSRF tokens, sessions, and
//! authorization codes (OpenID Connect Core §3.1 with the OAuth 2.0 Security BCP,
//! RFC 9700: exact redirect URIs, PKCE S256 for every client, single-use codes).
//!
//! Everything lives in the database so that any instance can continue what another
//! began; what reaches browsers (flow and session cookies, codes) is stored as SHA-256.
//! One file per part: the request, the login flow, the password login, sessions, codes.

mod codes;
mod flows;
mod login;
mod request;
mod sessions;

pub use codes::*;
pub use flows::*;
pub use login::*;
pub use request::*;
pub use sessions::*;

use crate::secrets::RngError;
use crate::subjects::SubjectId;
use crate::throttle::Throttled;
use tongban_store::StoreError;

/// How long a login page stays usable (each "more time" gives this again).
pub const FLOW_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// However often more time is asked for, a login page ends this long after it began.
pub const FLOW_LONGEST_MS: i64 = 2 * 60 * 60 * 1000;

/// How long a code may wait to be redeemed (RFC 6749 §4.1.2 recommends ≤ 10 min).
pub const CODE_LIFETIME_MS: i64 = 60 * 1000;

/// A session ends after this long without use…
pub const SESSION_IDLE_MS: i64 = 2 * 60 * 60 * 1000;

/// …and after this long in any case.
pub const SESSION_ABSOLUTE_MS: i64 = 12 * 60 * 60 * 1000;

/// A session's last use is written at most this often: the idle timeout needs no finer
/// clock, and SSO at many portals then costs no write each.
pub const SESSION_TOUCH_MS: i64 = 60 * 1000;

/// Why a login or SSO step failed.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The form's CSRF token does not belong to the flow in the cookie.
    #[error("the form expired or was not ours; start again")]
    Csrf,
    /// The login page is older than [`FLOW_LIFETIME_MS`].
    #[error("the login page expired; start again")]
    FlowExpired,
    /// Wrong identifier or password (the same answer for both).
    #[error("the ID number or password is wrong")]
    InvalidCredentials,
    /// The right one-time password from an administrator's reset: it opens no
    /// session, only the choice of the person's own password.
    #[error("choose your own password first")]
    MustChoosePassword(SubjectId),
    /// The right one-time password, after its lifetime: the reset must be asked again.
    #[error("this one-time password has expired; ask for a new one")]
    TemporaryPasswordExpired,
    /// Too many failures.
    #[error(transparent)]
    Throttled(#[from] Throttled),
    /// The random number generator failed.
    #[error(transparent)]
    Rng(#[from] RngError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SsoError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}
