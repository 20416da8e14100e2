//! Applying a seal: CAdES B-T detached signatures (`.p7s`) over files or bare SHA-256
//! digests, and detached JWS. Each signature is made inside the transaction that
//! writes its usage record, and is handed out only after that commit: nothing is
//! signed without a record. A refusal is written to the audit trail.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, json};
use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_crypto::certified::Certified;
use tongban_crypto::cms;
use tongban_crypto::jose;
use tongban_crypto::pki::Pki;
use tongban_store::{Conn, Store, StoreError};

use crate::error::SealError;
pub use crate::format::Format;
use crate::permissions::{self, Actor};
use crate::registry::{self, Seal, SealId};
use crate::{grants, image, pdf};

/// Most digests one call may seal.
pub const MAX_BATCH: usize = 1000;

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    tongban_crypto::ca::hex(bytes)
}

/// Opens the signing transaction: the seal, the caller's right to use it now, its
/// key and certificate chain (seal certificate, issuing CA). A refusal is audited in a
/// transaction of its own (the signing one rolls back).
pub(crate) async fn prepare(
    store: &Store,
    pki: &Pki,
    actor: &Actor,
    (seal, format): (SealId, Format),
    purpose: Option<&str>,
    now: Timestamp,
) -> Result<(tongban_store::Tx, Seal, Arc<Certified>), SealError> {
    let how = (Authority::Grant, format);
    prepare_as(store, pki, actor, seal, purpose, how, now).await
}

/// On what authority a seal is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authority {
    /// The actor's own grant of the seal (staff or a client system).
    Grant,
    /// The seal's department designated it for this use (the seal that signs a
    /// certificate type's renditions); the actor is recorded but needs no grant.
    Designated,
}

async fn prepare_as(
    store: &Store,
    pki: &Pki,
    actor: &Actor,
    seal: SealId,
    purpose: Option<&str>,
    how: (Authority, Format),
    now: Timestamp,
) -> Result<(tongban_store::Tx, Seal, Arc<Certified>), SealError> {
    let mut tx = store.begin().await?;
    let found = registry::find_locked(&mut tx, seal).await?;
    if let Err(refusal) = authorise(&mut tx, actor, &found, purpose, how, now).await {
        drop(tx);
        audit_refusal(store, actor, seal, &refusal).await?;
        return Err(refusal);
    }
    let key = pki
        .certified_in(&mut tx, &found.key_id, &found.certificate_serial)
        .await?;
    Ok((tx, found, key))
}

/// May `actor` apply `seal` now on `authority`, in `format`: a grant to the actor, or
/// the department's designation (then only the seal's own state counts).
async fn authorise(
    conn: &mut Conn,
    actor: &Actor,
    seal: &Seal,
    purpose: Option<&str>,
    (authority, format): (Authority, Format),
    now: Timestamp,
) -> Result<(), SealError> {
    match authority {
        Authority::Grant => grants::may_use(conn, actor, seal, purpose, now).await?,
        Authority::Designated => seal.usable(now)?,
    }
    // After the right to use it: a caller without one learns nothing of the seal.
    seal.makes(format)
}

