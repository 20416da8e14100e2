//! The seal registry: a department's seals, each with its own key and certificate, a
//! status, and a history of every change.

use serde_json::json;
use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_crypto::ca::Profile;
use tongban_crypto::crl::RevocationReason;
use tongban_crypto::pki::Pki;
use tongban_crypto::{Algorithm, CryptoError};
use tongban_identity::subjects::DepartmentId;
use tongban_ledger::Kind;
use tongban_store::{Conn, StoreError};

use crate::error::SealError;
use crate::format::Format;
use crate::permissions::{self, Actor};

tongban_core::typed_id!(
    /// A seal.
    SealId
);

/// The kinds of seal Chinese practice distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealKind {
    /// 公章
    Official,
    /// 合同专用章
    Contract,
    /// 财务专用章
    Finance,
    /// 发票专用章
    Invoice,
    /// 法定代表人名章
    LegalRepresentative,
}

impl SealKind {
    const ALL: [Self; 5] = [
        Self::Official,
        Self::Contract,
        Self::Finance,
        Self::Invoice,
        Self::LegalRepresentative,
    ];

    /// The name in the API and the database.
    pub fn name(self) -> &'static str {
        match self {
            Self::Official => "official",
            Self::Contract => "contract",
            Self::Finance => "finance",
            Self::Invoice => "invoice",
            Self::LegalRepresentative => "legal-representative",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Whether a seal may sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealStatus {
    /// Signs.
    Active,
    /// Temporarily not signing; can be resumed.
    Suspended,
    /// Never signs again; its certificate is revoked.
    Revoked,
}

impl SealStatus {
    /// The name in the API and the database.
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Active, Self::Suspended, Self::Revoked]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// A seal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seal {
    /// Id.
    pub id: SealId,
    /// Owning department.
    pub department_id: DepartmentId,
    /// Seal code: the department's USCC and a 3-digit sequence.
    pub code: String,
    /// Kind.
    pub kind: SealKind,
    /// Name, e.g. 浙江省市场监督管理局合同专用章.
    pub name: String,
    /// Status.
    pub status: SealStatus,
    /// Its signing key.
    pub key_id: String,
    /// Its certificate's serial (hex).
    pub certificate_serial: String,
    /// End of validity (the certificate's).
    pub valid_until: Timestamp,
    /// Its signature algorithm: ES256 (PAdES, CAdES, JWS) or SM2 (GB/T 38540).
    pub algorithm: Algorithm,
}

impl Seal {
    /// Whether the seal can sign at all at `now`: active and within its validity.
    pub fn usable(&self, now: Timestamp) -> Result<(), SealError> {
        match self.status {
            SealStatus::Active => {}
            SealStatus::Suspended => return Err(SealError::Conflict("the seal is suspended")),
            SealStatus::Revoked => return Err(SealError::Conflict("the seal is revoked")),
        }
        if self.valid_until <= now {
            return Err(SealError::Conflict("the seal has expired"));
        }
        Ok(())
    }

