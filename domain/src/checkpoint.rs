//! Signed checkpoints: trust in a project's trail that does not depend on the database's honesty.
//!
//! Each project's hash chain (see [`crate::digest`]) shows that nothing was changed *inside* the
//! trail, but not that its last entries were not removed, nor that the whole trail was not
//! replaced by another valid chain (the digest rule is public). A checkpoint fixes, under a
//! signature made with a key kept apart from the database, which head every project's chain had
//! at a moment; anyone holding the public key and that checkpoint can then check a trail against
//! it, with proofs of a few hundred bytes, even if the database was changed afterwards.
//!
//! # What a checkpoint commits to
//!
//! A project's **head** is `{project_id, sequence, digest}`: the number of its last entry and the
//! chain digest after it. Because the chain digest covers every earlier entry, a head vouches for
//! the whole trail up to it. A head's leaf bytes are its canonical JSON
//! (`{"digest":"sha256:…","project_id":"…","sequence":7}`, see [`Head::leaf`]).
//!
//! Every checkpoint signs the roots of two RFC 9162 Merkle trees ([`merkle`]) built from heads:
//!
//! 1. **The heads tree**: the head of every project at that checkpoint, one leaf per project,
//!    sorted by project id (lowercase text, which is the order of the id's bytes). An inclusion
//!    proof in it says "at checkpoint n, project P's head was (s, d)". The signer only ever
//!    builds it with one leaf per project, so it answers "what was P's *latest* head", which is
//!    what catches a trail that lost its last entries.
//! 2. **The log**: an append-only list of every head ever checkpointed. Checkpoint n appends the
//!    heads that changed since checkpoint n−1 (projects new or moved on), sorted by project id;
//!    nothing is ever removed or reordered. Its size and root are checkpoint n's RFC 9162 tree
//!    head, so an RFC 9162 consistency proof between two checkpoints shows that the later one
//!    still holds, unchanged and in place, every head the earlier one logged. The heads tree of
//!    checkpoint n is exactly "each project's last head in the log of checkpoint n".
//!
//! The signed body also holds its number, when it was made (given by the caller, never read from
//! a clock here), and the SHA-256 of the previous checkpoint's signed bytes, so that checkpoints
//! form a chain of their own.
//!
//! # What a holder of the public key can detect
//!
//! - **Truncation** of a project's trail before checkpoint n: the heads-tree proof for the
//!   project says its head was entry s; the trail now ends before s ([`TrailMismatch::Truncated`]).
//! - **Rewriting** any entry up to s, even with a chain recomputed so that it is valid: the
//!   recomputed digest at s is not the checkpointed one ([`TrailMismatch::Diverged`]).
//! - **Rollback** (entries removed, then others appended in their place): the same, the digest at
//!   s differs.
//! - **A rewritten checkpoint history** (checkpoints deleted from the database and new ones made
//!   over a tampered store, or an old checkpoint replaced): a checkpoint published earlier fails
//!   the consistency proof to the current one, or two different bodies carry one number.
//!
//! The signer keeps this true going forward: before making checkpoint n it refuses any project
//! whose head went backwards, vanished or changed at the same sequence ([`Regression`]), and the
//! caller checks, for every project that moved on, that its chain still passes through the
//! checkpointed head ([`check_trail`]). So a checkpoint's heads always extend the previous
//! checkpoint's, and checking a trail against the latest checkpoint covers everything before it.
//!
//! What it cannot do: a change made *after* the latest checkpoint is only caught by the next one
//! (or by the chain itself); and a store whose database and checkpoint key are both in an
//! attacker's hands can sign a new history, which only checkpoints published elsewhere before
//! (on a website, by email to auditors) expose, through the consistency proof.
//!
//! # Signing
//!
//! The signed bytes are the canonical JSON (sorted keys, no whitespace; see [`crate::digest`]) of
//! the [`Checkpoint`] body, whose `format` member (`coprod-checkpoint-v1`) keeps a checkpoint
//! signature from being mistaken for anything else signed with the same key. The signature is
//! Ed25519 (RFC 8032) by `ed25519-dalek`; keys come from the caller as bytes, nothing here draws
//! randomness or does I/O.

pub mod merkle;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::json;
use uuid::Uuid;

use crate::digest::{canonical_json, verify_chain, ChainCheck, Digest, StoredEntry};
use crate::recorded::{format_instant, parse_instant};

pub use merkle::ProofError;

// ---- heads and their leaves ---------------------------------------------------------------------

