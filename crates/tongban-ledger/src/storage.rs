//! The log in the database: entries appended inside the acts' own transactions,
//! integration into the tree, and reading hashes, tiles, proofs and entries back.
//!
//! Level 0 of the tree is `ledger_entries.leaf_hash` by `idx`; the hashes of complete
//! subtrees of 2^8, 2^16, 2^24 and 2^32 leaves are in `ledger_nodes`. Any other node is
//! folded from at most 128 stored hashes below it, read with one query.

use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::Row as _;
use tongban_core::time::Timestamp;
use tongban_store::Conn;
use tongban_store::rows::Placeholders;

use crate::LedgerError;
use crate::entry::Entry;
use crate::merkle::{self, Hash, Range};
use crate::promise;
use crate::tiles::{self, Tile};

/// The levels kept in `ledger_nodes`.
const STORED_LEVELS: [u32; 4] = [8, 16, 24, 32];
/// Entries given indices by one integration at most.
const INTEGRATION_BATCH: i64 = 4096;

/// Whether acts append to the log: off only in a measurement of what the log costs
/// (`ledger.enabled`, refused in production). Process-wide because the acts that append
/// reach no configuration.
static RECORDING: AtomicBool = AtomicBool::new(true);

/// Turns appending on or off for this process.
pub fn set_recording(on: bool) {
    RECORDING.store(on, Ordering::Relaxed);
}

/// Appends entries in the caller's transaction: they are integrated once it commits,
/// and never if it rolls back. Returns their leaf hashes.
pub async fn append(
    conn: &mut Conn,
    entries: &[Entry],
    now: Timestamp,
) -> Result<Vec<Hash>, LedgerError> {
    if !RECORDING.load(Ordering::Relaxed) {
        return Ok(Vec::new());
    }
    let mut leaves = Vec::with_capacity(entries.len());
    for chunk in entries.chunks(100) {
        let mut placeholders = Placeholders::on(conn);
        let rows: Vec<String> = chunk.iter().map(|_| placeholders.row(9)).collect();
        let sql = format!(
            "INSERT INTO ledger_entries (leaf_hash, entry, kind, department_id, key_hash, subject_hash, \
             holder_hash, seal_id, created_at) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for entry in chunk {
            let bytes = entry.to_bytes();
            if bytes.len() > tiles::MAX_ENTRY {
                return Err(LedgerError::Corrupt("an entry too long for the log".into()));
            }
            let leaf = merkle::leaf_hash(&bytes);
            leaves.push(leaf);
            query = query
                .bind(leaf.to_vec())
                .bind(bytes)
                .bind(entry.kind.name())
                .bind(entry.department.clone())
                .bind(entry.key_hash().map(|h| h.to_vec()))
                .bind(entry.subject_hash().map(|h| h.to_vec()))
                .bind(entry.holder_hash().map(|h| h.to_vec()))
                .bind(entry.seal.clone())
                .bind(now.unix_millis());
        }
        query.execute(&mut *conn).await?;
    }
    promise::record(&leaves);
    Ok(leaves)
}

/// The integrated size, from the state row.
pub async fn size(conn: &mut Conn) -> Result<u64, LedgerError> {
    let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_state WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(size as u64)
}

