//! Signing certificates for people (个人签名证书). A natural person whose login reached
//! level 3 on a registry-matched identity may hold one: a P-256 key made and kept by the
//! service under the KEK, certified by the issuing CA under the personal-signature
//! policy, naming the person (CN) with a keyed pseudonym of their resident ID number as
//! serialNumber, never the number. One live certificate per person; renewing revokes
//! the old one as superseded. Revoking publishes a new CRL in the same transaction.

use serde_json::json;
use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_crypto::ca::{Profile, hex};
use tongban_crypto::certified::Certified;
use tongban_crypto::cms;
use tongban_crypto::crl::RevocationReason;
use tongban_crypto::pki::Pki;
use tongban_identity::assurance::level_of_acr;
use tongban_identity::subjects::{self, SubjectId};
use tongban_ledger::{Entry, Kind};
use tongban_store::{Conn, Store, StoreError};

use crate::error::SignError;

/// The level a person's login needs to enrol or renew (L3). Signing needs no
/// session level: each signature needs its own approval, by passkey or password and
/// authenticator code.
pub const SIGNING_LEVEL: u8 = 3;
/// The label of the key the serialNumber pseudonyms are made with.
const PSEUDONYM_LABEL: &str = "tongban-esign-pseudonym v1";

/// A signing certificate as its holder sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningCertificate {
    /// Our id.
    pub id: String,
    /// Its serial, lowercase hex.
    pub serial: String,
    /// `active` or `revoked`.
    pub status: String,
    /// Valid until.
    pub valid_until: Timestamp,
    /// Issued.
    pub created_at: Timestamp,
    /// Revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// SHA-256 of the certificate (DER), hex.
    pub sha256: String,
    pub(crate) key_id: String,
}

impl SigningCertificate {
    /// Whether it can sign at `now`.
    pub fn usable(&self, now: Timestamp) -> bool {
        self.status == "active" && now < self.valid_until
    }
}

/// Why a person revokes their certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The device with the passkey is lost or someone else may use it.
    Lost,
    /// They no longer want it.
    NotNeeded,
}

impl Why {
    /// From the form's value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "lost" => Some(Self::Lost),
            "not-needed" => Some(Self::NotNeeded),
            _ => None,
        }
    }

    fn reason(self) -> RevocationReason {
        match self {
            Self::Lost => RevocationReason::KeyCompromise,
            Self::NotNeeded => RevocationReason::CessationOfOperation,
        }
    }
}

const COLUMNS: &str = "id, key_id, certificate_serial, certificate_sha256, status, valid_until, created_at, revoked_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<SigningCertificate, SignError> {
    Ok(SigningCertificate {
        id: row.try_get("id")?,
        key_id: row.try_get("key_id")?,
        serial: row.try_get("certificate_serial")?,
        sha256: row.try_get("certificate_sha256")?,
        status: row.try_get("status")?,
        valid_until: Timestamp::from_unix_millis(row.try_get("valid_until")?),
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
        revoked_at: row
            .try_get::<Option<i64>, _>("revoked_at")?
            .map(Timestamp::from_unix_millis),
    })
}

