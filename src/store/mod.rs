//! Coprod's storage: the event store (cqrs-es 0.5.0 over postgres-es or sqlite-es, which read
//! the streams; appends go through [`ChainedRepository`], which writes the hash chain and stores
//! each commit with its new data keys), the project views and their catch-up reader, API tokens
//! and idempotency records.
//!
//! [`Store`] is cheap to clone and safe to share between tasks. This file holds it, the state its
//! clones share and the few answers that need nothing else; the rest is by concern:
//!
//! - `connect`: opening a store on either database, with the clock it stamps entries by.
//! - `append`: running a command (`Store::execute`): retries, the cached project, the receipt.
//! - `chain`: the repository cqrs-es appends through: `recorded_at`, the hash chain, sealing.
//! - `group`: group commit: the appends in flight written in one transaction, each all or nothing.
//! - `others`: learning of other processes' appends (PostgreSQL `LISTEN`/`NOTIFY`).
//! - `cache`: what this process keeps per project between commands.
//! - `refresh`: the view refresher after commits, and the catch-up reader.
//! - `rebuild`: every view rebuilt from the log.
//! - `reads`: entries, chain heads and views as the API reads them.
//! - `personal`, `keys`, `crypto`: personal data, participants' data keys and their encryption.
//! - `erasure`: what an erasure does after deleting a key, so that no database file keeps it.
//! - `tokens`, `idempotency`: API tokens, and the first answer kept per idempotency key.
//! - `db`, `projector`, `views`: the pools and entry queries, the views' SQL and their content.
//! - `assess`, `portfolio`: assessments and the portfolio, as the application asks for them.
//! - `checkpoints`: signed checkpoints of every project's head, and trails checked against them.
//! - `backup`: an online copy of a SQLite database (`coprod backup`).
//! - `replica`: reads sent to a PostgreSQL streaming replica, and back to the primary.

mod append;
mod assess;
mod backup;
mod cache;
mod chain;
mod checkpoints;
mod connect;
mod crypto;
pub(crate) mod db;
mod erasure;
mod error;
mod group;
mod idempotency;
mod invitations;
mod keys;
mod others;
mod personal;
mod portfolio;
mod projector;
mod reads;
mod rebuild;
mod refresh;
mod replica;
mod sessions;
mod tokens;
pub mod views;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};

use uuid::Uuid;

use crate::clock::Clock;

pub use append::CommitReceipt;
pub use assess::{AssessmentError, ProjectAt};
pub use backup::{BackupError, BackupSummary};
pub use chain::ChainedRepository;
pub use checkpoints::{
    CheckpointCheck, CheckpointError, GuardedEntries, MadeCheckpoint, ViewCheck,
};
pub use crypto::{hmac_sha256, KeyError, MasterKey};
pub use erasure::ErasureResidue;
pub use error::{ExecuteError, StoreError};
pub use group::{GroupCommits, COMMITTER_NAME};
pub use idempotency::{Claim, ClaimTicket, IdempotentRecord, IDEMPOTENCY_RETENTION};
pub use invitations::{Invitation, InvitationState, IssuedInvitation};
pub use keys::MasterKeyRefused;
pub use portfolio::PortfolioProject;
#[doc(hidden)]
pub use projector::{EVENTS_AFTER_POSTGRES, EVENTS_AFTER_SQLITE};
pub use reads::ProjectHead;
pub use replica::{Needs, ReadScope, ReplicaStatus};
pub use sessions::{SessionLookup, SESSION_IDLE, SESSION_LIFETIME};
pub use tokens::{
    is_token_id, parse_lifetime, recorded_by_for, token_hash, token_id, AccessRole, BadLifetime,
    Principal, TokenCheck, TokenRecord, TokenStatus, UnknownRole, LIFETIME_FORMS, TOKEN_PREFIX,
};

use append::Events;
use cache::ProjectSlot;
use db::Db;
use keys::Keys;
use refresh::Dirty;

/// What every clone of a [`Store`] shares.
struct Inner {
    db: Db,
    /// Where "now" comes from: `recorded_at`, keys', tokens' and views' times, stale claims.
    clock: Clock,
    /// Participants' data keys, and the master key once given.
    keys: Keys,
    events: Events,
    /// Writes appends in groups, one durable commit each (`group.rs`).
    committer: Arc<group::GroupCommitter>,
    /// This store's name in the announcements of appends (`others.rs`).
    instance: Uuid,
    /// Whether this store listens for other processes' announcements yet.
    listening: AtomicBool,
    /// Dropped with the store, which stops the listener.
    stop_listening: SyncMutex<Option<tokio::sync::oneshot::Sender<()>>>,
    /// One slot (guarding the cached project) per recently used project.
    slots: SyncMutex<HashMap<Uuid, Arc<ProjectSlot>>>,
    /// Each commit takes a read guard before it answers, and the view refresher drops it once
    /// the commit's view is written; readers of views take the write lock once, and so see the
    /// views of every command this process has answered (see `Store::settle`).
    refreshing: Arc<tokio::sync::RwLock<()>>,
    /// Commits whose views the refresher has still to write.
    dirty: SyncMutex<Dirty>,
    /// Tells the refresher that a reader waits: refresh now.
    flush: tokio::sync::Notify,
    /// One catch-up reader at a time in this process.
    projector: tokio::sync::Mutex<()>,
    /// How many times a command was tried again after losing a race (for metrics and tests).
    conflict_retries: AtomicU64,
    /// The view refresher asked for a catch-up pass while one was running.
    catch_up_pending: AtomicBool,
    /// Another process announced appends since the view refresher last ran the catch-up reader.
    others_appended: AtomicBool,
    /// How many decoded entries the slots keep in all (bounded by `cache::MAX_CACHED_EVENTS`).
    cached_events: AtomicUsize,
    /// Who recently used tokens speak for, by token hash (see `tokens::TOKEN_TTL`).
    tokens: tokens::TokenCache,
    /// Each registered project's organisation, which its registration fixes for good.
    organisations: moka::sync::Cache<Uuid, String>,
    /// The checkpoint key, and the signed checkpoints as this process last checked them.
    checkpoints: checkpoints::Checkpointing,
    /// The PostgreSQL streaming replica reads may be sent to, once attached.
    replica: std::sync::OnceLock<Arc<replica::ReadReplica>>,
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
    /// `"postgres"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        if self.inner.db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// The clock this store takes "now" from (see [`Store::connect_with_clock`]).
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// How many times this store has retried a command after another process appended first.
    pub fn conflict_retries(&self) -> u64 {
        self.inner.conflict_retries.load(Ordering::Relaxed)
    }

    /// The group commits this store has made so far.
    pub fn group_commits(&self) -> GroupCommits {
        self.inner.committer.counts()
    }

    /// Applies the embedded migrations of this backend, then finishes the clean-up of any
    /// erasure whose process stopped before it ended (every command and `serve` start here).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.inner.db.migrate().await?;
        self.inner.db.clean_up_erasures_at_start().await;
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.inner.db.ping().await
    }
}