/// Gives pending entries the next indices and stores the subtrees they complete, in
/// the caller's transaction, which holds the state row's lock. Returns the new size.
pub(crate) async fn assign(conn: &mut Conn, now: Timestamp) -> Result<(u64, u64), LedgerError> {
    // Taking the row lock first: a second integrator (another instance) waits here
    // and then sees this one's indices.
    sqlx::query("UPDATE ledger_state SET integrated_at = $1 WHERE id = 1")
        .bind(now.unix_millis())
        .execute(&mut *conn)
        .await?;
    let old = size(conn).await?;
    // One statement gives the indices, in seq order, to a snapshot of the pending rows.
    let assigned = sqlx::query(
        "UPDATE ledger_entries SET idx = p.rn FROM (SELECT seq, ROW_NUMBER() OVER (ORDER BY seq) - 1 + $1 AS rn \
         FROM ledger_entries WHERE idx IS NULL ORDER BY seq LIMIT $2) AS p WHERE ledger_entries.seq = p.seq",
    )
    .bind(old as i64)
    .bind(INTEGRATION_BATCH)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let new = old + assigned;
    index_lookups(conn, old, new).await?;
    for level in STORED_LEVELS {
        for index in (old >> level)..(new >> level) {
            let below = stored(
                conn,
                level - tiles::HEIGHT,
                index << tiles::HEIGHT,
                1 << tiles::HEIGHT,
            )
            .await?;
            let hash = fold_perfect(below);
            sqlx::query("INSERT INTO ledger_nodes (level, idx, hash) VALUES ($1, $2, $3)")
                .bind(i64::from(level))
                .bind(index as i64)
                .bind(hash.to_vec())
                .execute(&mut *conn)
                .await?;
        }
    }
    if new != old {
        sqlx::query("UPDATE ledger_state SET size = $1 WHERE id = 1")
            .bind(new as i64)
            .execute(&mut *conn)
            .await?;
    }
    Ok((old, new))
}

/// The lookup key of a hash: its first 8 bytes as a big-endian signed integer.
fn lookup_key(hash: &[u8]) -> i64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash[..8]);
    i64::from_be_bytes(bytes)
}

