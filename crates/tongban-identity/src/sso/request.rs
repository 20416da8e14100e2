//! Authorization requests: their parameters, validation against the client (exact
//! redirect URIs, PKCE S256, scopes, PAR), and why one is refused.

use crate::clients::Client;
use serde::{Deserialize, Serialize};

/// The raw query parameters of `/authorize` (or of a pushed request).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct AuthorizeParams {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The client.
    pub client_id: Option<String>,
    /// Must equal a registered URI exactly.
    pub redirect_uri: Option<String>,
    /// Space-separated; must include `openid`.
    pub scope: Option<String>,
    /// Returned as is.
    pub state: Option<String>,
    /// Put in the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// Must be `S256`.
    pub code_challenge_method: Option<String>,
    /// `none`, `login` or `consent`.
    pub prompt: Option<String>,
    /// Seconds since the last login that are acceptable.
    pub max_age: Option<String>,
    /// Pre-fills the login form.
    pub login_hint: Option<String>,
    /// Preferred page languages (BCP 47, space-separated).
    pub ui_locales: Option<String>,
    /// Requested assurance levels (voluntary).
    pub acr_values: Option<String>,
    /// Requested claims (OIDC Core §5.5), JSON; an essential `acr` forces a level.
    pub claims: Option<String>,
    /// A pushed request (RFC 9126), instead of the parameters above.
    pub request_uri: Option<String>,
    /// The thumbprint of the DPoP key the code is bound to (RFC 9449 §10).
    pub dpop_jkt: Option<String>,
}

/// A validated authorization request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    /// The client.
    pub client_id: String,
    /// The exact registered redirect URI.
    pub redirect_uri: String,
    /// Requested scopes the client is allowed.
    pub scope: Vec<String>,
    /// Returned as is.
    pub state: Option<String>,
    /// For the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// Force a fresh login.
    pub prompt_login: bool,
    /// Never show a page: fail with `login_required` instead.
    pub prompt_none: bool,
    /// Maximum age of the login, seconds.
    pub max_age: Option<i64>,
    /// Pre-fills the login form.
    pub login_hint: Option<String>,
    /// Ask for consent again even if it was given before.
    #[serde(default)]
    pub prompt_consent: bool,
    /// Preferred page languages.
    #[serde(default)]
    pub ui_locales: Option<String>,
    /// The client is a first-party portal (no consent page).
    #[serde(default)]
    pub first_party: bool,
    /// The assurance level the login must reach.
    #[serde(default)]
    pub requirement: crate::assurance::Requirement,
    /// The DPoP key the code is bound to: only a proof by it redeems the code.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// The client takes a relative's login for a person (it reads `act`).
    #[serde(default)]
    pub accepts_delegation: bool,
    /// Whom the person signs in as, once they chose (a relative may act for someone).
    #[serde(default)]
    pub acting: Option<ActAs>,
}

/// Whom a login at a portal is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActAs {
    /// The person at the keyboard.
    Myself,
    /// Another person, under the authority with this id.
    For(String),
}

impl AuthorizeRequest {
    /// The authority a login acts under, if it is for someone else.
    pub fn delegation(&self) -> Option<&str> {
        match &self.acting {
            Some(ActAs::For(id)) => Some(id),
            _ => None,
        }
    }
}

/// What a login flow returns to once the person has logged in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[expect(
    clippy::large_enum_variant,
    reason = "short-lived values, one per login page; boxing buys nothing"
)]
pub enum FlowTarget {
    /// A client's authorization request.
    Authorize(AuthorizeRequest),
    /// The account page (stored as JSON `null`).
    Account,
}

/// Why an authorization request is refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show an error page and never
    /// redirect (RFC 6749 §4.1.2.1).
    #[error("{0}")]
    Page(PageReason),
    /// Tell the client through its redirect URI.
    #[error("{error}: {description}")]
    Redirect {
        /// Where to send the error.
        redirect_uri: String,
        /// OAuth error code.
        error: &'static str,
        /// For the client's developer.
        description: String,
        /// The request's state.
        state: Option<String>,
    },
}

