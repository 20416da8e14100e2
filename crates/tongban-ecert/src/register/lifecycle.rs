//! A certificate's life after issuance: revoke, suspend, resume (the status lists change
//! in the same transaction), and re-issue as a new version that supersedes the old.

use crate::error::{EcertError, invalid};
use crate::identifier::Identifier;
use crate::permissions;
use crate::status::{self, Purpose};
use serde_json::{Value, json};
use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_seal::permissions::Actor;
use tongban_store::Conn;
use tongban_store::changes::Changes;

use super::issuance::{Issuing, certificate_entry};
use super::{Certificate, HolderRef, NewCertificate, Status, find};
use tongban_ledger::Kind;

/// A change of status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Withdraw for good.
    Revoke,
    /// Withdraw until resumed.
    Suspend,
    /// Put a suspended certificate back in force.
    Resume,
}

/// Changes a certificate's status, with its status-list bit and an audit record, in
/// the caller's transaction.
pub async fn change_status(
    conn: &mut Conn,
    changes: &Changes,
    actor: &Actor,
    identifier: &Identifier,
    change: Change,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<Certificate, EcertError> {
    let mut certificate = find(conn, identifier).await?;
    permissions::may_issue(conn, actor, certificate.department_id).await?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if matches!(change, Change::Revoke | Change::Suspend) && reason.is_none() {
        return Err(invalid("reason", "revoking or suspending needs a reason"));
    }
    let (next, list, bit) = match (certificate.status, change) {
        (Status::Active | Status::Suspended, Change::Revoke) => {
            (Status::Revoked, Purpose::Revocation, true)
        }
        (Status::Active, Change::Suspend) => (Status::Suspended, Purpose::Suspension, true),
        (Status::Suspended, Change::Resume) => (Status::Active, Purpose::Suspension, false),
        (status, _) => {
            return Err(EcertError::Conflict(format!(
                "a {} certificate cannot be changed so",
                status.name()
            )));
        }
    };
    // Only a row still in the state read changes: a concurrent change loses cleanly.
    let changed = sqlx::query(
        "UPDATE ecerts SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4 AND status = $5",
    )
    .bind(next.name())
    .bind(reason)
    .bind(now.unix_millis())
    .bind(&certificate.id)
    .bind(certificate.status.name())
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() != 1 {
        return Err(EcertError::Conflict(
            "the certificate changed meanwhile; read it again".into(),
        ));
    }
    status::set(
        conn,
        &certificate.status_list_id,
        certificate.status_index,
        list,
        bit,
        now,
    )
    .await?;
    let event = AuditEvent::new(
        &actor.label(),
        &format!("ecert.{}", next.name()),
        Some(&certificate.identifier),
        None,
        json!({ "reason": reason, "client": actor.client_id() }),
    )
    .in_department(certificate.department_id);
    tongban_store::audit::record(conn, &event).await?;
    let kind = match change {
        Change::Revoke => Kind::CertificateRevoked,
        Change::Suspend => Kind::CertificateSuspended,
        Change::Resume => Kind::CertificateResumed,
    };
    let entry = certificate_entry(kind, &certificate, now);
    tongban_ledger::storage::append(conn, &[entry], now).await?;
    changes
        .announce(conn, super::TOPIC, &certificate.identifier)
        .await?;
    certificate.status = next;
    certificate.status_reason = reason.map(str::to_owned);
    Ok(certificate)
}

/// Re-issues a certificate with changed face data as its next version; the old one is
/// superseded (and marked revoked in the status list, so verifiers relying on the
/// list stop accepting it), and both name each other.
#[allow(clippy::too_many_arguments)] // Each is one thing the act is about.
pub async fn reissue(
    conn: &mut Conn,
    changes: &Changes,
    pki: &Pki,
    base: &str,
    actor: &Actor,
    identifier: &Identifier,
    face: Value,
    now: Timestamp,
) -> Result<Certificate, EcertError> {
    let old = find(conn, identifier).await?;
    if !matches!(old.status, Status::Active | Status::Suspended) {
        return Err(EcertError::Conflict(format!(
            "a {} certificate cannot be re-issued",
            old.status.name()
        )));
    }
    let issuing = Issuing::open(conn, pki, actor, &old.type_code, Some(old.department_id)).await?;
    if issuing.issuer.department_id != old.department_id {
        return Err(EcertError::Denied(
            "only the issuing department re-issues a certificate".into(),
        ));
    }
    let holder = sqlx::query(
        "SELECT name, COALESCE(resident_id, uscc) AS number FROM subjects WHERE id = $1",
    )
    .bind(old.holder_id.to_string())
    .fetch_one(&mut *conn)
    .await?;
    let new = NewCertificate {
        holder: HolderRef {
            id_number: holder.try_get("number")?,
            name: holder.try_get("name")?,
        },
        face,
    };
    issuing.validate(&new)?;
    let superseded = sqlx::query(
        "UPDATE ecerts SET status = 'superseded', updated_at = $1 WHERE id = $2 AND status = $3",
    )
    .bind(now.unix_millis())
    .bind(&old.id)
    .bind(old.status.name())
    .execute(&mut *conn)
    .await?;
    if superseded.rows_affected() != 1 {
        return Err(EcertError::Conflict(
            "the certificate changed meanwhile; read it again".into(),
        ));
    }
    let next = identifier.next_version();
    if next.version > 999 {
        return Err(EcertError::Conflict("no versions left".into()));
    }
    let holder = (
        old.holder_id,
        new.holder.id_number.clone(),
        new.holder.name.clone(),
    );
    let entry = status::allocate(conn, issuing.issuer.seal.id, 1, now)
        .await?
        .entry(0);
    let issued = issuing
        .store(
            conn,
            base,
            actor,
            &next,
            holder,
            &new,
            Some(&old),
            entry,
            now,
        )
        .await?;
    sqlx::query("UPDATE ecerts SET superseded_by = $1 WHERE id = $2")
        .bind(&issued.id)
        .bind(&old.id)
        .execute(&mut *conn)
        .await?;
    status::set(
        conn,
        &old.status_list_id,
        old.status_index,
        Purpose::Revocation,
        true,
        now,
    )
    .await?;
    changes
        .announce(conn, super::TOPIC, &old.identifier)
        .await?;
    Ok(issued)
}
