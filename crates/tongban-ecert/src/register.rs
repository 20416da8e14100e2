//! The register of issued certificates: issuance (each certificate stored with its
//! signed credential, status-list entry and audit record in one transaction), reading,
//! and the lifecycle (revoke, suspend, resume, re-issue as a new version that
//! supersedes the old).

use std::collections::HashMap;

use serde_json::{Value, json};
use sqlx::Row;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_identity::subjects::{self, DepartmentId, SubjectId};
use tongban_seal::permissions::Actor;
use tongban_seal::registry::{self, SealId};
use tongban_store::Conn;

use crate::catalogue::{self, CertType, FaceSchema, HolderCategory};
use crate::credential::{self, Issuer};
use crate::error::{EcertError, corrupt, invalid};
use crate::identifier::Identifier;
use crate::permissions;
use crate::status::{self, Purpose};

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
}

impl Certificate {
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
    })
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

/// The certificate with this row id.
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Certificate, EcertError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE e.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(EcertError::NotFound("certificate"))?;
    from_row(&row)
}

/// Everything needed to issue certificates of one type for one department, checked
/// and loaded once (a batch issues thousands with it).
pub struct Issuing {
    cert_type: CertType,
    schema: FaceSchema,
    issuer: Issuer,
}

impl Issuing {
    /// Checks that `actor` may issue `type_code` now, for which department (see
    /// [`authorize`]), and that its seal may sign; loads the seal's key. The seal's row
    /// is locked for the rest of the transaction, so a suspension cannot slip between
    /// this check and the signatures.
    pub async fn open(
        conn: &mut Conn,
        pki: &Pki,
        actor: &Actor,
        type_code: &str,
        department: Option<DepartmentId>,
    ) -> Result<Self, EcertError> {
        let (cert_type, _, seal) = authorize(conn, actor, type_code, department).await?;
        sqlx::query("UPDATE seals SET updated_at = updated_at WHERE id = $1")
            .bind(seal.to_string())
            .execute(&mut *conn)
            .await?;
        let issuer = Issuer::of_seal(conn, pki, seal).await?;
        issuer.seal.usable(Timestamp::now())?;
        let schema = FaceSchema::compile(&cert_type.face_schema)?;
        Ok(Self {
            cert_type,
            schema,
            issuer,
        })
    }

    /// The department issuing.
    pub fn department_id(&self) -> DepartmentId {
        self.issuer.department_id
    }

    /// The type being issued.
    pub fn cert_type(&self) -> &CertType {
        &self.cert_type
    }

    /// Checks a certificate's input without writing anything.
    pub fn validate(&self, new: &NewCertificate) -> Result<(), EcertError> {
        self.schema.check(&new.face)?;
        // A NUL is refused by PostgreSQL's text type: caught here, it is the row's
        // error instead of a failed chunk.
        if new.holder.name.chars().any(char::is_control) {
            return Err(invalid(
                "holder.name",
                "must not contain control characters",
            ));
        }
        subjects::check_name("holder.name", &new.holder.name)?;
        holder_number(self.cert_type.holder_category, &new.holder.id_number)?;
        Ok(())
    }

    /// Issues one certificate in the caller's transaction.
    pub async fn issue(
        &self,
        conn: &mut Conn,
        base: &str,
        actor: &Actor,
        new: &NewCertificate,
        now: Timestamp,
    ) -> Result<Certificate, EcertError> {
        self.issue_many(conn, base, actor, std::slice::from_ref(new), now)
            .await?
            .pop()
            .unwrap_or(Err(corrupt("no certificate issued")))
    }