/// Why an authorization request gets an error page instead of a redirect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PageReason {
    /// No `client_id`.
    #[error("the request names no client (client_id)")]
    NoClient,
    /// The `client_id` is not registered.
    #[error("the client is not registered")]
    UnknownClient,
    /// No `redirect_uri`.
    #[error("the request has no redirect_uri")]
    NoRedirectUri,
    /// The `redirect_uri` is not one of the client's.
    #[error("the redirect_uri is not registered for this client")]
    UnregisteredRedirectUri,
    /// The pushed request's `request_uri` is unknown, expired or used.
    #[error("the request_uri is unknown, expired or used; start again at the service")]
    UnknownRequestUri,
}

impl PageReason {
    /// The message catalogue id of the sentence for people.
    pub fn message_id(self) -> &'static str {
        match self {
            Self::NoClient => "reason-no-client",
            Self::UnknownClient => "reason-unknown-client",
            Self::NoRedirectUri => "reason-no-redirect-uri",
            Self::UnregisteredRedirectUri => "reason-unregistered-redirect-uri",
            Self::UnknownRequestUri => "reason-unknown-request-uri",
        }
    }
}

/// Validates an authorization request for `client`, looked up by the caller (from a
/// cache, say); none if the client_id is not registered. `pushed` says the parameters
/// came from a pushed authorization request (RFC 9126), which some clients must use.
pub fn validate(
    client: Option<Client>,
    params: &AuthorizeParams,
    pushed: bool,
) -> Result<(Client, AuthorizeRequest), AuthorizeError> {
    let client = client.ok_or(AuthorizeError::Page(PageReason::UnknownClient))?;
    let redirect_uri = params
        .redirect_uri
        .as_deref()
        .ok_or(AuthorizeError::Page(PageReason::NoRedirectUri))?;
    if !client.allows_redirect(redirect_uri) {
        return Err(AuthorizeError::Page(PageReason::UnregisteredRedirectUri));
    }
    let fail = |error: &'static str, description: &str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        error,
        description: description.to_owned(),
        state: params.state.clone(),
    };
    if client.require_par && !pushed {
        return Err(fail(
            "invalid_request",
            "this client must push its authorization requests (PAR, RFC 9126)",
        ));
    }
    if params.response_type.as_deref() != Some("code") {
        return Err(fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    if !client.allows_grant("authorization_code") {
        return Err(fail(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        ));
    }
    let challenge = params
        .code_challenge
        .as_deref()
        .filter(|c| {
            c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .ok_or_else(|| {
            fail(
                "invalid_request",
                "PKCE is required: code_challenge (S256, 43 characters)",
            )
        })?;
    if params.code_challenge_method.as_deref() != Some("S256") {
        return Err(fail(
            "invalid_request",
            "code_challenge_method must be S256",
        ));
    }
    let scope: Vec<String> = params
        .scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !scope.iter().any(|s| s == "openid") {
        return Err(fail("invalid_scope", "scope must include openid"));
    }
    if let Some(extra) = scope
        .iter()
        .find(|s| *s != "openid" && !client.scopes.contains(s))
    {
        return Err(fail(
            "invalid_scope",
            &format!("this client may not request {extra}"),
        ));
    }
    let prompts: Vec<&str> = params
        .prompt
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return Err(fail("invalid_request", "prompt=none cannot be combined"));
    }
    let max_age = params
        .max_age
        .as_deref()
        .map(|m| m.parse::<i64>().ok().filter(|m| *m >= 0))
        .map(|m| m.ok_or_else(|| fail("invalid_request", "max_age must be a non-negative integer")))
        .transpose()?;
    let requirement = crate::assurance::requirement(
        params.acr_values.as_deref(),
        params.claims.as_deref(),
        client.min_level,
    )
    .map_err(|e| fail("invalid_request", &e.to_string()))?;
    if let Some(jkt) = &params.dpop_jkt
        && (jkt.len() != 43
            || !jkt
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        return Err(fail(
            "invalid_request",
            "dpop_jkt must be a base64url SHA-256 thumbprint",
        ));
    }
    let request = AuthorizeRequest {
        acting: None,
        accepts_delegation: client.accepts_delegation,
        dpop_jkt: params.dpop_jkt.clone(),
        requirement,
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        code_challenge: challenge.to_owned(),
        prompt_login: prompts.contains(&"login"),
        prompt_none: prompts.contains(&"none"),
        max_age,
        login_hint: params.login_hint.clone(),
        prompt_consent: prompts.contains(&"consent"),
        ui_locales: params.ui_locales.clone(),
        first_party: client.first_party,
    };
    Ok((client, request))
}
