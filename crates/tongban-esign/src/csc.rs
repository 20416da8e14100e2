//! The Cloud Signature Consortium API v2 for signing applications: a person's signing
//! certificate is a CSC credential (its id is our certificate id). `credentials/list`
//! and `credentials/info` need the person's access token with scope `service`;
//! `credentials/authorize` takes the person's password (`PIN`) and authenticator code
//! (`OTP`) for exactly the hashes to be signed (SCAL 2) and gives a SAD good for those
//! hashes once; `signatures/signHash` signs them with the credential's key.

use std::sync::Arc;

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_identity::caller::Caller;
use tongban_identity::password::Passwords;
use tongban_identity::secrets::{random_token, sha256_hex};
use tongban_identity::subjects::SubjectId;
use tongban_identity::totp::TotpKey;
use tongban_store::{Conn, Store, StoreError};

use crate::approval::{self, APPROVAL_MS, Asking, Secrets};
use crate::certificates::{self, SigningCertificate};
use crate::error::SignError;
use crate::records::{self, Act};

/// The scope of a signing application acting for a person.
pub const SERVICE_SCOPE: &str = "service";
/// OID of SHA-256, the one hash algorithm signed.
pub const SHA256_OID: &str = "2.16.840.1.101.3.4.2.1";
/// OID of ecdsa-with-SHA256, the one signature algorithm.
pub const ECDSA_SHA256_OID: &str = "1.2.840.10045.4.3.2";
/// Most hashes one authorisation (and one signHash call) covers.
pub const MAX_HASHES: usize = 1000;

fn invalid(field: &'static str, reason: impl Into<String>) -> SignError {
    SignError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// The person a CSC call acts for: a token of theirs with scope `service`. A
/// third-party application knows them by a pairwise identifier, resolved here.
pub async fn person(conn: &mut Conn, caller: &Caller) -> Result<SubjectId, SignError> {
    if !caller.has_scope(SERVICE_SCOPE) {
        return Err(SignError::Denied(format!(
            "this needs the scope {SERVICE_SCOPE}"
        )));
    }
    // Nobody signs for another person: not a relative, whatever they were authorised.
    if caller.delegation.is_some() {
        return Err(SignError::Denied(
            "a token of someone acting for a person cannot sign: only the person signs".into(),
        ));
    }
    if caller.subject == caller.client_id {
        return Err(SignError::Denied(
            "a signing application acts for a person".into(),
        ));
    }
    if let Ok(subject) = caller.subject.parse() {
        return Ok(subject);
    }
    let not_a_person = || SignError::Denied("the token's subject is not a person".into());
    let client = tongban_identity::clients::find(conn, &caller.client_id)
        .await
        .map_err(|e| SignError::Internal(e.to_string()))?
        .ok_or_else(not_a_person)?;
    let sector = client.sector.ok_or_else(not_a_person)?;
    tongban_identity::pairwise::resolve(conn, &sector, &caller.subject)
        .await?
        .and_then(|s| s.parse().ok())
        .ok_or_else(not_a_person)
}

/// Refuses a list with a hash twice: each is signed once.
fn distinct(hashes: &[[u8; 32]]) -> Result<(), SignError> {
    let unique: std::collections::HashSet<&[u8; 32]> = hashes.iter().collect();
    if unique.len() == hashes.len() {
        Ok(())
    } else {
        Err(invalid("hashes", "each hash once"))
    }
}

/// The person's credentials: their usable signing certificates' ids.
pub async fn list(
    conn: &mut Conn,
    caller: &Caller,
    now: Timestamp,
) -> Result<Vec<String>, SignError> {
    let subject = person(conn, caller).await?;
    Ok(certificates::list(conn, subject)
        .await?
        .into_iter()
        .filter(|c| c.usable(now))
        .map(|c| c.id)
        .collect())
}

/// A credential as `credentials/info` describes it.
#[derive(Clone, Debug)]
pub struct Credential {
    /// The certificate.
    pub certificate: SigningCertificate,
    /// The certificate and its issuing CA (DER), signer first.
    pub chain: Vec<Vec<u8>>,
}

/// Credential `id` of the caller's person.
pub async fn credential(
    conn: &mut Conn,
    pki: &Pki,
    caller: &Caller,
    id: &str,
) -> Result<Credential, SignError> {
    let subject = person(conn, caller).await?;
    let certificate = certificates::find(conn, subject, id)
        .await
        .map_err(|_| invalid("credentialID", "no such credential"))?;
    let key = certificates::key_of(conn, pki, &certificate).await?;
    Ok(Credential {
        certificate,
        chain: key.chain.clone(),
    })
}

/// A `credentials/authorize` call.
pub struct Authorize<'a> {
    /// The credential.
    pub credential_id: &'a str,
    /// How many signatures (must equal the number of hashes).
    pub num_signatures: i64,
    /// The SHA-256 hashes to be signed.
    pub hashes: Vec<[u8; 32]>,
    /// Their algorithm's OID, if given.
    pub hash_algorithm: Option<&'a str>,
    /// The person's password.
    pub pin: Option<&'a str>,
    /// Their authenticator code.
    pub otp: Option<&'a str>,
    /// Where the call came from, for throttling.
    pub client_ip: std::net::IpAddr,
}

