//! Signed checkpoints: the RFC 9162 tree against the Certificate Transparency reference vectors,
//! every proof of every tree of 1 to 20 leaves, tampered proofs, Ed25519 against RFC 8032, the
//! log of checkpoints, and truncation, rollback and rewriting caught against a checkpoint. The
//! committed test vectors (tests/vectors/checkpoint_vectors.json) are rewritten by this file's
//! last test when `UPDATE_VECTORS=1`, and it fails whenever they are stale.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use coprod_domain::checkpoint::merkle::{self, ProofError};
use coprod_domain::checkpoint::{
    check_trail, Checkpoint, CheckpointLog, CheckpointPublicKey, CheckpointRefusal,
    CheckpointSigningKey, ConsistencyProof, Head, InclusionProof, KeyError, LogError, LoggedHead,
    ProofCheckError, ProofRequestError, Regression, Signature, SignatureError, SignedCheckpoint,
    TrailMismatch, Tree, TreeHead,
};
use coprod_domain::digest::{canonical_json, chain_next, DIGEST_KEY};
use coprod_domain::{Digest, StoredEntry};
use serde_json::{json, Value};
use uuid::Uuid;

// ---- fixtures -----------------------------------------------------------------------------------

fn d(hex_text: &str) -> Digest {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut bytes).expect("32 bytes of hex");
    Digest(bytes)
}

/// RFC 6962's reference leaves, as every Certificate Transparency implementation tests them.
fn reference_leaf_hashes() -> Vec<Digest> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|leaf| merkle::leaf_hash(&hex::decode(leaf).unwrap()))
    .collect()
}

