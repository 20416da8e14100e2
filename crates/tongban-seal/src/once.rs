//! `Idempotency-Key` on sealing: a client that lost the answer (its connection broke,
//! the instance died after committing) sends the same request with the same key, to
//! any instance, and gets the first signature back; nothing is signed or recorded
//! again. The key is looked up after the seal's row is locked, so two copies of one
//! request sent at once are done one after the other and the second finds the first's
//! answer; the answer is remembered in the transaction that records the use.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tongban_core::time::Timestamp;
use tongban_store::Conn;
use tongban_store::idempotency::{self, Recalled};

use crate::error::SealError;
use crate::permissions::Actor;

/// A caller's key and the request it names.
#[derive(Clone, Debug)]
pub struct Once {
    key: String,
    /// Hex SHA-256 of the request's parts.
    request: String,
}

impl Once {
    /// `key` as the caller sent it (1 to 255 visible ASCII characters), for the request
    /// made of `parts` (the call, the seal, the query and the body or its digest).
    pub fn new(key: &str, parts: &[&[u8]]) -> Result<Self, SealError> {
        if !idempotency::key_is_valid(key) {
            return Err(SealError::Invalid {
                field: "Idempotency-Key",
                reason: format!(
                    "must be 1 to {} visible ASCII characters",
                    idempotency::MAX_KEY_LEN
                ),
            });
        }
        Ok(Self {
            key: key.to_owned(),
            request: hash_parts(parts),
        })
    }

    /// The same request with the uploaded document's SHA-256, known once it arrived.
    pub(crate) fn with_document(&self, sha256: &[u8; 32]) -> Self {
        Self {
            key: self.key.clone(),
            request: hash_parts(&[self.request.as_bytes(), sha256]),
        }
    }

    /// The answer remembered for this key and request, if any; another request under
    /// the same key is refused.
    pub(crate) async fn recall(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Option<String>, SealError> {
        match idempotency::recall(conn, &actor.label(), &self.key, &self.request, now).await? {
            None => Ok(None),
            Some(Recalled::Answer(answer)) => Ok(Some(answer)),
            Some(Recalled::OtherRequest) => Err(SealError::Conflict(
                "this Idempotency-Key was used for another request",
            )),
        }
    }

    /// Remembers `answer` in the transaction that records the use.
    pub(crate) async fn remember(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        answer: &str,
        now: Timestamp,
    ) -> Result<(), SealError> {
        let label = actor.label();
        idempotency::remember(conn, &label, &self.key, &self.request, answer, now).await?;
        Ok(())
    }
}

/// Hex SHA-256 of `parts`, each preceded by its length: ("ab", "c") and ("a", "bc")
/// are different requests.
fn hash_parts(parts: &[&[u8]]) -> String {
    let mut hash = tongban_crypto::cms::Sha256::new();
    for part in parts {
        hash.update(&(part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    tongban_crypto::ca::hex(&hash.finish())
}

/// Signatures (or any byte strings) as a remembered answer: a JSON array of base64.
pub(crate) fn encode_list<S: AsRef<[u8]>>(items: &[S]) -> String {
    let list: Vec<String> = items.iter().map(|item| B64.encode(item)).collect();
    serde_json::Value::from(list).to_string()
}

/// The byte strings of [`encode_list`].
pub(crate) fn decode_list(answer: &str) -> Result<Vec<Vec<u8>>, SealError> {
    let unreadable = || SealError::Internal("a remembered answer is unreadable".into());
    let list: Vec<String> = serde_json::from_str(answer).map_err(|_| unreadable())?;
    list.iter()
        .map(|item| B64.decode(item).map_err(|_| unreadable()))
        .collect()
}

/// One byte string as a remembered answer (a sealed PDF's incremental update).
pub(crate) fn encode_bytes(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// The bytes of [`encode_bytes`].
pub(crate) fn decode_bytes(answer: &str) -> Result<Vec<u8>, SealError> {
    B64.decode(answer)
        .map_err(|_| SealError::Internal("a remembered answer is unreadable".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_named_by_all_its_parts_in_order() {
        let once = |parts: &[&[u8]]| Once::new("k", parts).expect("key").request;
        assert_eq!(once(&[b"ab", b"c"]), once(&[b"ab", b"c"]));
        assert_ne!(once(&[b"ab", b"c"]), once(&[b"a", b"bc"]));
        let base = Once::new("k", &[b"pades"]).expect("key");
        assert_ne!(
            base.with_document(&[1; 32]).request,
            base.with_document(&[2; 32]).request
        );
        assert_eq!(base.with_document(&[1; 32]).key, "k");
        assert!(Once::new("", &[]).is_err());
        assert!(Once::new("with space", &[]).is_err());
        assert!(Once::new(&"k".repeat(256), &[]).is_err());
    }

    #[test]
    fn remembered_lists_and_bytes_read_back() {
        let list = vec![vec![1u8, 2], vec![], vec![255]];
        assert_eq!(decode_list(&encode_list(&list)).expect("list"), list);
        assert_eq!(
            decode_bytes(&encode_bytes(b"%%EOF")).expect("bytes"),
            b"%%EOF"
        );
        assert!(decode_list("not json").is_err());
    }
}
