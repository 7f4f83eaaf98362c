//! The append path: [`Store::execute`] runs a command through cqrs-es — serialised per project
//! in this process, decided on the project this process keeps (reading only the stream's tail),
//! retried when another process appended first — and answers with a [`CommitReceipt`]. The entries
//! themselves are stamped, chained, sealed and stored by [`ChainedRepository`]'s `persist`.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use coprod_domain::digest::{RECORDED_AT_KEY, RECORDED_BY_KEY};
use coprod_domain::recorded::format_instant;
use coprod_domain::{Digest, Fact, Project, ProjectCommand, ProjectError, RecordedEvent};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventRepository, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use postgres_es::PostgresEventRepository;
use rand::Rng;
use sqlite_es::SqliteEventRepository;
use uuid::Uuid;

use super::cache::{CachedProject, Slot};
use super::chain::{ChainAtCommit, ChainHead, ChainedRepository, CHAIN_AT_COMMIT};
use super::error;
use super::{ExecuteError, Store};

/// How many times a command is tried again after losing the race for the next sequence.
const CONFLICT_RETRIES: u32 = 5;

/// What the server returns for every accepted command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitReceipt {
    pub project_id: Uuid,
    pub first_sequence: u64,
    pub last_sequence: u64,
    /// The chain head after the last appended entry, as stored.
    pub digest: Digest,
    /// When the last entry was recorded, as stored (`YYYY-MM-DDTHH:MM:SS.ffffffZ`).
    pub recorded_at: String,
}

impl CommitReceipt {
    /// The receipt of entries `first_sequence..=last.sequence` of `project_id`.
    pub(crate) fn new(project_id: Uuid, first_sequence: u64, last: &ChainHead) -> CommitReceipt {
        CommitReceipt {
            project_id,
            first_sequence,
            last_sequence: last.sequence,
            digest: last.digest,
            recorded_at: last.recorded_at.map(format_instant).unwrap_or_default(),
        }
    }
}

type PostgresEvents = PersistedEventStore<ChainedRepository<PostgresEventRepository>, Project>;
type SqliteEvents = PersistedEventStore<ChainedRepository<SqliteEventRepository>, Project>;

/// The cqrs-es event store (appends) and a repository of the same kind for reading tails.
pub(super) enum Events {
    Postgres(PostgresEvents, ChainedRepository<PostgresEventRepository>),
    Sqlite(SqliteEvents, ChainedRepository<SqliteEventRepository>),
}

impl Store {
    /// Runs one command: serialised per project within this process; loads the project from its
    /// events, lets it decide, and appends what it decided with `recorded_by` from the command's
    /// context and `recorded_at` from the store's clock, never earlier than the context's nor than
    /// the entry before (see [`ChainedRepository`]). A lost race with another process is retried
    /// up to 5 times after a random 10–50 ms pause, then reported as [`ExecuteError::Conflict`].
    /// After the commit the project's view is refreshed and the catch-up reader runs, in the
    /// background and gathered over `REFRESH_INTERVAL` (errors there are logged, not returned):
    /// computing a view scores the whole stream, which would make appends slower as a stream
    /// grows. This process's readers of views wait for those refreshes (`Store::settle`), so they
    /// still read their own writes.
    pub async fn execute(
        &self,
        project_id: Uuid,
        command: ProjectCommand,
    ) -> Result<CommitReceipt, ExecuteError> {
        let slot = self.slot(project_id);
        let (receipt, appended) = {
            let mut command_slot = slot.command.lock().await;
            self.execute_locked(project_id, command, &mut command_slot)
                .await?
        };
        self.keep_for_view(&slot, appended);
        self.refresh_after_commit(project_id, slot, receipt.last_sequence)
            .await;
        Ok(receipt)
    }

    /// Runs a command under the project's lock.
    async fn execute_locked(
        &self,
        project_id: Uuid,
        command: ProjectCommand,
        slot: &mut Slot,
    ) -> Result<(CommitReceipt, Vec<RecordedEvent>), ExecuteError> {
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
        let receipt = CommitReceipt {
            project_id,
            first_sequence: first.sequence,
            last_sequence: last.sequence,
            digest: last.digest,
            recorded_at: format_instant(last.recorded_at),
        };
        Ok((receipt, committed))
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
