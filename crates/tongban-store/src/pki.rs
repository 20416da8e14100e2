//! Rows of the PKI: encrypted keys, certificates, CRLs and counters. The crypto layer
//! gives and takes opaque bytes here; it alone encrypts, signs and parses.

use sqlx::{AnyConnection, Row};
use tongban_core::time::Timestamp;

use crate::error::StoreError;

/// A private key as stored: only ciphertext, or where in a token it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    /// RFC 7638 thumbprint of the public key.
    pub id: String,
    /// What the key is for, e.g. `issuing-ca`, `tsa`, `token`, `seal:<id>`.
    pub purpose: String,
    /// `ES256` or `Ed25519`.
    pub algorithm: String,
    /// Raw public key.
    pub public_key: Vec<u8>,
    /// nonce ‖ AES-256-GCM ciphertext ‖ tag of the PKCS#8 document; empty for a key
    /// in a token.
    pub encrypted_private: Vec<u8>,
    /// For a key in a PKCS#11 token: the token's label and the key objects' `CKA_ID`.
    pub in_token: Option<(String, Vec<u8>)>,
    /// When it was made.
    pub created_at: Timestamp,
}

/// Inserts a key.
pub async fn insert_key(conn: &mut AnyConnection, key: &KeyRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO keys (id, purpose, algorithm, public_key, encrypted_private, created_at, \
         kind, token_label, token_object) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&key.id)
    .bind(&key.purpose)
    .bind(&key.algorithm)
    .bind(&key.public_key)
    .bind(&key.encrypted_private)
    .bind(key.created_at.unix_millis())
    .bind(if key.in_token.is_some() {
        "pkcs11"
    } else {
        "kek"
    })
    .bind(key.in_token.as_ref().map(|(label, _)| label.clone()))
    .bind(key.in_token.as_ref().map(|(_, object)| object.clone()))
    .execute(conn)
    .await?;
    Ok(())
}

/// The key with this id.
pub async fn key(conn: &mut AnyConnection, id: &str) -> Result<Option<KeyRow>, StoreError> {
    let row = sqlx::query(
        "SELECT id, purpose, algorithm, public_key, encrypted_private, created_at, kind, token_label, \
         token_object FROM keys WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(KeyRow {
            id: r.try_get("id")?,
            purpose: r.try_get("purpose")?,
            algorithm: r.try_get("algorithm")?,
            public_key: r.try_get("public_key")?,
            encrypted_private: r.try_get("encrypted_private")?,
            in_token: match r.try_get::<String, _>("kind")?.as_str() {
                "pkcs11" => Some((
                    r.try_get::<Option<String>, _>("token_label")?
                        .unwrap_or_default(),
                    r.try_get::<Option<Vec<u8>>, _>("token_object")?
                        .unwrap_or_default(),
                )),
                _ => None,
            },
            created_at: Timestamp::from_unix_millis(r.try_get("created_at")?),
        })
    })
    .transpose()
}

/// Revocation status of a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// When it was revoked.
    pub at: Timestamp,
    /// RFC 5280 CRLReason code.
    pub reason: i64,
}

/// A certificate as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRow {
    /// Serial number, lowercase hex.
    pub serial: String,
    /// Name of the issuing CA (`root`, `issuing`).
    pub issuer: String,
    /// Profile it was issued under.
    pub profile: String,
    /// Subject, as text for people.
    pub subject: String,
    /// Id of the certified key.
    pub key_id: String,
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
    /// The certificate.
    pub der: Vec<u8>,
    /// Set once revoked.
    pub revocation: Option<Revocation>,
    /// When it was stored.
    pub created_at: Timestamp,
}

const CERT_COLUMNS: &str = "serial, issuer, profile, subject, key_id, not_before, not_after, der, \
     revoked_at, revocation_reason, created_at";

fn cert_from_row(r: &sqlx::any::AnyRow) -> Result<CertificateRow, StoreError> {
    let revoked_at: Option<i64> = r.try_get("revoked_at")?;
    let reason: Option<i64> = r.try_get("revocation_reason")?;
    Ok(CertificateRow {
        serial: r.try_get("serial")?,
        issuer: r.try_get("issuer")?,
        profile: r.try_get("profile")?,
        subject: r.try_get("subject")?,
        key_id: r.try_get("key_id")?,
        not_before: Timestamp::from_unix_millis(r.try_get("not_before")?),
        not_after: Timestamp::from_unix_millis(r.try_get("not_after")?),
        der: r.try_get("der")?,
        revocation: revoked_at.map(|at| Revocation {
            at: Timestamp::from_unix_millis(at),
            reason: reason.unwrap_or(0),
        }),
        created_at: Timestamp::from_unix_millis(r.try_get("created_at")?),
    })
}