    /// Issues certificates in the caller's transaction: one result per input, in order.
    /// A row that is invalid (face data, holder) fails alone; a store failure fails the
    /// call, and the caller's transaction then issues nothing. Serial numbers and
    /// status-list entries are reserved for the valid rows at once.
    pub async fn issue_many(
        &self,
        conn: &mut Conn,
        base: &str,
        actor: &Actor,
        rows: &[NewCertificate],
        now: Timestamp,
    ) -> Result<Vec<Result<Certificate, EcertError>>, EcertError> {
        let checked: Vec<Result<(), EcertError>> = rows.iter().map(|r| self.validate(r)).collect();
        let valid = i64::try_from(checked.iter().filter(|c| c.is_ok()).count())
            .map_err(|_| corrupt("row count"))?;
        // Per row: the index of its signed certificate, or why it was refused.
        let mut results: Vec<Result<usize, EcertError>> = Vec::with_capacity(rows.len());
        let mut signed: Vec<Signed> = Vec::new();
        if valid == 0 {
            // Every row failed its checks.
            return Ok(checked
                .into_iter()
                .filter_map(Result::err)
                .map(Err)
                .collect());
        }
        if valid > status::SIZE {
            return Err(invalid(
                "rows",
                format!("at most {} per call", status::SIZE),
            ));
        }
        let year = now.to_offset_date_time().year();
        let first = tongban_store::pki::next_counters(
            conn,
            &format!(
                "ecert-serial:{}:{}:{year}",
                self.cert_type.code, self.issuer.uscc
            ),
            valid,
        )
        .await?;
        if first + valid - 1 > 9_999_999 {
            return Err(EcertError::Conflict(
                "this year's serial numbers for the type are used up".into(),
            ));
        }
        let entries = status::allocate(conn, self.issuer.seal.id, valid, now).await?;
        let holders = self.holders(conn, rows, &checked, now).await?;
        let mut offset = 0;
        for (row, check) in rows.iter().zip(checked) {
            if let Err(refused) = check {
                results.push(Err(refused));
                continue;
            }
            let identifier = Identifier {
                type_code: self.cert_type.code.clone(),
                issuer_uscc: self.issuer.uscc.clone(),
                serial: format!("{year:04}{:07}", first + offset),
                version: 1,
            };
            let entry = entries.entry(offset);
            offset += 1;
            let number = holder_number(self.cert_type.holder_category, &row.holder.id_number)?;
            let (holder_id, holder_name) = holders
                .get(&number)
                .cloned()
                .ok_or_else(|| corrupt("holder not resolved"))?;
            results.push(Ok(signed.len()));
            signed.push(self.sign(
                base,
                &identifier,
                (holder_id, number, holder_name),
                row,
                None,
                entry,
                now,
            )?);
        }
        self.insert(conn, actor, &signed, now).await?;
        let mut stored: Vec<Option<Certificate>> =
            signed.into_iter().map(|s| Some(s.certificate)).collect();
        Ok(results
            .into_iter()
            .map(|r| {
                r.and_then(|i| {
                    stored
                        .get_mut(i)
                        .and_then(Option::take)
                        .ok_or_else(|| corrupt("issued certificate missing"))
                })
            })
            .collect())
    }