async fn audit_refusal(
    store: &Store,
    actor: &Actor,
    seal: SealId,
    refusal: &SealError,
) -> Result<(), SealError> {
    let mut tx = store.begin().await?;
    let event = AuditEvent::new(
        &actor.label(),
        "seal.use_refused",
        Some(&seal.to_string()),
        None,
        json!({ "reason": refusal.to_string(), "client": actor.client_id() }),
    );
    tongban_store::audit::record(&mut tx, &event).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

async fn record_usage(
    tx: &mut Conn,
    seal: &Seal,
    actor: &Actor,
    digest: &[u8; 32],
    format: Format,
    purpose: Option<&str>,
    now: Timestamp,
) -> Result<(), SealError> {
    record_usages(tx, seal, actor, &[*digest], format, purpose, now).await
}

/// One usage record per digest (SM3 for GB/T 38540 signatures, SHA-256 for the
/// others), a hundred rows per statement.
pub(crate) async fn record_usages(
    tx: &mut Conn,
    seal: &Seal,
    actor: &Actor,
    digests: &[[u8; 32]],
    format: Format,
    purpose: Option<&str>,
    now: Timestamp,
) -> Result<(), SealError> {
    let purpose = purpose.map(str::trim).filter(|p| !p.is_empty());
    for chunk in digests.chunks(100) {
        let mut placeholders = tongban_store::rows::Placeholders::on(tx);
        let rows: Vec<String> = chunk.iter().map(|_| placeholders.row(8)).collect();
        let column = match format {
            Format::Ses => "digest_sm3",
            Format::Cades | Format::Pades | Format::Jws => "digest_sha256",
        };
        let sql = format!(
            "INSERT INTO seal_usages (id, seal_id, actor, client_id, {column}, format, purpose, created_at) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for digest in chunk {
            query = query
                .bind(tongban_core::id::Uuid::now_v7().to_string())
                .bind(seal.id.to_string())
                .bind(actor.label())
                .bind(actor.client_id())
                .bind(hex(digest))
                .bind(format.name())
                .bind(purpose)
                .bind(now.unix_millis());
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

/// CAdES B-T detached signatures, one per SHA-256 digest (the documents never reach
/// us), each with a signature time-stamp from our TSA.
pub async fn cades_digests(
    store: &Store,
    pki: &Pki,
    actor: &Actor,
    seal: SealId,
    digests: &[[u8; 32]],
    purpose: Option<&str>,
) -> Result<Vec<Vec<u8>>, SealError> {
    if digests.is_empty() || digests.len() > MAX_BATCH {
        return Err(SealError::Invalid {
            field: "digests",
            reason: format!("1 to {MAX_BATCH} digests per call"),
        });
    }
    let now = Timestamp::now();
    let (mut tx, found, key) =
        prepare(store, pki, actor, (seal, Format::Cades), purpose, now).await?;
    // Two signatures per digest (ours and the time-stamp's): CPU work, off the async
    // workers; the usage records are written a hundred per statement.
    let tsa = pki.tsa().clone();
    let owned = digests.to_vec();
    let signatures = tokio::task::spawn_blocking(move || {
        owned
            .iter()
            .map(|digest| {
                let signed =
                    cms::sign_detached_with(key.signer.as_ref(), key.cms()?, *digest, Some(now))?;
                Ok(tsa.stamp(signed)?)
            })
            .collect::<Result<Vec<_>, SealError>>()
    })
    .await
    .map_err(|_| SealError::Crypto(tongban_crypto::CryptoError::Sign))??;
    record_usages(&mut tx, &found, actor, digests, Format::Cades, purpose, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(signatures)
}

/// A JWS (compact, detached payload, RFC 7515 Appendix F) over `payload`, with the
/// certificate chain in `x5c` and the signing time in `sigT` (ETSI TS 119 182-1).
pub async fn jws_detached(
    store: &Store,
    pki: &Pki,
    actor: &Actor,
    seal: SealId,
    payload: &[u8],
    purpose: Option<&str>,
) -> Result<String, SealError> {
    let now = Timestamp::now();
    let (mut tx, found, key) =
        prepare(store, pki, actor, (seal, Format::Jws), purpose, now).await?;
    let mut header = Map::new();
    header.insert(
        "x5c".into(),
        json!(
            key.chain
                .iter()
                .map(|der| B64.encode(der))
                .collect::<Vec<_>>()
        ),
    );
    header.insert("sigT".into(), json!(now.to_rfc3339()));
    let jws = jose::sign_detached(key.signer.as_ref(), payload, &header)?;
    record_usage(
        &mut tx,
        &found,
        actor,
        &cms::sha256(payload),
        Format::Jws,
        purpose,
        now,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(jws)
}

/// A document as it arrives, hashed as it is read: its digest names it in the usage
/// record and begins what a PAdES signature covers. The hash runs on a thread of its
/// own beside the reading (SHA-256 here is slower than loopback), so that a document
/// is hashed by about when it has arrived, and is parsed while the hash finishes.
pub struct Incoming {
    bytes: Vec<u8>,
    hashing: Hashing,
}

enum Hashing {
    /// Chunks go to the hashing thread, a few at a time: the reader waits rather than
    /// let unhashed chunks pile up beside the document.
    Streamed {
        chunks: tokio::sync::mpsc::Sender<bytes::Bytes>,
        hashed: tokio::task::JoinHandle<cms::Sha256>,
    },
    /// Hashed on the reading task, chunk by chunk, or at once.
    Done(Box<cms::Sha256>),
}

/// Chunks handed to the hashing thread and not yet hashed, at most.
const CHUNKS_IN_FLIGHT: usize = 16;

/// Uploads hashed on threads of their own at once, at most: a thread waits through
/// its whole upload, so slow uploads must not take the blocking pool. Beyond these,
/// documents are hashed on the reading task.
static HASHING_THREADS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(HASHING_THREAD_COUNT);
const HASHING_THREAD_COUNT: usize = 8;

impl Incoming {
    /// Room for `capacity` bytes (a declared length), none read yet.
    pub fn with_capacity(capacity: usize) -> Self {
        let bytes = Vec::with_capacity(capacity);
        let Ok(permit) = HASHING_THREADS.try_acquire() else {
            return Self {
                bytes,
                hashing: Hashing::Done(Box::new(cms::Sha256::new())),
            };
        };
        let (chunks, mut received) = tokio::sync::mpsc::channel::<bytes::Bytes>(CHUNKS_IN_FLIGHT);
        let hashed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut hasher = cms::Sha256::new();
            while let Some(chunk) = received.blocking_recv() {
                hasher.update(&chunk);
            }
            hasher
        });
        Self {
            bytes,
            hashing: Hashing::Streamed { chunks, hashed },
        }
    }

    /// The next bytes.
    pub async fn push(&mut self, chunk: bytes::Bytes) {
        self.bytes.extend_from_slice(&chunk);
        match &mut self.hashing {
            Hashing::Streamed { chunks, .. } => {
                // The thread ends only when the sender is dropped: it is still there.
                let _ = chunks.send(chunk).await;
            }
            Hashing::Done(hasher) => hasher.update(&chunk),
        }
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing came.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl From<Vec<u8>> for Incoming {
    fn from(bytes: Vec<u8>) -> Self {
        let mut hasher = cms::Sha256::new();
        hasher.update(&bytes);
        Self {
            bytes,
            hashing: Hashing::Done(Box::new(hasher)),
        }
    }
}

impl Hashing {
    /// The hash of every chunk, once the last is hashed.
    async fn finish(self) -> Result<cms::Sha256, tokio::task::JoinError> {
        match self {
            Self::Streamed { chunks, hashed } => {
                drop(chunks);
                hashed.await
            }
            Self::Done(hasher) => Ok(*hasher),
        }
    }
}

/// A seal checked for `actor` to apply to a PDF now, with what it shows. Sealing
/// checks again when it signs; this first check lets the caller look the seal up
/// while the document is still arriving, and refuses before it is parsed.
pub struct PadesCheck {
    actor: Actor,
    seal: Seal,
    purpose: Option<String>,
    authority: Authority,
    face: image::Face,
}

/// May `actor` apply `seal` to a PDF now, for `purpose`, on `authority`? A refusal is
/// audited.
pub async fn check_pades(
    store: &Store,
    actor: &Actor,
    seal: SealId,
    purpose: Option<&str>,
    authority: Authority,
) -> Result<PadesCheck, SealError> {
    let now = Timestamp::now();
    let mut conn = store.conn().await?;
    let found = registry::find(&mut conn, seal).await?;
    let how = (authority, Format::Pades);
    if let Err(refusal) = authorise(&mut conn, actor, &found, purpose, how, now).await {
        drop(conn);
        audit_refusal(store, actor, seal, &refusal).await?;
        return Err(refusal);
    }
    let face = image::face(&mut conn, &found).await?;
    Ok(PadesCheck {
        actor: actor.clone(),
        seal: found,
        purpose: purpose.map(str::to_owned),
        authority,
        face,
    })
}

/// Seals a PDF as `checked` allows: PAdES baseline B-T in an incremental update, the
/// seal visible at `placement`, with the signature's /Reason and /Location.
pub async fn pades(
    store: &Store,
    pki: &Pki,
    checked: PadesCheck,
    document: Incoming,
    placement: pdf::Placement,
    (reason, location): (Option<String>, Option<String>),
) -> Result<pdf::Sealed, SealError> {
    let PadesCheck {
        actor,
        seal: found,
        purpose,
        authority,
        face,
    } = checked;
    // The document has arrived: the signature, its record and the checks made as it
    // signs are of now, not of when the upload began.
    let now = Timestamp::now();
    let (actor, purpose, seal) = (&actor, purpose.as_deref(), found.id);
    let Incoming { bytes, hashing } = document;
    let statement = pdf::Statement {
        name: found.name,
        reason,
        location,
    };
    let pdf_error = |e: pdf::PdfError| SealError::Invalid {
        field: "pdf",
        reason: e.to_string(),
    };
    let unprocessable = |e: tokio::task::JoinError| SealError::Invalid {
        field: "pdf",
        reason: format!("cannot be processed: {e}"),
    };
    // Parsing (and decoding the uploaded image, checked when it was uploaded) is CPU
    // work: off the async workers, while the hash finishes.
    let parsing = tokio::task::spawn_blocking(move || {
        let planes = face.png.map(|png| image::decode_png(&png)).transpose()?;
        let appearance = match &planes {
            Some(planes) => pdf::Appearance::Image(planes),
            None => pdf::Appearance::Stamp {
                department: &face.department,
                seal: &statement.name,
            },
        };
        let prepared =
            pdf::prepare(&bytes, &placement, &statement, appearance, now).map_err(pdf_error)?;
        Ok::<_, SealError>((bytes, prepared))
    });
    let (parsed, hashed) = tokio::join!(parsing, hashing.finish());
    let (document, prepared) = parsed.map_err(unprocessable)??;
    let mut hasher = hashed.map_err(unprocessable)?;
    let original_digest = hasher.clone().finish();
    let [first, second] = prepared.signed_update();
    hasher.update(first);
    hasher.update(second);
    let digest = hasher.finish();
    // The write transaction (on SQLite the database's one writer) opens only now, so
    // that other writers never wait for a parse.
    let how = (authority, Format::Pades);
    let (mut tx, found, key) = prepare_as(store, pki, actor, seal, purpose, how, now).await?;
    let signed = pki.tsa().stamp(cms::sign_detached_with(
        key.signer.as_ref(),
        key.cms()?,
        digest,
        None,
    )?)?;
    let sealed = prepared.finish(document, &signed).map_err(pdf_error)?;
    record_usage(
        &mut tx,
        &found,
        actor,
        &original_digest,
        Format::Pades,
        purpose,
        now,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(sealed)
}

/// One use of a seal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Who.
    pub actor: String,
    /// Through which client.
    pub client_id: String,
    /// SHA-256 of what was sealed, hex (PAdES, CAdES, JWS).
    pub digest_sha256: Option<String>,
    /// SM3 of what was sealed, hex (GB/T 38540).
    pub digest_sm3: Option<String>,
    /// `cades`, `pades`, `jws` or `ses`.
    pub format: String,
    /// Stated purpose.
    pub purpose: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// Filters of the usage log.
#[derive(Clone, Debug, Default)]
pub struct UsageFilter {
    /// Only this actor (`subject:…` or `client:…`).
    pub actor: Option<String>,
    /// From this time on.
    pub from: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// At most this many (1–100; default 50).
    pub limit: Option<i64>,
    /// Skip this many.
    pub offset: Option<i64>,
}

/// A seal's usage log, newest first.
pub async fn usages(
    conn: &mut Conn,
    actor: &Actor,
    seal: SealId,
    filter: &UsageFilter,
) -> Result<Vec<Usage>, SealError> {
    let found = registry::find(conn, seal).await?;
    permissions::may_view(conn, actor, found.department_id).await?;
    let limit = filter.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(SealError::Invalid {
            field: "limit",
            reason: "1 to 100".into(),
        });
    }
    let rows = sqlx::query(
        "SELECT actor, client_id, digest_sha256, digest_sm3, format, purpose, created_at FROM seal_usages \
         WHERE seal_id = $1 AND ($2 IS NULL OR actor = $2) AND created_at >= $3 AND created_at < $4 \
         ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6",
    )
    .bind(seal.to_string())
    .bind(filter.actor.as_deref())
    .bind(filter.from.map_or(0, Timestamp::unix_millis))
    .bind(filter.until.map_or(i64::MAX, Timestamp::unix_millis))
    .bind(limit)
    .bind(filter.offset.unwrap_or(0).max(0))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Usage {
                actor: r.try_get("actor")?,
                client_id: r.try_get("client_id")?,
                digest_sha256: r.try_get("digest_sha256")?,
                digest_sm3: r.try_get("digest_sm3")?,
                format: r.try_get("format")?,
                purpose: r.try_get("purpose")?,
                at: Timestamp::from_unix_millis(r.try_get("created_at")?),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_document_hashed_as_it_arrives_has_the_digest_of_its_bytes() {
        // More chunks than may wait for the hashing thread: the reader waits, and
        // nothing is lost or reordered.
        let document: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut incoming = Incoming::with_capacity(0);
        for chunk in document.chunks(997) {
            incoming.push(bytes::Bytes::copy_from_slice(chunk)).await;
        }
        assert_eq!(incoming.len(), document.len());
        let Incoming { bytes, hashing } = incoming;
        assert_eq!(bytes, document);
        let streamed = hashing.finish().await.unwrap().finish();
        assert_eq!(streamed, cms::sha256(&document));
        // With every hashing thread taken, the reading task hashes.
        let taken = HASHING_THREADS
            .acquire_many(HASHING_THREAD_COUNT as u32)
            .await
            .unwrap();
        let mut incoming = Incoming::with_capacity(0);
        assert!(matches!(incoming.hashing, Hashing::Done(_)));
        for chunk in document.chunks(997) {
            incoming.push(bytes::Bytes::copy_from_slice(chunk)).await;
        }
        drop(taken);
        assert_eq!(
            incoming.hashing.finish().await.unwrap().finish(),
            cms::sha256(&document)
        );
        let Incoming { hashing, .. } = Incoming::from(document.clone());
        assert_eq!(
            hashing.finish().await.unwrap().finish(),
            cms::sha256(&document)
        );
    }
}
