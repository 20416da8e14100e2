//! OAuth clients: portals that log people in (authorization code) and department
//! systems that call the API (client credentials).
//!
//! Rules from the OAuth 2.0 Security BCP (RFC 9700): redirect URIs are registered in
//! full and matched exactly (§4.1.3); secrets are generated here with 256 bits of
//! entropy, shown once, and stored only as SHA-256.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, StoreError};

use tongban_crypto::jose::Jwks;

use crate::secrets::{constant_time_eq, random_token, sha256_hex};
use crate::subjects::DepartmentId;

/// Grant types a client may be allowed.
pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// Why a client registration or lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A field's value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The client authenticates without a secret (public, or private_key_jwt): there
    /// is none to rotate.
    #[error("this client has no secret to rotate (a public client, or private_key_jwt)")]
    NoSecret,
    /// A rotation with a grace period while the secret before is still in its own:
    /// it would end that secret early, and it may be the one still deployed.
    #[error(
        "the previous secret is valid until {until} (Unix ms); rotate again after that, or with grace_seconds 0 to end both old secrets now"
    )]
    GraceRunning {
        /// When the previous secret's grace ends.
        until: i64,
    },
    /// The random number generator failed.
    #[error(transparent)]
    Rng(#[from] crate::secrets::RngError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ClientError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

fn invalid(field: &'static str, reason: impl ToString) -> ClientError {
    ClientError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

/// A client to register.
#[derive(Clone, Debug, Default)]
pub struct NewClient {
    /// Display name (shown on consent pages).
    pub name: String,
    /// Confidential clients get a secret; public ones (native, browser) do not.
    pub confidential: bool,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// Grant types it may use (see [`GRANT_TYPES`]).
    pub grant_types: Vec<String>,
    /// First-party portals skip the consent page.
    pub first_party: bool,
    /// The department a department system acts for.
    pub department_id: Option<DepartmentId>,
    /// Public keys for private_key_jwt; a confidential client with keys gets no secret.
    pub jwks: Option<Jwks>,
    /// Where logout tokens are posted (OIDC Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// Authorization requests only through PAR (RFC 9126 §6).
    pub require_par: bool,
    /// The lowest assurance level its logins may have (1 to 3; 0 means 1).
    pub min_level: u8,
    /// Sector of its pairwise subject identifiers; default the host of its redirect
    /// URIs (OIDC Core §8.1). First-party clients get public identifiers.
    pub sector_identifier: Option<String>,
    /// Takes logins of a relative acting for a person (亲友代办): it reads the `act`
    /// claim and shows who is really at the keyboard. Off by default.
    pub accepts_delegation: bool,
}

/// A registered client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// client_id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether it authenticates with a secret.
    pub confidential: bool,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed scopes.
    pub scopes: Vec<String>,
    /// Allowed grant types.
    pub grant_types: Vec<String>,
    /// Skips consent.
    pub first_party: bool,
    /// Department it acts for.
    pub department_id: Option<DepartmentId>,
    /// Public keys it signs client assertions with (private_key_jwt).
    pub jwks: Option<Jwks>,
    /// Where logout tokens are posted.
    pub backchannel_logout_uri: Option<String>,
    /// Authorization requests only through PAR.
    pub require_par: bool,
    /// The lowest assurance level of its logins.
    pub min_level: u8,
    /// Sector of pairwise subject identifiers; none for first-party (public) clients.
    pub sector: Option<String>,
    /// Takes logins of a relative acting for a person.
    pub accepts_delegation: bool,
    /// Disabled at (such a client is unknown to the protocol: [`find`] skips it).
    pub disabled_at: Option<Timestamp>,
    /// Until when the secret before the last rotation still works.
    pub previous_secret_until: Option<Timestamp>,
    secret_sha256: Option<String>,
    previous_secret_sha256: Option<String>,
}

impl Client {
    /// Whether `uri` is one of the registered redirect URIs, compared as exact strings.
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    /// Whether the client may use `grant_type`.
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }

    /// The subject identifier this client is told for `subject`: the public id for a
    /// first-party client, else a pairwise one for its sector.
    pub fn subject_for(&self, key: &crate::pairwise::PairwiseKey, subject: &str) -> String {
        match &self.sector {
            Some(sector) => key.sub(sector, subject),
            None => subject.to_owned(),
        }
    }

    /// The session identifier (`sid`) this client is told for `session_id`: pairwise
    /// like its subject identifiers, so that two sectors cannot join on it either.
    pub fn sid_for(&self, key: &crate::pairwise::PairwiseKey, session_id: &str) -> String {
        match &self.sector {
            Some(sector) => key.sub(sector, &format!("sid:{session_id}")),
            None => session_id.to_owned(),
        }
    }

    /// Whether `secret` is this client's secret at `now` (constant-time on the
    /// digests): the current one, or the one before the last rotation during its grace
    /// period.
    pub fn secret_matches(&self, secret: &str, now: Timestamp) -> bool {
        let presented = sha256_hex(secret);
        let current = self
            .secret_sha256
            .as_deref()
            .is_some_and(|stored| constant_time_eq(&presented, stored));
        let previous = match (&self.previous_secret_sha256, self.previous_secret_until) {
            (Some(stored), Some(until)) if now < until => constant_time_eq(&presented, stored),
            _ => false,
        };
        current | previous
    }

    /// Whether it authenticates with a secret (not a public client, not
    /// private_key_jwt).
    pub fn has_secret(&self) -> bool {
        self.secret_sha256.is_some()
    }
}

