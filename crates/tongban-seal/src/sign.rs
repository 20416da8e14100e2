//! Applying a seal: CAdES B-T detached signatures (`.p7s`) over files or bare SHA-256
//! digests, and detached JWS; and what every way of applying a seal shares (PDFs in
//! [`crate::pdf_sealing`], GB/T 38540 in [`crate::ses`]): the right to use the seal,
//! checked before its key is read, and the usage record. Each signature is made inside
//! the transaction that writes its usage record, and is handed out only after that
//! commit: nothing is signed without a record. A refusal is written to the audit trail.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, json};
use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::spreadsheet::safe_cell;
use tongban_core::time::Timestamp;
use tongban_crypto::certified::Certified;
use tongban_crypto::cms;
use tongban_crypto::jose;
use tongban_crypto::pki::Pki;
use tongban_ledger::{Entry, Kind};
use tongban_store::{Conn, Store, StoreError};

use crate::error::SealError;
pub use crate::format::Format;
use crate::grants;
use crate::once::{self, Once};
use crate::permissions::{self, Actor};
use crate::registry::{self, Seal, SealId};

/// Most digests one call may seal.
pub const MAX_BATCH: usize = 1000;

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    tongban_crypto::ca::hex(bytes)
}

/// The signing transaction, opened: the seal (its row locked), the caller's right to
/// use it checked, its key and certificate chain (seal certificate, issuing CA); or, for
/// a request already done under the caller's `Idempotency-Key`, the remembered answer.
pub(crate) enum Opened {
    /// Sign now, in this transaction.
    Fresh(tongban_store::Tx, Seal, Arc<Certified>),
    /// The answer given the first time.
    Answered(String),
}

