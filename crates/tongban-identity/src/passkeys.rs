//! Passkeys (WebAuthn Level 2, through webauthn-rs): enrolment after login, usernameless
//! login with discoverable credentials, user verification always required. Several
//! passkeys per person, each with a name and its created and last-used times.
//!
//! Ceremony state lives in the database between the two requests of a ceremony, so any
//! instance finishes what another began, and each ceremony finishes once.

use serde::Serialize;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, Store, StoreError};
use webauthn_rs::prelude::{
    CreationChallengeResponse, CredentialID, DiscoverableAuthentication, Passkey,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;

pub use webauthn_rs::prelude::{
    PublicKeyCredential as Assertion, RegisterPublicKeyCredential as Attestation,
};

use crate::secrets::{RngError, random_token, sha256_hex};
use crate::subjects::SubjectId;

/// How long a ceremony may take (the browser's own timeout is shorter).
pub const CEREMONY_MS: i64 = 5 * 60 * 1000;
/// Longest passkey name.
pub const NAME_MAX_CHARS: usize = 64;

/// Why a passkey ceremony failed.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The public URL is not an origin browsers allow passkeys on (https, or http on
    /// localhost; never an IP address).
    #[error("passkeys need a public URL with a host name (https, or http://localhost)")]
    Unavailable,
    /// Unknown, expired, already finished, or begun by someone else.
    #[error("the passkey request expired; try again")]
    Ceremony,
    /// The authenticator's answer does not verify: wrong origin or challenge, no user
    /// verification, a bad signature, or a signature counter that went backwards (a
    /// cloned authenticator).
    #[error("the passkey was not accepted: {0}")]
    Rejected(String),
    /// No such passkey is registered.
    #[error("this passkey is not registered here")]
    Unknown,
    /// The credential is registered already.
    #[error("this passkey is registered already")]
    Duplicate,
    /// The name is empty or too long.
    #[error("name: 1 to {NAME_MAX_CHARS} characters")]
    Name,
    /// The random number generator failed.
    #[error(transparent)]
    Rng(#[from] RngError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for PasskeyError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::Store(StoreError::Corrupt(what.to_string()))
}

/// The relying party: our public URL's host is the RP ID and its origin the only
/// origin accepted.
pub struct Passkeys {
    webauthn: Option<Webauthn>,
}

impl Passkeys {
    /// The relying party of `public_url`; passkeys are unavailable (and the login page
    /// does not offer them) when it is an IP address or plain http off localhost.
    pub fn new(public_url: &str) -> Self {
        let webauthn = Url::parse(public_url).ok().and_then(|origin| {
            let host = origin.domain()?.to_owned();
            WebauthnBuilder::new(&host, &origin)
                .ok()?
                .rp_name("Tongban 通办")
                .build()
                .ok()
        });
        Self { webauthn }
    }

    /// Whether passkeys can be used at all.
    pub fn available(&self) -> bool {
        self.webauthn.is_some()
    }

    pub(crate) fn relying_party(&self) -> Result<&Webauthn, PasskeyError> {
        self.rp()
    }

    fn rp(&self) -> Result<&Webauthn, PasskeyError> {
        self.webauthn.as_ref().ok_or(PasskeyError::Unavailable)
    }
}

/// What the browser needs for one ceremony: the options for `navigator.credentials`
/// and the ceremony's id, posted back with the answer.
#[derive(Debug, Serialize)]
pub struct Ceremony<T> {
    /// Names the stored state.
    pub ceremony: String,
    /// `publicKey` options.
    #[serde(flatten)]
    pub options: T,
}

/// A registered passkey as the account page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeySummary {
    /// Credential id, base64url.
    pub id: String,
    /// The person's name for it.
    pub name: String,
    /// Registered.
    pub created_at: Timestamp,
    /// Last login with it.
    pub last_used_at: Option<Timestamp>,
}

/// A login with a passkey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasskeyLogin {
    /// Who.
    pub subject: SubjectId,
    /// RFC 8176: `swk` for a passkey that may be synced (backup eligible, so its key
    /// lives in software keychains), `hwk` for one bound to its device.
    pub key_method: &'static str,
}