    /// The holders of the valid rows, number → (subject, name): those registered, and
    /// the others registered now, unverified, together (the first row naming one gives
    /// the name).
    async fn holders(
        &self,
        conn: &mut Conn,
        rows: &[NewCertificate],
        checked: &[Result<(), EcertError>],
        now: Timestamp,
    ) -> Result<HashMap<String, (SubjectId, String)>, EcertError> {
        let category = self.cert_type.holder_category;
        let named: Vec<(String, &str)> = rows
            .iter()
            .zip(checked)
            .filter(|(_, c)| c.is_ok())
            .filter_map(|(r, _)| {
                holder_number(category, &r.holder.id_number)
                    .ok()
                    .map(|number| (number, r.holder.name.trim()))
            })
            .collect();
        let numbers: Vec<String> = named.iter().map(|(n, _)| n.clone()).collect();
        let kind = category.person_kind();
        let mut holders = subjects::named_in(conn, kind, &numbers).await?;
        let mut unknown: Vec<subjects::Named<'_>> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (number, name) in &named {
            if !holders.contains_key(number) && seen.insert(number.as_str()) {
                unknown.push(subjects::Named { name, number });
            }
        }
        let ids = subjects::create_named(conn, kind, &unknown, now).await?;
        for (person, id) in unknown.iter().zip(ids) {
            holders.insert(person.number.to_owned(), (id, person.name.to_owned()));
        }
        Ok(holders)
    }

    /// Signs and stores a certificate with its status entry and audit record.
    #[allow(clippy::too_many_arguments)]
    async fn store(
        &self,
        conn: &mut Conn,
        base: &str,
        actor: &Actor,
        identifier: &Identifier,
        holder: (SubjectId, String, String),
        new: &NewCertificate,
        supersedes: Option<&Certificate>,
        entry: (String, i64),
        now: Timestamp,
    ) -> Result<Certificate, EcertError> {
        let signed = self.sign(base, identifier, holder, new, supersedes, entry, now)?;
        self.insert(conn, actor, std::slice::from_ref(&signed), now)
            .await?;
        Ok(signed.certificate)
    }

    /// A certificate and its credential, signed, not yet stored.
    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        base: &str,
        identifier: &Identifier,
        holder: (SubjectId, String, String),
        new: &NewCertificate,
        supersedes: Option<&Certificate>,
        (list_id, index): (String, i64),
        now: Timestamp,
    ) -> Result<Signed, EcertError> {
        let (holder_id, holder_number, holder_name) = holder;
        let valid_until = self
            .cert_type
            .validity_days
            .map(|days| Timestamp::from_unix_millis(now.unix_millis() + days * 86_400_000));
        let text = identifier.to_string();
        let entry = |purpose: Purpose| {
            let list = status::list_url(base, &list_id, purpose);
            json!({
                "id": format!("{list}#{index}"),
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose.name(),
                "statusListIndex": index.to_string(),
                "statusListCredential": list,
            })
        };
        let mut body = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": certificate_url(base, &text),
            "type": ["VerifiableCredential", "ElectronicCertificate"],
            "name": self.cert_type.name_zh,
            "issuer": self.issuer.json(base),
            "validFrom": now.to_rfc3339(),
            "credentialSubject": {
                "holder": {
                    "category": self.cert_type.holder_category.name(),
                    "identifier": holder_number,
                    "name": holder_name,
                },
                "certificate": {
                    "identifier": text,
                    "type": self.cert_type.code,
                    "typeName": self.cert_type.name_zh,
                },
                "face": new.face,
            },
            "credentialStatus": [entry(Purpose::Revocation), entry(Purpose::Suspension)],
        });
        if let Some(until) = valid_until {
            body["validUntil"] = json!(until.to_rfc3339());
        }
        let jwt = credential::sign(&self.issuer, &body)?;
        Ok(Signed {
            serial: identifier.serial.clone(),
            version: identifier.version,
            supersedes_id: supersedes.map(|s| s.id.clone()),
            certificate: Certificate {
                id: tongban_core::id::Uuid::now_v7().to_string(),
                identifier: text,
                type_code: self.cert_type.code.clone(),
                type_name_zh: self.cert_type.name_zh.clone(),
                type_name_en: self.cert_type.name_en.clone(),
                department_id: self.issuer.department_id,
                issuer: (self.issuer.uscc.clone(), self.issuer.name.clone()),
                holder_id,
                holder_name: holder_name.clone(),
                status: Status::Active,
                status_reason: None,
                face: new.face.clone(),
                credential: jwt,
                status_list_id: list_id,
                status_index: index,
                valid_from: now,
                valid_until,
                supersedes: supersedes.map(|s| s.identifier.clone()),
                superseded_by: None,
                issued_at: now,
            },
        })
    }

    /// Stores signed certificates with their audit records, several per statement.
    async fn insert(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        signed: &[Signed],
        now: Timestamp,
    ) -> Result<(), EcertError> {
        for chunk in signed.chunks(100) {
            let mut placeholders = tongban_store::rows::Placeholders::on(conn);
            let values: Vec<String> = chunk
                .iter()
                .map(|_| {
                    let before = placeholders.list(8);
                    format!("({before}, 'active', {})", placeholders.list(10))
                })
                .collect();
            let sql = format!(
                "INSERT INTO ecerts (id, identifier, type_id, department_id, seal_id, holder_id, serial, version, \
                 status, face, credential, status_list_id, status_index, valid_from, valid_until, supersedes, \
                 issued_by, issued_at, updated_at) VALUES {}",
                values.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for s in chunk {
                let c = &s.certificate;
                query = query
                    .bind(c.id.clone())
                    .bind(c.identifier.clone())
                    .bind(self.cert_type.id.clone())
                    .bind(self.issuer.department_id.to_string())
                    .bind(self.issuer.seal.id.to_string())
                    .bind(c.holder_id.to_string())
                    .bind(s.serial.clone())
                    .bind(i64::from(s.version))
                    .bind(c.face.to_string())
                    .bind(c.credential.clone())
                    .bind(c.status_list_id.clone())
                    .bind(c.status_index)
                    .bind(c.valid_from.unix_millis())
                    .bind(c.valid_until.map(Timestamp::unix_millis))
                    .bind(s.supersedes_id.clone())
                    .bind(actor.label())
                    .bind(now.unix_millis())
                    .bind(now.unix_millis());
            }
            query.execute(&mut *conn).await?;
        }
        let events: Vec<AuditEvent> = signed
            .iter()
            .map(|s| {
                AuditEvent::new(
                    &actor.label(),
                    "ecert.issued",
                    Some(&s.certificate.identifier),
                    None,
                    json!({ "type": self.cert_type.code, "holder": s.certificate.holder_id.to_string(), "client": actor.client_id() }),
                )
            })
            .collect();
        tongban_store::audit::record_all(conn, &events).await?;
        Ok(())
    }
}

