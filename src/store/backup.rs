//! `coprod backup`: an online, consistent copy of a SQLite database.
//!
//! SQLite's `VACUUM INTO` reads the database inside one read transaction, so the copy is the
//! database as of one instant even while a server appends (WAL mode lets both run at once), and
//! it is written compacted, with no `-wal` file to carry along. PostgreSQL has its own tools
//! (`pg_dump`, base backups and WAL archiving): see docs/operations.md.

use std::path::Path;

use super::db::Db;
use super::{Store, StoreError};

/// What a backup holds, as read from the copy itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSummary {
    pub projects: u64,
    pub entries: u64,
}

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The database is PostgreSQL, whose own tools make backups.
    #[error(
        "coprod backup copies a SQLite database; back up PostgreSQL with pg_dump, or with a base \
         backup and WAL archiving for point-in-time recovery (see docs/operations.md)"
    )]
    NotSqlite,
    /// The file is there already: a backup never overwrites anything.
    #[error("{0} exists already: name a new file (a backup never overwrites one)")]
    Exists(String),
    #[error("cannot create {path}: {error}")]
    Create { path: String, error: std::io::Error },
    /// The copy was made but does not read back as an intact database.
    #[error("the copy at {path} failed SQLite's integrity check: {answer}")]
    Damaged { path: String, answer: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Copies this SQLite database into the new file `file` (created readable by its owner
    /// only) while others may go on writing, and reads back what the copy holds.
    pub async fn backup_sqlite_into(&self, file: &Path) -> Result<BackupSummary, BackupError> {
        let Db::Sqlite(pool) = &self.inner.db else {
            return Err(BackupError::NotSqlite);
        };
        let shown = file.display().to_string();
        if file.exists() {
            return Err(BackupError::Exists(shown));
        }
        // VACUUM INTO writes into an empty file it is given: made here, so that its mode is 0600
        // (it holds what the database holds) and so that two backups cannot pick the same name.
        create_private_file(file).map_err(|error| match error.kind() {
            std::io::ErrorKind::AlreadyExists => BackupError::Exists(shown.clone()),
            _ => BackupError::Create {
                path: shown.clone(),
                error,
            },
        })?;
        let target = file.to_string_lossy().into_owned();
        let copied = sqlx::query("VACUUM INTO $1")
            .bind(&target)
            .execute(pool)
            .await;
        if let Err(error) = copied {
            let _ = std::fs::remove_file(file);
            return Err(StoreError::from(error).into());
        }
        read_back(file).await
    }
}

/// Opens the copy on its own, checks it with `PRAGMA integrity_check`, and counts what it holds.
async fn read_back(file: &Path) -> Result<BackupSummary, BackupError> {
    use sqlx::ConnectOptions;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(file)
        .read_only(true);
    let mut copy = options.connect().await.map_err(StoreError::from)?;
    let (answer,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut copy)
        .await
        .map_err(StoreError::from)?;
    if answer != "ok" {
        return Err(BackupError::Damaged {
            path: file.display().to_string(),
            answer,
        });
    }
    let (projects, entries): (i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT aggregate_id), count(*) FROM events WHERE aggregate_type = $1",
    )
    .bind(super::db::AGGREGATE_TYPE)
    .fetch_one(&mut copy)
    .await
    .map_err(StoreError::from)?;
    let _ = sqlx::Connection::close(copy).await;
    Ok(BackupSummary {
        projects: projects.max(0) as u64,
        entries: entries.max(0) as u64,
    })
}

#[cfg(unix)]
fn create_private_file(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .map(drop)
}

#[cfg(not(unix))]
fn create_private_file(file: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .map(drop)
}
