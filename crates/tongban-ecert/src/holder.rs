//! What a holder sees and does: their certificates (a company's agents see the
//! company's), shares of one certificate with an audience for a purpose, and every
//! access to their certificates.

use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_identity::subjects::{self, SubjectId};
use tongban_store::Conn;

use crate::error::{EcertError, corrupt, invalid};
use crate::register::{self, Certificate, Status};

/// Longest a share may live: 30 days.
pub const MAX_SHARE_SECS: i64 = 30 * 86_400;

/// Characters of short codes: Crockford's base32 (no I, L, O, U), easy to read aloud.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The subjects whose certificates `person` holds: themself and the legal persons they
/// act for now.
pub async fn holders_for(
    conn: &mut Conn,
    person: SubjectId,
    now: Timestamp,
) -> Result<Vec<SubjectId>, EcertError> {
    let mut holders = vec![person];
    holders.extend(subjects::represented_by(conn, person, now).await?);
    Ok(holders)
}

/// `person`'s certificates and those of the companies they act for, newest first.
pub async fn certificates(
    conn: &mut Conn,
    person: SubjectId,
    now: Timestamp,
) -> Result<Vec<Certificate>, EcertError> {
    let mut all = Vec::new();
    for holder in holders_for(conn, person, now).await? {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{} WHERE e.holder_id = $1 ORDER BY e.issued_at DESC LIMIT 500",
            register::SELECT
        )))
        .bind(holder.to_string())
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            all.push(register::from_row(row)?);
        }
    }
    all.sort_by_key(|c| std::cmp::Reverse(c.issued_at));
    Ok(all)
}

/// One of `person`'s certificates (or a company's they act for), by row id.
pub async fn certificate(
    conn: &mut Conn,
    person: SubjectId,
    id: &str,
    now: Timestamp,
) -> Result<Certificate, EcertError> {
    let found = register::by_id(conn, id).await?;
    if holders_for(conn, person, now)
        .await?
        .contains(&found.holder_id)
    {
        Ok(found)
    } else {
        Err(EcertError::NotFound("certificate"))
    }
}

/// A share to create.
#[derive(Clone, Debug)]
pub struct NewShare {
    /// Who it is for, in the holder's words (a bank, an employer).
    pub audience: String,
    /// What for.
    pub purpose: String,
    /// Seconds it lives, at most [`MAX_SHARE_SECS`].
    pub expires_in: i64,
    /// The face fields shown; none: all of them.
    pub fields: Option<Vec<String>>,
    /// Whether it works once only.
    pub single_use: bool,
}

/// A share.
#[derive(Clone, Debug, PartialEq)]
pub struct Share {
    /// Row id.
    pub id: String,
    /// The certificate's row id.
    pub certificate_id: String,
    /// Who it is for.
    pub audience: String,
    /// What for.
    pub purpose: String,
    /// The face fields shown.
    pub fields: Vec<String>,
    /// Uses allowed; none: until expiry.
    pub max_uses: Option<i64>,
    /// Uses so far.
    pub uses: i64,
    /// End of life.
    pub expires_at: Timestamp,
    /// When the holder revoked it.
    pub revoked_at: Option<Timestamp>,
    /// When it was made.
    pub created_at: Timestamp,
}

/// A new share with its secrets, which are shown once and stored only hashed.
pub struct Created {
    /// The share.
    pub share: Share,
    /// The token for links and QR codes.
    pub token: String,
    /// The short code to read out or type (`XXXXX-XXXXX`).
    pub code: String,
}

fn sha256_hex(text: &str) -> String {
    tongban_crypto::ca::hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}

/// The canonical form of a typed short code: upper case, no separators, and the
/// letters people confuse with digits read as those digits.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// The hash a token or short code is stored under.
pub fn secret_hash(secret: &str) -> String {
    sha256_hex(secret)
}

fn new_code() -> Result<String, EcertError> {
    let mut bytes = [0u8; 10];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| corrupt("random number generator failed"))?;
    let chars: String = bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(b % 32)]))
        .collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

const SHARE_COLUMNS: &str =
    "id, ecert_id, audience, purpose, fields, max_uses, uses, expires_at, revoked_at, created_at";

pub(crate) fn share_from_row(r: &sqlx::any::AnyRow) -> Result<Share, EcertError> {
    let fields: String = r.try_get("fields")?;
    Ok(Share {
        id: r.try_get("id")?,
        certificate_id: r.try_get("ecert_id")?,
        audience: r.try_get("audience")?,
        purpose: r.try_get("purpose")?,
        fields: serde_json::from_str(&fields).map_err(|_| corrupt("share fields"))?,
        max_uses: r.try_get("max_uses")?,
        uses: r.try_get("uses")?,
        expires_at: Timestamp::from_unix_millis(r.try_get("expires_at")?),
        revoked_at: r
            .try_get::<Option<i64>, _>("revoked_at")?
            .map(Timestamp::from_unix_millis),
        created_at: Timestamp::from_unix_millis(r.try_get("created_at")?),
    })
}

fn text_field(field: &'static str, value: &str, max: usize) -> Result<String, EcertError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(invalid(field, format!("must have 1 to {max} characters")));
    }
    Ok(value.to_owned())
}

