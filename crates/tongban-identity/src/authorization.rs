//! What the authorization endpoint answers (RFC 6749 §4.1, OpenID Connect Core §3.1.2,
//! pushed requests per RFC 9126 §4): given the request, the browser's session cookie
//! and the platform's policy — a code, an error sent back to the client, an error
//! page, the login form of a new flow, or the consent page. The HTTP layer only maps
//! the [`Outcome`]; the steps after a login or a consent decision end in the same
//! outcomes through [`Authorization::signed_in`] and [`Authorization::code`].

use tongban_core::time::Timestamp;
use tongban_store::{Conn, Store, StoreError};

use crate::acting::{self, authority_ended, in_flow};
use crate::clients::{self, ClientCache, ClientError};
use crate::delegation::{self, Delegation};
use crate::par::{self, ParError};
use crate::passkeys::{self, PasskeyError};
use crate::sso::{
    self, ActAs, AuthorizeError, AuthorizeParams, AuthorizeRequest, CodeKey, FlowTarget, LoginFlow,
    PageReason, PostedIn, Session, SsoError,
};

/// What the endpoint needs to decide.
pub struct Authorization<'a> {
    /// The database.
    pub store: &'a Store,
    /// Registered clients (cached: single sign-on at a portal needs no client query).
    pub clients: &'a ClientCache,
    /// Seals authorization codes.
    pub codes: &'a CodeKey,
    /// Staff reach portals only after a passkey login.
    pub staff_passkeys_required: bool,
}

/// The endpoint's answer.
#[derive(Debug)]
pub enum Outcome {
    /// Back to the client with a code.
    Code {
        /// The client's (verified) redirect URI.
        redirect_uri: String,
        /// The sealed authorization code.
        code: String,
        /// The client's `state`.
        state: Option<String>,
    },
    /// Back to the client with an OAuth error (RFC 6749 §4.1.2.1).
    Error {
        /// The client's (verified) redirect URI.
        redirect_uri: String,
        /// The OAuth error code.
        error: &'static str,
        /// For the client's developer.
        description: Option<String>,
        /// The client's `state`.
        state: Option<String>,
    },
    /// An error page: the client or its redirect URI cannot be trusted with a redirect.
    Page(PageReason),
    /// The login form of a new login flow.
    Login {
        /// The validated request the flow carries.
        request: AuthorizeRequest,
        /// The flow's cookie and the form's CSRF token.
        flow: LoginFlow,
    },
    /// The consent page of a third-party client's request.
    Consent {
        /// The validated request.
        request: AuthorizeRequest,
        /// The client's display name.
        client_name: String,
        /// The consent form's CSRF token.
        csrf_token: String,
        /// The cookie of a flow started for the decision (none when it goes on in the
        /// login flow the browser already has).
        new_flow_cookie: Option<String>,
    },
    /// A person who may act for others chooses whom this login is for.
    ChooseActor {
        /// The validated request.
        request: AuthorizeRequest,
        /// The client's display name.
        client_name: String,
        /// The authorities the person may sign in under.
        choices: Vec<Delegation>,
        /// The form's CSRF token.
        csrf_token: String,
        /// The cookie of a flow started for the choice (none when it goes on in the
        /// login flow the browser already has).
        new_flow_cookie: Option<String>,
    },
}

/// A flow the browser already has: its cookie and CSRF token.
#[derive(Clone, Copy, Debug)]
pub struct OpenFlow<'a> {
    /// The flow cookie.
    pub cookie: &'a str,
    /// The flow's CSRF token.
    pub csrf_token: &'a str,
}

impl Outcome {
    /// The OAuth error `error` for `request`'s client.
    pub fn error(
        request: &AuthorizeRequest,
        error: &'static str,
        description: Option<&str>,
    ) -> Self {
        Self::Error {
            redirect_uri: request.redirect_uri.clone(),
            error,
            description: description.map(str::to_owned),
            state: request.state.clone(),
        }
    }
}

