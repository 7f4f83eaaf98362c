//! What becomes of an erased participant's wrapped data key once its row is deleted: the
//! clean-up that leaves no copy of it in the database's own files, and the [`ErasureResidue`]
//! that says what that clean-up did and which copies remain elsewhere, until when.
//!
//! - SQLite runs with `secure_delete` (see `db.rs`), so deleting the row overwrites its bytes in
//!   the page. The write-ahead log still holds the frame written when the key was stored, until a
//!   checkpoint copies the newer page into the database file and the log is truncated. The
//!   erasure does that (retrying for a bounded time while readers hold the log), and so does
//!   every start: an erasure whose process stopped in between, or that gave up, ends there.
//! - PostgreSQL leaves a deleted row's bytes in its page even after a plain VACUUM, which frees
//!   the row's slot but not the bytes; only rewriting the table (VACUUM FULL) removes them. That
//!   cannot run inside a transaction, so it runs right after the deletion on a connection of its
//!   own, once no transaction that began earlier is still open (it might still see the row, and
//!   the rewrite would then copy it). The deletion notes itself in `erased_key_cleanup` in its
//!   own transaction; the note goes once the table is rewritten, and the next start or erasure
//!   retries whatever notes are left.

use std::time::{Duration, Instant};

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor, PgPool, SqlitePool};

use super::db::Db;
use super::error::StoreError;

/// How long an erasure keeps trying to truncate SQLite's write-ahead log while readers hold it
/// (each attempt may itself wait up to the busy timeout).
const WAL_TRUNCATE_WITHIN: Duration = Duration::from_secs(5);
/// How long a PostgreSQL clean-up waits for transactions older than it to end.
const OLDER_TRANSACTIONS_WAIT: Duration = Duration::from_secs(5);
/// How long the table's rewrite waits for its lock, which it queues every other user behind.
const REWRITE_LOCK_TIMEOUT: &str = "5s";
/// The pause between two attempts.
const RETRY_EVERY: Duration = Duration::from_millis(50);

const SQLITE_CLEAN: &str = "The data key was overwritten in the database file and the \
    write-ahead log truncated: no file of this database holds it any more. Copies of the \
    database made before the erasure (backups, snapshots) still hold it, wrapped by the master \
    key, until they are deleted; rotating the master key and destroying the old one once no such \
    copy is kept makes them unreadable.";
const SQLITE_PENDING: &str = "The data key was deleted and overwritten in the database file, \
    but readers kept the write-ahead log busy: the -wal file may still hold an older copy of it, \
    wrapped by the master key, until the next erasure or the next start of Coprod truncates it. \
    Copies of the database made before the erasure (backups, snapshots) still hold it until they \
    are deleted; rotating the master key and destroying the old one once no such copy is kept \
    makes them unreadable.";
const POSTGRES_CLEAN: &str = "The data key was deleted and the participant_keys table rewritten \
    (VACUUM FULL): the table's files no longer hold it. The server's write-ahead log keeps it \
    until PostgreSQL recycles those segments, and WAL archives, base backups and standbys made \
    before the erasure keep it, wrapped by the master key, for as long as they are kept; rotating \
    the master key and destroying the old one after that time makes them unreadable.";
const POSTGRES_PENDING: &str = "The data key was deleted, but the participant_keys table could \
    not be rewritten yet (a transaction older than the erasure was still open, or the table was \
    locked): its bytes stay in the table's free space until the next erasure or the next start \
    of Coprod rewrites it. The server's write-ahead log, WAL archives, base backups and standbys \
    made before the erasure keep it, wrapped by the master key, for as long as they are kept; \
    rotating the master key and destroying the old one after that time makes them unreadable.";

