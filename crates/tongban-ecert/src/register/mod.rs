//! The register of issued certificates: each certificate stored with its signed
//! credential, status-list entry and audit record. What a certificate is, and reading
//! it, are here; issuance and the lifecycle (revoke, suspend, resume, re-issue as a new
//! version that supersedes the old) have a file each.

mod issuance;
mod lifecycle;

pub use issuance::*;
pub use lifecycle::*;

use crate::catalogue::HolderCategory;
use crate::error::{EcertError, corrupt, invalid};
use crate::identifier::Identifier;
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_identity::subjects::{self, DepartmentId, SubjectId};
use tongban_store::changes::Lookup;
use tongban_store::{Conn, Store};

/// Where a certificate stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// In force.
    Active,
    /// Not in force until resumed.
    Suspended,
    /// Withdrawn for good.
    Revoked,
    /// Replaced by a later version.
    Superseded,
}

impl Status {
    /// Stored and API name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Superseded => "superseded",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [
            Self::Active,
            Self::Suspended,
            Self::Revoked,
            Self::Superseded,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// Whom a certificate is issued to.
#[derive(Clone, Debug)]
pub struct HolderRef {
    /// Resident ID number (natural person) or USCC (legal person).
    pub id_number: String,
    /// Name, to register a holder not yet known.
    pub name: String,
}

/// A certificate to issue.
#[derive(Clone, Debug)]
pub struct NewCertificate {
    /// The holder.
    pub holder: HolderRef,
    /// Face fields, checked against the type's schema.
    pub face: Value,
}

/// An issued certificate.
#[derive(Clone, Debug, PartialEq)]
pub struct Certificate {
    /// Row id.
    pub id: String,
    /// GB/T 36904 identifier.
    pub identifier: String,
    /// Type code.
    pub type_code: String,
    /// Type name (Chinese).
    pub type_name_zh: String,
    /// Type name (English).
    pub type_name_en: String,
    /// The issuing department.
    pub department_id: DepartmentId,
    /// Its USCC and name.
    pub issuer: (String, String),
    /// The holder.
    pub holder_id: SubjectId,
    /// The holder's name as registered.
    pub holder_name: String,
    /// Stored status.
    pub status: Status,
    /// Why it was revoked or suspended.
    pub status_reason: Option<String>,
    /// Face fields.
    pub face: Value,
    /// The VC-JWT.
    pub credential: String,
    /// Its status-list entry.
    pub status_list_id: String,
    /// Index within the lists.
    pub status_index: i64,
    /// Start of validity.
    pub valid_from: Timestamp,
    /// End of validity; none: until revoked.
    pub valid_until: Option<Timestamp>,
    /// The identifier of the version it replaced.
    pub supersedes: Option<String>,
    /// The identifier of the version that replaced it.
    pub superseded_by: Option<String>,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// The SHA-256 of `credential`, once asked for ([`Certificate::credential_sha256`]).
    pub credential_sha256: CredentialHash,
}

/// A credential's SHA-256, computed on first use and kept: the register cache serves
/// many verifications from one copy, and each names the issuance in the log by it.
/// Only [`Certificate::credential_sha256`] fills it, from the certificate's own text.
#[derive(Debug, Default)]
pub struct CredentialHash(OnceLock<[u8; 32]>);

/// A copy starts empty: it may be given another credential (`..certificate.clone()`),
/// and a hash carried over would name the wrong issuance.
impl Clone for CredentialHash {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// Follows from the credential, which the certificate compares already; whether it was
/// asked for yet makes no certificate another.
impl PartialEq for CredentialHash {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Certificate {
    /// The SHA-256 of its VC-JWT: what the transparency log knows it by.
    pub fn credential_sha256(&self) -> [u8; 32] {
        *self
            .credential_sha256
            .0
            .get_or_init(|| tongban_crypto::cms::sha256(self.credential.as_bytes()))
    }