/// Writes the lookup rows of the entries given indices `[old, new)`, sorted, so that
/// a batch touches each page of the lookup index once.
async fn index_lookups(conn: &mut Conn, old: u64, new: u64) -> Result<(), LedgerError> {
    let rows = sqlx::query(
        "SELECT idx, leaf_hash, subject_hash FROM ledger_entries WHERE idx >= $1 AND idx < $2",
    )
    .bind(old as i64)
    .bind(new as i64)
    .fetch_all(&mut *conn)
    .await?;
    let mut keys: Vec<(i64, i64)> = Vec::with_capacity(rows.len() * 2);
    for row in &rows {
        let idx: i64 = row.try_get("idx")?;
        let leaf: Vec<u8> = row.try_get("leaf_hash")?;
        let subject: Option<Vec<u8>> = row.try_get("subject_hash")?;
        for hash in std::iter::once(leaf).chain(subject) {
            if hash.len() == 32 {
                keys.push((lookup_key(&hash), idx));
            }
        }
    }
    keys.sort_unstable();
    keys.dedup();
    for chunk in keys.chunks(500) {
        let mut placeholders = Placeholders::on(conn);
        let values: Vec<String> = chunk.iter().map(|_| placeholders.row(2)).collect();
        let sql = format!(
            "INSERT INTO ledger_lookup (key, idx) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (key, idx) in chunk {
            query = query.bind(*key).bind(*idx);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// `count` stored hashes of `level` (0 or a stored level) from `start`.
async fn stored(
    conn: &mut Conn,
    level: u32,
    start: u64,
    count: u64,
) -> Result<Vec<Hash>, LedgerError> {
    let rows = if level == 0 {
        sqlx::query(
            "SELECT leaf_hash FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(start as i64)
        .bind((start + count) as i64)
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query("SELECT hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx")
            .bind(i64::from(level))
            .bind(start as i64)
            .bind((start + count) as i64)
            .fetch_all(&mut *conn)
            .await?
    };
    let hashes: Vec<Hash> = rows
        .iter()
        .filter_map(|row| row.try_get::<Vec<u8>, _>(0).ok()?.try_into().ok())
        .collect();
    if hashes.len() as u64 != count {
        return Err(LedgerError::Corrupt(format!(
            "level {level} from {start}: {} of {count} hashes",
            hashes.len()
        )));
    }
    Ok(hashes)
}

/// Folds 2^k hashes of one level into the hash of their subtree.
fn fold_perfect(mut hashes: Vec<Hash>) -> Hash {
    while hashes.len() > 1 {
        hashes = hashes
            .chunks(2)
            .map(|pair| merkle::node_hash(&pair[0], &pair[1]))
            .collect();
    }
    hashes.first().copied().unwrap_or_else(merkle::empty_root)
}

/// The hash of complete subtree `index` of `2^level` leaves.
async fn perfect(conn: &mut Conn, level: u32, index: u64) -> Result<Hash, LedgerError> {
    let base = STORED_LEVELS
        .iter()
        .rev()
        .copied()
        .find(|stored_level| *stored_level <= level)
        .unwrap_or(0);
    let below = stored(conn, base, index << (level - base), 1 << (level - base)).await?;
    Ok(fold_perfect(below))
}

/// The hash of a range of the RFC's recursion.
async fn range_hash(conn: &mut Conn, range: Range) -> Result<Hash, LedgerError> {
    let mut nodes = Vec::new();
    for (level, index) in range.perfect_nodes() {
        nodes.push(perfect(conn, level, index).await?);
    }
    Ok(merkle::fold_range(&nodes).unwrap_or_else(merkle::empty_root))
}

/// Perfect subtree hashes already read, kept by a process for good: the log only
/// grows, so a complete subtree never changes. Bounded at [`Nodes::KEPT`]; past it,
/// an arbitrary one makes room.
#[derive(Default)]
pub struct Nodes(std::sync::Mutex<std::collections::HashMap<(u32, u64), Hash>>);

impl Nodes {
    /// Nodes kept at most (a few MB).
    pub const KEPT: usize = 1 << 16;

    fn get(&self, node: (u32, u64)) -> Option<Hash> {
        self.0.lock().ok()?.get(&node).copied()
    }

    fn keep(&self, node: (u32, u64), hash: Hash) {
        if let Ok(mut kept) = self.0.lock() {
            if kept.len() >= Self::KEPT
                && let Some(any) = kept.keys().next().copied()
            {
                kept.remove(&any);
            }
            kept.insert(node, hash);
        }
    }

    /// The inclusion path of leaf `index` in the tree of `size` leaves, if every node
    /// it needs is kept.
    pub fn inclusion_path(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        merkle::inclusion_ranges(index, size)
            .into_iter()
            .map(|range| {
                let nodes = range
                    .perfect_nodes()
                    .into_iter()
                    .map(|node| self.get(node))
                    .collect::<Option<Vec<_>>>()?;
                Some(merkle::fold_range(&nodes).unwrap_or_else(merkle::empty_root))
            })
            .collect()
    }
}

/// The inclusion path of leaf `index` in the tree of `size` leaves, reading only the
/// nodes `kept` lacks, and keeping them.
pub async fn inclusion_path_kept(
    conn: &mut Conn,
    index: u64,
    size: u64,
    kept: &Nodes,
) -> Result<Vec<Hash>, LedgerError> {
    let mut hashes = Vec::new();
    for range in merkle::inclusion_ranges(index, size) {
        let mut nodes = Vec::new();
        for (level, index) in range.perfect_nodes() {
            let hash = match kept.get((level, index)) {
                Some(hash) => hash,
                None => {
                    let hash = perfect(conn, level, index).await?;
                    kept.keep((level, index), hash);
                    hash
                }
            };
            nodes.push(hash);
        }
        hashes.push(merkle::fold_range(&nodes).unwrap_or_else(merkle::empty_root));
    }
    Ok(hashes)
}

/// The root of the tree of the first `size` leaves.
pub async fn root(conn: &mut Conn, size: u64) -> Result<Hash, LedgerError> {
    range_hash(
        conn,
        Range {
            start: 0,
            end: size,
        },
    )
    .await
}

/// An inclusion proof: the index of the leaf and the path's hashes.
pub struct Inclusion {
    pub index: u64,
    pub hashes: Vec<Hash>,
}

/// The inclusion proof of `leaf` in the tree of `size` leaves, when it is there.
pub async fn inclusion(
    conn: &mut Conn,
    leaf: &Hash,
    size: u64,
) -> Result<Option<Inclusion>, LedgerError> {
    let index: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(e.idx) FROM ledger_lookup l JOIN ledger_entries e ON e.idx = l.idx \
         WHERE l.key = $1 AND e.leaf_hash = $2 AND e.idx < $3",
    )
    .bind(lookup_key(leaf))
    .bind(leaf.to_vec())
    .bind(size as i64)
    .fetch_one(&mut *conn)
    .await?;
    let Some(index) = index else {
        return Ok(None);
    };
    let index = index as u64;
    Ok(Some(Inclusion {
        index,
        hashes: proof(conn, merkle::inclusion_ranges(index, size)).await?,
    }))
}

/// The consistency proof between two sizes (`first` ≤ `second` ≤ the log's size).
pub async fn consistency(
    conn: &mut Conn,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, LedgerError> {
    proof(conn, merkle::consistency_ranges(first, second)).await
}

async fn proof(conn: &mut Conn, ranges: Vec<Range>) -> Result<Vec<Hash>, LedgerError> {
    let mut hashes = Vec::with_capacity(ranges.len());
    for range in ranges {
        hashes.push(range_hash(conn, range).await?);
    }
    Ok(hashes)
}

/// A tile's bytes, when the tree of `size` leaves holds it.
pub async fn tile(conn: &mut Conn, tile: Tile, size: u64) -> Result<Option<Vec<u8>>, LedgerError> {
    let start = tile.index.checked_mul(tiles::WIDTH);
    let level = tile.level.map_or(0, |l| l * tiles::HEIGHT);
    let Some(end) = start.and_then(|s| s.checked_add(tile.width)) else {
        return Ok(None);
    };
    let available = if level >= 64 { 0 } else { size >> level };
    if end > available {
        return Ok(None);
    }
    let start = end - tile.width;
    if tile.level.is_none() {
        let rows = sqlx::query(
            "SELECT entry FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(start as i64)
        .bind(end as i64)
        .fetch_all(&mut *conn)
        .await?;
        let entries: Vec<Vec<u8>> = rows.iter().filter_map(|row| row.try_get(0).ok()).collect();
        if entries.len() as u64 != tile.width {
            return Err(LedgerError::Corrupt(format!(
                "entries from {start}: {} of {}",
                entries.len(),
                tile.width
            )));
        }
        let bundle = tiles::bundle(entries.iter().map(Vec::as_slice))
            .ok_or_else(|| LedgerError::Corrupt("an entry too long for a bundle".into()))?;
        return Ok(Some(bundle));
    }
    // Hash tiles above level 0 hold complete subtrees of 2^(8L) leaves; levels past
    // the stored ones fold from the highest stored level.
    let mut out = Vec::with_capacity(tile.width as usize * 32);
    if STORED_LEVELS.contains(&level) || level == 0 {
        for hash in stored(conn, level, start, tile.width).await? {
            out.extend_from_slice(&hash);
        }
    } else {
        for index in start..end {
            out.extend_from_slice(&perfect(conn, level, index).await?);
        }
    }
    Ok(Some(out))
}

/// The latest signed checkpoint, with the witnesses' cosignatures it has.
pub async fn latest_checkpoint(conn: &mut Conn) -> Result<Option<String>, LedgerError> {
    let size: Option<i64> = sqlx::query_scalar("SELECT MAX(size) FROM ledger_checkpoints")
        .fetch_one(&mut *conn)
        .await?;
    match size {
        Some(size) => checkpoint_at(conn, size as u64).await,
        None => Ok(None),
    }
}

/// The checkpoint the log signed at `size`, if it signed one, with the witnesses'
/// cosignatures it has.
pub async fn checkpoint_at(conn: &mut Conn, size: u64) -> Result<Option<String>, LedgerError> {
    let Some(mut note) = signed_checkpoint(conn, size).await? else {
        return Ok(None);
    };
    let lines: Vec<String> =
        sqlx::query_scalar("SELECT line FROM ledger_cosignatures WHERE size = $1 ORDER BY witness")
            .bind(size as i64)
            .fetch_all(&mut *conn)
            .await?;
    for line in lines {
        note.push_str(&line);
    }
    Ok(Some(note))
}

/// The checkpoint as the log signed it, without cosignatures.
pub(crate) async fn signed_checkpoint(
    conn: &mut Conn,
    size: u64,
) -> Result<Option<String>, LedgerError> {
    Ok(
        sqlx::query_scalar("SELECT note FROM ledger_checkpoints WHERE size = $1")
            .bind(size as i64)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Keeps a witness's cosignature line of the checkpoint at `size` (the first one a
/// witness gives for a size stays).
pub(crate) async fn store_cosignature(
    conn: &mut Conn,
    size: u64,
    witness: &str,
    line: &str,
    signed_at: u64,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO ledger_cosignatures (size, witness, line, signed_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (size, witness) DO NOTHING",
    )
    .bind(size as i64)
    .bind(witness)
    .bind(line)
    .bind(signed_at as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn store_checkpoint(
    conn: &mut Conn,
    size: u64,
    root: &Hash,
    note: &str,
    now: Timestamp,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO ledger_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (size) DO NOTHING",
    )
    .bind(size as i64)
    .bind(root.to_vec())
    .bind(note)
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An entry as stored: its index once integrated.
#[derive(Clone, Debug)]
pub struct Stored {
    pub index: Option<u64>,
    pub leaf_hash: Hash,
    pub entry: Entry,
    pub appended_at: Timestamp,
}

/// Which entries to list.
pub enum Filter<'a> {
    /// By the hash of a signature or a credential.
    Subject(&'a Hash),
    /// Uses and changes of one seal.
    Seal(&'a str),
}

/// Entries matching `filter`, oldest first, at most `limit` after `after` (an
/// appending order cursor).
pub async fn entries(
    conn: &mut Conn,
    filter: Filter<'_>,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Stored)>, LedgerError> {
    let rows = match filter {
        // Integrated entries through the lookup table, pending ones (a second's worth
        // at most) directly: one statement, so an entry integrated meanwhile is seen
        // once.
        Filter::Subject(hash) => {
            sqlx::query(
                "SELECT seq, idx, leaf_hash, entry, created_at FROM (\
                 SELECT e.seq, e.idx, e.leaf_hash, e.entry, e.created_at FROM ledger_lookup l \
                 JOIN ledger_entries e ON e.idx = l.idx WHERE l.key = $1 AND e.subject_hash = $2 \
                 UNION ALL \
                 SELECT seq, idx, leaf_hash, entry, created_at FROM ledger_entries \
                 WHERE idx IS NULL AND subject_hash = $3) AS found \
                 WHERE seq > $4 ORDER BY seq LIMIT $5",
            )
            .bind(lookup_key(hash))
            .bind(hash.to_vec())
            .bind(hash.to_vec())
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
        Filter::Seal(id) => {
            sqlx::query(
                "SELECT seq, idx, leaf_hash, entry, created_at FROM ledger_entries \
                 WHERE seal_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(id)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let bytes: Vec<u8> = row.try_get("entry")?;
        let entry = Entry::from_bytes(&bytes)
            .ok_or_else(|| LedgerError::Corrupt("an entry that does not parse".into()))?;
        let leaf: Vec<u8> = row.try_get("leaf_hash")?;
        let index: Option<i64> = row.try_get("idx")?;
        found.push((
            row.try_get("seq")?,
            Stored {
                index: index.map(|i| i as u64),
                leaf_hash: leaf
                    .try_into()
                    .map_err(|_| LedgerError::Corrupt("a leaf hash of the wrong length".into()))?,
                entry,
                appended_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
            },
        ));
    }
    Ok(found)
}
