//! Coprod's storage: the event store (cqrs-es 0.5.0 over postgres-es or sqlite-es, which read
//! the streams; appends go through [`ChainedRepository`], which writes the hash chain and stores
//! each commit with its new data keys), the project views and their catch-up reader, API tokens
//! and idempotency records.
//!
//! [`Store`] is cheap to clone and safe to share between tasks.

mod access;
mod assess;
mod chain;
mod crypto;
pub(crate) mod db;
mod error;
mod keys;
mod portfolio;
mod projector;
pub mod views;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use coprod_domain::digest::{
    verify_chain, ChainCheck, DIGEST_KEY, RECORDED_AT_KEY, RECORDED_BY_KEY,
};
use coprod_domain::recorded::{format_instant, parse_instant};
use coprod_domain::{
    Digest, Fact, Project, ProjectCommand, ProjectError, ProjectEvent, RecordedEvent, StoredEntry,
};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{
    EventStoreAggregateContext, PersistedEventRepository, PersistedEventStore, SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use postgres_es::PostgresEventRepository;
use rand::Rng;
use serde_json::Value;
use sqlite_es::SqliteEventRepository;
use uuid::Uuid;

pub use access::{
    token_hash, Claim, ClaimTicket, IdempotentRecord, Principal, Role, UnknownRole, TOKEN_PREFIX,
};
pub use assess::{AssessmentError, ProjectAt};
pub use chain::ChainedRepository;
pub use crypto::{KeyError, MasterKey};
pub use error::{ExecuteError, StoreError};
pub use keys::MasterKeyRefused;
pub use portfolio::PortfolioProject;
#[doc(hidden)]
pub use projector::{EVENTS_AFTER_POSTGRES, EVENTS_AFTER_SQLITE};

use db::Db;
use keys::Keys;
use projector::{projects_in, Checkpoint, TouchedProjects, ViewRow, CHECKPOINT};

/// How many times a command is tried again after losing the race for the next sequence.
const CONFLICT_RETRIES: u32 = 5;
/// Rows the catch-up reader takes at a time.
const CATCH_UP_BATCH: i64 = 1000;
/// Projects whose state this process keeps between commands (idle ones are forgotten beyond).
const MAX_CACHED_PROJECTS: usize = 1024;
/// Decoded entries all slots together keep, at most.
const MAX_CACHED_EVENTS: usize = 200_000;
/// How long a claimed idempotency key may stay unanswered before a retry takes it over. Taking
/// over is always safe (the answer is kept in the transaction that appends, and only while the
/// claim is still the request's own), so this only bounds how long a retry waits after the
/// first request's process died.
const STALE_CLAIM: chrono::TimeDelta = chrono::TimeDelta::seconds(5);
/// How long a rebuild waits for rows committed before it began to pass the high-water mark.
const REBUILD_WAIT: Duration = Duration::from_secs(30);
/// Rows a rebuild reads at a time.
const REBUILD_BATCH: i64 = 10_000;
/// Projects a rebuild works on at once, per core.
const REBUILD_TASKS_PER_CORE: usize = 2;
/// How long the view refresher gathers commits before it refreshes their projects' views (once
/// each, however many commits) and runs the catch-up reader, unless a reader of views is
/// waiting: a view scores its whole stream, so refreshing it on every append would make appends
/// slower as streams grow.
const REFRESH_INTERVAL: Duration = Duration::from_millis(100);

/// How long a token, once found, is taken as valid without asking the database again. Tokens
/// cannot be revoked yet; when they can, a revocation takes this long to reach every server.
const TOKEN_TTL: Duration = Duration::from_secs(60);
const MAX_CACHED_TOKENS: u64 = 10_000;
const MAX_CACHED_ORGANISATIONS: u64 = 100_000;

/// What the server returns for every accepted command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub project_id: Uuid,
    pub first_sequence: u64,
    pub last_sequence: u64,
    /// The chain head after the last appended entry, as stored.
    pub digest: Digest,
    /// When the last entry was recorded, as stored (`YYYY-MM-DDTHH:MM:SS.ffffffZ`).
    pub recorded_at: String,
}

impl Receipt {
    /// The receipt of entries `first_sequence..=last.sequence` of `project_id`.
    pub(crate) fn new(project_id: Uuid, first_sequence: u64, last: &ChainHead) -> Receipt {
        Receipt {
            project_id,
            first_sequence,
            last_sequence: last.sequence,
            digest: last.digest,
            recorded_at: last.recorded_at.map(format_instant).unwrap_or_default(),
        }
    }
}

/// Builds the answer to an idempotent request from its receipt.
type Render = dyn Fn(&Receipt) -> String + Send + Sync;

/// The answer to keep for an idempotency key in the transaction that appends the request's
/// events (see [`Store::execute_answering`]); read by [`ChainedRepository`]'s `persist`.
#[derive(Clone)]
pub(crate) struct AnswerAtCommit {
    pub(crate) ticket: ClaimTicket,
    pub(crate) status: u16,
    pub(crate) render: Arc<Render>,
    /// The body kept, once the transaction has committed.
    pub(crate) kept: Arc<SyncMutex<Option<String>>>,
}

