//! The person's approval of one signing act: a fresh WebAuthn assertion by one of their
//! passkeys whose challenge is the SHA-256 of a [`Commitment`] to exactly what is
//! signed, or — for people without a passkey — their password and authenticator code
//! given for the same commitment. An approval is checked before the key is used, is
//! used up by the signatures it allows, and cannot cover anything it did not commit to.

use std::sync::Arc;

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_identity::account::{self, AccountError};
use tongban_identity::passkey_approval;
use tongban_identity::passkeys::{Assertion, Passkeys};
use tongban_identity::password::Passwords;
use tongban_identity::sso;
use tongban_identity::subjects::SubjectId;
use tongban_identity::totp::TotpKey;
use tongban_store::Conn;
use webauthn_rs_proto::RequestChallengeResponse;

use crate::certificates::SigningCertificate;
use crate::commitment::Commitment;
use crate::error::SignError;

/// How long a person has to answer, and a CSC client to use its SAD.
pub const APPROVAL_MS: i64 = 5 * 60 * 1000;

/// What the person is asked to approve.
pub struct Asking<'a> {
    /// Who signs.
    pub subject: SubjectId,
    /// With which certificate.
    pub certificate: &'a SigningCertificate,
    /// The signing request, or `csc:<credential>`.
    pub request: &'a str,
    /// SHA-256 of each document (or hash) to be signed.
    pub documents: &'a [[u8; 32]],
}

/// A stored approval.
#[derive(Clone, Debug)]
pub struct Approval {
    /// Its id.
    pub id: String,
    /// The certificate it lets sign.
    pub certificate_id: String,
    /// The signing request, when it is for one.
    pub request_id: Option<String>,
    /// What it commits to.
    pub commitment: Commitment,
    /// `hwk`, `swk` or `otp`, once approved.
    pub method: Option<String>,
}

/// A passkey approval begun: its id and the options for `navigator.credentials.get`.
#[derive(Debug)]
pub struct Begun {
    /// The approval to finish.
    pub approval: String,
    /// `publicKey` options.
    pub options: RequestChallengeResponse,
}

async fn insert(
    conn: &mut Conn,
    asking: &Asking<'_>,
    commitment: &Commitment,
    state: Option<&str>,
    now: Timestamp,
) -> Result<String, SignError> {
    let id = tongban_core::id::Uuid::now_v7().to_string();
    let request = asking
        .request
        .strip_prefix("csc:")
        .is_none()
        .then_some(asking.request);
    sqlx::query(
        "INSERT INTO signing_approvals (id, subject_id, certificate_id, request_id, commitment, state, status, \
         signatures_left, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9)",
    )
    .bind(&id)
    .bind(asking.subject.to_string())
    .bind(&asking.certificate.id)
    .bind(request)
    .bind(commitment.to_json()?)
    .bind(state)
    .bind(asking.documents.len() as i64)
    .bind(now.unix_millis())
    .bind(now.unix_millis() + APPROVAL_MS)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Begins a passkey approval of `asking`: the challenge commits to it.
pub async fn begin_passkey(
    conn: &mut Conn,
    rp: &Passkeys,
    asking: &Asking<'_>,
    now: Timestamp,
) -> Result<Begun, SignError> {
    let subject = asking.subject.to_string();
    let commitment = Commitment::new(&subject, asking.request, asking.documents, now)?;
    let committed =
        passkey_approval::start(conn, rp, asking.subject, &commitment.challenge()?).await?;
    let approval = insert(conn, asking, &commitment, Some(&committed.state), now).await?;
    Ok(Begun {
        approval,
        options: committed.options,
    })
}

/// The pending approval `id` of `subject` and its ceremony state.
async fn pending(
    conn: &mut Conn,
    subject: SubjectId,
    id: &str,
    now: Timestamp,
) -> Result<(Commitment, Option<String>), SignError> {
    let row = sqlx::query(
        "SELECT commitment, state, expires_at FROM signing_approvals \
         WHERE id = $1 AND subject_id = $2 AND status = 'pending'",
    )
    .bind(id)
    .bind(subject.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| SignError::Approval("no such approval is waiting".into()))?;
    if row.try_get::<i64, _>("expires_at")? <= now.unix_millis() {
        return Err(SignError::Approval(
            "the approval expired; start again".into(),
        ));
    }
    let commitment = Commitment::from_json(&row.try_get::<String, _>("commitment")?)?;
    Ok((commitment, row.try_get("state")?))
}

/// Marks approval `id` approved by `method`, once.
async fn approve(
    conn: &mut Conn,
    id: &str,
    (method, credential, evidence): (&str, Option<&str>, Option<&str>),
    now: Timestamp,
) -> Result<(), SignError> {
    let updated = sqlx::query(
        "UPDATE signing_approvals SET status = 'approved', method = $2, credential_id = $3, evidence = $4, \
         state = NULL, approved_at = $5, expires_at = $6 WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(method)
    .bind(credential)
    .bind(evidence)
    .bind(now.unix_millis())
    .bind(now.unix_millis() + APPROVAL_MS)
    .execute(conn)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(SignError::Approval(
            "this approval was answered already".into(),
        ));
    }
    Ok(())
}

/// Finishes a passkey approval with the browser's answer (JSON). The assertion must be
/// by one of the person's passkeys, with user verification, over the challenge of the
/// stored commitment; the ceremony is spent either way.
pub async fn confirm_passkey(
    conn: &mut Conn,
    rp: &Passkeys,
    subject: SubjectId,
    id: &str,
    assertion: &str,
    now: Timestamp,
) -> Result<(), SignError> {
    let (commitment, state) = pending(conn, subject, id, now).await?;
    let state =
        state.ok_or_else(|| SignError::Approval("this approval takes no passkey".into()))?;
    let parsed: Assertion = serde_json::from_str(assertion)
        .map_err(|e| SignError::Approval(format!("not a passkey answer: {e}")))?;
    // webauthn-rs compares the challenge too; this says which check failed.
    if passkey_approval::challenge_of(&parsed).as_deref() != Some(&commitment.challenge()?[..]) {
        return Err(SignError::Approval(
            "the passkey answered another challenge than this approval's".into(),
        ));
    }
    let asserted = passkey_approval::finish(conn, rp, subject, &state, &parsed, now).await?;
    let evidence = (
        asserted.key_method,
        Some(asserted.credential_id.as_str()),
        Some(assertion),
    );
    approve(conn, id, evidence, now).await
}

/// What a person without a passkey gives instead: their password and a code from
/// their authenticator app (or a recovery code).
pub struct Secrets<'a> {
    /// The account password.
    pub password: &'a str,
    /// The authenticator code.
    pub code: &'a str,
    /// Where the request came from, for throttling.
    pub client_ip: std::net::IpAddr,
}

