//! Group commit: the appends that arrive while a commit is in flight are gathered (up to
//! [`MAX_GROUP_ROWS`] entries and [`MAX_GROUP_BYTES`] bytes) and written by one committer task in
//! one transaction, one durable commit for all of them. Each append is answered only after that
//! commit has returned; each keeps its own all-or-nothing meaning and its own optimistic check.
//!
//! # Partial conflicts inside one transaction
//!
//! On PostgreSQL a group is first written as one statement that commits on its own
//! (`write_in_one_statement`), and on SQLite as one batch of statements run in one go
//! (`write_in_one_batch`); only when that is refused because an append lost its check does the
//! transaction below run, to tell which append it was.
//!
//! A group's transaction runs three statements whatever its size: the idempotent answers
//! (`UPDATE … RETURNING`), the new data keys and the entries (each `INSERT … ON CONFLICT DO
//! NOTHING RETURNING`). `RETURNING` names each row written, so the committer sees exactly which
//! append lost its check — an entry's sequence another process took (the unique key is the
//! check: an append chained on a stale head always collides with the entry that made it stale),
//! a participant's key another commit stored first, an idempotency claim a retry took over —
//! without an error that would abort the transaction on PostgreSQL. Some of the losing append's
//! rows (or the other appends' answers) may already be written by then, so the transaction is
//! rolled back and the group written again without it (and without the appends chained on it);
//! each such pass leaves out at least one append, so it ends. The losing append gets the answer it gets alone (a conflict: tried again
//! after reading the stream's tail, or a superseded claim), and no other append of its group fails
//! because of it.
//!
//! Why not a savepoint per append: on PostgreSQL each costs two more round trips per append
//! (which is what grouping saves), and more than 64 subtransactions that write overflow each
//! backend's cache of them, which slows every other session's snapshots. Why not a head row
//! locked `FOR UPDATE` per project: one more table to keep equal to the log, one more row written
//! per append, and locks held across the group's whole transaction. Conflicts are rare (another
//! server appending to the same project at the same moment), so the rare extra pass costs less
//! than paying for isolation on every append.
//!
//! Appends to one project may be in flight one after another: the next is decided on the state
//! the previous one left (see `append.rs`) and names it as the commit it follows
//! ([`PendingCommit`]). If that one fails, so does the next, as a conflict, before anything of it
//! is written: its chain would start from a head that was never stored.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use cqrs_es::persist::SerializedEvent;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use super::db::{Db, AGGREGATE_TYPE, PING_AFTER_IDLE};
use super::error::{classify, Failure};
use super::idempotency::ClaimTicket;
use super::keys::NewKey;
use super::others;

/// Entries one group writes at most (a single larger append is written alone).
pub(crate) const MAX_GROUP_ROWS: usize = 512;
/// Bytes of payload and metadata one group writes at most (idem).
pub(crate) const MAX_GROUP_BYTES: usize = 4 << 20;
/// The largest group size the size histogram tells apart (larger groups count here).
const SIZE_BUCKETS: usize = 1024;

/// Where an append handed to the committer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommitState {
    Pending,
    Committed,
    /// Not committed, or not known to be (the whole group's commit failed).
    Failed,
}

/// The commit of one append, as the appends decided after it see it.
pub(crate) struct PendingCommit {
    state: watch::Sender<CommitState>,
    /// The commit of the same project's append this one was decided after, while that one was
    /// still pending; dropped once this one is settled (so that chains stay short).
    after: SyncMutex<Option<Arc<PendingCommit>>>,
}

impl PendingCommit {
    pub(crate) fn new(after: Option<Arc<PendingCommit>>) -> Arc<PendingCommit> {
        // A commit that failed since the command looked at it is kept: this one must fail too.
        let after = after.filter(|after| after.state() != CommitState::Committed);
        Arc::new(PendingCommit {
            state: watch::Sender::new(CommitState::Pending),
            after: SyncMutex::new(after),
        })
    }

    pub(crate) fn state(&self) -> CommitState {
        *self.state.borrow()
    }

    fn after(&self) -> Option<Arc<PendingCommit>> {
        self.after.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn settle(&self, state: CommitState) {
        self.state.send_replace(state);
        self.after.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Waits until the commit is settled.
    pub(crate) async fn settled(&self) -> CommitState {
        let mut state = self.state.subscribe();
        let settled = state
            .wait_for(|state| *state != CommitState::Pending)
            .await
            .map(|state| *state);
        settled.unwrap_or(CommitState::Failed)
    }

    /// Whether this commit, or one it follows, has failed: a state decided after it is then not
    /// the stream's, and it will fail too.
    pub(crate) fn doomed(self: &Arc<Self>) -> bool {
        let mut current = Some(self.clone());
        while let Some(commit) = current {
            match commit.state() {
                CommitState::Failed => return true,
                CommitState::Committed => return false,
                CommitState::Pending => current = commit.after(),
            }
        }
        false
    }
}

/// The answer an idempotent request keeps in its append's transaction.
pub(crate) struct KeptAnswer {
    pub(crate) ticket: ClaimTicket,
    pub(crate) status: u16,
    pub(crate) body: String,
}

/// One entry as the committer writes it, its payload and metadata already the JSON text stored:
/// written once, in the command's own task, rather than on the committer's (which every append
/// waits on) to weigh the group and again to bind it.
pub(crate) struct EntryToWrite {
    pub(crate) aggregate_id: String,
    pub(crate) sequence: i64,
    pub(crate) event_type: String,
    pub(crate) event_version: String,
    pub(crate) payload: String,
    pub(crate) metadata: String,
}

impl From<&SerializedEvent> for EntryToWrite {
    fn from(entry: &SerializedEvent) -> EntryToWrite {
        EntryToWrite {
            aggregate_id: entry.aggregate_id.clone(),
            sequence: entry.sequence as i64,
            event_type: entry.event_type.clone(),
            event_version: entry.event_version.clone(),
            payload: entry.payload.to_string(),
            metadata: entry.metadata.to_string(),
        }
    }
}

/// One append, chained and sealed, for the committer to write.
pub(crate) struct Append {
    pub(crate) entries: Vec<EntryToWrite>,
    pub(crate) keys: Vec<NewKey>,
    pub(crate) answer: Option<KeptAnswer>,
    pub(crate) commit: Arc<PendingCommit>,
}

/// An append dropped while its commit is still pending will not be written by this process: its
/// writer panicked or was aborted, or the committer stopped. It is settled as failed (not known
/// to be committed), so that the appends decided after it fail with it, as conflicts, instead
/// of being chained on a head that may never have been stored; the project's next command then
/// reads the stream again.
impl Drop for Append {
    fn drop(&mut self) {
        if self.commit.state() == CommitState::Pending {
            self.commit.settle(CommitState::Failed);
        }
    }
}

impl Append {
    fn bytes(&self) -> usize {
        self.entries
            .iter()
            .map(|e| e.payload.len() + e.metadata.len())
            .sum()
    }
}

/// Why an append was not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotWritten {
    /// Its check failed (a sequence or a data key taken first, or an append it follows failed):
    /// read the stream again and retry.
    Conflict,
    /// A retry took its idempotency claim over.
    ClaimLost,
    /// The database could not be reached, or the group's commit did not return: the outcome is
    /// unknown to this process (the entries are there, with the answer, or not at all).
    Unavailable(String),
    /// Anything else.
    Internal(String),
}

type Reply = oneshot::Sender<Result<(), NotWritten>>;

/// Group commits so far, for metrics, tests and the load tool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupCommits {
    /// Transactions committed.
    pub groups: u64,
    /// Appends written.
    pub appends: u64,
    /// Entries written.
    pub entries: u64,
    /// Appends not written because of their own check, while others of their group were.
    pub left_out: u64,
    /// Groups written again after leaving out an append whose rows were partly written.
    pub passes_again: u64,
    /// `entries_per_group[n]`: how many committed groups wrote `n` entries (the last bucket
    /// counts every larger group).
    pub entries_per_group: Vec<u64>,
}

