//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): a relying party sends
//! the person to the end-session endpoint with an `id_token_hint`, and back to an exact
//! registered `post_logout_redirect_uri` with its `state`.

use crate::clients::Client;
use crate::tokens::IdTokenHint;

/// A validated logout request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutRequest {
    /// Where to send the browser afterwards (registered for the client, exactly).
    pub redirect: Option<String>,
    /// Returned with the redirect.
    pub state: Option<String>,
    /// The session the hint came from: logging it out needs no confirmation.
    pub hinted_session: Option<String>,
}

/// Why a logout request cannot be followed (shown as a page, never redirected).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogoutError {
    /// `client_id` and the hint's audience differ.
    #[error("client_id differs from the id_token_hint's audience")]
    ClientMismatch,
    /// A return address without a client to check it against.
    #[error("a post_logout_redirect_uri needs id_token_hint or client_id")]
    RedirectNeedsClient,
    /// The return address is not the client's.
    #[error("the post_logout_redirect_uri is not registered for this client")]
    UnregisteredRedirect,
    /// The `id_token_hint` does not verify (the reason goes to the log).
    #[error("the id_token_hint is invalid")]
    BadHint,
}

impl LogoutError {
    /// The message catalogue id of the sentence for people.
    pub fn message_id(self) -> &'static str {
        match self {
            Self::ClientMismatch => "reason-logout-client-mismatch",
            Self::RedirectNeedsClient => "reason-logout-redirect-needs-client",
            Self::UnregisteredRedirect => "reason-logout-unregistered-redirect",
            Self::BadHint => "reason-logout-bad-hint",
        }
    }
}

/// Checks a logout request. `client` is the one named by the hint's `aud` or by
/// `client_id`; the caller looked it up.
pub fn validate(
    hint: Option<&IdTokenHint>,
    client_id: Option<&str>,
    client: Option<&Client>,
    post_logout_redirect_uri: Option<&str>,
    state: Option<&str>,
) -> Result<LogoutRequest, LogoutError> {
    if let (Some(hint), Some(id)) = (hint, client_id)
        && hint.client_id != id
    {
        return Err(LogoutError::ClientMismatch);
    }
    let redirect = match post_logout_redirect_uri {
        Some(uri) => {
            let client = client.ok_or(LogoutError::RedirectNeedsClient)?;
            if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Err(LogoutError::UnregisteredRedirect);
            }
            Some(uri.to_owned())
        }
        None => None,
    };
    Ok(LogoutRequest {
        redirect,
        state: state.map(str::to_owned),
        hinted_session: hint.and_then(|h| h.session_id.clone()),
    })
}
