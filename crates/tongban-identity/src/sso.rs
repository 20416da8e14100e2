//! Single sign-on: authorization requests, login flows with CSRF tokens, sessions, and
//! authorization codes (OpenID Connect Core §3.1 with the OAuth 2.0 Security BCP,
//! RFC 9700: exact redirect URIs, PKCE S256 for every client, single-use codes).
//!
//! Everything lives in the database so that any instance can continue what another
//! began; what reaches browsers (flow and session cookies, codes) is stored as SHA-256.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use crate::clients::Client;
use crate::password::Passwords;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use tongban_crypto::kek::Kek;

use crate::secrets::{RngError, constant_time_eq, random_token, s256_challenge, sha256_hex};
use crate::subjects::SubjectId;
use crate::throttle::{self, ThrottleKey, Throttled};

/// How long a login page stays usable.
pub const FLOW_LIFETIME_MS: i64 = 15 * 60 * 1000;
/// How long a code may wait to be redeemed (RFC 6749 §4.1.2 recommends ≤ 10 min).
pub const CODE_LIFETIME_MS: i64 = 60 * 1000;
/// A session ends after this long without use…
pub const SESSION_IDLE_MS: i64 = 2 * 60 * 60 * 1000;
/// …and after this long in any case.
pub const SESSION_ABSOLUTE_MS: i64 = 12 * 60 * 60 * 1000;
/// A session's last use is written at most this often: the idle timeout needs no finer
/// clock, and SSO at many portals then costs no write each.
pub const SESSION_TOUCH_MS: i64 = 60 * 1000;

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

/// A pending login: the cookie value that names it and the CSRF token of its form.
#[derive(Clone, Debug)]
pub struct LoginFlow {
    /// Goes into the flow cookie.
    pub cookie: String,
    /// Goes into the form's hidden field.
    pub csrf_token: String,
}

/// Stores `target` while the person logs in (or decides on consent).
pub async fn start_flow(
    conn: &mut Conn,
    target: &FlowTarget,
    now: Timestamp,
) -> Result<LoginFlow, SsoError> {
    let flow = LoginFlow {
        cookie: random_token(32)?,
        csrf_token: random_token(32)?,
    };
    sqlx::query(
        "INSERT INTO login_flows (id_sha256, csrf_token, request, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sha256_hex(&flow.cookie))
    .bind(&flow.csrf_token)
    .bind(serde_json::to_string(target).map_err(|e| SsoError::Store(StoreError::Corrupt(e.to_string())))?)
    .bind(now.unix_millis())
    .bind(now.unix_millis() + FLOW_LIFETIME_MS)
    .execute(conn)
    .await?;
    Ok(flow)
}

/// The target of the flow named by `cookie`, if `csrf_token` is the form's token.
pub async fn flow_request(
    conn: &mut Conn,
    cookie: &str,
    csrf_token: &str,
    now: Timestamp,
) -> Result<(FlowTarget, String), SsoError> {
    let (target, stored) = flow_by_cookie(conn, cookie, now).await?;
    if !constant_time_eq(&stored, csrf_token) {
        return Err(SsoError::Csrf);
    }
    Ok((target, stored))
}

/// The target and CSRF token of the live flow named by `cookie`, to show its form
/// again (after a language switch, say).
pub async fn flow_by_cookie(
    conn: &mut Conn,
    cookie: &str,
    now: Timestamp,
) -> Result<(FlowTarget, String), SsoError> {
    let row =
        sqlx::query("SELECT csrf_token, request, expires_at FROM login_flows WHERE id_sha256 = $1")
            .bind(sha256_hex(cookie))
            .fetch_optional(conn)
            .await?
            .ok_or(SsoError::Csrf)?;
    let stored: String = row.try_get("csrf_token")?;
    let expires_at: i64 = row.try_get("expires_at")?;
    if expires_at <= now.unix_millis() {
        return Err(SsoError::FlowExpired);
    }
    let request: String = row.try_get("request")?;
    let request = serde_json::from_str(&request)
        .map_err(|e| SsoError::Store(StoreError::Corrupt(e.to_string())))?;
    Ok((request, stored))
}

/// Ends a flow once its login succeeded.
pub async fn end_flow(conn: &mut Conn, cookie: &str) -> Result<(), SsoError> {
    sqlx::query("DELETE FROM login_flows WHERE id_sha256 = $1")
        .bind(sha256_hex(cookie))
        .execute(conn)
        .await?;
    Ok(())
}

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

/// Who logged in: the person, and the legal person they act for when they logged in
/// as an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoggedIn {
    /// The natural person.
    pub subject: SubjectId,
    /// The company they act for in this session.
    pub acting_for: Option<SubjectId>,
}