/// Inserts a certificate (valid).
pub async fn insert_certificate(
    conn: &mut AnyConnection,
    cert: &CertificateRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO certificates (serial, issuer, profile, subject, key_id, not_before, not_after, \
         der, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'valid', $9)",
    )
    .bind(&cert.serial)
    .bind(&cert.issuer)
    .bind(&cert.profile)
    .bind(&cert.subject)
    .bind(&cert.key_id)
    .bind(cert.not_before.unix_millis())
    .bind(cert.not_after.unix_millis())
    .bind(&cert.der)
    .bind(cert.created_at.unix_millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The certificate with this serial.
pub async fn certificate(
    conn: &mut AnyConnection,
    serial: &str,
) -> Result<Option<CertificateRow>, StoreError> {
    let sql = format!("SELECT {CERT_COLUMNS} FROM certificates WHERE serial = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(serial)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(cert_from_row).transpose()
}

/// The newest unrevoked certificate of a profile from an issuer that is valid at `at`.
pub async fn current_certificate(
    conn: &mut AnyConnection,
    issuer: &str,
    profile: &str,
    at: Timestamp,
) -> Result<Option<CertificateRow>, StoreError> {
    let sql = format!(
        "SELECT {CERT_COLUMNS} FROM certificates WHERE issuer = $1 AND profile = $2 \
         AND status = 'valid' AND not_before <= $3 AND not_after > $3 \
         ORDER BY created_at DESC LIMIT 1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(issuer)
        .bind(profile)
        .bind(at.unix_millis())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(cert_from_row).transpose()
}

/// Marks a certificate revoked. Returns false if it does not exist or was revoked
/// already (the first revocation's time and reason stand).
pub async fn revoke_certificate(
    conn: &mut AnyConnection,
    serial: &str,
    revocation: Revocation,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE certificates SET status = 'revoked', revoked_at = $2, revocation_reason = $3 \
         WHERE serial = $1 AND status = 'valid'",
    )
    .bind(serial)
    .bind(revocation.at.unix_millis())
    .bind(revocation.reason)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every revoked certificate of an issuer, for its CRL: serial, time, reason.
pub async fn revoked_by_issuer(
    conn: &mut AnyConnection,
    issuer: &str,
) -> Result<Vec<(String, Revocation)>, StoreError> {
    let rows = sqlx::query(
        "SELECT serial, revoked_at, revocation_reason FROM certificates \
         WHERE issuer = $1 AND status = 'revoked' ORDER BY serial",
    )
    .bind(issuer)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("serial")?,
                Revocation {
                    at: Timestamp::from_unix_millis(r.try_get("revoked_at")?),
                    reason: r.try_get("revocation_reason")?,
                },
            ))
        })
        .collect()
}

/// A signed CRL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlRow {
    /// CA name.
    pub ca: String,
    /// CRL number.
    pub number: i64,
    /// thisUpdate.
    pub this_update: Timestamp,
    /// nextUpdate.
    pub next_update: Timestamp,
    /// The CRL.
    pub der: Vec<u8>,
}

/// Stores a CRL.
pub async fn insert_crl(conn: &mut AnyConnection, crl: &CrlRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO crls (ca, number, this_update, next_update, der) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&crl.ca)
    .bind(crl.number)
    .bind(crl.this_update.unix_millis())
    .bind(crl.next_update.unix_millis())
    .bind(&crl.der)
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest CRL of a CA.
pub async fn latest_crl(conn: &mut AnyConnection, ca: &str) -> Result<Option<CrlRow>, StoreError> {
    let row = sqlx::query(
        "SELECT ca, number, this_update, next_update, der FROM crls WHERE ca = $1 \
         ORDER BY number DESC LIMIT 1",
    )
    .bind(ca)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(CrlRow {
            ca: r.try_get("ca")?,
            number: r.try_get("number")?,
            this_update: Timestamp::from_unix_millis(r.try_get("this_update")?),
            next_update: Timestamp::from_unix_millis(r.try_get("next_update")?),
            der: r.try_get("der")?,
        })
    })
    .transpose()
}

/// The next value of a named counter (1, 2, 3, …), strictly increasing across all
/// instances: the row lock of the UPDATE serialises concurrent callers.
pub async fn next_counter(conn: &mut AnyConnection, name: &str) -> Result<i64, StoreError> {
    next_counters(conn, name, 1).await
}

