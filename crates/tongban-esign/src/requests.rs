//! Signing requests (签署任务): a department system or portal (scope `sign:request`)
//! asks a person to sign 1–20 PDFs for a stated purpose by a deadline, each with the
//! place its signature goes. The person finds it on their account page and at
//! `/sign/{id}`, signs ([`crate::signing`]) or declines; the requester collects the
//! signed documents. Documents are kept only until collected or expired.
//!
//! A request is the requester's: its client, or another client system of the same
//! department, reads and collects it; nobody else learns it exists.

use serde_json::json;
use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_crypto::{ca::hex, cms};
use tongban_identity::caller::Caller;
use tongban_identity::resident_id::ResidentId;
use tongban_identity::subjects::{self, SubjectId};
use tongban_identity::{clients, pairwise};
use tongban_seal::pdf;
use tongban_store::idempotency::{self, Recalled};
use tongban_store::{Conn, Store, StoreError};

use crate::error::SignError;

// How a request ends (declined, signed, expired, collected) lives in `lifecycle`.
pub(crate) use crate::lifecycle::finish;
pub use crate::lifecycle::{collected, decline, shown_status, sweep};
// Reading a request's documents lives in `request_documents`.
pub(crate) use crate::request_documents::bytes_of;
pub use crate::request_documents::{Version, document_for_signer, signed_document};

/// The scope that creates and collects signing requests.
pub const REQUEST_SCOPE: &str = "sign:request";
/// Documents per request.
pub const MAX_DOCUMENTS: usize = 20;
/// Longest deadline.
pub const MAX_DEADLINE_MS: i64 = 30 * 24 * 3600 * 1000;
/// Signed documents not collected are erased this long after signing.
pub const RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;
/// Longest purpose and decline reason.
pub const MAX_TEXT_CHARS: usize = 500;

/// Who signs: by resident ID number, or by the `sub` the requesting portal knows them by.
#[derive(Clone, Debug)]
pub enum SignerRef {
    /// Resident ID number.
    IdNumber(String),
    /// The portal's subject identifier (pairwise for third-party portals).
    Sub(String),
}

/// One document of a new request.
#[derive(Clone, Debug)]
pub struct NewDocument {
    /// Its name, shown to the person.
    pub name: String,
    /// The PDF.
    pub pdf: Vec<u8>,
    /// Where the signature goes.
    pub placement: pdf::Placement,
}

/// A new request.
#[derive(Clone, Debug)]
pub struct NewRequest {
    /// Who signs.
    pub signer: SignerRef,
    /// Why, shown to the person.
    pub purpose: String,
    /// The documents.
    pub documents: Vec<NewDocument>,
    /// When it expires.
    pub deadline: Timestamp,
    /// Where the finished request is announced (https; http on loopback in development).
    pub callback_url: Option<String>,
}

/// A document of a request, without its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct DocumentInfo {
    /// 1-based.
    pub position: i64,
    /// Name.
    pub name: String,
    /// SHA-256 of the document as sent, hex.
    pub sha256: String,
    /// Pages.
    pub pages: i64,
    /// Where the signature goes.
    pub placement: (i64, f64, f64, f64),
    /// SHA-256 of the signed document, once signed.
    pub signed_sha256: Option<String>,
    /// Whether its bytes are still kept.
    pub kept: bool,
}

/// A request.
#[derive(Clone, Debug, PartialEq)]
pub struct SigningRequest {
    /// Its id.
    pub id: String,
    /// The requesting client.
    pub client_id: String,
    /// The requesting client's name, shown to the person.
    pub requester: String,
    /// The relative (or counter clerk) who started it for the person, by name.
    pub started_by: Option<String>,
    /// Who signs.
    pub signer: SubjectId,
    /// Why.
    pub purpose: String,
    /// `pending`, `signed`, `declined` or `expired`.
    pub status: String,
    /// The person's reason, when declined.
    pub decline_reason: Option<String>,
    /// When it expires.
    pub deadline: Timestamp,
    /// Created.
    pub created_at: Timestamp,
    /// Signed or declined.
    pub completed_at: Option<Timestamp>,
    /// Collected by the requester.
    pub collected_at: Option<Timestamp>,
    /// The documents.
    pub documents: Vec<DocumentInfo>,
}

impl SigningRequest {
    /// Whether the person can still sign or decline it at `now`.
    pub fn open(&self, now: Timestamp) -> bool {
        self.status == "pending" && now < self.deadline
    }