/// What the login form submitted.
#[derive(Clone, Copy, Debug)]
pub struct Credentials<'a> {
    /// Resident ID number or e-mail; with a department's `organisation`, a staff number.
    pub identifier: &'a str,
    /// A unified social credit code: a department (staff login) or a legal person the
    /// person is an agent of.
    pub organisation: Option<&'a str>,
    /// The password.
    pub password: &'a str,
}

async fn find_login(
    conn: &mut Conn,
    credentials: &Credentials<'_>,
    now: Timestamp,
) -> Result<Option<(String, Option<String>, Option<String>)>, SsoError> {
    let identifier = credentials.identifier.trim();
    let upper = identifier.to_uppercase();
    let lower = identifier.to_lowercase();
    let pick = |row: Option<sqlx::any::AnyRow>| -> Result<_, SsoError> {
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    };
    let Some(organisation) = credentials.organisation.map(|o| o.trim().to_uppercase()) else {
        let row = sqlx::query(
            "SELECT id, password_hash, NULL AS acting_for FROM subjects \
             WHERE kind = 'natural' AND (resident_id = $1 OR email = $2)",
        )
        .bind(&upper)
        .bind(&lower)
        .fetch_optional(&mut *conn)
        .await?;
        return pick(row);
    };
    let staff = sqlx::query(
        "SELECT s.id, s.password_hash, NULL AS acting_for FROM subjects s \
         JOIN staff st ON st.subject_id = s.id JOIN departments d ON d.id = st.department_id \
         WHERE d.uscc = $1 AND st.staff_number = $2",
    )
    .bind(&organisation)
    .bind(identifier)
    .fetch_optional(&mut *conn)
    .await?;
    if staff.is_some() {
        return pick(staff);
    }
    let agent = sqlx::query(
        "SELECT s.id, s.password_hash, l.id AS acting_for FROM subjects s \
         JOIN agent_links a ON a.natural_id = s.id JOIN subjects l ON l.id = a.legal_id \
         WHERE l.uscc = $1 AND (s.resident_id = $2 OR s.email = $3) \
         AND a.valid_from <= $4 AND (a.valid_until IS NULL OR a.valid_until > $4)",
    )
    .bind(&organisation)
    .bind(&upper)
    .bind(&lower)
    .bind(now.unix_millis())
    .fetch_optional(&mut *conn)
    .await?;
    pick(agent)
}

/// Checks credentials — a resident ID number or e-mail; a staff number with the
/// department's USCC; or an agent's ID number with the company's USCC — throttled per
/// account and per client address, with equal effort for unknown accounts.
pub async fn password_login(
    conn: &mut Conn,
    passwords: &std::sync::Arc<Passwords>,
    credentials: &Credentials<'_>,
    client_ip: std::net::IpAddr,
    now: Timestamp,
) -> Result<LoggedIn, SsoError> {
    let account = match credentials.organisation.map(str::trim) {
        Some(org) if !org.is_empty() => format!("{org}/{}", credentials.identifier),
        _ => credentials.identifier.to_owned(),
    };
    let keys = [
        ThrottleKey::account(&account),
        ThrottleKey::address(client_ip),
    ];
    throttle::check(conn, &keys, now).await??;
    let credentials = Credentials {
        organisation: credentials
            .organisation
            .map(str::trim)
            .filter(|o| !o.is_empty()),
        ..*credentials
    };
    let found = find_login(conn, &credentials, now).await?;
    let (id, hash, acting_for) = match found {
        Some((id, hash, acting_for)) => (Some(id), hash, acting_for),
        None => (None, None, None),
    };
    // argon2id takes tens of milliseconds of CPU: not on the async workers.
    let hasher = passwords.clone();
    let candidate = credentials.password.to_owned();
    let ok = tokio::task::spawn_blocking(move || hasher.verify(&candidate, hash.as_deref()))
        .await
        .unwrap_or(false);
    let corrupt = || SsoError::Store(StoreError::Corrupt("subject id".into()));
    match (ok, id) {
        (true, Some(id)) => {
            throttle::clear(conn, &keys[0]).await?;
            Ok(LoggedIn {
                subject: id.parse().map_err(|_| corrupt())?,
                acting_for: acting_for
                    .map(|a| a.parse())
                    .transpose()
                    .map_err(|_| corrupt())?,
            })
        }
        _ => {
            for key in &keys {
                throttle::record_failure(conn, key, now).await?;
            }
            Err(SsoError::InvalidCredentials)
        }
    }
}

