//! The connection pools, the migrations, and the queries that read a project's entries back.
//! The store's other SQL sits with what it serves: the append transaction in `chain.rs`; tokens,
//! idempotency keys, data keys, views and the portfolio in their own modules; postgres-es /
//! sqlite-es run cqrs-es's own reads. Statements use `$n` placeholders, which both PostgreSQL and
//! SQLite (through sqlx) accept, so most are written once and run on either pool through
//! [`on_db!`].

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use coprod_domain::{RecordedEvent, StoredEntry};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Row, SqlitePool};

use super::error::StoreError;

/// The aggregate type under which cqrs-es stores projects.
pub(crate) const AGGREGATE_TYPE: &str = "project";

/// How long a caller waits for a connection before the store reports itself unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long SQLite waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// A PostgreSQL connection idle for longer than this is pinged before it is used again (one
/// round trip), so that one the server closed meanwhile (a restart, an idle timeout) is replaced
/// rather than failing a request. One in steady use is not: a ping on every use would double the
/// round trips of a group commit, and a connection that broke in use fails its statement anyway.
pub(crate) const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Either backend's pool.
#[derive(Clone, Debug)]
pub(crate) enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs the same code on whichever pool `db` holds.
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::db::Db::Postgres($pool) => $body,
            $crate::store::db::Db::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// One row of the columns every entry query selects, in this order.
pub(crate) const ENTRY_COLUMNS: &str =
    "aggregate_id, sequence, event_type, event_version, payload, metadata";

type EntryRow = (String, i64, String, String, Value, Value);

fn entry_from_row(row: EntryRow) -> Result<StoredEntry, StoreError> {
    let (aggregate_id, sequence, event_type, event_version, payload, metadata) = row;
    Ok(StoredEntry {
        aggregate_id,
        sequence: u64::try_from(sequence)
            .map_err(|_| StoreError::Internal(format!("negative sequence {sequence}")))?,
        event_type,
        event_version,
        payload,
        metadata: metadata_map(metadata)?,
    })
}

/// Entries a SQLite read joins into one text.
const SQLITE_ENTRIES_PER_READ: i64 = 5_000;

/// [`Db::recorded_events`] on SQLite. sqlx hands each row of a SQLite result from the
/// database's thread to the caller's task, which costs more than decoding the row; so the
/// entries are read several thousand to a row, joined with separators that JSON text cannot
/// contain unescaped (ASCII record and unit separators), and split again here.
async fn sqlite_recorded_events(
    pool: &SqlitePool,
    aggregate_id: &str,
    mut after: i64,
    decode: impl Fn(i64, &str, &str) -> Result<RecordedEvent, StoreError>,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = "SELECT count(*), group_concat(sequence || char(31) || payload || char(31) || \
               metadata, char(30)) FROM (SELECT sequence, payload, metadata FROM events \
               WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 \
               ORDER BY sequence LIMIT $4)";
    let mut events = Vec::new();
    loop {
        let (count, joined): (i64, Option<String>) = sqlx::query_as(sql)
            .bind(AGGREGATE_TYPE)
            .bind(aggregate_id)
            .bind(after)
            .bind(SQLITE_ENTRIES_PER_READ)
            .fetch_one(pool)
            .await?;
        let Some(joined) = joined.filter(|_| count > 0) else {
            return Ok(events);
        };
        let first = events.len();
        for record in joined.split('\u{1e}') {
            let mut fields = record.splitn(3, '\u{1f}');
            let (Some(sequence), Some(payload), Some(metadata)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(StoreError::Internal(format!(
                    "project {aggregate_id}: an entry after {after} cannot be read"
                )));
            };
            let sequence = sequence.parse().map_err(|_| {
                StoreError::Internal(format!("project {aggregate_id}: bad sequence '{sequence}'"))
            })?;
            events.push(decode(sequence, payload, metadata)?);
        }
        if (events.len() - first) as i64 != count {
            // A separator inside a stored text: not JSON, so not an entry Coprod wrote.
            return Err(StoreError::Internal(format!(
                "project {aggregate_id}: {count} entries after {after} read as {}",
                events.len() - first
            )));
        }
        events[first..].sort_by_key(|event| event.sequence);
        match events.last() {
            Some(last) if count == SQLITE_ENTRIES_PER_READ => after = last.sequence as i64,
            _ => return Ok(events),
        }
    }
}

/// Reads stored metadata: an object of strings.
pub(crate) fn metadata_map(metadata: Value) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_value(metadata).map_err(|e| {
        StoreError::Internal(format!("stored metadata is not an object of strings: {e}"))
    })
}

