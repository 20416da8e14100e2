//! Signed entry promises: the log's word, in an act's answer, that the entries the act
//! appended will be in the tree within the maximum merge delay.
//!
//! Acts append deep inside domain functions, in their own transactions; rather than
//! thread the leaf hashes back through every return type, [`collect`] runs a request
//! with a task-local list that [`record`] adds to, and the HTTP layer signs what it
//! holds once the act has answered.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use serde::{Deserialize, Serialize};

use crate::merkle::Hash;

/// Leaf hashes a promise names at most; an act that appended more (a batch of digests)
/// answers without one, and its entries are found by their signatures' hashes.
pub const MAX_LEAVES: usize = 100;
/// What the log promises: integration within this many milliseconds.
pub const MAX_MERGE_DELAY_MS: i64 = 1000;

tokio::task_local! {
    static COLLECTED: Arc<Mutex<Vec<Hash>>>;
}

/// Runs `future`, collecting the leaf hashes of the entries it appends.
pub async fn collect<F: Future>(future: F) -> (F::Output, Vec<Hash>) {
    let collected = Arc::new(Mutex::new(Vec::new()));
    let output = COLLECTED.scope(collected.clone(), future).await;
    let leaves = collected.lock().map(|l| l.clone()).unwrap_or_default();
    (output, leaves)
}

pub(crate) fn record(leaves: &[Hash]) {
    let _ = COLLECTED.try_with(|collected| {
        if let Ok(mut collected) = collected.lock() {
            collected.extend_from_slice(leaves);
        }
    });
}

/// The signed statement (JSON, then signed with the log key over
/// `tongban-log-promise/v1\n` followed by the JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise {
    /// The log's origin.
    pub log: String,
    /// Base64 leaf hashes.
    pub leaves: Vec<String>,
    /// RFC 3339: the promise's time; integration by `time` + `max_merge_delay_ms`.
    pub time: String,
    pub max_merge_delay_ms: i64,
}

impl Promise {
    pub fn new(log: &str, leaves: &[Hash], time: &str) -> Self {
        Self {
            log: log.to_owned(),
            leaves: leaves.iter().map(|l| B64.encode(l)).collect(),
            time: time.to_owned(),
            max_merge_delay_ms: MAX_MERGE_DELAY_MS,
        }
    }

    /// What the log key signs.
    pub fn message(json: &[u8]) -> Vec<u8> {
        let mut message = b"tongban-log-promise/v1\n".to_vec();
        message.extend_from_slice(json);
        message
    }

    /// `base64url(json).base64url(signature)`.
    pub fn encode(json: &[u8], signature: &[u8]) -> String {
        format!("{}.{}", B64URL.encode(json), B64URL.encode(signature))
    }

    /// Splits an encoded promise into the promise and the signed message and
    /// signature.
    pub fn decode(text: &str) -> Option<(Self, Vec<u8>, Vec<u8>)> {
        let (json, signature) = text.split_once('.')?;
        let json = B64URL.decode(json).ok()?;
        let promise = serde_json::from_slice(&json).ok()?;
        Some((
            promise,
            Self::message(&json),
            B64URL.decode(signature).ok()?,
        ))
    }
}
