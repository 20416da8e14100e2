//! The catalogue of certificate types: code (GB/T 36902), names, the defining
//! department, holder category, the JSON Schema (2020-12) of the face fields, validity,
//! the PDF layout, and which departments issue the type with which seal.

use serde_json::Value;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_identity::subjects::DepartmentId;
use tongban_seal::permissions::Actor;
use tongban_seal::registry::{self, SealId, SealStatus};
use tongban_store::Conn;

use crate::error::{EcertError, FieldError, corrupt, invalid};
use crate::permissions;

/// Whom a type is issued to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HolderCategory {
    /// A natural person (自然人), found by resident ID number.
    Natural,
    /// A legal person (法人), found by USCC.
    Legal,
}

impl HolderCategory {
    /// The kind of subject a holder of this category is.
    pub fn person_kind(self) -> tongban_identity::subjects::PersonKind {
        match self {
            Self::Natural => tongban_identity::subjects::PersonKind::Natural,
            Self::Legal => tongban_identity::subjects::PersonKind::Legal,
        }
    }

    /// Stored and API name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Natural => "natural",
            Self::Legal => "legal",
        }
    }

    /// The category named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "natural" => Some(Self::Natural),
            "legal" => Some(Self::Legal),
            _ => None,
        }
    }
}

/// A rendition of a certificate: the file a person prints or keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rendition {
    /// PDF sealed PAdES B-T with the type's P-256 seal.
    Pdf,
    /// OFD (GB/T 33190) sealed GB/T 38540 with the issuer's chosen SM2 seal.
    Ofd,
}

impl Rendition {
    /// Stored and API name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Ofd => "ofd",
        }
    }

    /// The rendition named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "pdf" => Some(Self::Pdf),
            "ofd" => Some(Self::Ofd),
            _ => None,
        }
    }
}

/// A certificate type.
#[derive(Clone, Debug, PartialEq)]
pub struct CertType {
    /// Row id.
    pub id: String,
    /// Type code: the defining department's USCC and a 3-digit sequence.
    pub code: String,
    /// The defining department.
    pub department_id: DepartmentId,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Who holds it.
    pub holder_category: HolderCategory,
    /// JSON Schema (2020-12) of the face fields.
    pub face_schema: Value,
    /// Days from issuance until it expires; none: until revoked.
    pub validity_days: Option<i64>,
    /// The face fields the renditions show, in order.
    pub layout: Vec<String>,
    /// The rendition issuing departments get by default.
    pub rendition: Rendition,
}

/// A type to define.
#[derive(Clone, Debug)]
pub struct NewType {
    /// The 3-digit sequence after the department's USCC.
    pub sequence: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Who holds it.
    pub holder_category: HolderCategory,
    /// JSON Schema (2020-12) of the face fields: an object schema.
    pub face_schema: Value,
    /// Days of validity; none: until revoked.
    pub validity_days: Option<i64>,
    /// Face fields on the PDF rendition; empty: every property of the schema.
    pub layout: Vec<String>,
    /// The defining department's seal that signs what it issues.
    pub seal_id: SealId,
    /// The rendition issuing departments get by default.
    pub rendition: Rendition,
}

/// Longest validity a type may give: 100 years.
const MAX_VALIDITY_DAYS: i64 = 36_525;

/// A compiled face schema.
pub struct FaceSchema(jsonschema::Validator);

impl FaceSchema {
    /// Compiles `schema` as JSON Schema 2020-12; it must describe an object.
    pub fn compile(schema: &Value) -> Result<Self, EcertError> {
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(invalid(
                "face_schema",
                "must be a JSON Schema with \"type\": \"object\"",
            ));
        }
        if let Some(dialect) = schema.get("$schema").and_then(Value::as_str)
            && dialect != "https://json-schema.org/draft/2020-12/schema"
        {
            return Err(invalid("face_schema", "must be JSON Schema 2020-12"));
        }
        jsonschema::draft202012::new(schema)
            .map(Self)
            .map_err(|e| invalid("face_schema", e.to_string()))
    }

    /// Every way `face` breaks the schema, each at its JSON Pointer.
    pub fn check(&self, face: &Value) -> Result<(), EcertError> {
        let errors: Vec<FieldError> = self.0.iter_errors(face).map(|e| field_error(&e)).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(EcertError::Face(errors))
        }
    }
}

