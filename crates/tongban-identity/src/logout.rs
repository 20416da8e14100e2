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
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LogoutError(pub String);

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
        return Err(LogoutError(
            "client_id differs from the id_token_hint's audience".into(),
        ));
    }
    let redirect = match post_logout_redirect_uri {
        Some(uri) => {
            let client = client.ok_or_else(|| {
                LogoutError("a post_logout_redirect_uri needs id_token_hint or client_id".into())
            })?;
            if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Err(LogoutError(
                    "the post_logout_redirect_uri is not registered for this client".into(),
                ));
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