fn user_handle(subject: SubjectId) -> Uuid {
    // Subject ids are UUIDs already and carry nothing personal.
    subject.0
}

async fn store_ceremony(
    conn: &mut Conn,
    kind: &str,
    bound_to: &str,
    state: &impl Serialize,
    now: Timestamp,
) -> Result<String, PasskeyError> {
    let id = random_token(32)?;
    let json = serde_json::to_string(state).map_err(corrupt)?;
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id_sha256, kind, bound_to, state, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sha256_hex(&id))
    .bind(kind)
    .bind(bound_to)
    .bind(json)
    .bind(now.unix_millis() + CEREMONY_MS)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Takes a ceremony's state once: deleting it is what makes it single-use.
async fn take_ceremony<T: serde::de::DeserializeOwned>(
    conn: &mut Conn,
    id: &str,
    kind: &str,
    bound_to: &str,
    now: Timestamp,
) -> Result<T, PasskeyError> {
    let row = sqlx::query(
        "DELETE FROM webauthn_ceremonies WHERE id_sha256 = $1 AND kind = $2 AND bound_to = $3 \
         RETURNING state, expires_at",
    )
    .bind(sha256_hex(id))
    .bind(kind)
    .bind(bound_to)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(PasskeyError::Ceremony)?;
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
        .bind(now.unix_millis())
        .execute(&mut *conn)
        .await?;
    let expires_at: i64 = row.try_get("expires_at")?;
    if expires_at <= now.unix_millis() {
        return Err(PasskeyError::Ceremony);
    }
    let state: String = row.try_get("state")?;
    serde_json::from_str(&state).map_err(corrupt)
}

pub(crate) fn credential_key(id: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

pub(crate) async fn passkeys_of(
    conn: &mut Conn,
    subject: SubjectId,
) -> Result<Vec<Passkey>, PasskeyError> {
    let rows = sqlx::query("SELECT passkey FROM passkeys WHERE subject_id = $1")
        .bind(subject.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            let json: String = r.try_get("passkey")?;
            serde_json::from_str(&json).map_err(corrupt)
        })
        .collect()
}

/// Begins enrolling a passkey for `subject`, signed in: options that ask for a
/// discoverable credential with user verification, excluding those registered.
pub async fn start_registration(
    conn: &mut Conn,
    rp: &Passkeys,
    subject: SubjectId,
    user_name: &str,
    display_name: &str,
    now: Timestamp,
) -> Result<Ceremony<CreationChallengeResponse>, PasskeyError> {
    let webauthn = rp.rp()?;
    let existing: Vec<CredentialID> = passkeys_of(conn, subject)
        .await?
        .iter()
        .map(|p| p.cred_id().clone())
        .collect();
    let (mut options, state) = webauthn
        .start_passkey_registration(
            user_handle(subject),
            user_name,
            display_name,
            Some(existing),
        )
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    // Usernameless login needs the credential stored on the authenticator; webauthn-rs
    // leaves that to the caller.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    let ceremony = store_ceremony(conn, "register", &subject.to_string(), &state, now).await?;
    Ok(Ceremony { ceremony, options })
}

/// Finishes an enrolment begun by [`start_registration`] for the same person.
pub async fn finish_registration(
    conn: &mut Conn,
    rp: &Passkeys,
    subject: SubjectId,
    ceremony: &str,
    name: &str,
    credential: &RegisterPublicKeyCredential,
    now: Timestamp,
) -> Result<PasskeySummary, PasskeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
        return Err(PasskeyError::Name);
    }
    let webauthn = rp.rp()?;
    let state: PasskeyRegistration =
        take_ceremony(conn, ceremony, "register", &subject.to_string(), now).await?;
    let passkey = webauthn
        .finish_passkey_registration(credential, &state)
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    let id = credential_key(passkey.cred_id().as_slice());
    let inserted = sqlx::query(
        "INSERT INTO passkeys (credential_id, subject_id, name, passkey, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(&id)
    .bind(subject.to_string())
    .bind(name)
    .bind(serde_json::to_string(&passkey).map_err(corrupt)?)
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() != 1 {
        return Err(PasskeyError::Duplicate);
    }
    Ok(PasskeySummary {
        id,
        name: name.to_owned(),
        created_at: now,
        last_used_at: None,
    })
}

