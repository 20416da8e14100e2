//! What a monitor checks of a log it fetched: every entry parses, the level-0 tiles
//! are the entries' leaf hashes, the higher tiles are the subtrees' hashes, the tree
//! they make is the signed checkpoint's, and every checkpoint seen before is a prefix
//! of it (a split view or a rewritten past shows as a different root).

use crate::entry::{Entry, hex};
use crate::merkle::{self, Hash};
use crate::note::{Checkpoint, Note, VerifierKey};
use crate::tiles::{HEIGHT, WIDTH};

/// Why a log fails its monitor.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    #[error("the checkpoint is not a signed note of the log key")]
    BadCheckpoint,
    #[error("entry {0} does not parse as a log entry")]
    BadEntry(u64),
    #[error("the tiles hold {found} entries; the checkpoint says {size}")]
    Gap { found: u64, size: u64 },
    #[error("the level-0 tile hash of entry {0} is not the entry's leaf hash")]
    LeafMismatch(u64),
    #[error("hash {index} of tile level {level} is not its subtree's hash")]
    NodeMismatch { level: u32, index: u64 },
    #[error("the entries make root {rebuilt}, the checkpoint says {signed}")]
    RootMismatch { rebuilt: String, signed: String },
    #[error("the log shrank from {old} to {new} entries")]
    Shrank { old: u64, new: u64 },
    #[error(
        "the tree of {size} entries seen before had another root: a split view or a rewritten past"
    )]
    Split { size: u64 },
}

/// A checkpoint's note read and its signature checked.
pub fn read_checkpoint(text: &str, key: &VerifierKey) -> Result<Checkpoint, Fault> {
    if key.is_witness() {
        return Err(Fault::BadCheckpoint);
    }
    Note::parse(text)
        .filter(|note| note.signed_by(key))
        .and_then(|note| Checkpoint::parse(&note.body))
        .filter(|c| c.origin == key.name)
        .ok_or(Fault::BadCheckpoint)
}

/// The root of the tree of `leaves` (RFC 9162 MTH).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => merkle::empty_root(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            merkle::node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Checks the fetched tree against its checkpoint; returns the leaf hashes.
/// `hash_tiles[l]` is the concatenated hashes of tile level `l` (level 0 first).
pub fn check_tree(
    checkpoint: &Checkpoint,
    entries: &[Vec<u8>],
    hash_tiles: &[Vec<Hash>],
) -> Result<Vec<Hash>, Fault> {
    if entries.len() as u64 != checkpoint.size {
        return Err(Fault::Gap {
            found: entries.len() as u64,
            size: checkpoint.size,
        });
    }
    let mut leaves = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        if Entry::from_bytes(entry).is_none() {
            return Err(Fault::BadEntry(index as u64));
        }
        leaves.push(merkle::leaf_hash(entry));
    }
    let mut level_hashes = leaves.clone();
    for (level, tile) in hash_tiles.iter().enumerate() {
        if level > 0 {
            level_hashes = level_hashes
                .chunks_exact(WIDTH as usize)
                .map(root)
                .collect();
        }
        for (index, (got, want)) in tile.iter().zip(&level_hashes).enumerate() {
            if got != want {
                return Err(match level {
                    0 => Fault::LeafMismatch(index as u64),
                    _ => Fault::NodeMismatch {
                        level: level as u32,
                        index: index as u64,
                    },
                });
            }
        }
        if tile.len() != level_hashes.len() {
            return Err(Fault::Gap {
                found: tile.len() as u64,
                size: level_hashes.len() as u64,
            });
        }
    }
    let rebuilt = root(&leaves);
    if rebuilt != checkpoint.root {
        return Err(Fault::RootMismatch {
            rebuilt: hex(&rebuilt),
            signed: hex(&checkpoint.root),
        });
    }
    Ok(leaves)
}