/// One project's chain head: its last entry's number and the chain digest after it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    pub project_id: Uuid,
    pub sequence: u64,
    pub digest: Digest,
}

impl Head {
    /// The leaf bytes of this head in either tree: its canonical JSON,
    /// `{"digest":"sha256:…","project_id":"<lowercase uuid>","sequence":<n>}`.
    pub fn leaf(&self) -> String {
        canonical_json(&json!({
            "digest": self.digest.to_string(),
            "project_id": self.project_id.to_string(),
            "sequence": self.sequence,
        }))
    }

    /// `SHA-256(0x00 || leaf)`.
    pub fn leaf_hash(&self) -> Digest {
        merkle::leaf_hash(self.leaf().as_bytes())
    }

    /// Checks a recomputed chain (see [`verify_chain`]) against this head: it must reach entry
    /// `sequence` and have this digest there. The stored digests are the chain check's business;
    /// this compares what the entries hash to now with what was checkpointed.
    pub fn check_chain(&self, chain: &ChainCheck) -> Result<(), TrailMismatch> {
        let present = chain.heads.len() as u64;
        let at_head = usize::try_from(self.sequence)
            .ok()
            .and_then(|s| s.checked_sub(1))
            .and_then(|i| chain.heads.get(i));
        match at_head {
            None => Err(TrailMismatch::Truncated {
                checkpointed: self.sequence,
                present,
            }),
            Some(found) if *found != self.digest => Err(TrailMismatch::Diverged {
                sequence: self.sequence,
                checkpointed: self.digest,
                found: *found,
            }),
            Some(_) => Ok(()),
        }
    }
}

/// Checks a project's stored entries (in order) against the head a checkpoint holds for it:
/// truncation, rewriting and rollback of anything up to that head are each refused.
pub fn check_trail(entries: &[StoredEntry], head: &Head) -> Result<(), TrailMismatch> {
    if let Some(first) = entries.first() {
        if first.aggregate_id != head.project_id.to_string() {
            return Err(TrailMismatch::OtherProject {
                checkpointed: head.project_id,
                found: first.aggregate_id.clone(),
            });
        }
    }
    head.check_chain(&verify_chain(entries))
}

/// How a trail disagrees with the head a checkpoint holds for its project.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrailMismatch {
    #[error(
        "the trail has {present} entries but the checkpoint holds entry {checkpointed}: \
         entries were removed"
    )]
    Truncated { checkpointed: u64, present: u64 },
    #[error(
        "entry {sequence} now hashes to {found}, not to the checkpointed {checkpointed}: \
         the trail was rewritten or rolled back at or before entry {sequence}"
    )]
    Diverged {
        sequence: u64,
        checkpointed: Digest,
        found: Digest,
    },
    #[error("the trail is project {found}'s, the checkpointed head is project {checkpointed}'s")]
    OtherProject { checkpointed: Uuid, found: String },
}

/// A head as the log holds it: with the checkpoint that logged it. What the store keeps, one row
/// per head logged; the log is these in order of (`checkpoint`, project id).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedHead {
    pub checkpoint: u64,
    pub head: Head,
}

// ---- the signed body ----------------------------------------------------------------------------

/// The version of the checkpoint format, part of the signed bytes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    #[serde(rename = "coprod-checkpoint-v1")]
    V1,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::V1 => "coprod-checkpoint-v1",
        }
    }
}

/// A Merkle tree's size (number of leaves) and root hash.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeHead {
    pub size: u64,
    pub root: Digest,
}

impl TreeHead {
    /// The tree head of the leaves whose hashes are given.
    pub fn of(leaf_hashes: &[Digest]) -> TreeHead {
        TreeHead {
            size: leaf_hashes.len() as u64,
            root: merkle::root(leaf_hashes),
        }
    }
}

/// What a checkpoint signs (see the module documentation).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub format: Format,
    /// 1 for the first checkpoint, then one more each time.
    pub number: u64,
    /// When it was made, written like every instant Coprod records (microseconds, UTC).
    #[serde(with = "exact_instant")]
    pub made_at: DateTime<Utc>,
    /// Every project's head at this checkpoint, one leaf per project, sorted by project id.
    pub heads: TreeHead,
    /// Every head ever checkpointed, up to and including this checkpoint's.
    pub log: TreeHead,
    /// SHA-256 of the previous checkpoint's signed bytes; none for checkpoint 1.
    pub previous: Option<Digest>,
}