    /// The SHA-256 of each document, as the request stores them: what an approval of it
    /// commits to.
    pub fn digests(&self) -> Result<Vec<[u8; 32]>, SignError> {
        self.documents
            .iter()
            .map(|d| {
                let corrupt = || StoreError::Corrupt("document digest".into());
                let bytes: Vec<u8> = (0..d.sha256.len())
                    .step_by(2)
                    .map(|i| {
                        d.sha256
                            .get(i..i + 2)
                            .and_then(|h| u8::from_str_radix(h, 16).ok())
                    })
                    .collect::<Option<_>>()
                    .ok_or_else(corrupt)?;
                Ok(<[u8; 32]>::try_from(bytes).map_err(|_| corrupt())?)
            })
            .collect()
    }
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> SignError {
    SignError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Checks a callback URL: https, or http to a loopback host when `loopback_http`.
pub fn check_callback(url: &str, loopback_http: bool) -> Result<(), SignError> {
    let parsed = url::Url::parse(url).map_err(|e| invalid("callback_url", e.to_string()))?;
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback_http && loopback => Ok(()),
        _ => Err(invalid(
            "callback_url",
            "must be https (http only to loopback, in development)",
        )),
    }
}

async fn resolve_signer(
    conn: &mut Conn,
    client: &clients::Client,
    signer: &SignerRef,
) -> Result<SubjectId, SignError> {
    let unknown = || invalid("signer", "no such person is registered");
    let id = match signer {
        SignerRef::IdNumber(number) => {
            let parsed: ResidentId =
                number
                    .parse()
                    .map_err(|e: tongban_identity::resident_id::ResidentIdError| {
                        invalid("signer.id_number", e.to_string())
                    })?;
            subjects::find_by_resident_id(conn, &parsed)
                .await?
                .ok_or_else(unknown)?
        }
        SignerRef::Sub(sub) => {
            let subject = match &client.sector {
                Some(sector) => pairwise::resolve(conn, sector, sub).await?,
                None => Some(sub.clone()),
            };
            subject.and_then(|s| s.parse().ok()).ok_or_else(unknown)?
        }
    };
    let natural = sqlx::query("SELECT 1 FROM subjects WHERE id = $1 AND kind = 'natural'")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    natural.map(|_| id).ok_or_else(unknown)
}

/// For a caller acting for a person (a relative, or a clerk at the counter): who they
/// are, if the authority is in force, covers starting signing requests and `signer` is
/// the person it is for. Nobody is asked to sign by someone acting for another.
async fn delegate_for(
    conn: &mut Conn,
    caller: &Caller,
    signer: SubjectId,
    now: Timestamp,
) -> Result<Option<SubjectId>, SignError> {
    use tongban_identity::delegation::{self, Matter};
    let Some(id) = &caller.delegation else {
        return Ok(None);
    };
    let authority = delegation::find(conn, id).await?;
    match authority {
        Some(d) if d.live(now) && d.covers(Matter::SigningRequests) && d.principal == signer => {
            Ok(Some(d.delegate))
        }
        Some(d) if d.live(now) && d.covers(Matter::SigningRequests) => Err(SignError::Denied(
            "acting for a person, a signing request goes to that person only".into(),
        )),
        _ => Err(SignError::Denied(
            "the authority this token acts under does not cover signing requests".into(),
        )),
    }
}

/// A creation's `Idempotency-Key` and the request as sent (its body and query), which
/// the key names.
pub struct Retryable<'a> {
    /// The caller's key.
    pub key: &'a str,
    /// The request's bytes.
    pub request: &'a [u8],
}