impl Db {
    pub(crate) async fn connect(database_url: &str) -> Result<Db, StoreError> {
        if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(database_url)
                .map_err(|e| StoreError::Internal(format!("bad PostgreSQL URL: {e}")))?;
            let pool = postgres_pool_options(10).connect_with(options).await?;
            Ok(Db::Postgres(pool))
        } else if database_url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(database_url)
                .map_err(|e| StoreError::Internal(format!("bad SQLite URL: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                // An erased participant's key is overwritten on disk, not only unlinked.
                .pragma("secure_delete", "ON")
                // A group's statements inside its transaction keep their undo pages in memory,
                // not in a temporary file written through the kernel on every statement.
                .pragma("temp_store", "MEMORY")
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            prepare_sqlite_file(options.get_filename())?;
            // A SQLite connection is a file in this process: nothing can close it from outside,
            // and a ping would only cost a hop to its worker thread on every use.
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool))
        } else {
            Err(StoreError::Internal(format!(
                "unsupported database URL '{database_url}': use sqlite://PATH or postgres://…"
            )))
        }
    }

    /// A pool of `connections` for the same database, whose connections are opened by the
    /// runtime that first uses them: on PostgreSQL a new pool, whose sockets are then polled
    /// by that runtime rather than this one's, and which names itself `application_name` to
    /// the server (as `pg_stat_activity` shows); a SQLite connection is a thread of its own,
    /// which wakes whichever runtime awaits it, so the same pool is shared.
    pub(crate) fn for_another_runtime(&self, connections: u32, application_name: &str) -> Db {
        match self {
            Db::Postgres(pool) => Db::Postgres(
                postgres_pool_options(connections).connect_lazy_with(
                    pool.connect_options()
                        .as_ref()
                        .clone()
                        .application_name(application_name),
                ),
            ),
            Db::Sqlite(pool) => Db::Sqlite(pool.clone()),
        }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        // A database already up to date is left alone without running the migrator, which
        // creates its bookkeeping table first: a server may then run as a role that can change
        // no schema (see docs/operations.md). Anything else goes through the migrator, which
        // applies what is missing or refuses what does not match.
        if self.migrations_up_to_date().await {
            return Ok(());
        }
        match self {
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Whether the database has applied exactly this binary's migrations, each successfully and
    /// unchanged; false when that cannot be read (a new database, say).
    async fn migrations_up_to_date(&self) -> bool {
        /// One applied migration: its version, checksum and whether it succeeded.
        type Applied = (i64, Vec<u8>, bool);
        let sql = "SELECT version, checksum, success FROM _sqlx_migrations";
        let (migrator, applied): (_, Result<Vec<Applied>, sqlx::Error>) = match self {
            Db::Postgres(pool) => (
                &POSTGRES_MIGRATIONS,
                sqlx::query_as(sql).fetch_all(pool).await,
            ),
            Db::Sqlite(pool) => (
                &SQLITE_MIGRATIONS,
                sqlx::query_as(sql).fetch_all(pool).await,
            ),
        };
        let Ok(applied) = applied else {
            return false;
        };
        let expected: BTreeMap<i64, &[u8]> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| (m.version, m.checksum.as_ref()))
            .collect();
        applied.len() == expected.len()
            && applied.iter().all(|(version, checksum, success)| {
                *success && expected.get(version) == Some(&checksum.as_slice())
            })
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        on_db!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// The metadata stored with one entry.
    pub(crate) async fn entry_metadata(
        &self,
        aggregate_id: &str,
        sequence: u64,
    ) -> Result<Option<BTreeMap<String, String>>, StoreError> {
        let sql = "SELECT metadata FROM events \
                   WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = $3";
        let row: Option<(Value,)> = on_db!(self, |pool| {
            sqlx::query_as(sql)
                .bind(AGGREGATE_TYPE)
                .bind(aggregate_id)
                .bind(sequence as i64)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(metadata,)| metadata_map(metadata)).transpose()
    }

    /// Entries of one project with sequence > `after`, ascending, at most `limit`.
    pub(crate) async fn entries(
        &self,
        aggregate_id: &str,
        after: u64,
        limit: Option<u64>,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let limit = limit.map_or(i64::MAX, |l| l.min(i64::MAX as u64) as i64);
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM events \
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 \
             ORDER BY sequence LIMIT $4"
        );
        let after = after.min(i64::MAX as u64) as i64;
        let rows: Vec<EntryRow> = on_db!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(AGGREGATE_TYPE)
                .bind(aggregate_id)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(entry_from_row).collect()
    }

    /// A project's entries with sequence greater than `after`, ascending, decoded straight from
    /// their stored text (the read side's fast path: no JSON values are built).
    pub(crate) async fn recorded_events(
        &self,
        aggregate_id: &str,
        after: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let after = after.min(i64::MAX as u64) as i64;
        let decode = |sequence: i64, payload: &str, metadata: &str| {
            RecordedEvent::from_text(sequence.max(0) as u64, payload, metadata)
                .map_err(|e| StoreError::Internal(format!("project {aggregate_id}: {e}")))
        };
        let pool = match self {
            Db::Sqlite(pool) => {
                return sqlite_recorded_events(pool, aggregate_id, after, decode).await
            }
            Db::Postgres(pool) => pool,
        };
        let sql = "SELECT sequence, payload::text, metadata::text FROM events \
                   WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 \
                   ORDER BY sequence";
        let rows = sqlx::query(sql)
            .bind(AGGREGATE_TYPE)
            .bind(aggregate_id)
            .bind(after)
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|row| decode(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
            .collect()
    }

    /// One entry by sequence; `None` for the last one asks for the newest.
    pub(crate) async fn entry(
        &self,
        aggregate_id: &str,
        sequence: Option<u64>,
    ) -> Result<Option<StoredEntry>, StoreError> {
        let row: Option<EntryRow> = match sequence {
            Some(sequence) => {
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} FROM events \
                     WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = $3"
                );
                on_db!(self, |pool| {
                    sqlx::query_as(&sql)
                        .bind(AGGREGATE_TYPE)
                        .bind(aggregate_id)
                        .bind(sequence.min(i64::MAX as u64) as i64)
                        .fetch_optional(pool)
                        .await?
                })
            }
            None => {
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} FROM events \
                     WHERE aggregate_type = $1 AND aggregate_id = $2 \
                     ORDER BY sequence DESC LIMIT 1"
                );
                on_db!(self, |pool| {
                    sqlx::query_as(&sql)
                        .bind(AGGREGATE_TYPE)
                        .bind(aggregate_id)
                        .fetch_optional(pool)
                        .await?
                })
            }
        };
        row.map(entry_from_row).transpose()
    }

    /// Every project that has at least one entry, by id.
    pub(crate) async fn project_ids(&self) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT DISTINCT aggregate_id FROM events WHERE aggregate_type = $1 \
                   ORDER BY aggregate_id";
        let rows: Vec<(String,)> = on_db!(self, |pool| {
            sqlx::query_as(sql)
                .bind(AGGREGATE_TYPE)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

/// The PostgreSQL pool's options, for the store's pool and the group committer's alike.
fn postgres_pool_options(connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_AFTER_IDLE {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
}

/// Makes ready the place of a SQLite database file: its directory (`./data` by default) and an
/// empty file, both readable by their owner only (0700, 0600) when Coprod creates them. SQLite
/// gives the `-wal` and `-shm` files it makes the database file's mode, so they are 0600 too.
fn prepare_sqlite_file(file: &Path) -> Result<(), StoreError> {
    let text = file.to_string_lossy();
    if text.is_empty() || text == ":memory:" || text.starts_with("file:") {
        return Ok(());
    }
    if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        if !dir.exists() {
            private_dir_builder().create(dir).map_err(|e| {
                StoreError::Internal(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
    }
    // Not `create_new`: another process may create it first, and an existing file is kept as is.
    private_file_options()
        .open(file)
        .map_err(|e| StoreError::Internal(format!("cannot create {}: {e}", file.display())))?;
    warn_if_readable_by_others(file);
    Ok(())
}

#[cfg(unix)]
fn private_dir_builder() -> std::fs::DirBuilder {
    use std::os::unix::fs::DirBuilderExt;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true).mode(0o700);
    builder
}

#[cfg(not(unix))]
fn private_dir_builder() -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    builder
}

#[cfg(unix)]
fn private_file_options() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true).mode(0o600);
    options
}

#[cfg(not(unix))]
fn private_file_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    options
}

/// A database file made by an older Coprod, or by hand, may be readable by others: say so (its
/// mode is the operator's to change; the `-wal` and `-shm` files follow it).
fn warn_if_readable_by_others(file: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(file) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %file.display(),
                    mode = format!("{mode:o}"),
                    "the database file can be read by other users: chmod 600 it (and its -wal and -shm files)"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = file;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_is_durable_and_waits_for_writers() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/dir/coprod.db", dir.path().display());
        let Db::Sqlite(pool) = Db::connect(&url).await.unwrap() else {
            panic!("not SQLite");
        };
        let (journal_mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(journal_mode, "wal");
        let number = |name: &'static str| {
            let pool = pool.clone();
            async move {
                let (value,): (i64,) = sqlx::query_as(&format!("PRAGMA {name}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                value
            }
        };
        assert_eq!(number("synchronous").await, 2, "FULL");
        assert_eq!(number("foreign_keys").await, 1);
        assert_eq!(number("busy_timeout").await, 5000);
        assert_eq!(
            number("secure_delete").await,
            1,
            "deleted rows are overwritten"
        );
        assert!(dir.path().join("nested/dir/coprod.db").exists());
    }

    #[tokio::test]
    async fn unknown_schemes_are_refused() {
        assert!(matches!(
            Db::connect("mysql://localhost/x").await,
            Err(StoreError::Internal(_))
        ));
    }
}