impl Checkpoint {
    /// A body in the current format. `made_at` is kept to the microsecond, as it is written.
    pub fn new(
        number: u64,
        made_at: DateTime<Utc>,
        heads: TreeHead,
        log: TreeHead,
        previous: Option<Digest>,
    ) -> Checkpoint {
        Checkpoint {
            format: Format::V1,
            number,
            made_at: made_at.trunc_subsecs(6),
            heads,
            log,
            previous,
        }
    }

    /// The bytes the signature covers: this body's canonical JSON.
    pub fn signed_bytes(&self) -> String {
        canonical_json(&json!({
            "format": self.format.as_str(),
            "number": self.number,
            "made_at": format_instant(self.made_at),
            "heads": {"size": self.heads.size, "root": self.heads.root.to_string()},
            "log": {"size": self.log.size, "root": self.log.root.to_string()},
            "previous": self.previous.map(|digest| digest.to_string()),
        }))
    }

    /// SHA-256 of the signed bytes: what the next checkpoint names as its `previous`.
    pub fn digest(&self) -> Digest {
        Digest::of_bytes(self.signed_bytes().as_bytes())
    }
}

/// Writes and reads `made_at` in exactly one text form, so that the signed bytes rebuilt from a
/// parsed checkpoint are the ones that were signed.
mod exact_instant {
    use super::*;

    pub fn serialize<S: Serializer>(instant: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_instant(*instant))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        parse_instant(&text)
            .filter(|instant| format_instant(*instant) == text)
            .ok_or_else(|| {
                serde::de::Error::custom("an instant is written YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC)")
            })
    }
}

/// A checkpoint with its Ed25519 signature and the id of the key that made it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// SHA-256 of the signing key's 32 public bytes: which key to check it with. Not signed (it
    /// only chooses the error message when the key does not match).
    pub key_id: Digest,
    pub signature: Signature,
}

// ---- keys and signatures ------------------------------------------------------------------------

/// An Ed25519 signature, written as 128 lowercase hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Signature {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Signature(decode_lower_hex(s).ok_or(KeyError::Signature)?))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a key or signature could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a checkpoint secret key is written as 64 lowercase hexadecimal digits")]
    SecretKey,
    #[error(
        "a checkpoint public key is written as 64 lowercase hexadecimal digits \
         and must be a valid Ed25519 key"
    )]
    PublicKey,
    #[error("a checkpoint signature is written as 128 lowercase hexadecimal digits")]
    Signature,
}

fn decode_lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.trim();
    if text.len() != 2 * N || text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut bytes = [0u8; N];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

/// The secret checkpoint key. Kept apart from the database; its `Debug` shows only the key id.
pub struct CheckpointSigningKey(SigningKey);

impl CheckpointSigningKey {
    /// From the 32 secret bytes of RFC 8032 (for a new key: 32 random bytes the caller drew).
    pub fn from_bytes(secret: &[u8; 32]) -> CheckpointSigningKey {
        CheckpointSigningKey(SigningKey::from_bytes(secret))
    }

    /// From 64 lowercase hexadecimal digits (surrounding whitespace, such as a file's final
    /// newline, is ignored).
    pub fn from_hex(text: &str) -> Result<CheckpointSigningKey, KeyError> {
        let secret = decode_lower_hex::<32>(text).ok_or(KeyError::SecretKey)?;
        Ok(CheckpointSigningKey::from_bytes(&secret))
    }

    /// The secret as 64 lowercase hexadecimal digits, for writing a new key to its file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn public_key(&self) -> CheckpointPublicKey {
        CheckpointPublicKey(self.0.verifying_key())
    }

    /// Signs a checkpoint body.
    pub fn sign(&self, checkpoint: Checkpoint) -> SignedCheckpoint {
        let signature = self.0.sign(checkpoint.signed_bytes().as_bytes());
        SignedCheckpoint {
            checkpoint,
            key_id: self.public_key().key_id(),
            signature: Signature(signature.to_bytes()),
        }
    }

    /// Signs any bytes (for checking the implementation against RFC 8032's test vectors).
    pub fn sign_bytes(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for CheckpointSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckpointSigningKey({})", self.public_key().key_id())
    }
}

/// The public checkpoint key: what anyone checking checkpoints holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPublicKey(VerifyingKey);

