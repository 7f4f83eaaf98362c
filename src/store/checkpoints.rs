//! Signed checkpoints, stored (see `coprod_domain::checkpoint` and docs/checkpoints.md): the
//! `checkpoints` and `checkpoint_heads` tables, the checkpoint key this process was given, the log
//! read back and checked against that key, making the next checkpoint, and checking a project's
//! trail against the latest one and against the head its view recorded.
//!
//! Nothing here trusts the two tables for more than their signatures and trees prove: the log is
//! rebuilt with `CheckpointLog::from_stored`, which checks every signature, link and tree. A
//! process keeps the log it last checked (checking thousands of signatures on every request would
//! be slow) and the highest checkpoint number it has seen, so that checkpoints removed from the
//! database behind its back are reported rather than silently forgotten.
//!
//! Reads that are compared with each other are made in an order that cannot raise a false alarm:
//! the log and the view first, the entries after them, so the entries always hold at least
//! what the checkpoint and the view had seen.

use coprod_domain::words::{agrees, count};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as SyncMutex, RwLock};

use coprod_domain::checkpoint::{
    check_trail, CheckpointLog, CheckpointPublicKey, CheckpointRefusal, CheckpointSigningKey, Head,
    LogError, LoggedHead, SignedCheckpoint,
};
use coprod_domain::digest::verify_chain;
use coprod_domain::{Digest, StoredEntry};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::db::{metadata_map, on_db, Db, AGGREGATE_TYPE};
use super::error::{classify, Failure};
use super::{Store, StoreError};

/// Heads written by one statement (4 parameters each, within both databases' limits).
const HEADS_PER_STATEMENT: usize = 1000;

/// What a process keeps about checkpoints (one per [`Store`], shared by its clones).
#[derive(Default)]
pub(crate) struct Checkpointing {
    key: RwLock<GivenKey>,
    /// The log as last read and checked (with the key it was checked with), or made, by this
    /// process.
    log: SyncMutex<Option<(CheckpointPublicKey, Arc<CheckpointLog>)>>,
    /// Keeps two checkpoints from being made at once by one process.
    making: tokio::sync::Mutex<()>,
    /// The highest checkpoint number this process has read or made.
    highest_seen: AtomicU64,
}

/// The checkpoint key a process was given: the secret one, which makes and checks checkpoints,
/// or only the public one, which checks them.
#[derive(Default, Clone)]
struct GivenKey {
    public: Option<CheckpointPublicKey>,
    signing: Option<Arc<CheckpointSigningKey>>,
}

/// Why checkpoints cannot be read, made or checked against.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error(
        "checkpoints are off: no checkpoint key was given (COPROD_CHECKPOINT_KEY or the \
         checkpoint key file)"
    )]
    Off,
    #[error("the stored checkpoints cannot be trusted: {0}")]
    Untrusted(#[from] LogError),
    #[error("stored checkpoint {number} cannot be read: {why}")]
    Unreadable { number: i64, why: String },
    #[error(
        "this process has seen checkpoint {seen}, but only {} stored: \
         checkpoints were removed from the database", stored_words(*.stored)
    )]
    Removed { seen: u64, stored: u64 },
    #[error(
        "checkpoint {number} was not made: {} no longer {} what the \
         checkpoints recorded: {}",
        count(.problems.len(), "project", "projects"),
        agrees(.problems.len(), "holds", "hold"),
        .problems.join("; ")
    )]
    Refused { number: u64, problems: Vec<String> },
    #[error("checkpoint {number} was not made: {why}")]
    NotMade { number: u64, why: String },
    #[error("another process made checkpoint {0} at the same moment; nothing was stored here")]
    Raced(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A checkpoint just made: the signed checkpoint, how many heads it logged, and whether it
/// logged anything that the previous one had not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeCheckpoint {
    pub checkpoint: SignedCheckpoint,
    pub logged: usize,
}

/// A trail checked against the head the latest checkpoint holds for its project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckpointCheck {
    /// The latest checkpoint, when it holds the project.
    pub number: Option<u64>,
    /// The entry and chain digest the checkpoint holds for the project.
    pub sequence: Option<u64>,
    pub digest: Option<String>,
    /// Whether the trail still holds that head; `null` when there was nothing to check against.
    pub valid: Option<bool>,
    /// Why it does not hold, or why it was not checked.
    pub problem: Option<String>,
}

/// A trail compared with the head the project's view recorded when it was last written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ViewCheck {
    pub sequence: Option<u64>,
    pub digest: Option<String>,
    /// Whether the trail still reaches that entry with that digest; `null` without a view.
    pub valid: Option<bool>,
    pub problem: Option<String>,
}

