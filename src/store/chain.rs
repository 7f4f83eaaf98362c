//! The hash chain, written at append time (DESIGN rule 4): a `PersistedEventRepository` wrapper
//! that stamps each new entry's metadata with `recorded_at` and the chain head `digest`, seals
//! its personal fields, and stores the entries in one transaction with the data keys they were
//! sealed with (and an idempotent request's answer). Reads go to postgres-es / sqlite-es.

use chrono::Utc;
use coprod_domain::digest::{chain_next, DIGEST_KEY, RECORDED_AT_KEY};
use coprod_domain::recorded::{format_instant, parse_instant, to_stored_precision};
use coprod_domain::StoredEntry;
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use serde_json::Value;

use super::access::{Appended, KeptAnswer};
use super::db::{metadata_map, Db};
use super::error::{normalise, persistence_error, ClaimLost, StoreError};
use super::keys::{Keys, NewKeys};
use super::{ChainHead, Receipt, ANSWER_AT_COMMIT, CHAIN_AT_COMMIT};

/// Wraps the backend's repository. Appending, it takes the previous entry's digest and
/// `recorded_at` (from the command's [`CHAIN_AT_COMMIT`] when that knows them, else from the
/// database), writes each new entry's `recorded_at` (never earlier than the previous entry's)
/// and chain head, and inserts the entries itself: in one transaction with the participants'
/// new data keys, and with the answer of an idempotent request
/// ([`crate::store::Store::execute_answering`]). Reads pass straight through.
pub struct ChainedRepository<R> {
    inner: R,
    db: Db,
    keys: Keys,
}

impl<R: PersistedEventRepository> ChainedRepository<R> {
    pub(crate) fn new(inner: R, db: Db, keys: Keys) -> Self {
        Self { inner, db, keys }
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
            let asked = metadata
                .get(RECORDED_AT_KEY)
                .and_then(|t| parse_instant(t))
                .map_or_else(Utc::now, |asked| asked.max(Utc::now()));
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
        let receipt = Receipt::new(project_id, first.sequence as u64, last);
        // An idempotent request keeps its answer in the same transaction.
        let answer = ANSWER_AT_COMMIT.try_with(Clone::clone).ok();
        let body = answer.as_ref().map(|answer| (answer.render)(&receipt));
        let kept = answer
            .as_ref()
            .zip(body.as_deref())
            .map(|(answer, body)| KeptAnswer {
                ticket: &answer.ticket,
                status: answer.status,
                body,
            });
        let appended = self
            .db
            .append(A::TYPE, &chained, &new_keys, kept)
            .await
            .map_err(persistence_error)?;
        match appended {
            Appended::Committed => {}
            Appended::ClaimLost => return Err(PersistenceError::UnknownError(Box::new(ClaimLost))),
            Appended::KeyTaken => return Err(PersistenceError::OptimisticLockError),
        }
        if let (Some(answer), Some(body)) = (answer, body) {
            *answer.kept.lock().unwrap_or_else(|e| e.into_inner()) = Some(body);
        }
        let _ = CHAIN_AT_COMMIT.try_with(|chain| {
            *chain.appended.lock().unwrap_or_else(|e| e.into_inner()) = heads;
        });
        Ok(())
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