/// Sets a natural person's password hash.
pub async fn set_password_hash(
    conn: &mut Conn,
    subject: SubjectId,
    hash: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE subjects SET password_hash = $2 WHERE id = $1 AND kind = 'natural'")
        .bind(subject.to_string())
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// A signed-in session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Public id (the `sid` claim).
    pub id: String,
    /// Who.
    pub subject: SubjectId,
    /// When they authenticated.
    pub auth_time: Timestamp,
    /// Assurance level.
    pub acr: String,
    /// Methods (RFC 8176).
    pub amr: Vec<String>,
    /// The legal person an agent acts for in this session.
    pub acting_for: Option<SubjectId>,
}

/// Starts a session; returns it and the cookie value (shown to the browser only).
pub async fn create_session(
    conn: &mut Conn,
    login: LoggedIn,
    acr: &str,
    amr: &[&str],
    now: Timestamp,
) -> Result<(Session, String), SsoError> {
    let cookie = random_token(32)?;
    let session = Session {
        id: random_token(16)?,
        subject: login.subject,
        auth_time: now,
        acr: acr.to_owned(),
        amr: amr.iter().map(|m| (*m).to_owned()).collect(),
        acting_for: login.acting_for,
    };
    sqlx::query(
        "INSERT INTO sessions (id, token_sha256, subject_id, auth_time, acr, amr, last_seen_at, expires_at, acting_for) \
         VALUES ($1, $2, $3, $4, $5, $6, $4, $7, $8)",
    )
    .bind(&session.id)
    .bind(sha256_hex(&cookie))
    .bind(login.subject.to_string())
    .bind(now.unix_millis())
    .bind(acr)
    .bind(session.amr.join(" "))
    .bind(now.unix_millis() + SESSION_ABSOLUTE_MS)
    .bind(login.acting_for.map(|a| a.to_string()))
    .execute(conn)
    .await?;
    Ok((session, cookie))
}

/// The live session of a session cookie, its idle timer reset; none if ended, idle
/// too long or past its absolute end.
pub async fn session_from_cookie(
    conn: &mut Conn,
    cookie: &str,
    now: Timestamp,
) -> Result<Option<Session>, SsoError> {
    let row = sqlx::query(
        "SELECT id, subject_id, auth_time, acr, amr, acting_for, last_seen_at, expires_at, ended_at FROM sessions \
         WHERE token_sha256 = $1",
    )
    .bind(sha256_hex(cookie))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let get = |e: sqlx::Error| SsoError::Store(StoreError::from(e));
    let ended: Option<i64> = r.try_get("ended_at").map_err(get)?;
    let last_seen: i64 = r.try_get("last_seen_at").map_err(get)?;
    let expires: i64 = r.try_get("expires_at").map_err(get)?;
    let t = now.unix_millis();
    if ended.is_some() || t >= expires || t - last_seen >= SESSION_IDLE_MS {
        return Ok(None);
    }
    let id: String = r.try_get("id").map_err(get)?;
    if t - last_seen >= SESSION_TOUCH_MS {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
            .bind(&id)
            .bind(t)
            .execute(&mut *conn)
            .await?;
    }
    Ok(Some(session_from_row(id, &r)?))
}

