//! What this process keeps per project between commands: the lock that serialises them, the
//! project as the last command left it (so that the next reads only the stream's tail), and the
//! decoded entries its view is computed from (so that refreshing the view reads only new ones).
//! Both are bounded: idle projects are forgotten beyond [`MAX_CACHED_PROJECTS`], kept entries
//! beyond [`MAX_CACHED_EVENTS`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use coprod_domain::{Project, RecordedEvent};
use uuid::Uuid;

use super::chain::ChainHead;
use super::group::{CommitState, PendingCommit};
use super::Store;

/// Projects whose state this process keeps between commands (idle ones are forgotten beyond).
const MAX_CACHED_PROJECTS: usize = 1024;
/// Decoded entries all slots together keep, at most.
pub(super) const MAX_CACHED_EVENTS: usize = 200_000;

/// What this process keeps per project: the lock that serialises its commands, with the project
/// as of the last command here (an in-memory snapshot; see `append::attempt`); and, under a lock of
/// its own (so that refreshing the view never holds up the next command), the decoded entries
/// the view is computed from.
#[derive(Default)]
pub(super) struct ProjectSlot {
    pub(super) command: tokio::sync::Mutex<Slot>,
    pub(super) view: tokio::sync::Mutex<ViewSlot>,
    /// Another process announced an append to the project (`others.rs`): the next command
    /// reads the stream's tail before deciding.
    pub(super) stale: AtomicBool,
}

#[derive(Default)]
pub(super) struct Slot {
    pub(super) cached: Option<CachedProject>,
    /// The commit of the last entries handed over for this project, until known committed: the
    /// cached project includes them, so it is the stream's only if they commit.
    pub(super) pending: Option<Arc<PendingCommit>>,
}

/// A project built by applying its entries `1..=head.sequence` once each, and the chain head
/// after the last of them.
pub(super) struct CachedProject {
    pub(super) project: Project,
    pub(super) head: ChainHead,
}

impl Default for CachedProject {
    fn default() -> Self {
        CachedProject {
            project: Project::default(),
            head: ChainHead::before_first(),
        }
    }
}

#[derive(Default)]
pub(super) struct ViewSlot {
    /// Entries 1..=len of the stream, or empty when not kept.
    pub(super) events: Vec<RecordedEvent>,
}

impl Store {
    pub(super) fn slot(&self, project_id: Uuid) -> Arc<ProjectSlot> {
        let mut slots = self.inner.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() >= MAX_CACHED_PROJECTS && !slots.contains_key(&project_id) {
            // Forget every project with no command in flight (held only by the map).
            let cached_events = &self.inner.cached_events;
            slots.retain(|_, slot| {
                if Arc::strong_count(slot) > 1 {
                    return true;
                }
                if let Ok(view) = slot.view.try_lock() {
                    cached_events.fetch_sub(view.events.len(), Ordering::Relaxed);
                }
                false
            });
        }
        slots.entry(project_id).or_default().clone()
    }

    /// The slot of a project this process keeps, if it does (without making one).
    pub(super) fn kept_slot(&self, project_id: Uuid) -> Option<Arc<ProjectSlot>> {
        let slots = self.inner.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.get(&project_id).cloned()
    }

    /// The project as this process keeps it between commands (the in-memory snapshot that
    /// [`Store::execute`] brings up to date from the tail of the stream), with the sequence it
    /// was built up to; `None` when nothing is kept. It must always equal a fresh fold of the
    /// stored entries `1..=sequence`: tests check that each entry is applied exactly once.
    pub async fn cached_project(&self, project_id: Uuid) -> Option<(Project, u64)> {
        let slot = self.kept_slot(project_id)?;
        let mut slot = slot.command.lock().await;
        if let Some(pending) = slot.pending.take() {
            if pending.settled().await != CommitState::Committed {
                slot.cached = None;
            }
        }
        slot.cached
            .as_ref()
            .map(|cached| (cached.project.clone(), cached.head.sequence))
    }

    /// Keeps the entries this process has just appended with the project's view slot, when they
    /// follow what it keeps, so that refreshing the view need not read them back. Skipped while
    /// the refresher holds the slot: it then reads them from the database.
    pub(super) fn keep_for_view(&self, slot: &ProjectSlot, appended: Vec<RecordedEvent>) {
        let Ok(mut view) = slot.view.try_lock() else {
            return;
        };
        let follows = appended
            .first()
            .is_some_and(|first| first.sequence == view.events.len() as u64 + 1);
        if follows {
            self.inner
                .cached_events
                .fetch_add(appended.len(), Ordering::Relaxed);
            view.events.extend(appended);
        }
    }
}