struct Counters {
    groups: AtomicU64,
    appends: AtomicU64,
    entries: AtomicU64,
    left_out: AtomicU64,
    passes_again: AtomicU64,
    entries_per_group: Vec<AtomicU64>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            groups: AtomicU64::new(0),
            appends: AtomicU64::new(0),
            entries: AtomicU64::new(0),
            left_out: AtomicU64::new(0),
            passes_again: AtomicU64::new(0),
            entries_per_group: (0..=SIZE_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// The committer of one store: a queue, and the task that drains it (started on first use, and
/// again if the runtime it ran on has gone).
pub(crate) struct GroupCommitter {
    db: Db,
    /// The store's name in announcements (`others.rs`).
    instance: Uuid,
    queue: SyncMutex<Option<mpsc::UnboundedSender<(Append, Reply)>>>,
    counters: Arc<Counters>,
}

impl GroupCommitter {
    pub(crate) fn new(db: Db, instance: Uuid) -> GroupCommitter {
        GroupCommitter {
            db,
            instance,
            queue: SyncMutex::new(None),
            counters: Arc::default(),
        }
    }

    /// Hands `append` to the committer; the receiver answers once its group's commit returned.
    /// Appends are written in the order they are handed over.
    pub(crate) fn submit(&self, append: Append) -> oneshot::Receiver<Result<(), NotWritten>> {
        let (reply, answer) = oneshot::channel();
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let sender = match queue.as_ref().filter(|sender| !sender.is_closed()) {
            Some(sender) => sender.clone(),
            None => {
                let (sender, receiver) = mpsc::unbounded_channel();
                let (db, counters) = (self.db.clone(), self.counters.clone());
                start_committer(receiver, db, self.instance, counters);
                *queue = Some(sender.clone());
                sender
            }
        };
        if let Err(mpsc::error::SendError((append, reply))) = sender.send((append, reply)) {
            append.commit.settle(CommitState::Failed);
            let _ = reply.send(Err(NotWritten::Unavailable("the committer stopped".into())));
        }
        answer
    }

    pub(crate) fn counts(&self) -> GroupCommits {
        let c = &self.counters;
        GroupCommits {
            groups: c.groups.load(Ordering::Relaxed),
            appends: c.appends.load(Ordering::Relaxed),
            entries: c.entries.load(Ordering::Relaxed),
            left_out: c.left_out.load(Ordering::Relaxed),
            passes_again: c.passes_again.load(Ordering::Relaxed),
            entries_per_group: c
                .entries_per_group
                .iter()
                .map(|n| n.load(Ordering::Relaxed))
                .collect(),
        }
    }
}

/// The name of the committer's thread, and of its PostgreSQL connections (`application_name`).
pub const COMMITTER_NAME: &str = "coprod-committer";

/// Starts the committer on a thread of its own, with a runtime of its own, which ends once the
/// queue's last sender is gone (the store was dropped). Every append waits on the committer, so
/// it must run as soon as a commit returns: as a task among the server's, it waited behind the
/// requests queued on its worker, and the database's answer was read only when a worker next
/// looked at the sockets. On a thread of its own the kernel wakes it when the answer arrives.
/// If the thread cannot start, the queue is dropped and each append is answered as unavailable.
fn start_committer(
    queue: mpsc::UnboundedReceiver<(Append, Reply)>,
    db: Db,
    instance: Uuid,
    counters: Arc<Counters>,
) {
    let started = std::thread::Builder::new()
        .name(COMMITTER_NAME.into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    tracing::error!(%error, "the group committer could not start its runtime");
                    return;
                }
            };
            runtime.block_on(async move {
                // The group's statement (or transaction), and the announcer's.
                let db = db.for_another_runtime(2, COMMITTER_NAME);
                run(queue, db.clone(), instance, counters).await;
                if let Db::Postgres(pool) = db {
                    pool.close().await;
                }
            });
        });
    if let Err(error) = started {
        tracing::error!(%error, "the group committer's thread could not start");
    }
}

