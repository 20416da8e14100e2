//! The record of every personal signature: what was signed, under which approval, and
//! the SHA-256 of the signature value (the CMS SignerInfo's `signature`), by which a
//! verification report finds it; with one transparency-log entry each. The person
//! sees their own on the account page.

use serde_json::json;
use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_crypto::{ca::hex, cms};
use tongban_identity::subjects::SubjectId;
use tongban_ledger::{Entry, Kind};
use tongban_store::Conn;

use crate::approval::Approval;
use crate::certificates::SigningCertificate;
use crate::error::SignError;

/// One signing act being recorded.
pub(crate) struct Act<'a> {
    pub subject: SubjectId,
    pub certificate: &'a SigningCertificate,
    pub approval: &'a Approval,
    /// `pades` (a request's document) or `hash` (CSC signHash).
    pub format: &'static str,
}

/// One signature made.
pub(crate) struct Made {
    /// SHA-256 of what was signed: the document, or the hash a CSC client sent.
    pub digest: [u8; 32],
    /// The signature value (SignerInfo `signature`).
    pub value: Vec<u8>,
    /// The CMS as made, when we made it (a request's PAdES signature): the log knows
    /// it by its hash, as it knows seal uses. A CSC client builds its own CMS, so its
    /// signatures are logged by their value's hash.
    pub cms: Option<Vec<u8>>,
}

/// Records `signed`: for each, the SHA-256 of what was signed and of the signature.
pub(crate) async fn record(
    tx: &mut Conn,
    act: &Act<'_>,
    signed: &[Made],
    now: Timestamp,
) -> Result<(), SignError> {
    let mut entries = Vec::with_capacity(signed.len());
    for made in signed {
        let digest = &made.digest;
        let value_sha256 = hex(&cms::sha256(&made.value));
        let logged = made
            .cms
            .as_deref()
            .map_or_else(|| value_sha256.clone(), |c| hex(&cms::sha256(c)));
        sqlx::query(
            "INSERT INTO personal_signatures (id, subject_id, certificate_id, approval_id, request_id, format, \
             document_sha256, value_sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tongban_core::id::Uuid::now_v7().to_string())
        .bind(act.subject.to_string())
        .bind(&act.certificate.id)
        .bind(&act.approval.id)
        .bind(act.approval.request_id.as_deref())
        .bind(act.format)
        .bind(hex(digest))
        .bind(&value_sha256)
        .bind(now.unix_millis())
        .execute(&mut *tx)
        .await?;
        let mut entry = Entry::new(Kind::SignaturePersonal, now);
        entry.certificate = Some(act.certificate.sha256.clone());
        entry.format = Some(act.format.to_owned());
        entry.document = Some(format!("sha256:{}", hex(digest)));
        entry.signature = Some(logged);
        entries.push(entry);
    }
    tongban_ledger::storage::append(tx, &entries, now).await?;
    let event = AuditEvent::new(
        &act.subject.to_string(),
        "signature.personal",
        act.approval.request_id.as_deref(),
        None,
        json!({
            "certificate": act.certificate.serial, "approval": act.approval.id,
            "method": act.approval.method, "format": act.format, "count": signed.len(),
        }),
    );
    tongban_store::audit::record(tx, &event).await?;
    Ok(())
}

/// A personal signature as its signer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonalSignature {
    /// When.
    pub at: Timestamp,
    /// `pades` or `hash`.
    pub format: String,
    /// SHA-256 of what was signed.
    pub document_sha256: String,
    /// The request, if any.
    pub request_id: Option<String>,
    /// The requesting client's name, if any.
    pub requester: Option<String>,
    /// How it was approved: `hwk`, `swk` or `otp`.
    pub method: Option<String>,
}

/// The latest signatures of `subject`, newest first.
pub async fn of_subject(
    conn: &mut Conn,
    subject: SubjectId,
    limit: i64,
) -> Result<Vec<PersonalSignature>, SignError> {
    let rows = sqlx::query(
        "SELECT s.created_at, s.format, s.document_sha256, s.request_id, c.name AS requester, a.method \
         FROM personal_signatures s JOIN signing_approvals a ON a.id = s.approval_id \
         LEFT JOIN signing_requests r ON r.id = s.request_id LEFT JOIN clients c ON c.id = r.client_id \
         WHERE s.subject_id = $1 ORDER BY s.created_at DESC, s.id DESC LIMIT $2",
    )
    .bind(subject.to_string())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PersonalSignature {
                at: Timestamp::from_unix_millis(r.try_get("created_at")?),
                format: r.try_get("format")?,
                document_sha256: r.try_get("document_sha256")?,
                request_id: r.try_get("request_id")?,
                requester: r.try_get("requester")?,
                method: r.try_get("method")?,
            })
        })
        .collect()
}

/// What a verification report says of a personal signature we made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signatory {
    /// The person's name.
    pub name: String,
    /// Their resident ID number, masked (`110105********002X`).
    pub masked_id: Option<String>,
    /// How they approved: `hwk`, `swk` (passkey) or `otp` (password and authenticator).
    pub method: Option<String>,
    /// The signing request, if any.
    pub request_id: Option<String>,
    /// When we signed.
    pub at: Timestamp,
}

/// The signatory of the signature whose value (SignerInfo `signature`) has SHA-256
/// `value_sha256`, if we made it.
pub async fn signatory(
    conn: &mut Conn,
    value_sha256: &[u8; 32],
) -> Result<Option<Signatory>, SignError> {
    let row = sqlx::query(
        "SELECT p.name, p.resident_id, a.method, s.request_id, s.created_at FROM personal_signatures s \
         JOIN subjects p ON p.id = s.subject_id JOIN signing_approvals a ON a.id = s.approval_id \
         WHERE s.value_sha256 = $1 LIMIT 1",
    )
    .bind(hex(value_sha256))
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let resident_id: Option<String> = row.try_get("resident_id")?;
    Ok(Some(Signatory {
        name: row.try_get("name")?,
        masked_id: resident_id
            .and_then(|id| id.parse::<tongban_identity::resident_id::ResidentId>().ok())
            .map(|id| id.masked()),
        method: row.try_get("method")?,
        request_id: row.try_get("request_id")?,
        at: Timestamp::from_unix_millis(row.try_get("created_at")?),
    }))
}