/// A session from a row with its subject_id, auth_time, acr, amr and acting_for.
fn session_from_row(id: String, r: &sqlx::any::AnyRow) -> Result<Session, StoreError> {
    let corrupt = |_| StoreError::Corrupt("subject id".into());
    let subject: String = r.try_get("subject_id")?;
    let amr: String = r.try_get("amr")?;
    let acting_for: Option<String> = r.try_get("acting_for")?;
    Ok(Session {
        id,
        subject: subject.parse().map_err(corrupt)?,
        auth_time: Timestamp::from_unix_millis(r.try_get("auth_time")?),
        acr: r.try_get("acr")?,
        amr: amr.split_whitespace().map(str::to_owned).collect(),
        acting_for: acting_for.map(|a| a.parse()).transpose().map_err(corrupt)?,
    })
}

/// Whether `session` satisfies the request's `max_age`, `prompt=login` and the level
/// it asks for; a session that does not logs in again (step-up).
pub fn session_fits(session: &Session, request: &AuthorizeRequest, now: Timestamp) -> bool {
    let young_enough = request.max_age.is_none_or(|max| {
        now.unix_millis() - session.auth_time.unix_millis() <= max.saturating_mul(1000)
    });
    let strong_enough =
        crate::assurance::level_of_acr(&session.acr) >= request.requirement.min_level;
    young_enough && strong_enough && !request.prompt_login
}

/// Whether a login at `session`'s level may answer `request`: below an essential
/// requirement it may not (`unmet_authentication_requirements`).
pub fn meets_requirement(session: &Session, request: &AuthorizeRequest) -> bool {
    !request.requirement.essential
        || crate::assurance::level_of_acr(&session.acr) >= request.requirement.min_level
}

/// The key authorization codes are sealed with (AES-256-GCM), derived from the KEK so
/// that every instance opens what another issued.
pub struct CodeKey(Kek);

impl CodeKey {
    /// The code key of this deployment.
    pub fn derive(kek: &Kek) -> Self {
        Self(kek.derive("tongban authorization codes v1"))
    }
}

const CODE_AAD: &[u8] = b"tongban-code-v1";

/// What a code carries, sealed: the authorization request's outcome.
#[derive(Serialize, Deserialize)]
struct SealedCode {
    client_id: String,
    session_id: String,
    redirect_uri: String,
    scope: Vec<String>,
    nonce: Option<String>,
    code_challenge: String,
    expires_at: i64,
    #[serde(default)]
    dpop_jkt: Option<String>,
}

/// Issues a single-use code for `request` in `session`. The code is the request's
/// outcome sealed under the code key, so issuing writes nothing; redeeming records it,
/// which is what makes it single-use.
pub fn issue_code(
    key: &CodeKey,
    request: &AuthorizeRequest,
    session: &Session,
    now: Timestamp,
) -> Result<String, SsoError> {
    let sealed = SealedCode {
        client_id: request.client_id.clone(),
        session_id: session.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        expires_at: now.unix_millis() + CODE_LIFETIME_MS,
        dpop_jkt: request.dpop_jkt.clone(),
    };
    let json = serde_json::to_vec(&sealed)
        .map_err(|e| SsoError::Store(StoreError::Corrupt(e.to_string())))?;
    let bytes = key
        .0
        .seal(CODE_AAD, &json)
        .map_err(|_| SsoError::Rng(RngError))?;
    Ok(B64URL.encode(bytes))
}

/// What a redeemed code grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeGrant {
    /// The session it was issued in.
    pub session: Session,
    /// Granted scopes.
    pub scope: Vec<String>,
    /// For the ID token.
    pub nonce: Option<String>,
}

/// Why a code was not accepted (`invalid_grant` for all but a store fault).
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// Unknown, expired, replayed, for another client or redirect URI, or the PKCE
    /// verifier does not match.
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CodeError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

/// What a token request presents to redeem a code.
#[derive(Clone, Copy, Debug)]
pub struct Redemption<'a> {
    /// The code.
    pub code: &'a str,
    /// The authenticated client.
    pub client_id: &'a str,
    /// As in the authorization request.
    pub redirect_uri: &'a str,
    /// The PKCE verifier.
    pub verifier: &'a str,
    /// The thumbprint of the request's DPoP proof key, if it has one.
    pub jkt: Option<&'a str>,
}

