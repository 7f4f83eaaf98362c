//! The project each process keeps in memory between commands (so that an append reads only the
//! new tail of its stream, not the whole stream) must be exactly what folding the stored entries
//! gives: every entry applied once, never skipped, never twice — whichever process appended it,
//! and after refusals and lost races. `Project::apply` is not idempotent (each entry is pushed
//! onto the project's effects, and a correction refolds them), so applying an entry twice, or
//! missing one, shows as a difference here.
//!
//! The chain head kept with it (so that an append chains its entries without reading the
//! previous one back, and answers without reading its own back) must be the stored one too: the
//! chain stays intact and every receipt names what was stored.

mod kit;

use chrono::{NaiveDate, Utc};
use coprod::store::{CommitReceipt, ExecuteError, Store};
use coprod_domain::{
    CommandContext, CorrectionRecorded, Fact, ParticipantJoined, ParticipantKind, Personal,
    Project, ProjectCommand, ProjectEvent, ProjectRegistered, Stage, StageStarted,
};
use cqrs_es::Aggregate;
use uuid::Uuid;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 2, 3).expect("a date")
}

fn context() -> CommandContext {
    CommandContext {
        recorded_by: "tester".into(),
        recorded_at: Utc::now(),
    }
}

fn register(project_id: Uuid) -> ProjectCommand {
    ProjectCommand::Register {
        registration: ProjectRegistered {
            project_id,
            title: "Carers' strategy refresh".into(),
            organisation: "oxfordshire".into(),
            organisation_name: None,
            service_area: "carers".into(),
            description: None,
            priority_groups: vec!["carers".into()],
            started_on: day(),
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

fn join(participant: &str) -> Fact {
    Fact::ParticipantJoined(ParticipantJoined {
        participant_id: participant.into(),
        kind: ParticipantKind::Carer,
        groups: carers(),
        occurred_on: day(),
        lived_experience: None,
    })
}

fn start(stage: Stage) -> Fact {
    Fact::StageStarted(StageStarted {
        stage,
        occurred_on: day(),
    })
}

fn correct(sequence: u64) -> Fact {
    Fact::CorrectionRecorded(CorrectionRecorded {
        corrects_sequence: sequence,
        reason: "recorded in error".into(),
        occurred_on: day(),
    })
}

/// The project folded from scratch from its stored entries `1..=up_to`.
async fn folded(store: &Store, project_id: Uuid, up_to: u64) -> Project {
    let mut project = Project::default();
    for entry in store
        .entries(project_id, 0, Some(up_to))
        .await
        .expect("read")
    {
        let event: ProjectEvent = serde_json::from_value(entry.payload).expect("an event");
        project.apply(event);
    }
    project
}

/// Asserts that `store`'s in-memory project equals a fresh fold of the entries it claims to
/// include.
async fn assert_cache_is_a_fresh_fold(store: &Store, project_id: Uuid, after: &str) {
    let (cached, sequence) = store
        .cached_project(project_id)
        .await
        .unwrap_or_else(|| panic!("[{}] nothing cached {after}", store.backend()));
    assert_eq!(
        cached.sequence(),
        sequence,
        "[{}] the cached project counts {} entries but claims {sequence} {after}",
        store.backend(),
        cached.sequence()
    );
    assert_eq!(
        cached,
        folded(store, project_id, sequence).await,
        "[{}] the cached project differs from a fresh fold of entries 1..={sequence} {after}",
        store.backend()
    );
}

/// Asserts that the project's stored chain is intact and that `receipt` names its last entry
/// exactly as stored.
async fn assert_chain_intact(
    store: &Store,
    project_id: Uuid,
    receipt: &CommitReceipt,
    after: &str,
) {
    let check = store
        .verify_project(project_id)
        .await
        .expect("verify")
        .expect("entries");
    assert_eq!(
        check.first_divergence,
        None,
        "[{}] the chain is broken {after}",
        store.backend()
    );
    let stored = store
        .entries(project_id, receipt.last_sequence - 1, Some(1))
        .await
        .expect("read")
        .pop()
        .expect("the receipt's entry is stored");
    assert_eq!(stored.stored_digest(), Some(receipt.digest), "{after}");
    assert_eq!(
        stored.metadata.get("recorded_at"),
        Some(&receipt.recorded_at),
        "{after}"
    );
}

/// A new project, registered.
async fn registered(store: &Store) -> Uuid {
    let project = Uuid::new_v4();
    store
        .execute(project, register(project))
        .await
        .expect("register");
    project
}

/// A new project, registered, that carer-1 has joined.
async fn registered_with_carer_1(store: &Store) -> Uuid {
    let project = registered(store).await;
    store
        .execute(project, record(vec![join("carer-1")]))
        .await
        .expect("join");
    project
}

/// The groups of everyone who joined, as the store reads them back (opened with their keys).
async fn joined_groups(store: &Store, project_id: Uuid) -> Vec<Personal<Vec<String>>> {
    let events = store.recorded_events(project_id).await.expect("read");
    events
        .into_iter()
        .filter_map(|event| match event.event {
            ProjectEvent::ParticipantJoined(joined) => Some(joined.groups),
            _ => None,
        })
        .collect()
}

/// The groups every person in these tests joins with.
fn carers() -> Personal<Vec<String>> {
    vec!["carers".to_string()].into()
}

async fn stored_count(store: &Store, project_id: Uuid) -> u64 {
    store
        .entries(project_id, 0, None)
        .await
        .expect("read")
        .len() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_taking_turns_apply_each_entry_exactly_once() {
    for db in kit::backends().await {
        // Two stores over one database behave as two server processes: each keeps its own
        // cache and must pick up the other's entries from the tail of the stream.
        let (one, two) = (db.store().await, db.store().await);
        let project = registered(&one).await;
        // Who appends each turn, and what: single facts, batches, corrections (which refold).
        let turns: Vec<(usize, Vec<Fact>)> = vec![
            (0, vec![join("carer-1")]),
            (0, vec![start(Stage::Commission)]),
            (1, vec![join("carer-2"), join("carer-3")]),
            (1, vec![correct(4)]),
            (0, vec![join("carer-4")]),
            (1, vec![start(Stage::Design)]),
            (0, vec![correct(2)]),
            (0, vec![join("carer-5"), join("carer-6"), correct(7)]),
            (1, vec![join("carer-7")]),
            (0, vec![join("carer-8")]),
        ];
        for (turn, (who, facts)) in turns.into_iter().enumerate() {
            let store = [&one, &two][who];
            let receipt = store
                .execute(project, record(facts))
                .await
                .unwrap_or_else(|e| panic!("[{}] turn {turn}: {e:?}", db.backend));
            assert_eq!(receipt.last_sequence, stored_count(store, project).await);
            let after = format!("after turn {turn}");
            assert_cache_is_a_fresh_fold(store, project, &after).await;
            assert_chain_intact(store, project, &receipt, &after).await;
            assert_eq!(
                store.cached_project(project).await.map(|(_, s)| s),
                Some(receipt.last_sequence),
                "[{}] the cache is not at the entry just appended {after}",
                db.backend
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_command_leaves_the_cache_a_fresh_fold() {
    for db in kit::backends().await {
        let store = db.store().await;
        let project = registered_with_carer_1(&store).await;
        // Correcting an entry that does not exist is refused; nothing is appended.
        let refused = store.execute(project, record(vec![correct(99)])).await;
        assert!(
            matches!(refused, Err(ExecuteError::Domain(_))),
            "[{}] {refused:?}",
            db.backend
        );
        assert_cache_is_a_fresh_fold(&store, project, "after a refusal").await;
        store
            .execute(project, record(vec![correct(2)]))
            .await
            .expect("correct");
        assert_cache_is_a_fresh_fold(&store, project, "after the refusal and a correction").await;
        assert_eq!(stored_count(&store, project).await, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_processes_apply_each_entry_exactly_once() {
    for db in kit::backends().await {
        let (one, two) = (db.store().await, db.store().await);
        let project = registered(&one).await;
        // Writers in both processes at once: some lose the race for the next sequence and are
        // retried after reading the winner's entries.
        let mut writers = Vec::new();
        for writer in 0..4 {
            let store = [&one, &two][writer % 2].clone();
            writers.push(tokio::spawn(async move {
                for n in 0..8 {
                    let fact = join(&format!("w{writer}-{n}"));
                    // Losing the race even after the store's own retries is allowed: try again.
                    loop {
                        match store.execute(project, record(vec![fact.clone()])).await {
                            Ok(_) => break,
                            Err(ExecuteError::Conflict) => continue,
                            Err(error) => panic!("[{}] append: {error:?}", store.backend()),
                        }
                    }
                }
            }));
        }
        for writer in writers {
            writer.await.expect("writer");
        }
        assert_eq!(stored_count(&one, project).await, 1 + 4 * 8);
        for (corrected, store) in [(2, &one), (3, &two)] {
            assert_cache_is_a_fresh_fold(store, project, "after the race").await;
            // One more command in each brings its cache to the end of the stream.
            let receipt = store
                .execute(project, record(vec![correct(corrected)]))
                .await
                .expect("correct");
            assert_cache_is_a_fresh_fold(store, project, "after catching up").await;
            assert_chain_intact(store, project, &receipt, "after the race").await;
            assert_eq!(
                store.cached_project(project).await.map(|(_, s)| s),
                Some(receipt.last_sequence)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_to_join_the_same_person_stores_one_data_key_that_opens_their_data() {
    for db in kit::backends().await {
        let (one, two) = (db.store().await, db.store().await);
        let project = registered(&one).await;
        // Each person is joined by both processes at once: both make a data key for them, one
        // commit stores its key with its entry, and the other is tried again with that key, or
        // refused because the person has joined.
        let people: Vec<String> = (0..6).map(|n| format!("both-{n}")).collect();
        let mut writers = Vec::new();
        for store in [&one, &two] {
            let (store, people) = (store.clone(), people.clone());
            writers.push(tokio::spawn(async move {
                let mut joined = 0;
                for person in &people {
                    loop {
                        match store.execute(project, record(vec![join(person)])).await {
                            Ok(_) => joined += 1,
                            Err(ExecuteError::Conflict) => continue,
                            Err(ExecuteError::Domain(_)) => {}
                            Err(error) => panic!("[{}] join: {error:?}", store.backend()),
                        }
                        break;
                    }
                }
                joined
            }));
        }
        let mut joined = 0;
        for writer in writers {
            joined += writer.await.expect("writer");
        }
        assert_eq!(
            joined,
            people.len(),
            "[{}] each person joins once",
            db.backend
        );
        assert_eq!(
            joined_groups(&one, project).await,
            vec![carers(); people.len()],
            "[{}] everyone's groups open with the stored keys",
            db.backend
        );
        let check = one
            .verify_project(project)
            .await
            .expect("verify")
            .expect("entries");
        assert_eq!(check.first_divergence, None, "[{}]", db.backend);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_again_after_a_withdrawn_join_uses_the_key_already_stored() {
    for db in kit::backends().await {
        let store = db.store().await;
        let project = registered_with_carer_1(&store).await;
        // The join is withdrawn: the project no longer knows them, but their key (and the data
        // sealed with it) stays. Joining again first tries with a new key, finds theirs stored,
        // and is tried again with it.
        store
            .execute(project, record(vec![correct(2)]))
            .await
            .expect("withdraw the join");
        let retries = store.conflict_retries();
        let receipt = store
            .execute(project, record(vec![join("carer-1")]))
            .await
            .expect("join again");
        assert_eq!(receipt.last_sequence, 4);
        assert_eq!(store.conflict_retries(), retries + 1, "[{}]", db.backend);
        assert_eq!(
            joined_groups(&store, project).await,
            vec![carers(); 2],
            "[{}] both joins open with the one stored key",
            db.backend
        );
        assert_cache_is_a_fresh_fold(&store, project, "after joining again").await;
        assert_chain_intact(&store, project, &receipt, "after joining again").await;
    }
}