/// The committer's task: takes whatever has queued up (bounded) as one group, writes it,
/// answers its appends once its commit returned, and starts again; while a group commits, the
/// next gathers in the queue.
///
/// One group at a time, on both stores. SQLite has one writer at a time anyway. On PostgreSQL a
/// second group in flight would share the log's flush with the first, but the groups were then
/// half as large, and with the committer on a thread of its own two in flight were slower than
/// one (at 16 clients on 64 projects, about 8,400 appends/s against 10,200/s; three and four
/// slower still). One at a time also keeps a project's appends in order without more: an
/// append that follows another (the same project's previous command) is in a later group only
/// once that one has returned, so it is left out if that one failed (`write_group`).
async fn run(
    mut queue: mpsc::UnboundedReceiver<(Append, Reply)>,
    db: Db,
    instance: Uuid,
    counters: Arc<Counters>,
) {
    // SQLite has no announcements: a stale head is caught by the entries' unique key.
    let announcer = match &db {
        Db::Postgres(pool) => Some(others::Announcer::start(pool.clone(), instance)),
        Db::Sqlite(_) => None,
    };
    let mut writer = Writer::new(db);
    let mut carried = None;
    loop {
        let first = match carried.take() {
            Some(first) => first,
            None => match queue.recv().await {
                Some(first) => first,
                None => return,
            },
        };
        let (mut rows, mut bytes) = (first.0.entries.len(), first.0.bytes());
        let mut group = vec![first];
        while rows < MAX_GROUP_ROWS && bytes < MAX_GROUP_BYTES {
            let Ok(next) = queue.try_recv() else { break };
            let (more_rows, more_bytes) = (next.0.entries.len(), next.0.bytes());
            if rows + more_rows > MAX_GROUP_ROWS || bytes + more_bytes > MAX_GROUP_BYTES {
                carried = Some(next);
                break;
            }
            rows += more_rows;
            bytes += more_bytes;
            group.push(next);
        }
        let (appends, replies): (Vec<Append>, Vec<Reply>) = group.into_iter().unzip();
        let outcomes = write_group(&mut writer, &appends, &counters).await;
        if let Some(announcer) = &announcer {
            announcer.committed(
                appends
                    .iter()
                    .zip(&outcomes)
                    .filter(|(_, outcome)| outcome.is_ok())
                    .filter_map(|(append, _)| append.entries.first())
                    .map(|entry| entry.aggregate_id.clone())
                    .collect(),
            );
        }
        for ((append, reply), outcome) in appends.iter().zip(replies).zip(outcomes) {
            append.commit.settle(if outcome.is_ok() {
                CommitState::Committed
            } else {
                CommitState::Failed
            });
            let _ = reply.send(outcome);
        }
    }
}

/// Writes a group: the outcome of each append, in order.
async fn write_group(
    writer: &mut Writer,
    appends: &[Append],
    counters: &Counters,
) -> Vec<Result<(), NotWritten>> {
    let mut outcomes: Vec<Option<Result<(), NotWritten>>> = vec![None; appends.len()];
    let mut passes = 0;
    loop {
        // Left out: an append following one that failed (in an earlier group or in this one).
        for (i, append) in appends.iter().enumerate() {
            if outcomes[i].is_none() {
                let follows_failed = append.commit.after().is_some_and(|after| {
                    after.state() == CommitState::Failed
                        || appends
                            .iter()
                            .zip(&outcomes)
                            .any(|(a, o)| Arc::ptr_eq(&a.commit, &after) && o.is_some())
                });
                if follows_failed {
                    outcomes[i] = Some(Err(NotWritten::Conflict));
                }
            }
        }
        let live: Vec<usize> = (0..appends.len())
            .filter(|&i| outcomes[i].is_none())
            .collect();
        if live.is_empty() {
            break;
        }
        if passes > 0 {
            counters.passes_again.fetch_add(1, Ordering::Relaxed);
        }
        passes += 1;
        match write_once(writer, appends, &live).await {
            Ok(Pass::Committed) => {
                let written = live;
                let entries: usize = written.iter().map(|&i| appends[i].entries.len()).sum();
                for &i in &written {
                    outcomes[i] = Some(Ok(()));
                }
                if !written.is_empty() {
                    metrics::counter!("coprod_group_commits_total").increment(1);
                    metrics::counter!("coprod_group_appends_total").increment(written.len() as u64);
                    counters.groups.fetch_add(1, Ordering::Relaxed);
                    counters
                        .appends
                        .fetch_add(written.len() as u64, Ordering::Relaxed);
                    counters
                        .entries
                        .fetch_add(entries as u64, Ordering::Relaxed);
                    counters.entries_per_group[entries.min(SIZE_BUCKETS)]
                        .fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
            Ok(Pass::RolledBack { left_out }) => {
                for (i, why) in left_out {
                    outcomes[i] = Some(Err(why));
                }
            }
            Err(error) => {
                let why = match classify(&error) {
                    // A deadlock with another server's group, or a serialisation failure: each
                    // append is tried again, as after any lost race.
                    Failure::Conflict => NotWritten::Conflict,
                    Failure::Unavailable => NotWritten::Unavailable(error.to_string()),
                    Failure::Internal => NotWritten::Internal(error.to_string()),
                };
                for &i in &live {
                    outcomes[i] = Some(Err(why.clone()));
                }
                break;
            }
        }
    }
    let outcomes: Vec<Result<(), NotWritten>> = outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(NotWritten::Internal("not written".into()))))
        .collect();
    let failed_alone = outcomes
        .iter()
        .filter(|o| matches!(o, Err(NotWritten::Conflict | NotWritten::ClaimLost)))
        .count();
    if failed_alone > 0 && outcomes.iter().any(Result::is_ok) {
        counters
            .left_out
            .fetch_add(failed_alone as u64, Ordering::Relaxed);
    }
    outcomes
}

/// How one pass over a group's live appends ended.
enum Pass {
    /// Committed: every live append is written.
    Committed,
    /// Rolled back because of those appends, which may have written part of their rows.
    RolledBack { left_out: Vec<(usize, NotWritten)> },
}