/// A project's entries, read after what they are checked against, and both checks.
#[derive(Debug, Clone)]
pub struct GuardedEntries {
    pub entries: Vec<StoredEntry>,
    pub checkpoint: CheckpointCheck,
    pub view: ViewCheck,
}

impl CheckpointCheck {
    fn unchecked(problem: impl Into<String>) -> CheckpointCheck {
        CheckpointCheck {
            number: None,
            sequence: None,
            digest: None,
            valid: None,
            problem: Some(problem.into()),
        }
    }

    /// `entries` (a project's, in order, possibly none) against what `log`'s latest checkpoint
    /// holds for `project_id`.
    pub fn of(log: &CheckpointLog, project_id: Uuid, entries: &[StoredEntry]) -> CheckpointCheck {
        let Some(latest) = log.latest() else {
            return CheckpointCheck::unchecked("no checkpoint has been made yet");
        };
        let number = latest.checkpoint.number;
        let Some(head) = log.latest_head(project_id) else {
            return CheckpointCheck::unchecked(format!(
                "checkpoint {number} does not hold this project: it was registered after it"
            ));
        };
        let problem = check_trail(entries, &head).err().map(|e| e.to_string());
        CheckpointCheck {
            number: Some(number),
            sequence: Some(head.sequence),
            digest: Some(head.digest.to_string()),
            valid: Some(problem.is_none()),
            problem,
        }
    }

    /// What to answer when the log could not be read: unchecked when checkpoints are off, else
    /// a failure naming why.
    pub fn failed(error: &CheckpointError) -> CheckpointCheck {
        match error {
            CheckpointError::Off => CheckpointCheck::unchecked(error.to_string()),
            other => CheckpointCheck {
                valid: Some(false),
                ..CheckpointCheck::unchecked(other.to_string())
            },
        }
    }
}

impl ViewCheck {
    /// `entries` against the head a view body recorded (`sequence` and `digest`), if any.
    pub fn of(view: Option<&Value>, entries: &[StoredEntry]) -> ViewCheck {
        let recorded = view.and_then(|view| {
            let sequence = view.get("sequence")?.as_u64()?;
            let digest: Digest = view.get("digest")?.as_str()?.parse().ok()?;
            Some((sequence, digest))
        });
        let Some((sequence, digest)) = recorded else {
            return ViewCheck {
                sequence: None,
                digest: None,
                valid: None,
                problem: Some("the project has no view recording its head".into()),
            };
        };
        let chain = verify_chain(entries);
        let at = usize::try_from(sequence)
            .ok()
            .and_then(|s| s.checked_sub(1))
            .and_then(|i| chain.heads.get(i));
        let problem = match at {
            None => Some(format!(
                "the project's view recorded entry {sequence}, but the trail has {} entries: \
                 entries were removed",
                chain.heads.len()
            )),
            Some(found) if *found != digest => Some(format!(
                "entry {sequence} now hashes to {found}, not to {digest} as the project's view \
                 recorded: the trail was rewritten or rolled back at or before entry {sequence}"
            )),
            Some(_) => None,
        };
        ViewCheck {
            sequence: Some(sequence),
            digest: Some(digest.to_string()),
            valid: Some(problem.is_none()),
            problem,
        }
    }
}

impl Store {
    /// Gives this store the checkpoint key: checkpoints are made and checked with it from now on.
    pub fn set_checkpoint_key(&self, key: CheckpointSigningKey) {
        self.give_key(GivenKey {
            public: Some(key.public_key()),
            signing: Some(Arc::new(key)),
        });
    }

    /// Gives this store only the public checkpoint key: checkpoints are checked with it, and
    /// none can be made.
    pub fn set_checkpoint_public_key(&self, key: CheckpointPublicKey) {
        self.give_key(GivenKey {
            public: Some(key),
            signing: None,
        });
    }

    fn give_key(&self, given: GivenKey) {
        let key = &self.inner.checkpoints.key;
        *key.write().unwrap_or_else(|e| e.into_inner()) = given;
    }

