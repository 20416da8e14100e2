//! Bitstring Status Lists (W3C): one revocation and one suspension list per seal, each
//! entry one bit, served as a signed VC-JWT. A status change flips its bit in the
//! transaction that changes the certificate, so the list never disagrees with the
//! register.

use std::collections::HashMap;
use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::{Value, json};
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_seal::registry::SealId;
use tongban_store::Conn;

use crate::credential::{self, Issuer};
use crate::error::{EcertError, corrupt};

/// Entries per list: 131 072 bits (16 KiB), the W3C minimum, which keeps a holder
/// hidden among that many others.
pub const SIZE: i64 = 131_072;

/// What a list says about its entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Set bit: revoked (final).
    Revocation,
    /// Set bit: suspended (may be resumed).
    Suspension,
}

impl Purpose {
    /// The `statusPurpose` value, also the last segment of the list's URL.
    pub fn name(self) -> &'static str {
        match self {
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
        }
    }

    /// The purpose named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "revocation" => Some(Self::Revocation),
            "suspension" => Some(Self::Suspension),
            _ => None,
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::Revocation => "revoked",
            Self::Suspension => "suspended",
        }
    }
}

/// The URL of a list.
pub fn list_url(base: &str, list_id: &str, purpose: Purpose) -> String {
    format!("{base}/api/v1/status-lists/{list_id}/{}", purpose.name())
}

/// Entries reserved in one list: the `count` positions after `first`, each mapped to
/// its index by the list's keyed permutation.
pub struct Allocation {
    /// The list.
    pub list_id: String,
    first: i64,
    key: Option<ring::hmac::Key>,
}

impl Allocation {
    /// The list and the index of the `offset`-th entry reserved.
    pub fn entry(&self, offset: i64) -> (String, i64) {
        let position = self.first + offset;
        let index = match &self.key {
            Some(key) => permute(key, position),
            None => position,
        };
        (self.list_id.clone(), index)
    }
}

/// Bits of the Feistel network's domain: 2^18 covers [`SIZE`] = 2^17, and positions
/// that land outside are walked on until they land inside (two steps on average).
const FEISTEL_HALF: u32 = 9;

/// A keyed permutation of `0..SIZE`: a four-round Feistel network (Luby–Rackoff) on
/// 18 bits with HMAC-SHA-256 as round function, cycle-walked into the list.
fn permute(key: &ring::hmac::Key, position: i64) -> i64 {
    let mask = (1u32 << FEISTEL_HALF) - 1;
    let mut x = u32::try_from(position).unwrap_or(0);
    loop {
        let (mut left, mut right) = (x >> FEISTEL_HALF, x & mask);
        for round in 0u8..4 {
            let tag = ring::hmac::sign(key, &[round, (right >> 8) as u8, right as u8]);
            let f = u32::from(u16::from_be_bytes([tag.as_ref()[0], tag.as_ref()[1]])) & mask;
            (left, right) = (right, left ^ f);
        }
        x = (left << FEISTEL_HALF) | right;
        if i64::from(x) < SIZE {
            return i64::from(x);
        }
    }
}

/// Reserves `count` entries for `seal`, in a list with room for all of them (a new
/// one, with a new secret key, when the newest is full).
pub async fn allocate(
    conn: &mut Conn,
    seal: SealId,
    count: i64,
    now: Timestamp,
) -> Result<Allocation, EcertError> {
    if !(1..=SIZE).contains(&count) {
        return Err(corrupt("status list allocation size"));
    }
    let hmac_key =
        |bytes: Option<Vec<u8>>| bytes.map(|b| ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &b));
    // The UPDATE's row lock serialises concurrent issuers of the same seal.
    let taken = sqlx::query(
        "UPDATE ecert_status_lists SET next_index = next_index + $1 WHERE id = \
         (SELECT id FROM ecert_status_lists WHERE seal_id = $2 AND next_index + $1 <= size \
          ORDER BY created_at DESC LIMIT 1) RETURNING id, next_index, index_key",
    )
    .bind(count)
    .bind(seal.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = taken {
        let next: i64 = row.try_get("next_index")?;
        return Ok(Allocation {
            list_id: row.try_get("id")?,
            first: next - count,
            key: hmac_key(row.try_get("index_key")?),
        });
    }
    let id = tongban_core::id::Uuid::now_v7().to_string();
    let empty = vec![0u8; usize::try_from(SIZE / 8).map_err(|_| corrupt("list size"))?];
    let mut key = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
        .map_err(|_| corrupt("no randomness for a status list key"))?;
    sqlx::query(
        "INSERT INTO ecert_status_lists (id, seal_id, size, next_index, revoked, suspended, version, \
         index_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, 1, $6, $7, $7)",
    )
    .bind(&id)
    .bind(seal.to_string())
    .bind(SIZE)
    .bind(count)
    .bind(empty)
    .bind(key.to_vec())
    .bind(now.unix_millis())
    .execute(conn)
    .await?;
    Ok(Allocation {
        list_id: id,
        first: 0,
        key: hmac_key(Some(key.to_vec())),
    })
}