tokio::task_local! {
    /// The idempotency claim the request running in this task holds ([`Store::holding_claim`]).
    static HELD_CLAIM: ClaimTicket;
    /// What the append of the command running in this task must answer in its transaction.
    pub(crate) static ANSWER_AT_COMMIT: AnswerAtCommit;
    /// The chain head the command running in this task was decided on, and the one it appended.
    pub(crate) static CHAIN_AT_COMMIT: ChainAtCommit;
}

/// The chain head after one entry of a stream: what the next entry is chained to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainHead {
    pub(crate) sequence: u64,
    pub(crate) digest: Digest,
    /// When the entry was recorded (none before the first entry).
    pub(crate) recorded_at: Option<DateTime<Utc>>,
}

impl ChainHead {
    pub(crate) fn before_first() -> ChainHead {
        ChainHead {
            sequence: 0,
            digest: Digest::ZERO,
            recorded_at: None,
        }
    }

    /// The head after entry `sequence`, from its stored metadata; `None` without a digest.
    pub(crate) fn after(sequence: u64, metadata: &BTreeMap<String, String>) -> Option<ChainHead> {
        Some(ChainHead {
            sequence,
            digest: metadata.get(DIGEST_KEY)?.parse().ok()?,
            recorded_at: metadata.get(RECORDED_AT_KEY).and_then(|t| parse_instant(t)),
        })
    }

    /// The head after a stored entry as cqrs-es reads it.
    fn after_serialized(entry: &SerializedEvent) -> Option<ChainHead> {
        let field = |key: &str| entry.metadata.get(key).and_then(Value::as_str);
        Some(ChainHead {
            sequence: entry.sequence as u64,
            digest: field(DIGEST_KEY)?.parse().ok()?,
            recorded_at: field(RECORDED_AT_KEY).and_then(parse_instant),
        })
    }
}

/// Shared between a command's attempt and [`ChainedRepository`]'s `persist`: the head the
/// attempt's project was built up to (so that chaining the next entry need not read it back),
/// and the head after each entry appended (so that neither the receipt nor the view need read
/// them back).
#[derive(Clone)]
pub(crate) struct ChainAtCommit {
    pub(crate) known: ChainHead,
    /// People joining for the first time, who have no data key yet (see [`attempt`]).
    pub(crate) first_joining: BTreeSet<String>,
    pub(crate) appended: Arc<SyncMutex<Vec<ChainHead>>>,
}

/// The newest entry of a registered project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectHead {
    pub project_id: Uuid,
    pub organisation: String,
    pub sequence: u64,
    pub digest: Digest,
    pub recorded_at: String,
}

type PostgresEvents = PersistedEventStore<ChainedRepository<PostgresEventRepository>, Project>;
type SqliteEvents = PersistedEventStore<ChainedRepository<SqliteEventRepository>, Project>;

/// The cqrs-es event store (appends) and a repository of the same kind for reading tails.
enum Events {
    Postgres(PostgresEvents, ChainedRepository<PostgresEventRepository>),
    Sqlite(SqliteEvents, ChainedRepository<SqliteEventRepository>),
}

/// What this process keeps per project: the lock that serialises its commands, with the project
/// as of the last command here (an in-memory snapshot; see [`attempt`]); and, under a lock of
/// its own (so that refreshing the view never holds up the next command), the decoded entries
/// the view is computed from.
#[derive(Default)]
struct ProjectSlot {
    command: tokio::sync::Mutex<Slot>,
    view: tokio::sync::Mutex<ViewSlot>,
}

#[derive(Default)]
struct Slot {
    cached: Option<CachedProject>,
}