/// Redeems a code once. A second attempt fails (the caller revokes what the first one
/// issued: RFC 6749 §4.1.2).
pub async fn redeem_code(
    conn: &mut Conn,
    key: &CodeKey,
    redemption: Redemption<'_>,
    now: Timestamp,
) -> Result<CodeGrant, CodeError> {
    let Redemption {
        code,
        client_id,
        redirect_uri,
        verifier,
        jkt,
    } = redemption;
    let sealed: SealedCode = B64URL
        .decode(code)
        .ok()
        .and_then(|bytes| key.0.open(CODE_AAD, &bytes))
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or(CodeError::InvalidGrant("unknown code"))?;
    let digest = sha256_hex(code);
    // Record the redemption first, atomically: of two redemptions one wins, and the
    // other is a replay whose tokens are taken back.
    let claimed = sqlx::query(
        "INSERT INTO auth_codes (code_sha256, client_id, session_id, redirect_uri, scope, nonce, code_challenge, \
         created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8) \
         ON CONFLICT (code_sha256) DO NOTHING",
    )
    .bind(&digest)
    .bind(&sealed.client_id)
    .bind(&sealed.session_id)
    .bind(&sealed.redirect_uri)
    .bind(sealed.scope.join(" "))
    .bind(sealed.nonce.as_deref())
    .bind(&sealed.code_challenge)
    .bind(now.unix_millis())
    .bind(sealed.expires_at)
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() != 1 {
        crate::refresh_tokens::revoke_code_tokens(conn, &digest, now)
            .await
            .map_err(|e| match e {
                crate::refresh_tokens::GrantError::Store(s) => CodeError::Store(s),
                other => CodeError::Store(StoreError::Corrupt(other.to_string())),
            })?;
        return Err(CodeError::InvalidGrant(
            "the code was already used; what it issued is revoked",
        ));
    }
    if sealed.expires_at <= now.unix_millis() {
        return Err(CodeError::InvalidGrant("the code expired"));
    }
    if sealed.client_id != client_id {
        return Err(CodeError::InvalidGrant(
            "the code was issued to another client",
        ));
    }
    if sealed.redirect_uri != redirect_uri {
        return Err(CodeError::InvalidGrant(
            "redirect_uri differs from the authorization request",
        ));
    }
    if !constant_time_eq(&s256_challenge(verifier), &sealed.code_challenge) {
        return Err(CodeError::InvalidGrant(
            "the PKCE code_verifier does not match",
        ));
    }
    if sealed.dpop_jkt.is_some() && sealed.dpop_jkt.as_deref() != jkt {
        return Err(CodeError::InvalidGrant(
            "the code is bound to another DPoP key (RFC 9449 §10)",
        ));
    }
    let s = sqlx::query(
        "SELECT subject_id, auth_time, acr, amr, acting_for, ended_at FROM sessions WHERE id = $1",
    )
    .bind(&sealed.session_id)
    .fetch_one(&mut *conn)
    .await?;
    if s.try_get::<Option<i64>, _>("ended_at")?.is_some() {
        return Err(CodeError::InvalidGrant("the session has ended"));
    }
    Ok(CodeGrant {
        session: session_from_row(sealed.session_id, &s)?,
        scope: sealed.scope,
        nonce: sealed.nonce,
    })
}

/// The identifiers a relying party is told: of the person and of the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// `sub`: public for a first-party client, pairwise for a third-party one.
    pub sub: String,
    /// `sid`, pairwise alike.
    pub sid: String,
}