/// Opens the signing transaction (see [`Opened`]). A refusal is audited in a
/// transaction of its own (the signing one rolls back).
pub(crate) async fn prepare(
    store: &Store,
    pki: &Pki,
    actor: &Actor,
    (seal, format): (SealId, Format),
    purpose: Option<&str>,
    once: Option<&Once>,
    now: Timestamp,
) -> Result<Opened, SealError> {
    let how = (Authority::Grant, format);
    prepare_as(store, pki, actor, seal, purpose, how, once, now).await
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

#[allow(clippy::too_many_arguments)] // Each is one thing the act is about.
pub(crate) async fn prepare_as(
    store: &Store,
    pki: &Pki,
    actor: &Actor,
    seal: SealId,
    purpose: Option<&str>,
    how: (Authority, Format),
    once: Option<&Once>,
    now: Timestamp,
) -> Result<Opened, SealError> {
    let mut tx = store.begin().await?;
    let found = registry::find_locked(&mut tx, seal).await?;
    // Under the seal's lock: a copy of the request sent at the same time waits here,
    // then finds this one's answer. Before the right is checked: what the caller was
    // allowed to do and did is answered even after the seal was suspended.
    if let Some(once) = once
        && let Some(answer) = once.recall(&mut tx, actor, now).await?
    {
        return Ok(Opened::Answered(answer));
    }
    if let Err(refusal) = authorise(&mut tx, actor, &found, purpose, how, now).await {
        drop(tx);
        audit_refusal(store, actor, seal, &refusal).await?;
        return Err(refusal);
    }
    let key = pki
        .certified_in(&mut tx, &found.key_id, &found.certificate_serial)
        .await?;
    Ok(Opened::Fresh(tx, found, key))
}

/// May `actor` apply `seal` now on `authority`, in `format`: a grant to the actor, or
/// the department's designation (then only the seal's own state counts).
pub(crate) async fn authorise(
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

pub(crate) async fn audit_refusal(
    store: &Store,
    actor: &Actor,
    seal: SealId,
    refusal: &SealError,
) -> Result<(), SealError> {
    let mut tx = store.begin().await?;
    // The seal's own department reads the refusal, whoever was refused.
    let department: Option<String> =
        sqlx::query_scalar("SELECT department_id FROM seals WHERE id = $1")
            .bind(seal.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
    let mut event = AuditEvent::new(
        &actor.label(),
        "seal.use_refused",
        Some(&seal.to_string()),
        None,
        json!({ "reason": refusal.to_string(), "client": actor.client_id() }),
    );
    event.department = department;
    tongban_store::audit::record(&mut tx, &event).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// A seal use being recorded: the seal and its certificate (DER), who used it, how and
/// why.
pub(crate) struct Applied<'a> {
    pub seal: &'a Seal,
    pub certificate: &'a [u8],
    pub actor: &'a Actor,
    pub format: Format,
    pub purpose: Option<&'a str>,
    pub now: Timestamp,
}

pub(crate) async fn record_usage(
    tx: &mut Conn,
    usage: &Applied<'_>,
    digest: &[u8; 32],
    signature: &[u8],
) -> Result<(), SealError> {
    record_usages(tx, usage, &[*digest], &[signature]).await
}

/// One usage record per use (what was sealed by its SM3 digest for GB/T 38540
/// signatures, by SHA-256 for the others), a hundred rows per statement, and one
/// transparency-log entry per use with the signature made for it (`signatures[i]` for
/// `digests[i]`), in the same transaction.
pub(crate) async fn record_usages<S: AsRef<[u8]>>(
    tx: &mut Conn,
    usage: &Applied<'_>,
    digests: &[[u8; 32]],
    signatures: &[S],
) -> Result<(), SealError> {
    let purpose = usage.purpose.map(str::trim).filter(|p| !p.is_empty());
    let (column, algorithm) = match usage.format {
        Format::Ses => ("digest_sm3", "sm3"),
        Format::Cades | Format::Pades | Format::Jws => ("digest_sha256", "sha256"),
    };
    let (seal_id, actor) = (usage.seal.id.to_string(), usage.actor.label());
    for chunk in digests.chunks(100) {
        let mut placeholders = tongban_store::rows::Placeholders::on(tx);
        let rows: Vec<String> = chunk.iter().map(|_| placeholders.row(8)).collect();
        let sql = format!(
            "INSERT INTO seal_usages (id, seal_id, actor, client_id, {column}, format, purpose, created_at) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for digest in chunk {
            query = query
                .bind(tongban_core::id::Uuid::now_v7().to_string())
                .bind(seal_id.as_str())
                .bind(actor.as_str())
                .bind(usage.actor.client_id())
                .bind(hex(digest))
                .bind(usage.format.name())
                .bind(purpose)
                .bind(usage.now.unix_millis());
        }
        query.execute(&mut *tx).await?;
    }
    let certificate = hex(&cms::sha256(usage.certificate));
    let entries: Vec<Entry> = digests
        .iter()
        .zip(signatures)
        .map(|(digest, signature)| {
            let mut entry = seal_entry(Kind::SealUsed, usage.seal, usage.now);
            entry.certificate = Some(certificate.clone());
            entry.format = Some(usage.format.name().to_owned());
            entry.document = Some(format!("{algorithm}:{}", hex(digest)));
            entry.signature = Some(hex(&cms::sha256(signature.as_ref())));
            entry
        })
        .collect();
    tongban_ledger::storage::append(tx, &entries, usage.now).await?;
    // The audit trail too, one event per act (a batch of digests is one), so the
    // department's one trail holds who used its seals beside who changed them.
    let mut event = AuditEvent::new(
        &actor,
        "seal.used",
        Some(&seal_id),
        None,
        json!({
            "format": usage.format.name(),
            "documents": digests.len(),
            "purpose": purpose,
            "client": usage.actor.client_id(),
        }),
    );
    event.department = Some(usage.seal.department_id.to_string());
    tongban_store::audit::record(tx, &event).await?;
    Ok(())
}

/// A log entry about `seal`.
pub(crate) fn seal_entry(kind: Kind, seal: &Seal, now: Timestamp) -> Entry {
    let mut entry = Entry::new(kind, now);
    entry.department = Some(seal.department_id.to_string());
    entry.seal = Some(seal.id.to_string());
    entry
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
    once: Option<&Once>,
) -> Result<Vec<Vec<u8>>, SealError> {
    if digests.is_empty() || digests.len() > MAX_BATCH {
        return Err(SealError::Invalid {
            field: "digests",
            reason: format!("1 to {MAX_BATCH} digests per call"),
        });
    }
    let now = Timestamp::now();
    let how = (seal, Format::Cades);
    let (mut tx, found, key) = match prepare(store, pki, actor, how, purpose, once, now).await? {
        Opened::Fresh(tx, found, key) => (tx, found, key),
        Opened::Answered(answer) => return once::decode_list(&answer),
    };
    // Two signatures per digest (ours and the time-stamp's): CPU work, off the async
    // workers; the usage records are written a hundred per statement.
    let tsa = pki.tsa().clone();
    let certificate = key.certificate().to_vec();
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
    let usage = Applied {
        seal: &found,
        certificate: &certificate,
        actor,
        format: Format::Cades,
        purpose,
        now,
    };
    record_usages(&mut tx, &usage, digests, &signatures).await?;
    if let Some(once) = once {
        once.remember(&mut tx, actor, &once::encode_list(&signatures), now)
            .await?;
    }
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
    once: Option<&Once>,
) -> Result<String, SealError> {
    let now = Timestamp::now();
    let how = (seal, Format::Jws);
    let (mut tx, found, key) = match prepare(store, pki, actor, how, purpose, once, now).await? {
        Opened::Fresh(tx, found, key) => (tx, found, key),
        Opened::Answered(jws) => return Ok(jws),
    };
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
    let usage = Applied {
        seal: &found,
        certificate: key.certificate(),
        actor,
        format: Format::Jws,
        purpose,
        now,
    };
    record_usage(&mut tx, &usage, &cms::sha256(payload), jws.as_bytes()).await?;
    if let Some(once) = once {
        once.remember(&mut tx, actor, &jws, now).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(jws)
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

/// Uses in one export at most; a longer log is exported in narrower time ranges.
pub const MAX_USAGE_EXPORT: usize = 100_000;

/// A seal's whole usage log matching `filter` (its limit and offset ignored), newest
/// first, as CSV (RFC 4180, UTF-8, a header row; formula-like cells prefixed with `'`).
pub async fn usages_csv(
    conn: &mut Conn,
    actor: &Actor,
    seal: SealId,
    filter: &UsageFilter,
) -> Result<Vec<u8>, SealError> {
    let csv_error = |e: &dyn std::fmt::Display| SealError::Internal(format!("csv: {e}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "at",
            "actor",
            "client_id",
            "format",
            "purpose",
            "sha256",
            "sm3",
        ])
        .map_err(|e| csv_error(&e))?;
    let mut page = UsageFilter {
        limit: Some(100),
        offset: Some(0),
        ..filter.clone()
    };
    let mut written = 0usize;
    loop {
        let found = usages(conn, actor, seal, &page).await?;
        written += found.len();
        if written > MAX_USAGE_EXPORT {
            return Err(SealError::Invalid {
                field: "until",
                reason: format!("more than {MAX_USAGE_EXPORT} uses: export a narrower time range"),
            });
        }
        for usage in &found {
            let at = usage.at.to_rfc3339();
            let cells = [
                at.as_str(),
                &usage.actor,
                &usage.client_id,
                &usage.format,
                usage.purpose.as_deref().unwrap_or_default(),
                usage.digest_sha256.as_deref().unwrap_or_default(),
                usage.digest_sm3.as_deref().unwrap_or_default(),
            ];
            writer
                .write_record(cells.map(|cell| safe_cell(cell).into_owned()))
                .map_err(|e| csv_error(&e))?;
        }
        if found.len() < 100 {
            break;
        }
        page.offset = Some(page.offset.unwrap_or(0) + 100);
    }
    writer.into_inner().map_err(|e| csv_error(&e))
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