/// A project built by applying its entries `1..=head.sequence` once each, and the chain head
/// after the last of them.
struct CachedProject {
    project: Project,
    head: ChainHead,
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
struct ViewSlot {
    /// Entries 1..=len of the stream, or empty when not kept.
    events: Vec<RecordedEvent>,
}

struct Inner {
    db: Db,
    /// Participants' data keys, and the master key once given.
    keys: Keys,
    events: Events,
    /// One slot (guarding the cached project) per recently used project.
    slots: SyncMutex<HashMap<Uuid, Arc<ProjectSlot>>>,
    /// Each commit takes a read guard before it answers, and the view refresher drops it once
    /// the commit's view is written; readers of views take the write lock once, and so see the
    /// views of every command this process has answered (see [`Store::settle`]).
    refreshing: Arc<tokio::sync::RwLock<()>>,
    /// Commits whose views the refresher has still to write.
    dirty: SyncMutex<Dirty>,
    /// Tells the refresher that a reader waits: refresh now.
    flush: tokio::sync::Notify,
    /// One catch-up reader at a time in this process.
    projector: tokio::sync::Mutex<()>,
    /// How many times a command was tried again after losing a race (for metrics and tests).
    conflict_retries: AtomicU64,
    /// A commit asked for a catch-up pass while one was running.
    catch_up_pending: AtomicBool,
    /// How many decoded entries the slots keep in all (bounded by MAX_CACHED_EVENTS).
    cached_events: AtomicUsize,
    /// Who recently used tokens speak for, by token hash (see [`TOKEN_TTL`]).
    tokens: moka::sync::Cache<String, Principal>,
    /// Each registered project's organisation, which its registration fixes for good.
    organisations: moka::sync::Cache<Uuid, String>,
}

/// What the view refresher has to do: the projects with new commits, the read guards of those
/// commits, and whether a refresher task is running.
#[derive(Default)]
struct Dirty {
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

/// The storage layer. Clone it freely: clones share the pool and the per-project locks.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

impl Store {
    /// Opens a pool for `database_url` (`sqlite://PATH` — the file and its directory are created
    /// if missing — or `postgres://…`). Does not migrate.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        let db = Db::connect(database_url).await?;
        let keys = Keys::new(db.clone());
        let events = match &db {
            Db::Postgres(pool) => {
                let repo = || {
                    ChainedRepository::new(
                        PostgresEventRepository::new(pool.clone()),
                        db.clone(),
                        keys.clone(),
                    )
                };
                Events::Postgres(PersistedEventStore::new_event_store(repo()), repo())
            }
            Db::Sqlite(pool) => {
                let repo = || {
                    ChainedRepository::new(
                        SqliteEventRepository::new(pool.clone()),
                        db.clone(),
                        keys.clone(),
                    )
                };
                Events::Sqlite(PersistedEventStore::new_event_store(repo()), repo())
            }
        };
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                keys,
                events,
                slots: SyncMutex::new(HashMap::new()),
                refreshing: Arc::new(tokio::sync::RwLock::new(())),
                dirty: SyncMutex::new(Dirty::default()),
                flush: tokio::sync::Notify::new(),
                projector: tokio::sync::Mutex::new(()),
                conflict_retries: AtomicU64::new(0),
                catch_up_pending: AtomicBool::new(false),
                cached_events: AtomicUsize::new(0),
                tokens: moka::sync::Cache::builder()
                    .max_capacity(MAX_CACHED_TOKENS)
                    .time_to_live(TOKEN_TTL)
                    .build(),
                organisations: moka::sync::Cache::new(MAX_CACHED_ORGANISATIONS),
            }),
        })
    }

    /// `"postgres"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        if self.inner.db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// How many times this store has retried a command after another process appended first.
    pub fn conflict_retries(&self) -> u64 {
        self.inner.conflict_retries.load(Ordering::Relaxed)
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.inner.db.migrate().await
    }

    /// Gives the store the master key that wraps participants' data keys, after checking it is
    /// this database's (a fresh database adopts it). Needed before personal data is written or
    /// read; then destroys any key whose erasure is recorded but whose deletion did not finish.
    pub async fn unlock(&self, master: MasterKey) -> Result<(), MasterKeyRefused> {
        self.inner.keys.unlock(master).await?;
        let leftover = self
            .inner
            .keys
            .destroy_erased()
            .await
            .map_err(|e| MasterKeyRefused::Store(e.to_string()))?;
        if leftover > 0 {
            tracing::warn!(
                leftover,
                "destroyed data keys of participants already erased"
            );
        }
        Ok(())
    }

    /// The id of the master key this database's personal data is encrypted under, if any yet.
    pub async fn recorded_master_key(&self) -> Result<Option<String>, StoreError> {
        self.inner.keys.recorded_master_key().await
    }

    /// Re-wraps every data key under `new` and makes it this database's master key; the events
    /// are not touched. Returns how many data keys were re-wrapped.
    pub async fn rotate_master_key(&self, new: &MasterKey) -> Result<u64, StoreError> {
        self.inner.keys.rotate(new).await
    }

    /// Destroys a participant's data key (after their erasure is recorded); true if it existed.
    pub async fn destroy_data_key(
        &self,
        project_id: Uuid,
        participant_id: &str,
    ) -> Result<bool, StoreError> {
        self.inner
            .keys
            .destroy(&project_id.to_string(), participant_id)
            .await
    }

    /// Opens the personal fields of a project's entries where they can still be read; erased
    /// ones (their erasure is among `events`, or their key is gone) become `Personal::Erased`.
    pub async fn open_personal_data(
        &self,
        project_id: Uuid,
        events: &mut [RecordedEvent],
    ) -> Result<(), StoreError> {
        self.inner.keys.open(&project_id.to_string(), events).await
    }

    /// Subject access: every entry of a project about `participant` (see
    /// [`coprod_domain::personal::about`]), with their personal data decrypted where it still
    /// exists; `None` if no entry names them.
    pub async fn subject_access(
        &self,
        project_id: Uuid,
        participant: &str,
    ) -> Result<Option<Value>, StoreError> {
        let events = self.recorded_events(project_id).await?;
        let about = coprod_domain::personal::about(&events, participant);
        if about.is_empty() {
            return Ok(None);
        }
        let erased_at = coprod_domain::personal::erasures(&events)
            .into_iter()
            .find(|(who, _)| *who == participant)
            .map(|(_, sequence)| sequence);
        let entries: Vec<Value> = about
            .iter()
            .map(|entry| {
                serde_json::json!({
                    "sequence": entry.sequence,
                    "recorded_at": format_instant(entry.recorded_at),
                    "recorded_by": entry.recorded_by,
                    "event": entry.event,
                })
            })
            .collect();
        Ok(Some(serde_json::json!({
            "project_id": project_id,
            "participant_id": participant,
            "erased_at": erased_at,
            "entries": entries,
        })))
    }

    /// Replays every seal among a project's stored `entries`, with its personal data opened.
    pub async fn check_seals(
        &self,
        project_id: Uuid,
        entries: &[StoredEntry],
    ) -> Result<Vec<coprod_domain::seal::SealCheck>, StoreError> {
        let decoded = match coprod_domain::seal::decode(entries) {
            Ok(mut events) => {
                self.open_personal_data(project_id, &mut events).await?;
                Ok(events)
            }
            Err(why) => Err(why),
        };
        Ok(coprod_domain::seal::check_seals_with(entries, decoded))
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.inner.db.ping().await
    }

    fn slot(&self, project_id: Uuid) -> Arc<ProjectSlot> {
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

    /// The slot of a project this process keeps, if it does (without making one).
    fn kept_slot(&self, project_id: Uuid) -> Option<Arc<ProjectSlot>> {
        let slots = self.inner.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.get(&project_id).cloned()
    }

    /// The project as this process keeps it between commands (the in-memory snapshot that
    /// [`Store::execute`] brings up to date from the tail of the stream), with the sequence it
    /// was built up to; `None` when nothing is kept. It must always equal a fresh fold of the
    /// stored entries `1..=sequence`: tests check that each entry is applied exactly once.
    pub async fn cached_project(&self, project_id: Uuid) -> Option<(Project, u64)> {
        let slot = self.kept_slot(project_id)?;
        let slot = slot.command.lock().await;
        slot.cached
            .as_ref()
            .map(|cached| (cached.project.clone(), cached.head.sequence))
    }

    /// Runs one command: serialised per project within this process; loads the project from its
    /// events, lets it decide, and appends what it decided with `recorded_by` / `recorded_at` from
    /// the command's context. A lost race with another process is retried up to 5 times after a
    /// random 10–50 ms pause, then reported as [`ExecuteError::Conflict`]. After the commit the
    /// project's view is refreshed and the catch-up reader runs, in the background and gathered
    /// over [`REFRESH_INTERVAL`] (errors there are logged, not returned): computing a view scores
    /// the whole stream, which would make appends slower as a stream grows. This process's
    /// readers of views wait for those refreshes ([`Store::settle`]), so they still read their
    /// own writes.
    pub async fn execute(
        &self,
        project_id: Uuid,
        command: ProjectCommand,
    ) -> Result<Receipt, ExecuteError> {
        let slot = self.slot(project_id);
        let (receipt, appended) = {
            let mut command_slot = slot.command.lock().await;
            self.execute_locked(project_id, command, &mut command_slot)
                .await?
        };
        self.keep_for_view(&slot, appended);
        // Taken before answering, so that a reader who saw the answer also waits for this.
        let refreshing = self.inner.refreshing.clone().read_owned().await;
        self.inner.catch_up_pending.store(true, Ordering::SeqCst);
        let start_refresher = {
            let mut dirty = self.inner.dirty.lock().unwrap_or_else(|e| e.into_inner());
            let up_to = dirty.projects.entry(project_id).or_insert((slot, 0));
            up_to.1 = up_to.1.max(receipt.last_sequence);
            dirty.guards.push(refreshing);
            !std::mem::replace(&mut dirty.refresher_running, true)
        };
        if start_refresher {
            tokio::spawn(self.clone().refresher());
        }
        Ok(receipt)
    }

    /// Waits until the views of every command this process has answered are written.
    async fn settle(&self) {
        self.inner.flush.notify_one();
        drop(self.inner.refreshing.write().await);
    }

    /// The view refresher: while commits keep coming, gathers them for [`REFRESH_INTERVAL`] (or
    /// until a reader waits), writes the views of their projects in one transaction, runs the
    /// catch-up reader, and lets the readers waiting for those commits go on.
    async fn refresher(self) {
        let _exit = RefresherExit(self.inner.clone());
        loop {
            tokio::select! {
                _ = tokio::time::sleep(REFRESH_INTERVAL) => {}
                _ = self.inner.flush.notified() => {}
            }
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
            let mut views = Vec::new();
            for (project_id, (slot, committed)) in projects {
                match self
                    .refreshed_view(&project_id.to_string(), &slot, committed)
                    .await
                {
                    Ok(view) => views.extend(view),
                    Err(error) => {
                        tracing::warn!(%project_id, %error, "view refresh after a commit failed")
                    }
                }
            }
            if let Err(error) = self
                .inner
                .db
                .write_views(CHECKPOINT, &views, None, false)
                .await
            {
                tracing::warn!(%error, "writing views after commits failed; catch-up repairs them");
            }
            self.after_commit().await;
            drop(guards);
        }
    }

    /// Like [`Store::execute`]; and when the request holds an idempotency claim
    /// ([`Store::holding_claim`]), its answer — `status` and `render(receipt)` — is kept in the
    /// same transaction as the appended events, so that a retry gets exactly that answer even if
    /// this process dies, or loses the database, right after the commit; and if a retry took
    /// the claim over meanwhile, nothing is appended ([`ExecuteError::Superseded`]). Returns the
    /// receipt and the body kept (or rendered).
    pub async fn execute_answering(
        &self,
        project_id: Uuid,
        command: ProjectCommand,
        status: u16,
        render: impl Fn(&Receipt) -> String + Send + Sync + 'static,
    ) -> Result<(Receipt, String), ExecuteError> {
        let Ok(ticket) = HELD_CLAIM.try_with(Clone::clone) else {
            let receipt = self.execute(project_id, command).await?;
            let body = render(&receipt);
            return Ok((receipt, body));
        };
        let answer = AnswerAtCommit {
            ticket,
            status,
            render: Arc::new(render),
            kept: Arc::new(SyncMutex::new(None)),
        };
        let receipt = ANSWER_AT_COMMIT
            .scope(answer.clone(), self.execute(project_id, command))
            .await?;
        let kept = answer.kept.lock().unwrap_or_else(|e| e.into_inner()).take();
        let body = kept.unwrap_or_else(|| (answer.render)(&receipt));
        Ok((receipt, body))
    }

    /// Runs `work` (a request) as the holder of the claim `ticket`, so that the commands it runs
    /// with [`Store::execute_answering`] keep their answer atomically.
    pub async fn holding_claim<F: std::future::Future>(
        &self,
        ticket: ClaimTicket,
        work: F,
    ) -> F::Output {
        HELD_CLAIM.scope(ticket, work).await
    }

    /// Runs a command under the project's lock.
    async fn execute_locked(
        &self,
        project_id: Uuid,
        command: ProjectCommand,
        slot: &mut Slot,
    ) -> Result<(Receipt, Vec<RecordedEvent>), ExecuteError> {
        let context = command.context().clone();
        let metadata = HashMap::from([
            (RECORDED_BY_KEY.to_string(), context.recorded_by.clone()),
            (
                RECORDED_AT_KEY.to_string(),
                format_instant(context.recorded_at),
            ),
        ]);
        let aggregate_id = project_id.to_string();
        let mut retries = 0;
        let committed = loop {
            macro_rules! attempt_on {
                ($store:expr, $reader:expr) => {
                    attempt(
                        $store,
                        $reader,
                        &aggregate_id,
                        slot,
                        command.clone(),
                        metadata.clone(),
                        retries,
                    )
                    .await
                };
            }
            let attempt = match &self.inner.events {
                Events::Postgres(store, reader) => attempt_on!(store, reader),
                Events::Sqlite(store, reader) => attempt_on!(store, reader),
            };
            match attempt {
                Ok(committed) => break committed,
                Err(error) => match error::execute_error(error) {
                    Some(ExecuteError::Internal(message)) => {
                        tracing::error!(%project_id, error = %message, "command failed");
                        return Err(ExecuteError::Internal(message));
                    }
                    Some(other) => return Err(other),
                    None if retries < CONFLICT_RETRIES => {
                        retries += 1;
                        self.inner.conflict_retries.fetch_add(1, Ordering::Relaxed);
                        let pause = rand::thread_rng().gen_range(10..=50);
                        tracing::debug!(%project_id, retries, "append conflict; retrying");
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                    }
                    None => {
                        tracing::warn!(%project_id, "append conflict persisted after retries");
                        return Err(ExecuteError::Conflict);
                    }
                },
            }
        };
        let (Some(first), Some(last)) = (committed.first(), committed.last()) else {
            return Err(ExecuteError::Internal(
                "the command appended nothing".into(),
            ));
        };
        let receipt = Receipt {
            project_id,
            first_sequence: first.sequence,
            last_sequence: last.sequence,
            digest: last.digest,
            recorded_at: format_instant(last.recorded_at),
        };
        Ok((receipt, committed))
    }

    /// Keeps the entries this process has just appended with the project's view slot, when they
    /// follow what it keeps, so that refreshing the view need not read them back. Skipped while
    /// the refresher holds the slot: it then reads them from the database.
    fn keep_for_view(&self, slot: &ProjectSlot, appended: Vec<RecordedEvent>) {
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

    /// The newest entry of a project; `None` if it is not registered.
    pub async fn project_head(&self, project_id: Uuid) -> Result<Option<ProjectHead>, StoreError> {
        let id = project_id.to_string();
        let Some(last) = self.inner.db.entry(&id, None).await? else {
            return Ok(None);
        };
        let organisation = match self.project_organisation(project_id).await? {
            Some(organisation) => organisation,
            // The registration was removed or altered behind our back: the view still knows
            // whose project it is, so that assurance can be shown the damage rather than an error.
            None => self
                .view(project_id)
                .await?
                .and_then(|view| view.get("organisation")?.as_str().map(str::to_string))
                .ok_or_else(|| {
                    StoreError::Internal(format!("project {id} has no readable registration"))
                })?,
        };
        let digest = last.stored_digest().ok_or_else(|| {
            StoreError::Internal(format!("project {id}: last entry has no digest"))
        })?;
        let recorded_at = last
            .metadata
            .get(RECORDED_AT_KEY)
            .cloned()
            .unwrap_or_default();
        Ok(Some(ProjectHead {
            project_id,
            organisation,
            sequence: last.sequence,
            digest,
            recorded_at,
        }))
    }

    /// The organisation named by a project's registration (kept once read: it never changes);
    /// `None` if there is no readable registration.
    pub async fn project_organisation(
        &self,
        project_id: Uuid,
    ) -> Result<Option<String>, StoreError> {
        if let Some(organisation) = self.inner.organisations.get(&project_id) {
            return Ok(Some(organisation));
        }
        let first = self
            .inner
            .db
            .entry(&project_id.to_string(), Some(1))
            .await?;
        let Some(Ok(ProjectEvent::ProjectRegistered(registered))) =
            first.map(|entry| serde_json::from_value::<ProjectEvent>(entry.payload))
        else {
            return Ok(None);
        };
        self.inner
            .organisations
            .insert(project_id, registered.organisation.clone());
        Ok(Some(registered.organisation))
    }

    /// A project's entries with sequence greater than `after`, ascending, at most `limit`.
    pub async fn entries(
        &self,
        project_id: Uuid,
        after: u64,
        limit: Option<u64>,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        self.inner
            .db
            .entries(&project_id.to_string(), after, limit)
            .await
    }

    /// Every entry of a project, decoded, with personal data opened where it can be.
    pub async fn recorded_events(
        &self,
        project_id: Uuid,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self
            .inner
            .db
            .recorded_events(&project_id.to_string(), 0)
            .await?;
        self.open_personal_data(project_id, &mut events).await?;
        Ok(events)
    }

    /// A project's stored `entries` (all of them, in order), decoded, with personal data opened.
    pub async fn opened(
        &self,
        project_id: Uuid,
        entries: &[StoredEntry],
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = decode(entries)?;
        self.open_personal_data(project_id, &mut events).await?;
        Ok(events)
    }

    /// Every project that has entries, by id.
    pub async fn project_ids(&self) -> Result<Vec<Uuid>, StoreError> {
        self.inner
            .db
            .project_ids()
            .await?
            .into_iter()
            .map(|id| {
                id.parse()
                    .map_err(|e| StoreError::Internal(format!("bad project id '{id}': {e}")))
            })
            .collect()
    }

    /// Recomputes a project's hash chain and compares it with the stored digests; `None` if the
    /// project has no entries.
    pub async fn verify_project(&self, project_id: Uuid) -> Result<Option<ChainCheck>, StoreError> {
        let entries = self.entries(project_id, 0, None).await?;
        if entries.is_empty() {
            return Ok(None);
        }
        Ok(Some(verify_chain(&entries)))
    }

    /// The view bodies, optionally of one organisation and/or status, by project id.
    pub async fn list_views(
        &self,
        organisation: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        self.settle().await;
        self.inner.db.list_views(organisation, status).await
    }

    /// One project's view body.
    pub async fn view(&self, project_id: Uuid) -> Result<Option<Value>, StoreError> {
        self.settle().await;
        self.inner.db.view(&project_id.to_string()).await
    }

    /// Applies the events committed since the checkpoint to the views; returns how many.
    pub async fn catch_up(&self) -> Result<u64, StoreError> {
        self.settle().await;
        let _guard = self.inner.projector.lock().await;
        self.inner.catch_up_pending.store(false, Ordering::SeqCst);
        let mut applied = self.catch_up_locked().await?;
        // Commits that finished while this ran asked for another pass (see after_commit).
        while self.inner.catch_up_pending.swap(false, Ordering::SeqCst) {
            applied += self.catch_up_locked().await?;
        }
        Ok(applied)
    }

    /// After a commit: runs the catch-up reader, unless one is already running in this
    /// process, in which case that one makes one more pass for us. Errors are logged: the log is
    /// the truth, and the next catch-up repairs any view.
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
    async fn catch_up_locked(&self) -> Result<u64, StoreError> {
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
            db.write_views(CHECKPOINT, &views, checkpoint, false)
                .await?;
            applied += done as u64;
            if done < batch.len() || (batch.len() as i64) < CATCH_UP_BATCH {
                break;
            }
        }
        Ok(applied)
    }

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
        db.write_views(CHECKPOINT, &views, Some(checkpoint), true)
            .await?;
        // Commits that finished meanwhile asked for a pass (see after_commit).
        while self.inner.catch_up_pending.swap(false, Ordering::SeqCst) {
            self.catch_up_locked().await?;
        }
        Ok(applied)
    }

    async fn view_row(&self, project_id: &str) -> Result<Option<ViewRow>, StoreError> {
        let mut events = self.inner.db.recorded_events(project_id, 0).await?;
        self.inner.keys.open(project_id, &mut events).await?;
        Ok(ViewRow::from_events(project_id, &events))
    }

    /// Creates a token; returns it in plain text (`coprod_` and 64 hex digits). Only its SHA-256
    /// is stored: it cannot be shown again.
    pub async fn create_token(
        &self,
        role: Role,
        organisation: &str,
        label: &str,
    ) -> Result<String, StoreError> {
        self.inner.db.create_token(role, organisation, label).await
    }

    /// Who a bearer token speaks for; `None` if it is not a token the store issued. A token
    /// found is kept for [`TOKEN_TTL`]; one not found is asked for again every time, so that a
    /// token created by another process works at once.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        let hash = token_hash(token);
        if let Some(principal) = self.inner.tokens.get(&hash) {
            return Ok(Some(principal));
        }
        let principal = self.inner.db.authenticate(token).await?;
        if let Some(principal) = &principal {
            self.inner.tokens.insert(hash, principal.clone());
        }
        Ok(principal)
    }

    pub async fn token_count(&self) -> Result<u64, StoreError> {
        self.inner.db.token_count().await
    }

    pub async fn find_idempotent(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdempotentRecord>, StoreError> {
        self.inner.db.find_idempotent(principal, key).await
    }

    /// Claims `(principal, key)` for one request across every process sharing the database,
    /// before the request does anything. If another request holds it, waits up to `wait` for
    /// its answer. A claim left unanswered for 5 s (its process died, or it is slow) may be taken
    /// over.
    ///
    /// After [`Claim::Claimed`]: `save_idempotent` the answer, or `release_idempotent` if the
    /// request failed without recording anything. See [`Store::claim_idempotent_ticket`] for
    /// the safe way.
    pub async fn claim_idempotent(
        &self,
        principal: &str,
        key: &str,
        project_id: Uuid,
        request_hash: &str,
        wait: Duration,
    ) -> Result<Claim, StoreError> {
        let (claim, _) = self
            .claim_idempotent_ticket(principal, key, project_id, request_hash, wait)
            .await?;
        Ok(claim)
    }

    /// [`Store::claim_idempotent`], with the ticket that proves the claim when it is
    /// [`Claim::Claimed`]. Run the request under [`Store::holding_claim`] so that its answer is
    /// kept as it commits, and [`Store::release_claim`] if it recorded nothing.
    pub async fn claim_idempotent_ticket(
        &self,
        principal: &str,
        key: &str,
        project_id: Uuid,
        request_hash: &str,
        wait: Duration,
    ) -> Result<(Claim, Option<ClaimTicket>), StoreError> {
        let db = &self.inner.db;
        let ticket = |claimed_at| {
            Some(ClaimTicket {
                principal: principal.to_string(),
                key: key.to_string(),
                claimed_at,
            })
        };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(claimed_at) = db
                .insert_claim(principal, key, project_id, request_hash)
                .await?
            {
                return Ok((Claim::Claimed, ticket(claimed_at)));
            }
            if let Some(answer) = db.find_idempotent(principal, key).await? {
                return Ok((Claim::Answered(answer), None));
            }
            if let Some(since) = db.pending_since(principal, key).await? {
                let stale = format_instant(chrono::Utc::now() - STALE_CLAIM);
                if since < stale {
                    if let Some(claimed_at) = db
                        .take_over_claim(principal, key, &since, project_id, request_hash)
                        .await?
                    {
                        return Ok((Claim::Claimed, ticket(claimed_at)));
                    }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok((Claim::InProgress, None));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Gives up a claim whose request recorded nothing (a pending claim only).
    pub async fn release_idempotent(&self, principal: &str, key: &str) -> Result<(), StoreError> {
        self.inner.db.release_claim(principal, key).await
    }

    /// Gives up the claim `ticket` holds, if it is still pending and still the ticket's: a key
    /// whose answer was kept when its events were appended (even if the commit's
    /// acknowledgement was lost), or that a retry took over, is left alone.
    pub async fn release_claim(&self, ticket: &ClaimTicket) -> Result<(), StoreError> {
        self.inner.db.release_ticket(ticket).await
    }

    /// Keeps the answer to `(principal, key)`, completing a claim; a key that already has an
    /// answer keeps the first one.
    pub async fn save_idempotent(
        &self,
        principal: &str,
        key: &str,
        record: &IdempotentRecord,
    ) -> Result<(), StoreError> {
        self.inner.db.save_idempotent(principal, key, record).await
    }
}

/// One attempt at a command through cqrs-es: bring the project up to date from its events,
/// let it decide, and commit what it decided through the event store. Returns the entries
/// appended, as the read side decodes them (personal data in the clear, as when opened).
///
/// The project kept from the last command in this process is reused: only the entries after it
/// are read (`get_last_events`), so appending does not slow down as a stream grows. It stays
/// correct when other processes append too, since their entries are in that tail. The cache is
/// set only to states built by applying each entry exactly once: the decided state after a
/// commit, or the untouched state after a refusal that decided nothing; after any other
/// failure nothing is kept, and the next attempt reads the whole stream. The chain head is kept
/// with it, so that the new entries are chained without reading the previous one back.
async fn attempt<R: PersistedEventRepository>(
    store: &PersistedEventStore<ChainedRepository<R>, Project>,
    reader: &ChainedRepository<R>,
    aggregate_id: &str,
    slot: &mut Slot,
    command: ProjectCommand,
    metadata: HashMap<String, String>,
    retries: u32,
) -> Result<Vec<RecordedEvent>, AggregateError<ProjectError>> {
    let CachedProject {
        mut project,
        mut head,
    } = slot.cached.take().unwrap_or_default();
    let tail = match reader
        .get_last_events::<Project>(aggregate_id, head.sequence as usize)
        .await
    {
        Ok(tail) => tail,
        Err(error) => {
            slot.cached = Some(CachedProject { project, head });
            return Err(error.into());
        }
    };
    for serialized in tail {
        if serialized.sequence as u64 != head.sequence + 1 {
            return Err(AggregateError::UnexpectedError(
                format!(
                    "project {aggregate_id}: entry {} follows entry {}",
                    serialized.sequence, head.sequence
                )
                .into(),
            ));
        }
        let after = ChainHead::after_serialized(&serialized).ok_or_else(|| {
            AggregateError::UnexpectedError(
                format!(
                    "project {aggregate_id}: entry {} has no stored digest: cannot chain",
                    serialized.sequence
                )
                .into(),
            )
        })?;
        let envelope = EventEnvelope::<Project>::try_from(serialized)?;
        project.apply(envelope.payload);
        head = after;
    }
    // People the project has never seen join with no data key to look up. Only on the first
    // try: a key left by a commit that failed elsewhere makes the append fail as a conflict, and
    // the retry looks it up.
    let first_joining = match &command {
        ProjectCommand::Record { facts, .. } if retries == 0 => facts
            .iter()
            .filter_map(|fact| match fact {
                Fact::ParticipantJoined(joined) if !project.has_joined(&joined.participant_id) => {
                    Some(joined.participant_id.clone())
                }
                _ => None,
            })
            .collect(),
        _ => BTreeSet::new(),
    };
    // No copy of the project is kept to fall back on (it grows with the stream): a refusal
    // before anything was decided leaves it as it was; otherwise the cache is dropped and the
    // next command reads the whole stream again.
    let sink = EventSink::default();
    if let Err(refusal) = project.handle(command, &(), &sink).await {
        if sink.collect().await.is_empty() {
            slot.cached = Some(CachedProject { project, head });
        }
        return Err(AggregateError::UserError(refusal));
    }
    let events = sink.collect().await;
    // With the event store as source of truth, commit uses only the id and sequence.
    let context = EventStoreAggregateContext {
        aggregate_id: aggregate_id.to_string(),
        aggregate: Project::default(),
        current_sequence: head.sequence as usize,
        current_snapshot: None,
    };
    let chain = ChainAtCommit {
        known: head,
        first_joining,
        appended: Arc::new(SyncMutex::new(Vec::new())),
    };
    let recorded_by = metadata.get(RECORDED_BY_KEY).cloned().unwrap_or_default();
    let committed = CHAIN_AT_COMMIT
        .scope(chain.clone(), store.commit(events, context, metadata))
        .await?;
    let heads = std::mem::take(&mut *chain.appended.lock().unwrap_or_else(|e| e.into_inner()));
    let Some(last) = heads.last().cloned() else {
        return Err(AggregateError::UnexpectedError(
            "the commit reported no chain head".into(),
        ));
    };
    slot.cached = Some(CachedProject {
        project,
        head: last,
    });
    Ok(committed
        .into_iter()
        .zip(heads)
        .map(|(envelope, head)| RecordedEvent {
            sequence: head.sequence,
            recorded_at: head.recorded_at.unwrap_or_default(),
            recorded_by: recorded_by.clone(),
            digest: head.digest,
            event: envelope.payload,
        })
        .collect())
}

fn decode(entries: &[StoredEntry]) -> Result<Vec<RecordedEvent>, StoreError> {
    entries
        .iter()
        .map(|entry| {
            RecordedEvent::from_stored(entry)
                .map_err(|e| StoreError::Internal(format!("project {}: {e}", entry.aggregate_id)))
        })
        .collect()
}