/// The host name of an authority (`host[:port]`).
fn host_name(authority: &str) -> &str {
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// A redirect URI must be absolute, without fragment (RFC 6749 §3.1.2), and use https
/// unless it is a loopback address for native apps and development (RFC 8252 §7.3).
fn check_redirect_uri(field: &'static str, uri: &str) -> Result<(), ClientError> {
    let (scheme, rest) = uri
        .split_once("://")
        .ok_or_else(|| invalid(field, format!("{uri} is not an absolute URI")))?;
    if uri.contains('#') {
        return Err(invalid(field, format!("{uri} must not contain a fragment")));
    }
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let loopback = matches!(host_name(host), "localhost" | "127.0.0.1" | "[::1]");
    match scheme {
        "https" if !host.is_empty() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(invalid(
            field,
            format!("{uri} must use https (or http on a loopback address)"),
        )),
    }
}

/// The sector of a third-party client: the one registered, else the single host of
/// its redirect URIs (OIDC Core §8.1; several hosts need an explicit sector).
fn sector_of(new: &NewClient) -> Result<String, ClientError> {
    if let Some(sector) = new.sector_identifier.as_deref().map(str::trim) {
        if sector.is_empty() || sector.len() > 255 || sector.contains(char::is_whitespace) {
            return Err(invalid("sector_identifier", "must be a host name"));
        }
        return Ok(sector.to_ascii_lowercase());
    }
    let hosts: std::collections::BTreeSet<String> = new
        .redirect_uris
        .iter()
        .filter_map(|uri| {
            let authority = uri.split_once("://")?.1.split(['/', '?']).next()?;
            Some(host_name(authority).to_ascii_lowercase())
        })
        .collect();
    match hosts.len() {
        1 => Ok(hosts.into_iter().next().unwrap_or_default()),
        0 => Ok(new.name.trim().to_owned()),
        _ => Err(invalid(
            "sector_identifier",
            "redirect URIs on several hosts need a sector_identifier",
        )),
    }
}

/// Registers a client. Returns it and, for a confidential client, its secret — the
/// only time the secret exists outside the caller's hands.
pub async fn register(
    conn: &mut Conn,
    new: &NewClient,
    now: Timestamp,
) -> Result<(Client, Option<String>), ClientError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid("name", "must have 1 to 200 characters"));
    }
    for uri in &new.redirect_uris {
        check_redirect_uri("redirect_uris", uri)?;
    }
    for uri in &new.post_logout_redirect_uris {
        check_redirect_uri("post_logout_redirect_uris", uri)?;
    }
    if let Some(grant) = new
        .grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(invalid(
            "grant_types",
            format!("unknown grant type {grant}"),
        ));
    }
    let uses_code = new.grant_types.iter().any(|g| g == "authorization_code");
    if uses_code && new.redirect_uris.is_empty() {
        return Err(invalid(
            "redirect_uris",
            "the authorization code grant needs at least one",
        ));
    }
    if new.grant_types.iter().any(|g| g == "client_credentials") && !new.confidential {
        return Err(invalid(
            "grant_types",
            "client_credentials needs a confidential client",
        ));
    }
    if let Some(scope) = new
        .scopes
        .iter()
        .find(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        return Err(invalid("scopes", format!("invalid scope {scope:?}")));
    }
    if let Some(jwks) = &new.jwks {
        if !new.confidential {
            return Err(invalid(
                "jwks",
                "only confidential clients authenticate with keys",
            ));
        }
        if jwks.keys.is_empty() || jwks.keys.len() > 10 {
            return Err(invalid("jwks", "must hold 1 to 10 keys"));
        }
        for key in &jwks.keys {
            key.public_key()
                .map_err(|e| invalid("jwks", format!("a key is not usable: {e}")))?;
        }
    }
    if let Some(uri) = &new.backchannel_logout_uri {
        check_redirect_uri("backchannel_logout_uri", uri)?;
    }
    if new.min_level > crate::assurance::MAX_LEVEL {
        return Err(invalid("min_level", "must be 1, 2 or 3"));
    }
    let sector = if new.first_party {
        None
    } else {
        Some(sector_of(new)?)
    };
    let secret = if new.confidential && new.jwks.is_none() {
        Some(random_token(32)?)
    } else {
        None
    };
    let client = Client {
        id: random_token(16)?,
        name: name.to_owned(),
        confidential: new.confidential,
        redirect_uris: new.redirect_uris.clone(),
        post_logout_redirect_uris: new.post_logout_redirect_uris.clone(),
        scopes: new.scopes.clone(),
        grant_types: new.grant_types.clone(),
        first_party: new.first_party,
        department_id: new.department_id,
        jwks: new.jwks.clone(),
        backchannel_logout_uri: new.backchannel_logout_uri.clone(),
        require_par: new.require_par,
        min_level: new.min_level.max(1),
        sector,
        accepts_delegation: new.accepts_delegation,
        disabled_at: None,
        previous_secret_until: None,
        secret_sha256: secret.as_deref().map(sha256_hex),
        previous_secret_sha256: None,
    };
    let json = |list: &Vec<String>| serde_json::to_string(list).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO clients (id, name, confidential, secret_sha256, redirect_uris, post_logout_redirect_uris, \
         scopes, grant_types, first_party, department_id, created_at, jwks, backchannel_logout_uri, require_par, \
         min_level, sector_identifier, accepts_delegation) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&client.id)
    .bind(&client.name)
    .bind(i64::from(client.confidential))
    .bind(client.secret_sha256.as_deref())
    .bind(json(&client.redirect_uris))
    .bind(json(&client.post_logout_redirect_uris))
    .bind(client.scopes.join(" "))
    .bind(client.grant_types.join(" "))
    .bind(i64::from(client.first_party))
    .bind(client.department_id.map(|d| d.to_string()))
    .bind(now.unix_millis())
    .bind(
        client
            .jwks
            .as_ref()
            .map(|k| serde_json::to_string(k).unwrap_or_default()),
    )
    .bind(client.backchannel_logout_uri.as_deref())
    .bind(i64::from(client.require_par))
    .bind(i64::from(client.min_level))
    .bind(client.sector.as_deref())
    .bind(i64::from(client.accepts_delegation))
    .execute(conn)
    .await?;
    Ok((client, secret))
}