    /// Its status at `now`: an active certificate past its validity is `expired`.
    pub fn status_at(&self, now: Timestamp) -> &'static str {
        match (self.status, self.valid_until) {
            (Status::Active, Some(until)) if until <= now => "expired",
            (status, _) => status.name(),
        }
    }
}

pub(crate) const SELECT: &str = "SELECT e.id, e.identifier, t.code AS type_code, t.name_zh, t.name_en, \
     e.department_id, e.holder_id, e.status, e.status_reason, e.face, e.credential, e.status_list_id, \
     e.status_index, e.valid_from, e.valid_until, e.issued_at, \
     d.uscc AS issuer_uscc, d.name AS issuer_name, h.name AS holder_name, \
     (SELECT p.identifier FROM ecerts p WHERE p.id = e.supersedes) AS supersedes_identifier, \
     (SELECT n.identifier FROM ecerts n WHERE n.id = e.superseded_by) AS superseded_by_identifier \
     FROM ecerts e JOIN ecert_types t ON t.id = e.type_id \
     JOIN departments d ON d.id = e.department_id JOIN subjects h ON h.id = e.holder_id";

pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<Certificate, EcertError> {
    let department: String = r.try_get("department_id")?;
    let holder: String = r.try_get("holder_id")?;
    let status: String = r.try_get("status")?;
    let face: String = r.try_get("face")?;
    Ok(Certificate {
        id: r.try_get("id")?,
        identifier: r.try_get("identifier")?,
        type_code: r.try_get("type_code")?,
        type_name_zh: r.try_get("name_zh")?,
        type_name_en: r.try_get("name_en")?,
        department_id: department.parse().map_err(|_| corrupt("department id"))?,
        issuer: (r.try_get("issuer_uscc")?, r.try_get("issuer_name")?),
        holder_id: holder.parse().map_err(|_| corrupt("holder id"))?,
        holder_name: r.try_get("holder_name")?,
        status: Status::parse(&status).ok_or_else(|| corrupt("certificate status"))?,
        status_reason: r.try_get("status_reason")?,
        face: serde_json::from_str(&face).map_err(|_| corrupt("face"))?,
        credential: r.try_get("credential")?,
        status_list_id: r.try_get("status_list_id")?,
        status_index: r.try_get("status_index")?,
        valid_from: Timestamp::from_unix_millis(r.try_get("valid_from")?),
        valid_until: r
            .try_get::<Option<i64>, _>("valid_until")?
            .map(Timestamp::from_unix_millis),
        supersedes: r.try_get("supersedes_identifier")?,
        superseded_by: r.try_get("superseded_by_identifier")?,
        issued_at: Timestamp::from_unix_millis(r.try_get("issued_at")?),
        credential_sha256: CredentialHash::default(),
    })
}

/// The topic under which a certificate's changes are announced to every instance
/// ([`tongban_store::changes`]), keyed by identifier.
pub const TOPIC: &str = "ecert";

/// The certificate with this identifier as it stands now, and the time that is known
/// as of: from this instance's cache when it may serve it, else from the database. For
/// verifications, which read far more than certificates change.
pub async fn find_current(
    store: &Store,
    identifier: &Identifier,
) -> Result<(Arc<Certificate>, Timestamp), EcertError> {
    let key = identifier.to_string();
    // Shared, not copied: a hit hands out the cached certificate itself.
    let cache = store.changes().cache::<Arc<Certificate>>(TOPIC);
    let ticket = match cache.get(&key) {
        Lookup::Hit(certificate, as_of) => return Ok((certificate, as_of)),
        Lookup::Miss(ticket) => ticket,
    };
    let mut conn = store.conn().await?;
    let certificate = Arc::new(find(&mut conn, identifier).await?);
    cache.put(ticket, &key, certificate.clone());
    Ok((certificate, ticket.read_at()))
}

/// The certificate with this identifier.
pub async fn find(conn: &mut Conn, identifier: &Identifier) -> Result<Certificate, EcertError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE e.identifier = $1"
    )))
    .bind(identifier.to_string())
    .fetch_optional(conn)
    .await?
    .ok_or(EcertError::NotFound("certificate"))?;
    from_row(&row)
}

/// The certificate with this identifier, for an issuer of its department (to change
/// or re-issue it): no lookup, so no purpose and no access record.
pub async fn for_issuer(
    conn: &mut Conn,
    actor: &tongban_seal::permissions::Actor,
    identifier: &Identifier,
) -> Result<Certificate, EcertError> {
    let certificate = find(conn, identifier).await?;
    crate::permissions::may_issue(conn, actor, certificate.department_id).await?;
    Ok(certificate)
}

/// The certificate with this row id.
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Certificate, EcertError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE e.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(EcertError::NotFound("certificate"))?;
    from_row(&row)
}

/// The URL naming a certificate (its credential's `id`).
pub fn certificate_url(base: &str, identifier: &str) -> String {
    format!("{base}/api/v1/certificates/{identifier}")
}

/// The holder's number, checked for its category.
fn holder_number(category: HolderCategory, number: &str) -> Result<String, EcertError> {
    category.person_kind().number(number).map_err(|e| match e {
        subjects::SubjectError::Invalid { reason, .. } => invalid("holder.id_number", reason),
        other => other.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_credential_hash_starts_empty_and_never_decides_equality() {
        let filled = CredentialHash::default();
        filled.0.get_or_init(|| [7; 32]);
        let copy = filled.clone();
        assert_eq!(copy.0.get(), None);
        assert_eq!(filled, copy);
    }
}