/// The published roots of the trees of the first 1 to 8 reference leaves.
const REFERENCE_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// The published inclusion proofs: (leaf index from 0, tree size, path).
fn reference_inclusion_proofs() -> Vec<(u64, u64, Vec<Digest>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                d("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                d("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                d("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                d("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                d("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                d("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![d(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                d("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                d("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                d("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// The published consistency proofs: (old size, new size, path).
fn reference_consistency_proofs() -> Vec<(u64, u64, Vec<Digest>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                d("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                d("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                d("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                d("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                d("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                d("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                d("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                d("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                d("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                d("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                d("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

/// RFC 8032 §7.1, TEST 1 and TEST 2: (secret key, public key, message, signature).
const RFC8032_TESTS: [(&str, &str, &str, &str); 2] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
];

/// The test checkpoint key: RFC 8032's TEST 1 key, public and so plainly not a secret.
fn key() -> CheckpointSigningKey {
    CheckpointSigningKey::from_hex(RFC8032_TESTS[0].0).unwrap()
}

fn other_key() -> CheckpointSigningKey {
    CheckpointSigningKey::from_hex(RFC8032_TESTS[1].0).unwrap()
}

/// Project `n`'s id: `00000000-0000-4000-8000-00000000000n` (so id order is number order).
fn project(n: u128) -> Uuid {
    Uuid::from_u128(0x4000_8000_0000_0000_0000 + n)
}

fn synthetic_head(n: u128, sequence: u64) -> Head {
    Head {
        project_id: project(n),
        sequence,
        digest: Digest::of_bytes(format!("project {n}, entry {sequence}").as_bytes()),
    }
}

/// When checkpoint `number` of the scenarios is made: hourly from 2025-03-01T10:00Z.
fn made_at(number: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + Duration::hours(number)
}

/// Twenty heads in project order: the leaves of the vector tree.
fn twenty_heads() -> Vec<Head> {
    (1..=20)
        .map(|n| synthetic_head(n, 3 * n as u64 + 1))
        .collect()
}

fn leaf_hashes(heads: &[Head]) -> Vec<Digest> {
    heads.iter().map(Head::leaf_hash).collect()
}

/// The scenario of the vectors: five projects over three checkpoints.
///   1: projects 1, 2, 3 at entries 3, 5, 1.
///   2: project 1 moves to 7, project 4 registers (2); 2 and 3 unchanged.
///   3: project 2 moves to 6, project 3 to 4, project 5 registers (1).
fn scenario_rounds() -> Vec<Vec<Head>> {
    vec![
        vec![
            synthetic_head(1, 3),
            synthetic_head(2, 5),
            synthetic_head(3, 1),
        ],
        vec![
            synthetic_head(1, 7),
            synthetic_head(2, 5),
            synthetic_head(3, 1),
            synthetic_head(4, 2),
        ],
        vec![
            synthetic_head(1, 7),
            synthetic_head(2, 6),
            synthetic_head(3, 4),
            synthetic_head(4, 2),
            synthetic_head(5, 1),
        ],
    ]
}

fn scenario() -> (CheckpointLog, Vec<SignedCheckpoint>) {
    let mut log = CheckpointLog::new();
    let mut made = Vec::new();
    for (i, round) in scenario_rounds().iter().enumerate() {
        let appended = log
            .append(round, made_at(i as i64 + 1), &key())
            .expect("a checkpoint");
        made.push(appended.checkpoint);
    }
    (log, made)
}

/// A project's trail of `length` entries, the chain digest stored with each; `wording` varies
/// the payload so that two trails of one project can differ.
fn trail(project_id: Uuid, length: u64, wording: &str) -> Vec<StoredEntry> {
    let mut entries = Vec::new();
    extend(&mut entries, project_id, length, wording);
    entries
}

fn extend(entries: &mut Vec<StoredEntry>, project_id: Uuid, length: u64, wording: &str) {
    let mut head = entries
        .last()
        .and_then(StoredEntry::stored_digest)
        .unwrap_or(Digest::ZERO);
    for sequence in entries.len() as u64 + 1..=length {
        let mut entry = StoredEntry {
            aggregate_id: project_id.to_string(),
            sequence,
            event_type: "note_recorded".into(),
            event_version: "1".into(),
            payload: json!({"type": "note_recorded", "text": format!("{wording} {sequence}")}),
            metadata: BTreeMap::from([
                (
                    "recorded_at".to_string(),
                    format!("2025-03-01T09:{sequence:02}:00.000000Z"),
                ),
                ("recorded_by".to_string(), "officer".to_string()),
            ]),
        };
        head = chain_next(&head, &entry);
        entry
            .metadata
            .insert(DIGEST_KEY.to_string(), head.to_string());
        entries.push(entry);
    }
}

fn head_of(entries: &[StoredEntry]) -> Head {
    let last = entries.last().expect("an entry");
    Head {
        project_id: last.aggregate_id.parse().unwrap(),
        sequence: last.sequence,
        digest: last.stored_digest().unwrap(),
    }
}

fn flip(digest: &Digest) -> Digest {
    let mut bytes = digest.0;
    bytes[0] ^= 0x08;
    Digest(bytes)
}

/// Ways an attacker might alter a proof: each altered hash, one hash dropped or added at either
/// end, and two neighbours swapped.
fn tampered_paths(path: &[Digest], junk: Digest) -> Vec<(String, Vec<Digest>)> {
    let mut tampered = Vec::new();
    for i in 0..path.len() {
        let mut altered = path.to_vec();
        altered[i] = flip(&altered[i]);
        tampered.push((format!("hash {i} altered"), altered));
    }
    if let Some((_, rest)) = path.split_last() {
        tampered.push(("last hash dropped".into(), rest.to_vec()));
    }
    if let Some((_, rest)) = path.split_first() {
        tampered.push(("first hash dropped".into(), rest.to_vec()));
    }
    tampered.push(("hash added at the end".into(), [path, &[junk]].concat()));
    tampered.push(("hash added at the front".into(), [&[junk], path].concat()));
    for i in 1..path.len() {
        if path[i - 1] != path[i] {
            let mut swapped = path.to_vec();
            swapped.swap(i - 1, i);
            tampered.push((format!("hashes {} and {i} swapped", i - 1), swapped));
        }
    }
    tampered
}

// ---- the tree: RFC 9162 and its reference vectors -----------------------------------------------

#[test]
fn the_empty_tree_hashes_to_the_sha256_of_no_bytes() {
    assert_eq!(
        merkle::root(&[]),
        d("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(merkle::empty_root(), merkle::root(&[]));
}

#[test]
fn a_leaf_hash_is_the_sha256_of_a_zero_byte_and_the_leaf_and_a_node_hash_of_a_one_byte_and_both_children(
) {
    let leaf = merkle::leaf_hash(b"abc");
    assert_eq!(leaf, Digest::of_bytes(b"\x00abc"));
    let mut node = vec![1u8];
    node.extend_from_slice(&leaf.0);
    node.extend_from_slice(&Digest::ZERO.0);
    assert_eq!(
        merkle::node_hash(&leaf, &Digest::ZERO),
        Digest::of_bytes(&node)
    );
}

#[test]
fn given_the_rfc_reference_leaves_when_hashing_each_prefix_then_the_roots_are_the_published_ones() {
    let leaves = reference_leaf_hashes();
    for (n, expected) in REFERENCE_ROOTS.iter().enumerate() {
        assert_eq!(
            merkle::root(&leaves[..=n]),
            d(expected),
            "tree of {} leaves",
            n + 1
        );
    }
}

#[test]
fn given_the_rfc_reference_tree_when_proving_inclusion_then_the_proofs_are_the_published_ones() {
    let leaves = reference_leaf_hashes();
    for (index, size, published) in reference_inclusion_proofs() {
        let tree = &leaves[..size as usize];
        let made = merkle::inclusion_proof(tree, index).unwrap();
        assert_eq!(made, published, "leaf {index} of {size}");
        merkle::verify_inclusion(
            &leaves[index as usize],
            index,
            size,
            &published,
            &d(REFERENCE_ROOTS[size as usize - 1]),
        )
        .unwrap();
    }
}

#[test]
fn given_the_rfc_reference_tree_when_proving_consistency_then_the_proofs_are_the_published_ones() {
    let leaves = reference_leaf_hashes();
    for (old_size, new_size, published) in reference_consistency_proofs() {
        let made = merkle::consistency_proof(&leaves[..new_size as usize], old_size).unwrap();
        assert_eq!(made, published, "{old_size} to {new_size}");
        merkle::verify_consistency(
            old_size,
            new_size,
            &d(REFERENCE_ROOTS[old_size as usize - 1]),
            &d(REFERENCE_ROOTS[new_size as usize - 1]),
            &published,
        )
        .unwrap();
    }
}

#[test]
fn given_every_tree_of_1_to_20_leaves_when_proving_each_leaf_then_its_proof_holds_for_it_alone() {
    let all = leaf_hashes(&twenty_heads());
    for size in 1..=20u64 {
        let tree = &all[..size as usize];
        let root = merkle::root(tree);
        for index in 0..size {
            let leaf = &tree[index as usize];
            let path = merkle::inclusion_proof(tree, index).unwrap();
            assert_eq!(
                merkle::root_from_inclusion_proof(leaf, index, size, &path),
                Ok(root),
                "leaf {index} of {size}"
            );
            for other in (0..size).filter(|other| *other != index) {
                assert!(
                    merkle::verify_inclusion(leaf, other, size, &path, &root).is_err(),
                    "leaf {index}'s proof passed as leaf {other}'s in a tree of {size}"
                );
                assert!(
                    merkle::verify_inclusion(&tree[other as usize], index, size, &path, &root)
                        .is_err(),
                    "leaf {other} passed with leaf {index}'s proof in a tree of {size}"
                );
            }
            // The path does not always pin the size (leaf 0 of 3 has the path it has in a tree
            // of 4): the size that counts is the signed one. These sizes never fit.
            for wrong_size in [size * 2, size / 2] {
                assert!(
                    merkle::verify_inclusion(leaf, index, wrong_size, &path, &root).is_err(),
                    "leaf {index} of {size} passed in a tree of {wrong_size}"
                );
            }
        }
    }
}

#[test]
fn given_every_tree_of_1_to_20_leaves_when_proving_each_earlier_size_then_the_proof_holds() {
    let all = leaf_hashes(&twenty_heads());
    for new_size in 1..=20u64 {
        let new_tree = &all[..new_size as usize];
        let new_root = merkle::root(new_tree);
        for old_size in 0..=new_size {
            let old_root = merkle::root(&all[..old_size as usize]);
            let path = merkle::consistency_proof(new_tree, old_size).unwrap();
            assert_eq!(
                merkle::verify_consistency(old_size, new_size, &old_root, &new_root, &path),
                Ok(()),
                "{old_size} to {new_size}"
            );
        }
    }
}

#[test]
fn given_any_proof_of_a_tree_of_1_to_20_leaves_when_it_is_tampered_with_then_it_is_refused() {
    let all = leaf_hashes(&twenty_heads());
    let junk = Digest::of_bytes(b"junk");
    for size in 1..=20u64 {
        let tree = &all[..size as usize];
        let root = merkle::root(tree);
        for index in 0..size {
            let path = merkle::inclusion_proof(tree, index).unwrap();
            for (how, tampered) in tampered_paths(&path, junk) {
                assert!(
                    merkle::verify_inclusion(&tree[index as usize], index, size, &tampered, &root)
                        .is_err(),
                    "inclusion of leaf {index} of {size}, {how}"
                );
            }
            assert_eq!(
                merkle::verify_inclusion(&tree[index as usize], index, size, &path, &flip(&root)),
                Err(ProofError::RootMismatch)
            );
        }
        for old_size in 1..size {
            let old_root = merkle::root(&all[..old_size as usize]);
            let path = merkle::consistency_proof(tree, old_size).unwrap();
            for (how, tampered) in tampered_paths(&path, junk) {
                assert!(
                    merkle::verify_consistency(old_size, size, &old_root, &root, &tampered)
                        .is_err(),
                    "consistency {old_size} to {size}, {how}"
                );
            }
            let wrong_sizes = [
                (old_size - 1, size),
                (old_size + 1, size),
                (old_size ^ 2, size),
                (old_size, size * 2),
                (old_size, size / 2),
            ];
            for (old, new) in wrong_sizes {
                assert!(
                    merkle::verify_consistency(old, new, &old_root, &root, &path).is_err(),
                    "consistency {old_size} to {size} passed as {old} to {new}"
                );
            }
            assert!(merkle::verify_consistency(old_size, size, &root, &old_root, &path).is_err());
            assert!(merkle::verify_consistency(old_size, size, &old_root, &root, &[]).is_err());
        }
    }
}

#[test]
fn given_a_tree_whose_earlier_leaf_was_changed_when_proving_consistency_with_its_old_root_then_it_fails(
) {
    let original = leaf_hashes(&twenty_heads());
    let old_root = merkle::root(&original[..10]);
    for changed in 0..10 {
        let mut rewritten = original.clone();
        rewritten[changed] = flip(&rewritten[changed]);
        let new_root = merkle::root(&rewritten);
        let path = merkle::consistency_proof(&rewritten, 10).unwrap();
        assert_eq!(
            merkle::verify_consistency(10, 20, &old_root, &new_root, &path),
            Err(ProofError::RootMismatch),
            "leaf {changed} rewritten"
        );
    }
    // A log cut back and grown again is no extension either.
    let regrown: Vec<Digest> = original[..8]
        .iter()
        .copied()
        .chain((0..12).map(|i| Digest::of_bytes(&[i])))
        .collect();
    let path = merkle::consistency_proof(&regrown, 10).unwrap();
    assert!(merkle::verify_consistency(10, 20, &old_root, &merkle::root(&regrown), &path).is_err());
}

#[test]
fn a_proof_for_a_leaf_or_size_outside_the_tree_is_neither_made_nor_accepted() {
    let tree = leaf_hashes(&twenty_heads()[..5]);
    assert_eq!(
        merkle::inclusion_proof(&tree, 5),
        Err(ProofError::IndexOutOfRange {
            index: 5,
            tree_size: 5
        })
    );
    assert_eq!(
        merkle::inclusion_proof(&[], 0),
        Err(ProofError::IndexOutOfRange {
            index: 0,
            tree_size: 0
        })
    );
    assert_eq!(
        merkle::consistency_proof(&tree, 6),
        Err(ProofError::SizesOutOfOrder {
            old_size: 6,
            new_size: 5
        })
    );
    let root = merkle::root(&tree);
    assert!(merkle::verify_inclusion(&tree[0], 5, 5, &[], &root).is_err());
    assert!(merkle::verify_consistency(6, 5, &root, &root, &[]).is_err());
}

#[test]
fn consistency_with_the_empty_tree_or_the_same_tree_needs_no_hashes_and_the_right_roots() {
    let tree = leaf_hashes(&twenty_heads()[..5]);
    let root = merkle::root(&tree);
    assert_eq!(merkle::consistency_proof(&tree, 0), Ok(vec![]));
    assert_eq!(merkle::consistency_proof(&tree, 5), Ok(vec![]));
    assert_eq!(
        merkle::verify_consistency(0, 5, &merkle::empty_root(), &root, &[]),
        Ok(())
    );
    assert_eq!(merkle::verify_consistency(5, 5, &root, &root, &[]), Ok(()));
    assert!(merkle::verify_consistency(0, 5, &root, &root, &[]).is_err());
    assert!(merkle::verify_consistency(5, 5, &root, &flip(&root), &[]).is_err());
    assert!(merkle::verify_consistency(5, 5, &root, &root, &[root]).is_err());
}

// ---- heads and their leaves ---------------------------------------------------------------------

#[test]
fn a_heads_leaf_is_its_canonical_json_with_the_project_id_in_lowercase() {
    let head = Head {
        project_id: "0B6F3C9E-2D4A-4C1B-9F7E-5A8D2E1C3B40".parse().unwrap(),
        sequence: 12,
        digest: Digest::of_bytes(b"x"),
    };
    assert_eq!(
        head.leaf(),
        format!(
            "{{\"digest\":\"{}\",\"project_id\":\"0b6f3c9e-2d4a-4c1b-9f7e-5a8d2e1c3b40\",\"sequence\":12}}",
            head.digest
        )
    );
    assert_eq!(
        head.leaf(),
        canonical_json(&serde_json::to_value(head).unwrap())
    );
    assert_eq!(head.leaf_hash(), merkle::leaf_hash(head.leaf().as_bytes()));
}

// ---- signatures ---------------------------------------------------------------------------------

#[test]
fn given_the_rfc_8032_test_keys_when_signing_then_the_signatures_are_the_published_ones() {
    for (secret, public, message, signature) in RFC8032_TESTS {
        let key = CheckpointSigningKey::from_hex(secret).unwrap();
        assert_eq!(key.public_key().to_string(), public);
        let message = hex::decode(message).unwrap();
        let made = key.sign_bytes(&message);
        assert_eq!(made.to_string(), signature);
        assert!(CheckpointPublicKey::from_hex(public)
            .unwrap()
            .verify_bytes(&message, &made));
    }
}

fn sample_checkpoint() -> Checkpoint {
    let heads = twenty_heads();
    Checkpoint::new(
        4,
        Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap() + Duration::nanoseconds(123_456_789),
        TreeHead::of(&leaf_hashes(&heads[..5])),
        TreeHead::of(&leaf_hashes(&heads)),
        Some(Digest::of_bytes(b"checkpoint 3")),
    )
}

#[test]
fn given_a_signed_checkpoint_when_checked_with_its_public_key_then_it_holds() {
    let signed = key().sign(sample_checkpoint());
    assert_eq!(key().public_key().verify(&signed), Ok(()));
    assert_eq!(signed.key_id, key().public_key().key_id());
    assert_eq!(
        signed.key_id,
        Digest::of_bytes(&hex::decode(RFC8032_TESTS[0].1).unwrap())
    );
}

#[test]
fn the_signed_bytes_are_the_canonical_json_of_the_body_as_sent() {
    let body = sample_checkpoint();
    let sent = serde_json::to_value(&body).unwrap();
    assert_eq!(body.signed_bytes(), canonical_json(&sent));
    assert_eq!(sent["format"], "coprod-checkpoint-v1");
    assert_eq!(sent["made_at"], "2025-03-01T10:00:00.123456Z");
    assert_eq!(
        body.digest(),
        Digest::of_bytes(body.signed_bytes().as_bytes())
    );
    let first = Checkpoint::new(1, made_at(1), body.heads, body.log, None);
    assert!(first.signed_bytes().contains("\"previous\":null"));
}

#[test]
fn a_signed_checkpoint_read_back_from_json_is_the_same_and_still_holds() {
    let signed = key().sign(sample_checkpoint());
    let text = serde_json::to_string(&signed).unwrap();
    let read: SignedCheckpoint = serde_json::from_str(&text).unwrap();
    assert_eq!(read, signed);
    assert_eq!(key().public_key().verify(&read), Ok(()));
}

#[test]
fn given_a_signed_checkpoint_when_any_part_of_its_body_is_altered_then_its_signature_is_refused_and_the_checkpoint_named(
) {
    let signed = key().sign(sample_checkpoint());
    type Alteration = fn(&mut Checkpoint);
    let alterations: Vec<(&str, Alteration)> = vec![
        ("number", |c| c.number += 1),
        ("made_at", |c| c.made_at += Duration::seconds(1)),
        ("heads size", |c| c.heads.size -= 1),
        ("heads root", |c| c.heads.root = Digest::ZERO),
        ("log size", |c| c.log.size += 1),
        ("log root", |c| c.log.root = Digest::ZERO),
        ("previous", |c| c.previous = None),
    ];
    for (what, alter) in alterations {
        let mut altered = signed.clone();
        alter(&mut altered.checkpoint);
        assert_eq!(
            key().public_key().verify(&altered),
            Err(SignatureError::Mismatch {
                number: altered.checkpoint.number
            }),
            "{what} altered"
        );
    }
    let mut forged = signed.clone();
    forged.signature.0[10] ^= 1;
    let refused = key().public_key().verify(&forged).unwrap_err();
    assert_eq!(refused, SignatureError::Mismatch { number: 4 });
    assert!(refused.to_string().contains("checkpoint 4"), "{refused}");
}

#[test]
fn given_a_checkpoint_signed_with_another_key_when_checked_then_it_is_refused_as_such() {
    let signed = other_key().sign(sample_checkpoint());
    assert_eq!(
        key().public_key().verify(&signed),
        Err(SignatureError::OtherKey {
            number: 4,
            signed_with: other_key().public_key().key_id(),
            given: key().public_key().key_id(),
        })
    );
    // Claiming the right key id does not help a signature made with another key.
    let mut disguised = signed;
    disguised.key_id = key().public_key().key_id();
    assert_eq!(
        key().public_key().verify(&disguised),
        Err(SignatureError::Mismatch { number: 4 })
    );
}

#[test]
fn a_made_at_written_in_any_other_form_is_not_read() {
    let signed = key().sign(sample_checkpoint());
    let mut value = serde_json::to_value(&signed).unwrap();
    for other_form in [
        "2025-03-01T10:00:00Z",
        "2025-03-01T10:00:00.123456+00:00",
        "2025-03-01 10:00:00.123456Z",
    ] {
        value["checkpoint"]["made_at"] = json!(other_form);
        assert!(serde_json::from_value::<SignedCheckpoint>(value.clone()).is_err());
    }
}

#[test]
fn keys_and_signatures_are_read_from_lowercase_hex_only() {
    let (secret, public, _, signature) = RFC8032_TESTS[0];
    assert_eq!(
        CheckpointSigningKey::from_hex(&format!("{secret}\n"))
            .unwrap()
            .to_hex(),
        secret
    );
    assert!(CheckpointPublicKey::from_hex(&format!("  {public}\n")).is_ok());
    assert!(signature.parse::<Signature>().is_ok());
    for bad in [
        &secret[2..],
        &secret.to_uppercase(),
        &format!("{secret}00"),
        "zz",
    ] {
        assert_eq!(
            CheckpointSigningKey::from_hex(bad).unwrap_err(),
            KeyError::SecretKey
        );
        assert_eq!(
            CheckpointPublicKey::from_hex(bad).unwrap_err(),
            KeyError::PublicKey
        );
    }
    assert_eq!(
        signature[2..].parse::<Signature>().unwrap_err(),
        KeyError::Signature
    );
    // A secret key's Debug shows which key it is, never the secret.
    let shown = format!("{:?}", key());
    assert!(!shown.contains(secret), "{shown}");
    assert!(shown.contains(&key().public_key().key_id().to_string()));
}

// ---- the log of checkpoints ---------------------------------------------------------------------

#[test]
fn given_no_checkpoint_when_the_first_is_made_then_it_logs_every_head_in_project_order() {
    let mut log = CheckpointLog::new();
    let mut heads = vec![
        synthetic_head(3, 1),
        synthetic_head(1, 3),
        synthetic_head(2, 5),
    ];
    let appended = log.append(&heads, made_at(1), &key()).unwrap();
    heads.sort();
    let checkpoint = &appended.checkpoint.checkpoint;
    assert_eq!(checkpoint.number, 1);
    assert_eq!(checkpoint.previous, None);
    assert_eq!(
        appended.logged,
        heads
            .iter()
            .map(|head| LoggedHead {
                checkpoint: 1,
                head: *head
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(checkpoint.heads, TreeHead::of(&leaf_hashes(&heads)));
    assert_eq!(checkpoint.log, checkpoint.heads);
    assert_eq!(key().public_key().verify(&appended.checkpoint), Ok(()));
}

#[test]
fn given_a_checkpoint_when_the_next_is_made_then_it_logs_only_what_moved_and_names_the_one_before()
{
    let (log, made) = scenario();
    let rounds = scenario_rounds();
    let second = &made[1].checkpoint;
    assert_eq!(second.previous, Some(made[0].checkpoint.digest()));
    assert_eq!(made[2].checkpoint.previous, Some(second.digest()));
    let logged_by = |number| -> Vec<Head> {
        log.logged()
            .iter()
            .filter(|l| l.checkpoint == number)
            .map(|l| l.head)
            .collect()
    };
    assert_eq!(logged_by(2), vec![rounds[1][0], rounds[1][3]]);
    assert_eq!(logged_by(3), vec![rounds[2][1], rounds[2][2], rounds[2][4]]);
    assert_eq!(second.log.size, 5);
    assert_eq!(second.heads, TreeHead::of(&leaf_hashes(&rounds[1])));
    assert_eq!(made[2].checkpoint.log.size, 8);
    for (number, round) in (1..).zip(&rounds) {
        assert_eq!(log.heads_at(number).unwrap(), *round);
    }
}

#[test]
fn given_nothing_moved_when_a_checkpoint_is_made_then_it_restates_the_same_trees_later() {
    let (mut log, made) = scenario();
    let latest = scenario_rounds().pop().unwrap();
    assert_eq!(log.changes(&latest), Ok(vec![]));
    let appended = log.append(&latest, made_at(9), &key()).unwrap();
    assert!(appended.logged.is_empty());
    let fourth = &appended.checkpoint.checkpoint;
    assert_eq!(fourth.number, 4);
    assert_eq!(
        (fourth.heads, fourth.log),
        (made[2].checkpoint.heads, made[2].checkpoint.log)
    );
}

#[test]
fn given_every_checkpoint_when_proving_each_project_head_then_the_proof_holds_against_that_checkpoint(
) {
    let (log, made) = scenario();
    let public = key().public_key();
    for (signed, round) in made.iter().zip(scenario_rounds()) {
        let number = signed.checkpoint.number;
        for head in round {
            let proof = log.head_proof(number, head.project_id).unwrap();
            assert_eq!(proof.verify_head(signed, &public), Ok(head));
        }
        assert_eq!(
            log.head_proof(number, project(9)),
            Err(ProofRequestError::ProjectNotInCheckpoint {
                project_id: project(9),
                number
            })
        );
    }
}

#[test]
fn given_the_latest_checkpoint_when_proving_every_head_ever_logged_then_each_is_still_in_its_log() {
    let (log, made) = scenario();
    let latest = &made[2];
    for logged in log.logged() {
        let head = logged.head;
        let proof = log.log_proof(3, head.project_id, head.sequence).unwrap();
        assert_eq!(proof.verify_logged(latest, &key().public_key()), Ok(head));
    }
    // Project 5 registered after checkpoint 2: not in its log.
    assert_eq!(
        log.log_proof(2, project(5), 1),
        Err(ProofRequestError::HeadNotLogged {
            project_id: project(5),
            sequence: 1,
            number: 2
        })
    );
}

#[test]
fn given_any_two_checkpoints_when_proving_consistency_then_the_later_log_extends_the_earlier() {
    let (log, made) = scenario();
    for earlier in &made {
        for later in made
            .iter()
            .filter(|c| c.checkpoint.number >= earlier.checkpoint.number)
        {
            let proof = log
                .consistency_proof(earlier.checkpoint.number, later.checkpoint.number)
                .unwrap();
            assert_eq!(proof.verify(earlier, later, &key().public_key()), Ok(()));
        }
    }
    assert_eq!(
        log.consistency_proof(3, 1),
        Err(ProofRequestError::OutOfOrder { from: 3, to: 1 })
    );
    assert_eq!(
        log.consistency_proof(1, 4),
        Err(ProofRequestError::UnknownCheckpoint(4))
    );
}

#[test]
fn given_a_proof_when_checked_against_another_checkpoint_tree_or_key_then_it_is_refused() {
    let (log, made) = scenario();
    let public = key().public_key();
    let proof = log.head_proof(3, project(2)).unwrap();
    assert_eq!(
        proof.verify_head(&made[1], &public),
        Err(ProofCheckError::OtherCheckpoint {
            proof_for: 3,
            given: 2
        })
    );
    assert_eq!(
        proof.verify_logged(&made[2], &public),
        Err(ProofCheckError::WrongTree {
            expected: Tree::Log,
            found: Tree::Heads
        })
    );
    assert_eq!(
        proof.verify_head(&made[2], &other_key().public_key()),
        Err(ProofCheckError::Signature(SignatureError::OtherKey {
            number: 3,
            signed_with: public.key_id(),
            given: other_key().public_key().key_id(),
        }))
    );
    let consistency = log.consistency_proof(1, 3).unwrap();
    assert_eq!(
        consistency.verify(&made[2], &made[0], &public),
        Err(ProofCheckError::OutOfOrder { from: 3, to: 1 })
    );
    assert_eq!(
        consistency.verify(&made[1], &made[2], &public),
        Err(ProofCheckError::OtherCheckpoints {
            proof_from: 1,
            proof_to: 3,
            from: 2,
            to: 3
        })
    );
}

#[test]
fn given_a_head_proof_when_its_head_index_size_or_path_is_altered_then_it_is_refused() {
    let (log, made) = scenario();
    let public = key().public_key();
    let proof = log.head_proof(3, project(3)).unwrap();
    let mut alterations: Vec<(String, InclusionProof)> = Vec::new();
    let mut older = proof.clone();
    older.head = synthetic_head(3, 1);
    alterations.push(("an older head".into(), older));
    let mut other_index = proof.clone();
    other_index.index = 1;
    alterations.push(("another index".into(), other_index));
    let mut other_size = proof.clone();
    other_size.tree_size = 4;
    alterations.push(("another size".into(), other_size));
    for (how, path) in tampered_paths(&proof.path, Digest::ZERO) {
        let mut altered = proof.clone();
        altered.path = path;
        alterations.push((how, altered));
    }
    for (how, altered) in alterations {
        assert!(
            altered.verify_head(&made[2], &public).is_err(),
            "a head proof with {how} passed"
        );
    }
}

#[test]
fn given_proof_json_when_read_back_then_it_is_the_same_proof() {
    let (log, _) = scenario();
    let head_proof = log.head_proof(2, project(1)).unwrap();
    let text = serde_json::to_string(&head_proof).unwrap();
    assert_eq!(
        serde_json::from_str::<InclusionProof>(&text).unwrap(),
        head_proof
    );
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["tree"], "heads");
    let consistency = log.consistency_proof(1, 3).unwrap();
    let text = serde_json::to_string(&consistency).unwrap();
    assert_eq!(
        serde_json::from_str::<ConsistencyProof>(&text).unwrap(),
        consistency
    );
}

// ---- the signer refuses to move backwards -------------------------------------------------------

#[test]
fn given_a_checkpoint_when_a_project_went_backwards_vanished_or_changed_in_place_then_no_new_checkpoint_is_made(
) {
    let (mut log, _) = scenario();
    let latest = scenario_rounds().pop().unwrap();
    let behind = synthetic_head(1, 6);
    let rewritten = Head {
        digest: Digest::ZERO,
        ..latest[1]
    };
    let current = vec![behind, rewritten, latest[3], latest[4]];
    let refused = log.append(&current, made_at(9), &key()).unwrap_err();
    assert_eq!(
        refused,
        CheckpointRefusal::Regressed {
            since: 3,
            regressions: vec![
                Regression::Behind {
                    checkpointed: latest[0],
                    now: behind
                },
                Regression::Rewritten {
                    checkpointed: latest[1],
                    now: rewritten
                },
                Regression::Missing {
                    checkpointed: latest[2]
                },
            ]
        }
    );
    assert!(
        refused.to_string().starts_with("3 projects no longer hold"),
        "{refused}"
    );
    assert_eq!(log.checkpoints().len(), 3, "nothing was appended");
    assert_eq!(log.logged().len(), 8);
}

#[test]
fn a_checkpoint_given_one_project_twice_or_made_before_the_previous_one_is_refused() {
    let (mut log, made) = scenario();
    let latest = scenario_rounds().pop().unwrap();
    let twice = [latest.clone(), vec![latest[0]]].concat();
    assert_eq!(
        log.append(&twice, made_at(9), &key()),
        Err(CheckpointRefusal::DuplicateProject(project(1)))
    );
    assert_eq!(
        log.append(&latest, made_at(2), &key()),
        Err(CheckpointRefusal::MadeBeforePrevious {
            previous: made[2].checkpoint.made_at,
            made_at: made_at(2)
        })
    );
}

// ---- the stored log -----------------------------------------------------------------------------

#[test]
fn given_what_the_store_kept_when_the_log_is_rebuilt_then_it_gives_the_same_proofs() {
    let (log, made) = scenario();
    let mut rows = log.logged().to_vec();
    rows.reverse();
    let mut checkpoints = made.clone();
    checkpoints.reverse();
    let rebuilt = CheckpointLog::from_stored(checkpoints, rows, &key().public_key()).unwrap();
    assert_eq!(rebuilt.checkpoints(), log.checkpoints());
    assert_eq!(rebuilt.logged(), log.logged());
    assert_eq!(rebuilt.latest_head(project(2)), Some(synthetic_head(2, 6)));
    assert_eq!(rebuilt.consistency_proof(1, 3), log.consistency_proof(1, 3));
    assert_eq!(
        rebuilt.head_proof(2, project(4)),
        log.head_proof(2, project(4))
    );
    assert!(CheckpointLog::from_stored(vec![], vec![], &key().public_key()).is_ok());
}

#[test]
fn given_a_stored_log_whose_heads_were_altered_removed_or_added_when_rebuilt_then_it_is_refused() {
    let (log, made) = scenario();
    let public = key().public_key();
    let rebuild = |rows: Vec<LoggedHead>| CheckpointLog::from_stored(made.clone(), rows, &public);

    let mut altered = log.logged().to_vec();
    altered[1].head.sequence -= 1;
    assert_eq!(
        rebuild(altered).unwrap_err(),
        LogError::TreeMismatch {
            number: 3,
            tree: Tree::Log
        }
    );
    let mut removed = log.logged().to_vec();
    removed.remove(6);
    assert!(matches!(
        rebuild(removed).unwrap_err(),
        LogError::TreeMismatch { number: 3, .. }
    ));
    let mut added = log.logged().to_vec();
    added.push(LoggedHead {
        checkpoint: 3,
        head: synthetic_head(6, 1),
    });
    assert!(matches!(
        rebuild(added).unwrap_err(),
        LogError::TreeMismatch { number: 3, .. }
    ));
    let mut moved = log.logged().to_vec();
    moved[7].checkpoint = 2;
    assert!(matches!(
        rebuild(moved).unwrap_err(),
        LogError::TreeMismatch { number: 2, .. }
    ));
    let mut doubled = log.logged().to_vec();
    doubled.push(doubled[0]);
    assert!(matches!(
        rebuild(doubled).unwrap_err(),
        LogError::DuplicateLeaf { checkpoint: 1, .. }
    ));
    let mut stray = log.logged().to_vec();
    stray[7].checkpoint = 4;
    assert_eq!(
        rebuild(stray).unwrap_err(),
        LogError::LeafOutsideCheckpoints { checkpoint: 4 }
    );
}

#[test]
fn given_stored_checkpoints_with_one_missing_altered_or_unlinked_when_rebuilt_then_they_are_refused(
) {
    let (log, made) = scenario();
    let public = key().public_key();
    let rows = log.logged().to_vec();

    let without_second = vec![made[0].clone(), made[2].clone()];
    assert_eq!(
        CheckpointLog::from_stored(without_second, rows.clone(), &public).unwrap_err(),
        LogError::Gap {
            expected: 2,
            found: 3
        }
    );
    let mut altered = made.clone();
    altered[1].checkpoint.log.size = 4;
    assert_eq!(
        CheckpointLog::from_stored(altered, rows.clone(), &public).unwrap_err(),
        LogError::Signature(SignatureError::Mismatch { number: 2 })
    );
    // A second checkpoint signed properly but not naming the first.
    let mut unlinked = made.clone();
    let mut body = made[1].checkpoint.clone();
    body.previous = None;
    unlinked[1] = key().sign(body);
    assert_eq!(
        CheckpointLog::from_stored(unlinked, rows, &public).unwrap_err(),
        LogError::BrokenLink { number: 2 }
    );
}

// ---- trails checked against a checkpoint --------------------------------------------------------

/// Two projects with real trails, checkpointed when project 1 had 6 entries and project 2 had 3.
struct Trails {
    log: CheckpointLog,
    published: SignedCheckpoint,
    first: Vec<StoredEntry>,
    second: Vec<StoredEntry>,
}

fn checkpointed_trails() -> Trails {
    let first = trail(project(1), 6, "note");
    let second = trail(project(2), 3, "note");
    let mut log = CheckpointLog::new();
    let published = log
        .append(&[head_of(&first), head_of(&second)], made_at(1), &key())
        .unwrap()
        .checkpoint;
    Trails {
        log,
        published,
        first,
        second,
    }
}

/// What a holder of the public key does offline: check the checkpoint and the proof, then the
/// trail against the head they prove.
fn offline_check(
    entries: &[StoredEntry],
    checkpoint: &SignedCheckpoint,
    proof: &InclusionProof,
) -> Result<(), String> {
    let head = proof
        .verify_head(checkpoint, &key().public_key())
        .map_err(|e| e.to_string())?;
    check_trail(entries, &head).map_err(|e| e.to_string())
}

#[test]
fn given_a_checkpointed_trail_when_it_is_untouched_or_has_moved_on_then_it_passes() {
    let t = checkpointed_trails();
    let proof = t.log.head_proof(1, project(1)).unwrap();
    assert_eq!(offline_check(&t.first, &t.published, &proof), Ok(()));
    let mut longer = t.first.clone();
    extend(&mut longer, project(1), 9, "note");
    assert_eq!(offline_check(&longer, &t.published, &proof), Ok(()));
    let second = t.log.head_proof(1, project(2)).unwrap();
    assert_eq!(offline_check(&t.second, &t.published, &second), Ok(()));
}

#[test]
fn given_a_checkpointed_trail_when_its_last_entries_are_removed_then_the_truncation_is_detected() {
    let t = checkpointed_trails();
    let head = t.log.latest_head(project(1)).unwrap();
    let truncated = &t.first[..4];
    // The chain alone sees nothing wrong: what is left is a valid chain.
    assert_eq!(
        coprod_domain::digest::verify_chain(truncated).first_divergence,
        None
    );
    assert_eq!(
        check_trail(truncated, &head),
        Err(TrailMismatch::Truncated {
            checkpointed: 6,
            present: 4
        })
    );
    let proof = t.log.head_proof(1, project(1)).unwrap();
    let said = offline_check(truncated, &t.published, &proof).unwrap_err();
    assert!(said.contains("entries were removed"), "{said}");
    assert_eq!(
        check_trail(&[], &head),
        Err(TrailMismatch::Truncated {
            checkpointed: 6,
            present: 0
        })
    );
}

#[test]
fn given_a_checkpointed_trail_when_it_is_rewritten_with_a_valid_chain_then_the_rewrite_is_detected()
{
    let t = checkpointed_trails();
    let head = t.log.latest_head(project(1)).unwrap();
    let forged = trail(project(1), 6, "forged note");
    assert_eq!(
        coprod_domain::digest::verify_chain(&forged).first_divergence,
        None
    );
    let refused = check_trail(&forged, &head).unwrap_err();
    assert!(
        matches!(refused, TrailMismatch::Diverged { sequence: 6, checkpointed, .. } if checkpointed == head.digest),
        "{refused:?}"
    );
    // Rewriting only an early entry, and recomputing every digest after it, is caught too.
    let mut early = trail(project(1), 2, "note");
    extend(&mut early, project(1), 3, "altered");
    extend(&mut early, project(1), 6, "note");
    assert!(matches!(
        check_trail(&early, &head),
        Err(TrailMismatch::Diverged { sequence: 6, .. })
    ));
}

#[test]
fn given_a_checkpointed_trail_when_it_is_rolled_back_and_extended_again_then_the_rollback_is_detected(
) {
    let t = checkpointed_trails();
    let mut rolled_back = t.first[..4].to_vec();
    extend(&mut rolled_back, project(1), 8, "replacement");
    assert_eq!(
        coprod_domain::digest::verify_chain(&rolled_back).first_divergence,
        None
    );
    let proof = t.log.head_proof(1, project(1)).unwrap();
    let said = offline_check(&rolled_back, &t.published, &proof).unwrap_err();
    assert!(said.contains("rewritten or rolled back"), "{said}");
}

#[test]
fn given_a_checkpointed_trail_when_another_projects_trail_is_offered_then_it_is_refused() {
    let t = checkpointed_trails();
    let head = t.log.latest_head(project(1)).unwrap();
    assert_eq!(
        check_trail(&t.second, &head),
        Err(TrailMismatch::OtherProject {
            checkpointed: project(1),
            found: project(2).to_string()
        })
    );
}

#[test]
fn given_a_tampered_store_when_the_signer_is_asked_for_the_next_checkpoint_then_it_refuses() {
    let t = checkpointed_trails();
    let mut log = t.log.clone();
    // Truncated: project 1 now ends at entry 4.
    let truncated = head_of(&t.first[..4]);
    assert!(matches!(
        log.append(&[truncated, head_of(&t.second)], made_at(2), &key()),
        Err(CheckpointRefusal::Regressed { .. })
    ));
    // Rolled back and extended past the checkpointed entry: the head count alone looks fine,
    // so the signer checks the chain through the checkpointed head before signing.
    let mut rolled_back = t.first[..4].to_vec();
    extend(&mut rolled_back, project(1), 8, "replacement");
    let checkpointed = log.latest_head(project(1)).unwrap();
    assert!(check_trail(&rolled_back, &checkpointed).is_err());
    // An honest extension passes both checks and is logged.
    let mut longer = t.first.clone();
    extend(&mut longer, project(1), 8, "note");
    assert_eq!(check_trail(&longer, &checkpointed), Ok(()));
    let appended = log
        .append(&[head_of(&longer), head_of(&t.second)], made_at(2), &key())
        .unwrap();
    assert_eq!(appended.logged.len(), 1);
}

#[test]
fn given_a_published_checkpoint_when_the_history_after_it_is_remade_then_the_consistency_proof_fails(
) {
    // Checkpoints 1 and 2 are made, and 2 is published (sent to the auditors).
    let t = checkpointed_trails();
    let mut honest = t.log.clone();
    let mut longer = t.first.clone();
    extend(&mut longer, project(1), 8, "note");
    let published = honest
        .append(&[head_of(&longer), head_of(&t.second)], made_at(2), &key())
        .unwrap()
        .checkpoint;

    // Someone with the database (and the running signer) deletes checkpoint 2 and entries 7 and
    // 8, appends other entries, and lets the signer make checkpoints again from checkpoint 1.
    let mut remade = CheckpointLog::from_stored(
        vec![t.published.clone()],
        t.log.logged().to_vec(),
        &key().public_key(),
    )
    .unwrap();
    let mut replaced = t.first.clone();
    extend(&mut replaced, project(1), 8, "replacement");
    let second = remade
        .append(
            &[head_of(&replaced), head_of(&t.second)],
            made_at(2),
            &key(),
        )
        .unwrap()
        .checkpoint;
    let third = remade
        .append(
            &[head_of(&replaced), head_of(&t.second)],
            made_at(3),
            &key(),
        )
        .unwrap()
        .checkpoint;

    // Two bodies carry the number 2: either one exposes the other.
    assert_eq!(second.checkpoint.number, published.checkpoint.number);
    assert_ne!(second.checkpoint, published.checkpoint);
    // The remade history's proof from 2 to 3 does not hold for the published checkpoint 2.
    let proof = remade.consistency_proof(2, 3).unwrap();
    assert!(matches!(
        proof.verify(&published, &third, &key().public_key()),
        Err(ProofCheckError::Inconsistent { from: 2, to: 3, .. })
    ));
    // And the published head of project 1 cannot be shown to be in the remade checkpoint 3.
    let mut forged = honest.log_proof(2, project(1), 8).unwrap();
    forged.checkpoint = 3;
    forged.tree_size = third.checkpoint.log.size;
    assert!(forged.verify_logged(&third, &key().public_key()).is_err());
}

// ---- the committed test vectors ------------------------------------------------------------------

const VECTORS_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/checkpoint_vectors.json"
);

const VECTORS_DESCRIPTION: &str = "Test vectors for Coprod's signed checkpoints \
(domain/src/checkpoint.rs, docs/checkpoints.md), written by domain/tests/checkpoint.rs \
(UPDATE_VECTORS=1 rewrites them) and checked independently by docs/verify_checkpoint.py. \
Hashes are written sha256:<64 lowercase hex>. Merkle trees are RFC 9162's: a leaf hash is \
SHA-256(0x00 || leaf), a node hash SHA-256(0x01 || left || right), the empty tree's hash \
SHA-256 of no bytes, and a tree of n > 1 leaves splits at the largest power of two below n. A \
head's leaf is the canonical JSON (sorted keys, no whitespace, UTF-8) of \
{digest, project_id, sequence}. 'tree' holds twenty such leaves, the root of every prefix \
(0 to 20 leaves), the inclusion proof of every leaf in every prefix of 1 to 20 leaves and the \
consistency proof between every pair of prefixes (old_size 1 to new_size, new_size 1 to 20); \
paths list hashes nearest the leaf first. 'signing' holds RFC 8032's TEST 1 and TEST 2 \
signatures, and the test checkpoint key, which is RFC 8032's TEST 1 key (public, so plainly not \
a secret). 'checkpoints' holds a history of three checkpoints over five projects: the heads each \
logged (the log is these in order of checkpoint, then project id; a checkpoint logs the heads \
that are new or moved since the previous one), each signed checkpoint with its exact signed \
bytes (the canonical JSON of its 'checkpoint' member; the signature is Ed25519 over those UTF-8 \
bytes, key_id is SHA-256 of the 32 public key bytes, previous is SHA-256 of the previous \
checkpoint's signed bytes), the heads-tree proof of every project at every checkpoint, the \
log proof of every logged head in the latest checkpoint, and the consistency proof between \
every pair of checkpoints.";

fn vectors() -> Value {
    let heads = twenty_heads();
    let hashes = leaf_hashes(&heads);
    let leaves: Vec<Value> = heads
        .iter()
        .map(|head| json!({"head": head, "leaf": head.leaf(), "leaf_hash": head.leaf_hash()}))
        .collect();
    let roots: Vec<Value> = (0..=20)
        .map(|size| json!({"tree_size": size, "root": merkle::root(&hashes[..size])}))
        .collect();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for size in 1..=20usize {
        for index in 0..size as u64 {
            let path = merkle::inclusion_proof(&hashes[..size], index).unwrap();
            inclusion.push(json!({"tree_size": size, "index": index, "path": path}));
        }
        for old_size in 1..=size as u64 {
            let path = merkle::consistency_proof(&hashes[..size], old_size).unwrap();
            consistency.push(json!({"old_size": old_size, "new_size": size, "path": path}));
        }
    }

    let (log, made) = scenario();
    let mut head_proofs = Vec::new();
    for (number, round) in (1..).zip(scenario_rounds()) {
        for head in round {
            head_proofs.push(
                serde_json::to_value(log.head_proof(number, head.project_id).unwrap()).unwrap(),
            );
        }
    }
    let log_proofs: Vec<Value> = log
        .logged()
        .iter()
        .map(|l| {
            let proof = log
                .log_proof(3, l.head.project_id, l.head.sequence)
                .unwrap();
            serde_json::to_value(proof).unwrap()
        })
        .collect();
    let mut consistency_proofs = Vec::new();
    for from in 1..=3 {
        for to in from..=3 {
            consistency_proofs
                .push(serde_json::to_value(log.consistency_proof(from, to).unwrap()).unwrap());
        }
    }
    let (secret, public, _, _) = RFC8032_TESTS[0];
    json!({
        "description": VECTORS_DESCRIPTION,
        "tree": {
            "leaves": leaves,
            "roots": roots,
            "inclusion_proofs": inclusion,
            "consistency_proofs": consistency,
        },
        "signing": {
            "rfc8032": RFC8032_TESTS.iter().map(|(_, public, message, signature)| json!({
                "public_key": public, "message": message, "signature": signature,
            })).collect::<Vec<_>>(),
            "secret_key": secret,
            "public_key": public,
            "key_id": key().public_key().key_id(),
        },
        "checkpoints": {
            "logged": log.logged(),
            "signed": made,
            "signed_bytes": made.iter().map(|c| c.checkpoint.signed_bytes()).collect::<Vec<_>>(),
            "head_proofs": head_proofs,
            "log_proofs": log_proofs,
            "consistency_proofs": consistency_proofs,
        },
    })
}

/// Writes `value` with sorted keys: objects and arrays indented down to the third level, and
/// anything deeper (a leaf, a proof, a checkpoint) on one line, so the file reads by item.
fn write_vectors(value: &Value, depth: usize, out: &mut String) {
    let indent = |depth: usize| "  ".repeat(depth);
    match value {
        Value::Object(map) if depth < 3 => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("{\n");
            for (i, key) in keys.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                out.push_str(&serde_json::to_string(key).unwrap());
                out.push_str(": ");
                write_vectors(&map[*key], depth + 1, out);
                out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
            }
            out.push_str(&indent(depth));
            out.push('}');
        }
        Value::Array(items) if depth < 3 && !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                write_vectors(item, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&indent(depth));
            out.push(']');
        }
        other => out.push_str(&canonical_spaced(other)),
    }
}

/// One line of JSON with sorted keys and a space after each separator.
fn canonical_spaced(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}: {}",
                        serde_json::to_string(k).unwrap(),
                        canonical_spaced(&map[k])
                    )
                })
                .collect();
            format!("{{{}}}", members.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_spaced).collect();
            format!("[{}]", items.join(", "))
        }
        other => serde_json::to_string(other).unwrap(),
    }
}

#[test]
fn the_committed_vectors_are_the_ones_this_code_writes() {
    let mut written = String::new();
    write_vectors(&vectors(), 0, &mut written);
    written.push('\n');
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::write(VECTORS_PATH, &written).expect("write the vectors");
        eprintln!("rewrote {VECTORS_PATH}");
        return;
    }
    let committed = std::fs::read_to_string(VECTORS_PATH).unwrap_or_default();
    assert!(
        committed == written,
        "{VECTORS_PATH} is stale: rewrite it with UPDATE_VECTORS=1 cargo test -p coprod-domain \
         --test checkpoint, then check it with python3 docs/verify_checkpoint.py --vectors"
    );
    // The file reads back as the same values.
    let read: Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(read, vectors());
}