/// Authorises the hashes of `call`: returns the SAD and its lifetime in seconds.
pub async fn authorize(
    store: &Store,
    (pki, passwords, totp_key): (&Pki, &Arc<Passwords>, &TotpKey),
    caller: &Caller,
    call: &Authorize<'_>,
    now: Timestamp,
) -> Result<(String, i64), SignError> {
    let _ = pki;
    if call.hashes.is_empty() || call.hashes.len() > MAX_HASHES {
        return Err(invalid(
            "hashes",
            format!("1 to {MAX_HASHES} SHA-256 hashes (SCAL 2)"),
        ));
    }
    distinct(&call.hashes)?;
    if call.num_signatures != call.hashes.len() as i64 {
        return Err(invalid("numSignatures", "must equal the number of hashes"));
    }
    if call.hash_algorithm.is_some_and(|oid| oid != SHA256_OID) {
        return Err(invalid(
            "hashAlgorithmOID",
            format!("only SHA-256 ({SHA256_OID})"),
        ));
    }
    let (Some(password), Some(code)) = (call.pin, call.otp) else {
        return Err(invalid(
            "authData",
            "the PIN (your password) and OTP (your authenticator code)",
        ));
    };
    let mut tx = store.begin().await?;
    let subject = person(&mut tx, caller).await?;
    let certificate = certificates::find(&mut tx, subject, call.credential_id)
        .await
        .map_err(|_| invalid("credentialID", "no such credential"))?;
    if !certificate.usable(now) {
        return Err(SignError::Conflict(
            "the credential's certificate is revoked or expired".into(),
        ));
    }
    let request = format!("csc:{}", certificate.id);
    let asking = Asking {
        subject,
        certificate: &certificate,
        request: &request,
        documents: &call.hashes,
    };
    let secrets = Secrets {
        password,
        code,
        client_ip: call.client_ip,
    };
    let approved =
        approval::approve_with_secrets(&mut tx, (passwords, totp_key), &asking, &secrets, now)
            .await;
    let id = match approved {
        Ok(id) => id,
        Err(refused) => {
            // Wrong secrets count towards throttling.
            tx.commit().await.map_err(StoreError::from)?;
            return Err(refused);
        }
    };
    let sad = random_token(32).map_err(|e| SignError::Internal(e.to_string()))?;
    sqlx::query("UPDATE signing_approvals SET sad_sha256 = $2 WHERE id = $1")
        .bind(&id)
        .bind(sha256_hex(&sad))
        .execute(&mut *tx)
        .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((sad, APPROVAL_MS / 1000))
}

/// A `signatures/signHash` call.
pub struct SignHash<'a> {
    /// The credential.
    pub credential_id: &'a str,
    /// The SAD from `credentials/authorize`.
    pub sad: &'a str,
    /// The hashes.
    pub hashes: Vec<[u8; 32]>,
    /// The signature algorithm's OID.
    pub sign_algorithm: &'a str,
    /// The hash algorithm's OID, if given.
    pub hash_algorithm: Option<&'a str>,
}

/// Signs the hashes of `call` with the credential's key: DER ECDSA signatures, in order.
pub async fn sign_hash(
    store: &Store,
    pki: &Pki,
    caller: &Caller,
    call: &SignHash<'_>,
    now: Timestamp,
) -> Result<Vec<Vec<u8>>, SignError> {
    if call.sign_algorithm != ECDSA_SHA256_OID {
        return Err(invalid(
            "signAlgo",
            format!("only ecdsa-with-SHA256 ({ECDSA_SHA256_OID})"),
        ));
    }
    if call.hash_algorithm.is_some_and(|oid| oid != SHA256_OID) {
        return Err(invalid(
            "hashAlgorithmOID",
            format!("only SHA-256 ({SHA256_OID})"),
        ));
    }
    if call.hashes.is_empty() || call.hashes.len() > MAX_HASHES {
        return Err(invalid("hashes", format!("1 to {MAX_HASHES} hashes")));
    }
    distinct(&call.hashes)?;
    let mut tx = store.begin().await?;
    let subject = person(&mut tx, caller).await?;
    let row =
        sqlx::query("SELECT id FROM signing_approvals WHERE sad_sha256 = $1 AND subject_id = $2")
            .bind(sha256_hex(call.sad))
            .bind(subject.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| invalid("SAD", "unknown, or not this person's"))?;
    let approval_id: String = row.try_get("id")?;
    let certificate = certificates::find(&mut tx, subject, call.credential_id)
        .await
        .map_err(|_| invalid("credentialID", "no such credential"))?;
    if !certificate.usable(now) {
        return Err(SignError::Conflict(
            "the credential's certificate is revoked or expired".into(),
        ));
    }
    let approval = approval::take(
        &mut tx,
        subject,
        &approval_id,
        &certificate.id,
        &call.hashes,
        now,
    )
    .await?;
    // The SAD signs exactly the hashes it was given for, all at once: none twice.
    if approval.commitment.documents.len() != call.hashes.len() {
        return Err(invalid(
            "hashes",
            "exactly the hashes the SAD was given for",
        ));
    }
    let key = certificates::key_of(&mut tx, pki, &certificate).await?;
    let hashes = call.hashes.clone();
    let signer = key.signer.clone();
    let signatures = tokio::task::spawn_blocking(move || {
        hashes
            .iter()
            .map(|digest| signer.sign_digest_x509(digest))
            .collect::<Result<Vec<_>, _>>()
    })
    .await??;
    let signed: Vec<records::Made> = call
        .hashes
        .iter()
        .zip(&signatures)
        .map(|(digest, value)| records::Made {
            digest: *digest,
            value: value.clone(),
            cms: None,
        })
        .collect();
    let act = Act {
        subject,
        certificate: &certificate,
        approval: &approval,
        format: "hash",
    };
    records::record(&mut tx, &act, &signed, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(signatures)
}
