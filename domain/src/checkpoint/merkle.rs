//! The Merkle tree of RFC 9162 (Certificate Transparency version 2.0), §2.1, over SHA-256: the
//! tree hash of a list of leaves, inclusion proofs (§2.1.3) and consistency proofs (§2.1.4), each
//! generated and verified exactly as the RFC describes, so that any Certificate Transparency
//! library can check them.
//!
//! - the hash of an empty tree is `SHA-256()` (of no bytes);
//! - a leaf's hash is `SHA-256(0x00 || leaf)`;
//! - a node's hash is `SHA-256(0x01 || left || right)`;
//! - a tree of `n > 1` leaves splits at `k`, the largest power of two below `n`: the left subtree
//!   holds leaves `0..k`, the right one `k..n`.
//!
//! Proofs are lists of node hashes, nearest the leaf first, as in the RFC. Every function here is
//! pure; generating a proof hashes the whole tree (linear in its size), verifying one is
//! logarithmic.

use sha2::{Digest as _, Sha256};

use crate::digest::Digest;

/// Why a proof could not be made or does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf {index} is not in a tree of {tree_size} leaves")]
    IndexOutOfRange { index: u64, tree_size: u64 },
    #[error("a tree of {old_size} leaves cannot be an earlier state of a tree of {new_size}")]
    SizesOutOfOrder { old_size: u64, new_size: u64 },
    #[error("the proof has the wrong number of hashes for the sizes it claims")]
    WrongLength,
    #[error("the proof does not lead to the signed root")]
    RootMismatch,
}

/// The hash of a tree with no leaves: SHA-256 of no bytes.
pub fn empty_root() -> Digest {
    Digest::of_bytes(&[])
}

/// `SHA-256(0x00 || leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(leaf);
    Digest(hasher.finalize().into())
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left.0);
    hasher.update(right.0);
    Digest(hasher.finalize().into())
}

/// The tree hash (RFC 9162's MTH) of the leaves whose hashes are given, in order.
pub fn root(leaf_hashes: &[Digest]) -> Digest {
    match leaf_hashes {
        [] => empty_root(),
        [only] => *only,
        _ => {
            let k = split(leaf_hashes.len());
            node_hash(&root(&leaf_hashes[..k]), &root(&leaf_hashes[k..]))
        }
    }
}

/// The inclusion proof of leaf `index` in the tree of every leaf given (RFC 9162 §2.1.3.1).
pub fn inclusion_proof(leaf_hashes: &[Digest], index: u64) -> Result<Vec<Digest>, ProofError> {
    let tree_size = leaf_hashes.len() as u64;
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let mut path = Vec::new();
    // `index < tree_size`, which is a slice length: it fits in usize.
    path_to(leaf_hashes, index as usize, &mut path);
    Ok(path)
}

/// PATH(m, D[n]): the proof of the subtree below, then the sibling subtree's hash.
fn path_to(leaves: &[Digest], m: usize, path: &mut Vec<Digest>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    if m < k {
        path_to(&leaves[..k], m, path);
        path.push(root(&leaves[k..]));
    } else {
        path_to(&leaves[k..], m - k, path);
        path.push(root(&leaves[..k]));
    }
}

/// The consistency proof that the tree of the first `old_size` leaves is an earlier state of the
/// tree of every leaf given (RFC 9162 §2.1.4.1). Empty when `old_size` is 0 or all of them.
pub fn consistency_proof(leaf_hashes: &[Digest], old_size: u64) -> Result<Vec<Digest>, ProofError> {
    let new_size = leaf_hashes.len() as u64;
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    let mut path = Vec::new();
    if old_size > 0 && old_size < new_size {
        // `old_size < new_size`, a slice length: it fits in usize.
        subproof(leaf_hashes, old_size as usize, true, &mut path);
    }
    Ok(path)
}

/// SUBPROOF(m, D[n], b).
fn subproof(leaves: &[Digest], m: usize, whole_old_tree: bool, path: &mut Vec<Digest>) {
    let n = leaves.len();
    if m == n {
        if !whole_old_tree {
            path.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(&leaves[..k], m, whole_old_tree, path);
        path.push(root(&leaves[k..]));
    } else {
        subproof(&leaves[k..], m - k, false, path);
        path.push(root(&leaves[..k]));
    }
}

/// The root an inclusion proof leads to from a leaf (RFC 9162 §2.1.3.2, steps 1 to 3).
pub fn root_from_inclusion_proof(
    leaf_hash: &Digest,
    index: u64,
    tree_size: u64,
    path: &[Digest],
) -> Result<Digest, ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let mut fn_ = index;
    let mut sn = tree_size - 1;
    let mut r = *leaf_hash;
    for p in path {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// Checks that `path` proves leaf `index` of a tree of `tree_size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf_hash: &Digest,
    index: u64,
    tree_size: u64,
    path: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, tree_size, path)?;
    if computed == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks that `path` proves the tree (`old_size`, `old_root`) an earlier state of the tree
/// (`new_size`, `new_root`): every leaf of the first is in the second, unchanged and in place
/// (RFC 9162 §2.1.4.2). With `old_size` 0, `old_root` must be the empty tree's hash; with equal
/// sizes, the roots must be equal; both with an empty proof.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Digest,
    new_root: &Digest,
    path: &[Digest],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !path.is_empty() {
            return Err(ProofError::WrongLength);
        }
        let expected_old_root = if old_size == 0 {
            empty_root()
        } else {
            *new_root
        };
        return if *old_root == expected_old_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let (first, rest) = path.split_first().ok_or(ProofError::WrongLength)?;
    // Step 2: when the old tree is a complete subtree, its root is where the proof starts.
    let (start, rest) = if old_size.is_power_of_two() {
        (old_root, path)
    } else {
        (first, rest)
    };
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut fr = *start;
    let mut sr = *start;
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr == *old_root && sr == *new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// The largest power of two smaller than `n` (for `n > 1`): where a tree of `n` leaves splits.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}
