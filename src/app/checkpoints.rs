//! Signed checkpoints as their readers ask for them (docs/checkpoints.md): the list with the
//! public key, one checkpoint, a project's head proved in one, and the proof that a later
//! checkpoint's log extends an earlier one's.
//!
//! Who may ask: checkpoints themselves are made to be published (they hold only tree sizes and
//! roots), so assurance, panel and admin may read them and the consistency proofs between them.
//! A project's head proof names that project's head, like its audit trail's verification, so it
//! is for assurance and admin, and only of a project the caller may see.

use coprod_domain::checkpoint::{
    CheckpointLog, ConsistencyProof, InclusionProof, ProofRequestError, SignedCheckpoint,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::{visible_project, AppError, AppState, Caller};
use crate::store::{AccessRole, CheckpointError};

/// Roles that read checkpoints and the consistency proofs between them.
pub const CHECKPOINT_READERS: &[AccessRole] =
    &[AccessRole::Assurance, AccessRole::Panel, AccessRole::Admin];
/// Roles that read a project's head proof.
pub const PROOF_READERS: &[AccessRole] = &[AccessRole::Assurance, AccessRole::Admin];

/// Checkpoints listed in one answer unless asked otherwise, and at most.
pub const DEFAULT_PAGE: u64 = 100;
pub const MAX_PAGE: u64 = 1000;

/// A checkpoint with the proof of one project's head in it: what an auditor keeps beside an
/// exported trail and gives `coprod verify --file … --checkpoint …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointBundle {
    pub checkpoint: SignedCheckpoint,
    /// The proof of the project's head in the checkpoint's heads tree.
    pub proof: InclusionProof,
}

/// A page of the checkpoints, oldest first, with the key that checks them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckpointList {
    /// The Ed25519 public key, 64 hexadecimal digits. Take it from somewhere you trust (the
    /// council's website, a letter): one served beside the checkpoints proves nothing alone.
    pub public_key: String,
    /// SHA-256 of the public key's bytes, as each checkpoint names it.
    pub key_id: String,
    /// The latest checkpoint's number (none before the first).
    pub latest: Option<u64>,
    pub checkpoints: Vec<SignedCheckpoint>,
    /// Ask again with `after` set to this for the next page; none on the last.
    pub next_after: Option<u64>,
}

/// Why a checkpoint question has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointQueryError {
    /// The caller may not ask, the project is not theirs to see, or the store failed.
    App(AppError),
    /// There is no such checkpoint, none yet, or the project is not in it.
    NotFound(String),
    /// The server has no checkpoint key.
    Off,
    /// The stored checkpoints do not verify with the server's key.
    Untrusted(String),
    /// `from` comes after `to`.
    OutOfOrder { from: u64, to: u64 },
}

impl From<AppError> for CheckpointQueryError {
    fn from(error: AppError) -> Self {
        CheckpointQueryError::App(error)
    }
}

impl CheckpointQueryError {
    fn from_log(error: CheckpointError) -> Self {
        match error {
            CheckpointError::Off => CheckpointQueryError::Off,
            CheckpointError::Store(error) => CheckpointQueryError::App(error.into()),
            other => CheckpointQueryError::Untrusted(other.to_string()),
        }
    }

    fn from_request(error: ProofRequestError, log: &CheckpointLog) -> Self {
        match error {
            ProofRequestError::UnknownCheckpoint(number) => unknown(number, log),
            ProofRequestError::OutOfOrder { from, to } => {
                CheckpointQueryError::OutOfOrder { from, to }
            }
            ProofRequestError::ProjectNotInCheckpoint { number, .. } => {
                CheckpointQueryError::NotFound(format!(
                    "Checkpoint {number} does not hold that project: it was registered after it."
                ))
            }
            other => CheckpointQueryError::App(AppError::internal("checkpoint proof", other)),
        }
    }
}

fn unknown(number: u64, log: &CheckpointLog) -> CheckpointQueryError {
    CheckpointQueryError::NotFound(match log.latest() {
        Some(latest) => format!(
            "There is no checkpoint {number}: they are numbered 1 to {}.",
            latest.checkpoint.number
        ),
        None => format!("There is no checkpoint {number}: none has been made yet."),
    })
}

async fn log(state: &AppState) -> Result<Arc<CheckpointLog>, CheckpointQueryError> {
    state
        .store
        .checkpoint_log()
        .await
        .map_err(CheckpointQueryError::from_log)
}

/// Up to `limit` checkpoints after number `after`, with the public key.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    after: u64,
    limit: u64,
) -> Result<CheckpointList, CheckpointQueryError> {
    caller.require(CHECKPOINT_READERS, "read checkpoints")?;
    let log = log(state).await?;
    let key = state
        .store
        .checkpoint_public_key()
        .ok_or(CheckpointQueryError::Off)?;
    let all = log.checkpoints();
    let start = usize::try_from(after).unwrap_or(usize::MAX).min(all.len());
    let end = start
        .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
        .min(all.len());
    Ok(CheckpointList {
        public_key: key.to_string(),
        key_id: key.key_id().to_string(),
        latest: log.latest().map(|l| l.checkpoint.number),
        checkpoints: all[start..end].to_vec(),
        next_after: (end < all.len()).then_some(end as u64),
    })
}

/// The latest checkpoint.
pub async fn latest(
    state: &AppState,
    caller: &Caller,
) -> Result<SignedCheckpoint, CheckpointQueryError> {
    caller.require(CHECKPOINT_READERS, "read checkpoints")?;
    let log = log(state).await?;
    log.latest()
        .cloned()
        .ok_or_else(|| CheckpointQueryError::NotFound("No checkpoint has been made yet.".into()))
}

/// Checkpoint `number`.
pub async fn by_number(
    state: &AppState,
    caller: &Caller,
    number: u64,
) -> Result<SignedCheckpoint, CheckpointQueryError> {
    caller.require(CHECKPOINT_READERS, "read checkpoints")?;
    let log = log(state).await?;
    log.checkpoint(number)
        .cloned()
        .ok_or_else(|| unknown(number, &log))
}

/// Checkpoint `number` with the proof of project `id`'s head in it.
pub async fn head_proof(
    state: &AppState,
    caller: &Caller,
    number: u64,
    id: &str,
) -> Result<CheckpointBundle, CheckpointQueryError> {
    caller.require(PROOF_READERS, "read a project's checkpoint proof")?;
    let project = visible_project(state, caller, id).await?;
    let log = log(state).await?;
    let checkpoint = log
        .checkpoint(number)
        .cloned()
        .ok_or_else(|| unknown(number, &log))?;
    let proof = log
        .head_proof(number, project.project_id)
        .map_err(|e| CheckpointQueryError::from_request(e, &log))?;
    Ok(CheckpointBundle { checkpoint, proof })
}

/// The proof that checkpoint `to`'s log extends checkpoint `from`'s.
pub async fn consistency(
    state: &AppState,
    caller: &Caller,
    from: u64,
    to: u64,
) -> Result<ConsistencyProof, CheckpointQueryError> {
    caller.require(CHECKPOINT_READERS, "read checkpoints")?;
    let log = log(state).await?;
    // An unknown `to` is the address's fault: name it before comparing the two.
    if log.checkpoint(to).is_none() {
        return Err(unknown(to, &log));
    }
    log.consistency_proof(from, to)
        .map_err(|e| CheckpointQueryError::from_request(e, &log))
}