/// One schema error as the person who typed the field reads it: at the field's own
/// pointer (a missing property's, not its object's), in words rather than the
/// validator's (a date's pattern, a type's name).
fn field_error(error: &jsonschema::ValidationError<'_>) -> FieldError {
    use jsonschema::error::{TypeKind, ValidationErrorKind as Kind};
    use jsonschema::types::JsonType;
    let at = error.instance_path().to_string();
    let (pointer, message) = match error.kind() {
        Kind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let step = name.replace('~', "~0").replace('/', "~1");
            (format!("{at}/{step}"), "is required".to_owned())
        }
        Kind::Pattern { pattern } if pattern == crate::face_form::DATE_PATTERN => (
            at,
            "must be a date written as YYYY-MM-DD, for example 2026-12-04".to_owned(),
        ),
        Kind::Type {
            kind: TypeKind::Single(JsonType::Integer),
        } => (at, "must be a whole number".to_owned()),
        Kind::Type {
            kind: TypeKind::Single(JsonType::Number),
        } => (at, "must be a number".to_owned()),
        _ => (at, error.to_string()),
    };
    FieldError { pointer, message }
}

fn properties(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

const COLUMNS: &str = "id, code, department_id, name_zh, name_en, holder_category, face_schema, validity_days, layout, rendition";

fn from_row(r: &sqlx::any::AnyRow) -> Result<CertType, EcertError> {
    let department: String = r.try_get("department_id")?;
    let category: String = r.try_get("holder_category")?;
    let schema: String = r.try_get("face_schema")?;
    let layout: String = r.try_get("layout")?;
    let rendition: String = r.try_get("rendition")?;
    Ok(CertType {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        department_id: department.parse().map_err(|_| corrupt("department id"))?,
        name_zh: r.try_get("name_zh")?,
        name_en: r.try_get("name_en")?,
        holder_category: HolderCategory::parse(&category)
            .ok_or_else(|| corrupt("holder category"))?,
        face_schema: serde_json::from_str(&schema).map_err(|_| corrupt("face schema"))?,
        validity_days: r.try_get("validity_days")?,
        layout: serde_json::from_str(&layout).map_err(|_| corrupt("layout"))?,
        rendition: Rendition::parse(&rendition).ok_or_else(|| corrupt("rendition"))?,
    })
}

fn name_field(field: &'static str, value: &str) -> Result<String, EcertError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 200 {
        return Err(invalid(field, "must have 1 to 200 characters"));
    }
    Ok(value.to_owned())
}

/// The USCC and name of a department.
pub async fn department(conn: &mut Conn, id: DepartmentId) -> Result<(String, String), EcertError> {
    let row = sqlx::query("SELECT uscc, name FROM departments WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or(EcertError::NotFound("department"))?;
    Ok((row.try_get("uscc")?, row.try_get("name")?))
}

/// Defines a type for `department`, which becomes its first issuer with `new.seal_id`.
pub async fn define(
    conn: &mut Conn,
    actor: &Actor,
    department_id: DepartmentId,
    new: &NewType,
    now: Timestamp,
) -> Result<CertType, EcertError> {
    permissions::may_define(conn, actor, department_id).await?;
    let (uscc, _) = department(conn, department_id).await?;
    if new.sequence.len() != 3 || !new.sequence.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("sequence", "must be 3 digits"));
    }
    let name_zh = name_field("name_zh", &new.name_zh)?;
    let name_en = name_field("name_en", &new.name_en)?;
    FaceSchema::compile(&new.face_schema)?;
    if let Some(days) = new.validity_days
        && !(1..=MAX_VALIDITY_DAYS).contains(&days)
    {
        return Err(invalid(
            "validity_days",
            format!("must be 1 to {MAX_VALIDITY_DAYS}"),
        ));
    }
    let known = properties(&new.face_schema);
    let layout = if new.layout.is_empty() {
        known.clone()
    } else {
        new.layout.clone()
    };
    if let Some(unknown) = layout.iter().find(|f| !known.contains(f)) {
        return Err(invalid(
            "layout",
            format!("{unknown} is not a property of the face schema"),
        ));
    }
    department_seal(conn, new.seal_id, department_id, SealUse::Signing).await?;
    let code = format!("{uscc}{}", new.sequence);
    let taken = sqlx::query("SELECT 1 FROM ecert_types WHERE code = $1")
        .bind(&code)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if taken {
        return Err(EcertError::Conflict(format!(
            "the type code {code} is already defined"
        )));
    }
    let defined = CertType {
        id: tongban_core::id::Uuid::now_v7().to_string(),
        code,
        department_id,
        name_zh,
        name_en,
        holder_category: new.holder_category,
        face_schema: new.face_schema.clone(),
        validity_days: new.validity_days,
        layout,
        rendition: new.rendition,
    };
    sqlx::query(
        "INSERT INTO ecert_types (id, code, department_id, name_zh, name_en, holder_category, \
         face_schema, validity_days, layout, created_by, created_at, rendition) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&defined.id)
    .bind(&defined.code)
    .bind(department_id.to_string())
    .bind(&defined.name_zh)
    .bind(&defined.name_en)
    .bind(defined.holder_category.name())
    .bind(defined.face_schema.to_string())
    .bind(defined.validity_days)
    .bind(serde_json::to_string(&defined.layout).map_err(|_| corrupt("layout"))?)
    .bind(actor.label())
    .bind(now.unix_millis())
    .bind(defined.rendition.name())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO ecert_type_issuers (type_id, department_id, seal_id) VALUES ($1, $2, $3)",
    )
    .bind(&defined.id)
    .bind(department_id.to_string())
    .bind(new.seal_id.to_string())
    .execute(&mut *conn)
    .await?;
    let event = tongban_core::audit::AuditEvent::new(
        &actor.label(),
        "ecert.type_defined",
        Some(&defined.code),
        None,
        serde_json::json!({ "department": department_id.to_string(), "seal": new.seal_id.to_string() }),
    )
    .in_department(department_id);
    tongban_store::audit::record(conn, &event).await?;
    Ok(defined)
}

