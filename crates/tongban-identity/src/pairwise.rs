//! Pairwise subject identifiers (OpenID Connect Core §8.1): a third-party client is
//! told an identifier of the person that is its sector's alone, so two sectors cannot
//! link what they know. First-party portals get the public identifier.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use sqlx::Row;
use tongban_crypto::kek::Kek;
use tongban_store::{Conn, StoreError};

/// The key pairwise identifiers are computed under, derived from the KEK so that
/// every instance computes the same identifier.
pub struct PairwiseKey(Kek);

impl PairwiseKey {
    /// This deployment's key.
    pub fn derive(kek: &Kek) -> Self {
        Self(kek.derive("tongban pairwise subjects v1"))
    }

    /// The identifier of `subject` in `sector`: HMAC-SHA256 over both, base64url.
    pub fn sub(&self, sector: &str, subject: &str) -> String {
        let input = format!("{sector}\u{0}{subject}");
        B64URL.encode(self.0.mac(input.as_bytes()))
    }
}

/// Remembers which person a pairwise identifier stands for (a hash cannot be turned
/// back), so that userinfo and logout find them.
pub async fn remember(
    conn: &mut Conn,
    sector: &str,
    sub: &str,
    subject: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO pairwise_subjects (sector, sub, subject_id) VALUES ($1, $2, $3) \
         ON CONFLICT (sector, sub) DO NOTHING",
    )
    .bind(sector)
    .bind(sub)
    .bind(subject)
    .execute(conn)
    .await?;
    Ok(())
}

/// The person a pairwise identifier of `sector` stands for.
pub async fn resolve(
    conn: &mut Conn,
    sector: &str,
    sub: &str,
) -> Result<Option<String>, StoreError> {
    let row =
        sqlx::query("SELECT subject_id FROM pairwise_subjects WHERE sector = $1 AND sub = $2")
            .bind(sector)
            .bind(sub)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|r| r.try_get("subject_id")).transpose()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_differ_by_sector_and_are_stable() {
        let key = PairwiseKey::derive(&Kek::generate().expect("kek"));
        let a = key.sub("bank.example.cn", "0190-subject");
        assert_eq!(a, key.sub("bank.example.cn", "0190-subject"));
        assert_ne!(a, key.sub("shop.example.cn", "0190-subject"));
        assert_ne!(a, key.sub("bank.example.cn", "0190-other"));
        assert_eq!(a.len(), 43);
    }
}