/// Why the decision could not be made (the store or a key failed).
#[derive(Debug, thiserror::Error)]
pub enum AuthorizationError {
    /// Reading a client failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Reading a pushed request failed.
    #[error(transparent)]
    Par(#[from] ParError),
    /// Reading the session or starting a flow failed.
    #[error(transparent)]
    Sso(#[from] SsoError),
    /// Reading the passkey policy failed.
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Authorization<'_> {
    /// Decides what `/authorize` answers to `params` from a browser with
    /// `session_cookie`.
    pub async fn decide(
        &self,
        params: AuthorizeParams,
        session_cookie: Option<&str>,
        now: Timestamp,
    ) -> Result<Outcome, AuthorizationError> {
        let Some(client_id) = params.client_id.clone() else {
            return Ok(Outcome::Page(PageReason::NoClient));
        };
        let client = self.clients.find(&client_id).await?;
        let mut conn = self.store.conn().await?;
        // A pushed request replaces every other parameter.
        let (params, pushed) = match params.request_uri.as_deref() {
            Some(uri) => match par::take(&mut conn, uri, &client_id, now).await {
                Ok(pushed) => (pushed, true),
                Err(ParError::Unknown) => return Ok(Outcome::Page(PageReason::UnknownRequestUri)),
                Err(error) => return Err(error.into()),
            },
            None => (params, false),
        };
        let request = match sso::validate(client, &params, pushed) {
            Ok((_, request)) => request,
            Err(AuthorizeError::Page(reason)) => return Ok(Outcome::Page(reason)),
            Err(AuthorizeError::Redirect {
                redirect_uri,
                error,
                description,
                state,
            }) => {
                return Ok(Outcome::Error {
                    redirect_uri,
                    error,
                    description: Some(description),
                    state,
                });
            }
        };
        let session = match session_cookie {
            Some(cookie) => sso::session_from_cookie(&mut conn, cookie, now)
                .await?
                .filter(|s| sso::session_fits(s, &request, now)),
            None => None,
        };
        // A staff member's password session does not reach portals under the passkey
        // policy: they log in again, with a passkey.
        let session = match session {
            Some(s)
                if passkeys::policy_allows(&mut conn, self.staff_passkeys_required, &s).await? =>
            {
                Some(s)
            }
            _ => None,
        };
        match session {
            Some(session) => self.signed_in(&mut conn, request, &session, now).await,
            None if request.prompt_none => Ok(Outcome::error(&request, "login_required", None)),
            None => {
                let target = FlowTarget::Authorize(request.clone());
                let flow = sso::start_flow(&mut conn, &target, now).await?;
                Ok(Outcome::Login { request, flow })
            }
        }
    }

    /// With a signed-in session: a code at once, or first a page (in a new flow): whom
    /// the login is for, when the person may act for others; the consent page, when a
    /// third-party client asks for scopes not allowed before.
    pub async fn signed_in(
        &self,
        conn: &mut Conn,
        request: AuthorizeRequest,
        session: &Session,
        now: Timestamp,
    ) -> Result<Outcome, AuthorizationError> {
        self.next_step(conn, request, session, None, now).await
    }

    /// What a signed-in person meets next: the choice of whom they act for, the
    /// consent page, or the code. A page goes on in `flow` when the browser has one
    /// (its target then carries what was decided so far), else in a new flow.
    pub async fn next_step(
        &self,
        conn: &mut Conn,
        mut request: AuthorizeRequest,
        session: &Session,
        flow: Option<OpenFlow<'_>>,
        now: Timestamp,
    ) -> Result<Outcome, AuthorizationError> {
        if request.acting.is_none() {
            let may_choose =
                !request.prompt_none && request.accepts_delegation && session.acting_for.is_none();
            let choices = if may_choose {
                delegation::sign_in_choices(conn, session.subject, now).await?
            } else {
                Vec::new()
            };
            if !choices.is_empty() {
                let (csrf_token, new_flow_cookie) =
                    in_flow(conn, flow, &request, session, now).await?;
                let Some(client) = clients::find(conn, &request.client_id).await? else {
                    return Ok(Outcome::Page(PageReason::UnknownClient));
                };
                return Ok(Outcome::ChooseActor {
                    request,
                    client_name: client.name,
                    choices,
                    csrf_token,
                    new_flow_cookie,
                });
            }
            request.acting = Some(ActAs::Myself);
        }
        let Some(acting) = acting::resolve(conn, &mut request, session, now).await? else {
            return Ok(authority_ended(&request));
        };
        if !crate::consent::needed(conn, acting.subject, &request).await? {
            return self.code(conn, request, session, now).await;
        }
        if request.prompt_none {
            return Ok(Outcome::error(&request, "consent_required", None));
        }
        let (csrf_token, new_flow_cookie) = in_flow(conn, flow, &request, session, now).await?;
        consent_page(conn, request, csrf_token, new_flow_cookie).await
    }

    /// The code for `session`, if its login meets what the client requires and the
    /// authority it acts under (if any) is in force.
    pub async fn code(
        &self,
        conn: &mut Conn,
        mut request: AuthorizeRequest,
        session: &Session,
        now: Timestamp,
    ) -> Result<Outcome, AuthorizationError> {
        if !sso::meets_requirement(session, &request) {
            return Ok(Outcome::error(
                &request,
                "unmet_authentication_requirements",
                Some("the login did not reach the assurance level the client requires"),
            ));
        }
        let Some(acting) = acting::resolve(conn, &mut request, session, now).await? else {
            return Ok(authority_ended(&request));
        };
        // A relative's login for a person is as strong as the weaker of the two: their
        // login, and the person's verified identity.
        if acting.level(session) < request.requirement.min_level && request.requirement.essential {
            return Ok(Outcome::error(
                &request,
                "unmet_authentication_requirements",
                Some("a login for another person does not reach the level the client requires"),
            ));
        }
        let code = sso::issue_code(self.codes, &request, session, now)?;
        Ok(Outcome::Code {
            redirect_uri: request.redirect_uri,
            code,
            state: request.state,
        })
    }
}

impl Authorization<'_> {
    /// The person's decision on the consent page of the flow `posted` names: allowed
    /// (remembered, then a code) or denied (`access_denied` to the client). None when
    /// the flow or the session is gone.
    pub async fn consent_decision(
        &self,
        posted: PostedIn<'_>,
        session_cookie: Option<&str>,
        allow: bool,
        now: Timestamp,
    ) -> Result<Option<Outcome>, AuthorizationError> {
        let (Some(flow_cookie), Some(session_cookie)) = (posted.flow_cookie, session_cookie) else {
            return Ok(None);
        };
        let mut tx = self.store.begin().await?;
        let request = match sso::flow_request(&mut tx, flow_cookie, posted.csrf_token, now).await {
            Ok((FlowTarget::Authorize(request), _)) => request,
            Ok((FlowTarget::Account, _)) | Err(SsoError::Csrf | SsoError::FlowExpired) => {
                return Ok(None);
            }
            Err(error) => return Err(error.into()),
        };
        let Some(session) = sso::session_from_cookie(&mut tx, session_cookie, now).await? else {
            return Ok(None);
        };
        // Only the session the page was shown to answers it.
        if !sso::flow_bound_to(&mut tx, flow_cookie, &session.id).await? {
            return Ok(None);
        }
        sso::end_flow(&mut tx, flow_cookie).await?;
        let outcome = if allow {
            let mut request = request;
            match acting::resolve(&mut tx, &mut request, &session, now).await? {
                // A relative's consent for a person serves this login only: the person
                // decides what stays allowed.
                Some(acting) => {
                    match &acting.delegation {
                        Some(d) => {
                            let client = Some(request.client_id.as_str());
                            delegation::acts::record(&mut tx, d, "consent", client, now).await?;
                        }
                        None => {
                            crate::consent::grant(&mut tx, acting.subject, &request, now).await?
                        }
                    }
                    self.code(&mut tx, request, &session, now).await?
                }
                None => authority_ended(&request),
            }
        } else {
            let why = Some("the person did not allow access");
            Outcome::error(&request, "access_denied", why)
        };
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(outcome))
    }
}

/// The consent page of `request`, its form carrying `csrf_token`.
pub async fn consent_page(
    conn: &mut Conn,
    request: AuthorizeRequest,
    csrf_token: String,
    new_flow_cookie: Option<String>,
) -> Result<Outcome, AuthorizationError> {
    Ok(match clients::find(conn, &request.client_id).await? {
        Some(client) => Outcome::Consent {
            request,
            client_name: client.name,
            csrf_token,
            new_flow_cookie,
        },
        None => Outcome::Page(PageReason::UnknownClient),
    })
}
