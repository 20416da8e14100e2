//! Setting up an authenticator app (TOTP) from the account page: a new secret to add to
//! the app, then a code from it that switches it on and shows the recovery codes once.
//! Replacing an authenticator needs a strong login (a passkey or the authenticator).

use tongban_core::time::Timestamp;
use tongban_store::{Store, StoreError};

use crate::passkeys::{self, PasskeyError};
use crate::sso::Session;
use crate::totp::{self, Enrolment, TotpError, TotpKey};

/// What confirming answers.
#[derive(Debug)]
pub enum Confirmed {
    /// Switched on: the recovery codes, to show once.
    RecoveryCodes(Vec<String>),
    /// A wrong code: the set-up under way, to show again.
    WrongCode(Enrolment),
    /// No set-up is under way.
    NotStarted,
}

/// Why a step could not be taken (the store or the random generator failed).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The authenticator's store failed.
    #[error(transparent)]
    Totp(#[from] TotpError),
    /// Reading the person's passkeys failed.
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Starts (or restarts) the set-up for the person of `session`: a fresh secret. None
/// when a password login alone tries to replace a strong credential.
pub async fn start(
    store: &Store,
    key: &TotpKey,
    session: &Session,
    now: Timestamp,
) -> Result<Option<Enrolment>, SetupError> {
    let mut tx = store.begin().await?;
    if !passkeys::may_manage_credentials(&mut tx, session).await? {
        return Ok(None);
    }
    let label = session.subject.to_string();
    let enrolment = totp::enrol(&mut tx, key, session.subject, &label, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Some(enrolment))
}

/// Switches the authenticator under set-up on with a `code` from it.
pub async fn confirm(
    store: &Store,
    key: &TotpKey,
    session: &Session,
    code: &str,
    now: Timestamp,
) -> Result<Confirmed, SetupError> {
    let mut tx = store.begin().await?;
    let confirmed = totp::confirm(&mut tx, key, session.subject, code, now).await;
    tx.commit().await.map_err(StoreError::from)?;
    match confirmed {
        Ok(codes) => Ok(Confirmed::RecoveryCodes(codes)),
        Err(TotpError::WrongCode | TotpError::NotEnrolled) => {
            let mut conn = store.conn().await?;
            let label = session.subject.to_string();
            Ok(
                match totp::pending(&mut conn, key, session.subject, &label).await? {
                    Some(enrolment) => Confirmed::WrongCode(enrolment),
                    None => Confirmed::NotStarted,
                },
            )
        }
        Err(error) => Err(error.into()),
    }
}
