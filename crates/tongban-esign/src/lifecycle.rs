//! How a signing request ends: the person declines or signs it ([`finish`], called by
//! [`crate::signing`]), it expires at its deadline ([`sweep`]), the requester collects
//! it; and the erasure of its documents that each of these brings.

use serde_json::json;
use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_identity::caller::Caller;
use tongban_identity::subjects::SubjectId;
use tongban_store::{Conn, Store, StoreError};

use crate::error::SignError;
use crate::requests::{
    MAX_TEXT_CHARS, RETENTION_MS, SigningRequest, for_requester, for_signer, invalid, load,
};

/// The requester has what it needs: the documents are erased.
pub async fn collected(
    store: &Store,
    caller: &Caller,
    id: &str,
    now: Timestamp,
) -> Result<SigningRequest, SignError> {
    let mut tx = store.begin().await?;
    let request = for_requester(&mut tx, caller, id).await?;
    if request.status == "pending" {
        return Err(SignError::Conflict("the request is still pending".into()));
    }
    erase(&mut tx, id).await?;
    sqlx::query(
        "UPDATE signing_requests SET collected_at = $2 WHERE id = $1 AND collected_at IS NULL",
    )
    .bind(id)
    .bind(now.unix_millis())
    .execute(&mut *tx)
    .await?;
    let event = AuditEvent::new(
        &format!("client:{}", caller.client_id),
        "signing_request.collected",
        Some(id),
        caller.request_id.clone(),
        json!({}),
    );
    tongban_store::audit::record(&mut tx, &event).await?;
    let request = load(&mut tx, id)
        .await?
        .ok_or(SignError::NotFound("signing request"))?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(request)
}

async fn erase(conn: &mut Conn, id: &str) -> Result<(), SignError> {
    sqlx::query(
        "UPDATE signing_documents SET original = NULL, signed = NULL WHERE request_id = $1",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The person declines request `id`, with a reason the requester reads.
pub async fn decline(
    store: &Store,
    subject: SubjectId,
    id: &str,
    reason: &str,
    now: Timestamp,
) -> Result<SigningRequest, SignError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(
            "reason",
            format!("1 to {MAX_TEXT_CHARS} characters"),
        ));
    }
    let mut tx = store.begin().await?;
    let request = for_signer(&mut tx, subject, id).await?;
    if !request.open(now) {
        return Err(SignError::Conflict(format!(
            "the request is {}",
            shown_status(&request, now)
        )));
    }
    finish(&mut tx, &request, ("declined", Some(reason)), now).await?;
    erase(&mut tx, id).await?;
    let event = AuditEvent::new(
        &subject.to_string(),
        "signing_request.declined",
        Some(id),
        None,
        json!({ "reason": reason }),
    );
    tongban_store::audit::record(&mut tx, &event).await?;
    let request = load(&mut tx, id)
        .await?
        .ok_or(SignError::NotFound("signing request"))?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(request)
}

/// The status as the person and requester should read it at `now`: a pending request
/// past its deadline is expired, whether or not the sweeper has marked it yet.
pub fn shown_status(request: &SigningRequest, now: Timestamp) -> &str {
    if request.status == "pending" && now >= request.deadline {
        "expired"
    } else {
        &request.status
    }
}

/// Ends a pending request as `status`, once, and queues its callback.
pub(crate) async fn finish(
    tx: &mut Conn,
    request: &SigningRequest,
    (status, reason): (&str, Option<&str>),
    now: Timestamp,
) -> Result<(), SignError> {
    let updated = sqlx::query(
        "UPDATE signing_requests SET status = $2, decline_reason = $3, completed_at = $4 \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(&request.id)
    .bind(status)
    .bind(reason)
    .bind(now.unix_millis())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(SignError::Conflict(
            "the request was answered already".into(),
        ));
    }
    crate::callbacks::enqueue(tx, &request.id, now).await
}

/// Marks requests past their deadline expired and erases their documents; erases
/// signed documents not collected within [`RETENTION_MS`]. Returns how many requests
/// expired.
pub async fn sweep(store: &Store, now: Timestamp) -> Result<u64, SignError> {
    let mut tx = store.begin().await?;
    let due: Vec<String> = sqlx::query(
        "SELECT id FROM signing_requests WHERE status = 'pending' AND deadline <= $1 LIMIT 500",
    )
    .bind(now.unix_millis())
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<Result<_, _>>()?;
    for id in &due {
        if let Some(request) = load(&mut tx, id).await? {
            finish(&mut tx, &request, ("expired", None), now).await?;
            erase(&mut tx, id).await?;
        }
    }
    sqlx::query(
        "UPDATE signing_documents SET original = NULL, signed = NULL WHERE (original IS NOT NULL OR signed IS NOT NULL) \
         AND request_id IN (SELECT id FROM signing_requests WHERE status <> 'pending' AND completed_at <= $1)",
    )
    .bind(now.unix_millis() - RETENTION_MS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(due.len() as u64)
}