    fn given_key(&self) -> GivenKey {
        let key = &self.inner.checkpoints.key;
        key.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The public checkpoint key, if this store was given one.
    pub fn checkpoint_public_key(&self) -> Option<CheckpointPublicKey> {
        self.given_key().public
    }

    /// How many checkpoints are stored, and the key id of the latest (for a key that does not
    /// match: see `crate::checkpoint_key`).
    pub async fn stored_checkpoints(&self) -> Result<(u64, Option<String>), StoreError> {
        let sql = "SELECT count(*), (SELECT key_id FROM checkpoints ORDER BY number DESC LIMIT 1) \
                   FROM checkpoints";
        let (count, key_id): (i64, Option<String>) =
            on_db!(&self.inner.db, |pool| sqlx::query_as(sql)
                .fetch_one(pool)
                .await?);
        Ok((count.max(0) as u64, key_id))
    }

    /// The stored log, checked with this store's checkpoint key.
    pub async fn checkpoint_log(&self) -> Result<Arc<CheckpointLog>, CheckpointError> {
        let key = self.checkpoint_public_key().ok_or(CheckpointError::Off)?;
        self.current_log(&key).await
    }

    /// The cached log if it was checked with `key` and no checkpoint was made since, else the
    /// log read again and checked.
    async fn current_log(
        &self,
        key: &CheckpointPublicKey,
    ) -> Result<Arc<CheckpointLog>, CheckpointError> {
        let (stored, _) = self.stored_checkpoints().await?;
        let seen = self.inner.checkpoints.highest_seen.load(Ordering::SeqCst);
        if stored < seen {
            return Err(CheckpointError::Removed { seen, stored });
        }
        let cached = self.cached_log().filter(|(checked_with, log)| {
            checked_with == key && log.checkpoints().len() as u64 == stored
        });
        if let Some((_, log)) = cached {
            return Ok(log);
        }
        let log = self.inner.db.read_checkpoint_log(key).await?;
        self.saw(&log)?;
        let log = Arc::new(log);
        self.cache_log(key, log.clone());
        Ok(log)
    }

    fn cached_log(&self) -> Option<(CheckpointPublicKey, Arc<CheckpointLog>)> {
        let cached = self.inner.checkpoints.log.lock();
        cached.unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Keeps `log` unless a longer one is kept already (another task read or made it).
    fn cache_log(&self, key: &CheckpointPublicKey, log: Arc<CheckpointLog>) {
        let mut cached = self
            .inner
            .checkpoints
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let longer_kept = cached.as_ref().is_some_and(|(checked_with, kept)| {
            checked_with == key && kept.checkpoints().len() > log.checkpoints().len()
        });
        if !longer_kept {
            *cached = Some((*key, log));
        }
    }

    /// Notes the latest checkpoint of `log` as seen; refuses a log shorter than one seen before.
    fn saw(&self, log: &CheckpointLog) -> Result<(), CheckpointError> {
        let stored = log.checkpoints().len() as u64;
        let seen = self
            .inner
            .checkpoints
            .highest_seen
            .fetch_max(stored, Ordering::SeqCst);
        if stored < seen {
            return Err(CheckpointError::Removed { seen, stored });
        }
        Ok(())
    }

    /// Makes, signs and stores the next checkpoint over every project's head now. With
    /// `only_if_changed`, nothing is made (`None`) when no project is new or moved on.
    ///
    /// Before a project that moved on is logged, its trail is checked against the head the
    /// latest checkpoint holds for it (`check_trail`), and its chain up to its new head against
    /// the stored digests: a checkpoint never vouches for a trail that no longer passes through
    /// what was checkpointed. If any project fails, nothing is made and every failure is named.
    pub async fn make_checkpoint(
        &self,
        only_if_changed: bool,
    ) -> Result<Option<MadeCheckpoint>, CheckpointError> {
        let key = self.given_key().signing.ok_or(CheckpointError::Off)?;
        let public_key = key.public_key();
        let _making = self.inner.checkpoints.making.lock().await;
        let log = self.current_log(&public_key).await?;
        let number = log.checkpoints().len() as u64 + 1;
        let current = self.inner.db.current_heads().await?;

        let mut problems = Vec::new();
        let mut changed = false;
        for head in &current {
            let checkpointed = log.latest_head(head.project_id);
            if checkpointed == Some(*head) {
                continue;
            }
            changed = true;
            if checkpointed.is_some_and(|c| c.sequence >= head.sequence) {
                continue; // a regression: `changes` names it below
            }
            let entries = self
                .inner
                .db
                .entries(&head.project_id.to_string(), 0, Some(head.sequence))
                .await?;
            if let Some(problem) = moved_on_problem(&entries, head, checkpointed) {
                problems.push(format!("project {}: {problem}", head.project_id));
            }
        }
        if let Err(CheckpointRefusal::Regressed { regressions, .. }) = log.changes(&current) {
            problems.extend(regressions.iter().map(ToString::to_string));
        }
        if !problems.is_empty() {
            return Err(CheckpointError::Refused { number, problems });
        }
        if only_if_changed && !changed {
            return Ok(None);
        }

        let mut next = (*log).clone();
        let made_at = self.inner.clock.now();
        let appended =
            next.append(&current, made_at, &key)
                .map_err(|refusal| CheckpointError::NotMade {
                    number,
                    why: refusal.to_string(),
                })?;
        self.inner
            .db
            .store_checkpoint(&appended.checkpoint, &appended.logged)
            .await?;
        let made = MadeCheckpoint {
            logged: appended.logged.len(),
            checkpoint: appended.checkpoint,
        };
        self.inner
            .checkpoints
            .highest_seen
            .fetch_max(number, Ordering::SeqCst);
        self.cache_log(&public_key, Arc::new(next));
        Ok(Some(made))
    }

    /// A project's entries, read after the latest checkpoint and the project's view, and checked
    /// against both (see [`CheckpointCheck`] and [`ViewCheck`]).
    pub async fn guarded_entries(&self, project_id: Uuid) -> Result<GuardedEntries, StoreError> {
        let log = match self.checkpoint_log().await {
            Err(CheckpointError::Store(error)) => return Err(error),
            other => other,
        };
        let view = self.view(project_id).await?;
        let entries = self.entries(project_id, 0, None).await?;
        let checkpoint = match &log {
            Ok(log) => CheckpointCheck::of(log, project_id, &entries),
            Err(error) => CheckpointCheck::failed(error),
        };
        let view = ViewCheck::of(view.as_ref(), &entries);
        Ok(GuardedEntries {
            entries,
            checkpoint,
            view,
        })
    }
}

/// Why a project's trail up to its new `head` cannot be logged: its chain does not match its
/// stored digests, or it no longer passes through the head last checkpointed for it.
fn moved_on_problem(
    entries: &[StoredEntry],
    head: &Head,
    checkpointed: Option<Head>,
) -> Option<String> {
    let chain = verify_chain(entries);
    if let Some(sequence) = chain.first_divergence {
        return Some(format!(
            "its chain no longer matches its stored digests from entry {sequence}"
        ));
    }
    if chain.heads.len() as u64 != head.sequence || chain.head != head.digest {
        return Some(format!(
            "its entries up to {} do not hash to the head read a moment before",
            head.sequence
        ));
    }
    checkpointed
        .and_then(|checkpointed| check_trail(entries, &checkpointed).err())
        .map(|mismatch| mismatch.to_string())
}

impl Db {
    /// Every project's head: its last entry's number and stored digest, sorted by project id.
    pub(crate) async fn current_heads(&self) -> Result<Vec<Head>, StoreError> {
        let sql = "SELECT e.aggregate_id, e.sequence, e.metadata FROM events e \
                   JOIN (SELECT aggregate_id, max(sequence) AS last FROM events \
                         WHERE aggregate_type = $1 GROUP BY aggregate_id) m \
                   ON e.aggregate_id = m.aggregate_id AND e.sequence = m.last \
                   WHERE e.aggregate_type = $1 ORDER BY e.aggregate_id";
        let rows: Vec<(String, i64, Value)> = on_db!(self, |pool| sqlx::query_as(sql)
            .bind(AGGREGATE_TYPE)
            .fetch_all(pool)
            .await?);
        rows.into_iter()
            .map(|(id, sequence, metadata)| {
                let project_id = id
                    .parse()
                    .map_err(|e| StoreError::Internal(format!("bad project id '{id}': {e}")))?;
                let digest = metadata_map(metadata)?
                    .get(coprod_domain::digest::DIGEST_KEY)
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| {
                        StoreError::Internal(format!(
                            "project {id}: entry {sequence} has no digest"
                        ))
                    })?;
                Ok(Head {
                    project_id,
                    sequence: u64::try_from(sequence).map_err(|_| {
                        StoreError::Internal(format!("project {id}: negative sequence"))
                    })?,
                    digest,
                })
            })
            .collect()
    }

    /// Every stored checkpoint and logged head, checked with `key`.
    pub(crate) async fn read_checkpoint_log(
        &self,
        key: &CheckpointPublicKey,
    ) -> Result<CheckpointLog, CheckpointError> {
        let checkpoints_sql = "SELECT number, signed FROM checkpoints ORDER BY number";
        // Only the heads of the checkpoints read: a checkpoint committed in between (with its
        // heads, in one transaction) is left for the next read.
        let heads_sql = "SELECT checkpoint, project_id, sequence, digest FROM checkpoint_heads \
                         WHERE checkpoint <= $1 ORDER BY checkpoint, project_id";
        type CheckpointRow = (i64, String);
        type HeadRow = (i64, String, i64, String);
        let (rows, heads): (Vec<CheckpointRow>, Vec<HeadRow>) = on_db!(self, |pool| {
            let rows: Vec<CheckpointRow> = sqlx::query_as(checkpoints_sql)
                .fetch_all(pool)
                .await
                .map_err(StoreError::from)?;
            let last = rows.last().map_or(0, |(number, _)| *number);
            let heads = sqlx::query_as(heads_sql)
                .bind(last)
                .fetch_all(pool)
                .await
                .map_err(StoreError::from)?;
            (rows, heads)
        });
        let mut checkpoints = Vec::with_capacity(rows.len());
        for (number, signed) in rows {
            let unreadable = |why: String| CheckpointError::Unreadable { number, why };
            let signed: SignedCheckpoint =
                serde_json::from_str(&signed).map_err(|e| unreadable(e.to_string()))?;
            if i64::try_from(signed.checkpoint.number).ok() != Some(number) {
                return Err(unreadable(format!(
                    "it is stored as number {number} but signed as number {}",
                    signed.checkpoint.number
                )));
            }
            checkpoints.push(signed);
        }
        let mut logged = Vec::with_capacity(heads.len());
        for (checkpoint, project_id, sequence, digest) in heads {
            let unreadable = |why: String| CheckpointError::Unreadable {
                number: checkpoint,
                why,
            };
            logged.push(LoggedHead {
                checkpoint: u64::try_from(checkpoint)
                    .map_err(|_| unreadable("a negative number".into()))?,
                head: Head {
                    project_id: project_id
                        .parse()
                        .map_err(|e| unreadable(format!("project id '{project_id}': {e}")))?,
                    sequence: u64::try_from(sequence)
                        .map_err(|_| unreadable("a negative sequence".into()))?,
                    digest: digest
                        .parse()
                        .map_err(|e| unreadable(format!("digest '{digest}': {e}")))?,
                },
            });
        }
        Ok(CheckpointLog::from_stored(checkpoints, logged, key)?)
    }

    /// Stores a new checkpoint and the heads it logged, in one transaction; refused (as
    /// [`CheckpointError::Raced`]) when another process stored that number first.
    pub(crate) async fn store_checkpoint(
        &self,
        signed: &SignedCheckpoint,
        logged: &[LoggedHead],
    ) -> Result<(), CheckpointError> {
        let number = signed.checkpoint.number;
        let text = serde_json::to_string(signed)
            .map_err(|e| StoreError::Internal(format!("checkpoint {number}: {e}")))?;
        let made_at = coprod_domain::recorded::format_instant(signed.checkpoint.made_at);
        let insert = "INSERT INTO checkpoints (number, made_at, key_id, signed) \
                      VALUES ($1, $2, $3, $4)";
        let raced = |error: sqlx::Error| match classify(&error) {
            Failure::Conflict => CheckpointError::Raced(number),
            _ => CheckpointError::Store(error.into()),
        };
        on_db!(self, |pool| {
            let mut tx = pool.begin().await.map_err(StoreError::from)?;
            sqlx::query(insert)
                .bind(number as i64)
                .bind(&made_at)
                .bind(signed.key_id.to_string())
                .bind(&text)
                .execute(&mut *tx)
                .await
                .map_err(raced)?;
            for chunk in logged.chunks(HEADS_PER_STATEMENT) {
                let mut sql = String::from(
                    "INSERT INTO checkpoint_heads (checkpoint, project_id, sequence, digest) VALUES ",
                );
                for i in 0..chunk.len() {
                    let p = 4 * i;
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("(${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4));
                }
                let mut query = sqlx::query(&sql);
                for row in chunk {
                    query = query
                        .bind(row.checkpoint as i64)
                        .bind(row.head.project_id.to_string())
                        .bind(row.head.sequence as i64)
                        .bind(row.head.digest.to_string());
                }
                query.execute(&mut *tx).await.map_err(raced)?;
            }
            tx.commit().await.map_err(StoreError::from)?;
        });
        Ok(())
    }
}

/// "1 checkpoint is", "3 checkpoints are".
fn stored_words(stored: u64) -> String {
    let n = usize::try_from(stored).unwrap_or(usize::MAX);
    format!(
        "{} {}",
        count(n, "checkpoint", "checkpoints"),
        agrees(n, "is", "are")
    )
}