/// Checks that a checkpoint seen before is a prefix of the tree of `leaves`.
pub fn check_prefix(earlier: &Checkpoint, leaves: &[Hash]) -> Result<(), Fault> {
    if earlier.size > leaves.len() as u64 {
        return Err(Fault::Shrank {
            old: earlier.size,
            new: leaves.len() as u64,
        });
    }
    if root(&leaves[..earlier.size as usize]) != earlier.root {
        return Err(Fault::Split { size: earlier.size });
    }
    Ok(())
}

/// Tiles of a tree of `size` at each level: how many hashes level `l` holds.
pub fn level_width(size: u64, level: u32) -> u64 {
    size >> (level * HEIGHT)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::Kind;

    fn entries(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let mut entry = Entry::new(
                    Kind::SealUsed,
                    tongban_core::time::Timestamp::from_unix_millis(i as i64),
                );
                entry.seal = Some(i.to_string());
                entry.to_bytes()
            })
            .collect()
    }

    #[test]
    fn a_checkpoint_reads_only_with_the_log_key_of_its_origin() {
        use ring::signature::{Ed25519KeyPair, KeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let public: [u8; 32] = pair.public_key().as_ref().try_into().unwrap();
        let checkpoint = Checkpoint {
            origin: "o".into(),
            size: 1,
            root: [5; 32],
        };
        let sign = |key: &VerifierKey| {
            let body = checkpoint.body();
            let line = crate::note::SignatureLine {
                name: key.name.clone(),
                key_id: key.id(),
                signature: pair.sign(body.as_bytes()).as_ref().to_vec(),
            };
            Note {
                body,
                signatures: vec![line],
            }
            .encode()
        };
        let key = VerifierKey::log("o", public);
        assert_eq!(read_checkpoint(&sign(&key), &key), Ok(checkpoint.clone()));
        // The same key as a witness's, or a log of another name: refused.
        let witness = VerifierKey::witness("o", public);
        assert!(witness.is_witness() && !key.is_witness());
        assert_eq!(
            read_checkpoint(&sign(&witness), &witness),
            Err(Fault::BadCheckpoint)
        );
        let elsewhere = VerifierKey::log("p", public);
        assert_eq!(
            read_checkpoint(&sign(&elsewhere), &elsewhere),
            Err(Fault::BadCheckpoint)
        );
        assert_eq!(
            read_checkpoint("not a note", &key),
            Err(Fault::BadCheckpoint)
        );
    }

    #[test]
    fn a_tree_checks_and_a_changed_entry_tile_or_past_is_caught() {
        let all = entries(600);
        let leaves: Vec<Hash> = all.iter().map(|e| merkle::leaf_hash(e)).collect();
        let checkpoint = Checkpoint {
            origin: "o".into(),
            size: 600,
            root: root(&leaves),
        };
        let level1: Vec<Hash> = leaves.chunks_exact(256).map(root).collect();
        let tiles = vec![leaves.clone(), level1.clone()];
        assert_eq!(check_tree(&checkpoint, &all, &tiles).unwrap(), leaves);
        let mut changed = all.clone();
        changed[7] = b"{\"v\":1}".to_vec();
        assert_eq!(
            check_tree(&checkpoint, &changed, &tiles),
            Err(Fault::BadEntry(7))
        );
        let mut bad_tiles = tiles.clone();
        bad_tiles[1][1][0] ^= 1;
        assert_eq!(
            check_tree(&checkpoint, &all, &bad_tiles),
            Err(Fault::NodeMismatch { level: 1, index: 1 })
        );
        assert_eq!(
            check_tree(&checkpoint, &all[..599], &tiles),
            Err(Fault::Gap {
                found: 599,
                size: 600
            })
        );
        let earlier = Checkpoint {
            origin: "o".into(),
            size: 300,
            root: root(&leaves[..300]),
        };
        assert_eq!(check_prefix(&earlier, &leaves), Ok(()));
        let forked = Checkpoint {
            root: [1; 32],
            ..earlier.clone()
        };
        assert_eq!(
            check_prefix(&forked, &leaves),
            Err(Fault::Split { size: 300 })
        );
        assert_eq!(
            check_prefix(&earlier, &leaves[..200]),
            Err(Fault::Shrank { old: 300, new: 200 })
        );
    }
}