/// Creates a request for the calling client (scope `sign:request`). With a key, a
/// retry of the same request (by the same client for the same person, within a day)
/// creates nothing and answers the request the first one created, as it stands now;
/// the key with another request is a conflict.
pub async fn create(
    store: &Store,
    caller: &Caller,
    new: NewRequest,
    retryable: Option<Retryable<'_>>,
    loopback_http: bool,
    now: Timestamp,
) -> Result<SigningRequest, SignError> {
    if !caller.has_scope(REQUEST_SCOPE) {
        return Err(SignError::Denied(format!(
            "this needs the scope {REQUEST_SCOPE}"
        )));
    }
    let purpose = new.purpose.trim().to_owned();
    if purpose.is_empty() || purpose.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(
            "purpose",
            format!("1 to {MAX_TEXT_CHARS} characters"),
        ));
    }
    if new.documents.is_empty() || new.documents.len() > MAX_DOCUMENTS {
        return Err(invalid(
            "documents",
            format!("1 to {MAX_DOCUMENTS} documents"),
        ));
    }
    let deadline = new.deadline.unix_millis();
    if deadline <= now.unix_millis() || deadline > now.unix_millis() + MAX_DEADLINE_MS {
        return Err(invalid("deadline", "in the future, at most 30 days ahead"));
    }
    if let Some(url) = &new.callback_url {
        check_callback(url, loopback_http)?;
    }
    // Reading the PDFs is CPU work: off the async workers.
    let documents = new.documents;
    let checked = tokio::task::spawn_blocking(move || {
        documents
            .into_iter()
            .map(|d| {
                let name = d.name.trim().to_owned();
                if name.is_empty() || name.chars().count() > 200 {
                    return Err(invalid("documents.name", "1 to 200 characters"));
                }
                let position = pdf::Position::One(d.placement.clone());
                let pages = pdf::check(&d.pdf, &position)
                    .map_err(|e| invalid("documents.pdf", format!("{name}: {e}")))?;
                let sha256 = hex(&cms::sha256(&d.pdf));
                Ok((d, name, pages, sha256))
            })
            .collect::<Result<Vec<_>, SignError>>()
    })
    .await??;
    let mut tx = store.begin().await?;
    let client = clients::find(&mut tx, &caller.client_id)
        .await
        .map_err(|e| SignError::Internal(e.to_string()))?
        .ok_or_else(|| SignError::Denied("unknown client".into()))?;
    // The key is the client's, for the person it acts for: a portal's key for one
    // citizen is not another's.
    let keyed = retryable.map(|r| {
        let actor = format!(
            "signing-request client:{} subject:{} delegation:{}",
            caller.client_id,
            caller.subject,
            caller.delegation.as_deref().unwrap_or("-")
        );
        (actor, r.key, hex(&cms::sha256(r.request)))
    });
    if let Some((actor, key, hash)) = &keyed {
        match idempotency::recall(&mut tx, actor, key, hash, now).await? {
            None => {}
            Some(Recalled::OtherRequest) => {
                return Err(SignError::Conflict(
                    "this Idempotency-Key was used for another request".into(),
                ));
            }
            Some(Recalled::Answer(id)) => {
                let created = load(&mut tx, &id)
                    .await?
                    .ok_or(SignError::NotFound("signing request"))?;
                tx.commit().await.map_err(StoreError::from)?;
                return Ok(created);
            }
        }
    }
    let signer = match resolve_signer(&mut tx, &client, &new.signer).await {
        // Acting for a person, an unknown number is refused like a third person's, so
        // that nobody learns through it who is registered.
        Err(SignError::Invalid { .. }) if caller.delegation.is_some() => {
            return Err(SignError::Denied(
                "acting for a person, a signing request goes to that person only".into(),
            ));
        }
        other => other?,
    };
    let started_by = delegate_for(&mut tx, caller, signer, now).await?;
    let id = tongban_core::id::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO signing_requests (id, client_id, department_id, signer_id, purpose, status, callback_url, \
         deadline, created_at, started_by) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(&client.id)
    .bind(client.department_id.map(|d| d.to_string()))
    .bind(signer.to_string())
    .bind(&purpose)
    .bind(new.callback_url.as_deref())
    .bind(deadline)
    .bind(now.unix_millis())
    .bind(started_by.map(|s| s.to_string()))
    .execute(&mut *tx)
    .await?;
    for (i, (document, name, pages, sha256)) in checked.iter().enumerate() {
        let p = &document.placement;
        sqlx::query(
            "INSERT INTO signing_documents (request_id, position, name, sha256, pages, page, x, y, size, original) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(i as i64 + 1)
        .bind(name)
        .bind(sha256)
        .bind(i64::from(*pages))
        .bind(i64::from(p.page))
        .bind(f64::from(p.x))
        .bind(f64::from(p.y))
        .bind(f64::from(p.size))
        .bind(&document.pdf)
        .execute(&mut *tx)
        .await?;
    }
    let event = AuditEvent::new(
        &format!("client:{}", client.id),
        "signing_request.created",
        Some(&id),
        caller.request_id.clone(),
        json!({
            "signer": signer.to_string(), "documents": checked.len(),
            "started_by": started_by.map(|s| s.to_string()), "delegation": caller.delegation,
        }),
    );
    tongban_store::audit::record(&mut tx, &event).await?;
    if let Some((actor, key, hash)) = &keyed {
        idempotency::remember(&mut tx, actor, key, hash, &id, now).await?;
    }
    let created = load(&mut tx, &id)
        .await?
        .ok_or(SignError::NotFound("signing request"))?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(created)
}