/// Shares one of `person`'s certificates.
pub async fn share(
    conn: &mut Conn,
    person: SubjectId,
    certificate_id: &str,
    new: &NewShare,
    now: Timestamp,
) -> Result<Created, EcertError> {
    let found = certificate(conn, person, certificate_id, now).await?;
    let status = found.status_at(now);
    if status != Status::Active.name() {
        return Err(EcertError::Conflict(format!(
            "a certificate that is {status} cannot be shared"
        )));
    }
    let audience = text_field("audience", &new.audience, 200)?;
    let purpose = text_field("purpose", &new.purpose, 500)?;
    if !(60..=MAX_SHARE_SECS).contains(&new.expires_in) {
        return Err(invalid(
            "expires_in",
            format!("must be 60 to {MAX_SHARE_SECS} seconds (30 days)"),
        ));
    }
    let known: Vec<String> = found
        .face
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let fields = match &new.fields {
        None => known,
        Some(fields) => {
            if let Some(unknown) = fields.iter().find(|f| !known.contains(f)) {
                return Err(invalid(
                    "fields",
                    format!("{unknown} is not a field of the certificate"),
                ));
            }
            fields.clone()
        }
    };
    let token = tongban_identity::secrets::random_token(32)
        .map_err(|_| corrupt("random number generator failed"))?;
    let code = new_code()?;
    let created = Share {
        id: tongban_core::id::Uuid::now_v7().to_string(),
        certificate_id: found.id.clone(),
        audience,
        purpose,
        fields,
        max_uses: new.single_use.then_some(1),
        uses: 0,
        expires_at: Timestamp::from_unix_millis(now.unix_millis() + new.expires_in * 1000),
        revoked_at: None,
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO ecert_shares (id, ecert_id, token_sha256, code_sha256, audience, purpose, fields, \
         max_uses, uses, expires_at, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11)",
    )
    .bind(&created.id)
    .bind(&created.certificate_id)
    .bind(secret_hash(&token))
    .bind(secret_hash(&normalise_code(&code)))
    .bind(&created.audience)
    .bind(&created.purpose)
    .bind(serde_json::to_string(&created.fields).map_err(|_| corrupt("share fields"))?)
    .bind(created.max_uses)
    .bind(created.expires_at.unix_millis())
    .bind(format!("subject:{person}"))
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(Created {
        share: created,
        token,
        code,
    })
}

/// The shares of one of `person`'s certificates, newest first.
pub async fn shares(
    conn: &mut Conn,
    person: SubjectId,
    certificate_id: &str,
    now: Timestamp,
) -> Result<Vec<Share>, EcertError> {
    let found = certificate(conn, person, certificate_id, now).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SHARE_COLUMNS} FROM ecert_shares WHERE ecert_id = $1 ORDER BY created_at DESC"
    )))
    .bind(&found.id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(share_from_row)
    .collect()
}

/// Revokes one of `person`'s shares; revoking twice is harmless.
pub async fn revoke_share(
    conn: &mut Conn,
    person: SubjectId,
    share_id: &str,
    now: Timestamp,
) -> Result<(), EcertError> {
    let row = sqlx::query("SELECT ecert_id FROM ecert_shares WHERE id = $1")
        .bind(share_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(EcertError::NotFound("share"))?;
    let certificate_id: String = row.try_get(0)?;
    certificate(conn, person, &certificate_id, now)
        .await
        .map_err(|_| EcertError::NotFound("share"))?;
    sqlx::query("UPDATE ecert_shares SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now.unix_millis())
        .bind(share_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// One access to a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The certificate's identifier.
    pub identifier: String,
    /// `share` or `lookup`.
    pub channel: String,
    /// Who: the share's audience, or the department and system that looked it up.
    pub accessor: String,
    /// What for.
    pub purpose: String,
    /// When.
    pub at: Timestamp,
}

/// Records an access to a certificate.
pub async fn record_access(
    conn: &mut Conn,
    certificate_id: &str,
    channel: &str,
    share_id: Option<&str>,
    accessor: &str,
    purpose: &str,
    now: Timestamp,
) -> Result<(), EcertError> {
    sqlx::query(
        "INSERT INTO ecert_accesses (id, ecert_id, channel, share_id, accessor, purpose, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tongban_core::id::Uuid::now_v7().to_string())
    .bind(certificate_id)
    .bind(channel)
    .bind(share_id)
    .bind(accessor)
    .bind(purpose)
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Every access to the certificates `person` holds, newest first (at most `limit`).
pub async fn accesses(
    conn: &mut Conn,
    person: SubjectId,
    limit: i64,
    now: Timestamp,
) -> Result<Vec<Access>, EcertError> {
    let mut all = Vec::new();
    for holder in holders_for(conn, person, now).await? {
        let rows = sqlx::query(
            "SELECT e.identifier, a.channel, a.accessor, a.purpose, a.created_at FROM ecert_accesses a \
             JOIN ecerts e ON e.id = a.ecert_id WHERE e.holder_id = $1 ORDER BY a.created_at DESC LIMIT $2",
        )
        .bind(holder.to_string())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        for r in &rows {
            all.push(Access {
                identifier: r.try_get("identifier")?,
                channel: r.try_get("channel")?,
                accessor: r.try_get("accessor")?,
                purpose: r.try_get("purpose")?,
                at: Timestamp::from_unix_millis(r.try_get("created_at")?),
            });
        }
    }
    all.sort_by_key(|a| std::cmp::Reverse(a.at));
    all.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(all)
}

/// The face fields of `face` named in `fields`.
pub fn shown(face: &Value, fields: &[String]) -> Value {
    let mut out = serde_json::Map::new();
    for field in fields {
        if let Some(value) = face.get(field) {
            out.insert(field.clone(), value.clone());
        }
    }
    json!(out)
}
