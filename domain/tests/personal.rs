//! Erasure of a participant's personal data, in the aggregate (who may be erased, what may
//! follow), the rubric (their groups become unknown) and seal checks (an erased participant's
//! data makes an older seal "cannot be replayed in full", never "altered").

use coprod_domain::assessment::Cutoff;
use coprod_domain::digest::{chain_next, StoredEntry};
use coprod_domain::personal::{self, Personal};
use coprod_domain::seal::{body_digest, check_seals_with, decode, replay, SealOutcome};
use coprod_domain::testkit::facts::*;
use coprod_domain::testkit::stream;
use coprod_domain::*;

fn erasure(participant: &str) -> ParticipantErased {
    ParticipantErased {
        participant_id: participant.into(),
        reason: "Asked by the participant.".into(),
        legal_basis: "UK GDPR Article 17(1)(b)".into(),
        occurred_on: today(),
    }
}

fn erase(participant: &str) -> ProjectCommand {
    ProjectCommand::Erase {
        erasure: erasure(participant),
        context: context(),
    }
}

fn erased(participant: &str) -> ProjectEvent {
    ProjectEvent::ParticipantErased(erasure(participant))
}

#[tokio::test]
async fn a_participant_who_joined_can_be_erased_once() {
    assert_eq!(when(team(), erase("p1")).await, Ok(vec![erased("p1")]));
    let mut history = team();
    history.push(erased("p1"));
    assert_eq!(
        when(history, erase("p1")).await,
        Err(ProjectError::AlreadyErased {
            participant_id: "p1".into()
        })
    );
}

#[tokio::test]
async fn someone_who_never_joined_cannot_be_erased_but_a_withdrawn_join_can() {
    assert_eq!(
        when(team(), erase("nobody")).await,
        Err(ProjectError::UnknownParticipant {
            path: "/participant_id".into(),
            participant_id: "nobody".into(),
        })
    );
    // p1's join (entry 2) withdrawn: their data is still in the log, so it can be erased.
    let history = team_and(vec![correction(2)]);
    assert_eq!(when(history, erase("p1")).await, Ok(vec![erased("p1")]));
}

#[tokio::test]
async fn an_erasure_needs_a_reason_and_a_legal_basis() {
    let command = ProjectCommand::Erase {
        erasure: ParticipantErased {
            reason: " ".into(),
            legal_basis: "".into(),
            ..erasure("p1")
        },
        context: context(),
    };
    assert_eq!(
        field_paths(when(team(), command).await),
        ["/reason", "/legal_basis"]
    );
}

#[tokio::test]
async fn nothing_new_may_name_an_erased_participant_and_the_erasure_cannot_be_withdrawn() {
    let mut history = team();
    history.push(erased("p1")); // 6
    let refused = |path: &str| {
        Err(ProjectError::ParticipantErased {
            path: path.into(),
            participant_id: "p1".into(),
        })
    };
    assert_eq!(
        when(
            history.clone(),
            record(reward("p1", RewardKind::Recognition, None, None))
        )
        .await,
        refused("/participant_id")
    );
    assert_eq!(
        when(
            history.clone(),
            record(activity("a1", Stage::Commission, &["p1"], &[]))
        )
        .await,
        refused("/facilitators/0")
    );
    assert_eq!(
        when(history.clone(), record(join("p1", ParticipantKind::Carer))).await,
        refused("/participant_id")
    );
    assert_eq!(
        when(history, record(correction(6))).await,
        Err(ProjectError::CorrectionNotAllowed {
            path: "/corrects_sequence".into(),
            sequence: 6,
            why: CorrectionRefusal::Erasure,
        })
    );
}

#[test]
fn an_erased_participants_groups_are_unknown_and_counted() {
    let mut s = stream::Stream::plain();
    s.join("ann", ParticipantKind::Carer, &["Young carers"]); // 2
    s.join("bob", ParticipantKind::LivedExperience, &["Autism"]); // 3
    s.stage(Stage::Commission); // 4
    s.meeting("a1", Stage::Commission, &[], &["ann", "bob"]); // 5
    let before = stream::assess(&s, Cutoff::Latest);
    assert_eq!(before.participants_erased, 0);
    assert_eq!(stream::indicator(&before, "breadth").value, "2 groups");

    let mut entries = s.entries().to_vec();
    personal::forget(&mut entries, "ann");
    let after = stream::assess(&stream::Stream::from_entries(entries), Cutoff::Latest);
    assert_eq!(after.participants_erased, 1);
    assert_eq!(stream::indicator(&after, "breadth").value, "1 groups");
    let dominance = stream::indicator(&after, "no_single_group_dominates");
    assert!(
        dominance
            .explanation
            .contains("whose personal data was erased are unknown"),
        "{}",
        dominance.explanation
    );
}

