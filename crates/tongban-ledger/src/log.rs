//! The log as a service: its key and name, the integrator that turns pending entries
//! into signed checkpoints, entry promises, and the proofs that verification reports
//! carry.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tongban_core::time::Timestamp;
use tongban_crypto::keystore::KeyStore;
use tongban_crypto::{Algorithm, Signer};
use tongban_store::{Conn, Store};

use crate::LedgerError;
use crate::entry::Entry;
use crate::merkle::{self, Hash};
use crate::note::{Checkpoint, Note, SignatureLine, VerifierKey};
use crate::promise::Promise;
use crate::storage::{self, Filter};

/// Key purpose of the log's signing key in the key store.
const KEY_PURPOSE: &str = "transparency-log";
/// How often an instance looks for pending entries: well inside the merge delay.
const INTEGRATION_INTERVAL: Duration = Duration::from_millis(200);

/// The platform's transparency log.
pub struct Log {
    store: Store,
    signer: Arc<dyn Signer>,
    key: VerifierKey,
    /// The latest checkpoint whose signature was checked, with its note: every
    /// verification report proves against it, and checks the signature only when the
    /// note changed.
    checked: std::sync::Mutex<Option<(String, Checkpoint)>>,
    /// Witnesses whose cosignatures the log accepts.
    witnesses: Vec<VerifierKey>,
    /// What proofs read again and again.
    kept: Kept,
}

/// What every verification report's proof would otherwise read from the database or
/// compute again: the entries found, with the last proof reported for each (an
/// integrated entry's place never changes, nor its proof in one tree), the tree's
/// perfect nodes (never change either), and the newest checkpoint, read again after
/// [`RECENT_CHECKPOINT`].
#[derive(Default)]
struct Kept {
    entries: std::sync::Mutex<std::collections::HashMap<Hash, KeptEntry>>,
    nodes: storage::Nodes,
    checkpoint: std::sync::Mutex<Option<(std::time::Instant, Option<String>)>>,
}

/// An integrated entry as its reports show it: with the inclusion proof last made for
/// it, and the tree (size and root) that proof is for.
#[derive(Clone)]
struct KeptEntry {
    proven: Proven,
    leaf: Hash,
    index: u64,
    proved_in: Option<(u64, Hash)>,
}

impl Kept {
    fn entry(&self, subject: &Hash) -> Option<KeptEntry> {
        self.entries.lock().ok()?.get(subject).cloned()
    }

    fn keep(&self, subject: Hash, kept: KeptEntry) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= ENTRIES_KEPT
                && !entries.contains_key(&subject)
                && let Some(any) = entries.keys().next().copied()
            {
                entries.remove(&any);
            }
            entries.insert(subject, kept);
        }
    }
}

/// Entries found kept at most.
const ENTRIES_KEPT: usize = 10_000;

/// How long a proof may use the checkpoint it last read as the newest: a proof is
/// checked against the checkpoint it names, so an older one is as good, only shorter.
const RECENT_CHECKPOINT: Duration = Duration::from_millis(500);

/// Where an act stands in the log, for a verification report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Proven {
    /// `seal.used`, `certificate.issued`, …
    pub kind: String,
    /// When the act appended its entry.
    pub time: String,
    /// Base64 leaf hash.
    pub leaf_hash: String,
    /// The entry's index; none while it waits for integration (at most the maximum
    /// merge delay).
    pub index: Option<u64>,
    /// The checkpoint the proof is against (a C2SP signed note).
    pub checkpoint: Option<String>,
    pub tree_size: Option<u64>,
    /// Base64 inclusion path.
    pub proof: Vec<String>,
    /// Whether the proof leads to the checkpoint's root and the checkpoint's signature
    /// checks with the log key.
    pub verified: bool,
}