impl CheckpointPublicKey {
    /// From the 32 public bytes of RFC 8032.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<CheckpointPublicKey, KeyError> {
        VerifyingKey::from_bytes(bytes)
            .map(CheckpointPublicKey)
            .map_err(|_| KeyError::PublicKey)
    }

    /// From 64 lowercase hexadecimal digits (surrounding whitespace is ignored).
    pub fn from_hex(text: &str) -> Result<CheckpointPublicKey, KeyError> {
        let bytes = decode_lower_hex::<32>(text).ok_or(KeyError::PublicKey)?;
        CheckpointPublicKey::from_bytes(&bytes)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// SHA-256 of the 32 public bytes.
    pub fn key_id(&self) -> Digest {
        Digest::of_bytes(&self.0.to_bytes())
    }

    /// Checks a checkpoint's signature with this key.
    pub fn verify(&self, signed: &SignedCheckpoint) -> Result<(), SignatureError> {
        let number = signed.checkpoint.number;
        if self.verify_bytes(
            signed.checkpoint.signed_bytes().as_bytes(),
            &signed.signature,
        ) {
            Ok(())
        } else if signed.key_id != self.key_id() {
            Err(SignatureError::OtherKey {
                number,
                signed_with: signed.key_id,
                given: self.key_id(),
            })
        } else {
            Err(SignatureError::Mismatch { number })
        }
    }

    /// Whether `signature` is this key's over `message` (strict RFC 8032 verification).
    pub fn verify_bytes(&self, message: &[u8], signature: &Signature) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Display for CheckpointPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.to_bytes()))
    }
}

impl fmt::Debug for CheckpointPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckpointPublicKey({self})")
    }
}

/// Why a checkpoint's signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "checkpoint {number} was signed with key {signed_with}, not with the key given \
         ({given}), and does not verify with it"
    )]
    OtherKey {
        number: u64,
        signed_with: Digest,
        given: Digest,
    },
    #[error(
        "checkpoint {number}'s signature does not match its contents: \
         it was altered or not made with this key"
    )]
    Mismatch { number: u64 },
}

// ---- proofs -------------------------------------------------------------------------------------

/// Which of a checkpoint's two trees a proof is about.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tree {
    /// Every project's head at the checkpoint.
    Heads,
    /// Every head ever checkpointed up to it.
    Log,
}

impl fmt::Display for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tree::Heads => "heads",
            Tree::Log => "log",
        })
    }
}

/// An RFC 9162 inclusion proof of a head in one of a checkpoint's trees.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The checkpoint's number.
    pub checkpoint: u64,
    pub tree: Tree,
    pub head: Head,
    /// The leaf's position in the tree, from 0.
    pub index: u64,
    pub tree_size: u64,
    /// The audit path, nearest the leaf first.
    pub path: Vec<Digest>,
}

impl InclusionProof {
    /// Checks the checkpoint's signature, then this proof of a head in its heads tree, and returns
    /// the head: the project's head at that checkpoint.
    pub fn verify_head(
        &self,
        signed: &SignedCheckpoint,
        key: &CheckpointPublicKey,
    ) -> Result<Head, ProofCheckError> {
        self.verify_in(Tree::Heads, signed, key)
    }

    /// Checks the checkpoint's signature, then this proof of a head in its log, and returns the
    /// head: it was checkpointed at or before that checkpoint and is still in its log.
    pub fn verify_logged(
        &self,
        signed: &SignedCheckpoint,
        key: &CheckpointPublicKey,
    ) -> Result<Head, ProofCheckError> {
        self.verify_in(Tree::Log, signed, key)
    }

    fn verify_in(
        &self,
        tree: Tree,
        signed: &SignedCheckpoint,
        key: &CheckpointPublicKey,
    ) -> Result<Head, ProofCheckError> {
        key.verify(signed)?;
        let checkpoint = &signed.checkpoint;
        if self.checkpoint != checkpoint.number {
            return Err(ProofCheckError::OtherCheckpoint {
                proof_for: self.checkpoint,
                given: checkpoint.number,
            });
        }
        if self.tree != tree {
            return Err(ProofCheckError::WrongTree {
                expected: tree,
                found: self.tree,
            });
        }
        let signed_tree = match tree {
            Tree::Heads => checkpoint.heads,
            Tree::Log => checkpoint.log,
        };
        if self.tree_size != signed_tree.size {
            return Err(ProofCheckError::TreeSize {
                tree,
                proof: self.tree_size,
                signed: signed_tree.size,
            });
        }
        merkle::verify_inclusion(
            &self.head.leaf_hash(),
            self.index,
            self.tree_size,
            &self.path,
            &signed_tree.root,
        )
        .map_err(|error| ProofCheckError::Proof {
            number: checkpoint.number,
            tree,
            error,
        })?;
        Ok(self.head)
    }
}