/// Sets or clears the bit of `index` in `list_id`'s `purpose` list.
pub async fn set(
    conn: &mut Conn,
    list_id: &str,
    index: i64,
    purpose: Purpose,
    on: bool,
    now: Timestamp,
) -> Result<(), EcertError> {
    let column = purpose.column();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {column} FROM ecert_status_lists WHERE id = $1"
    )))
    .bind(list_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| corrupt("status list missing"))?;
    let mut bits: Vec<u8> = row.try_get(0)?;
    let byte = usize::try_from(index / 8).map_err(|_| corrupt("status index"))?;
    let mask = 0x80u8 >> (index % 8);
    let slot = bits
        .get_mut(byte)
        .ok_or_else(|| corrupt("status index beyond its list"))?;
    if on {
        *slot |= mask;
    } else {
        *slot &= !mask;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE ecert_status_lists SET {column} = $1, version = version + 1, updated_at = $2 WHERE id = $3"
    )))
    .bind(bits)
    .bind(now.unix_millis())
    .bind(list_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// GZIP, then multibase base64url (`u` prefix), as the W3C text asks of `encodedList`.
pub fn encode(bits: &[u8]) -> Result<String, EcertError> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(bits)
        .map_err(|e| corrupt(&format!("gzip: {e}")))?;
    let compressed = gzip.finish().map_err(|e| corrupt(&format!("gzip: {e}")))?;
    Ok(format!("u{}", B64URL.encode(compressed)))
}

/// A published list: its signed credential and the version it shows (the ETag).
pub struct Published {
    /// The BitstringStatusListCredential as a VC-JWT.
    pub credential: String,
    /// Bumped by every change.
    pub version: i64,
}

/// The version of a list, to answer a conditional request without signing.
pub async fn version(conn: &mut Conn, list_id: &str) -> Result<i64, EcertError> {
    let row = sqlx::query("SELECT version FROM ecert_status_lists WHERE id = $1")
        .bind(list_id)
        .fetch_optional(conn)
        .await?
        .ok_or(EcertError::NotFound("status list"))?;
    Ok(row.try_get(0)?)
}

/// Lists already signed, by list, purpose, version and the seal certificate that
/// signed: a version's bits never change, so every verifier fetching it gets the same
/// credential, signed once (each signing decrypts the seal's key). Bounded: emptied
/// when full.
static SIGNED: std::sync::LazyLock<std::sync::Mutex<HashMap<SignedKey, String>>> =
    std::sync::LazyLock::new(Default::default);

/// List, purpose, version and the serial of the seal certificate that signed.
type SignedKey = (String, Purpose, i64, String);

const SIGNED_MAX: usize = 1_024;

/// The current state of a list, signed with its seal (signed once per version).
pub async fn publish(
    conn: &mut Conn,
    pki: &Pki,
    base: &str,
    list_id: &str,
    purpose: Purpose,
    now: Timestamp,
) -> Result<Published, EcertError> {
    let row = sqlx::query(
        "SELECT l.seal_id, l.version, s.certificate_serial FROM ecert_status_lists l \
         JOIN seals s ON s.id = l.seal_id WHERE l.id = $1",
    )
    .bind(list_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(EcertError::NotFound("status list"))?;
    let seal: String = row.try_get("seal_id")?;
    let seal: SealId = seal.parse().map_err(|_| corrupt("seal id"))?;
    let signer: String = row.try_get("certificate_serial")?;
    let key = |version: i64| (list_id.to_owned(), purpose, version, signer.clone());
    let version: i64 = row.try_get("version")?;
    if let Some(credential) = SIGNED
        .lock()
        .ok()
        .and_then(|s| s.get(&key(version)).cloned())
    {
        return Ok(Published {
            credential,
            version,
        });
    }
    // Signed now: the bits (16 KiB) are read only for that, with the version they are
    // (a change may have come in between).
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT version, {} FROM ecert_status_lists WHERE id = $1",
        purpose.column()
    )))
    .bind(list_id)
    .fetch_one(&mut *conn)
    .await?;
    let version: i64 = row.try_get("version")?;
    let bits: Vec<u8> = row.try_get(1)?;
    let issuer = Issuer::of_seal(conn, pki, seal).await?;
    let url = list_url(base, list_id, purpose);
    let body: Value = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.json(base),
        "validFrom": now.to_rfc3339(),
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose.name(),
            "encodedList": encode(&bits)?,
        },
    });
    let credential = credential::sign(&issuer, &body)?;
    if let Ok(mut signed) = SIGNED.lock() {
        if signed.len() >= SIGNED_MAX {
            signed.clear();
        }
        signed.insert(key(version), credential.clone());
    }
    Ok(Published {
        credential,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn the_index_order_is_a_keyed_permutation_of_the_list() {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"a status list key");
        let mut seen = vec![false; SIZE as usize];
        for position in 0..SIZE {
            let index = permute(&key, position);
            assert!((0..SIZE).contains(&index));
            assert!(!seen[index as usize], "{index} twice");
            seen[index as usize] = true;
        }
        let first: Vec<i64> = (0..8).map(|p| permute(&key, p)).collect();
        assert!(first.windows(2).any(|w| w[1] != w[0] + 1), "{first:?}");
        let other = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"another key");
        assert_ne!(
            first,
            (0..8).map(|p| permute(&other, p)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_encoded_list_is_gzip_in_multibase_base64url() {
        let mut bits = vec![0u8; 16_384];
        bits[0] = 0x80; // index 0
        bits[1] = 0x01; // index 15
        let encoded = encode(&bits).unwrap();
        let compressed = B64URL.decode(encoded.strip_prefix('u').unwrap()).unwrap();
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, bits);
    }
}
