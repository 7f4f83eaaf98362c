//! Erasure that really erases: once a participant's data key is destroyed, no file of the
//! database still holds its wrapped bytes — not SQLite's write-ahead log, not the free space of
//! PostgreSQL's pages — also after a process stopped half-way, and the store says what remains.
//!
//! SQLite is checked by reading every file of the database (database, `-wal`, `-shm`) byte by
//! byte. PostgreSQL is checked by reading every page of `participant_keys` with `pageinspect`:
//! `pg_stat_user_tables.n_dead_tup` is no evidence, since a plain VACUUM sets it to 0 while the
//! deleted row's bytes stay in the page's free space (and a late statistics flush can raise it
//! again after they are gone).

mod kit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use coprod::store::{ErasureResidue, Store};
use coprod_domain::{
    CommandContext, Fact, ParticipantErased, ParticipantJoined, ParticipantKind, Personal,
    ProjectCommand, ProjectEvent, ProjectRegistered,
};
use kit::{test_master_key, Backend, TestDb};
use sqlx::{Connection, Executor};
use uuid::Uuid;

const PARTICIPANTS: [&str; 3] = ["p1", "p2", "p3"];
/// The last to join: on PostgreSQL its row lies where a plain VACUUM leaves the bytes of a deleted
/// row in the page (in free space that no remaining row is moved over).
const ERASED: &str = "p3";

fn context() -> CommandContext {
    CommandContext {
        recorded_by: "tester".into(),
        recorded_at: Utc::now(),
    }
}

/// A project in which each of [`PARTICIPANTS`] joined with a group: three data keys.
async fn project_with_keys(store: &Store) -> Uuid {
    let project_id = Uuid::new_v4();
    let registration = ProjectRegistered {
        project_id,
        title: "Erasure".into(),
        organisation: "oxfordshire".into(),
        organisation_name: None,
        service_area: "carers".into(),
        description: None,
        priority_groups: vec![],
        started_on: NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(),
        declared_level: None,
        serves: None,
    };
    store
        .execute(
            project_id,
            ProjectCommand::Register {
                registration,
                context: context(),
            },
        )
        .await
        .expect("register");
    let facts = PARTICIPANTS
        .iter()
        .map(|participant| {
            Fact::ParticipantJoined(ParticipantJoined {
                participant_id: participant.to_string(),
                kind: ParticipantKind::Carer,
                groups: vec![format!("young carers ({participant})")].into(),
                occurred_on: NaiveDate::from_ymd_opt(2025, 1, 7).unwrap(),
                lived_experience: None,
            })
        })
        .collect();
    store
        .execute(
            project_id,
            ProjectCommand::Record {
                facts,
                batch: false,
                expected_sequence: None,
                context: context(),
            },
        )
        .await
        .expect("join");
    project_id
}

/// Records the erasure of `participant` (the entry only: the key is destroyed separately).
async fn record_erasure(store: &Store, project_id: Uuid, participant: &str) {
    store
        .execute(
            project_id,
            ProjectCommand::Erase {
                erasure: ParticipantErased {
                    participant_id: participant.into(),
                    reason: "Request from the participant".into(),
                    legal_basis: "UK GDPR Article 17(1)(b)".into(),
                    occurred_on: Utc::now().date_naive(),
                },
                context: context(),
            },
        )
        .await
        .expect("erase");
}

/// The erasure as the API does it: the entry, then the key.
async fn erase(store: &Store, project_id: Uuid, participant: &str) -> ErasureResidue {
    record_erasure(store, project_id, participant).await;
    store
        .destroy_data_key(project_id, participant)
        .await
        .expect("destroy the data key")
}