impl Log {
    /// Opens the log, making its key and naming it `origin` on the very first start;
    /// the name stays what it was first (checkpoints already signed carry it).
    pub async fn open(
        store: Store,
        keys: &KeyStore,
        origin: &str,
        witnesses: Vec<VerifierKey>,
    ) -> Result<Self, LedgerError> {
        let mut conn = store.conn().await?;
        let (mut name, mut key_id) = state(&mut conn).await?;
        drop(conn);
        if key_id.is_none() {
            let mut tx = store.begin().await?;
            let key = keys
                .generate_in(&mut tx, Algorithm::Ed25519, KEY_PURPOSE)
                .await?;
            // Several instances may start at once: the first to set the key wins, the
            // others roll back their key and read the winner's.
            let won = sqlx::query(
                "UPDATE ledger_state SET key_id = $1, origin = $2 WHERE id = 1 AND key_id IS NULL",
            )
            .bind(key.key_id())
            .bind(origin)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if won {
                tx.commit().await.map_err(tongban_store::StoreError::from)?;
            } else {
                tx.rollback()
                    .await
                    .map_err(tongban_store::StoreError::from)?;
            }
            let mut conn = store.conn().await?;
            (name, key_id) = state(&mut conn).await?;
        }
        let (Some(name), Some(key_id)) = (name, key_id) else {
            return Err(LedgerError::Corrupt("the log has no key".into()));
        };
        let signer = keys.load(&key_id).await?;
        let public: [u8; 32] = signer
            .public_key()
            .raw()
            .try_into()
            .map_err(|_| LedgerError::Corrupt("the log key is not Ed25519".into()))?;
        let log = Self {
            store,
            signer,
            key: VerifierKey::log(&name, public),
            checked: std::sync::Mutex::new(None),
            kept: Kept::default(),
            witnesses,
        };
        log.integrate(Timestamp::now()).await?;
        Ok(log)
    }

    /// Logs each of the platform's CA and time-stamping certificates (`(authority,
    /// DER)`) the first time it is seen: a new or replaced CA key shows in the log.
    pub async fn record_authorities(
        &self,
        certificates: &[(&str, &[u8])],
    ) -> Result<(), LedgerError> {
        let now = Timestamp::now();
        let mut tx = self.store.begin().await?;
        // Under the state row's lock: instances starting together log a CA once.
        sqlx::query("UPDATE ledger_state SET integrated_at = integrated_at WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let mut entries = Vec::new();
        for (authority, der) in certificates {
            let hash = tongban_crypto::cms::sha256(der);
            let seen: Option<i64> = sqlx::query_scalar(
                "SELECT seq FROM ledger_entries WHERE kind = 'ca.certificate' AND key_hash = $1",
            )
            .bind(hash.to_vec())
            .fetch_optional(&mut *tx)
            .await?;
            if seen.is_none() {
                let mut entry = Entry::new(crate::Kind::CaCertificate, now);
                entry.authority = Some((*authority).to_owned());
                entry.certificate = Some(crate::entry::hex(&hash));
                entries.push(entry);
            }
        }
        storage::append(&mut tx, &entries, now).await?;
        tx.commit().await.map_err(tongban_store::StoreError::from)?;
        Ok(())
    }

    /// The log's name (the checkpoints' origin line).
    pub fn origin(&self) -> &str {
        &self.key.name
    }

    /// The note verifier key anyone checks checkpoints with.
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.key
    }

    /// Integrates what is pending and signs a checkpoint of the new size. Safe to run
    /// on every instance at once: the state row's lock orders them. The first call on a
    /// new log signs the empty tree's checkpoint.
    pub async fn integrate(&self, now: Timestamp) -> Result<Option<Checkpoint>, LedgerError> {
        let mut tx = self.store.begin().await?;
        let (old, new) = storage::assign(&mut tx, now).await?;
        if new == old && storage::signed_checkpoint(&mut tx, new).await?.is_some() {
            tx.rollback()
                .await
                .map_err(tongban_store::StoreError::from)?;
            return Ok(None);
        }
        let checkpoint = Checkpoint {
            origin: self.key.name.clone(),
            size: new,
            root: storage::root(&mut tx, new).await?,
        };
        let note = self.sign_note(&checkpoint)?;
        storage::store_checkpoint(&mut tx, new, &checkpoint.root, &note, now).await?;
        tx.commit().await.map_err(tongban_store::StoreError::from)?;
        Ok(Some(checkpoint))
    }