/// What an erasure left behind of the participant's wrapped data key, for the erasure's answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErasureResidue {
    /// `"sqlite"` or `"postgres"`.
    pub backend: &'static str,
    /// Whether this call deleted a key (false when it was already gone: an erasure repeated).
    pub key_deleted: bool,
    /// SQLite: the write-ahead log was checkpointed and truncated to nothing. Always false on
    /// PostgreSQL, whose write-ahead log belongs to the server.
    pub wal_truncated: bool,
    /// PostgreSQL: `participant_keys` was rewritten (VACUUM FULL). Always false on SQLite, where
    /// `secure_delete` overwrites the row in place and no vacuum is needed.
    pub vacuumed: bool,
    /// No file of the live database (on SQLite: database, `-wal`, `-shm`; on PostgreSQL: the
    /// table's files) holds the key any more. When false, the next start or erasure finishes.
    pub database_clean: bool,
    /// What remains, where, and until when.
    pub note: &'static str,
}

impl ErasureResidue {
    fn new(db: &Db, key_deleted: bool, database_clean: bool) -> ErasureResidue {
        match db {
            Db::Sqlite(_) => ErasureResidue {
                backend: "sqlite",
                key_deleted,
                wal_truncated: database_clean,
                vacuumed: false,
                database_clean,
                note: if database_clean {
                    SQLITE_CLEAN
                } else {
                    SQLITE_PENDING
                },
            },
            Db::Postgres(_) => ErasureResidue {
                backend: "postgres",
                key_deleted,
                wal_truncated: false,
                vacuumed: database_clean,
                database_clean,
                note: if database_clean {
                    POSTGRES_CLEAN
                } else {
                    POSTGRES_PENDING
                },
            },
        }
    }
}

impl Db {
    /// The clean-up after a data key's deletion (`key_deleted`: whether one was deleted just
    /// now), and what it achieved. A clean-up that fails is logged and left to the next start or
    /// erasure: the key is deleted either way, and the erasure stands.
    pub(crate) async fn clean_up_after_erasure(&self, key_deleted: bool) -> ErasureResidue {
        let clean = match self.remove_deleted_keys().await {
            Ok(clean) => clean,
            Err(error) => {
                tracing::warn!(%error, "the clean-up after an erasure failed; the next start or erasure retries it");
                false
            }
        };
        ErasureResidue::new(self, key_deleted, clean)
    }

    /// At every start (after the migrations): finishes the clean-up of erasures whose process
    /// stopped before it ended, or that gave up. Failures are logged, not returned: the keys
    /// themselves are deleted, and serving should not wait on this.
    pub(crate) async fn clean_up_erasures_at_start(&self) {
        let outcome = match self {
            // Cheap, and also ends erasures made before the clean-up existed.
            Db::Sqlite(pool) => truncate_wal(pool).await,
            Db::Postgres(pool) => match pending_rewrites(pool).await {
                Ok(0) => return,
                Ok(pending) => {
                    tracing::info!(
                        pending,
                        "rewriting participant_keys for erasures not yet cleaned up"
                    );
                    rewrite_participant_keys(pool).await
                }
                Err(error) => Err(error),
            },
        };
        match outcome {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "the clean-up of erased data keys could not finish at start; the next erasure or \
                 start retries it"
            ),
            Err(error) => tracing::warn!(
                %error,
                "the clean-up of erased data keys failed at start; the next erasure or start \
                 retries it"
            ),
        }
    }

    /// Removes from the database's own files the bytes of every deleted data key; Ok(false)
    /// when something kept that from finishing in time.
    async fn remove_deleted_keys(&self) -> Result<bool, StoreError> {
        match self {
            Db::Sqlite(pool) => truncate_wal(pool).await,
            Db::Postgres(pool) => rewrite_participant_keys(pool).await,
        }
    }
}

