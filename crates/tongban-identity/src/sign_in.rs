//! The steps of a login in a browser's login flow — the password, the second factor, a
//! passkey — and what follows the last one: a session, then the flow's target (a code
//! for the client, the consent page, or the account page). Each step is one call that
//! returns a [`Step`]; the HTTP layer renders it and sets the cookies it names.

use std::net::IpAddr;
use std::sync::Arc;

use tongban_core::time::Timestamp;
use tongban_store::{Conn, PooledConn, StoreError};

use crate::authorization::{self, Authorization, AuthorizationError, Outcome};
use crate::identity_registry::{self, IdentityRegistry};
use crate::passkeys::{self, Assertion, PasskeyError, Passkeys};
use crate::password::Passwords;
use crate::sso::{self, Credentials, FlowTarget, LoggedIn, PostedIn, SsoError};
use crate::throttle::{self, ThrottleKey};
use crate::totp::{self, TotpError, TotpKey};

/// What the steps need.
pub struct SignIn<'a> {
    /// The store, the clients and the staff passkey policy, for what follows a login.
    pub authorization: Authorization<'a>,
    /// Password hashing.
    pub passwords: &'a Arc<Passwords>,
    /// Seals TOTP secrets.
    pub totp: &'a TotpKey,
    /// The WebAuthn relying party.
    pub passkeys: &'a Passkeys,
    /// Real-name assurance after a login.
    pub registry: &'a dyn IdentityRegistry,
}

/// What a step answers.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per login step, moved once to the HTTP layer"
)]
pub enum Step {
    /// No live flow in this browser, a foreign CSRF token, no password step before the
    /// second, or a spent passkey ceremony: the page that says the form expired.
    Expired,
    /// The step went on in the flow to `target`, whose forms carry `csrf_token`.
    InFlow {
        /// Where the flow goes once signed in (its language, too).
        target: FlowTarget,
        /// The flow's forms' CSRF token.
        csrf_token: String,
        /// What comes next.
        next: Next,
    },
}

/// What comes after a step.
#[derive(Debug)]
pub enum Next {
    /// The posted form again, saying why.
    Refused(Refusal),
    /// The login form, with the request's login hint (a flow shown again).
    LoginForm {
        /// The client's `login_hint`.
        login_hint: Option<String>,
    },
    /// The second-factor form: the password was right.
    SecondFactor,
    /// The new password form: the password was an administrator's one-time password,
    /// which opens no session (the form posts to the counter's `/enrol/password`).
    ChoosePassword(crate::counter::Enrolment),
    /// An authorization answer without a new session (the consent page of a flow
    /// shown again to a signed-in browser).
    Authorization(Outcome),
    /// Signed in.
    SignedIn(SignedIn),
}

/// Why a step refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong identifier or password (the same answer for both).
    WrongCredentials,
    /// A wrong or reused second-factor code.
    WrongCode,
    /// The passkey did not verify.
    PasskeyFailed,
    /// The right one-time password, after its lifetime.
    TemporaryPasswordExpired,
    /// Too many failures: wait this many seconds.
    Throttled {
        /// Seconds until the next try is counted.
        retry_after_secs: u64,
    },
}

/// A new session and where it goes.
#[derive(Debug)]
pub struct SignedIn {
    /// The session cookie.
    pub session_cookie: String,
    /// The flow ended, so its cookie goes; it lives on while consent is pending.
    pub flow_ended: bool,
    /// Where the browser goes.
    pub then: Then,
}

/// Where a signed-in browser goes.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per login step, moved once to the HTTP layer"
)]
pub enum Then {
    /// The account page (the flow began there).
    Account,
    /// The client: a code, an error, or first the consent page.
    Authorization(Outcome),
}

