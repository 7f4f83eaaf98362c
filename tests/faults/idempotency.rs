//! The property the crash tests depend on, shown deterministically (no timing): an idempotent
//! request's answer is kept in the transaction that appends its events, and a request whose
//! key a retry has taken over appends nothing.

use std::time::Duration;

use chrono::Utc;
use coprod::store::{Claim, CommitReceipt, ExecuteError, Store};
use coprod_domain::{
    CommandContext, Fact, ParticipantJoined, ParticipantKind, ProjectCommand, ProjectRegistered,
};
use uuid::Uuid;

use crate::kit::{self, Backend, TestDb};

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
            title: "Idempotency under faults".into(),
            organisation: "oxfordshire".into(),
            organisation_name: None,
            service_area: "carers".into(),
            description: None,
            priority_groups: vec!["carers".into()],
            started_on: Utc::now().date_naive(),
            declared_level: None,
            serves: None,
        },
        context: context(),
    }
}

fn join(participant: &str) -> ProjectCommand {
    ProjectCommand::Record {
        facts: vec![Fact::ParticipantJoined(ParticipantJoined {
            participant_id: participant.into(),
            kind: ParticipantKind::Carer,
            groups: vec![].into(),
            occurred_on: Utc::now().date_naive(),
            lived_experience: None,
        })],
        batch: false,
        expected_sequence: None,
        context: context(),
    }
}

fn render(receipt: &CommitReceipt) -> String {
    format!("{{\"last_sequence\":{}}}", receipt.last_sequence)
}

/// Makes every pending claim look abandoned long ago.
async fn age_claims(db: &TestDb) {
    let sql = "UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000000Z' \
               WHERE status = 0";
    match db.backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

async fn sequence(store: &Store, project: Uuid) -> u64 {
    store
        .project_head(project)
        .await
        .unwrap()
        .map_or(0, |head| head.sequence)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_over_request_appends_nothing_and_the_answer_commits_with_the_events() {
    for db in kit::backends().await {
        let backend = db.backend;
        // Two "processes" on one database.
        let first = db.store().await;
        let retry = db.connect().await;
        let project = Uuid::new_v4();
        first.execute(project, register(project)).await.unwrap();
        let short = Duration::from_millis(100);

        // The first request claims the key; its process then stalls (or dies) long enough for
        // a retry to take the key over.
        let (claim, stalled) = first
            .claim_idempotent_ticket("alice", "k", project, "h", short)
            .await
            .unwrap();
        assert_eq!(claim, Claim::Claimed, "[{backend}]");
        age_claims(&db).await;
        let (claim, taken_over) = retry
            .claim_idempotent_ticket("alice", "k", project, "h", short)
            .await
            .unwrap();
        assert_eq!(
            claim,
            Claim::Claimed,
            "[{backend}] a stale claim is taken over"
        );

        // The stalled request wakes up: it may not append, nor release the retry's claim.
        let late = first
            .holding_claim(
                stalled.clone().unwrap(),
                first.execute_answering(project, join("p1"), 201, render),
            )
            .await;
        assert_eq!(late, Err(ExecuteError::Superseded), "[{backend}]");
        assert_eq!(
            sequence(&first, project).await,
            1,
            "[{backend}] nothing appended"
        );
        first.release_claim(&stalled.unwrap()).await.unwrap();
        assert_eq!(
            first
                .claim_idempotent("alice", "k", project, "h", short)
                .await
                .unwrap(),
            Claim::InProgress,
            "[{backend}] the retry still holds the key"
        );

        // The retry appends; its answer is kept with its events, before anyone saves it.
        let taken_over = taken_over.unwrap();
        let (receipt, body) = retry
            .holding_claim(
                taken_over.clone(),
                retry.execute_answering(project, join("p1"), 201, render),
            )
            .await
            .unwrap();
        assert_eq!(receipt.last_sequence, 2, "[{backend}]");
        assert_eq!(body, render(&receipt), "[{backend}]");
        let kept = retry.find_idempotent("alice", "k").await.unwrap();
        assert_eq!(
            kept.as_ref().map(|k| (k.status, k.body.as_str())),
            Some((201, body.as_str())),
            "[{backend}] the answer commits with the events"
        );
        // Even if the request then believes it failed (say its connection dropped as the commit
        // was acknowledged) and releases the key, the answer stays, and a retry gets it.
        retry.release_claim(&taken_over).await.unwrap();
        match first
            .claim_idempotent("alice", "k", project, "h", short)
            .await
            .unwrap()
        {
            Claim::Answered(answer) => assert_eq!(answer.body, body, "[{backend}]"),
            other => panic!("[{backend}] a retry after the commit got {other:?}"),
        }
        assert_eq!(
            sequence(&first, project).await,
            2,
            "[{backend}] appended once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_over_request_fails_alone_in_its_group() {
    for db in kit::backends().await {
        let backend = db.backend;
        let first = db.store().await;
        let retry = db.connect().await;
        let short = Duration::from_millis(100);
        let project = Uuid::new_v4();
        first.execute(project, register(project)).await.unwrap();
        let others: Vec<Uuid> = (0..12).map(|_| Uuid::new_v4()).collect();
        for &other in &others {
            first.execute(other, register(other)).await.unwrap();
        }
        // The stalled request is handed to the committer together with twelve others; a
        // round in which it shared their group shows as a group written again without it.
        // Which group an append joins depends on timing, so rounds go on until one did.
        let mut rounds_in_a_group = 0;
        for round in 0..20 {
            let key = format!("k{round}");
            let (claim, stalled) = first
                .claim_idempotent_ticket("alice", &key, project, "h", short)
                .await
                .unwrap();
            assert_eq!(claim, Claim::Claimed, "[{backend}]");
            age_claims(&db).await;
            let (claim, _) = retry
                .claim_idempotent_ticket("alice", &key, project, "h", short)
                .await
                .unwrap();
            assert_eq!(claim, Claim::Claimed, "[{backend}] taken over");

            let before = first.group_commits();
            let joining: Vec<_> = others
                .iter()
                .map(|&other| {
                    let (store, participant) = (first.clone(), format!("p{round}"));
                    tokio::spawn(async move { store.execute(other, join(&participant)).await })
                })
                .collect();
            let late = first
                .holding_claim(
                    stalled.unwrap(),
                    first.execute_answering(project, join("late"), 201, render),
                )
                .await;
            for joined in joining {
                let receipt = joined.await.unwrap();
                assert!(
                    receipt.is_ok(),
                    "[{backend}] an append of the group failed: {receipt:?}"
                );
            }
            assert_eq!(late, Err(ExecuteError::Superseded), "[{backend}]");
            assert_eq!(
                sequence(&first, project).await,
                1,
                "[{backend}] the taken-over request appended nothing"
            );
            for &other in &others {
                assert_eq!(sequence(&first, other).await, round + 2, "[{backend}]");
            }
            let after = first.group_commits();
            if after.passes_again > before.passes_again && after.left_out > before.left_out {
                rounds_in_a_group += 1;
                if rounds_in_a_group == 3 {
                    break;
                }
            }
        }
        assert!(
            rounds_in_a_group > 0,
            "[{backend}] the stalled request never shared a group in 20 rounds"
        );
    }
}