/// An RFC 9162 consistency proof between the logs of two checkpoints.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The earlier checkpoint's number.
    pub from: u64,
    /// The later checkpoint's number.
    pub to: u64,
    pub old_size: u64,
    pub new_size: u64,
    pub path: Vec<Digest>,
}

impl ConsistencyProof {
    /// Checks both checkpoints' signatures, then that the later one's log holds every head the
    /// earlier one logged, unchanged and in place.
    pub fn verify(
        &self,
        earlier: &SignedCheckpoint,
        later: &SignedCheckpoint,
        key: &CheckpointPublicKey,
    ) -> Result<(), ProofCheckError> {
        key.verify(earlier)?;
        key.verify(later)?;
        let (earlier, later) = (&earlier.checkpoint, &later.checkpoint);
        if earlier.number > later.number {
            return Err(ProofCheckError::OutOfOrder {
                from: earlier.number,
                to: later.number,
            });
        }
        if (self.from, self.to) != (earlier.number, later.number) {
            return Err(ProofCheckError::OtherCheckpoints {
                proof_from: self.from,
                proof_to: self.to,
                from: earlier.number,
                to: later.number,
            });
        }
        for (proof, signed) in [(self.old_size, earlier), (self.new_size, later)] {
            if proof != signed.log.size {
                return Err(ProofCheckError::TreeSize {
                    tree: Tree::Log,
                    proof,
                    signed: signed.log.size,
                });
            }
        }
        merkle::verify_consistency(
            self.old_size,
            self.new_size,
            &earlier.log.root,
            &later.log.root,
            &self.path,
        )
        .map_err(|error| ProofCheckError::Inconsistent {
            from: earlier.number,
            to: later.number,
            error,
        })
    }
}

/// Why a proof does not hold for the checkpoint(s) given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofCheckError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("the proof is for checkpoint {proof_for}, not checkpoint {given}")]
    OtherCheckpoint { proof_for: u64, given: u64 },
    #[error(
        "the proof is between checkpoints {proof_from} and {proof_to}, \
         not between {from} and {to}"
    )]
    OtherCheckpoints {
        proof_from: u64,
        proof_to: u64,
        from: u64,
        to: u64,
    },
    #[error("the proof is of the {found} tree, not of the {expected} tree")]
    WrongTree { expected: Tree, found: Tree },
    #[error("the proof is for a {tree} tree of {proof} leaves, the checkpoint's has {signed}")]
    TreeSize { tree: Tree, proof: u64, signed: u64 },
    #[error("checkpoint {from} comes after checkpoint {to}")]
    OutOfOrder { from: u64, to: u64 },
    #[error("the proof of the head in checkpoint {number}'s {tree} tree does not hold: {error}")]
    Proof {
        number: u64,
        tree: Tree,
        error: ProofError,
    },
    #[error(
        "checkpoint {to}'s log is not an extension of checkpoint {from}'s: {error}; \
         the history was rewritten"
    )]
    Inconsistent {
        from: u64,
        to: u64,
        error: ProofError,
    },
}

// ---- the log of checkpoints ---------------------------------------------------------------------

/// Every checkpoint made so far and every head they logged: what the signer extends and what
/// proofs are drawn from. Pure: the caller loads it from the store and saves what
/// [`CheckpointLog::append`] returns.
#[derive(Debug, Clone, Default)]
pub struct CheckpointLog {
    checkpoints: Vec<SignedCheckpoint>,
    /// In log order: by checkpoint, then project id.
    logged: Vec<LoggedHead>,
    leaf_hashes: Vec<Digest>,
    /// Each project's head at the latest checkpoint.
    latest_heads: BTreeMap<Uuid, Head>,
}

/// A new checkpoint and the heads it logged: what the caller stores, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub checkpoint: SignedCheckpoint,
    pub logged: Vec<LoggedHead>,
}

impl CheckpointLog {
    /// A log with no checkpoint yet.
    pub fn new() -> CheckpointLog {
        CheckpointLog::default()
    }

