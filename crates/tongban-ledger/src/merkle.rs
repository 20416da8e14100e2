//! RFC 9162 §2.1 Merkle trees: leaf and node hashes, the subtrees that inclusion and
//! consistency proofs are made of, and the verification of both proofs.
//!
//! Proofs are planned as lists of leaf ranges (each the hash of a subtree of the
//! RFC's recursion), so that the storage side only has to know how to hash a range.

use ring::digest::{Context, SHA256, digest};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The hash of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    to_hash(digest(&SHA256, b"").as_ref())
}

/// `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut context = Context::new(&SHA256);
    context.update(&[0]);
    context.update(entry);
    to_hash(context.finish().as_ref())
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut context = Context::new(&SHA256);
    context.update(&[1]);
    context.update(left);
    context.update(right);
    to_hash(context.finish().as_ref())
}

/// A hash as C2SP notes, tiles' users and our API write it: standard base64.
pub fn to_base64(hash: &Hash) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(hash)
}

/// A hash from standard base64; none unless it is 32 bytes.
pub fn from_base64(text: &str) -> Option<Hash> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?
        .try_into()
        .ok()
}

fn to_hash(bytes: &[u8]) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(bytes);
    out
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Leaves `[start, end)`: the hash of a subtree in the RFC's recursion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    /// The complete subtrees that make up the range, left to right, as
    /// `(level, index)`: subtree `index` of `2^level` leaves. A range of the recursion
    /// starts at a multiple of its largest power of two, so the subtrees are the binary
    /// digits of its size.
    pub fn perfect_nodes(self) -> Vec<(u32, u64)> {
        let mut nodes = Vec::new();
        let mut at = self.start;
        let mut left = self.end - self.start;
        while left > 0 {
            let level = 63 - left.leading_zeros();
            nodes.push((level, at >> level));
            at += 1 << level;
            left -= 1 << level;
        }
        nodes
    }
}

/// The hash of a range from the hashes of its [`Range::perfect_nodes`], in order.
pub fn fold_range(nodes: &[Hash]) -> Option<Hash> {
    let (last, rest) = nodes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |right, left| node_hash(left, &right)),
    )
}

/// The ranges whose hashes make the inclusion proof of leaf `index` in a tree of
/// `size` leaves (RFC 9162 §2.1.3.1), in proof order.
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<Range> {
    let mut ranges = Vec::new();
    let (mut start, mut end, mut m) = (0, size, index);
    // Walks down from the root; the siblings come out root first.
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            ranges.push(Range {
                start: start + k,
                end,
            });
            end = start + k;
        } else {
            ranges.push(Range {
                start,
                end: start + k,
            });
            start += k;
            m -= k;
        }
    }
    ranges.reverse();
    ranges
}

/// The ranges whose hashes make the consistency proof between sizes `first` and
/// `second` (RFC 9162 §2.1.4.1), in proof order. Empty when `first` is 0 or equal.
pub fn consistency_ranges(first: u64, second: u64) -> Vec<Range> {
    let mut ranges = Vec::new();
    if first == 0 || first >= second {
        return ranges;
    }
    let (mut start, mut end, mut m, mut whole) = (0, second, first, true);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                ranges.push(Range { start, end });
            }
            break;
        }
        let k = split(n);
        if m <= k {
            ranges.push(Range {
                start: start + k,
                end,
            });
            end = start + k;
        } else {
            ranges.push(Range {
                start,
                end: start + k,
            });
            start += k;
            m -= k;
            whole = false;
        }
    }
    ranges.reverse();
    ranges
}

/// Whether `proof` shows leaf `leaf` at `index` in the tree of `size` with `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// Whether `proof` shows the tree of `second` leaves with `second_root` extends the
/// tree of `first` leaves with `first_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    first: u64,
    second: u64,
    proof: &[Hash],
    first_root: &Hash,
    second_root: &Hash,
) -> bool {
    if first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if first == 0 {
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_root);
    }
    let Some((seed, rest)) = path.split_first() else {
        return false;
    };
    let (mut f_n, mut s_n) = (first - 1, second - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut f_r, mut s_r) = (*seed, *seed);
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && f_r == *first_root && s_r == *second_root
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// MTH straight from the RFC's definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    fn range_hash(all: &[Hash], range: Range) -> Hash {
        let nodes: Vec<Hash> = range
            .perfect_nodes()
            .into_iter()
            .map(|(level, index)| {
                let start = (index << level) as usize;
                mth(&all[start..start + (1usize << level)])
            })
            .collect();
        let folded = fold_range(&nodes).unwrap();
        assert_eq!(folded, mth(&all[range.start as usize..range.end as usize]));
        folded
    }

    #[test]
    fn inclusion_proofs_verify_for_every_leaf_of_small_trees_and_fail_when_moved() {
        for size in 1..=70u64 {
            let all = leaves(size);
            let root = mth(&all);
            for index in 0..size {
                let proof: Vec<Hash> = inclusion_ranges(index, size)
                    .into_iter()
                    .map(|r| range_hash(&all, r))
                    .collect();
                let leaf = &all[index as usize];
                assert!(
                    verify_inclusion(leaf, index, size, &proof, &root),
                    "{index}/{size}"
                );
                if size > 1 {
                    let other = (index + 1) % size;
                    assert!(!verify_inclusion(leaf, other, size, &proof, &root));
                }
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_between_every_pair_of_small_sizes_and_fail_when_forged() {
        let all = leaves(70);
        for second in 1..=70u64 {
            let second_root = mth(&all[..second as usize]);
            for first in 1..=second {
                let first_root = mth(&all[..first as usize]);
                let proof: Vec<Hash> = consistency_ranges(first, second)
                    .into_iter()
                    .map(|r| range_hash(&all, r))
                    .collect();
                assert!(
                    verify_consistency(first, second, &proof, &first_root, &second_root),
                    "{first}->{second}"
                );
                if first < second {
                    let forged = leaf_hash(b"forged");
                    assert!(!verify_consistency(
                        first,
                        second,
                        &proof,
                        &forged,
                        &second_root
                    ));
                }
            }
        }
    }

    #[test]
    fn hashes_go_to_base64_and_back_and_other_lengths_do_not() {
        let hash = leaf_hash(b"x");
        assert_eq!(from_base64(&to_base64(&hash)), Some(hash));
        assert_eq!(from_base64("AAAA"), None);
        assert_eq!(from_base64("not base64!"), None);
    }

    #[test]
    fn the_rfc_6962_empty_root_and_leaf_hashes() {
        assert_eq!(format!("{:02x?}", &empty_root()[..4]), "[e3, b0, c4, 42]");
        assert_eq!(leaf_hash(b"")[..2], [0x6e, 0x34]);
    }
}
