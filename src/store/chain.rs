//! The hash chain, written at append time (docs/architecture.md, invariant 4): a `PersistedEventRepository` wrapper
//! that stamps each new entry's metadata with `recorded_at` (from the store's clock) and the chain
//! head `digest`, seals its personal fields, and hands the entries, the data keys they were
//! sealed with and an idempotent request's answer to the group committer (`group.rs`), which
//! stores them all or nothing. Reads go to postgres-es / sqlite-es.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex as SyncMutex};

use chrono::{DateTime, Utc};
use coprod_domain::digest::{chain_next, DIGEST_KEY, RECORDED_AT_KEY};
use coprod_domain::recorded::{format_instant, parse_instant, to_stored_precision};
use coprod_domain::{Digest, StoredEntry};
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use serde_json::Value;

use tokio::sync::oneshot;

use super::append::CommitReceipt;
use super::db::{metadata_map, Db};
use super::error::{normalise, ClaimLost, StoreError};
use super::group::{Append, EntryToWrite, GroupCommitter, KeptAnswer, NotWritten, PendingCommit};
use super::idempotency::ANSWER_AT_COMMIT;
use super::keys::{Keys, NewKeys};
use crate::clock::Clock;

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
    pub(crate) fn after_serialized(entry: &SerializedEvent) -> Option<ChainHead> {
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
/// the head after each entry appended (so that neither the receipt nor the view need read
/// them back), and the commit the entries were handed to, which the command waits for once it
/// has let go of the project (see `append.rs`).
#[derive(Clone)]
pub(crate) struct ChainAtCommit {
    pub(crate) known: ChainHead,
    /// People joining for the first time, who have no data key yet (see `append::attempt`).
    pub(crate) first_joining: BTreeSet<String>,
    /// The commit of this process's previous append to the project, while it is pending.
    pub(crate) after: Option<Arc<PendingCommit>>,
    pub(crate) appended: Arc<SyncMutex<Vec<ChainHead>>>,
    pub(crate) handed_over: Arc<SyncMutex<Option<HandedOver>>>,
}

/// Entries handed to the group committer: their commit, and its answer to come.
pub(crate) struct HandedOver {
    pub(crate) commit: Arc<PendingCommit>,
    pub(crate) written: oneshot::Receiver<Result<(), NotWritten>>,
}

impl HandedOver {
    /// Waits for the group's commit.
    pub(crate) async fn written(self) -> Result<(), NotWritten> {
        self.written
            .await
            .unwrap_or_else(|_| Err(NotWritten::Unavailable("the committer stopped".into())))
    }
}

tokio::task_local! {
    /// The chain head the command running in this task was decided on, and the one it appended.
    pub(crate) static CHAIN_AT_COMMIT: ChainAtCommit;
}

/// Wraps the backend's repository. Appending, it takes the previous entry's digest and
/// `recorded_at` (from the command's [`CHAIN_AT_COMMIT`] when that knows them, else from the
/// database), writes each new entry's `recorded_at` (the store clock's instant, or the command's
/// if later; never earlier than the previous entry's) and chain head, and hands the entries to
/// the group committer (`group.rs`): in one transaction with the participants' new data keys,
/// and with the answer of an idempotent request ([`crate::store::Store::execute_answering`]).
/// Within a command ([`CHAIN_AT_COMMIT`]) `persist` returns once the entries are handed over, and
/// the command waits for their commit; otherwise it waits itself. Reads pass straight through.
pub struct ChainedRepository<R> {
    inner: R,
    db: Db,
    keys: Keys,
    clock: Clock,
    committer: Arc<GroupCommitter>,
}

impl<R: PersistedEventRepository> ChainedRepository<R> {
    pub(crate) fn new(
        inner: R,
        db: Db,
        keys: Keys,
        clock: Clock,
        committer: Arc<GroupCommitter>,
    ) -> Self {
        Self {
            inner,
            db,
            keys,
            clock,
            committer,
        }
    }

    /// The chain head after entry `first_sequence - 1`: the command's, when it knows it, else
    /// read from the database (ZERO and no time before the first entry).
    async fn head_before(
        &self,
        aggregate_id: &str,
        first_sequence: usize,
    ) -> Result<ChainHead, PersistenceError> {
        if first_sequence <= 1 {
            return Ok(ChainHead::before_first());
        }
        let previous = first_sequence as u64 - 1;
        let known = CHAIN_AT_COMMIT
            .try_with(|chain| chain.known.clone())
            .ok()
            .filter(|known| known.sequence == previous);
        if let Some(known) = known {
            return Ok(known);
        }
        let metadata = self
            .db
            .entry_metadata(aggregate_id, previous)
            .await
            .map_err(store_to_persistence)?
            .ok_or_else(|| {
                unknown(format!(
                    "entry {previous} of {aggregate_id} is missing: cannot chain entry {first_sequence}"
                ))
            })?;
        ChainHead::after(previous, &metadata).ok_or_else(|| {
            unknown(format!(
                "entry {previous} of {aggregate_id} has no stored digest: cannot chain"
            ))
        })
    }

    /// The events with `recorded_at` and `digest` written into their metadata.
    /// Returns them with the chain head after the last; the data keys made to seal them are
    /// left in `new_keys`.
    async fn chain(
        &self,
        events: &[SerializedEvent],
        new_keys: &mut NewKeys,
    ) -> Result<(Vec<SerializedEvent>, Vec<ChainHead>), PersistenceError> {
        let Some(first) = events.first() else {
            return Err(unknown("a commit must append at least one entry".into()));
        };
        let before = self
            .head_before(&first.aggregate_id, first.sequence)
            .await?;
        let (mut head, mut floor) = (before.digest, before.recorded_at);
        let mut chained = Vec::with_capacity(events.len());
        let mut heads = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            if event.aggregate_id != first.aggregate_id || event.sequence != first.sequence + i {
                return Err(unknown(
                    "a commit must append consecutive entries of one stream".into(),
                ));
            }
            let mut metadata =
                metadata_map(event.metadata.clone()).map_err(store_to_persistence)?;
            metadata.remove(DIGEST_KEY);
            // Stamped as late as possible, at the append itself, so that an entry is visible soon
            // after the moment it claims: "as recorded by T" then stays the same answer.
            let now = self.clock.now();
            let asked = metadata
                .get(RECORDED_AT_KEY)
                .and_then(|t| parse_instant(t))
                .map_or(now, |asked| asked.max(now));
            let mut recorded_at = to_stored_precision(asked);
            if let Some(floor) = floor {
                recorded_at = recorded_at.max(floor);
            }
            floor = Some(recorded_at);
            metadata.insert(RECORDED_AT_KEY.to_string(), format_instant(recorded_at));
            // Personal fields are encrypted before hashing: the chain covers what is stored,
            // and no plaintext of them ever reaches the events table.
            let mut payload = event.payload.clone();
            self.keys
                .seal_payload(
                    &event.aggregate_id,
                    &event.event_type,
                    &mut payload,
                    new_keys,
                )
                .await
                .map_err(store_to_persistence)?;
            let entry = StoredEntry {
                aggregate_id: event.aggregate_id.clone(),
                sequence: event.sequence as u64,
                event_type: event.event_type.clone(),
                event_version: event.event_version.clone(),
                payload,
                metadata,
            };
            head = chain_next(&head, &entry);
            let mut metadata = entry.metadata;
            metadata.insert(DIGEST_KEY.to_string(), head.to_string());
            let metadata = serde_json::to_value(metadata)?;
            chained.push(SerializedEvent {
                metadata,
                payload: entry.payload,
                ..event.clone()
            });
            heads.push(ChainHead {
                sequence: entry.sequence,
                digest: head,
                recorded_at: Some(recorded_at),
            });
        }
        Ok((chained, heads))
    }
}

