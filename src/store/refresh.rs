//! Keeping the views (`project_views`, `portfolio_projects`) up to date while the server runs:
//! the view refresher, which writes the views of this process's commits in the background, once
//! per project however many commits, and the catch-up reader, which applies whatever else was
//! committed since its checkpoint (other processes' entries, or views a refresh failed to
//! write). Readers of views in this process wait for the refresher first (`Store::settle`), so
//! they read their own writes. The SQL and the reader's ordering are in `projector.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::cache::{ProjectSlot, MAX_CACHED_EVENTS};
use super::projector::{projects_in, Checkpoint, ViewRow, CHECKPOINT};
use super::{Inner, Store, StoreError};

/// Rows the catch-up reader takes at a time.
const CATCH_UP_BATCH: i64 = 1000;
/// How long the view refresher gathers commits before it refreshes their projects' views (once
/// each, however many commits) and runs the catch-up reader, unless a reader of views is
/// waiting: a view scores its whole stream, so refreshing it on every append would make appends
/// slower as streams grow.
const REFRESH_INTERVAL: Duration = Duration::from_millis(100);
/// Under load the refresher gathers for longer: this many times as long as its last pass took
/// (scoring is CPU the appends need too, and its cost grows with the streams), so that it spends
/// about a tenth of its time refreshing; but never longer than [`MAX_REFRESH_INTERVAL`].
const REFRESH_GATHER_FACTOR: u32 = 10;
/// The longest the refresher gathers commits before it writes their views (a reader of views in
/// this process never waits for it: it asks for a pass at once).
const MAX_REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// How often, at most, the view refresher runs the catch-up reader while commits keep coming,
/// unless another process announced appends or a refresh failed (once they pause, it runs at
/// once). This process's own commits
/// are the refresher's; the reader is for everything else, and readers of views run it
/// themselves before they read. Running it on every refresh would re-read, each time, the
/// entries of projects whose views the refresher is about to write (the checkpoint cannot pass
/// them until it has).
const CATCH_UP_INTERVAL: Duration = Duration::from_secs(1);

/// What the view refresher has to do: the projects with new commits, the read guards of those
/// commits, and whether a refresher task is running.
#[derive(Default)]
pub(super) struct Dirty {
    /// Each project's slot, and the newest entry this process committed to it.
    projects: HashMap<Uuid, (Arc<ProjectSlot>, u64)>,
    guards: Vec<tokio::sync::OwnedRwLockReadGuard<()>>,
    refresher_running: bool,
}

/// Should the refresher's task panic, lets the next commit start another and releases the
/// readers waiting for the commits it had gathered (their views are left to the catch-up reader).
struct RefresherExit(Arc<Inner>);

impl Drop for RefresherExit {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut dirty = self.0.dirty.lock().unwrap_or_else(|e| e.into_inner());
            dirty.refresher_running = false;
            dirty.projects.clear();
            dirty.guards.clear();
        }
    }
}

impl Store {
    /// Leaves the view of a commit to `project_id` (up to entry `committed`) to the view
    /// refresher, starting one if none runs. Once this returns, this process's readers of views
    /// wait for that view.
    pub(super) async fn refresh_after_commit(
        &self,
        project_id: Uuid,
        slot: Arc<ProjectSlot>,
        committed: u64,
    ) {
        // Taken before answering, so that a reader who saw the answer also waits for this.
        let refreshing = self.inner.refreshing.clone().read_owned().await;
        let start_refresher = {
            let mut dirty = self.inner.dirty.lock().unwrap_or_else(|e| e.into_inner());
            let up_to = dirty.projects.entry(project_id).or_insert((slot, 0));
            up_to.1 = up_to.1.max(committed);
            dirty.guards.push(refreshing);
            !std::mem::replace(&mut dirty.refresher_running, true)
        };
        if start_refresher {
            tokio::spawn(self.clone().refresher());
        }
    }

    /// Waits until the views of every command this process has answered are written.
    pub(super) async fn settle(&self) {
        self.inner.flush.notify_one();
        drop(self.inner.refreshing.write().await);
    }