    fn sign_note(&self, checkpoint: &Checkpoint) -> Result<String, LedgerError> {
        let body = checkpoint.body();
        let signature = self.signer.sign(body.as_bytes())?;
        let note = Note {
            body,
            signatures: vec![SignatureLine {
                name: self.key.name.clone(),
                key_id: self.key.id(),
                signature,
            }],
        };
        Ok(note.encode())
    }

    /// Integrates every [`INTEGRATION_INTERVAL`] until the task is dropped. A failure
    /// (the database away) is logged and retried at the next tick.
    pub async fn run(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(INTEGRATION_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // A read first: an idle log takes no write lock (on SQLite, the database's
            // one writer). Then a pass per batch while a backlog remains.
            while self.has_pending().await.unwrap_or(false) {
                if let Err(error) = self.integrate(Timestamp::now()).await {
                    tracing::warn!(%error, "log integration failed; retrying");
                    break;
                }
            }
        }
    }

    async fn has_pending(&self) -> Result<bool, LedgerError> {
        let mut conn = self.store.conn().await?;
        let pending: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM ledger_entries WHERE idx IS NULL LIMIT 1")
                .fetch_optional(&mut *conn)
                .await?;
        Ok(pending.is_some())
    }

    /// Accepts a witness's cosignature line of the checkpoint at `size`: the witness
    /// must be one the log was configured with, and its C2SP cosignature/v1 must verify
    /// over that checkpoint.
    pub async fn cosign(&self, size: u64, line: &str) -> Result<(), LedgerError> {
        let mut conn = self.store.conn().await?;
        let note = storage::signed_checkpoint(&mut conn, size)
            .await?
            .ok_or(LedgerError::NotFound("no checkpoint at that size"))?;
        let line = line.trim_end_matches('\n');
        if line.contains('\n') {
            return Err(LedgerError::Refused("one signature line".into()));
        }
        let with_line = format!("{note}{line}\n");
        let refused = || LedgerError::Refused("not a cosignature of a witness of this log".into());
        let cosigned = Note::parse(&with_line).ok_or_else(refused)?;
        let (witness, time) = self
            .witnesses
            .iter()
            .find_map(|w| Some((w, cosigned.cosigned_by(w)?)))
            .ok_or_else(refused)?;
        let line = format!("{line}\n");
        storage::store_cosignature(&mut conn, size, &witness.name, &line, time).await
    }

    /// A signed promise for `leaves`, or none when there are none or too many.
    pub fn promise(&self, leaves: &[Hash], now: Timestamp) -> Option<String> {
        if leaves.is_empty() || leaves.len() > crate::promise::MAX_LEAVES {
            return None;
        }
        let promise = Promise::new(&self.key.name, leaves, &now.to_rfc3339());
        let json = serde_json::to_vec(&promise).ok()?;
        let signature = self.signer.sign(&Promise::message(&json)).ok()?;
        Some(Promise::encode(&json, &signature))
    }

    /// The latest checkpoint (a signed note).
    pub async fn checkpoint(&self) -> Result<String, LedgerError> {
        let mut conn = self.store.conn().await?;
        storage::latest_checkpoint(&mut conn)
            .await?
            .ok_or_else(|| LedgerError::Corrupt("no checkpoint".into()))
    }