/// Approves `asking` at once with the person's password and authenticator code (the
/// CSC `credentials/authorize` call and the signing page's form). Returns the
/// approval's id. Wrong secrets are throttled like a login: the caller commits.
pub async fn approve_with_secrets(
    conn: &mut Conn,
    (passwords, totp_key): (&Arc<Passwords>, &TotpKey),
    asking: &Asking<'_>,
    secrets: &Secrets<'_>,
    now: Timestamp,
) -> Result<String, SignError> {
    let subject = asking.subject;
    account::confirm_password(
        conn,
        passwords,
        subject,
        secrets.password,
        secrets.client_ip,
        now,
    )
    .await
    .map_err(|e| match e {
        AccountError::Store(store) => SignError::Store(store),
        AccountError::Throttled(t) => SignError::Approval(t.to_string()),
        _ => SignError::Approval("the password is wrong".into()),
    })?;
    // Throttled like a login's second step: a signing application holding the
    // password must not be able to try codes without end.
    let login = sso::LoggedIn {
        subject,
        acting_for: None,
    };
    sso::check_second_factor(conn, totp_key, login, secrets.code, secrets.client_ip, now)
        .await
        .map_err(|e| match e {
            sso::SsoError::Store(store) => SignError::Store(store),
            sso::SsoError::Throttled(t) => SignError::Approval(t.to_string()),
            _ => SignError::Approval("the authenticator code is wrong".into()),
        })?;
    let commitment = Commitment::new(&subject.to_string(), asking.request, asking.documents, now)?;
    let id = insert(conn, asking, &commitment, None, now).await?;
    approve(conn, &id, ("otp", None, None), now).await?;
    Ok(id)
}

/// Uses approval `id` of `subject` for signing `digests` with certificate
/// `certificate_id`: it must be approved, unexpired, for that certificate, have that
/// many signatures left, and have committed to every digest. Inside the signing
/// transaction, so a failed signing leaves it unused.
pub(crate) async fn take(
    tx: &mut Conn,
    subject: SubjectId,
    id: &str,
    certificate_id: &str,
    digests: &[[u8; 32]],
    now: Timestamp,
) -> Result<Approval, SignError> {
    let count = digests.len() as i64;
    let updated = sqlx::query(
        "UPDATE signing_approvals SET signatures_left = signatures_left - $4, \
         status = CASE WHEN signatures_left - $4 <= 0 THEN 'used' ELSE 'approved' END \
         WHERE id = $1 AND subject_id = $2 AND certificate_id = $3 AND status = 'approved' \
         AND signatures_left >= $4 AND expires_at > $5 AND EXISTS (SELECT 1 FROM signing_certificates c \
         WHERE c.id = $3 AND c.status = 'active' AND c.valid_until > $5)",
    )
    .bind(id)
    .bind(subject.to_string())
    .bind(certificate_id)
    .bind(count)
    .bind(now.unix_millis())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(SignError::Approval(
            "it is used up, expired, or for another certificate".into(),
        ));
    }
    let row = sqlx::query(
        "SELECT certificate_id, request_id, commitment, method FROM signing_approvals WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let commitment = Commitment::from_json(&row.try_get::<String, _>("commitment")?)?;
    if commitment.signer != subject.to_string() || !digests.iter().all(|d| commitment.covers(d)) {
        return Err(SignError::Approval(
            "it does not cover what is to be signed".into(),
        ));
    }
    Ok(Approval {
        id: id.to_owned(),
        certificate_id: row.try_get("certificate_id")?,
        request_id: row.try_get("request_id")?,
        commitment,
        method: row.try_get("method")?,
    })
}