/// Where the committer writes its groups. On PostgreSQL the connection of one group is kept for
/// the next, rather than given back to the pool and taken again: every append waits while the
/// committer goes between groups. A connection kept idle for longer than the pool would leave
/// one unchecked is pinged first, as the pool would (`db.rs`), and one kept for
/// [`KEEP_CONNECTION_FOR`] is given back, so that the pool's own rules (its connections'
/// maximum lifetime) still apply.
struct Writer {
    db: Db,
    kept: Option<KeptConnection>,
}

impl Writer {
    fn new(db: Db) -> Writer {
        Writer { db, kept: None }
    }
}

struct KeptConnection {
    connection: sqlx::pool::PoolConnection<sqlx::Postgres>,
    taken: Instant,
    last_used: Instant,
}

const KEEP_CONNECTION_FOR: Duration = Duration::from_secs(60);

impl KeptConnection {
    /// The connection kept in `kept`, if it may still be used, or a new one from `pool`.
    async fn take(
        kept: &mut Option<KeptConnection>,
        pool: &sqlx::PgPool,
    ) -> Result<KeptConnection, sqlx::Error> {
        if let Some(mut connection) = kept.take() {
            if connection.taken.elapsed() > KEEP_CONNECTION_FOR {
                // Given back to the pool, which applies its own limits to it.
                drop(connection);
            } else if connection.last_used.elapsed() <= PING_AFTER_IDLE
                || sqlx::Connection::ping(&mut *connection.connection)
                    .await
                    .is_ok()
            {
                return Ok(connection);
            } else {
                connection.connection.close_on_drop();
            }
        }
        let connection = pool.acquire().await?;
        let now = Instant::now();
        Ok(KeptConnection {
            connection,
            taken: now,
            last_used: now,
        })
    }

    /// Keeps the connection in `kept` for the next group, unless its pass failed for another
    /// reason than an append losing its check: it may then be broken (the server restarting,
    /// say), and is closed, so that the next group takes a connection the pool has checked.
    fn keep<T>(mut self, kept: &mut Option<KeptConnection>, written: &Result<T, sqlx::Error>) {
        match written {
            Err(error) if lost_check(error).is_none() => self.connection.close_on_drop(),
            _ => {
                self.last_used = Instant::now();
                *kept = Some(self);
            }
        }
    }
}

/// The rows of the live appends, sorted by project and sequence (so that two servers' groups
/// take their row locks in the same order), with the append each belongs to.
fn entry_rows<'a>(appends: &'a [Append], live: &[usize]) -> Vec<(usize, &'a EntryToWrite)> {
    let mut rows: Vec<(usize, &EntryToWrite)> = live
        .iter()
        .flat_map(|&i| appends[i].entries.iter().map(move |e| (i, e)))
        .collect();
    rows.sort_by(|a, b| (&a.1.aggregate_id, a.1.sequence).cmp(&(&b.1.aggregate_id, b.1.sequence)));
    rows
}

fn key_rows<'a>(appends: &'a [Append], live: &[usize]) -> Vec<(usize, &'a NewKey)> {
    let mut rows: Vec<(usize, &NewKey)> = live
        .iter()
        .flat_map(|&i| appends[i].keys.iter().map(move |k| (i, k)))
        .collect();
    rows.sort_by(|a, b| {
        (&a.1.project_id, &a.1.participant_id).cmp(&(&b.1.project_id, &b.1.participant_id))
    });
    rows
}

/// One pass over the live appends: one round trip first (one statement on PostgreSQL, one batch
/// on SQLite), then, should an append have lost its check, one transaction that tells which
/// (see the module's comment).
async fn write_once(
    writer: &mut Writer,
    appends: &[Append],
    live: &[usize],
) -> Result<Pass, sqlx::Error> {
    let Writer { db, kept } = writer;
    match db {
        Db::Postgres(pool) => {
            let mut connection = KeptConnection::take(kept, pool).await?;
            let written = write_once_on(&mut connection.connection, appends, live).await;
            connection.keep(kept, &written);
            written
        }
        Db::Sqlite(pool) => {
            let written = write_in_one_batch(pool, appends, live).await;
            match round_trip(written, live)? {
                RoundTrip::Decided(pass) => Ok(pass),
                RoundTrip::TellWhich => tell_which_lost(pool.begin().await?, appends, live).await,
            }
        }
    }
}

/// [`write_once`] on one PostgreSQL connection.
async fn write_once_on(
    connection: &mut sqlx::PgConnection,
    appends: &[Append],
    live: &[usize],
) -> Result<Pass, sqlx::Error> {
    let written = write_in_one_statement(connection, appends, live).await;
    match round_trip(written, live)? {
        RoundTrip::Decided(pass) => Ok(pass),
        RoundTrip::TellWhich => {
            let tx = sqlx::Connection::begin(connection).await?;
            tell_which_lost(tx, appends, live).await
        }
    }
}

/// What a pass's first round trip decided.
enum RoundTrip {
    Decided(Pass),
    /// An append lost its check and the whole round trip was refused: a transaction tells which.
    TellWhich,
}

fn round_trip(written: Result<(), sqlx::Error>, live: &[usize]) -> Result<RoundTrip, sqlx::Error> {
    let error = match written {
        Ok(()) => return Ok(RoundTrip::Decided(Pass::Committed)),
        Err(error) => error,
    };
    let Some(why) = lost_check(&error) else {
        return Err(error);
    };
    Ok(match live {
        // Alone in its pass, the append is the one that lost.
        [only] => RoundTrip::Decided(Pass::RolledBack {
            left_out: vec![(*only, why)],
        }),
        _ => RoundTrip::TellWhich,
    })
}