    /// Rebuilds the log from what the store kept, checking it: checkpoints numbered 1, 2, 3, …
    /// each signed with `key` and naming the one before; every logged head belonging to one of
    /// them; and the trees rebuilt from the logged heads matching the latest checkpoint's (which
    /// covers every logged head, so an altered, removed or added row is caught).
    pub fn from_stored(
        mut checkpoints: Vec<SignedCheckpoint>,
        mut logged: Vec<LoggedHead>,
        key: &CheckpointPublicKey,
    ) -> Result<CheckpointLog, LogError> {
        checkpoints.sort_by_key(|c| c.checkpoint.number);
        let mut previous: Option<Digest> = None;
        for (i, signed) in checkpoints.iter().enumerate() {
            let expected = i as u64 + 1;
            let number = signed.checkpoint.number;
            if number != expected {
                return Err(LogError::Gap {
                    expected,
                    found: number,
                });
            }
            key.verify(signed)?;
            if signed.checkpoint.previous != previous {
                return Err(LogError::BrokenLink { number });
            }
            previous = Some(signed.checkpoint.digest());
        }
        logged.sort_by_key(|l| (l.checkpoint, l.head.project_id));
        let last_number = checkpoints.len() as u64;
        for pair in logged.windows(2) {
            if (pair[0].checkpoint, pair[0].head.project_id)
                == (pair[1].checkpoint, pair[1].head.project_id)
            {
                return Err(LogError::DuplicateLeaf {
                    checkpoint: pair[1].checkpoint,
                    project_id: pair[1].head.project_id,
                });
            }
        }
        if let Some(stray) = logged
            .iter()
            .find(|l| l.checkpoint == 0 || l.checkpoint > last_number)
        {
            return Err(LogError::LeafOutsideCheckpoints {
                checkpoint: stray.checkpoint,
            });
        }

        // Sizes of every checkpoint's trees (cheap), then the latest one's roots (one pass).
        let mut projects = HashSet::new();
        let mut rows = logged.iter().peekable();
        let mut log_size = 0u64;
        for signed in &checkpoints {
            let checkpoint = &signed.checkpoint;
            while let Some(row) = rows.next_if(|row| row.checkpoint == checkpoint.number) {
                projects.insert(row.head.project_id);
                log_size += 1;
            }
            for (tree, signed_size, rebuilt) in [
                (Tree::Log, checkpoint.log.size, log_size),
                (Tree::Heads, checkpoint.heads.size, projects.len() as u64),
            ] {
                if signed_size != rebuilt {
                    return Err(LogError::TreeMismatch {
                        number: checkpoint.number,
                        tree,
                    });
                }
            }
        }
        let mut log = CheckpointLog {
            leaf_hashes: logged.iter().map(|l| l.head.leaf_hash()).collect(),
            latest_heads: BTreeMap::new(),
            logged,
            checkpoints,
        };
        log.latest_heads = log.heads_map_at(last_number);
        if let Some(latest) = log.checkpoints.last() {
            let latest = &latest.checkpoint;
            if TreeHead::of(&log.leaf_hashes) != latest.log {
                return Err(LogError::TreeMismatch {
                    number: latest.number,
                    tree: Tree::Log,
                });
            }
            if TreeHead::of(&log.heads_leaf_hashes(&log.latest_heads)) != latest.heads {
                return Err(LogError::TreeMismatch {
                    number: latest.number,
                    tree: Tree::Heads,
                });
            }
        }
        Ok(log)
    }

    pub fn latest(&self) -> Option<&SignedCheckpoint> {
        self.checkpoints.last()
    }

    pub fn checkpoint(&self, number: u64) -> Option<&SignedCheckpoint> {
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        self.checkpoints.get(index)
    }

    pub fn checkpoints(&self) -> &[SignedCheckpoint] {
        &self.checkpoints
    }

    /// Every head logged so far, in log order.
    pub fn logged(&self) -> &[LoggedHead] {
        &self.logged
    }

    /// A project's head at the latest checkpoint.
    pub fn latest_head(&self, project_id: Uuid) -> Option<Head> {
        self.latest_heads.get(&project_id).copied()
    }

    /// Every project's head at checkpoint `number`, sorted by project id.
    pub fn heads_at(&self, number: u64) -> Result<Vec<Head>, ProofRequestError> {
        self.known(number)?;
        Ok(self.heads_map_at(number).into_values().collect())
    }