pub(crate) async fn load(conn: &mut Conn, id: &str) -> Result<Option<SigningRequest>, SignError> {
    let Some(row) = sqlx::query(
        "SELECT r.id, r.client_id, c.name AS requester, r.signer_id, r.purpose, r.status, r.decline_reason, \
         r.deadline, r.created_at, r.completed_at, r.collected_at, s.name AS started_by \
         FROM signing_requests r LEFT JOIN clients c ON c.id = r.client_id \
         LEFT JOIN subjects s ON s.id = r.started_by WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let documents = sqlx::query(
        "SELECT position, name, sha256, pages, page, x, y, size, signed_sha256, \
         CASE WHEN original IS NOT NULL OR signed IS NOT NULL THEN 1 ELSE 0 END AS kept \
         FROM signing_documents WHERE request_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|d| {
        Ok(DocumentInfo {
            position: d.try_get("position")?,
            name: d.try_get("name")?,
            sha256: d.try_get("sha256")?,
            pages: d.try_get("pages")?,
            placement: (
                d.try_get("page")?,
                d.try_get("x")?,
                d.try_get("y")?,
                d.try_get("size")?,
            ),
            signed_sha256: d.try_get("signed_sha256")?,
            kept: d.try_get::<i64, _>("kept")? == 1,
        })
    })
    .collect::<Result<Vec<_>, SignError>>()?;
    let millis = |name: &str| -> Result<Option<Timestamp>, SignError> {
        Ok(row
            .try_get::<Option<i64>, _>(name)?
            .map(Timestamp::from_unix_millis))
    };
    Ok(Some(SigningRequest {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        requester: row
            .try_get::<Option<String>, _>("requester")?
            .unwrap_or_default(),
        started_by: row.try_get("started_by")?,
        signer: row
            .try_get::<String, _>("signer_id")?
            .parse()
            .map_err(|_| StoreError::Corrupt("signer id".into()))?,
        purpose: row.try_get("purpose")?,
        status: row.try_get("status")?,
        decline_reason: row.try_get("decline_reason")?,
        deadline: Timestamp::from_unix_millis(row.try_get("deadline")?),
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
        completed_at: millis("completed_at")?,
        collected_at: millis("collected_at")?,
        documents,
    }))
}

/// Whether `caller` is the request's requester: its client, or a client system of the
/// same department.
async fn is_requester(
    conn: &mut Conn,
    caller: &Caller,
    request: &SigningRequest,
) -> Result<bool, SignError> {
    // Someone acting for a person starts requests to them; reading, downloading and
    // collecting are the requesting system's.
    if caller.delegation.is_some() {
        return Ok(false);
    }
    if caller.client_id == request.client_id {
        return Ok(true);
    }
    let row = sqlx::query(
        "SELECT 1 FROM signing_requests r JOIN clients c ON c.id = $2 \
         WHERE r.id = $1 AND r.department_id IS NOT NULL AND c.department_id = r.department_id",
    )
    .bind(&request.id)
    .bind(&caller.client_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Request `id` as its requester sees it (scope `sign:request`).
pub async fn for_requester(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
) -> Result<SigningRequest, SignError> {
    if !caller.has_scope(REQUEST_SCOPE) {
        return Err(SignError::Denied(format!(
            "this needs the scope {REQUEST_SCOPE}"
        )));
    }
    match load(conn, id).await? {
        Some(request) if is_requester(conn, caller, &request).await? => Ok(request),
        _ => Err(SignError::NotFound("signing request")),
    }
}

/// Request `id` as the person asked to sign it sees it.
pub async fn for_signer(
    conn: &mut Conn,
    subject: SubjectId,
    id: &str,
) -> Result<SigningRequest, SignError> {
    match load(conn, id).await? {
        Some(request) if request.signer == subject => Ok(request),
        _ => Err(SignError::NotFound("signing request")),
    }
}

/// The requests to `subject`, newest first (the 50 latest).
pub async fn of_signer(
    conn: &mut Conn,
    subject: SubjectId,
) -> Result<Vec<SigningRequest>, SignError> {
    let ids: Vec<String> = sqlx::query(
        "SELECT id FROM signing_requests WHERE signer_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50",
    )
    .bind(subject.to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(load(conn, &id).await?);
    }
    Ok(out)
}