/// The transaction that tells which of the live appends lost its check (see the module's
/// comment): it commits only if none did.
async fn tell_which_lost<DB: GroupSql>(
    mut tx: Tx<'_, DB>,
    appends: &[Append],
    live: &[usize],
) -> Result<Pass, sqlx::Error> {
    // 1. The answers: an append whose claim a retry took over is left out.
    let answering: Vec<usize> = live
        .iter()
        .copied()
        .filter(|&i| appends[i].answer.is_some())
        .collect();
    if !answering.is_empty() {
        let answered = keep_answers(&mut tx, appends, &answering).await?;
        let lost: Vec<(usize, NotWritten)> = answering
            .iter()
            .filter(|&&i| {
                appends[i].answer.as_ref().is_some_and(|a| {
                    !answered.contains(&(a.ticket.principal.clone(), a.ticket.key.clone()))
                })
            })
            .map(|&i| (i, NotWritten::ClaimLost))
            .collect();
        if !lost.is_empty() {
            tx.rollback().await?;
            return Ok(Pass::RolledBack { left_out: lost });
        }
    }
    // 2. The data keys: an append whose key another commit stored first starts again.
    let keys = key_rows(appends, live);
    if !keys.is_empty() {
        let stored = insert_keys(&mut tx, &keys).await?;
        let lost = losers(keys.iter().map(|(i, k)| {
            let mine = (k.project_id.clone(), k.participant_id.clone());
            (*i, stored.contains(&mine))
        }));
        if !lost.is_empty() {
            tx.rollback().await?;
            return Ok(Pass::RolledBack { left_out: lost });
        }
    }
    // 3. The entries: an append whose sequence was taken was chained on a stale head.
    let rows = entry_rows(appends, live);
    let stored = insert_entries(&mut tx, &rows).await?;
    let lost = losers(
        rows.iter()
            .map(|(i, e)| (*i, stored.contains(&(e.aggregate_id.clone(), e.sequence)))),
    );
    if !lost.is_empty() {
        tx.rollback().await?;
        return Ok(Pass::RolledBack { left_out: lost });
    }
    tx.commit().await?;
    Ok(Pass::Committed)
}

/// The appends with at least one row not written, each once, as conflicts.
fn losers(rows: impl Iterator<Item = (usize, bool)>) -> Vec<(usize, NotWritten)> {
    let mut lost: Vec<(usize, NotWritten)> = Vec::new();
    for (i, written) in rows {
        if !written && !lost.iter().any(|(o, _)| *o == i) {
            lost.push((i, NotWritten::Conflict));
        }
    }
    lost
}

/// The executor of a transaction on either backend.
type Tx<'c, DB> = sqlx::Transaction<'c, DB>;

/// Keeps the answers of `answering` where their claims are still theirs; the claims kept.
async fn keep_answers<DB: GroupSql>(
    tx: &mut Tx<'_, DB>,
    appends: &[Append],
    answering: &[usize],
) -> Result<HashSet<(String, String)>, sqlx::Error> {
    DB::keep_answers(tx, appends, answering).await
}

async fn insert_keys<DB: GroupSql>(
    tx: &mut Tx<'_, DB>,
    keys: &[(usize, &NewKey)],
) -> Result<HashSet<(String, String)>, sqlx::Error> {
    DB::insert_keys(tx, keys).await
}

async fn insert_entries<DB: GroupSql>(
    tx: &mut Tx<'_, DB>,
    rows: &[(usize, &EntryToWrite)],
) -> Result<HashSet<(String, i64)>, sqlx::Error> {
    DB::insert_entries(tx, rows).await
}

/// The error with which PostgreSQL refuses a group whose idempotency claims are not all still
/// theirs (raised by `coprod_require`, see the migration that makes it).
const CLAIM_TAKEN_OVER: &str = "CP001";
/// SQLite's `SQLITE_CONSTRAINT_CHECK`, and the name of the check that a batch breaks on purpose
/// when its idempotency claims are not all still theirs (see the migration of
/// `statement_checks`).
const SQLITE_CHECK_FAILED: &str = "275";
const SQLITE_CLAIM_TAKEN_OVER: &str = "claim_taken_over";

/// Whether `error` says that an append of the statement's group lost its check (and what it
/// means for an append alone), rather than that the database failed: the statement was then
/// rolled back whole.
fn lost_check(error: &sqlx::Error) -> Option<NotWritten> {
    let sqlx::Error::Database(db) = error else {
        return None;
    };
    match db.code().as_deref() {
        Some(CLAIM_TAKEN_OVER) => Some(NotWritten::ClaimLost),
        Some(SQLITE_CHECK_FAILED) if db.message().contains(SQLITE_CLAIM_TAKEN_OVER) => {
            Some(NotWritten::ClaimLost)
        }
        _ if classify(error) == Failure::Conflict => Some(NotWritten::Conflict),
        _ => None,
    }
}

/// The whole group on PostgreSQL in one statement, which commits on its own: the answers, the
/// data keys and the entries, all or nothing, in one round trip (a
/// transaction around the three statements takes five). A sequence or a data key another
/// commit took first breaks a unique key, and a claim a retry took over fails `coprod_require`;
/// either error rolls the whole statement back, and the caller finds out which append it was.
/// A group without idempotent answers has no claim to check, and writes the keys and the
/// entries alone (in alternating runs at 16 clients, about 6 % more appends per second).
async fn write_in_one_statement(
    connection: &mut sqlx::PgConnection,
    appends: &[Append],
    live: &[usize],
) -> Result<(), sqlx::Error> {
    let rows = entry_rows(appends, live);
    let entries = EntryColumns::of(&rows);
    let answers = answers_of(appends, live);
    let sql = if answers.is_empty() {
        &*GROUP_WITHOUT_ANSWERS_POSTGRES
    } else {
        &*GROUP_WITH_ANSWERS_POSTGRES
    };
    let mut query = sqlx::query(sql)
        .bind(AGGREGATE_TYPE)
        .bind(entries.ids)
        .bind(entries.sequences)
        .bind(entries.types)
        .bind(entries.versions)
        .bind(entries.payloads)
        .bind(entries.metadata);
    if !answers.is_empty() {
        let answers = AnswerColumns::of(&answers);
        query = query
            .bind(answers.statuses)
            .bind(answers.bodies)
            .bind(answers.principals)
            .bind(answers.keys)
            .bind(answers.claimed_at);
    }
    let keys = KeyColumns::of(&key_rows(appends, live));
    query
        .bind(keys.project_ids)
        .bind(keys.participant_ids)
        .bind(keys.wrapped_keys)
        .bind(keys.master_key_ids)
        .bind(keys.created_at)
        .execute(connection)
        .await?;
    Ok(())
}

