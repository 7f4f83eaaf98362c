//! `coprod rebuild`: every view dropped and computed again from the log, several projects at a
//! time, while the old views stay readable until the new ones replace them in one transaction.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::projector::{Checkpoint, TouchedProjects};
use super::{Store, StoreError};

/// How long a rebuild waits for rows committed before it began to pass the high-water mark.
const REBUILD_WAIT: Duration = Duration::from_secs(30);
/// Rows a rebuild reads at a time.
const REBUILD_BATCH: i64 = 10_000;
/// Projects a rebuild works on at once, per core.
const REBUILD_TASKS_PER_CORE: usize = 2;

impl Store {
    /// Drops every view and the checkpoint and rebuilds them by replaying the log in commit
    /// order; `progress(done, total)` is called as events are applied. The old views stay
    /// readable until the new ones replace them in one transaction. Returns how many events
    /// were applied.
    pub async fn rebuild_views(
        &self,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<u64, StoreError> {
        let _guard = self.inner.projector.lock().await;
        let db = &self.inner.db;
        let total = db.event_count().await?;
        progress(0, total);
        let mut checkpoint = Checkpoint::default();
        let mut touched = TouchedProjects::default();
        // Rows committed before the rebuild began can still sit above the high-water mark while
        // some other transaction on the server is open: wait for them (a while), never skip them.
        let deadline = tokio::time::Instant::now() + REBUILD_WAIT;
        loop {
            let batch = db.events_after(checkpoint, REBUILD_BATCH).await?;
            if let Some(last) = batch.last().map(|row| row.checkpoint) {
                checkpoint = last;
                touched.add(&batch);
                if (batch.len() as i64) == REBUILD_BATCH {
                    continue;
                }
            }
            if touched.rows() >= total || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let applied = touched.rows();
        let total = total.max(applied);
        // Projects are rebuilt several at a time, so that one's reading overlaps another's
        // decoding and scoring, on every core.
        let mut views = Vec::new();
        let mut done = 0;
        let mut waiting = touched.into_vec().into_iter();
        let mut running = tokio::task::JoinSet::new();
        let tasks = std::thread::available_parallelism().map_or(1, |cores| cores.get())
            * REBUILD_TASKS_PER_CORE;
        loop {
            while running.len() < tasks {
                let Some(project) = waiting.next() else {
                    break;
                };
                let store = self.clone();
                running.spawn(async move {
                    let view = store.view_row(&project.project_id).await;
                    (project.rows, view)
                });
            }
            let Some(finished) = running.join_next().await else {
                break;
            };
            let (rows, view) = finished
                .map_err(|e| StoreError::Internal(format!("rebuilding a view failed: {e}")))?;
            views.extend(view?);
            done += rows;
            progress(done, total);
        }
        // The same views in the same order, however the tasks finished.
        views.sort_by(|a, b| a.project_id.cmp(&b.project_id));
        self.write_views(&views, Some(checkpoint), true).await?;
        // Views of commits that finished meanwhile were dropped with the rest: one more pass
        // brings them back (and any pass the view refresher asked for meanwhile, see after_commit).
        self.inner.catch_up_pending.store(false, Ordering::SeqCst);
        self.catch_up_locked().await?;
        while self.inner.catch_up_pending.swap(false, Ordering::SeqCst) {
            self.catch_up_locked().await?;
        }
        Ok(applied)
    }
}