/// Begins a usernameless login in the login flow named by `flow_cookie`: no
/// credentials listed, the authenticator offers the person's own.
pub async fn start_login(
    conn: &mut Conn,
    rp: &Passkeys,
    flow_cookie: &str,
    now: Timestamp,
) -> Result<Ceremony<RequestChallengeResponse>, PasskeyError> {
    let webauthn = rp.rp()?;
    let (mut options, state): (RequestChallengeResponse, DiscoverableAuthentication) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    // A button starts this login, so the browser's modal prompt is wanted, not the
    // autofill ("conditional") one webauthn-rs asks for.
    options.mediation = None;
    let ceremony = store_ceremony(conn, "login", &sha256_hex(flow_cookie), &state, now).await?;
    Ok(Ceremony { ceremony, options })
}

/// Finishes a login begun by [`start_login`] in the same flow: finds the passkey by
/// the credential and user handle the authenticator returned, verifies the assertion
/// (origin, challenge, user verification, signature, counter) and records its use.
pub async fn finish_login(
    conn: &mut Conn,
    rp: &Passkeys,
    flow_cookie: &str,
    ceremony: &str,
    credential: &PublicKeyCredential,
    now: Timestamp,
) -> Result<PasskeyLogin, PasskeyError> {
    let webauthn = rp.rp()?;
    let state: DiscoverableAuthentication =
        take_ceremony(conn, ceremony, "login", &sha256_hex(flow_cookie), now).await?;
    let (handle, credential_id) = webauthn
        .identify_discoverable_authentication(credential)
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    let id = credential_key(credential_id);
    // A deactivated person's passkey is unknown.
    let row = sqlx::query(
        "SELECT p.subject_id, p.passkey FROM passkeys p JOIN subjects s ON s.id = p.subject_id \
         WHERE p.credential_id = $1 AND s.deactivated_at IS NULL",
    )
    .bind(&id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(PasskeyError::Unknown)?;
    let subject: SubjectId = row
        .try_get::<String, _>("subject_id")?
        .parse()
        .map_err(|_| corrupt("passkey subject"))?;
    if user_handle(subject) != handle {
        return Err(PasskeyError::Rejected(
            "the user handle does not belong to this passkey".into(),
        ));
    }
    let json: String = row.try_get("passkey")?;
    let mut passkey: Passkey = serde_json::from_str(&json).map_err(corrupt)?;
    let result = webauthn
        .finish_discoverable_authentication_v2(credential, state, &passkey)
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    if !result.user_verified() {
        return Err(PasskeyError::Rejected("no user verification".into()));
    }
    passkey.update_credential(&result);
    sqlx::query("UPDATE passkeys SET passkey = $2, last_used_at = $3 WHERE credential_id = $1")
        .bind(&id)
        .bind(serde_json::to_string(&passkey).map_err(corrupt)?)
        .bind(now.unix_millis())
        .execute(conn)
        .await?;
    Ok(PasskeyLogin {
        subject,
        key_method: if result.backup_eligible() {
            "swk"
        } else {
            "hwk"
        },
    })
}

/// Adds the passkey of a registration begun by [`start_registration`] for the person
/// of `session`, who needs a strong login unless they have no strong credential yet.
/// `credential` is the browser's answer as JSON. A spent ceremony stays spent.
pub async fn add(
    store: &Store,
    rp: &Passkeys,
    session: &crate::sso::Session,
    ceremony: &str,
    name: &str,
    credential: &str,
    now: Timestamp,
) -> Result<(), PasskeyError> {
    let credential: Attestation =
        serde_json::from_str(credential).map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    let mut tx = store.begin().await?;
    if !may_manage_credentials(&mut tx, session).await? {
        let why = "a password login alone cannot add a passkey";
        return Err(PasskeyError::Rejected(why.into()));
    }
    let subject = session.subject;
    let added = finish_registration(&mut tx, rp, subject, ceremony, name, &credential, now).await;
    tx.commit().await?;
    added.map(|_| ())
}

/// The passkeys of `subject`, oldest first.
pub async fn list(
    conn: &mut Conn,
    subject: SubjectId,
) -> Result<Vec<PasskeySummary>, PasskeyError> {
    let rows = sqlx::query(
        "SELECT credential_id, name, created_at, last_used_at FROM passkeys WHERE subject_id = $1 \
         ORDER BY created_at, credential_id",
    )
    .bind(subject.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PasskeySummary {
                id: r.try_get("credential_id")?,
                name: r.try_get("name")?,
                created_at: Timestamp::from_unix_millis(r.try_get("created_at")?),
                last_used_at: r
                    .try_get::<Option<i64>, _>("last_used_at")?
                    .map(Timestamp::from_unix_millis),
            })
        })
        .collect()
}

