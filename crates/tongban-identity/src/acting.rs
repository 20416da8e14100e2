//! Whom a login at a portal is for: the person at the keyboard, or a person whose
//! authority they hold (亲友代办). The choice is made on a page of the login's flow and
//! checked again at every later step, since an authority can end at any moment.

use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use crate::authorization::{Authorization, AuthorizationError, OpenFlow, Outcome};
use crate::delegation::{self, Delegation, Matter};
use crate::sso::{self, ActAs, AuthorizeRequest, FlowTarget, PostedIn, Session, SsoError};
use crate::subjects::SubjectId;

/// Whom a login is for.
#[derive(Clone, Debug)]
pub struct Acting {
    /// The subject the client is told of.
    pub subject: SubjectId,
    /// The authority, when it is someone else than the person at the keyboard.
    pub delegation: Option<Delegation>,
}

impl Acting {
    /// The assurance level of the login: the session's, and for a relative's login no
    /// more than the person's verified identity (never level 3: that needs the
    /// person's own passkey or authenticator).
    pub fn level(&self, session: &Session) -> u8 {
        let own = crate::assurance::level_of_acr(&session.acr);
        match &self.delegation {
            Some(d) => own.min(d.principal_assurance),
            None => own,
        }
    }
}

/// Whom `request` is for in `session`: the session's person, or the person whose
/// authority it acts under if the client takes relatives' logins, the authority is in
/// force for this session's person and covers signing in, and the person is not
/// department staff (staff sign in themselves, with a passkey). The request's scopes
/// are then cut to what the authority covers. None if any of that fails.
pub async fn resolve(
    conn: &mut Conn,
    request: &mut AuthorizeRequest,
    session: &Session,
    now: Timestamp,
) -> Result<Option<Acting>, StoreError> {
    let Some(id) = request.delegation() else {
        return Ok(Some(Acting {
            subject: session.subject,
            delegation: None,
        }));
    };
    if !request.accepts_delegation || session.acting_for.is_some() {
        return Ok(None);
    }
    let Some(d) = delegation::live_for(conn, id, session.subject, now).await? else {
        return Ok(None);
    };
    if !d.covers(Matter::SignIn) || delegation::is_staff(conn, d.principal).await? {
        return Ok(None);
    }
    request.scope = d.allowed_scopes(&request.scope);
    Ok(Some(Acting {
        subject: d.principal,
        delegation: Some(d),
    }))
}

/// The error sent back to the client when an authority is not (or no longer) usable.
pub fn authority_ended(request: &AuthorizeRequest) -> Outcome {
    let why =
        "the authority to act for this person is not in force, or this client does not take it";
    Outcome::error(request, "access_denied", Some(why))
}

/// The CSRF token of the page about to be shown to `session`, and the cookie of a new
/// flow if it needs one: in `flow` (which then carries `request`), or a new flow. The
/// flow is bound to the session: only it may answer the page.
pub async fn in_flow(
    conn: &mut Conn,
    flow: Option<OpenFlow<'_>>,
    request: &AuthorizeRequest,
    session: &Session,
    now: Timestamp,
) -> Result<(String, Option<String>), SsoError> {
    let target = FlowTarget::Authorize(request.clone());
    let (cookie, csrf_token, new_cookie) = match flow {
        Some(flow) => {
            sso::update_flow(conn, flow.cookie, &target).await?;
            (flow.cookie.to_owned(), flow.csrf_token.to_owned(), None)
        }
        None => {
            let new = sso::start_flow(conn, &target, now).await?;
            (new.cookie.clone(), new.csrf_token, Some(new.cookie))
        }
    };
    sso::bind_flow(conn, &cookie, &session.id).await?;
    Ok((csrf_token, new_cookie))
}

impl Authorization<'_> {
    /// The person's choice of whom the login of the flow `posted` names is for:
    /// `myself`, or the id of an authority to act under. None when the flow or the
    /// session is gone, or the page was not shown to this session.
    pub async fn actor_decision(
        &self,
        posted: PostedIn<'_>,
        session_cookie: Option<&str>,
        choice: &str,
        now: Timestamp,
    ) -> Result<Option<Outcome>, AuthorizationError> {
        let (Some(flow_cookie), Some(session_cookie)) = (posted.flow_cookie, session_cookie) else {
            return Ok(None);
        };
        let mut tx = self.store.begin().await?;
        let mut request =
            match sso::flow_request(&mut tx, flow_cookie, posted.csrf_token, now).await {
                Ok((FlowTarget::Authorize(request), _)) => request,
                Ok((FlowTarget::Account, _)) | Err(SsoError::Csrf | SsoError::FlowExpired) => {
                    return Ok(None);
                }
                Err(error) => return Err(error.into()),
            };
        let Some(session) = sso::session_from_cookie(&mut tx, session_cookie, now).await? else {
            return Ok(None);
        };
        if request.acting.is_some()
            || !sso::flow_bound_to(&mut tx, flow_cookie, &session.id).await?
        {
            return Ok(None);
        }
        request.acting = Some(match choice {
            "myself" => ActAs::Myself,
            id => ActAs::For(id.to_owned()),
        });
        let flow = OpenFlow {
            cookie: flow_cookie,
            csrf_token: posted.csrf_token,
        };
        let outcome = self
            .next_step(&mut tx, request, &session, Some(flow), now)
            .await?;
        if !matches!(outcome, Outcome::Consent { .. }) {
            sso::end_flow(&mut tx, flow_cookie).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(outcome))
    }
}
