//! The storage layer against both backends: the hash chain, receipts, concurrency, append-only
//! triggers, views and their catch-up reader, tokens, idempotency, and the CLI.

mod kit;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use coprod::clock::Clock;
use coprod::store::{
    AccessRole, ExecuteError, IdempotentRecord, Store, StoreError, COMMITTER_NAME,
};
use coprod_domain::digest::{chain_next, verify_chain, RECORDED_AT_KEY};
use coprod_domain::{
    CommandContext, CorrectionRecorded, Digest, Fact, ParticipantJoined, ParticipantKind,
    ProjectClosed, ProjectCommand, ProjectError, ProjectRegistered, Stage, StageStarted,
};
use kit::{Backend, TestDb};
use serde_json::{json, Value};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Commands

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn context() -> CommandContext {
    CommandContext {
        recorded_by: "tester".into(),
        recorded_at: Utc::now(),
    }
}

fn register(project_id: Uuid, organisation: &str) -> ProjectCommand {
    ProjectCommand::Register {
        registration: ProjectRegistered {
            project_id,
            title: "Carers' strategy refresh".into(),
            organisation: organisation.into(),
            organisation_name: None,
            service_area: "carers".into(),
            description: None,
            priority_groups: vec!["carers".into()],
            started_on: today(),
            declared_level: None,
            serves: None,
        },
        context: context(),
    }
}

fn record(facts: Vec<Fact>) -> ProjectCommand {
    ProjectCommand::Record {
        batch: facts.len() > 1,
        facts,
        expected_sequence: None,
        context: context(),
    }
}

fn join(participant: &str, kind: ParticipantKind) -> Fact {
    Fact::ParticipantJoined(ParticipantJoined {
        participant_id: participant.into(),
        kind,
        groups: vec![].into(),
        occurred_on: today(),
        lived_experience: None,
    })
}

fn start(stage: Stage) -> Fact {
    Fact::StageStarted(StageStarted {
        stage,
        occurred_on: today(),
    })
}

fn correct(sequence: u64) -> Fact {
    Fact::CorrectionRecorded(CorrectionRecorded {
        corrects_sequence: sequence,
        reason: "recorded in error".into(),
        occurred_on: today(),
    })
}

fn close() -> Fact {
    Fact::ProjectClosed(ProjectClosed {
        summary: "done".into(),
        occurred_on: today(),
    })
}

/// A project with a few entries: registration, two stages, three participants.
async fn seeded(store: &Store, organisation: &str) -> Uuid {
    let id = Uuid::new_v4();
    store.execute(id, register(id, organisation)).await.unwrap();
    store
        .execute(
            id,
            record(vec![
                start(Stage::Commission),
                join("p1", ParticipantKind::Carer),
                join("p2", ParticipantKind::LivedExperience),
            ]),
        )
        .await
        .unwrap();
    store
        .execute(id, record(vec![join("p3", ParticipantKind::Professional)]))
        .await
        .unwrap();
    store
        .execute(id, record(vec![start(Stage::Design)]))
        .await
        .unwrap();
    id
}

// ---------------------------------------------------------------------------------------------
// Raw SQL, for what the store's API deliberately cannot do

/// `$body` with `$pool` a pool of its own on `db`'s database, closed afterwards: the same code
/// for either backend.
macro_rules! with_raw_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db.backend {
            Backend::Postgres => {
                let $pool = sqlx::PgPool::connect(&$db.url).await.unwrap();
                let result = $body;
                $pool.close().await;
                result
            }
            Backend::Sqlite => {
                let $pool = sqlx::SqlitePool::connect(&$db.url).await.unwrap();
                let result = $body;
                $pool.close().await;
                result
            }
        }
    };
}

async fn raw_execute(db: &TestDb, sql: &str) -> Result<u64, String> {
    with_raw_pool!(db, |pool| sqlx::query(sql)
        .execute(&pool)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| e.to_string()))
}

/// `(recorded_at column, metadata)` of every entry, by position.
async fn raw_recorded_at(db: &TestDb) -> Vec<(String, Value)> {
    let sql = "SELECT recorded_at, metadata FROM events ORDER BY position";
    with_raw_pool!(db, |pool| sqlx::query_as(sql)
        .fetch_all(&pool)
        .await
        .unwrap())
}

async fn raw_strings(db: &TestDb, sql: &str) -> Vec<Vec<String>> {
    let rows: Vec<(String, String, String, String, String)> =
        with_raw_pool!(db, |pool| sqlx::query_as(sql)
            .fetch_all(&pool)
            .await
            .unwrap());
    rows.into_iter()
        .map(|(a, b, c, d, e)| vec![a, b, c, d, e])
        .collect()
}