/// Records that `client` took part in `session` (for back-channel logout) and returns
/// the identifiers it is told; a pairwise subject is remembered for userinfo. None if
/// the session ended meanwhile.
pub async fn join_session(
    conn: &mut Conn,
    pairwise: &crate::pairwise::PairwiseKey,
    client: &Client,
    session: &Session,
) -> Result<Option<Participant>, StoreError> {
    // Locks the session row against a logout committing in between, which would then
    // queue its logout tokens without this client.
    let live = sqlx::query(
        "UPDATE sessions SET last_seen_at = last_seen_at WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(&session.id)
    .execute(&mut *conn)
    .await?;
    if live.rows_affected() != 1 {
        return Ok(None);
    }
    let subject = session.subject.to_string();
    let sub = client.subject_for(pairwise, &subject);
    let sid = client.sid_for(pairwise, &session.id);
    if let Some(sector) = &client.sector {
        crate::pairwise::remember(conn, sector, &sub, &subject).await?;
    }
    crate::backchannel::record_participant(conn, &session.id, &client.id, &sub, &sid).await?;
    Ok(Some(Participant { sub, sid }))
}

/// A live session as the account page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    /// Public id.
    pub id: String,
    /// When the person logged in.
    pub auth_time: Timestamp,
    /// Last use.
    pub last_seen_at: Timestamp,
    /// Methods (RFC 8176).
    pub amr: Vec<String>,
}