/// The group's statement without idempotent answers: the entries' seven parameters, then the
/// keys' five.
static GROUP_WITHOUT_ANSWERS_POSTGRES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH keys AS ({} RETURNING 1) {INSERT_ENTRIES_POSTGRES} ORDER BY r.n",
        insert_keys_postgres(8),
    )
});

/// The group's statement with idempotent answers: the entries' seven parameters, the answers'
/// five, then the keys' five.
static GROUP_WITH_ANSWERS_POSTGRES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH answered AS ({} RETURNING 1), keys AS ({} RETURNING 1), \
              entries AS ({INSERT_ENTRIES_POSTGRES} ORDER BY r.n RETURNING 1) \
         SELECT 1 \
         WHERE coprod_require((SELECT count(*) FROM answered) = cardinality($8::int[]), \
                              '{CLAIM_TAKEN_OVER}', 'an idempotency claim was taken over')",
        keep_answers_postgres(8),
        insert_keys_postgres(13),
    )
});

/// The whole group on SQLite in one batch of statements, which the connection's thread runs in
/// one go: `BEGIN IMMEDIATE`, the answers, their check, the entries, the data keys, `COMMIT`
/// (each statement of a transaction otherwise costs a hop to that thread and back, about a
/// tenth of a millisecond under load, while the next group waits). A taken sequence or key
/// breaks a unique key, and a claim a retry took over (fewer answers kept than sent) breaks
/// the check of `statement_checks`; either stops the batch, it is rolled back, and nothing is
/// written.
async fn write_in_one_batch(
    pool: &sqlx::SqlitePool,
    appends: &[Append],
    live: &[usize],
) -> Result<(), sqlx::Error> {
    let entries = EntryColumns::json(&entry_rows(appends, live))?;
    let keys = KeyColumns::json(&key_rows(appends, live))?;
    let answers = AnswerColumns::json(&answers_of(appends, live))?;
    let mut connection = OpenUntilDone {
        connection: pool.acquire().await?,
        done: false,
    };
    let executor = &mut *connection.connection;
    let written = sqlx::query(&GROUP_SQLITE)
        .bind(AGGREGATE_TYPE)
        .bind(entries)
        .bind(keys)
        .bind(answers)
        .execute(&mut *executor)
        .await;
    // A statement that failed left the transaction open: it is rolled back before the
    // connection is used again (if that fails too, the connection is closed instead).
    if let Err(error) = written {
        if sqlx::query("ROLLBACK")
            .execute(&mut *executor)
            .await
            .is_ok()
        {
            connection.done();
        }
        return Err(error);
    }
    connection.done();
    Ok(())
}

/// The group's batch on SQLite: the entries in parameter 2, the keys in 3, the answers in 4.
static GROUP_SQLITE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "BEGIN IMMEDIATE; {}; \
         INSERT INTO statement_checks (holds) SELECT 0 WHERE changes() <> json_array_length($4); \
         {INSERT_ENTRIES_SQLITE} ORDER BY r.key; {}; COMMIT;",
        keep_answers_sqlite(4),
        insert_keys_sqlite(3)
    )
});

/// A pooled connection that is closed, not given back, unless [`OpenUntilDone::done`] was
/// called or a rollback succeeded: a batch interrupted half-way (its future dropped) may have
/// left its transaction open.
struct OpenUntilDone {
    connection: sqlx::pool::PoolConnection<sqlx::Sqlite>,
    done: bool,
}

impl OpenUntilDone {
    fn done(mut self) {
        self.done = true;
    }
}

impl Drop for OpenUntilDone {
    fn drop(&mut self) {
        if !self.done {
            self.connection.close_on_drop();
        }
    }
}

/// Rows go to PostgreSQL as one array per column (`UNNEST`), and to SQLite as one JSON array of
/// rows (`json_each`): one statement, of the same text whatever the group's size (so that it is
/// prepared once per connection). Payloads and metadata travel as text, as sqlx sends a JSON
/// value to a `json` column, so the stored text is byte for byte what a single-row insert
/// stores.
const INSERT_ENTRIES_POSTGRES: &str = "INSERT INTO events \
     (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
     SELECT $1, r.aggregate_id, r.sequence, r.event_type, r.event_version, r.payload::json, \
            r.metadata::json \
     FROM UNNEST($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) \
          WITH ORDINALITY AS r(aggregate_id, sequence, event_type, event_version, payload, \
                               metadata, n)";
const INSERT_ENTRIES_SQLITE: &str = "INSERT INTO events \
     (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
     SELECT $1, r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, \
            r.value ->> 5 \
     FROM json_each($2) AS r WHERE true";

/// The answers' update on PostgreSQL, its five columns from parameter `$first` on.
fn keep_answers_postgres(first: usize) -> String {
    let [a, b, c, d, e] = std::array::from_fn(|i| first + i);
    format!(
        "UPDATE idempotency_keys AS k SET status = a.status, body = a.body \
         FROM UNNEST(${a}::int[], ${b}::text[], ${c}::text[], ${d}::text[], ${e}::text[]) \
              AS a(status, body, principal, key, claimed_at) \
         WHERE k.principal = a.principal AND k.key = a.key AND k.status = 0 \
           AND k.created_at = a.claimed_at"
    )
}

/// The data keys' insert on PostgreSQL, its five columns from parameter `$first` on.
fn insert_keys_postgres(first: usize) -> String {
    let [a, b, c, d, e] = std::array::from_fn(|i| first + i);
    format!(
        "INSERT INTO participant_keys \
         (project_id, participant_id, wrapped_key, master_key_id, created_at) \
         SELECT k.project_id, k.participant_id, k.wrapped_key, k.master_key_id, k.created_at \
         FROM UNNEST(${a}::text[], ${b}::text[], ${c}::text[], ${d}::text[], ${e}::text[]) \
              WITH ORDINALITY \
              AS k(project_id, participant_id, wrapped_key, master_key_id, created_at, n) \
         ORDER BY k.n"
    )
}

