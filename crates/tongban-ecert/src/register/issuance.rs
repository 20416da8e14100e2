//! Issuance: checking who may issue the type for which department, then each
//! certificate in one transaction with its credential, status-list entry and audit
//! record.

use crate::catalogue::{self, CertType, FaceSchema};
use crate::credential::{self, Issuer};
use crate::error::{EcertError, corrupt, invalid};
use crate::identifier::Identifier;
use crate::permissions;
use crate::status::{self, Purpose};
use serde_json::json;
use std::collections::HashMap;
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_crypto::kek::Kek;
use tongban_crypto::pki::Pki;
use tongban_identity::subjects::{self, DepartmentId, SubjectId};
use tongban_ledger::entry::hex;
use tongban_ledger::{Entry, Kind};
use tongban_seal::permissions::Actor;
use tongban_seal::registry::{self, SealId};
use tongban_store::Conn;

use super::{Certificate, NewCertificate, Status, certificate_url, holder_number};

/// Everything needed to issue certificates of one type for one department, checked
/// and loaded once (a batch issues thousands with it).
pub struct Issuing {
    cert_type: CertType,
    schema: FaceSchema,
    pub(super) issuer: Issuer,
    /// Keys the holders' pseudonyms in the transparency log.
    holder_key: Kek,
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
            holder_key: pki.keys().derive(tongban_ledger::entry::HOLDER_KEY_LABEL),
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
    pub(super) async fn store(
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
            supersedes_credential: supersedes.map(|s| hex(&s.credential_sha256())),
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
                credential_sha256: Default::default(),
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
                .in_department(s.certificate.department_id)
            })
            .collect();
        tongban_store::audit::record_all(conn, &events).await?;
        let entries: Vec<Entry> = signed.iter().map(|s| self.log_entry(s, now)).collect();
        tongban_ledger::storage::append(conn, &entries, now).await?;
        Ok(())
    }

    /// The transparency-log entry of an issued certificate: hashes of its credential
    /// and of the one it supersedes, and the holder's pseudonym for this certificate.
    fn log_entry(&self, signed: &Signed, now: Timestamp) -> Entry {
        let kind = match signed.supersedes_credential {
            Some(_) => Kind::CertificateReissued,
            None => Kind::CertificateIssued,
        };
        let c = &signed.certificate;
        let mut entry = certificate_entry(kind, c, now);
        entry.seal = Some(self.issuer.seal.id.to_string());
        entry.supersedes = signed.supersedes_credential.clone();
        // One pseudonym per certificate: the public log must not link a person's
        // certificates to each other (the credential hash already links one
        // certificate's own entries).
        let pseudonym = format!("{}|{}", c.holder_id, c.identifier);
        let holder = self.holder_key.mac(pseudonym.as_bytes());
        entry.holder = Some(hex(&holder));
        entry
    }
}

/// A transparency-log entry about certificate `c`.
pub(super) fn certificate_entry(kind: Kind, c: &Certificate, now: Timestamp) -> Entry {
    let mut entry = Entry::new(kind, now);
    entry.department = Some(c.department_id.to_string());
    entry.certificate_type = Some(c.type_code.clone());
    entry.credential = Some(hex(&c.credential_sha256()));
    entry
}

/// A signed certificate on its way into the register.
pub(super) struct Signed {
    certificate: Certificate,
    serial: String,
    version: u32,
    supersedes_id: Option<String>,
    /// Hex SHA-256 of the superseded certificate's credential.
    supersedes_credential: Option<String>,
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