/// The live sessions of `subject`, most recent first.
pub async fn sessions_of(
    conn: &mut Conn,
    subject: SubjectId,
    now: Timestamp,
) -> Result<Vec<SessionSummary>, SsoError> {
    let t = now.unix_millis();
    let rows = sqlx::query(
        "SELECT id, auth_time, last_seen_at, amr FROM sessions WHERE subject_id = $1 \
         AND ended_at IS NULL AND expires_at > $2 AND last_seen_at > $3 ORDER BY last_seen_at DESC, id",
    )
    .bind(subject.to_string())
    .bind(t)
    .bind(t - SESSION_IDLE_MS)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let amr: String = r.try_get("amr")?;
            Ok(SessionSummary {
                id: r.try_get("id")?,
                auth_time: Timestamp::from_unix_millis(r.try_get("auth_time")?),
                last_seen_at: Timestamp::from_unix_millis(r.try_get("last_seen_at")?),
                amr: amr.split_whitespace().map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// Which of a person's live sessions to end.
enum Ending<'a> {
    One(&'a str),
    AllBut(&'a str),
    All,
}

/// Ends the chosen live sessions of `subject`: each relying party that took part is
/// queued a logout token (back-channel logout) and the sessions' refresh tokens are
/// revoked, in the caller's transaction. Returns how many sessions ended.
async fn end_sessions(
    conn: &mut Conn,
    subject: SubjectId,
    which: Ending<'_>,
    now: Timestamp,
) -> Result<u64, SsoError> {
    let live = "SELECT id FROM sessions WHERE subject_id = $1 AND ended_at IS NULL";
    let (sql, other) = match which {
        Ending::One(id) => (format!("{live} AND id = $2"), Some(id)),
        Ending::AllBut(id) => (format!("{live} AND id <> $2"), Some(id)),
        Ending::All => (live.to_owned(), None),
    };
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(subject.to_string());
    if let Some(other) = other {
        query = query.bind(other);
    }
    let ids: Vec<String> = query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
    for id in &ids {
        // Ending first takes the row lock a code redemption holds while it joins the
        // session, so the queue below sees every relying party that joined.
        let ended =
            sqlx::query("UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
                .bind(id)
                .bind(now.unix_millis())
                .execute(&mut *conn)
                .await?;
        if ended.rows_affected() == 1 {
            crate::backchannel::queue(conn, id, now).await?;
        }
    }
    // Refresh tokens of the ended sessions; ending all (or all but one) also takes
    // those that belong to no session.
    let revoke = match which {
        Ending::One(_) => {
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE subject_id = $1 \
             AND session_id = $3 AND revoked_at IS NULL"
        }
        Ending::AllBut(_) => {
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE subject_id = $1 \
             AND (session_id IS NULL OR session_id <> $3) AND revoked_at IS NULL"
        }
        Ending::All => {
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE subject_id = $1 AND revoked_at IS NULL"
        }
    };
    let mut query = sqlx::query(revoke)
        .bind(subject.to_string())
        .bind(now.unix_millis());
    if let Some(other) = other {
        query = query.bind(other);
    }
    query.execute(conn).await?;
    Ok(ids.len() as u64)
}

/// Ends session `session_id` of `subject` and revokes the refresh tokens issued in
/// it. False if there was no such live session of theirs.
pub async fn end_session(
    conn: &mut Conn,
    subject: SubjectId,
    session_id: &str,
    now: Timestamp,
) -> Result<bool, SsoError> {
    Ok(end_sessions(conn, subject, Ending::One(session_id), now).await? > 0)
}

/// Ends every session of `subject` but `keep` and revokes their refresh tokens
/// (after a password change). Returns how many sessions ended.
pub async fn end_other_sessions(
    conn: &mut Conn,
    subject: SubjectId,
    keep: &str,
    now: Timestamp,
) -> Result<u64, SsoError> {
    end_sessions(conn, subject, Ending::AllBut(keep), now).await
}

/// The CSRF token of the account page's forms: derived from the session cookie, which
/// only the person's browser holds (HttpOnly), so another site cannot know it.
pub fn session_csrf(cookie: &str) -> String {
    sha256_hex(&format!("tongban-account-form|{cookie}"))
}

/// Ends every session of `subject` and revokes all their refresh tokens ("sign out
/// everywhere", and after a password change or reset). Returns how many sessions
/// ended.
pub async fn end_all_sessions(
    conn: &mut Conn,
    subject: SubjectId,
    now: Timestamp,
) -> Result<u64, SsoError> {
    end_sessions(conn, subject, Ending::All, now).await
}

/// Marks the login flow named by `cookie` as past its password for `login`, waiting for
/// the second factor. Returns true.
pub async fn await_second_factor(
    conn: &mut Conn,
    cookie: &str,
    login: LoggedIn,
) -> Result<bool, SsoError> {
    sqlx::query(
        "UPDATE login_flows SET pending_subject = $2, pending_acting_for = $3 WHERE id_sha256 = $1",
    )
    .bind(sha256_hex(cookie))
    .bind(login.subject.to_string())
    .bind(login.acting_for.map(|a| a.to_string()))
    .execute(conn)
    .await?;
    Ok(true)
}

/// Who passed the password in the flow named by `cookie` and waits for the second
/// factor; none if nobody did.
pub async fn pending_second_factor(
    conn: &mut Conn,
    cookie: &str,
) -> Result<Option<LoggedIn>, SsoError> {
    let row = sqlx::query(
        "SELECT pending_subject, pending_acting_for FROM login_flows WHERE id_sha256 = $1",
    )
    .bind(sha256_hex(cookie))
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let subject: Option<String> = row.try_get("pending_subject")?;
    let acting_for: Option<String> = row.try_get("pending_acting_for")?;
    let corrupt = || SsoError::Store(StoreError::Corrupt("pending subject".into()));
    let Some(subject) = subject else {
        return Ok(None);
    };
    Ok(Some(LoggedIn {
        subject: subject.parse().map_err(|_| corrupt())?,
        acting_for: acting_for
            .map(|a| a.parse())
            .transpose()
            .map_err(|_| corrupt())?,
    }))
}

/// Checks the second factor of `login`, throttled like the password (per person and
/// per client address).
pub async fn check_second_factor(
    conn: &mut Conn,
    key: &crate::totp::TotpKey,
    login: LoggedIn,
    code: &str,
    client_ip: std::net::IpAddr,
    now: Timestamp,
) -> Result<(), SsoError> {
    let keys = [
        ThrottleKey::account(&format!("otp:{}", login.subject)),
        ThrottleKey::address(client_ip),
    ];
    throttle::check(conn, &keys, now).await??;
    match crate::totp::check(conn, key, login.subject, code, now).await {
        Ok(()) => {
            throttle::clear(conn, &keys[0]).await?;
            Ok(())
        }
        Err(crate::totp::TotpError::WrongCode | crate::totp::TotpError::NotEnrolled) => {
            for key in &keys {
                throttle::record_failure(conn, key, now).await?;
            }
            Err(SsoError::InvalidCredentials)
        }
        Err(crate::totp::TotpError::Store(store)) => Err(SsoError::Store(store)),
        Err(crate::totp::TotpError::Rng(rng)) => Err(SsoError::Rng(rng)),
        Err(other) => Err(SsoError::Store(StoreError::Corrupt(other.to_string()))),
    }
}