/// A signed certificate on its way into the register.
struct Signed {
    certificate: Certificate,
    serial: String,
    version: u32,
    supersedes_id: Option<String>,
}

/// Checks that `actor` may issue `type_code` now, without loading any key: the type,
/// the department the actor issues it for, and that department's seal, which must be
/// usable. `department` names the issuing department; without it, the actor must
/// issue the type for exactly one (a person may be an issuer in several).
pub async fn authorize(
    conn: &mut Conn,
    actor: &Actor,
    type_code: &str,
    department: Option<DepartmentId>,
) -> Result<(CertType, DepartmentId, SealId), EcertError> {
    let cert_type = catalogue::by_code(conn, type_code).await?;
    let issuers = catalogue::issuers(conn, &cert_type.id).await?;
    let mut refusal = EcertError::Denied(match department {
        Some(_) => "the department does not issue this type".into(),
        None => "the type has no issuing department".into(),
    });
    let mut allowed = Vec::new();
    for (issuer, seal) in issuers {
        if department.is_some_and(|d| d != issuer) {
            continue;
        }
        match permissions::may_issue(conn, actor, issuer).await {
            Ok(()) => allowed.push((issuer, seal)),
            Err(e) => refusal = e,
        }
    }
    // A department that has not chosen its seal cannot issue: it makes no ambiguity.
    let ready: Vec<(DepartmentId, SealId)> = allowed
        .iter()
        .filter_map(|(department, seal)| seal.map(|s| (*department, s)))
        .collect();
    let (department, seal) = match (ready.as_slice(), allowed.is_empty()) {
        ([one], _) => *one,
        ([], true) => return Err(refusal),
        ([], false) => {
            return Err(EcertError::Conflict(
                "the department has not chosen a seal for this type".into(),
            ));
        }
        _ => {
            return Err(invalid(
                "department_id",
                "you issue this type for several departments: name the one this is for",
            ));
        }
    };
    registry::find(conn, seal).await?.usable(Timestamp::now())?;
    Ok((cert_type, department, seal))
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
    );
    tongban_store::audit::record(conn, &event).await?;
    certificate.status = next;
    certificate.status_reason = reason.map(str::to_owned);
    Ok(certificate)
}

/// Re-issues a certificate with changed face data as its next version; the old one is
/// superseded (and marked revoked in the status list, so verifiers relying on the
/// list stop accepting it), and both name each other.
pub async fn reissue(
    conn: &mut Conn,
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
    Ok(issued)
}