/// The groups each participant's join reads as, once opened with the master key.
async fn groups(store: &Store, project_id: Uuid) -> BTreeMap<String, Personal<Vec<String>>> {
    let mut events = store.recorded_events(project_id).await.expect("events");
    store
        .open_personal_data(project_id, &mut events)
        .await
        .expect("open");
    events
        .into_iter()
        .filter_map(|e| match e.event {
            ProjectEvent::ParticipantJoined(j) => Some((j.participant_id, j.groups)),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Reading the database raw

/// The wrapped data keys as stored, by participant, read with a connection of the test's own.
async fn wrapped_keys(url: &str) -> BTreeMap<String, String> {
    let sql = "SELECT participant_id, wrapped_key FROM participant_keys";
    let rows: Vec<(String, String)> = if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url).await.expect("connect");
        let rows = sqlx::query_as(sql).fetch_all(&mut connection).await;
        connection.close().await.ok();
        rows.expect("read participant_keys")
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
        let rows = sqlx::query_as(sql).fetch_all(&mut connection).await;
        connection.close().await.ok();
        rows.expect("read participant_keys")
    };
    rows.into_iter().collect()
}

fn sqlite_file(url: &str) -> PathBuf {
    PathBuf::from(url.strip_prefix("sqlite://").expect("a sqlite:// URL"))
}

/// The files of a SQLite database that exist: the database, its `-wal` and `-shm`.
fn sqlite_files(database: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", database.display())))
        .filter(|path| path.exists())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The SQLite files (by name) that hold `needle` anywhere in their bytes.
fn sqlite_files_holding(database: &Path, needle: &str) -> Vec<String> {
    let files = sqlite_files(database);
    assert!(
        !files.is_empty(),
        "no database file at {}",
        database.display()
    );
    files
        .into_iter()
        .filter(|path| {
            contains(
                &std::fs::read(path).expect("read a database file"),
                needle.as_bytes(),
            )
        })
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Every page of `participant_keys` as PostgreSQL stores it (live rows, dead rows and free
/// space alike), or `None` when the `pageinspect` extension cannot be installed.
async fn postgres_pages(url: &str) -> Option<Vec<Vec<u8>>> {
    let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
    if let Err(error) = connection
        .execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        .await
    {
        eprintln!(
            "!!!!!!!! pageinspect unavailable ({error}): PostgreSQL pages not scanned !!!!!!!!"
        );
        return None;
    }
    let pages: Vec<(Vec<u8>,)> = sqlx::query_as(
        "SELECT get_raw_page('participant_keys', 'main', block::int) FROM generate_series(0, \
         pg_relation_size('participant_keys') / current_setting('block_size')::bigint - 1) AS block",
    )
    .fetch_all(&mut connection)
    .await
    .expect("read the pages");
    connection.close().await.ok();
    Some(pages.into_iter().map(|(page,)| page).collect())
}

/// Where the database holds `needle`: SQLite files by name, PostgreSQL pages by block number;
/// `None` if this database cannot be read that way here.
async fn places_holding(db: &TestDb, needle: &str) -> Option<Vec<String>> {
    places_holding_at(db.backend, &db.url, needle).await
}

async fn places_holding_at(backend: Backend, url: &str, needle: &str) -> Option<Vec<String>> {
    match backend {
        Backend::Sqlite => Some(sqlite_files_holding(&sqlite_file(url), needle)),
        Backend::Postgres => postgres_pages(url).await.map(|pages| {
            pages
                .iter()
                .enumerate()
                .filter(|(_, page)| contains(page, needle.as_bytes()))
                .map(|(block, _)| format!("participant_keys block {block}"))
                .collect()
        }),
    }
}

async fn pending_rewrites(url: &str) -> i64 {
    let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
    let (pending,): (i64,) = sqlx::query_as("SELECT count(*) FROM erased_key_cleanup")
        .fetch_one(&mut connection)
        .await
        .expect("count");
    connection.close().await.ok();
    pending
}

/// Copies the SQLite files as they are now — what a process killed at this instant leaves —
/// into `into`, and returns the URL of the copy.
fn copy_as_a_crash_leaves_it(db: &TestDb, into: &Path) -> String {
    let database = sqlite_file(&db.url);
    for file in sqlite_files(&database) {
        std::fs::copy(&file, into.join(file.file_name().unwrap())).expect("copy");
    }
    format!(
        "sqlite://{}",
        into.join(database.file_name().unwrap()).display()
    )
}

/// What every start runs before serving: connect, migrate, unlock.
async fn start(url: &str) -> Store {
    let store = Store::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.unlock(test_master_key()).await.expect("unlock");
    store
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn after_an_erasure_no_file_of_the_database_holds_the_erased_key() {
    for db in kit::backends().await {
        let store = db.store().await;
        let project_id = project_with_keys(&store).await;
        let keys = wrapped_keys(&db.url).await;
        assert_eq!(keys.len(), PARTICIPANTS.len(), "{db:?}");
        let Some(before) = places_holding(&db, &keys[ERASED]).await else {
            continue;
        };
        assert!(
            !before.is_empty(),
            "{db:?}: the scan finds the key before the erasure"
        );

        let residue = erase(&store, project_id, ERASED).await;

        assert!(
            residue.key_deleted && residue.database_clean,
            "{db:?}: {residue:?}"
        );
        match db.backend {
            Backend::Sqlite => assert!(residue.wal_truncated && !residue.vacuumed),
            Backend::Postgres => assert!(residue.vacuumed && !residue.wal_truncated),
        }
        assert_eq!(residue.backend, db.backend.to_string());
        assert!(residue.note.contains("master key"), "{}", residue.note);
        let after = places_holding(&db, &keys[ERASED]).await.unwrap();
        assert!(
            after.is_empty(),
            "{db:?}: the erased key is still in {after:?}"
        );
        assert!(!wrapped_keys(&db.url).await.contains_key(ERASED), "{db:?}");
        for kept in PARTICIPANTS.iter().filter(|p| **p != ERASED) {
            let found = places_holding(&db, &keys[*kept]).await.unwrap();
            assert!(!found.is_empty(), "{db:?}: {kept}'s key is kept");
        }
        let read = groups(&store, project_id).await;
        assert_eq!(read[ERASED], Personal::Erased, "{db:?}");
        assert_eq!(
            read["p1"],
            Personal::Clear(vec!["young carers (p1)".into()]),
            "{db:?}"
        );
        if db.backend == Backend::Postgres {
            assert_eq!(pending_rewrites(&db.url).await, 0);
        }
    }
}

#[tokio::test]
async fn a_key_deleted_just_before_a_crash_is_gone_from_every_file_after_the_next_start() {
    let db = kit::sqlite();
    let store = db.store().await;
    let project_id = project_with_keys(&store).await;
    let keys = wrapped_keys(&db.url).await;
    record_erasure(&store, project_id, ERASED).await;
    // The store's own deletion (secure_delete on), and then no checkpoint: the process stops.
    let mut connection = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    connection
        .execute("PRAGMA secure_delete = ON")
        .await
        .unwrap();
    sqlx::query("DELETE FROM participant_keys WHERE participant_id = $1")
        .bind(ERASED)
        .execute(&mut connection)
        .await
        .unwrap();
    let crashed = tempfile::tempdir().unwrap();
    let url = copy_as_a_crash_leaves_it(&db, crashed.path());
    let copy = sqlite_file(&url);
    assert_eq!(
        sqlite_files_holding(&copy, &keys[ERASED]),
        vec!["coprod.db-wal".to_string()],
        "the crash leaves the key in the write-ahead log"
    );

    let restarted = start(&url).await;

    let left = sqlite_files_holding(&copy, &keys[ERASED]);
    assert!(left.is_empty(), "the erased key is still in {left:?}");
    assert!(!sqlite_files_holding(&copy, &keys["p1"]).is_empty());
    assert_eq!(
        groups(&restarted, project_id).await[ERASED],
        Personal::Erased
    );
    connection.close().await.ok();
}

#[tokio::test]
async fn a_key_whose_erasure_was_recorded_just_before_a_crash_is_gone_after_the_next_start() {
    for db in kit::backends().await {
        let store = db.store().await;
        let project_id = project_with_keys(&store).await;
        let keys = wrapped_keys(&db.url).await;
        // The entry is stored; the process stops before it destroys the key.
        record_erasure(&store, project_id, ERASED).await;
        let (url, _crashed) = match db.backend {
            Backend::Sqlite => {
                let crashed = tempfile::tempdir().unwrap();
                (
                    copy_as_a_crash_leaves_it(&db, crashed.path()),
                    Some(crashed),
                )
            }
            Backend::Postgres => (db.url.clone(), None),
        };

        let restarted = start(&url).await;

        assert!(!wrapped_keys(&url).await.contains_key(ERASED), "{db:?}");
        if let Some(left) = places_holding_at(db.backend, &url, &keys[ERASED]).await {
            assert!(
                left.is_empty(),
                "{db:?}: the erased key is still in {left:?}"
            );
        }
        assert_eq!(
            groups(&restarted, project_id).await[ERASED],
            Personal::Erased
        );
    }
}

#[tokio::test]
async fn erasing_twice_still_completes_the_clean_up() {
    for db in kit::backends().await {
        let store = db.store().await;
        let project_id = project_with_keys(&store).await;
        let keys = wrapped_keys(&db.url).await;
        erase(&store, project_id, ERASED).await;

        let again = store
            .destroy_data_key(project_id, ERASED)
            .await
            .expect("a second destruction");

        assert!(!again.key_deleted, "{db:?}: {again:?}");
        assert!(again.database_clean, "{db:?}: {again:?}");
        if let Some(left) = places_holding(&db, &keys[ERASED]).await {
            assert!(
                left.is_empty(),
                "{db:?}: the erased key is still in {left:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_reader_holding_the_log_delays_the_clean_up_to_the_next_start_and_the_answer_says_so() {
    let db = kit::sqlite();
    let store = db.store().await;
    let project_id = project_with_keys(&store).await;
    let keys = wrapped_keys(&db.url).await;
    let mut reader = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    reader.execute("BEGIN").await.unwrap();
    sqlx::query("SELECT count(*) FROM participant_keys")
        .fetch_one(&mut reader)
        .await
        .unwrap();

    let began = Instant::now();
    let residue = erase(&store, project_id, ERASED).await;

    assert!(
        began.elapsed() < Duration::from_secs(20),
        "bounded: {:?}",
        began.elapsed()
    );
    assert!(residue.key_deleted, "{residue:?}");
    assert!(
        !residue.wal_truncated && !residue.database_clean,
        "{residue:?}"
    );
    assert!(residue.note.contains("next start"), "{}", residue.note);
    reader.execute("COMMIT").await.unwrap();
    reader.close().await.ok();
    start(&db.url).await;
    let left = sqlite_files_holding(&sqlite_file(&db.url), &keys[ERASED]);
    assert!(left.is_empty(), "the erased key is still in {left:?}");
}

#[tokio::test]
async fn an_older_open_transaction_delays_the_rewrite_to_the_next_start_and_the_answer_says_so() {
    let Some(db) = kit::postgres().await else {
        return;
    };
    let store = db.store().await;
    let project_id = project_with_keys(&store).await;
    let keys = wrapped_keys(&db.url).await;
    let mut older = sqlx::PgConnection::connect(&db.url).await.unwrap();
    older
        .execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    sqlx::query("SELECT count(*) FROM participant_keys")
        .fetch_one(&mut older)
        .await
        .unwrap();

    let residue = erase(&store, project_id, ERASED).await;

    assert!(residue.key_deleted, "{residue:?}");
    assert!(!residue.vacuumed && !residue.database_clean, "{residue:?}");
    assert!(residue.note.contains("next start"), "{}", residue.note);
    assert_eq!(pending_rewrites(&db.url).await, 1);
    older.execute("COMMIT").await.unwrap();
    older.close().await.ok();
    start(&db.url).await;
    assert_eq!(pending_rewrites(&db.url).await, 0);
    if let Some(left) = places_holding(&db, &keys[ERASED]).await {
        assert!(left.is_empty(), "the erased key is still in {left:?}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_files_and_the_folder_coprod_creates_are_its_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = kit::sqlite();
    let store = db.store().await;
    project_with_keys(&store).await;
    let database = sqlite_file(&db.url);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;

    let files = sqlite_files(&database);

    assert_eq!(files.len(), 3, "database, -wal and -shm: {files:?}");
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    assert_eq!(mode(database.parent().unwrap()), 0o700, "the data folder");
}