    /// The heads the next checkpoint would log, given every project's current head: those new
    /// or moved on, sorted by project id. Refused when a project's head went backwards, vanished
    /// or changed at the same sequence, or when a project is given twice.
    ///
    /// For each project that moved on, the caller must also have checked that its chain still
    /// passes through the head checkpointed for it ([`check_trail`] with [`Self::latest_head`]):
    /// only the chain can tell that a longer trail extends the checkpointed one.
    pub fn changes(&self, current: &[Head]) -> Result<Vec<Head>, CheckpointRefusal> {
        let mut given = BTreeMap::new();
        for head in current {
            if given.insert(head.project_id, *head).is_some() {
                return Err(CheckpointRefusal::DuplicateProject(head.project_id));
            }
        }
        let mut regressions = Vec::new();
        for (project_id, checkpointed) in &self.latest_heads {
            let checkpointed = *checkpointed;
            match given.get(project_id) {
                None => regressions.push(Regression::Missing { checkpointed }),
                Some(&now) if now.sequence < checkpointed.sequence => {
                    regressions.push(Regression::Behind { checkpointed, now })
                }
                Some(&now) if now.sequence == checkpointed.sequence && now != checkpointed => {
                    regressions.push(Regression::Rewritten { checkpointed, now })
                }
                Some(_) => {}
            }
        }
        if !regressions.is_empty() {
            return Err(CheckpointRefusal::Regressed {
                since: self.checkpoints.len() as u64,
                regressions,
            });
        }
        Ok(given
            .into_values()
            .filter(|head| self.latest_heads.get(&head.project_id) != Some(head))
            .collect())
    }

    /// Makes and signs the next checkpoint over `current` (every project's head now), appending
    /// the heads that changed (see [`Self::changes`]); a checkpoint may log nothing new, and then
    /// restates the same trees at a later time. Returns what the caller must store.
    pub fn append(
        &mut self,
        current: &[Head],
        made_at: DateTime<Utc>,
        key: &CheckpointSigningKey,
    ) -> Result<Appended, CheckpointRefusal> {
        let changes = self.changes(current)?;
        if let Some(previous) = self.latest() {
            if made_at.trunc_subsecs(6) < previous.checkpoint.made_at {
                return Err(CheckpointRefusal::MadeBeforePrevious {
                    previous: previous.checkpoint.made_at,
                    made_at,
                });
            }
        }
        let number = self.checkpoints.len() as u64 + 1;
        let logged: Vec<LoggedHead> = changes
            .into_iter()
            .map(|head| LoggedHead {
                checkpoint: number,
                head,
            })
            .collect();
        for row in &logged {
            self.leaf_hashes.push(row.head.leaf_hash());
            self.latest_heads.insert(row.head.project_id, row.head);
        }
        self.logged.extend_from_slice(&logged);
        let heads = TreeHead::of(&self.heads_leaf_hashes(&self.latest_heads));
        let body = Checkpoint::new(
            number,
            made_at,
            heads,
            TreeHead::of(&self.leaf_hashes),
            self.latest().map(|c| c.checkpoint.digest()),
        );
        let signed = key.sign(body);
        self.checkpoints.push(signed.clone());
        Ok(Appended {
            checkpoint: signed,
            logged,
        })
    }

    /// The proof of a project's head in checkpoint `number`'s heads tree.
    pub fn head_proof(
        &self,
        number: u64,
        project_id: Uuid,
    ) -> Result<InclusionProof, ProofRequestError> {
        self.known(number)?;
        let heads = self.heads_map_at(number);
        let index = heads
            .keys()
            .position(|id| *id == project_id)
            .ok_or(ProofRequestError::ProjectNotInCheckpoint { project_id, number })?;
        let leaf_hashes = self.heads_leaf_hashes(&heads);
        let path = merkle::inclusion_proof(&leaf_hashes, index as u64)?;
        Ok(InclusionProof {
            checkpoint: number,
            tree: Tree::Heads,
            head: heads[&project_id],
            index: index as u64,
            tree_size: leaf_hashes.len() as u64,
            path,
        })
    }

    /// The proof that a project's head at `sequence` is in checkpoint `number`'s log.
    pub fn log_proof(
        &self,
        number: u64,
        project_id: Uuid,
        sequence: u64,
    ) -> Result<InclusionProof, ProofRequestError> {
        self.known(number)?;
        let size = self.log_size_at(number);
        let index = self.logged[..size]
            .iter()
            .position(|l| l.head.project_id == project_id && l.head.sequence == sequence)
            .ok_or(ProofRequestError::HeadNotLogged {
                project_id,
                sequence,
                number,
            })?;
        let path = merkle::inclusion_proof(&self.leaf_hashes[..size], index as u64)?;
        Ok(InclusionProof {
            checkpoint: number,
            tree: Tree::Log,
            head: self.logged[index].head,
            index: index as u64,
            tree_size: size as u64,
            path,
        })
    }

