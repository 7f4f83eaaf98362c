//! The append path: [`Store::execute`] runs a command through cqrs-es — decided one at a time per
//! project in this process, on the project this process keeps (with no read while that is
//! current), retried when another process appended first — and answers with a [`CommitReceipt`]
//! once its group has committed. The entries themselves are stamped, chained and sealed by
//! [`ChainedRepository`]'s `persist`, and stored by the group committer (`group.rs`).

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
use super::chain::{
    not_written_to_persistence, ChainAtCommit, ChainHead, ChainedRepository, HandedOver,
    CHAIN_AT_COMMIT,
};
use super::error;
use super::group::CommitState;
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
    /// Runs one command: decided under the project's lock within this process, on the project
    /// this process keeps, and appended with `recorded_by` from the command's context and
    /// `recorded_at` from the store's clock, never earlier than the context's nor than the entry
    /// before (see [`ChainedRepository`]). The entries go to the group committer (`group.rs`);
    /// the lock is let go as soon as they are handed over, so that the project's next command
    /// may be decided (and join the same group) while they commit, and the answer waits for the
    /// commit. A lost race with another process is retried up to 5 times (after the first, with
    /// a random 10–50 ms pause), then reported as [`ExecuteError::Conflict`].
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
        self.listen_for_others();
        let slot = self.slot(project_id);
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
        loop {
            let decided = {
                let mut command_slot = slot.command.lock().await;
                // Taken under the lock: an announcement that comes later applies to the next.
                let stale = slot.stale.swap(false, Ordering::AcqRel);
                macro_rules! attempt_on {
                    ($store:expr) => {
                        attempt(
                            $store,
                            &aggregate_id,
                            &mut command_slot,
                            command.clone(),
                            metadata.clone(),
                            retries,
                            stale,
                        )
                        .await
                    };
                }
                match &self.inner.events {
                    Events::Postgres(store, reader) => attempt_on!((store, reader)),
                    Events::Sqlite(store, reader) => attempt_on!((store, reader)),
                }
            };
            let error = match decided {
                Ok(Decided {
                    appended,
                    handed_over,
                }) => match handed_over.written().await {
                    Ok(()) => {
                        let receipt = receipt_of(project_id, &appended)?;
                        self.keep_for_view(&slot, appended);
                        self.refresh_after_commit(project_id, slot, receipt.last_sequence)
                            .await;
                        return Ok(receipt);
                    }
                    Err(why) => AggregateError::from(not_written_to_persistence(why)),
                },
                Err(error) => error,
            };
            match error::execute_error(error) {
                Some(ExecuteError::Internal(message)) => {
                    tracing::error!(%project_id, error = %message, "command failed");
                    return Err(ExecuteError::Internal(message));
                }
                Some(other) => return Err(other),
                None if retries < CONFLICT_RETRIES => {
                    retries += 1;
                    self.inner.conflict_retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%project_id, retries, "append conflict; retrying");
                    // The first retry reads the stream's tail at once: usually this process's
                    // head was simply stale. Only repeated losses back off.
                    if retries > 1 {
                        let pause = rand::thread_rng().gen_range(10..=50);
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                    }
                }
                None => {
                    tracing::warn!(%project_id, "append conflict persisted after retries");
                    return Err(ExecuteError::Conflict);
                }
            }
        }
    }
}

/// The receipt of the entries a command appended.
fn receipt_of(project_id: Uuid, appended: &[RecordedEvent]) -> Result<CommitReceipt, ExecuteError> {
    let (Some(first), Some(last)) = (appended.first(), appended.last()) else {
        return Err(ExecuteError::Internal(
            "the command appended nothing".into(),
        ));
    };
    Ok(CommitReceipt {
        project_id,
        first_sequence: first.sequence,
        last_sequence: last.sequence,
        digest: last.digest,
        recorded_at: format_instant(last.recorded_at),
    })
}

/// What a command decided and handed to the committer: the entries as the read side decodes
/// them (personal data in the clear, as when opened), and their commit to wait for.
struct Decided {
    appended: Vec<RecordedEvent>,
    handed_over: HandedOver,
}