/// The answers' update on SQLite, its rows as one JSON array (see [`AnswerColumns::json`]) in
/// parameter `$param`.
fn keep_answers_sqlite(param: usize) -> String {
    format!(
        "UPDATE idempotency_keys SET status = a.value ->> 0, body = a.value ->> 1 \
         FROM json_each(${param}) AS a \
         WHERE idempotency_keys.principal = a.value ->> 2 \
           AND idempotency_keys.key = a.value ->> 3 \
           AND idempotency_keys.status = 0 \
           AND idempotency_keys.created_at = a.value ->> 4"
    )
}

/// The data keys' insert on SQLite, its rows as one JSON array (see [`KeyColumns::json`]) in
/// parameter `$param`.
fn insert_keys_sqlite(param: usize) -> String {
    format!(
        "INSERT INTO participant_keys \
         (project_id, participant_id, wrapped_key, master_key_id, created_at) \
         SELECT k.value ->> 0, k.value ->> 1, k.value ->> 2, k.value ->> 3, k.value ->> 4 \
         FROM json_each(${param}) AS k WHERE true ORDER BY k.key"
    )
}

/// The columns bound as arrays borrow the group's text rather than copy it: the committer, which
/// every append waits on, spent half of its time copying.
struct AnswerColumns<'a> {
    statuses: Vec<i32>,
    bodies: Vec<&'a str>,
    principals: Vec<&'a str>,
    keys: Vec<&'a str>,
    claimed_at: Vec<&'a str>,
}