/// The certificates of `subject`, newest first.
pub async fn list(
    conn: &mut Conn,
    subject: SubjectId,
) -> Result<Vec<SigningCertificate>, SignError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM signing_certificates WHERE subject_id = $1 ORDER BY created_at DESC, id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(subject.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The live certificate of `subject`, if any.
pub async fn current(
    conn: &mut Conn,
    subject: SubjectId,
    now: Timestamp,
) -> Result<Option<SigningCertificate>, SignError> {
    Ok(list(conn, subject)
        .await?
        .into_iter()
        .find(|c| c.usable(now)))
}

/// Certificate `id` of `subject`.
pub async fn find(
    conn: &mut Conn,
    subject: SubjectId,
    id: &str,
) -> Result<SigningCertificate, SignError> {
    let sql =
        format!("SELECT {COLUMNS} FROM signing_certificates WHERE id = $1 AND subject_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(subject.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or(SignError::NotFound("signing certificate"))?;
    from_row(&row)
}

/// The key and chain of `certificate`.
pub async fn key_of(
    conn: &mut Conn,
    pki: &Pki,
    certificate: &SigningCertificate,
) -> Result<std::sync::Arc<Certified>, SignError> {
    Ok(pki
        .certified_in(conn, &certificate.key_id, &certificate.serial)
        .await?)
}

/// The pseudonym a person's certificates carry as serialNumber: HMAC under a key
/// derived from the KEK of their resident ID number, so the platform can find a
/// person's certificates from their number for a lawful lookup and nobody else can.
pub fn pseudonym(pki: &Pki, resident_id: &str) -> String {
    let mac = pki
        .keys()
        .derive(PSEUDONYM_LABEL)
        .mac(resident_id.as_bytes());
    format!("TB{}", hex(&mac[..16]).to_uppercase())
}

/// Issues the person of a level-3 login a signing certificate. With `renew`, their
/// live certificate is revoked as superseded in the same transaction; without, they
/// must not hold one.
pub async fn enrol(
    store: &Store,
    pki: &Pki,
    (subject, acr): (SubjectId, &str),
    renew: bool,
    now: Timestamp,
) -> Result<SigningCertificate, SignError> {
    if level_of_acr(acr) < SIGNING_LEVEL {
        return Err(SignError::Assurance);
    }
    let mut tx = store.begin().await?;
    let profile = subjects::profile_of(&mut tx, &subject.to_string())
        .await?
        .ok_or(SignError::NotFound("person"))?;
    let Some(resident_id) = profile
        .resident_id
        .as_deref()
        .filter(|_| profile.assurance >= 2)
    else {
        return Err(SignError::Denied(
            "only a person whose identity matched the registry holds a signing certificate".into(),
        ));
    };
    let live = current(&mut tx, subject, now).await?;
    match (&live, renew) {
        (Some(_), false) => {
            return Err(SignError::Conflict(
                "you hold a signing certificate already: renew or revoke it".into(),
            ));
        }
        (Some(old), true) => {
            revoke_in(
                &mut tx,
                pki,
                old,
                RevocationReason::Superseded,
                &subject.to_string(),
                now,
            )
            .await?;
        }
        (None, _) => {}
    }
    let personal = Profile::Personal {
        name: profile.name.clone(),
        pseudonym: pseudonym(pki, resident_id),
    };
    let (_, row) = pki.issue_in(&mut tx, &personal).await?;
    let certificate = SigningCertificate {
        id: tongban_core::id::Uuid::now_v7().to_string(),
        serial: row.serial.clone(),
        status: "active".into(),
        valid_until: row.not_after,
        created_at: now,
        revoked_at: None,
        sha256: hex(&cms::sha256(&row.der)),
        key_id: row.key_id.clone(),
    };
    sqlx::query(
        "INSERT INTO signing_certificates (id, subject_id, key_id, certificate_serial, certificate_sha256, \
         status, valid_until, created_at) VALUES ($1, $2, $3, $4, $5, 'active', $6, $7)",
    )
    .bind(&certificate.id)
    .bind(subject.to_string())
    .bind(&certificate.key_id)
    .bind(&certificate.serial)
    .bind(&certificate.sha256)
    .bind(certificate.valid_until.unix_millis())
    .bind(now.unix_millis())
    .execute(&mut *tx)
    .await?;
    let action = if renew {
        "signing_certificate.renewed"
    } else {
        "signing_certificate.issued"
    };
    audit(
        &mut tx,
        &subject.to_string(),
        action,
        &certificate,
        json!({}),
    )
    .await?;
    let mut entry = Entry::new(Kind::SigningCertificateIssued, now);
    entry.certificate = Some(certificate.sha256.clone());
    tongban_ledger::storage::append(&mut tx, &[entry], now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(certificate)
}

/// The person revokes their own certificate `id` (a lost phone is a revocation).
pub async fn revoke_own(
    store: &Store,
    pki: &Pki,
    subject: SubjectId,
    id: &str,
    why: Why,
    now: Timestamp,
) -> Result<SigningCertificate, SignError> {
    let mut tx = store.begin().await?;
    let found = find(&mut tx, subject, id).await?;
    if found.status != "active" {
        return Err(SignError::Conflict(
            "this certificate is revoked already".into(),
        ));
    }
    revoke_in(
        &mut tx,
        pki,
        &found,
        why.reason(),
        &subject.to_string(),
        now,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(SigningCertificate {
        status: "revoked".into(),
        revoked_at: Some(now),
        ..found
    })
}

/// A platform administrator revokes certificate `id`, whoever holds it.
pub async fn revoke_by_admin(
    store: &Store,
    pki: &Pki,
    admin: &tongban_identity::caller::Admin,
    id: &str,
    now: Timestamp,
) -> Result<(), SignError> {
    let mut tx = store.begin().await?;
    let sql = format!("SELECT {COLUMNS} FROM signing_certificates WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(SignError::NotFound("signing certificate"))?;
    let found = from_row(&row)?;
    if found.status != "active" {
        return Err(SignError::Conflict(
            "this certificate is revoked already".into(),
        ));
    }
    revoke_in(
        &mut tx,
        pki,
        &found,
        RevocationReason::PrivilegeWithdrawn,
        admin.actor(),
        now,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

async fn revoke_in(
    tx: &mut Conn,
    pki: &Pki,
    certificate: &SigningCertificate,
    reason: RevocationReason,
    actor: &str,
    now: Timestamp,
) -> Result<(), SignError> {
    let updated = sqlx::query(
        "UPDATE signing_certificates SET status = 'revoked', revoked_at = $2, revoked_by = $3 \
         WHERE id = $1 AND status = 'active'",
    )
    .bind(&certificate.id)
    .bind(now.unix_millis())
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(SignError::Conflict(
            "this certificate is revoked already".into(),
        ));
    }
    // Approvals given for it end with it: a signing under way that has not taken its
    // approval yet finds none (on PostgreSQL the row locks order the two).
    sqlx::query(
        "UPDATE signing_approvals SET status = 'used', signatures_left = 0 \
         WHERE certificate_id = $1 AND status IN ('pending', 'approved')",
    )
    .bind(&certificate.id)
    .execute(&mut *tx)
    .await?;
    pki.revoke_in(tx, &certificate.serial, reason).await?;
    let details = json!({ "reason": reason.name() });
    audit(
        tx,
        actor,
        "signing_certificate.revoked",
        certificate,
        details,
    )
    .await?;
    let mut entry = Entry::new(Kind::SigningCertificateRevoked, now);
    entry.certificate = Some(certificate.sha256.clone());
    tongban_ledger::storage::append(tx, &[entry], now).await?;
    Ok(())
}

async fn audit(
    tx: &mut Conn,
    actor: &str,
    action: &str,
    certificate: &SigningCertificate,
    mut details: serde_json::Value,
) -> Result<(), SignError> {
    details["serial"] = json!(certificate.serial);
    let event = AuditEvent::new(actor, action, Some(&certificate.id), None, details);
    tongban_store::audit::record(tx, &event).await?;
    Ok(())
}