    /// Where the first act whose signature or credential hashes to `subject` stands:
    /// its entry, and its inclusion proof against the latest checkpoint, checked.
    /// Reads only what it has not kept.
    pub async fn prove(&self, subject: &Hash) -> Result<Option<Proven>, LedgerError> {
        let kept = match self.kept.entry(subject) {
            Some(kept) => kept,
            None => {
                let mut conn = self.store.conn().await?;
                let found = storage::entries(&mut conn, Filter::Subject(subject), 0, 1).await?;
                let Some((_, stored)) = found.into_iter().next() else {
                    return Ok(None);
                };
                let Some(index) = stored.index else {
                    // Not integrated yet: its place is still to come.
                    return Ok(Some(unproven(&stored.entry, &stored.leaf_hash, None)));
                };
                let kept = KeptEntry {
                    proven: unproven(&stored.entry, &stored.leaf_hash, Some(index)),
                    leaf: stored.leaf_hash,
                    index,
                    proved_in: None,
                };
                self.kept.keep(*subject, kept.clone());
                kept
            }
        };
        let KeptEntry {
            mut proven,
            leaf,
            index,
            proved_in,
        } = kept;
        let checkpoint = match self.recent_checkpoint().await? {
            Some(text) => self.verified(&text).map(|checkpoint| (text, checkpoint)),
            None => None,
        };
        let Some((text, checkpoint)) = checkpoint.filter(|(_, c)| index < c.size) else {
            // No tree holds it yet: the entry alone, without a proof.
            proven.proof = Vec::new();
            proven.verified = false;
            return Ok(Some(proven));
        };
        let tree = (checkpoint.size, checkpoint.root);
        if proved_in != Some(tree) {
            let path = match self.kept.nodes.inclusion_path(index, tree.0) {
                Some(path) => path,
                None => {
                    let mut conn = self.store.conn().await?;
                    storage::inclusion_path_kept(&mut conn, index, tree.0, &self.kept.nodes).await?
                }
            };
            proven.verified = merkle::verify_inclusion(&leaf, index, tree.0, &path, &tree.1);
            proven.proof = path.iter().map(merkle::to_base64).collect();
            let kept = KeptEntry {
                proven: proven.clone(),
                leaf,
                index,
                proved_in: Some(tree),
            };
            self.kept.keep(*subject, kept);
        }
        proven.tree_size = Some(tree.0);
        proven.checkpoint = Some(text);
        Ok(Some(proven))
    }

    /// The newest checkpoint as read at most [`RECENT_CHECKPOINT`] ago.
    async fn recent_checkpoint(&self) -> Result<Option<String>, LedgerError> {
        if let Ok(kept) = self.kept.checkpoint.lock()
            && let Some((read, text)) = kept.as_ref()
            && read.elapsed() < RECENT_CHECKPOINT
        {
            return Ok(text.clone());
        }
        let read = std::time::Instant::now();
        let mut conn = self.store.conn().await?;
        let text = storage::latest_checkpoint(&mut conn).await?;
        if let Ok(mut kept) = self.kept.checkpoint.lock() {
            *kept = Some((read, text.clone()));
        }
        Ok(text)
    }

    /// The checkpoint of `note` if its signature checks with the log key.
    fn verified(&self, note: &str) -> Option<Checkpoint> {
        if let Ok(checked) = self.checked.lock()
            && let Some((text, checkpoint)) = checked.as_ref()
            && text == note
        {
            return Some(checkpoint.clone());
        }
        let checkpoint = crate::monitor::read_checkpoint(note, &self.key).ok()?;
        if let Ok(mut checked) = self.checked.lock() {
            *checked = Some((note.to_owned(), checkpoint.clone()));
        }
        Some(checkpoint)
    }
}

/// An entry's place, before any proof.
fn unproven(entry: &Entry, leaf: &Hash, index: Option<u64>) -> Proven {
    Proven {
        kind: entry.kind.name().to_owned(),
        time: entry.time.clone(),
        leaf_hash: merkle::to_base64(leaf),
        index,
        checkpoint: None,
        tree_size: None,
        proof: Vec::new(),
        verified: false,
    }
}

async fn state(conn: &mut Conn) -> Result<(Option<String>, Option<String>), LedgerError> {
    Ok(
        sqlx::query_as("SELECT origin, key_id FROM ledger_state WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?,
    )
}