fn unknown(message: String) -> PersistenceError {
    PersistenceError::UnknownError(message.into())
}

/// How an append the committer did not write is reported to cqrs-es.
pub(crate) fn not_written_to_persistence(why: NotWritten) -> PersistenceError {
    match why {
        NotWritten::Conflict => PersistenceError::OptimisticLockError,
        NotWritten::ClaimLost => PersistenceError::UnknownError(Box::new(ClaimLost)),
        NotWritten::Unavailable(message) => PersistenceError::ConnectionError(message.into()),
        NotWritten::Internal(message) => PersistenceError::UnknownError(message.into()),
    }
}

fn store_to_persistence(error: StoreError) -> PersistenceError {
    match error {
        StoreError::Unavailable(message) => PersistenceError::ConnectionError(message.into()),
        StoreError::Internal(message) => PersistenceError::UnknownError(message.into()),
    }
}

impl<R: PersistedEventRepository> PersistedEventRepository for ChainedRepository<R> {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.inner
            .get_events::<A>(aggregate_id)
            .await
            .map_err(normalise)
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.inner
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await
            .map_err(normalise)
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.inner
            .get_snapshot::<A>(aggregate_id)
            .await
            .map_err(normalise)
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        if snapshot_update.is_some() {
            return Err(unknown(
                "snapshots are not used: build the store with new_event_store".into(),
            ));
        }
        let keyless = CHAIN_AT_COMMIT
            .try_with(|chain| chain.first_joining.clone())
            .unwrap_or_default();
        let mut new_keys = NewKeys::for_keyless(keyless);
        let (chained, heads) = self.chain(events, &mut new_keys).await?;
        let (first, Some(last)) = (&chained[0], heads.last()) else {
            return Err(unknown("a commit must append at least one entry".into()));
        };
        let project_id = first
            .aggregate_id
            .parse()
            .map_err(|e| unknown(format!("bad project id {}: {e}", first.aggregate_id)))?;
        let receipt = CommitReceipt::new(project_id, first.sequence as u64, last);
        // An idempotent request keeps its answer in the same transaction.
        let answer = ANSWER_AT_COMMIT.try_with(Clone::clone).ok();
        let kept = answer.as_ref().map(|answer| KeptAnswer {
            ticket: answer.ticket.clone(),
            status: answer.status,
            body: (answer.render)(&receipt),
        });
        if let (Some(answer), Some(kept)) = (&answer, &kept) {
            // Read only once the commit has returned.
            *answer.kept.lock().unwrap_or_else(|e| e.into_inner()) = Some(kept.body.clone());
        }
        let after = CHAIN_AT_COMMIT
            .try_with(|chain| chain.after.clone())
            .ok()
            .flatten();
        let commit = PendingCommit::new(after);
        let written = self.committer.submit(Append {
            entries: chained.iter().map(EntryToWrite::from).collect(),
            keys: new_keys.into_rows(),
            answer: kept,
            commit: commit.clone(),
        });
        let handed_over = HandedOver { commit, written };
        let waiting_here = CHAIN_AT_COMMIT
            .try_with(|chain| {
                *chain.appended.lock().unwrap_or_else(|e| e.into_inner()) = heads;
                chain.handed_over.clone()
            })
            .ok();
        match waiting_here {
            Some(slot) => {
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(handed_over);
                Ok(())
            }
            None => handed_over
                .written()
                .await
                .map_err(not_written_to_persistence),
        }
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        self.inner.stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.inner.stream_all_events::<A>().await
    }
}