/// Why a step could not be taken (the store, a key or the registry failed).
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// A flow, session or throttle query failed.
    #[error(transparent)]
    Sso(#[from] SsoError),
    /// What follows the login failed.
    #[error(transparent)]
    Authorization(#[from] AuthorizationError),
    /// Reading passkeys failed.
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    /// Reading the second factor failed.
    #[error(transparent)]
    Totp(#[from] TotpError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A flow a form was posted in, checked, with the connection the step goes on with.
struct Flow<'p> {
    conn: PooledConn,
    cookie: &'p str,
    target: FlowTarget,
    csrf_token: String,
}

impl Flow<'_> {
    fn step(self, next: Next) -> Step {
        Step::InFlow {
            target: self.target,
            csrf_token: self.csrf_token,
            next,
        }
    }
}

impl SignIn<'_> {
    /// The flow of a GET of the login page (after a language or text-size switch): its
    /// login form, or the page it waits on once this browser is signed in (whom the
    /// person acts for, or consent).
    pub async fn resume(
        &self,
        flow_cookie: Option<&str>,
        session_cookie: Option<&str>,
        now: Timestamp,
    ) -> Result<Step, SignInError> {
        let Some(flow_cookie) = flow_cookie else {
            return Ok(Step::Expired);
        };
        let mut conn = self.authorization.store.conn().await?;
        let (target, csrf_token) = match sso::flow_by_cookie(&mut conn, flow_cookie, now).await {
            Ok(found) => found,
            Err(SsoError::Csrf | SsoError::FlowExpired) => return Ok(Step::Expired),
            Err(error) => return Err(error.into()),
        };
        let session = match session_cookie {
            Some(cookie) => sso::session_from_cookie(&mut conn, cookie, now).await?,
            None => None,
        };
        // Only a flow whose page was shown to this session shows that page again; a
        // GET never issues a code.
        let session = match session {
            Some(s) if sso::flow_bound_to(&mut conn, flow_cookie, &s.id).await? => Some(s),
            _ => None,
        };
        let next = match (&target, session) {
            (FlowTarget::Authorize(request), Some(session)) => {
                let flow = authorization::OpenFlow {
                    cookie: flow_cookie,
                    csrf_token: &csrf_token,
                };
                let request = request.clone();
                let page = (self.authorization)
                    .next_step(&mut conn, request, &session, Some(flow), now)
                    .await?;
                match page {
                    Outcome::Consent { .. } | Outcome::ChooseActor { .. } => {
                        Next::Authorization(page)
                    }
                    _ => return Ok(Step::Expired),
                }
            }
            (FlowTarget::Authorize(request), _) => Next::LoginForm {
                login_hint: request.login_hint.clone(),
            },
            (FlowTarget::Account, _) => Next::LoginForm { login_hint: None },
        };
        Ok(Step::InFlow {
            target,
            csrf_token,
            next,
        })
    }

    /// The password step: throttled per account and address; a person with an
    /// authenticator goes on to the second factor, everyone else is signed in.
    pub async fn password(
        &self,
        posted: PostedIn<'_>,
        credentials: &Credentials<'_>,
        client_ip: IpAddr,
        now: Timestamp,
    ) -> Result<Step, SignInError> {
        let Some(mut flow) = self.flow(posted, now).await? else {
            return Ok(Step::Expired);
        };
        // Reads and the password check run on one plain connection, released before
        // the registry (which may take its own) is asked; only the final writes share
        // a transaction. Holding a connection while waiting for another starves the
        // pool.
        let login =
            sso::password_login(&mut flow.conn, self.passwords, credentials, client_ip, now).await;
        let logged_in = match login {
            Ok(logged_in) => logged_in,
            Err(SsoError::InvalidCredentials) => {
                self.count_failure(now);
                return Ok(flow.step(Next::Refused(Refusal::WrongCredentials)));
            }
            Err(SsoError::Throttled(throttled)) => {
                return Ok(flow.step(Next::Refused(Refusal::Throttled {
                    retry_after_secs: throttled.retry_after_secs,
                })));
            }
            Err(SsoError::MustChoosePassword(person)) => {
                let choice = crate::counter::open_password_choice(&mut flow.conn, person, now)
                    .await
                    .map_err(|e| match e {
                        crate::counter::CounterError::Store(store) => SsoError::Store(store),
                        other => SsoError::Store(StoreError::Corrupt(other.to_string())),
                    })?;
                return Ok(flow.step(Next::ChoosePassword(choice)));
            }
            Err(SsoError::TemporaryPasswordExpired) => {
                return Ok(flow.step(Next::Refused(Refusal::TemporaryPasswordExpired)));
            }
            Err(error) => return Err(error.into()),
        };
        if totp::enabled(&mut flow.conn, logged_in.subject).await? {
            sso::await_second_factor(&mut flow.conn, flow.cookie, logged_in).await?;
            return Ok(flow.step(Next::SecondFactor));
        }
        self.complete(flow, logged_in, &["pwd"], now).await
    }

    /// The second factor of a login whose password was right: an authenticator code
    /// or a recovery code, throttled like the password.
    pub async fn second_factor(
        &self,
        posted: PostedIn<'_>,
        code: &str,
        client_ip: IpAddr,
        now: Timestamp,
    ) -> Result<Step, SignInError> {
        let Some(mut flow) = self.flow(posted, now).await? else {
            return Ok(Step::Expired);
        };
        let Some(logged_in) = sso::pending_second_factor(&mut flow.conn, flow.cookie).await? else {
            return Ok(Step::Expired);
        };
        let checked =
            sso::check_second_factor(&mut flow.conn, self.totp, logged_in, code, client_ip, now)
                .await;
        match checked {
            Ok(()) => {
                self.complete(flow, logged_in, &["pwd", "otp", "mfa"], now)
                    .await
            }
            Err(SsoError::Throttled(throttled)) => {
                Ok(flow.step(Next::Refused(Refusal::Throttled {
                    retry_after_secs: throttled.retry_after_secs,
                })))
            }
            Err(SsoError::InvalidCredentials) => {
                self.count_failure(now);
                Ok(flow.step(Next::Refused(Refusal::WrongCode)))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// A usernameless passkey login: `credential` is the browser's
    /// `PublicKeyCredential` as JSON, answering `ceremony`. Failures are throttled per
    /// client address.
    pub async fn passkey(
        &self,
        posted: PostedIn<'_>,
        ceremony: &str,
        credential: &str,
        client_ip: IpAddr,
        now: Timestamp,
    ) -> Result<Step, SignInError> {
        let Some(mut flow) = self.flow(posted, now).await? else {
            return Ok(Step::Expired);
        };
        let address = ThrottleKey::address(client_ip);
        if let Err(throttled) =
            throttle::check(&mut flow.conn, std::slice::from_ref(&address), now).await?
        {
            return Ok(flow.step(Next::Refused(Refusal::Throttled {
                retry_after_secs: throttled.retry_after_secs,
            })));
        }
        let checked = match serde_json::from_str::<Assertion>(credential) {
            Ok(credential) => {
                let (conn, cookie) = (&mut flow.conn, flow.cookie);
                passkeys::finish_login(conn, self.passkeys, cookie, ceremony, &credential, now)
                    .await
            }
            Err(error) => Err(PasskeyError::Rejected(error.to_string())),
        };
        match checked {
            Ok(login) => {
                let logged_in = LoggedIn {
                    subject: login.subject,
                    acting_for: None,
                };
                self.complete(flow, logged_in, &[login.key_method, "mfa"], now)
                    .await
            }
            Err(PasskeyError::Ceremony) => Ok(Step::Expired),
            Err(PasskeyError::Store(error)) => Err(error.into()),
            Err(error) => {
                tracing::info!(%error, "passkey login refused");
                throttle::record_failure(&mut flow.conn, &address, now).await?;
                self.count_failure(now);
                Ok(flow.step(Next::Refused(Refusal::PasskeyFailed)))
            }
        }
    }

    /// Counts a refused login for the platform's overview (a tally, not a row: a flood
    /// of them must not queue on one).
    fn count_failure(&self, now: Timestamp) {
        self.authorization
            .store
            .tally(tongban_store::tallies::Tally::LoginFailed, None, now);
    }

    /// The flow `posted` names, if it is live and the CSRF token is its own.
    async fn flow<'p>(
        &self,
        posted: PostedIn<'p>,
        now: Timestamp,
    ) -> Result<Option<Flow<'p>>, SignInError> {
        let Some(cookie) = posted.flow_cookie else {
            return Ok(None);
        };
        let mut conn = self.authorization.store.conn().await?;
        match sso::flow_request(&mut conn, cookie, posted.csrf_token, now).await {
            Ok((target, csrf_token)) => Ok(Some(Flow {
                conn,
                cookie,
                target,
                csrf_token,
            })),
            Err(SsoError::Csrf | SsoError::FlowExpired) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Starts the session of a person who passed every factor (`amr`, RFC 8176) and
    /// decides where the browser goes, in one transaction.
    async fn complete(
        &self,
        flow: Flow<'_>,
        logged_in: LoggedIn,
        amr: &[&str],
        now: Timestamp,
    ) -> Result<Step, SignInError> {
        let Flow {
            conn,
            cookie,
            target,
            csrf_token,
        } = flow;
        drop(conn);
        let store = self.authorization.store;
        let level =
            identity_registry::assurance_after_login(store, self.registry, logged_in.subject)
                .await?;
        let level = crate::assurance::level_of_login(level, amr);
        let mut tx = store.begin().await?;
        let acr = identity_registry::acr(level);
        let (session, session_cookie) =
            sso::create_session(&mut tx, logged_in, &acr, amr, now).await?;
        let flow = authorization::OpenFlow {
            cookie,
            csrf_token: &csrf_token,
        };
        let then = self.then(&mut tx, &target, &session, flow, now).await?;
        let flow_ended = !matches!(
            then,
            Then::Authorization(Outcome::Consent { .. } | Outcome::ChooseActor { .. })
        );
        if flow_ended {
            sso::end_flow(&mut tx, cookie).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Step::InFlow {
            target,
            csrf_token,
            next: Next::SignedIn(SignedIn {
                session_cookie,
                flow_ended,
                then,
            }),
        })
    }

    /// Where a new session goes. Under the staff passkey policy a password session of
    /// staff serves the account page only (where the passkey is added); the relying
    /// party hears why.
    async fn then(
        &self,
        conn: &mut Conn,
        target: &FlowTarget,
        session: &sso::Session,
        flow: authorization::OpenFlow<'_>,
        now: Timestamp,
    ) -> Result<Then, SignInError> {
        let FlowTarget::Authorize(request) = target else {
            return Ok(Then::Account);
        };
        let required = self.authorization.staff_passkeys_required;
        let outcome = if !passkeys::policy_allows(conn, required, session).await? {
            Outcome::error(
                request,
                "unmet_authentication_requirements",
                Some("staff sign in with a passkey; add one on the account page (/account)"),
            )
        } else {
            let request = request.clone();
            (self.authorization)
                .next_step(conn, request, session, Some(flow), now)
                .await?
        };
        Ok(Then::Authorization(outcome))
    }
}
