//! A project's audit trail as its readers see it, and the check of its chain and seals. The
//! entries' format (also that of exports) is [`crate::trail`].

use coprod_domain::digest::{verify_chain, ChainCheck};
use coprod_domain::seal::SealCheck;
use coprod_domain::StoredEntry;
use uuid::Uuid;

use super::{AppError, AppState};
use crate::trail::{add_personal_data, trail, TrailEntry};

/// The whole trail of `entries` (one project's, in order), with each personal field shown as a
/// reader allowed to see personal data sees it: decrypted, or erased.
pub async fn readable_trail(
    state: &AppState,
    project_id: Uuid,
    entries: &[StoredEntry],
) -> Result<Vec<TrailEntry>, AppError> {
    let mut trail = trail(entries);
    let opened = state.store.opened(project_id, entries).await?;
    add_personal_data(&mut trail, &opened);
    Ok(trail)
}

/// The chain of `entries` recomputed, and every sealed assessment among them replayed.
pub async fn check_trail(
    state: &AppState,
    project_id: Uuid,
    entries: &[StoredEntry],
) -> Result<(ChainCheck, Vec<SealCheck>), AppError> {
    let seals = state.store.check_seals(project_id, entries).await?;
    Ok((verify_chain(entries), seals))
}
