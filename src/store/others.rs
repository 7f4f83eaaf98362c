//! How a process learns of other processes' appends, so that it need not read a stream's tail
//! before every command. On PostgreSQL each group's transaction announces the projects it
//! appended to (`NOTIFY coprod_appends`, delivered only if it commits), and every process listens
//! and marks the projects it keeps as stale: their next command reads the tail first. An
//! announcement can come too late (or be lost while the listening connection reconnects, after
//! which every kept project is marked stale); then the stale head is caught by the unique key of
//! the entries, as on SQLite, which has no announcements: the append fails as a conflict and is
//! tried again after reading the tail. Announcements only spare that retry, which would re-read
//! the whole stream (a decided project cannot be taken back to its state before the decision).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{Inner, Store};

/// The channel appends are announced on.
pub(crate) const CHANNEL: &str = "coprod_appends";
/// Projects per announcement (PostgreSQL's payloads hold under 8,000 bytes).
const PROJECTS_PER_NOTICE: usize = 100;

/// The announcements of one group: `instance project project …`, split to fit payloads.
pub(crate) fn notices<'a>(instance: Uuid, projects: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut projects: Vec<&str> = projects.collect();
    projects.sort_unstable();
    projects.dedup();
    projects
        .chunks(PROJECTS_PER_NOTICE)
        .map(|chunk| format!("{instance} {}", chunk.join(" ")))
        .collect()
}

impl Store {
    /// Starts listening for other processes' appends, once per store (PostgreSQL only).
    pub(super) fn listen_for_others(&self) {
        let super::db::Db::Postgres(pool) = &self.inner.db else {
            return;
        };
        if self.inner.listening.swap(true, Ordering::AcqRel) {
            return;
        }
        let (pool, inner) = (pool.clone(), Arc::downgrade(&self.inner));
        let (stop, stopped) = oneshot::channel::<()>();
        *self
            .inner
            .stop_listening
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(stop);
        // Ends when the store is dropped (the sender with it), giving its connection back.
        tokio::spawn(async move {
            tokio::select! {
                _ = stopped => {}
                _ = listen(pool, inner) => {}
            }
        });
    }
}

/// Marks every kept project stale: announcements may have been missed.
fn all_stale(inner: &Inner) {
    inner.others_appended.store(true, Ordering::Release);
    let slots = inner.slots.lock().unwrap_or_else(|e| e.into_inner());
    for slot in slots.values() {
        slot.stale.store(true, Ordering::Release);
    }
}

async fn listen(pool: sqlx::PgPool, inner: Weak<Inner>) {
    let mut listener = loop {
        let listening = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listening.await {
            Ok(listener) => break listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for other processes' appends yet");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        if inner.strong_count() == 0 {
            return;
        }
    };
    loop {
        let received = listener.try_recv().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        match received {
            Ok(Some(notice)) => {
                let mut words = notice.payload().split(' ');
                if words.next() == Some(inner.instance.to_string().as_str()) {
                    continue;
                }
                inner.others_appended.store(true, Ordering::Release);
                let slots = inner.slots.lock().unwrap_or_else(|e| e.into_inner());
                for project in words.filter_map(|w| w.parse::<Uuid>().ok()) {
                    if let Some(slot) = slots.get(&project) {
                        slot.stale.store(true, Ordering::Release);
                    }
                }
            }
            Ok(None) => all_stale(&inner),
            Err(error) => {
                all_stale(&inner);
                tracing::warn!(%error, "listening for other processes' appends");
                drop(inner);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