/// Reserves `count` consecutive values of a named counter; returns the first.
pub async fn next_counters(
    conn: &mut AnyConnection,
    name: &str,
    count: i64,
) -> Result<i64, StoreError> {
    // One statement: time-stamp serials are taken inside their signatures'
    // transactions.
    let row = sqlx::query(
        "INSERT INTO counters (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + $2 RETURNING value",
    )
    .bind(name)
    .bind(count)
    .fetch_one(conn)
    .await?;
    let last: i64 = row.try_get(0)?;
    Ok(last - count + 1)
}

/// A token signing key's schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenKeyRow {
    /// The key (row in `keys`).
    pub key_id: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// From when it signs.
    pub activate_at: Timestamp,
    /// Until when it is published; `None` while it has no successor.
    pub retire_at: Option<Timestamp>,
}

fn token_key_from_row(r: &sqlx::any::AnyRow) -> Result<TokenKeyRow, StoreError> {
    let retire_at: Option<i64> = r.try_get("retire_at")?;
    Ok(TokenKeyRow {
        key_id: r.try_get("key_id")?,
        created_at: Timestamp::from_unix_millis(r.try_get("created_at")?),
        activate_at: Timestamp::from_unix_millis(r.try_get("activate_at")?),
        retire_at: retire_at.map(Timestamp::from_unix_millis),
    })
}

/// Schedules a token key.
pub async fn insert_token_key(
    conn: &mut AnyConnection,
    key: &TokenKeyRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO token_keys (key_id, created_at, activate_at, retire_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&key.key_id)
    .bind(key.created_at.unix_millis())
    .bind(key.activate_at.unix_millis())
    .bind(key.retire_at.map(Timestamp::unix_millis))
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the end of publication of every key without one (the predecessors of a new key).
pub async fn retire_token_keys(
    conn: &mut AnyConnection,
    retire_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE token_keys SET retire_at = $1 WHERE retire_at IS NULL")
        .bind(retire_at.unix_millis())
        .execute(conn)
        .await?;
    Ok(())
}

/// Token keys still published at `at` (not retired), oldest first.
pub async fn published_token_keys(
    conn: &mut AnyConnection,
    at: Timestamp,
) -> Result<Vec<TokenKeyRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT key_id, created_at, activate_at, retire_at FROM token_keys \
         WHERE retire_at IS NULL OR retire_at > $1 ORDER BY activate_at, key_id",
    )
    .bind(at.unix_millis())
    .fetch_all(conn)
    .await?;
    rows.iter().map(token_key_from_row).collect()
}

/// Sets when one token key stops being published.
pub async fn set_token_key_retirement(
    conn: &mut AnyConnection,
    key_id: &str,
    retire_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE token_keys SET retire_at = $2 WHERE key_id = $1")
        .bind(key_id)
        .bind(retire_at.unix_millis())
        .execute(conn)
        .await?;
    Ok(())
}

/// The secret `name` sealed under the KEK, if stored.
pub async fn secret(conn: &mut AnyConnection, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT sealed FROM kek_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(conn)
            .await?,
    )
}

/// Stores secret `name` unless it is stored already (another instance starting at the
/// same moment).
pub async fn insert_secret(
    conn: &mut AnyConnection,
    name: &str,
    sealed: &[u8],
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO kek_secrets (name, sealed, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(sealed)
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Every secret sealed under the KEK: (name, sealed).
pub async fn secrets(conn: &mut AnyConnection) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT name, sealed FROM kek_secrets ORDER BY name")
            .fetch_all(conn)
            .await?,
    )
}

/// Replaces secret `name`'s ciphertext (re-wrapped under another KEK).
pub async fn set_secret(
    conn: &mut AnyConnection,
    name: &str,
    sealed: &[u8],
) -> Result<(), StoreError> {
    sqlx::query("UPDATE kek_secrets SET sealed = $1 WHERE name = $2")
        .bind(sealed)
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every key sealed under the KEK (none in a token): id, purpose, ciphertext.
pub async fn kek_keys(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, purpose, encrypted_private FROM keys WHERE kind = 'kek' ORDER BY id",
    )
    .fetch_all(conn)
    .await?)
}

/// Replaces key `id`'s ciphertext (re-wrapped under another KEK).
pub async fn set_key_ciphertext(
    conn: &mut AnyConnection,
    id: &str,
    sealed: &[u8],
) -> Result<(), StoreError> {
    sqlx::query("UPDATE keys SET encrypted_private = $1 WHERE id = $2")
        .bind(sealed)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