/// The type with this code.
pub async fn by_code(conn: &mut Conn, code: &str) -> Result<CertType, EcertError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM ecert_types WHERE code = $1"
    )))
    .bind(code)
    .fetch_optional(conn)
    .await?
    .ok_or(EcertError::NotFound("certificate type"))?;
    from_row(&row)
}

/// The type with this row id.
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<CertType, EcertError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM ecert_types WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(EcertError::NotFound("certificate type"))?;
    from_row(&row)
}

/// The whole catalogue, by code. It is public: what a department issues is no secret.
pub async fn list(conn: &mut Conn) -> Result<Vec<CertType>, EcertError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM ecert_types ORDER BY code"
    )))
    .fetch_all(conn)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The types `department` issues or defines, by code: a department's own catalogue.
pub async fn of_department(
    conn: &mut Conn,
    department: DepartmentId,
) -> Result<Vec<CertType>, EcertError> {
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("t.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {columns} FROM ecert_types t WHERE t.department_id = $1 OR EXISTS \
         (SELECT 1 FROM ecert_type_issuers i WHERE i.type_id = t.id AND i.department_id = $1) \
         ORDER BY t.code"
    )))
    .bind(department.to_string())
    .fetch_all(conn)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The departments issuing `type_id`, with their seals.
pub async fn issuers(
    conn: &mut Conn,
    type_id: &str,
) -> Result<Vec<(DepartmentId, Option<SealId>)>, EcertError> {
    let rows = sqlx::query(
        "SELECT department_id, seal_id FROM ecert_type_issuers WHERE type_id = $1 ORDER BY department_id",
    )
    .bind(type_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let department: String = r.try_get("department_id")?;
            let seal: Option<String> = r.try_get("seal_id")?;
            Ok((
                department.parse().map_err(|_| corrupt("department id"))?,
                seal.map(|s| s.parse().map_err(|_| corrupt("seal id")))
                    .transpose()?,
            ))
        })
        .collect()
}

/// Lets `department` issue `code` too (its seal still to be chosen by it). The
/// defining department's administrators decide who issues their types.
pub async fn add_issuer(
    conn: &mut Conn,
    actor: &Actor,
    code: &str,
    department: DepartmentId,
    now: Timestamp,
) -> Result<(), EcertError> {
    let defined = by_code(conn, code).await?;
    permissions::may_define(conn, actor, defined.department_id).await?;
    self::department(conn, department).await?;
    sqlx::query(
        "INSERT INTO ecert_type_issuers (type_id, department_id, seal_id) VALUES ($1, $2, NULL) \
         ON CONFLICT (type_id, department_id) DO NOTHING",
    )
    .bind(&defined.id)
    .bind(department.to_string())
    .execute(&mut *conn)
    .await?;
    let event = tongban_core::audit::AuditEvent::new(
        &actor.label(),
        "ecert.issuer_added",
        Some(code),
        None,
        serde_json::json!({ "department": department.to_string(), "at": now.unix_millis() }),
    )
    .in_department(defined.department_id);
    tongban_store::audit::record(conn, &event).await?;
    Ok(())
}