/// Catches up until `project` shows `sequence` (on PostgreSQL another database's transaction can
/// hold the reader back for a moment).
async fn caught_up_view(store: &Store, project: Uuid, sequence: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        store.catch_up().await.unwrap();
        if let Some(view) = store.view(project).await.unwrap() {
            if view["sequence"] == json!(sequence) {
                return view;
            }
        }
        assert!(
            Instant::now() < deadline,
            "view of {project} never reached {sequence}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The chain and receipts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_entries_carry_a_verifiable_chain() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let store = db.store().await;
        let id = seeded(&store, "oxon").await;
        let entries = store.entries(id, 0, None).await.unwrap();
        assert_eq!(
            entries.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5, 6]
        );
        let check = verify_chain(&entries);
        assert_eq!(check.first_divergence, None, "{}", db.backend);
        // The first entry chains from 32 zero bytes.
        assert_eq!(
            Some(chain_next(&Digest::ZERO, &entries[0])),
            entries[0].stored_digest()
        );
        // Each stored digest is the head after that entry; metadata carries who and when.
        for (entry, head) in entries.iter().zip(&check.heads) {
            assert_eq!(entry.stored_digest(), Some(*head));
            assert_eq!(entry.metadata["recorded_by"], "tester");
            assert_eq!(entry.aggregate_id, id.to_string());
            assert_eq!(entry.metadata.len(), 3, "{:?}", entry.metadata);
        }
        // recorded_at: six fractional digits, never decreasing along the stream.
        let times: Vec<&String> = entries.iter().map(|e| &e.metadata["recorded_at"]).collect();
        for t in &times {
            assert!(coprod_domain::recorded::parse_instant(t).is_some(), "{t}");
        }
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        // The indexed column is exactly the metadata's value.
        for (column, metadata) in raw_recorded_at(&db).await {
            assert_eq!(json!(column), metadata["recorded_at"]);
        }
        // Decoding gives the same stream.
        let events = store.recorded_events(id).await.unwrap();
        assert_eq!(events.len(), 6);
        assert_eq!(events[5].digest, check.head);
        assert_eq!(store.verify_project(id).await.unwrap().unwrap(), check);
        assert_eq!(store.verify_project(Uuid::new_v4()).await.unwrap(), None);
        assert_eq!(store.project_ids().await.unwrap(), vec![id]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_name_the_appended_entries() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let store = db.store().await;
        let id = Uuid::new_v4();
        assert_eq!(store.project_head(id).await.unwrap(), None);
        let first = store.execute(id, register(id, "oxon")).await.unwrap();
        assert_eq!((first.first_sequence, first.last_sequence), (1, 1));
        assert_eq!(first.project_id, id);
        let batch = store
            .execute(
                id,
                record(vec![
                    join("a", ParticipantKind::Carer),
                    join("b", ParticipantKind::Carer),
                    start(Stage::Commission),
                ]),
            )
            .await
            .unwrap();
        assert_eq!((batch.first_sequence, batch.last_sequence), (2, 4));
        let entries = store.entries(id, 0, None).await.unwrap();
        assert_eq!(entries[0].stored_digest(), Some(first.digest));
        assert_eq!(entries[3].stored_digest(), Some(batch.digest));
        assert_eq!(entries[3].metadata["recorded_at"], batch.recorded_at);
        let head = store.project_head(id).await.unwrap().unwrap();
        assert_eq!(head.organisation, "oxon");
        assert_eq!(head.sequence, 4);
        assert_eq!(head.digest, batch.digest);
        assert_eq!(head.recorded_at, batch.recorded_at);
        // Paging by sequence.
        let page = store.entries(id, 1, Some(2)).await.unwrap();
        assert_eq!(
            page.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert!(store.entries(id, 4, None).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_at_never_goes_back_along_a_stream() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let store = db.store().await;
        let id = Uuid::new_v4();
        // The first entry from a server whose clock ran an hour fast...
        let mut fast = context();
        fast.recorded_at += chrono::Duration::hours(1);
        let mut registration = register(id, "oxon");
        if let ProjectCommand::Register { context, .. } = &mut registration {
            *context = fast;
        }
        let first = store.execute(id, registration).await.unwrap();
        // ...then one from a server with the right time.
        let receipt = store
            .execute(
                id,
                ProjectCommand::Record {
                    facts: vec![join("a", ParticipantKind::Carer)],
                    batch: false,
                    expected_sequence: None,
                    context: context(),
                },
            )
            .await
            .unwrap();
        assert_eq!(receipt.recorded_at, first.recorded_at);
        let entries = store.entries(id, 0, None).await.unwrap();
        assert_eq!(verify_chain(&entries).first_divergence, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_on_a_fixed_clock_stamps_its_instant_and_stays_monotonic_when_it_is_moved_back() {
    let noon = Utc.with_ymd_and_hms(2040, 6, 1, 12, 0, 0).unwrap();
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let clock = Clock::fixed(noon);
        let store = Store::connect_with_clock(&db.url, clock.clone())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store.unlock(kit::test_master_key()).await.unwrap();
        assert_eq!(store.clock().now(), noon);
        let id = Uuid::new_v4();
        // Each command asks for the machine's time, earlier than the clock's: the clock wins.
        let first = store.execute(id, register(id, "oxon")).await.unwrap();
        assert_eq!(first.recorded_at, "2040-06-01T12:00:00.000000Z");
        // Moved back an hour, the clock does not take the stream back with it.
        assert!(clock.set(noon - chrono::Duration::hours(1)));
        let second = store
            .execute(id, record(vec![join("a", ParticipantKind::Carer)]))
            .await
            .unwrap();
        assert_eq!(second.recorded_at, first.recorded_at);
        // Moved forward again, its instant is stamped again.
        assert!(clock.set(noon + chrono::Duration::minutes(1)));
        let third = store
            .execute(id, record(vec![start(Stage::Commission)]))
            .await
            .unwrap();
        assert_eq!(third.recorded_at, "2040-06-01T12:01:00.000000Z");
        let entries = store.entries(id, 0, None).await.unwrap();
        let stamped: Vec<&str> = entries
            .iter()
            .map(|entry| entry.metadata[RECORDED_AT_KEY].as_str())
            .collect();
        assert_eq!(
            stamped,
            [
                "2040-06-01T12:00:00.000000Z",
                "2040-06-01T12:00:00.000000Z",
                "2040-06-01T12:01:00.000000Z"
            ]
        );
        for (column, metadata) in raw_recorded_at(&db).await {
            assert_eq!(json!(column), metadata["recorded_at"]);
        }
        assert_eq!(verify_chain(&entries).first_divergence, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_if_match_are_reported_and_append_nothing() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let store = db.store().await;
        let id = Uuid::new_v4();
        let error = store
            .execute(id, record(vec![join("a", ParticipantKind::Carer)]))
            .await
            .unwrap_err();
        assert_eq!(error, ExecuteError::Domain(ProjectError::ProjectNotFound));
        store.execute(id, register(id, "oxon")).await.unwrap();
        let error = store.execute(id, register(id, "oxon")).await.unwrap_err();
        assert!(
            matches!(
                error,
                ExecuteError::Domain(ProjectError::DuplicateId { .. })
            ),
            "{error:?}"
        );
        // The aggregate is loaded from events only, each applied once: If-Match sees the true
        // sequence after every append (a double-applying store would drift).
        for expected in 1..=4 {
            let receipt = store
                .execute(
                    id,
                    ProjectCommand::Record {
                        facts: vec![join(&format!("p{expected}"), ParticipantKind::Carer)],
                        batch: false,
                        expected_sequence: Some(expected),
                        context: context(),
                    },
                )
                .await
                .unwrap();
            assert_eq!(receipt.last_sequence, expected + 1);
        }
        let error = store
            .execute(
                id,
                ProjectCommand::Record {
                    facts: vec![join("late", ParticipantKind::Carer)],
                    batch: false,
                    expected_sequence: Some(3),
                    context: context(),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ExecuteError::Domain(ProjectError::SequenceMismatch {
                expected: 3,
                actual: 5
            })
        );
        // A batch with a bad fact appends none of it.
        let error = store
            .execute(
                id,
                record(vec![
                    join("ok", ParticipantKind::Carer),
                    join("p1", ParticipantKind::Carer),
                ]),
            )
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            ExecuteError::Domain(ProjectError::DuplicateId { .. })
        ));
        assert_eq!(store.project_head(id).await.unwrap().unwrap().sequence, 5);
        // …and leaves no trace in the project's state either.
        let receipt = store
            .execute(id, record(vec![join("ok", ParticipantKind::Carer)]))
            .await
            .unwrap();
        assert_eq!(receipt.last_sequence, 6);
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_in_two_processes_leave_no_gaps_or_duplicates() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        // Two stores: two pools and two sets of per-project locks, as two server processes.
        let one = db.store().await;
        let two = db.connect().await;
        let id = Uuid::new_v4();
        one.execute(id, register(id, "oxon")).await.unwrap();
        let mut accepted = BTreeSet::new();
        let mut conflicts = 0;
        let mut sequences = BTreeSet::new();
        // Rounds of 24 concurrent appends, until the race has been lost (and retried) at least
        // once; it usually is in the first round.
        for round in 0..5 {
            let mut tasks = Vec::new();
            for i in 0..24 {
                let store = if i % 2 == 0 { one.clone() } else { two.clone() };
                tasks.push(tokio::spawn(async move {
                    let participant = format!("r{round}p{i}");
                    let result = store
                        .execute(id, record(vec![join(&participant, ParticipantKind::Carer)]))
                        .await;
                    (participant, result)
                }));
            }
            for task in tasks {
                let (participant, result) = task.await.unwrap();
                match result {
                    Ok(receipt) => {
                        assert_eq!(receipt.first_sequence, receipt.last_sequence);
                        assert!(sequences.insert(receipt.last_sequence), "sequence reused");
                        accepted.insert(participant);
                    }
                    Err(ExecuteError::Conflict) => conflicts += 1,
                    Err(other) => panic!("{}: unexpected {other:?}", db.backend),
                }
            }
            if one.conflict_retries() + two.conflict_retries() > 0 {
                break;
            }
        }
        let retries = one.conflict_retries() + two.conflict_retries();
        eprintln!(
            "{}: {} accepted, {conflicts} gave up after retries, {retries} retries",
            db.backend,
            accepted.len(),
        );
        assert!(retries > 0, "the two writers never raced");
        assert!(
            accepted.len() >= 12,
            "too few appends won: {}",
            accepted.len()
        );
        let entries = one.entries(id, 0, None).await.unwrap();
        assert_eq!(entries.len(), 1 + accepted.len());
        assert_eq!(
            entries.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            (1..=entries.len() as u64).collect::<Vec<_>>(),
            "gaps or duplicates"
        );
        let stored: BTreeSet<String> = entries[1..]
            .iter()
            .map(|e| e.payload["participant_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(stored, accepted);
        assert_eq!(verify_chain(&entries).first_divergence, None);
        // Both processes' views agree once caught up.
        let view = caught_up_view(&two, id, entries.len() as u64).await;
        assert_eq!(view, caught_up_view(&one, id, entries.len() as u64).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_taking_turns_see_each_others_entries() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let one = db.store().await;
        let two = db.connect().await;
        let id = Uuid::new_v4();
        one.execute(id, register(id, "oxon")).await.unwrap();
        // Each store keeps the project between its commands; the other's entries must be
        // read before deciding, or If-Match (and every rule) would be judged on a stale state.
        for i in 1..=6u64 {
            let store = if i % 2 == 0 { &one } else { &two };
            let receipt = store
                .execute(
                    id,
                    ProjectCommand::Record {
                        facts: vec![join(&format!("p{i}"), ParticipantKind::Carer)],
                        batch: false,
                        expected_sequence: Some(i),
                        context: context(),
                    },
                )
                .await
                .unwrap();
            assert_eq!(receipt.last_sequence, i + 1);
            let again = if i % 2 == 0 { &two } else { &one };
            let error = again
                .execute(
                    id,
                    record(vec![join(&format!("p{i}"), ParticipantKind::Carer)]),
                )
                .await
                .unwrap_err();
            assert!(
                matches!(
                    error,
                    ExecuteError::Domain(ProjectError::DuplicateId { .. })
                ),
                "{error:?}"
            );
        }
        let entries = one.entries(id, 0, None).await.unwrap();
        assert_eq!(entries.len(), 7);
        assert_eq!(verify_chain(&entries).first_divergence, None);
    }
}

// ---------------------------------------------------------------------------------------------
// Append-only

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_table_refuses_update_and_delete() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let store = db.store().await;
        let id = seeded(&store, "oxon").await;
        let before = store.entries(id, 0, None).await.unwrap();
        let update = raw_execute(
            &db,
            "UPDATE events SET event_type = 'tampered' WHERE sequence = 2",
        )
        .await;
        assert!(
            update.as_ref().is_err_and(|e| e.contains("append-only")),
            "{}: {update:?}",
            db.backend
        );
        let delete = raw_execute(&db, "DELETE FROM events WHERE sequence = 6").await;
        assert!(
            delete.as_ref().is_err_and(|e| e.contains("append-only")),
            "{}: {delete:?}",
            db.backend
        );
        if db.backend == Backend::Postgres {
            let truncate = raw_execute(&db, "TRUNCATE events").await;
            assert!(truncate.is_err_and(|e| e.contains("append-only")));
        }
        assert_eq!(store.entries(id, 0, None).await.unwrap(), before);
    }
}

/// Every append writes each index of the events table, so it keeps only those a read uses: the
/// stream's unique key (reads by sequence, and the check of every append) and, on PostgreSQL,
/// the catch-up reader's `(xid, position)`. Reads "as of" a moment cut the stream by
/// `recorded_at` in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_table_keeps_only_the_indexes_reads_use() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let _store = db.store().await;
        let sql = match db.backend {
            Backend::Postgres => {
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'events' ORDER BY indexdef"
            }
            Backend::Sqlite => {
                "SELECT coalesce(sql, name) FROM sqlite_master \
                 WHERE type = 'index' AND tbl_name = 'events' ORDER BY 1"
            }
        };
        let indexes: Vec<(String,)> = with_raw_pool!(db, |pool| sqlx::query_as(sql)
            .fetch_all(&pool)
            .await
            .unwrap());
        let indexes: Vec<String> = indexes.into_iter().map(|(i,)| i).collect();
        assert!(
            indexes.iter().all(|i| !i.contains("recorded_at")),
            "{}: {indexes:?}",
            db.backend
        );
        assert!(
            indexes
                .iter()
                .any(|i| i.contains("aggregate_type, aggregate_id, sequence")
                    || i.starts_with("sqlite_autoindex_events")),
            "{}: the stream's unique key: {indexes:?}",
            db.backend
        );
        let expected = match db.backend {
            // The primary key, the stream's unique key and the catch-up reader's index.
            Backend::Postgres => 3,
            // The stream's unique key (the position is the rowid).
            Backend::Sqlite => 1,
        };
        assert_eq!(indexes.len(), expected, "{}: {indexes:?}", db.backend);
    }
}

// ---------------------------------------------------------------------------------------------
// Views

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_follow_the_log_and_a_rebuild_gives_the_same_views() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let store = db.store().await;
        let a = seeded(&store, "oxon").await;
        let b = seeded(&store, "bucks").await;
        // b: p2 (entry 4) withdrawn, then closed.
        store.execute(b, record(vec![correct(4)])).await.unwrap();
        let closed = store.execute(b, record(vec![close()])).await.unwrap();

        let view_a = caught_up_view(&store, a, 6).await;
        let view_b = caught_up_view(&store, b, 8).await;
        assert_eq!(view_a["project_id"], json!(a.to_string()));
        assert_eq!(view_a["organisation"], "oxon");
        assert_eq!(view_a["status"], "open");
        assert_eq!(view_a["stage"], "design");
        assert_eq!(view_a["stages"][0]["stage"], "commission");
        assert_eq!(view_a["stages"][0]["completed_on"], json!(today()));
        assert_eq!(view_a["stages"][1]["completed_on"], Value::Null);
        assert_eq!(
            view_a["participants_by_kind"],
            json!({
                "carer": {"count": null, "suppressed": true},
                "lived_experience": {"count": null, "suppressed": true},
                "professional": {"count": null, "suppressed": true},
            })
        );
        assert_eq!(view_a["scorecard"].as_object().unwrap().len(), 6);
        let head_a = store.project_head(a).await.unwrap().unwrap();
        assert_eq!(view_a["digest"], json!(head_a.digest));
        assert_eq!(view_a["recorded_at"], json!(head_a.recorded_at));
        assert_eq!(view_b["status"], "closed");
        assert_eq!(view_b["digest"], json!(closed.digest));
        assert_eq!(
            view_b["participants_by_kind"],
            json!({
                "carer": {"count": null, "suppressed": true},
                "professional": {"count": null, "suppressed": true},
            })
        );

        // Filters.
        let all = store.list_views(None, None).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            store.list_views(Some("oxon"), None).await.unwrap(),
            vec![view_a.clone()]
        );
        assert_eq!(
            store.list_views(None, Some("closed")).await.unwrap(),
            vec![view_b.clone()]
        );
        assert!(store
            .list_views(Some("oxon"), Some("closed"))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(store.view(Uuid::new_v4()).await.unwrap(), None);

        // Rebuild from the log: identical views, progress reported up to the total.
        let calls = std::sync::Mutex::new(Vec::new());
        let applied = store
            .rebuild_views(&|done, total| calls.lock().unwrap().push((done, total)))
            .await
            .unwrap();
        assert_eq!(applied, 14);
        let calls = calls.into_inner().unwrap();
        assert_eq!(calls.first(), Some(&(0, 14)));
        assert_eq!(calls.last(), Some(&(14, 14)));
        assert_eq!(store.list_views(None, None).await.unwrap(), all);
        // Nothing left to apply after a rebuild.
        assert_eq!(store.catch_up().await.unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catch_up_checkpoint_persists() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let store = db.store().await;
        let a = seeded(&store, "oxon").await;
        caught_up_view(&store, a, 6).await;
        // Views and checkpoint lost (say, a crash before the first catch-up): the next catch-up
        // applies everything again.
        raw_execute(&db, "DELETE FROM project_views").await.unwrap();
        raw_execute(&db, "DELETE FROM projector_checkpoints")
            .await
            .unwrap();
        assert_eq!(store.view(a).await.unwrap(), None);
        // The store's own view refresher may still run a catch-up pass of its own meanwhile, so
        // the entries this reader applies are counted with the ones it might have.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut applied = 0;
        loop {
            applied += store.catch_up().await.unwrap();
            let view = store.view(a).await.unwrap();
            if view.as_ref().is_some_and(|view| view["sequence"] == 6) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the view was never applied again: {view:?}"
            );
        }
        assert!(applied <= 6, "entries applied twice: {applied}");
        // Another process (a new pool) starts from the stored checkpoint: nothing to do.
        let other = db.connect().await;
        assert_eq!(other.catch_up().await.unwrap(), 0);
        // New entries are applied by whichever reader comes first; once one has, the other
        // finds nothing left. (Another database's open transaction on the same PostgreSQL server
        // can hold a reader back for a while, so wait for that rather than assume it.)
        let b = seeded(&other, "bucks").await;
        caught_up_view(&other, b, 6).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while other.catch_up().await.unwrap() + store.catch_up().await.unwrap() > 0 {
            assert!(Instant::now() < deadline, "the readers never caught up");
        }
        assert_eq!(store.catch_up().await.unwrap(), 0);
        assert_eq!(other.catch_up().await.unwrap(), 0);
        assert_eq!(store.list_views(None, None).await.unwrap().len(), 2);
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens and idempotency

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_stored_hashed() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let store = db.store().await;
        assert_eq!(store.token_count().await.unwrap(), 0);
        let token = store
            .create_token(AccessRole::Recorder, "oxon", "alice at oxon")
            .await
            .unwrap();
        let unlabelled = store
            .create_token(AccessRole::Admin, "*", "")
            .await
            .unwrap();
        assert!(
            token.starts_with("coprod_") && token.len() == 7 + 64,
            "{token}"
        );
        assert_ne!(token, unlabelled);
        assert_eq!(store.token_count().await.unwrap(), 2);

        let principal = store.authenticate(&token).await.unwrap().unwrap();
        assert_eq!(principal.label, "alice at oxon");
        let id = &coprod::store::token_hash(&token)[..16];
        assert_eq!(principal.token_id, id);
        assert_eq!(
            principal.recorded_by(),
            format!("token:{id} (alice at oxon)")
        );
        assert_eq!(principal.role, AccessRole::Recorder);
        assert_eq!(principal.organisation, "oxon");
        let admin = store.authenticate(&unlabelled).await.unwrap().unwrap();
        let hash = coprod::store::token_hash(&unlabelled);
        assert_eq!(admin.label, "");
        assert_eq!(admin.recorded_by(), format!("token:{}", &hash[..16]));
        assert_eq!(
            (admin.role, admin.organisation.as_str()),
            (AccessRole::Admin, "*")
        );
        assert_eq!(store.authenticate("coprod_0000").await.unwrap(), None);
        assert_eq!(store.authenticate("").await.unwrap(), None);
        assert_eq!(store.authenticate(&token[..40]).await.unwrap(), None);

        let rows = raw_strings(
            &db,
            "SELECT token_hash, role, organisation, label, created_at FROM api_tokens",
        )
        .await;
        assert_eq!(rows.len(), 2);
        for row in &rows {
            for cell in row {
                assert!(!cell.contains(&token[7..]) && !cell.contains(&unlabelled[7..]));
            }
        }
        let hashes: BTreeSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert!(hashes.contains(coprod::store::token_hash(&token).as_str()));
        assert!(hashes.contains(hash.as_str()));
    }
}

#[test]
fn roles_read_and_write_as_snake_case() {
    for role in [
        AccessRole::Recorder,
        AccessRole::Assurance,
        AccessRole::Panel,
        AccessRole::Admin,
    ] {
        assert_eq!(role.as_str().parse::<AccessRole>().unwrap(), role);
        assert_eq!(serde_json::to_value(role).unwrap(), json!(role.as_str()));
    }
    assert!("Admin".parse::<AccessRole>().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keeps_the_first_answer() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let store = db.store().await;
        assert_eq!(store.find_idempotent("alice", "k1").await.unwrap(), None);
        let first = IdempotentRecord {
            project_id: Uuid::new_v4(),
            request_hash: "h1".into(),
            status: 201,
            body: r#"{"sequence":1}"#.into(),
        };
        store.save_idempotent("alice", "k1", &first).await.unwrap();
        let second = IdempotentRecord {
            status: 422,
            request_hash: "h2".into(),
            ..first.clone()
        };
        store.save_idempotent("alice", "k1", &second).await.unwrap();
        assert_eq!(
            store.find_idempotent("alice", "k1").await.unwrap(),
            Some(first)
        );
        assert_eq!(store.find_idempotent("bob", "k1").await.unwrap(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_are_claimed_across_processes() {
    use coprod::store::Claim;
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let one = db.store().await;
        let two = db.connect().await;
        let project = Uuid::new_v4();
        let short = Duration::from_millis(100);
        let answer = IdempotentRecord {
            project_id: project,
            request_hash: "h".into(),
            status: 201,
            body: "{}".into(),
        };

        // Two processes claim one key at once: exactly one gets it.
        let (a, b) = tokio::join!(
            one.claim_idempotent("alice", "k1", project, "h", short),
            two.claim_idempotent("alice", "k1", project, "h", short),
        );
        let mut claims = [a.unwrap(), b.unwrap()];
        claims.sort_by_key(|c| format!("{c:?}"));
        assert_eq!(claims, [Claim::Claimed, Claim::InProgress]);
        // A pending claim is not an answer.
        assert_eq!(one.find_idempotent("alice", "k1").await.unwrap(), None);
        // The other process waits for the answer.
        let waiting = {
            let two = two.clone();
            tokio::spawn(async move {
                two.claim_idempotent("alice", "k1", project, "h", Duration::from_secs(10))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(150)).await;
        one.save_idempotent("alice", "k1", &answer).await.unwrap();
        assert_eq!(
            waiting.await.unwrap().unwrap(),
            Claim::Answered(answer.clone())
        );
        assert_eq!(
            one.find_idempotent("alice", "k1").await.unwrap(),
            Some(answer.clone())
        );
        // An answer is kept: neither a new claim nor a second save changes it.
        let other = IdempotentRecord {
            status: 500,
            ..answer.clone()
        };
        one.save_idempotent("alice", "k1", &other).await.unwrap();
        assert_eq!(
            two.claim_idempotent("alice", "k1", project, "h", short)
                .await
                .unwrap(),
            Claim::Answered(answer)
        );
        assert!(one.release_idempotent("alice", "k1").await.is_ok());
        assert!(one.find_idempotent("alice", "k1").await.unwrap().is_some());

        // A released claim can be claimed again.
        assert_eq!(
            one.claim_idempotent("alice", "k2", project, "h", short)
                .await
                .unwrap(),
            Claim::Claimed
        );
        one.release_idempotent("alice", "k2").await.unwrap();
        assert_eq!(
            two.claim_idempotent("alice", "k2", project, "h", short)
                .await
                .unwrap(),
            Claim::Claimed
        );

        // A claim whose process died is taken over after a while.
        assert_eq!(
            one.claim_idempotent("alice", "k3", project, "h", short)
                .await
                .unwrap(),
            Claim::Claimed
        );
        raw_execute(
            &db,
            "UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000000Z' \
             WHERE key = 'k3'",
        )
        .await
        .unwrap();
        assert_eq!(
            two.claim_idempotent("alice", "k3", project, "h", short)
                .await
                .unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            one.claim_idempotent("alice", "k3", project, "h", short)
                .await
                .unwrap(),
            Claim::InProgress
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Failures

#[tokio::test]
async fn an_unreachable_database_is_unavailable_quickly() {
    let started = Instant::now();
    let error = Store::connect("postgres://postgres@127.0.0.1:1/nothing")
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let error = Store::connect("mysql://localhost/x").await.unwrap_err();
    assert!(matches!(error, StoreError::Internal(_)));
}

#[tokio::test]
async fn sqlite_creates_its_directory_and_file() {
    let db = kit::sqlite();
    let file = db.sqlite_dir().unwrap().join("data").join("coprod.db");
    assert!(!file.exists());
    let store = db.store().await;
    store.ping().await.unwrap();
    assert!(file.exists());
    assert_eq!(store.backend(), "sqlite");
}

// ---------------------------------------------------------------------------------------------
// The command line

fn coprod(db: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_coprod"))
        .arg("--database")
        .arg(&db.url)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env("COPROD_MASTER_KEY", kit::TEST_MASTER_KEY)
        .output()
        .expect("run coprod")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_tokens_export_rebuild_and_verify() {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        // `migrate` creates the database; `token create` prints the token alone.
        let out = coprod(&db, &["migrate"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = coprod(
            &db,
            &["token", "create", "--role", "panel", "--org", "oxon"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let token = stdout.strip_suffix('\n').unwrap();
        assert!(
            !token.contains('\n') && token.starts_with("coprod_"),
            "{stdout:?}"
        );
        let store = db.store().await;
        let principal = store.authenticate(token).await.unwrap().unwrap();
        assert_eq!(principal.role, AccessRole::Panel);
        let bad = coprod(
            &db,
            &["token", "create", "--role", "admin", "--org", "no spaces"],
        );
        assert_eq!(bad.status.code(), Some(2));
        assert!(bad.stdout.is_empty());
        assert_eq!(store.token_count().await.unwrap(), 1);

        let id = seeded(&store, "oxon").await;
        let other = seeded(&store, "bucks").await;

        // export: one JSON object per entry.
        let out = coprod(&db, &["export", &id.to_string()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let entries = store.entries(id, 0, None).await.unwrap();
        assert_eq!(lines.len(), entries.len());
        assert_eq!(lines[0]["type"], "project_registered");
        assert_eq!(lines[0]["occurred_on"], json!(today()));
        assert_eq!(lines[0]["data"]["organisation"], "oxon");
        assert!(lines[0]["data"].get("type").is_none());
        assert_eq!(lines[2]["type"], "participant_joined");
        assert_eq!(lines[2]["version"], "1");
        assert_eq!(lines[2]["recorded_by"], "tester");
        assert_eq!(lines[2]["data"]["participant_id"], "p1");
        for (line, entry) in lines.iter().zip(&entries) {
            assert_eq!(line["sequence"], json!(entry.sequence));
            assert_eq!(line["digest"], json!(entry.metadata["digest"]));
            assert_eq!(line["recorded_at"], json!(entry.metadata["recorded_at"]));
        }
        let missing = coprod(&db, &["export", &Uuid::new_v4().to_string()]);
        assert_eq!(missing.status.code(), Some(2));

        // rebuild
        let out = coprod(&db, &["rebuild"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        assert_eq!(store.list_views(None, None).await.unwrap().len(), 2);

        // verify: all good, then tamper with one entry behind the triggers' back.
        let out = coprod(&db, &["verify"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains(&format!("{id} OK")) && stdout.contains(&format!("{other} OK")));
        let (disable, update) = match db.backend {
            Backend::Sqlite => (
                "DROP TRIGGER events_no_update".to_string(),
                format!(
                    "UPDATE events SET payload = replace(payload, '\"p2\"', '\"px\"') \
                     WHERE aggregate_id = '{id}' AND sequence = 4"
                ),
            ),
            Backend::Postgres => (
                "ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete".to_string(),
                format!(
                    "UPDATE events SET payload = replace(payload::text, '\"p2\"', '\"px\"')::json \
                     WHERE aggregate_id = '{id}' AND sequence = 4"
                ),
            ),
        };
        raw_execute(&db, &disable).await.unwrap();
        assert_eq!(raw_execute(&db, &update).await, Ok(1));
        let out = coprod(&db, &["verify"]);
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            stdout.contains(&format!("{id} DIVERGES at sequence 4")),
            "{stdout}"
        );
        assert!(stdout.contains(&format!("{other} OK")), "{stdout}");
        let out = coprod(&db, &["verify", &other.to_string()]);
        assert_eq!(out.status.code(), Some(0));
        let out = coprod(&db, &["verify", &Uuid::new_v4().to_string()]);
        assert_eq!(out.status.code(), Some(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reader_never_skips_an_entry_committed_out_of_order() {
    use coprod_domain::digest::StoredEntry;
    use coprod_domain::recorded::format_instant;
    use coprod_domain::{ProjectEvent, EVENT_VERSION};
    use sqlx::Connection;

    let Some(db) = kit::postgres().await else {
        return;
    };
    let store = db.store().await;
    // Transaction T1 appends project X's registration (position p) and stays open…
    let x = Uuid::new_v4();
    let ProjectCommand::Register { registration, .. } = register(x, "oxon") else {
        unreachable!()
    };
    let event = ProjectEvent::ProjectRegistered(registration);
    let mut entry = StoredEntry {
        aggregate_id: x.to_string(),
        sequence: 1,
        event_type: event.type_name().into(),
        event_version: EVENT_VERSION.into(),
        payload: serde_json::to_value(&event).unwrap(),
        metadata: [
            ("recorded_by".to_string(), "raw".to_string()),
            ("recorded_at".to_string(), format_instant(Utc::now())),
        ]
        .into(),
    };
    let digest = chain_next(&Digest::ZERO, &entry);
    entry.metadata.insert("digest".into(), digest.to_string());
    let mut t1 = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut t1).await.unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload, metadata) VALUES ('project', $1, 1, $2, $3, $4, $5)",
    )
    .bind(&entry.aggregate_id)
    .bind(&entry.event_type)
    .bind(&entry.event_version)
    .bind(&entry.payload)
    .bind(serde_json::to_value(&entry.metadata).unwrap())
    .execute(&mut t1)
    .await
    .unwrap();
    // …while project Y is registered and committed after it (position p + 1).
    let y = Uuid::new_v4();
    store.execute(y, register(y, "oxon")).await.unwrap();
    // Y's own view is written at once; the reader does not pass T1, still in flight.
    assert_eq!(store.view(y).await.unwrap().unwrap()["sequence"], 1);
    assert_eq!(store.catch_up().await.unwrap(), 0);
    assert_eq!(store.view(x).await.unwrap(), None);
    // Once T1 commits, the next catch-up applies both, X first.
    sqlx::query("COMMIT").execute(&mut t1).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut applied = 0;
    while applied < 2 {
        applied += store.catch_up().await.unwrap();
        assert!(Instant::now() < deadline, "the reader never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(applied, 2);
    let view_x = store.view(x).await.unwrap().unwrap();
    assert_eq!(view_x["digest"], json!(digest));
    assert_eq!(store.list_views(None, None).await.unwrap().len(), 2);
}

/// The catch-up reader (and a rebuild) reads the log in commit order, a batch at a time: that
/// must walk an index in order, not sort the whole log for every batch (which made rebuilding
/// 1,000,000 events take 30 s on PostgreSQL). On PostgreSQL, with sequential scans ruled out, a
/// plan that still sorts is one that cannot use the `(xid, position)` index for the order; on
/// SQLite the way in must be the range of positions (the rowid), with no sort.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catch_up_query_walks_the_log_in_order_without_sorting_it() {
    for db in kit::backends().await {
        db.store().await;
        match db.backend {
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
                // A log of some size, so that the planner's choice is the one a real log gets.
                sqlx::query(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                     event_version, payload, metadata) \
                     SELECT 'project', 'p' || (g % 100), g, 'activity_held', '1', '{}', '{}' \
                     FROM generate_series(1, 20000) g",
                )
                .execute(&pool)
                .await
                .unwrap();
                sqlx::query("ANALYZE events").execute(&pool).await.unwrap();
                let mut connection = pool.acquire().await.unwrap();
                sqlx::query("SET enable_seqscan = off")
                    .execute(&mut *connection)
                    .await
                    .unwrap();
                // PostgreSQL 15 cannot EXPLAIN a statement with parameters: values instead.
                let query = coprod::store::EVENTS_AFTER_POSTGRES
                    .replace("$1", "'project'")
                    .replace("$2", "0")
                    .replace("$3", "0")
                    .replace("$4", "1000");
                let plan: Vec<(String,)> = sqlx::query_as(&format!("EXPLAIN {query}"))
                    .fetch_all(&mut *connection)
                    .await
                    .unwrap();
                let plan: Vec<String> = plan.into_iter().map(|(line,)| line).collect();
                assert!(
                    plan.iter().any(|line| line.contains("events_xid_position")),
                    "{plan:#?}"
                );
                assert!(!plan.iter().any(|line| line.contains("Sort")), "{plan:#?}");
            }
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
                let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!(
                    "EXPLAIN QUERY PLAN {}",
                    coprod::store::EVENTS_AFTER_SQLITE
                ))
                .bind("project")
                .bind(0_i64)
                .bind(1000_i64)
                .fetch_all(&pool)
                .await
                .unwrap();
                let plan: Vec<String> = plan.into_iter().map(|(.., detail)| detail).collect();
                assert!(
                    plan.iter().any(|line| line.contains("INTEGER PRIMARY KEY")),
                    "{plan:#?}"
                );
                assert!(
                    !plan.iter().any(|line| line.contains("B-TREE")),
                    "{plan:#?}"
                );
            }
        }
    }
}

/// A long stream is read back whole, in order, and exactly as decoding each stored entry on its
/// own gives it (SQLite reads several thousand entries to a row: this crosses that boundary).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_stream_reads_back_whole_and_in_order() {
    const PEOPLE: usize = 5_500;
    for db in kit::backends().await {
        let store = db.store().await;
        let project = Uuid::new_v4();
        store
            .execute(project, register(project, "oxon"))
            .await
            .unwrap();
        for batch in 0..PEOPLE / 1_100 {
            let facts = (0..1_100)
                .map(|n| join(&format!("p{batch}-{n}"), ParticipantKind::Carer))
                .collect();
            store.execute(project, record(facts)).await.unwrap();
        }
        let events = store.recorded_events(project).await.unwrap();
        let sequences: Vec<u64> = events.iter().map(|event| event.sequence).collect();
        assert_eq!(
            sequences,
            (1..=PEOPLE as u64 + 1).collect::<Vec<_>>(),
            "[{}]",
            db.backend
        );
        let entries = store.entries(project, 0, None).await.unwrap();
        assert_eq!(
            events,
            store.opened(project, &entries).await.unwrap(),
            "[{}]",
            db.backend
        );
    }
}

/// While this process has commits of a project still to refresh, its catch-up reader leaves the
/// project's view to the refresher, telling it to reach the entries another process appended
/// meanwhile; those entries must reach the view all the same. Both processes append to one
/// project at once; afterwards each process's catch-up brings the view to the whole stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_reach_other_processes_entries_while_commits_are_refreshed() {
    for db in kit::backends().await {
        let (one, two) = (db.store().await, db.connect().await);
        let id = Uuid::new_v4();
        one.execute(id, register(id, "oxon")).await.unwrap();
        let mut writers = Vec::new();
        for (writer, store) in [one.clone(), two.clone()].into_iter().enumerate() {
            writers.push(tokio::spawn(async move {
                for n in 0..40 {
                    let fact = join(&format!("w{writer}-{n}"), ParticipantKind::Carer);
                    loop {
                        match store.execute(id, record(vec![fact.clone()])).await {
                            Ok(_) => break,
                            Err(ExecuteError::Conflict) => continue,
                            Err(error) => panic!("append: {error:?}"),
                        }
                    }
                }
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
        let last = one.entries(id, 0, None).await.unwrap().len() as u64;
        assert_eq!(last, 81);
        // On PostgreSQL a transaction still running elsewhere (the other process writing views,
        // or another database's on the same server) holds the catch-up reader back a moment.
        for store in [&one, &two] {
            caught_up_view(store, id, last).await;
        }
    }
}

/// Group commit: a conflict inside a group fails that append alone. Each round, a person whose
/// join was withdrawn joins project X again, at the same moment as people join sixteen other
/// projects, so that the appends are committed in the same groups. X's append first makes the
/// person a new data key, but theirs is stored: its key row is not written, the group is written
/// again without it, and it alone is tried again (with the stored key) and succeeds. None of the
/// others is retried, and every chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_inside_a_group_fails_that_append_alone() {
    for db in kit::backends().await {
        let store = db.store().await;
        let hot = Uuid::new_v4();
        store.execute(hot, register(hot, "oxon")).await.unwrap();
        let others: Vec<Uuid> = (0..16).map(|_| Uuid::new_v4()).collect();
        for id in &others {
            store.execute(*id, register(*id, "oxon")).await.unwrap();
        }
        let mut left_out_seen = false;
        for round in 0..20 {
            let again = format!("again-{round}");
            let joined = store
                .execute(hot, record(vec![join(&again, ParticipantKind::Carer)]))
                .await
                .unwrap();
            store
                .execute(hot, record(vec![correct(joined.last_sequence)]))
                .await
                .unwrap();
            let (retries, left_out) = (store.conflict_retries(), store.group_commits().left_out);
            let mut tasks = Vec::new();
            for (n, id) in others.iter().enumerate() {
                if n == others.len() / 2 {
                    let (store, fact) = (store.clone(), join(&again, ParticipantKind::Carer));
                    tasks.push(tokio::spawn(async move {
                        store.execute(hot, record(vec![fact])).await
                    }));
                }
                let (store, id) = (store.clone(), *id);
                let fact = join(&format!("p-{round}"), ParticipantKind::Carer);
                tasks.push(tokio::spawn(async move {
                    store.execute(id, record(vec![fact])).await
                }));
            }
            for task in tasks {
                let receipt = task.await.unwrap();
                assert!(receipt.is_ok(), "[{}] {receipt:?}", db.backend);
            }
            assert_eq!(
                store.conflict_retries(),
                retries + 1,
                "[{}] round {round}: only the append that lost is tried again, once",
                db.backend
            );
            if store.group_commits().left_out > left_out {
                left_out_seen = true;
                break;
            }
        }
        assert!(
            left_out_seen,
            "[{}] the losing append never shared a group: {:?}",
            db.backend,
            store.group_commits()
        );
        for id in others.iter().chain([&hot]) {
            let entries = store.entries(*id, 0, None).await.unwrap();
            assert_eq!(
                entries.iter().map(|e| e.sequence).collect::<Vec<_>>(),
                (1..=entries.len() as u64).collect::<Vec<_>>(),
                "[{}] gaps or duplicates",
                db.backend
            );
            assert_eq!(verify_chain(&entries).first_divergence, None);
        }
    }
}

/// Two processes on one database, and a project both keep (and, on PostgreSQL, both listen
/// for): `one` registered it, `two` appended its second entry.
async fn kept_by_two_processes(db: &TestDb) -> (Store, Store, Uuid) {
    let (one, two) = (db.store().await, db.connect().await);
    let id = Uuid::new_v4();
    one.execute(id, register(id, "oxon")).await.unwrap();
    two.execute(id, record(vec![join("two-0", ParticipantKind::Carer)]))
        .await
        .unwrap();
    (one, two, id)
}

/// No read on the append path while this process's head is current, and still no lost entry
/// when it is not. Process `two` appends to a project that process `one` keeps. On SQLite,
/// `one`'s next append is decided on its kept head without reading anything, takes a sequence
/// `two` already stored, fails as a conflict and is tried again after reading the tail (had it
/// read the tail first, it would not have lost). On PostgreSQL, `two`'s commit is announced
/// (`NOTIFY`) and `one` reads the tail before deciding: no conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_s_appends_are_caught_by_the_insert_or_announced() {
    for db in kit::backends().await {
        let (one, two, id) = kept_by_two_processes(&db).await;
        for round in 1..4 {
            one.execute(
                id,
                record(vec![join(&format!("one-{round}"), ParticipantKind::Carer)]),
            )
            .await
            .unwrap();
            two.execute(
                id,
                record(vec![join(&format!("two-{round}"), ParticipantKind::Carer)]),
            )
            .await
            .unwrap();
            // Time for an announcement to arrive.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let retries = one.conflict_retries();
            let receipt = one
                .execute(
                    id,
                    record(vec![join(&format!("late-{round}"), ParticipantKind::Carer)]),
                )
                .await
                .unwrap();
            let expected = match db.backend {
                Backend::Sqlite => retries + 1,
                Backend::Postgres => retries,
            };
            assert_eq!(
                one.conflict_retries(),
                expected,
                "[{}] round {round}",
                db.backend
            );
            let entries = one.entries(id, 0, None).await.unwrap();
            assert_eq!(receipt.last_sequence, entries.len() as u64);
            assert_eq!(verify_chain(&entries).first_divergence, None);
        }
    }
}

/// A refusal decided on a kept project is checked against the stream before it stands. Process
/// `two` keeps a project; process `one` appends to it; at once (on SQLite nothing announces it,
/// on PostgreSQL the announcement may still be on the way) a client that read `one`'s receipt
/// posts to `two` with `If-Match` on the new sequence: `two`'s kept head is one behind, but the
/// command is decided again on the tail and accepted. An `If-Match` that is really out of date
/// is still refused, and appends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_on_a_kept_project_stands_only_if_the_stream_has_nothing_newer() {
    for db in kit::backends().await {
        let (one, two, id) = kept_by_two_processes(&db).await;
        let if_match = |sequence: u64, participant: &str| ProjectCommand::Record {
            facts: vec![join(participant, ParticipantKind::Carer)],
            batch: false,
            expected_sequence: Some(sequence),
            context: context(),
        };
        for round in 0..3 {
            let by_one = one
                .execute(
                    id,
                    record(vec![join(&format!("one-{round}"), ParticipantKind::Carer)]),
                )
                .await
                .unwrap();
            let by_two = two
                .execute(
                    id,
                    if_match(by_one.last_sequence, &format!("two-{}", round + 1)),
                )
                .await
                .unwrap_or_else(|e| panic!("[{}] round {round}: {e:?}", db.backend));
            assert_eq!(by_two.last_sequence, by_one.last_sequence + 1);
            let stale = two
                .execute(id, if_match(by_one.last_sequence, "never"))
                .await
                .unwrap_err();
            assert!(
                matches!(
                    stale,
                    ExecuteError::Domain(ProjectError::SequenceMismatch { .. })
                ),
                "[{}] {stale:?}",
                db.backend
            );
        }
        let entries = one.entries(id, 0, None).await.unwrap();
        assert_eq!(entries.len(), 8, "[{}]", db.backend);
        assert!(entries
            .iter()
            .all(|e| e.payload["participant_id"] != "never"));
        assert_eq!(verify_chain(&entries).first_divergence, None);
    }
}

/// Appends to one project from one process do not wait for each other's commits: each is
/// decided on the state the previous one left while that one commits, several share a group,
/// and they chain in order, with no lost race and no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_to_one_project_share_groups_and_chain_in_order() {
    for db in kit::backends().await {
        let store = db.store().await;
        let id = Uuid::new_v4();
        store.execute(id, register(id, "oxon")).await.unwrap();
        let mut shared = false;
        for round in 0..10 {
            let before = store.group_commits();
            let mut tasks = Vec::new();
            for n in 0..24 {
                let store = store.clone();
                let fact = join(&format!("r{round}-{n}"), ParticipantKind::Carer);
                tasks.push(tokio::spawn(async move {
                    store.execute(id, record(vec![fact])).await
                }));
            }
            let mut sequences = BTreeSet::new();
            for task in tasks {
                let receipt = task.await.unwrap().expect("append");
                assert!(sequences.insert(receipt.last_sequence), "sequence reused");
            }
            let after = store.group_commits();
            shared |= after.appends - before.appends > after.groups - before.groups;
            if shared {
                break;
            }
        }
        assert!(shared, "[{}] no group held two appends", db.backend);
        assert_eq!(store.conflict_retries(), 0, "[{}]", db.backend);
        let entries = store.entries(id, 0, None).await.unwrap();
        assert_eq!(
            entries.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            (1..=entries.len() as u64).collect::<Vec<_>>(),
            "[{}] gaps or duplicates",
            db.backend
        );
        let check = verify_chain(&entries);
        assert_eq!(check.first_divergence, None, "[{}]", db.backend);
        let recorded: Vec<&str> = entries
            .iter()
            .map(|e| e.metadata[RECORDED_AT_KEY].as_str())
            .collect();
        assert!(
            recorded.windows(2).all(|w| w[0] <= w[1]),
            "[{}] recorded_at goes back",
            db.backend
        );
        let view = caught_up_view(&store, id, entries.len() as u64).await;
        assert_eq!(view["sequence"], json!(entries.len()));
    }
}

/// The group committer runs on a thread of its own with, on PostgreSQL, connections of its own
/// (named in `pg_stat_activity`); it stops, and closes them, once its store is dropped, so
/// that a process that opens stores one after another does not keep every one's connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_store_stops_its_committer_and_closes_its_connections() {
    let Some(db) = kit::postgres().await else {
        return;
    };
    let committer_connections = || async {
        let (count,): (i64,) = with_raw_pool!(db, |pool| sqlx::query_as(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1"
        )
        .bind(COMMITTER_NAME)
        .fetch_one(&pool)
        .await
        .unwrap());
        count
    };
    let store = db.store().await;
    seeded(&store, "oxon").await;
    let open = committer_connections().await;
    assert!(
        open >= 1,
        "the committer's connections while it writes: {open}"
    );
    drop(store);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut left = committer_connections().await;
    while left > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = committer_connections().await;
    }
    assert_eq!(
        left, 0,
        "the committer's connections 10 s after its store was dropped"
    );
}