/// Checkpoints the write-ahead log into the database file and truncates it to nothing,
/// retrying while readers hold it; false if they still did after [`WAL_TRUNCATE_WITHIN`].
async fn truncate_wal(pool: &SqlitePool) -> Result<bool, StoreError> {
    let deadline = Instant::now() + WAL_TRUNCATE_WITHIN;
    loop {
        // (busy, frames in the log, frames checkpointed); busy is 1 when readers or a writer
        // kept the checkpoint from restarting the log, and then it is not truncated.
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(pool)
            .await?;
        if busy == 0 {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            tracing::warn!("readers kept SQLite's write-ahead log from being truncated");
            return Ok(false);
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

/// How many deletions still wait for `participant_keys` to be rewritten.
async fn pending_rewrites(pool: &PgPool) -> Result<i64, StoreError> {
    let (pending,): (i64,) = sqlx::query_as("SELECT count(*) FROM erased_key_cleanup")
        .fetch_one(pool)
        .await?;
    Ok(pending)
}

/// Rewrites `participant_keys` (VACUUM FULL) once no transaction older than this call is open,
/// then drops the notes of the deletions it covered; false if such a transaction stayed open
/// past [`OLDER_TRANSACTIONS_WAIT`].
async fn rewrite_participant_keys(pool: &PgPool) -> Result<bool, StoreError> {
    // Every deletion noted so far has committed, so a transaction that begins from now on cannot
    // see its row.
    let (covered, since): (Option<i64>, String) =
        sqlx::query_as("SELECT (SELECT max(id) FROM erased_key_cleanup), clock_timestamp()::text")
            .fetch_one(pool)
            .await?;
    if !wait_for_older_transactions(pool, &since).await? {
        tracing::warn!(
            "a transaction older than the erasure is still open: participant_keys is not \
             rewritten yet"
        );
        return Ok(false);
    }
    // VACUUM FULL of a table this role does not own only warns and rewrites nothing: say so,
    // and leave the note for a start with the right role (docs/operations.md).
    let (owns,): (bool,) = sqlx::query_as(
        "SELECT pg_has_role(relowner, 'USAGE') FROM pg_class \
         WHERE oid = 'participant_keys'::regclass",
    )
    .fetch_one(pool)
    .await?;
    if !owns {
        tracing::warn!(
            "this server's database role does not own participant_keys, so it cannot rewrite \
             it: see docs/operations.md"
        );
        return Ok(false);
    }
    // VACUUM cannot run in a transaction: a connection of its own, which gives up on the lock
    // rather than queue every reader of the table behind it for long.
    let options = pool
        .connect_options()
        .as_ref()
        .clone()
        .options([("lock_timeout", REWRITE_LOCK_TIMEOUT)]);
    let mut connection = PgConnection::connect_with(&options).await?;
    // A statement without arguments goes as a simple query, which VACUUM needs.
    let rewritten = connection.execute("VACUUM FULL participant_keys").await;
    let _ = connection.close().await;
    if let Err(error) = rewritten {
        tracing::warn!(%error, "participant_keys could not be rewritten");
        return Ok(false);
    }
    if let Some(covered) = covered {
        sqlx::query("DELETE FROM erased_key_cleanup WHERE id <= $1")
            .bind(covered)
            .execute(pool)
            .await?;
    }
    Ok(true)
}

/// Waits until no other transaction that began before `since` holds a snapshot or a
/// transaction id (either may keep a deleted row alive through a rewrite); false if one still
/// does after [`OLDER_TRANSACTIONS_WAIT`]. Every database of the server counts, not only this
/// one: a transaction elsewhere that was running at the deletion holds back the oldest snapshot
/// of new transactions here too, and so what the rewrite may drop. A session whose start time
/// this role may not read counts as older.
async fn wait_for_older_transactions(pool: &PgPool, since: &str) -> Result<bool, StoreError> {
    let sql = "SELECT (SELECT count(*) FROM pg_stat_activity \
                       WHERE pid <> pg_backend_pid() \
                         AND backend_type = 'client backend' \
                         AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL) \
                         AND (xact_start IS NULL OR xact_start < $1::timestamptz)) \
                    + (SELECT count(*) FROM pg_prepared_xacts \
                       WHERE prepared < $1::timestamptz)";
    let deadline = Instant::now() + OLDER_TRANSACTIONS_WAIT;
    loop {
        let (older,): (i64,) = sqlx::query_as(sql).bind(since).fetch_one(pool).await?;
        if older == 0 {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}
