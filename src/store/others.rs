//! How a process learns of other processes' appends, so that it need not read a stream's tail
//! before every command. On PostgreSQL the committer announces the projects of each group once
//! it has committed (`NOTIFY coprod_appends`, see [`Announcer`]), and every process listens and
//! marks the projects it keeps as stale: their next command reads the tail first. An
//! announcement can come too late (or be lost: the process stopped right after its commit, or
//! the listening connection reconnected, after which every kept project is marked stale); then
//! the stale head is caught by the unique key of the entries, as on SQLite, which has no
//! announcements: the append fails as a conflict and is tried again after reading the tail. A
//! refusal decided on a kept head is checked against the stream's tail before it stands (see
//! `append.rs`). Announcements only spare the conflict's retry, which would re-read the whole
//! stream (a decided project cannot be taken back to its state before the decision).
//!
//! Why not `NOTIFY` inside each group's transaction: PostgreSQL serialises every transaction
//! that notifies, through its commit and the log's flush, on one lock for the whole cluster, so
//! the groups of several servers could never share a flush; and each group would wake every
//! listener.
//! The announcer sends one notifying statement at a time, gathering the groups that commit
//! meanwhile, and does not wait for the log's flush (`synchronous_commit` off for that
//! statement alone): an announcement lost in a crash is one that came too late.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{Inner, Store};

/// The channel appends are announced on.
pub(crate) const CHANNEL: &str = "coprod_appends";
/// Projects per announcement (PostgreSQL's payloads hold under 8,000 bytes).
const PROJECTS_PER_NOTICE: usize = 100;
/// The least time between two announcements of one process: under load each gathers the groups
/// committed meanwhile, so that announcing costs the database little whatever the rate of
/// commits (every announcement wakes every listener; at one every 2 ms the appends of a busy
/// server slowed measurably). An announcement after a quiet spell goes at once. Another process
/// deciding on a project within this window may lose its first try (see above).
const ANNOUNCE_GATHER: Duration = Duration::from_millis(20);

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

/// Announces the projects of committed groups to other processes (PostgreSQL): a task that sends
/// what has gathered, one statement at a time, and ends when the announcer is dropped.
pub(crate) struct Announcer {
    committed: mpsc::UnboundedSender<Vec<String>>,
}

impl Announcer {
    /// Starts announcing as `instance` on `pool` (its own appends are then ignored when they
    /// come back to its listener).
    pub(crate) fn start(pool: sqlx::PgPool, instance: Uuid) -> Announcer {
        let (committed, gathered) = mpsc::unbounded_channel();
        tokio::spawn(announce(pool, instance, gathered));
        Announcer { committed }
    }

    /// Announces, soon, that `projects` have new entries (already committed).
    pub(crate) fn committed(&self, projects: Vec<String>) {
        if !projects.is_empty() {
            // The task is gone only with the runtime: nobody is left to tell.
            let _ = self.committed.send(projects);
        }
    }
}

async fn announce(
    pool: sqlx::PgPool,
    instance: Uuid,
    mut gathered: mpsc::UnboundedReceiver<Vec<String>>,
) {
    let mut failing = false;
    while let Some(first) = gathered.recv().await {
        let mut projects = first;
        while let Ok(more) = gathered.try_recv() {
            projects.extend(more);
        }
        let notices = notices(instance, projects.iter().map(String::as_str));
        // The setting holds for this statement's own transaction only.
        let sent = sqlx::query(
            "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, n) \
             FROM UNNEST($2::text[]) AS n",
        )
        .bind(CHANNEL)
        .bind(notices)
        .execute(&pool)
        .await;
        match sent {
            Ok(_) => failing = false,
            // Logged once while it keeps failing: other processes find out by the unique key.
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "announcing appends to other processes");
            }
            Err(_) => {}
        }
        tokio::time::sleep(ANNOUNCE_GATHER).await;
    }
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