/// What an issuing department's seal is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealUse {
    /// Signing the credentials and PDF renditions: a P-256 seal.
    Signing,
    /// Sealing the OFD renditions (GB/T 38540): an SM2 seal.
    Ofd,
}

impl SealUse {
    fn algorithm(self) -> tongban_crypto::Algorithm {
        match self {
            Self::Signing => tongban_crypto::Algorithm::Es256,
            Self::Ofd => tongban_crypto::Algorithm::Sm2,
        }
    }
}

/// Checks that `seal` may serve `department` for `used`: its own, active, and of the
/// algorithm the use needs (credentials are JWS and PDFs PAdES; OFD copies GB/T 38540).
async fn department_seal(
    conn: &mut Conn,
    seal: SealId,
    department: DepartmentId,
    used: SealUse,
) -> Result<(), EcertError> {
    let found = registry::find(conn, seal)
        .await
        .map_err(|_| invalid("seal_id", "no such seal"))?;
    if found.department_id != department {
        return Err(EcertError::Denied(
            "the seal belongs to another department".into(),
        ));
    }
    if found.status != SealStatus::Active {
        return Err(invalid("seal_id", "the seal is not active"));
    }
    if found.algorithm != used.algorithm() {
        return Err(invalid(
            "seal_id",
            match used {
                SealUse::Signing => "an SM2 seal cannot sign certificates",
                SealUse::Ofd => "OFD copies are sealed with an SM2 seal",
            },
        ));
    }
    Ok(())
}

/// An issuing department chooses which of its own seals serves `code` for `used`: the
/// P-256 seal that signs its certificates, or the SM2 seal of their OFD copies. Its
/// administrators only.
pub async fn choose_seal(
    conn: &mut Conn,
    actor: &Actor,
    code: &str,
    department: DepartmentId,
    (seal, used): (SealId, SealUse),
) -> Result<(), EcertError> {
    let defined = by_code(conn, code).await?;
    permissions::may_define(conn, actor, department).await?;
    department_seal(conn, seal, department, used).await?;
    let (statement, action) = match used {
        SealUse::Signing => (
            "UPDATE ecert_type_issuers SET seal_id = $1 WHERE type_id = $2 AND department_id = $3",
            "ecert.issuer_seal_chosen",
        ),
        SealUse::Ofd => (
            "UPDATE ecert_type_issuers SET ofd_seal_id = $1 WHERE type_id = $2 AND department_id = $3",
            "ecert.issuer_ofd_seal_chosen",
        ),
    };
    let updated = sqlx::query(statement)
        .bind(seal.to_string())
        .bind(&defined.id)
        .bind(department.to_string())
        .execute(&mut *conn)
        .await?;
    if updated.rows_affected() != 1 {
        return Err(EcertError::Denied(
            "the defining department has not made this department an issuer of the type".into(),
        ));
    }
    let event = tongban_core::audit::AuditEvent::new(
        &actor.label(),
        action,
        Some(code),
        None,
        serde_json::json!({ "department": department.to_string(), "seal": seal.to_string() }),
    )
    .in_department(department);
    tongban_store::audit::record(conn, &event).await?;
    Ok(())
}

/// The SM2 seal that `department` seals OFD copies of type `type_id` with, if chosen.
pub async fn ofd_seal(
    conn: &mut Conn,
    type_id: &str,
    department: DepartmentId,
) -> Result<Option<SealId>, EcertError> {
    let row = sqlx::query(
        "SELECT ofd_seal_id FROM ecert_type_issuers WHERE type_id = $1 AND department_id = $2",
    )
    .bind(type_id)
    .bind(department.to_string())
    .fetch_optional(conn)
    .await?;
    let seal: Option<String> = row.map(|r| r.try_get("ofd_seal_id")).transpose()?.flatten();
    seal.map(|s| s.parse().map_err(|_| corrupt("seal id")))
        .transpose()
}
