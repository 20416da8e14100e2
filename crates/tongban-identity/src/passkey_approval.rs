//! Passkey assertions over a challenge the caller chose: the SHA-256 of a commitment to
//! exactly what a person approves (the documents they sign). The assertion then
//! proves, to anyone holding the commitment and the passkey's public key, that the
//! person approved that and nothing else; a random challenge would prove only that
//! they were present.
//!
//! webauthn-rs makes its own random challenge; we put ours in its place, in the options
//! sent to the browser and in the ceremony state it checks the answer against, so
//! every other check (origin, RP ID, user verification, signature, counter) stays
//! webauthn-rs's.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::Conn;
use webauthn_rs::prelude::{PasskeyAuthentication, RequestChallengeResponse};

use crate::passkeys::{Assertion, PasskeyError, Passkeys, corrupt, credential_key, passkeys_of};
use crate::subjects::SubjectId;

/// A started approval: the options for `navigator.credentials.get`, and the state to
/// keep until the answer comes.
#[derive(Debug)]
pub struct Committed {
    /// `publicKey` options, with the commitment's hash as the challenge.
    pub options: RequestChallengeResponse,
    /// The ceremony state (JSON), to store with the approval.
    pub state: String,
}

/// A verified approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asserted {
    /// The passkey's credential id, base64url.
    pub credential_id: String,
    /// RFC 8176 method: `hwk` or `swk`.
    pub key_method: &'static str,
}

/// Begins an approval by one of `subject`'s own passkeys (listed, so that no other
/// account's passkey can answer) over `challenge`.
pub async fn start(
    conn: &mut Conn,
    rp: &Passkeys,
    subject: SubjectId,
    challenge: &[u8; 32],
) -> Result<Committed, PasskeyError> {
    let webauthn = rp.relying_party()?;
    let passkeys = passkeys_of(conn, subject).await?;
    if passkeys.is_empty() {
        return Err(PasskeyError::Unknown);
    }
    let (mut options, state) = webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    options.public_key.challenge = challenge.to_vec();
    let mut state = serde_json::to_value(&state).map_err(corrupt)?;
    let slot = state
        .pointer_mut("/ast/challenge")
        .filter(|value| value.is_string())
        .ok_or_else(|| corrupt("webauthn-rs state without a challenge"))?;
    *slot = serde_json::Value::String(B64URL.encode(challenge));
    Ok(Committed {
        options,
        state: state.to_string(),
    })
}

/// Verifies `assertion` against an approval begun by [`start`] for `subject` (whose
/// state is `state`), and records the passkey's use and counter. A cloned
/// authenticator (counter going backwards) is refused.
pub async fn finish(
    conn: &mut Conn,
    rp: &Passkeys,
    subject: SubjectId,
    state: &str,
    assertion: &Assertion,
    now: Timestamp,
) -> Result<Asserted, PasskeyError> {
    let webauthn = rp.relying_party()?;
    let state: PasskeyAuthentication = serde_json::from_str(state).map_err(corrupt)?;
    let result = webauthn
        .finish_passkey_authentication(assertion, &state)
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    if !result.user_verified() {
        return Err(PasskeyError::Rejected("no user verification".into()));
    }
    let id = credential_key(result.cred_id().as_slice());
    let row =
        sqlx::query("SELECT passkey FROM passkeys WHERE credential_id = $1 AND subject_id = $2")
            .bind(&id)
            .bind(subject.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(PasskeyError::Unknown)?;
    let json: String = row.try_get("passkey")?;
    let mut passkey: webauthn_rs::prelude::Passkey =
        serde_json::from_str(&json).map_err(corrupt)?;
    passkey.update_credential(&result);
    sqlx::query("UPDATE passkeys SET passkey = $2, last_used_at = $3 WHERE credential_id = $1")
        .bind(&id)
        .bind(serde_json::to_string(&passkey).map_err(corrupt)?)
        .bind(now.unix_millis())
        .execute(conn)
        .await?;
    Ok(Asserted {
        credential_id: id,
        key_method: if result.backup_eligible() {
            "swk"
        } else {
            "hwk"
        },
    })
}

/// The challenge inside an assertion's client data (base64url), for the record.
pub fn challenge_of(assertion: &Assertion) -> Option<Vec<u8>> {
    let client_data: serde_json::Value =
        serde_json::from_slice(assertion.response.client_data_json.as_ref()).ok()?;
    B64URL.decode(client_data.get("challenge")?.as_str()?).ok()
}