/// One attempt at a command through cqrs-es: bring the project up to date, let it decide, and
/// hand what it decided to the group committer through the event store.
///
/// The project kept from the last command in this process is reused as it is, with no read,
/// unless another process announced an append to it (`others.rs`) or this is a retry: then the
/// stream's tail is read first (`get_last_events`). When another process appended unannounced,
/// this command's first entry takes a sequence that is already stored, the committer reports a
/// conflict, and the retry reads the tail; a refusal decided without reading is checked against
/// the tail before it stands. The kept project may include entries still being committed (the
/// project's previous command, pending): this command then follows that commit, and fails with
/// it if it fails. The cache is set only to states built by applying each entry exactly once:
/// the decided state after a hand-over, or the untouched state after a refusal that decided
/// nothing; after any other failure nothing is kept, and the next attempt reads the whole
/// stream. The chain head is kept with it, so that the new entries are chained without reading
/// the previous one back.
async fn attempt<R: PersistedEventRepository>(
    (store, reader): (
        &PersistedEventStore<ChainedRepository<R>, Project>,
        &ChainedRepository<R>,
    ),
    aggregate_id: &str,
    slot: &mut Slot,
    command: ProjectCommand,
    metadata: HashMap<String, String>,
    retries: u32,
    stale: bool,
) -> Result<Decided, AggregateError<ProjectError>> {
    // The previous command's commit: a kept state built on a failed one is not the stream's.
    if let Some(previous) = slot.pending.clone() {
        let state = match previous.state() {
            CommitState::Pending if previous.doomed() || slot.cached.is_none() => {
                previous.settled().await
            }
            state => state,
        };
        match state {
            CommitState::Pending => {}
            CommitState::Committed => slot.pending = None,
            CommitState::Failed => {
                slot.cached = None;
                slot.pending = None;
            }
        }
    }
    let CachedProject {
        mut project,
        mut head,
    } = slot.cached.take().unwrap_or_default();
    let read_tail = retries > 0 || stale || head.sequence == 0;
    if read_tail {
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
    let decided_after = head.sequence;
    if let Err(refusal) = project.handle(command, &(), &sink).await {
        if sink.collect().await.is_empty() {
            slot.cached = Some(CachedProject { project, head });
        }
        // A refusal decided on entries still being committed stands only if they are.
        if let Some(previous) = slot.pending.clone() {
            if previous.settled().await != CommitState::Committed {
                slot.cached = None;
                slot.pending = None;
                return Err(AggregateError::AggregateConflict);
            }
        }
        // Decided on the kept project without reading: another process may have appended what
        // the command needs (its announcement still on the way), so the refusal stands only if
        // the stream has nothing newer; otherwise the command is decided again on the tail.
        // Field rules do not depend on the stream.
        let on_state = !matches!(refusal, ProjectError::ValidationFailed(_));
        if on_state
            && !read_tail
            && !reader
                .get_last_events::<Project>(aggregate_id, decided_after as usize)
                .await?
                .is_empty()
        {
            return Err(AggregateError::AggregateConflict);
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
        after: slot.pending.clone(),
        appended: Arc::new(SyncMutex::new(Vec::new())),
        handed_over: Arc::new(SyncMutex::new(None)),
    };
    let recorded_by = metadata.get(RECORDED_BY_KEY).cloned().unwrap_or_default();
    let committed = CHAIN_AT_COMMIT
        .scope(chain.clone(), store.commit(events, context, metadata))
        .await?;
    let heads = std::mem::take(&mut *chain.appended.lock().unwrap_or_else(|e| e.into_inner()));
    let handed_over = chain
        .handed_over
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    let (Some(last), Some(handed_over)) = (heads.last().cloned(), handed_over) else {
        return Err(AggregateError::UnexpectedError(
            "the commit reported no chain head".into(),
        ));
    };
    slot.pending = Some(handed_over.commit.clone());
    slot.cached = Some(CachedProject {
        project,
        head: last,
    });
    Ok(Decided {
        appended: committed
            .into_iter()
            .zip(heads)
            .map(|(envelope, head)| RecordedEvent {
                sequence: head.sequence,
                recorded_at: head.recorded_at.unwrap_or_default(),
                recorded_by: recorded_by.clone(),
                digest: head.digest,
                event: envelope.payload,
            })
            .collect(),
        handed_over,
    })
}