    /// Whether the seal makes `format`: a P-256 seal PAdES, CAdES and JWS, an SM2 seal
    /// GB/T 38540 signatures.
    pub fn makes(&self, format: Format) -> Result<(), SealError> {
        match (self.algorithm == format.algorithm(), format) {
            (true, _) => Ok(()),
            (false, Format::Ses) => Err(SealError::Conflict(
                "a P-256 seal makes PAdES, CAdES and JWS signatures; GB/T 38540 signatures need an SM2 seal",
            )),
            (false, _) => Err(SealError::Conflict(
                "an SM2 seal makes GB/T 38540 signatures, not PAdES, CAdES or JWS",
            )),
        }
    }
}

const COLUMNS: &str = "id, department_id, code, kind, name, status, key_id, certificate_serial, \
     valid_until, algorithm";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Seal, SealError> {
    let corrupt = |what: &str| SealError::Store(StoreError::Corrupt(what.to_owned()));
    let id: String = r.try_get("id")?;
    let department: String = r.try_get("department_id")?;
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let algorithm: String = r.try_get("algorithm")?;
    Ok(Seal {
        id: id.parse().map_err(|_| corrupt("seal id"))?,
        department_id: department.parse().map_err(|_| corrupt("department id"))?,
        code: r.try_get("code")?,
        kind: SealKind::parse(&kind).ok_or_else(|| corrupt("seal kind"))?,
        name: r.try_get("name")?,
        status: SealStatus::parse(&status).ok_or_else(|| corrupt("seal status"))?,
        key_id: r.try_get("key_id")?,
        certificate_serial: r.try_get("certificate_serial")?,
        valid_until: Timestamp::from_unix_millis(r.try_get("valid_until")?),
        algorithm: Algorithm::from_db_name(&algorithm).ok_or_else(|| corrupt("algorithm"))?,
    })
}

/// The seal `id`, for someone who may see its department's seals.
pub async fn visible(conn: &mut Conn, actor: &Actor, id: SealId) -> Result<Seal, SealError> {
    let seal = find(conn, id).await?;
    permissions::may_view(conn, actor, seal.department_id).await?;
    Ok(seal)
}

/// The seal with this id.
pub async fn find(conn: &mut Conn, id: SealId) -> Result<Seal, SealError> {
    let sql = format!("SELECT {COLUMNS} FROM seals WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or(SealError::NotFound("seal"))?;
    from_row(&row)
}

/// The seal, its row locked for the rest of the transaction (a no-op write): on
/// PostgreSQL a suspension or revocation and a signature then wait for each other, and
/// each sees the other's outcome; SQLite's write transaction serialises them anyway.
pub async fn find_locked(tx: &mut Conn, id: SealId) -> Result<Seal, SealError> {
    let sql = format!("UPDATE seals SET updated_at = updated_at WHERE id = $1 RETURNING {COLUMNS}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(tx)
        .await?
        .ok_or(SealError::NotFound("seal"))?;
    from_row(&row)
}

/// A department's seals, for someone who may see them.
pub async fn of_department(
    conn: &mut Conn,
    actor: &Actor,
    department: DepartmentId,
) -> Result<Vec<Seal>, SealError> {
    permissions::may_view(conn, actor, department).await?;
    let sql = format!("SELECT {COLUMNS} FROM seals WHERE department_id = $1 ORDER BY code");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(department.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn record_history(
    conn: &mut Conn,
    seal: SealId,
    actor: &Actor,
    change: &str,
    details: serde_json::Value,
) -> Result<(), SealError> {
    sqlx::query(
        "INSERT INTO seal_history (seal_id, at, actor, change, details) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(seal.to_string())
    .bind(Timestamp::now().unix_millis())
    .bind(actor.label())
    .bind(change)
    .bind(details.to_string())
    .execute(&mut *conn)
    .await?;
    // The platform's audit trail too, under the seal's department, so one trail holds
    // every department's changes.
    let department: Option<String> =
        sqlx::query_scalar("SELECT department_id FROM seals WHERE id = $1")
            .bind(seal.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    let mut event = AuditEvent::new(
        &actor.label(),
        &format!("seal.{change}"),
        Some(&seal.to_string()),
        None,
        details,
    );
    event.department = department;
    tongban_store::audit::record(conn, &event).await?;
    Ok(())
}

/// One entry of a seal's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What changed.
    pub change: String,
    /// Details, JSON.
    pub details: String,
}

/// A seal's history, oldest first.
pub async fn history(
    conn: &mut Conn,
    actor: &Actor,
    seal: SealId,
) -> Result<Vec<HistoryEntry>, SealError> {
    let found = find(conn, seal).await?;
    permissions::may_view(conn, actor, found.department_id).await?;
    let rows = sqlx::query(
        "SELECT at, actor, change, details FROM seal_history WHERE seal_id = $1 ORDER BY at, change",
    )
    .bind(seal.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryEntry {
                at: Timestamp::from_unix_millis(r.try_get("at")?),
                actor: r.try_get("actor")?,
                change: r.try_get("change")?,
                details: r.try_get("details")?,
            })
        })
        .collect()
}

/// A department's name and USCC.
pub async fn department_of(
    conn: &mut Conn,
    department: DepartmentId,
) -> Result<(String, String), SealError> {
    let row = sqlx::query("SELECT name, uscc FROM departments WHERE id = $1")
        .bind(department.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(SealError::NotFound("department"))?;
    Ok((row.try_get("name")?, row.try_get("uscc")?))
}

/// Creates a seal of `department`: a new key (encrypted at rest) and a certificate
/// from the issuing CA naming the department and its USCC, in one transaction.
pub async fn create(
    tx: &mut Conn,
    pki: &Pki,
    actor: &Actor,
    department: DepartmentId,
    kind: SealKind,
    name: &str,
    algorithm: Algorithm,
) -> Result<Seal, SealError> {
    permissions::may_manage(tx, actor, department).await?;
    if !matches!(algorithm, Algorithm::Es256 | Algorithm::Sm2) {
        return Err(SealError::Invalid {
            field: "algorithm",
            reason: "must be ES256 or SM2".into(),
        });
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(SealError::Invalid {
            field: "name",
            reason: "must have 1 to 100 characters".into(),
        });
    }
    let (department_name, uscc) = department_of(tx, department).await?;
    let sequence = tongban_store::pki::next_counter(tx, &format!("seal-code:{department}")).await?;
    let code = format!("{uscc}{sequence:03}");
    let profile = Profile::Seal {
        department: department_name,
        uscc,
        seal_name: name.to_owned(),
    };
    let (_, certificate) = match pki.issue_in_hierarchy(tx, &profile, algorithm).await {
        Err(CryptoError::NotFound(_)) => {
            return Err(SealError::Conflict("this platform has no SM2 issuing CA"));
        }
        issued => issued?,
    };
    let now = Timestamp::now();
    let seal = Seal {
        id: SealId::new(),
        department_id: department,
        code,
        kind,
        name: name.to_owned(),
        status: SealStatus::Active,
        key_id: certificate.key_id.clone(),
        certificate_serial: certificate.serial.clone(),
        valid_until: certificate.not_after,
        algorithm,
    };
    sqlx::query(
        "INSERT INTO seals (id, department_id, code, kind, name, status, key_id, certificate_serial, \
         valid_until, created_at, updated_at, algorithm) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
    )
    .bind(seal.id.to_string())
    .bind(department.to_string())
    .bind(&seal.code)
    .bind(kind.name())
    .bind(&seal.name)
    .bind(seal.status.name())
    .bind(&seal.key_id)
    .bind(&seal.certificate_serial)
    .bind(seal.valid_until.unix_millis())
    .bind(now.unix_millis())
    .bind(algorithm.db_name())
    .execute(&mut *tx)
    .await?;
    record_history(
        tx,
        seal.id,
        actor,
        "created",
        json!({
            "kind": kind.name(), "name": seal.name, "certificate": seal.certificate_serial,
            "algorithm": algorithm.db_name(),
        }),
    )
    .await?;
    let mut entry = crate::sign::seal_entry(Kind::SealCreated, &seal, now);
    entry.certificate = Some(tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(
        &certificate.der,
    )));
    tongban_ledger::storage::append(tx, &[entry], now).await?;
    Ok(seal)
}

/// Suspends, resumes or revokes a seal. Revoking revokes its certificate (and signs a
/// new CRL) in the same transaction; a revoked seal never changes again.
pub async fn set_status(
    tx: &mut Conn,
    pki: &Pki,
    actor: &Actor,
    seal: SealId,
    status: SealStatus,
    reason: Option<&str>,
) -> Result<Seal, SealError> {
    // No signature commits across the change.
    let mut found = find_locked(tx, seal).await?;
    permissions::may_manage(tx, actor, found.department_id).await?;
    if found.status == SealStatus::Revoked {
        return Err(SealError::Conflict("the seal is revoked"));
    }
    if found.status == status {
        return Ok(found);
    }
    if status == SealStatus::Revoked {
        pki.revoke_in(
            tx,
            &found.certificate_serial,
            RevocationReason::CessationOfOperation,
        )
        .await?;
    }
    let now = Timestamp::now();
    sqlx::query("UPDATE seals SET status = $2, updated_at = $3 WHERE id = $1")
        .bind(seal.to_string())
        .bind(status.name())
        .bind(now.unix_millis())
        .execute(&mut *tx)
        .await?;
    let (change, kind) = match status {
        SealStatus::Active => ("resumed", Kind::SealResumed),
        SealStatus::Suspended => ("suspended", Kind::SealSuspended),
        SealStatus::Revoked => ("revoked", Kind::SealRevoked),
    };
    record_history(tx, seal, actor, change, json!({ "reason": reason })).await?;
    let entry = crate::sign::seal_entry(kind, &found, now);
    tongban_ledger::storage::append(tx, &[entry], now).await?;
    found.status = status;
    Ok(found)
}
