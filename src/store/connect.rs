//! Opening a [`Store`]: the pool of either database, the cqrs-es event store over it, the empty
//! per-process caches, and the clock every time the store writes is taken from (the system's, or
//! one a test fixes).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex as SyncMutex};

use coprod_domain::Project;
use cqrs_es::persist::{PersistedEventRepository, PersistedEventStore};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;
use uuid::Uuid;

use super::append::Events;
use super::chain::ChainedRepository;
use super::db::Db;
use super::group::GroupCommitter;
use super::keys::Keys;
use super::reads::MAX_CACHED_ORGANISATIONS;
use super::refresh::Dirty;
use super::tokens::TokenCache;
use super::{Inner, Store, StoreError};
use crate::clock::Clock;

impl Store {
    /// Opens a pool for `database_url` (`sqlite://PATH` — the file and its directory are created
    /// if missing — or `postgres://…`), on the system clock. Does not migrate.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        Store::connect_with_clock(database_url, Clock::system()).await
    }

    /// [`Store::connect`], taking "now" from `clock`: the `recorded_at` of each entry (never
    /// earlier than the command asks, nor than the entry before), and when data keys, tokens,
    /// idempotency claims and views were written.
    pub async fn connect_with_clock(database_url: &str, clock: Clock) -> Result<Store, StoreError> {
        let db = Db::connect(database_url).await?;
        let keys = Keys::new(db.clone(), clock.clone());
        let instance = Uuid::new_v4();
        let committer = Arc::new(GroupCommitter::new(db.clone(), instance));
        let parts = Parts {
            db: &db,
            keys: &keys,
            clock: &clock,
            committer: &committer,
        };
        let events = match &db {
            Db::Postgres(pool) => {
                let repository = || PostgresEventRepository::new(pool.clone());
                let (store, reader) = event_store(repository, &parts);
                Events::Postgres(store, reader)
            }
            Db::Sqlite(pool) => {
                let repository = || SqliteEventRepository::new(pool.clone());
                let (store, reader) = event_store(repository, &parts);
                Events::Sqlite(store, reader)
            }
        };
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                clock,
                keys,
                events,
                committer,
                instance,
                listening: AtomicBool::new(false),
                stop_listening: SyncMutex::new(None),
                slots: SyncMutex::new(HashMap::new()),
                refreshing: Arc::new(tokio::sync::RwLock::new(())),
                dirty: SyncMutex::new(Dirty::default()),
                flush: tokio::sync::Notify::new(),
                projector: tokio::sync::Mutex::new(()),
                conflict_retries: AtomicU64::new(0),
                catch_up_pending: AtomicBool::new(false),
                others_appended: AtomicBool::new(false),
                cached_events: AtomicUsize::new(0),
                tokens: TokenCache::new(),
                organisations: moka::sync::Cache::new(MAX_CACHED_ORGANISATIONS),
                checkpoints: Default::default(),
                replica: Default::default(),
            }),
        })
    }
}

/// What each chained repository of a store shares.
struct Parts<'a> {
    db: &'a Db,
    keys: &'a Keys,
    clock: &'a Clock,
    committer: &'a Arc<GroupCommitter>,
}

/// The cqrs-es event store over a backend's repository made by `repository`, chained, and a
/// second repository of the same kind for reading tails.
fn event_store<R: PersistedEventRepository>(
    repository: impl Fn() -> R,
    parts: &Parts<'_>,
) -> (
    PersistedEventStore<ChainedRepository<R>, Project>,
    ChainedRepository<R>,
) {
    let chained = || {
        ChainedRepository::new(
            repository(),
            parts.db.clone(),
            parts.keys.clone(),
            parts.clock.clone(),
            parts.committer.clone(),
        )
    };
    (PersistedEventStore::new_event_store(chained()), chained())
}