    /// The proof that checkpoint `to`'s log extends checkpoint `from`'s.
    pub fn consistency_proof(
        &self,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, ProofRequestError> {
        self.known(from)?;
        self.known(to)?;
        if from > to {
            return Err(ProofRequestError::OutOfOrder { from, to });
        }
        let (old_size, new_size) = (self.log_size_at(from), self.log_size_at(to));
        let path = merkle::consistency_proof(&self.leaf_hashes[..new_size], old_size as u64)?;
        Ok(ConsistencyProof {
            from,
            to,
            old_size: old_size as u64,
            new_size: new_size as u64,
            path,
        })
    }

    fn known(&self, number: u64) -> Result<(), ProofRequestError> {
        match self.checkpoint(number) {
            Some(_) => Ok(()),
            None => Err(ProofRequestError::UnknownCheckpoint(number)),
        }
    }

    /// How many heads the log held at checkpoint `number`.
    fn log_size_at(&self, number: u64) -> usize {
        self.logged.partition_point(|l| l.checkpoint <= number)
    }

    fn heads_map_at(&self, number: u64) -> BTreeMap<Uuid, Head> {
        self.logged[..self.log_size_at(number)]
            .iter()
            .map(|l| (l.head.project_id, l.head))
            .collect()
    }

    fn heads_leaf_hashes(&self, heads: &BTreeMap<Uuid, Head>) -> Vec<Digest> {
        heads.values().map(Head::leaf_hash).collect()
    }
}

/// Why a stored log cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("checkpoint {expected} is missing (the next one stored is {found})")]
    Gap { expected: u64, found: u64 },
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("checkpoint {number} does not name the checkpoint before it as its previous one")]
    BrokenLink { number: u64 },
    #[error("checkpoint {checkpoint} logs one project twice")]
    DuplicateLeaf { checkpoint: u64, project_id: Uuid },
    #[error("a logged head names checkpoint {checkpoint}, which was never made")]
    LeafOutsideCheckpoints { checkpoint: u64 },
    #[error(
        "the stored heads do not rebuild checkpoint {number}'s {tree} tree: \
         they were altered, removed or added since it was signed"
    )]
    TreeMismatch { number: u64, tree: Tree },
}

/// Why the signer will not make the next checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointRefusal {
    #[error("project {0} is given twice")]
    DuplicateProject(Uuid),
    #[error(
        "{count} no longer {hold} what checkpoint {since} recorded, the first: {first}",
        count = crate::words::count(.regressions.len(), "project", "projects"),
        hold = crate::words::agrees(.regressions.len(), "holds", "hold"),
        first = .regressions.first().map(ToString::to_string).unwrap_or_default()
    )]
    Regressed {
        since: u64,
        regressions: Vec<Regression>,
    },
    #[error("made at {made_at}, before the previous checkpoint ({previous})")]
    MadeBeforePrevious {
        previous: DateTime<Utc>,
        made_at: DateTime<Utc>,
    },
}

/// A project whose current head cannot follow the one last checkpointed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Regression {
    #[error(
        "project {} is gone; it was checkpointed at entry {}",
        .checkpointed.project_id, .checkpointed.sequence
    )]
    Missing { checkpointed: Head },
    #[error(
        "project {} ends at entry {}, before the checkpointed entry {}",
        .checkpointed.project_id, .now.sequence, .checkpointed.sequence
    )]
    Behind { checkpointed: Head, now: Head },
    #[error(
        "project {}'s entry {} has digest {}, not the checkpointed {}",
        .checkpointed.project_id, .checkpointed.sequence, .now.digest, .checkpointed.digest
    )]
    Rewritten { checkpointed: Head, now: Head },
}

/// Why a proof cannot be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofRequestError {
    #[error("there is no checkpoint {0}")]
    UnknownCheckpoint(u64),
    #[error("project {project_id} is not in checkpoint {number}")]
    ProjectNotInCheckpoint { project_id: Uuid, number: u64 },
    #[error("project {project_id}'s entry {sequence} was not logged by checkpoint {number}")]
    HeadNotLogged {
        project_id: Uuid,
        sequence: u64,
        number: u64,
    },
    #[error("checkpoint {from} comes after checkpoint {to}")]
    OutOfOrder { from: u64, to: u64 },
    #[error(transparent)]
    Proof(#[from] ProofError),
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Signature {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9a-f]{128}$"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Signature {}