/// Stores `events` as a chained stream.
fn stored(events: &[ProjectEvent]) -> Vec<StoredEntry> {
    let mut head = Digest::ZERO;
    let mut entries = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let mut entry = StoredEntry {
            aggregate_id: PROJECT_ID.into(),
            sequence: i as u64 + 1,
            event_type: event.type_name().into(),
            event_version: "1".into(),
            payload: serde_json::to_value(event).unwrap(),
            metadata: [
                (
                    "recorded_at".to_string(),
                    format!("2025-03-01T10:00:{:02}.000000Z", i),
                ),
                ("recorded_by".to_string(), RECORDER.to_string()),
            ]
            .into(),
        };
        head = chain_next(&head, &entry);
        entry.metadata.insert("digest".into(), head.to_string());
        entries.push(entry);
    }
    entries
}

#[test]
fn a_seal_made_before_an_erasure_cannot_be_replayed_in_full_and_is_not_called_altered() {
    let mut events = team_and(vec![activity("a1", Stage::Commission, &["p1"], &["p3"])]);
    let entries = stored(&events);
    let recorded = decode(&entries).unwrap();
    let latest = rubric::latest();
    let seal_of = |recorded: &[RecordedEvent]| {
        let assessment =
            coprod_domain::assessment::assess(recorded, latest, Cutoff::Latest).unwrap();
        AssessmentSealed {
            requested_as_of: None,
            as_of: assessment.as_of.clone(),
            happened_by: None,
            at_sequence: assessment.at_sequence,
            stream_digest: assessment.stream_digest,
            rubric: assessment.rubric.clone(),
            engine: assessment.engine.clone(),
            disclosure: Default::default(),
            assessment_digest: body_digest(&assessment),
            requested_by: "assurance".into(),
            purpose: "Panel".into(),
            occurred_on: today(),
        }
    };
    let seal = seal_of(&recorded);
    assert_eq!(
        body_digest(&replay(&recorded, &seal).unwrap()),
        seal.assessment_digest
    );
    events.push(ProjectEvent::AssessmentSealed(seal)); // 7
    events.push(erased("p1")); // 8
    let entries = stored(&events);

    // The server opened everything it could: p1's groups are erased.
    let mut opened = decode(&entries).unwrap();
    personal::forget(&mut opened, "p1");
    let check = &check_seals_with(&entries, Ok(opened))[0];
    assert_eq!(check.outcome, SealOutcome::CannotReplay, "{check:?}");
    assert_eq!(check.erased_at, Some(8));
    assert!(check.stream_digest_matches);
    assert!(!check.contradicted());
    assert!(
        check
            .explanation
            .contains("participant data erased at entry 8"),
        "{}",
        check.explanation
    );

    // Without the erasure the same seal holds; with an altered entry it is contradicted.
    let check = &check_seals_with(&entries, decode(&entries))[0];
    assert_eq!(check.outcome, SealOutcome::Holds, "{check:?}");
    let mut altered = entries.clone();
    altered[1].payload["kind"] = "professional".into();
    let check = &check_seals_with(&altered, decode(&altered))[0];
    assert_eq!(check.outcome, SealOutcome::Altered, "{check:?}");
    assert!(check.contradicted());
}

#[test]
fn personal_fields_read_clear_or_sealed_and_are_shown_as_erased() {
    let clear: Personal<Vec<String>> =
        serde_json::from_value(serde_json::json!(["carers"])).unwrap();
    assert_eq!(clear, Personal::Clear(vec!["carers".to_string()]));
    let sealed: Personal<Vec<String>> = serde_json::from_value(
        serde_json::json!({"cipher": "AES-256-GCM", "nonce": "bm9uY2U=", "ciphertext": "eA=="}),
    )
    .unwrap();
    assert!(matches!(sealed, Personal::Sealed(_)));
    assert_eq!(
        serde_json::to_value(Personal::<String>::Erased).unwrap(),
        "erased"
    );
    // "erased" is only ever shown: it is not a stored or posted value.
    assert!(serde_json::from_value::<Personal<Vec<String>>>(serde_json::json!("erased")).is_err());
}