const CLIENT_COLUMNS: &str = "SELECT id, name, confidential, secret_sha256, redirect_uris, \
     post_logout_redirect_uris, scopes, grant_types, first_party, department_id, jwks, backchannel_logout_uri, \
     require_par, min_level, sector_identifier, accepts_delegation, disabled_at, previous_secret_sha256, \
     previous_secret_until FROM clients";

/// The client with this id, if it is not disabled: a disabled client is unknown to
/// every protocol endpoint and API.
pub async fn find(conn: &mut Conn, id: &str) -> Result<Option<Client>, ClientError> {
    Ok(find_any(conn, id)
        .await?
        .filter(|c| c.disabled_at.is_none()))
}

/// The client with this id, disabled or not (for its administrators).
pub async fn find_any(conn: &mut Conn, id: &str) -> Result<Option<Client>, ClientError> {
    let sql = format!("{CLIENT_COLUMNS} WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every client, by name.
pub async fn list(conn: &mut Conn) -> Result<Vec<Client>, ClientError> {
    let sql = format!("{CLIENT_COLUMNS} ORDER BY name, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Client, ClientError> {
    let get = |e: sqlx::Error| ClientError::Store(StoreError::from(e));
    let list = |text: String| -> Result<Vec<String>, ClientError> {
        serde_json::from_str(&text)
            .map_err(|e| ClientError::Store(StoreError::Corrupt(e.to_string())))
    };
    let words = |text: String| {
        text.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let department: Option<String> = r.try_get("department_id").map_err(get)?;
    let jwks: Option<String> = r.try_get("jwks").map_err(get)?;
    Ok(Client {
        jwks: jwks
            .map(|k| serde_json::from_str(&k))
            .transpose()
            .map_err(|e| ClientError::Store(StoreError::Corrupt(e.to_string())))?,
        id: r.try_get("id").map_err(get)?,
        name: r.try_get("name").map_err(get)?,
        confidential: r.try_get::<i64, _>("confidential").map_err(get)? != 0,
        secret_sha256: r.try_get("secret_sha256").map_err(get)?,
        redirect_uris: list(r.try_get("redirect_uris").map_err(get)?)?,
        post_logout_redirect_uris: list(r.try_get("post_logout_redirect_uris").map_err(get)?)?,
        scopes: words(r.try_get("scopes").map_err(get)?),
        grant_types: words(r.try_get("grant_types").map_err(get)?),
        first_party: r.try_get::<i64, _>("first_party").map_err(get)? != 0,
        backchannel_logout_uri: r.try_get("backchannel_logout_uri").map_err(get)?,
        require_par: r.try_get::<i64, _>("require_par").map_err(get)? != 0,
        min_level: u8::try_from(r.try_get::<i64, _>("min_level").map_err(get)?)
            .unwrap_or(crate::assurance::MAX_LEVEL),
        sector: r.try_get("sector_identifier").map_err(get)?,
        accepts_delegation: r.try_get::<i64, _>("accepts_delegation").map_err(get)? != 0,
        disabled_at: r
            .try_get::<Option<i64>, _>("disabled_at")
            .map_err(get)?
            .map(Timestamp::from_unix_millis),
        previous_secret_until: r
            .try_get::<Option<i64>, _>("previous_secret_until")
            .map_err(get)?
            .map(Timestamp::from_unix_millis),
        previous_secret_sha256: r.try_get("previous_secret_sha256").map_err(get)?,
        department_id: department
            .map(|d| d.parse())
            .transpose()
            .map_err(|_| ClientError::Store(StoreError::Corrupt("department id".into())))?,
    })
}

/// How long a looked-up client is reused. Changes to a client (a new secret, removal)
/// reach every instance within this time.
pub const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
/// Most clients cached; past this the cache starts over (unknown ids cannot grow it
/// without bound).
const CACHE_MAX: usize = 10_000;

type Entries = std::collections::HashMap<String, (Option<Client>, std::time::Instant)>;

/// Clients looked up recently, for paths that must not hold a connection (the
/// client_credentials grant runs without a transaction and never waits for the pool
/// on a cache hit).
pub struct ClientCache {
    store: tongban_store::Store,
    entries: std::sync::Mutex<Entries>,
}

impl ClientCache {
    /// A cache over `store`.
    pub fn new(store: tongban_store::Store) -> Self {
        Self {
            store,
            entries: std::sync::Mutex::default(),
        }
    }

    /// The client with this id, from the cache if it was looked up in the last
    /// [`CACHE_TTL`]. Call it holding no connection: a miss takes one.
    pub async fn find(&self, id: &str) -> Result<Option<Client>, ClientError> {
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((client, at)) = entries.get(id)
                && at.elapsed() < CACHE_TTL
            {
                return Ok(client.clone());
            }
        }
        self.fresh(id).await
    }

    /// The client with this id as stored now (and cached from now on): after a failed
    /// secret, which may be the new one of a rotation this instance has not seen yet.
    pub async fn fresh(&self, id: &str) -> Result<Option<Client>, ClientError> {
        let mut conn = self.store.conn().await?;
        let client = find(&mut conn, id).await?;
        drop(conn);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_MAX {
            entries.clear();
        }
        entries.insert(id.to_owned(), (client.clone(), std::time::Instant::now()));
        Ok(client)
    }
}
