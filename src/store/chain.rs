//! The hash chain, written at append time (DESIGN rule 4): a `PersistedEventRepository` wrapper
//! that stamps each new entry's metadata with `recorded_at` and the chain head `digest` before
//! postgres-es / sqlite-es store it.

use chrono::{DateTime, Utc};
use coprod_domain::digest::{chain_next, DIGEST_KEY, RECORDED_AT_KEY};
use coprod_domain::recorded::{format_instant, parse_instant, to_stored_precision};
use coprod_domain::{Digest, StoredEntry};
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use serde_json::Value;

use super::db::{metadata_map, Db};
use super::error::{normalise, persistence_error, ClaimLost, StoreError};
use super::keys::Keys;
use super::{AnswerAtCommit, Receipt, ANSWER_AT_COMMIT};

/// Wraps the backend's repository: reads the previous entry's digest and `recorded_at`, writes
/// each new entry's `recorded_at` (never earlier than the previous entry's) and chain head, then
/// delegates — except for a command that must keep an idempotency answer
/// ([`crate::store::Store::execute_answering`]): those entries it inserts itself, in one
/// transaction with the answer. Reads pass straight through.
pub struct ChainedRepository<R> {
    inner: R,
    db: Db,
    keys: Keys,
}

impl<R: PersistedEventRepository> ChainedRepository<R> {
    pub(crate) fn new(inner: R, db: Db, keys: Keys) -> Self {
        Self { inner, db, keys }
    }

    /// The chain head and `recorded_at` after entry `sequence` (ZERO and none before the first).
    async fn head_before(
        &self,
        aggregate_id: &str,
        first_sequence: usize,
    ) -> Result<(Digest, Option<DateTime<Utc>>), PersistenceError> {
        if first_sequence <= 1 {
            return Ok((Digest::ZERO, None));
        }
        let previous = first_sequence as u64 - 1;
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
        let digest = metadata
            .get(DIGEST_KEY)
            .and_then(|d| d.parse::<Digest>().ok())
            .ok_or_else(|| {
                unknown(format!(
                    "entry {previous} of {aggregate_id} has no stored digest: cannot chain"
                ))
            })?;
        let recorded_at = metadata.get(RECORDED_AT_KEY).and_then(|t| parse_instant(t));
        Ok((digest, recorded_at))
    }

    /// The events with `recorded_at` and `digest` written into their metadata.
    async fn chain(
        &self,
        events: &[SerializedEvent],
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let Some(first) = events.first() else {
            return Ok(Vec::new());
        };
        let (mut head, mut floor) = self
            .head_before(&first.aggregate_id, first.sequence)
            .await?;
        let mut chained = Vec::with_capacity(events.len());
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
                .seal_payload(&event.aggregate_id, &event.event_type, &mut payload)
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
        }
        Ok(chained)
    }
}

impl<R> ChainedRepository<R> {
    /// Appends `chained` and keeps `answer` for its idempotency key, atomically; fails with
    /// [`ClaimLost`] (nothing appended) if a retry has taken the key over.
    async fn append_answered<A: Aggregate>(
        &self,
        chained: &[SerializedEvent],
        answer: &AnswerAtCommit,
    ) -> Result<(), PersistenceError> {
        let (Some(first), Some(last)) = (chained.first(), chained.last()) else {
            return Ok(());
        };
        let metadata = metadata_map(last.metadata.clone()).map_err(store_to_persistence)?;
        let field = |key: &str| {
            metadata
                .get(key)
                .cloned()
                .ok_or_else(|| unknown(format!("a chained entry has no {key}")))
        };
        let receipt = Receipt {
            project_id: first
                .aggregate_id
                .parse()
                .map_err(|e| unknown(format!("bad project id {}: {e}", first.aggregate_id)))?,
            first_sequence: first.sequence as u64,
            last_sequence: last.sequence as u64,
            digest: field(DIGEST_KEY)?
                .parse()
                .map_err(|_| unknown("a chained entry has a malformed digest".into()))?,
            recorded_at: field(RECORDED_AT_KEY)?,
        };
        let body = (answer.render)(&receipt);
        let kept = self
            .db
            .append_answered(A::TYPE, chained, &answer.ticket, answer.status, &body)
            .await
            .map_err(persistence_error)?;
        if !kept {
            return Err(PersistenceError::UnknownError(Box::new(ClaimLost)));
        }
        *answer.kept.lock().unwrap_or_else(|e| e.into_inner()) = Some(body);
        Ok(())
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
        let chained = self.chain(events).await?;
        match ANSWER_AT_COMMIT.try_with(Clone::clone) {
            // An idempotent request: its answer is kept in the same transaction.
            Ok(answer) => self.append_answered::<A>(&chained, &answer).await,
            Err(_) => self
                .inner
                .persist::<A>(&chained, None)
                .await
                .map_err(normalise),
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