/// Removes one of `subject`'s passkeys; false if they have no such passkey.
pub async fn remove(
    conn: &mut Conn,
    subject: SubjectId,
    credential_id: &str,
) -> Result<bool, PasskeyError> {
    let removed = sqlx::query("DELETE FROM passkeys WHERE credential_id = $1 AND subject_id = $2")
        .bind(credential_id)
        .bind(subject.to_string())
        .execute(conn)
        .await?;
    Ok(removed.rows_affected() == 1)
}

/// Removes a passkey of the person of `session`, who needs a strong login unless they
/// have no strong credential. False when a password login alone tried.
pub async fn remove_own(
    store: &Store,
    session: &crate::sso::Session,
    credential_id: &str,
) -> Result<bool, PasskeyError> {
    let mut conn = store.conn().await?;
    if !may_manage_credentials(&mut conn, session).await? {
        return Ok(false);
    }
    remove(&mut conn, session.subject, credential_id).await?;
    Ok(true)
}

/// Whether a session may answer a relying party under the staff passkey policy: with
/// `required`, a staff member's session must come from a passkey login.
pub async fn policy_allows(
    conn: &mut Conn,
    required: bool,
    session: &crate::sso::Session,
) -> Result<bool, PasskeyError> {
    if !required || session.amr.iter().any(|m| m == "hwk" || m == "swk") {
        return Ok(true);
    }
    let staff = sqlx::query("SELECT 1 FROM staff WHERE subject_id = $1 LIMIT 1")
        .bind(session.subject.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(staff.is_none())
}

/// Whether a session may add (or remove) a strong credential — a passkey or an
/// authenticator: a session that used one already, or the person's first, when they
/// have none yet. Otherwise a stolen password alone would buy a level-3 login.
pub async fn may_manage_credentials(
    conn: &mut Conn,
    session: &crate::sso::Session,
) -> Result<bool, PasskeyError> {
    let strong = session
        .amr
        .iter()
        .any(|m| matches!(m.as_str(), "hwk" | "swk" | "otp"));
    if strong {
        return Ok(true);
    }
    let has_totp = crate::totp::enabled(conn, session.subject)
        .await
        .map_err(|e| match e {
            crate::totp::TotpError::Store(store) => PasskeyError::Store(store),
            other => corrupt(other),
        })?;
    Ok(!has_totp && !has_passkey(conn, session.subject).await?)
}

/// Removes every passkey of `subject` and any enrolment under way (an administrator's
/// account recovery: whoever held the account may have added one).
pub async fn remove_all(conn: &mut Conn, subject: SubjectId) -> Result<u64, PasskeyError> {
    let removed = sqlx::query("DELETE FROM passkeys WHERE subject_id = $1")
        .bind(subject.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE kind = 'register' AND bound_to = $1")
        .bind(subject.to_string())
        .execute(conn)
        .await?;
    Ok(removed)
}

/// Whether `subject` has a passkey.
pub async fn has_passkey(conn: &mut Conn, subject: SubjectId) -> Result<bool, PasskeyError> {
    let row = sqlx::query("SELECT 1 FROM passkeys WHERE subject_id = $1 LIMIT 1")
        .bind(subject.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}