    /// The view refresher: while commits keep coming, gathers them for [`REFRESH_INTERVAL`], or
    /// longer under load (see [`REFRESH_GATHER_FACTOR`]), or until a reader waits; writes the
    /// views of their projects in one transaction, runs the catch-up reader when it is due (see
    /// [`CATCH_UP_INTERVAL`]), and lets the readers waiting for those commits go on.
    async fn refresher(self) {
        let _exit = RefresherExit(self.inner.clone());
        let mut caught_up = tokio::time::Instant::now();
        let mut gather = REFRESH_INTERVAL;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(gather) => {}
                _ = self.inner.flush.notified() => {}
            }
            let pass_began = tokio::time::Instant::now();
            // Once the guards run out, the previous pass found the appends paused and caught up.
            let (projects, guards) = {
                let mut dirty = self.inner.dirty.lock().unwrap_or_else(|e| e.into_inner());
                if dirty.guards.is_empty() {
                    dirty.refresher_running = false;
                    return;
                }
                (
                    std::mem::take(&mut dirty.projects),
                    std::mem::take(&mut dirty.guards),
                )
            };
            let mut failed = false;
            let mut views = Vec::new();
            for (project_id, (slot, committed)) in projects {
                match self
                    .refreshed_view(&project_id.to_string(), &slot, committed)
                    .await
                {
                    Ok(view) => views.extend(view),
                    Err(error) => {
                        failed = true;
                        tracing::warn!(%project_id, %error, "view refresh after a commit failed")
                    }
                }
            }
            if let Err(error) = self.write_views(&views, None, false).await {
                failed = true;
                tracing::warn!(%error, "writing views after commits failed; catch-up repairs them");
            }
            let others_appended = self.inner.others_appended.swap(false, Ordering::AcqRel);
            // No commit came meanwhile: the appends have paused, catch up now (before the
            // readers waiting for these commits go on), as when each commit was alone.
            let paused = self
                .inner
                .dirty
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .guards
                .is_empty();
            if failed || others_appended || paused || caught_up.elapsed() >= CATCH_UP_INTERVAL {
                self.after_commit().await;
                caught_up = tokio::time::Instant::now();
            }
            drop(guards);
            gather = (pass_began.elapsed() * REFRESH_GATHER_FACTOR)
                .clamp(REFRESH_INTERVAL, MAX_REFRESH_INTERVAL);
        }
    }

    /// If the view refresher has commits of `project_id` still to refresh, raises the entry it
    /// must reach to `sequence` (so that it reads the entries other processes appended too) and
    /// returns true.
    fn defer_to_refresher(&self, project_id: Uuid, sequence: i64) -> bool {
        let mut dirty = self.inner.dirty.lock().unwrap_or_else(|e| e.into_inner());
        let Some((_, up_to)) = dirty.projects.get_mut(&project_id) else {
            return false;
        };
        *up_to = (*up_to).max(sequence.max(0) as u64);
        true
    }

    /// The project's view as of entry `committed` at least (even while another transaction
    /// holds the catch-up reader back, so that a client reads its own write), from the entries
    /// the slot keeps plus, unless they reach `committed` already, the stream's tail after them;
    /// reading the whole stream only when the slot has not kept it. Entries other processes
    /// append later are the catch-up reader's.
    async fn refreshed_view(
        &self,
        aggregate_id: &str,
        slot: &ProjectSlot,
        committed: u64,
    ) -> Result<Option<ViewRow>, StoreError> {
        let mut slot = slot.view.lock().await;
        let kept = slot.events.len();
        let tail = if kept as u64 >= committed {
            Vec::new()
        } else {
            self.inner
                .db
                .recorded_events(aggregate_id, kept as u64)
                .await?
        };
        if kept > 0
            && tail
                .first()
                .is_some_and(|entry| entry.sequence != kept as u64 + 1)
        {
            return Err(StoreError::Internal(format!(
                "project {aggregate_id}: entry {} follows entry {kept}",
                tail[0].sequence
            )));
        }
        slot.events.extend(tail);
        // Opens only what was just added, and forgets everything an erasure among them names.
        self.inner.keys.open(aggregate_id, &mut slot.events).await?;
        let budget = &self.inner.cached_events;
        let now_kept = slot.events.len();
        let total = budget.fetch_add(now_kept - kept, Ordering::Relaxed) + (now_kept - kept);
        // Scoring a long stream takes milliseconds of CPU: off the async workers, so that the
        // appends and requests they serve meanwhile are not held up behind it.
        let (id, events) = (aggregate_id.to_string(), std::mem::take(&mut slot.events));
        let computed =
            tokio::task::spawn_blocking(move || (ViewRow::from_events(&id, &events), events)).await;
        let Ok((view, events)) = computed else {
            // The entries went with the failed task: the next refresh reads the stream again.
            budget.fetch_sub(now_kept, Ordering::Relaxed);
            return Err(StoreError::Internal("computing a view failed".into()));
        };
        slot.events = events;
        if total > MAX_CACHED_EVENTS {
            budget.fetch_sub(slot.events.len(), Ordering::Relaxed);
            slot.events = Vec::new();
        }
        Ok(view)
    }

    /// Applies the events committed since the checkpoint to the views; returns how many.
    pub async fn catch_up(&self) -> Result<u64, StoreError> {
        self.settle().await;
        let _guard = self.inner.projector.lock().await;
        self.inner.catch_up_pending.store(false, Ordering::SeqCst);
        let mut applied = self.catch_up_locked().await?;
        // The view refresher asked for a pass while this ran (see after_commit).
        while self.inner.catch_up_pending.swap(false, Ordering::SeqCst) {
            applied += self.catch_up_locked().await?;
        }
        Ok(applied)
    }

    /// After the view refresher wrote views: runs the catch-up reader, unless one is already
    /// running in this process, in which case that one makes one more pass for us. Errors are
    /// logged: the log is the truth, and the next catch-up repairs any view.
    async fn after_commit(&self) {
        self.inner.catch_up_pending.store(true, Ordering::SeqCst);
        loop {
            let Ok(guard) = self.inner.projector.try_lock() else {
                return;
            };
            while self.inner.catch_up_pending.swap(false, Ordering::SeqCst) {
                if let Err(error) = self.catch_up_locked().await {
                    tracing::warn!(%error, "view catch-up failed; the next one retries");
                }
            }
            drop(guard);
            if !self.inner.catch_up_pending.load(Ordering::SeqCst) {
                return;
            }
        }
    }

    /// The catch-up reader; the caller holds the projector lock.
    pub(super) async fn catch_up_locked(&self) -> Result<u64, StoreError> {
        let db = &self.inner.db;
        let mut applied = 0;
        loop {
            let checkpoint = db.checkpoint(CHECKPOINT).await?;
            let batch = db.events_after(checkpoint, CATCH_UP_BATCH).await?;
            if batch.is_empty() {
                break;
            }
            let touched = projects_in(&batch);
            let ids: Vec<&str> = touched.iter().map(|t| t.project_id.as_str()).collect();
            let current = db.view_sequences(&ids).await?;
            let mut views = Vec::new();
            // Projects left to the refresher, with the entry their view has reached.
            let mut deferred = BTreeMap::new();
            for touched in &touched {
                // A view already at (or past) these entries, written right after their commit,
                // is what recomputing would give.
                let viewed = current.get(&touched.project_id).copied();
                if viewed.is_some_and(|sequence| sequence >= touched.max_sequence) {
                    continue;
                }
                let id = touched.project_id.parse::<Uuid>().ok();
                // A project with commits of this process still to refresh is left to the view
                // refresher (which runs while any are waiting), told to reach these entries:
                // scoring it here too would score a long stream twice per refresh.
                if id.is_some_and(|id| self.defer_to_refresher(id, touched.max_sequence)) {
                    deferred.insert(touched.project_id.as_str(), viewed.unwrap_or(0));
                    continue;
                }
                // A project this process keeps entries of is brought up to date from them;
                // others are read whole.
                let kept = id.and_then(|id| self.kept_slot(id));
                let view = match kept {
                    Some(slot) => {
                        let up_to = touched.max_sequence.max(0) as u64;
                        self.refreshed_view(&touched.project_id, &slot, up_to)
                            .await?
                    }
                    None => self.view_row(&touched.project_id).await?,
                };
                views.extend(view);
            }
            // The checkpoint stops before the first entry a deferred view has not reached, so
            // that a crash before the refresher writes it leaves that entry to the next catch-up
            // (at start, at the latest); this pass ends there.
            let done = batch
                .iter()
                .take_while(|row| {
                    deferred
                        .get(row.project_id.as_str())
                        .is_none_or(|viewed| row.sequence <= *viewed)
                })
                .count();
            let checkpoint = done.checked_sub(1).map(|i| batch[i].checkpoint);
            self.write_views(&views, checkpoint, false).await?;
            applied += done as u64;
            if done < batch.len() || (batch.len() as i64) < CATCH_UP_BATCH {
                break;
            }
        }
        Ok(applied)
    }

    /// A project's view computed from its whole stream, read afresh.
    pub(super) async fn view_row(&self, project_id: &str) -> Result<Option<ViewRow>, StoreError> {
        let mut events = self.inner.db.recorded_events(project_id, 0).await?;
        self.inner.keys.open(project_id, &mut events).await?;
        Ok(ViewRow::from_events(project_id, &events))
    }

    /// Writes `views` and moves the catch-up checkpoint to `checkpoint` (if given) in one
    /// transaction, with the store's clock as their `updated_at`; with `replace`, every view and
    /// the checkpoint are dropped first (see `Db::write_views`).
    pub(super) async fn write_views(
        &self,
        views: &[ViewRow],
        checkpoint: Option<Checkpoint>,
        replace: bool,
    ) -> Result<(), StoreError> {
        let now = self.inner.clock.now();
        self.inner
            .db
            .write_views(CHECKPOINT, views, checkpoint, replace, now)
            .await
    }
}