impl<'a> AnswerColumns<'a> {
    fn of(answers: &[&'a KeptAnswer]) -> AnswerColumns<'a> {
        AnswerColumns {
            statuses: answers.iter().map(|a| i32::from(a.status)).collect(),
            bodies: answers.iter().map(|a| a.body.as_str()).collect(),
            principals: answers
                .iter()
                .map(|a| a.ticket.principal.as_str())
                .collect(),
            keys: answers.iter().map(|a| a.ticket.key.as_str()).collect(),
            claimed_at: answers
                .iter()
                .map(|a| a.ticket.claimed_at.as_str())
                .collect(),
        }
    }

    /// `[[status, body, principal, key, claimed_at], …]`
    fn json(answers: &[&KeptAnswer]) -> Result<String, sqlx::Error> {
        json_rows(answers.iter().map(|a| {
            (
                a.status,
                &a.body,
                &a.ticket.principal,
                &a.ticket.key,
                &a.ticket.claimed_at,
            )
        }))
    }
}

struct KeyColumns<'a> {
    project_ids: Vec<&'a str>,
    participant_ids: Vec<&'a str>,
    wrapped_keys: Vec<&'a str>,
    master_key_ids: Vec<&'a str>,
    created_at: Vec<&'a str>,
}

impl<'a> KeyColumns<'a> {
    fn of(keys: &[(usize, &'a NewKey)]) -> KeyColumns<'a> {
        let column =
            |f: fn(&NewKey) -> &str| keys.iter().map(|(_, k)| f(k)).collect::<Vec<&'a str>>();
        KeyColumns {
            project_ids: column(|k| &k.project_id),
            participant_ids: column(|k| &k.participant_id),
            wrapped_keys: column(|k| &k.wrapped_key),
            master_key_ids: column(|k| &k.master_key_id),
            created_at: column(|k| &k.created_at),
        }
    }

    /// `[[project_id, participant_id, wrapped_key, master_key_id, created_at], …]`
    fn json(keys: &[(usize, &NewKey)]) -> Result<String, sqlx::Error> {
        json_rows(keys.iter().map(|(_, k)| {
            (
                &k.project_id,
                &k.participant_id,
                &k.wrapped_key,
                &k.master_key_id,
                &k.created_at,
            )
        }))
    }
}

struct EntryColumns<'a> {
    ids: Vec<&'a str>,
    sequences: Vec<i64>,
    types: Vec<&'a str>,
    versions: Vec<&'a str>,
    payloads: Vec<&'a str>,
    metadata: Vec<&'a str>,
}

impl<'a> EntryColumns<'a> {
    fn of(rows: &[(usize, &'a EntryToWrite)]) -> EntryColumns<'a> {
        EntryColumns {
            ids: rows.iter().map(|(_, e)| e.aggregate_id.as_str()).collect(),
            sequences: rows.iter().map(|(_, e)| e.sequence).collect(),
            types: rows.iter().map(|(_, e)| e.event_type.as_str()).collect(),
            versions: rows.iter().map(|(_, e)| e.event_version.as_str()).collect(),
            payloads: rows.iter().map(|(_, e)| e.payload.as_str()).collect(),
            metadata: rows.iter().map(|(_, e)| e.metadata.as_str()).collect(),
        }
    }

    /// `[[aggregate_id, sequence, event_type, event_version, payload text, metadata text], …]`
    fn json(rows: &[(usize, &EntryToWrite)]) -> Result<String, sqlx::Error> {
        json_rows(rows.iter().map(|(_, e)| {
            (
                &e.aggregate_id,
                e.sequence,
                &e.event_type,
                &e.event_version,
                &e.payload,
                &e.metadata,
            )
        }))
    }
}

/// Rows as one JSON array of arrays (serde writes a tuple as an array), written straight from
/// the group's text.
fn json_rows<Row: serde::Serialize>(
    rows: impl Iterator<Item = Row>,
) -> Result<String, sqlx::Error> {
    let rows: Vec<Row> = rows.collect();
    serde_json::to_string(&rows).map_err(|error| sqlx::Error::Encode(Box::new(error)))
}

/// The group's three statements, as each backend writes them.
trait GroupSql: sqlx::Database {
    async fn keep_answers(
        tx: &mut Tx<'_, Self>,
        appends: &[Append],
        answering: &[usize],
    ) -> Result<HashSet<(String, String)>, sqlx::Error>;
    async fn insert_keys(
        tx: &mut Tx<'_, Self>,
        keys: &[(usize, &NewKey)],
    ) -> Result<HashSet<(String, String)>, sqlx::Error>;
    async fn insert_entries(
        tx: &mut Tx<'_, Self>,
        rows: &[(usize, &EntryToWrite)],
    ) -> Result<HashSet<(String, i64)>, sqlx::Error>;
}

fn answers_of<'a>(appends: &'a [Append], answering: &[usize]) -> Vec<&'a KeptAnswer> {
    answering
        .iter()
        .filter_map(|&i| appends[i].answer.as_ref())
        .collect()
}

impl GroupSql for sqlx::Postgres {
    async fn keep_answers(
        tx: &mut Tx<'_, Self>,
        appends: &[Append],
        answering: &[usize],
    ) -> Result<HashSet<(String, String)>, sqlx::Error> {
        let sql = format!("{} RETURNING k.principal, k.key", keep_answers_postgres(1));
        let a = AnswerColumns::of(&answers_of(appends, answering));
        let rows: Vec<(String, String)> = sqlx::query_as(&sql)
            .bind(a.statuses)
            .bind(a.bodies)
            .bind(a.principals)
            .bind(a.keys)
            .bind(a.claimed_at)
            .fetch_all(&mut **tx)
            .await?;
        Ok(rows.into_iter().collect())
    }

    async fn insert_keys(
        tx: &mut Tx<'_, Self>,
        keys: &[(usize, &NewKey)],
    ) -> Result<HashSet<(String, String)>, sqlx::Error> {
        let sql = format!(
            "{} ON CONFLICT (project_id, participant_id) DO NOTHING \
             RETURNING project_id, participant_id",
            insert_keys_postgres(1)
        );
        let k = KeyColumns::of(keys);
        let rows: Vec<(String, String)> = sqlx::query_as(&sql)
            .bind(k.project_ids)
            .bind(k.participant_ids)
            .bind(k.wrapped_keys)
            .bind(k.master_key_ids)
            .bind(k.created_at)
            .fetch_all(&mut **tx)
            .await?;
        Ok(rows.into_iter().collect())
    }

    async fn insert_entries(
        tx: &mut Tx<'_, Self>,
        rows: &[(usize, &EntryToWrite)],
    ) -> Result<HashSet<(String, i64)>, sqlx::Error> {
        let sql = format!(
            "{INSERT_ENTRIES_POSTGRES} ORDER BY r.n ON CONFLICT DO NOTHING \
             RETURNING aggregate_id, sequence"
        );
        let c = EntryColumns::of(rows);
        let stored: Vec<(String, i64)> = sqlx::query_as(&sql)
            .bind(AGGREGATE_TYPE)
            .bind(c.ids)
            .bind(c.sequences)
            .bind(c.types)
            .bind(c.versions)
            .bind(c.payloads)
            .bind(c.metadata)
            .fetch_all(&mut **tx)
            .await?;
        Ok(stored.into_iter().collect())
    }
}

impl GroupSql for sqlx::Sqlite {
    async fn keep_answers(
        tx: &mut Tx<'_, Self>,
        appends: &[Append],
        answering: &[usize],
    ) -> Result<HashSet<(String, String)>, sqlx::Error> {
        let sql = format!(
            "{} RETURNING idempotency_keys.principal, idempotency_keys.key",
            keep_answers_sqlite(1)
        );
        let rows: Vec<(String, String)> = sqlx::query_as(&sql)
            .bind(AnswerColumns::json(&answers_of(appends, answering))?)
            .fetch_all(&mut **tx)
            .await?;
        Ok(rows.into_iter().collect())
    }

    async fn insert_keys(
        tx: &mut Tx<'_, Self>,
        keys: &[(usize, &NewKey)],
    ) -> Result<HashSet<(String, String)>, sqlx::Error> {
        let sql = format!(
            "{} ON CONFLICT (project_id, participant_id) DO NOTHING \
             RETURNING project_id, participant_id",
            insert_keys_sqlite(1)
        );
        let rows: Vec<(String, String)> = sqlx::query_as(&sql)
            .bind(KeyColumns::json(keys)?)
            .fetch_all(&mut **tx)
            .await?;
        Ok(rows.into_iter().collect())
    }

    async fn insert_entries(
        tx: &mut Tx<'_, Self>,
        rows: &[(usize, &EntryToWrite)],
    ) -> Result<HashSet<(String, i64)>, sqlx::Error> {
        let sql = format!(
            "{INSERT_ENTRIES_SQLITE} ORDER BY r.key ON CONFLICT DO NOTHING \
             RETURNING aggregate_id, sequence"
        );
        let stored: Vec<(String, i64)> = sqlx::query_as(&sql)
            .bind(AGGREGATE_TYPE)
            .bind(EntryColumns::json(rows)?)
            .fetch_all(&mut **tx)
            .await?;
        Ok(stored.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append_of(commit: &Arc<PendingCommit>) -> Append {
        Append {
            entries: Vec::new(),
            keys: Vec::new(),
            answer: None,
            commit: commit.clone(),
        }
    }

    #[tokio::test]
    async fn an_append_whose_writer_panicked_fails_and_so_do_those_decided_after_it() {
        let first = PendingCommit::new(None);
        let second = PendingCommit::new(Some(first.clone()));
        let held = append_of(&first);
        let writer = tokio::spawn(async move {
            let _held = held;
            panic!("the writer panicked mid-commit");
        });
        assert!(writer.await.is_err_and(|e| e.is_panic()));
        assert_eq!(first.state(), CommitState::Failed);
        assert_eq!(first.settled().await, CommitState::Failed);
        assert!(second.doomed());

        // The next group leaves the append decided after it out, as a conflict, before writing.
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", directory.path().join("group.db").display());
        let db = Db::connect(&url).await.unwrap();
        let counters = Counters::default();
        let outcomes = write_group(&mut Writer::new(db), &[append_of(&second)], &counters).await;
        assert_eq!(outcomes, vec![Err(NotWritten::Conflict)]);
        assert_eq!(second.state(), CommitState::Failed);
        assert_eq!(counters.groups.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn an_append_dropped_after_its_commit_keeps_its_state() {
        let committed = PendingCommit::new(None);
        let append = append_of(&committed);
        committed.settle(CommitState::Committed);
        drop(append);
        assert_eq!(committed.state(), CommitState::Committed);
    }
}
