//! Checking sealed assessments with no database: `check_seals` and `replay` on streams of stored
//! entries built here, each chained with the real digest (`chain_next`) as the store chains them
//! at append time, then altered the ways an attacker with write access to the table could.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use coprod_domain::assessment::{assess, Assessment, Cutoff};
use coprod_domain::digest::{
    chain_next, verify_chain, DIGEST_KEY, RECORDED_AT_KEY, RECORDED_BY_KEY,
};
use coprod_domain::recorded::{format_instant, RecordedEvent};
use coprod_domain::rubric;
use coprod_domain::seal::{body_digest, check_seals, replay, SealCheck};
use coprod_domain::{AssessmentSealed, Digest, ProjectEvent, StoredEntry, EVENT_VERSION};
use serde_json::{json, Value};

const PROJECT_ID: &str = "7d1e4b2a-3c5f-4a69-8e0b-1f2a3b4c5d6e";
const DAY: &str = "2025-02-03";
const PURPOSE: &str = "Adults scrutiny panel 2025-03-04";

// ---- building streams -------------------------------------------------------------------------

/// When entry `sequence` was recorded: one minute apart from 2025-03-01T09:00:00Z.
fn recorded_at(sequence: u64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(sequence as i64 - 1)
}

/// Entry `sequence` holding `event` (JSON with its `type`), as stored but not yet chained.
fn entry(sequence: u64, event: Value) -> StoredEntry {
    let event: ProjectEvent = serde_json::from_value(event).expect("a valid event");
    StoredEntry {
        aggregate_id: PROJECT_ID.into(),
        sequence,
        event_type: event.type_name().into(),
        event_version: EVENT_VERSION.into(),
        payload: serde_json::to_value(&event).expect("an event serialises"),
        metadata: BTreeMap::from([
            (
                RECORDED_AT_KEY.to_string(),
                format_instant(recorded_at(sequence)),
            ),
            (RECORDED_BY_KEY.to_string(), "officer".to_string()),
        ]),
    }
}

/// Writes each entry's chain head into its metadata, as the store does when it appends.
fn chained(mut entries: Vec<StoredEntry>) -> Vec<StoredEntry> {
    let mut head = Digest::ZERO;
    for entry in &mut entries {
        entry.metadata.remove(DIGEST_KEY);
        head = chain_next(&head, entry);
        entry.metadata.insert(DIGEST_KEY.into(), head.to_string());
    }
    entries
}

/// Appends `event` as the next entry, chained onto the stream.
fn append(entries: &mut Vec<StoredEntry>, event: Value) {
    let mut next = entry(entries.len() as u64 + 1, event);
    let previous = entries
        .last()
        .and_then(StoredEntry::stored_digest)
        .unwrap_or(Digest::ZERO);
    let head = chain_next(&previous, &next);
    next.metadata.insert(DIGEST_KEY.into(), head.to_string());
    entries.push(next);
}

/// Eight facts: a registration, two participants, the commission stage, a workshop, an idea,
/// its response and a decision it influenced.
fn facts() -> Vec<StoredEntry> {
    let events = [
        json!({"type": "project_registered", "project_id": PROJECT_ID,
               "title": "Carers' strategy refresh", "organisation": "oxfordshire",
               "service_area": "carers", "priority_groups": ["carers"], "started_on": "2025-01-06"}),
        json!({"type": "participant_joined", "participant_id": "p1", "kind": "lived_experience",
               "groups": ["carers"], "occurred_on": DAY}),
        json!({"type": "participant_joined", "participant_id": "p2", "kind": "professional",
               "groups": [], "occurred_on": DAY}),
        json!({"type": "stage_started", "stage": "commission", "occurred_on": DAY}),
        json!({"type": "activity_held", "activity_id": "a1", "stage": "commission",
               "kind": "workshop", "title": "Carers' workshop", "facilitators": ["p1"],
               "attendees": ["p2"], "occurred_on": DAY}),
        json!({"type": "contribution_made", "contribution_id": "c1", "participant_id": "p1",
               "stage": "commission", "kind": "idea",
               "summary": "Meet in the evening, after caring hours.", "occurred_on": DAY}),
        json!({"type": "contribution_responded", "contribution_id": "c1", "response": "adopted",
               "explanation": "Sessions moved to 6pm.", "occurred_on": DAY}),
        json!({"type": "decision_made", "decision_id": "d1", "stage": "commission",
               "subject": "When to meet", "method": "consensus", "participants": ["p1", "p2"],
               "influenced_by": ["c1"], "outcome": "Evening sessions", "occurred_on": DAY}),
    ];
    chained(
        events
            .into_iter()
            .enumerate()
            .map(|(i, event)| entry(i as u64 + 1, event))
            .collect(),
    )
}

fn decoded(entries: &[StoredEntry]) -> Vec<RecordedEvent> {
    entries
        .iter()
        .map(|e| RecordedEvent::from_stored(e).expect("a readable entry"))
        .collect()
}

/// The seal the server makes of `assessment`.
fn seal_of(assessment: &Assessment, requested_as_of: Option<&str>) -> AssessmentSealed {
    AssessmentSealed {
        requested_as_of: requested_as_of.map(str::to_string),
        as_of: assessment.as_of.clone(),
        happened_by: assessment.happened_by,
        at_sequence: assessment.at_sequence,
        stream_digest: assessment.stream_digest,
        rubric: assessment.rubric.clone(),
        engine: assessment.engine.clone(),
        disclosure: Default::default(),
        assessment_digest: body_digest(assessment),
        requested_by: "assurance".into(),
        purpose: PURPOSE.into(),
        occurred_on: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
    }
}

/// Seals everything recorded so far, as `POST /assessments` with no `as_of` does.
fn seal_latest(entries: &[StoredEntry]) -> AssessmentSealed {
    let assessment = assess(&decoded(entries), rubric::latest(), Cutoff::Latest).unwrap();
    seal_of(&assessment, None)
}

fn seal_event(seal: &AssessmentSealed) -> Value {
    serde_json::to_value(ProjectEvent::AssessmentSealed(seal.clone())).unwrap()
}

/// The eight facts, a seal of them at entry 9, then an outcome review (10) and a correction
/// withdrawing the workshop (11), both recorded after the seal.
fn sealed_stream() -> (Vec<StoredEntry>, AssessmentSealed) {
    let mut entries = facts();
    let seal = seal_latest(&entries);
    append(&mut entries, seal_event(&seal));
    append(
        &mut entries,
        json!({"type": "outcome_reviewed", "outcome_id": "o1", "kind": "success",
               "description": "Attendance doubled.", "accountable": ["p2"],
               "reviewed_by": ["p1"], "occurred_on": DAY}),
    );
    append(
        &mut entries,
        json!({"type": "correction_recorded", "corrects_sequence": 5,
               "reason": "Recorded against the wrong project.", "occurred_on": DAY}),
    );
    assert_eq!(entries.len(), 11);
    assert_eq!(verify_chain(&entries).first_divergence, None);
    (entries, seal)
}

/// The only seal check of `entries`.
fn only_check(entries: &[StoredEntry]) -> SealCheck {
    let checks = check_seals(entries);
    assert_eq!(checks.len(), 1, "{checks:?}");
    checks.into_iter().next().unwrap()
}

fn set_payload(entries: &mut [StoredEntry], sequence: u64, field: &str, value: Value) {
    let entry = &mut entries[sequence as usize - 1];
    assert_eq!(entry.sequence, sequence);
    entry.payload[field] = value;
}

// ---- a seal that holds ------------------------------------------------------------------------

#[test]
fn a_seal_of_an_unaltered_stream_holds() {
    let (entries, seal) = sealed_stream();
    assert_eq!(seal.at_sequence, 8);
    assert_eq!(seal.requested_as_of, None);
    let check = only_check(&entries);
    assert_eq!(check.sequence, 9);
    assert_eq!(check.at_sequence, 8);
    assert_eq!(check.purpose, PURPOSE);
    assert!(check.stream_digest_matches, "{check:?}");
    assert_eq!(check.sealed_digest, seal.assessment_digest);
    assert_eq!(check.replayed_digest, Some(seal.assessment_digest));
    assert!(check.valid, "{check:?}");
    assert!(
        check.explanation.starts_with("The seal holds") && check.explanation.contains("up to 8"),
        "{}",
        check.explanation
    );
}

#[test]
fn replaying_a_seal_gives_the_body_that_was_sealed_byte_for_byte() {
    let (entries, seal) = sealed_stream();
    let events = decoded(&entries);
    let replayed = replay(&events, &seal).expect("replayable");
    let original = assess(&decoded(&entries[..8]), rubric::latest(), Cutoff::Latest).unwrap();
    assert_eq!(replayed.to_json_bytes(), original.to_json_bytes());
    assert_eq!(
        Digest::of_bytes(&replayed.to_json_bytes()),
        seal.assessment_digest
    );
    assert_eq!(replayed.at_sequence, 8);
    assert_eq!(replayed.stream_digest, entries[7].stored_digest().unwrap());
}

#[test]
fn a_correction_recorded_after_a_seal_does_not_break_it() {
    let (entries, seal) = sealed_stream();
    // The correction at 11 withdraws the workshop: today's assessment no longer counts it ...
    let today = assess(&decoded(&entries), rubric::latest(), Cutoff::Latest).unwrap();
    let sealed = replay(&decoded(&entries), &seal).unwrap();
    let evidence = |a: &Assessment| -> Vec<u64> {
        a.criteria
            .iter()
            .flat_map(|c| &c.indicators)
            .flat_map(|i| i.evidence.iter().copied())
            .collect()
    };
    assert!(
        evidence(&sealed).contains(&5),
        "the sealed body cites the workshop"
    );
    assert!(!evidence(&today).contains(&5), "today's body does not");
    // ... but the seal is replayed as of its cut-off, so it still holds.
    assert!(only_check(&entries).valid);
}

#[test]
fn a_seal_made_by_an_older_engine_is_compared_under_that_engine_s_name() {
    let mut entries = facts();
    let mut assessment = assess(&decoded(&entries), rubric::latest(), Cutoff::Latest).unwrap();
    assessment.engine = "coprod 0.0.1".into();
    let seal = seal_of(&assessment, None);
    append(&mut entries, seal_event(&seal));
    let check = only_check(&entries);
    assert!(check.valid, "{check:?}");
    assert_eq!(
        replay(&decoded(&entries), &seal).unwrap().engine,
        "coprod 0.0.1"
    );
}

#[test]
fn every_seal_of_a_stream_is_checked_in_order() {
    let (mut entries, first) = sealed_stream();
    let second = seal_latest(&entries);
    append(&mut entries, seal_event(&second));
    let checks = check_seals(&entries);
    let at: Vec<(u64, u64)> = checks.iter().map(|c| (c.sequence, c.at_sequence)).collect();
    assert_eq!(at, [(9, first.at_sequence), (12, 11)]);
    assert!(checks.iter().all(|c| c.valid), "{checks:?}");
}

// ---- a seal whose own record was changed -----------------------------------------------------

#[test]
fn a_seal_whose_assessment_digest_was_changed_no_longer_holds() {
    let (entries, seal) = sealed_stream();
    let forged = Digest::of_bytes(b"a kinder assessment");
    let mut altered = entries.clone();
    set_payload(
        &mut altered,
        9,
        "assessment_digest",
        json!(forged.to_string()),
    );

    // Changed in place: the chain breaks at the seal entry, and the body no longer matches.
    assert_eq!(verify_chain(&altered).first_divergence, Some(9));
    let check = only_check(&altered);
    assert!(!check.valid);
    assert!(
        check.stream_digest_matches,
        "the entries up to 8 are intact"
    );
    assert_eq!(check.sealed_digest, forged);
    assert_eq!(check.replayed_digest, Some(seal.assessment_digest));
    assert!(
        check.explanation.contains("different assessment"),
        "{}",
        check.explanation
    );

    // Even with the whole chain rewritten to hide it, replaying still tells.
    let rewritten = chained(altered);
    assert_eq!(verify_chain(&rewritten).first_divergence, None);
    let check = only_check(&rewritten);
    assert!(!check.valid, "{check:?}");
    assert_eq!(check.replayed_digest, Some(seal.assessment_digest));
}

#[test]
fn an_entry_that_should_hold_a_seal_but_cannot_be_read_is_reported() {
    let (mut entries, _) = sealed_stream();
    entries[8]
        .payload
        .as_object_mut()
        .unwrap()
        .remove("purpose");
    let check = only_check(&entries);
    assert_eq!(check.sequence, 9);
    assert!(!check.valid);
    assert_eq!(check.replayed_digest, None);
    assert!(
        check.explanation.contains("cannot be read"),
        "{}",
        check.explanation
    );
}

// ---- entries altered around a seal ------------------------------------------------------------

#[test]
fn an_entry_altered_before_the_seal_breaks_its_stream_digest() {
    let (mut entries, seal) = sealed_stream();
    set_payload(&mut entries, 5, "title", json!("A workshop that never was"));
    assert_eq!(verify_chain(&entries).first_divergence, Some(5));
    let check = only_check(&entries);
    assert!(!check.stream_digest_matches);
    assert!(!check.valid);
    assert_eq!(check.sealed_digest, seal.assessment_digest);
    assert!(
        check.explanation.contains("up to 8") && check.explanation.contains("altered"),
        "{}",
        check.explanation
    );
}

#[test]
fn an_entry_altered_before_the_seal_is_caught_even_when_the_chain_is_rewritten() {
    let (mut entries, seal) = sealed_stream();
    // Who recorded the decision, changed, and every later digest recomputed to match.
    entries[7]
        .metadata
        .insert(RECORDED_BY_KEY.into(), "someone else".into());
    let entries = chained(entries);
    assert_eq!(verify_chain(&entries).first_divergence, None);
    let check = only_check(&entries);
    assert!(
        !check.stream_digest_matches,
        "the seal keeps the old stream digest"
    );
    assert!(!check.valid);
    // The body names the stream digest it was computed from, so it differs too.
    assert_ne!(check.replayed_digest, Some(seal.assessment_digest));
}

#[test]
fn an_entry_deleted_before_the_seal_breaks_it() {
    let (mut entries, _) = sealed_stream();
    entries.remove(2);
    assert_eq!(verify_chain(&entries).first_divergence, Some(3));
    let check = only_check(&entries);
    assert!(!check.stream_digest_matches);
    assert!(!check.valid);
}

#[test]
fn two_entries_swapped_before_the_seal_break_it() {
    let (mut entries, _) = sealed_stream();
    // The rows keep their content but trade sequence numbers, then read back in sequence order.
    entries[5].sequence = 7;
    entries[6].sequence = 6;
    entries.sort_by_key(|e| e.sequence);
    assert_eq!(verify_chain(&entries).first_divergence, Some(6));
    let check = only_check(&entries);
    assert!(!check.stream_digest_matches);
    assert!(!check.valid);
}

#[test]
fn an_entry_altered_after_the_seal_breaks_the_chain_but_not_the_seal() {
    let (mut entries, seal) = sealed_stream();
    set_payload(&mut entries, 10, "description", json!("Attendance fell."));
    assert_eq!(verify_chain(&entries).first_divergence, Some(10));
    let check = only_check(&entries);
    assert!(check.stream_digest_matches);
    assert_eq!(check.replayed_digest, Some(seal.assessment_digest));
    assert!(check.valid, "{check:?}");
}

// ---- seals that cannot be replayed ------------------------------------------------------------

#[test]
fn a_seal_naming_an_unknown_rubric_version_cannot_be_replayed_and_says_so() {
    let mut entries = facts();
    let mut seal = seal_latest(&entries);
    seal.rubric.version = 99;
    append(&mut entries, seal_event(&seal));
    let error = replay(&decoded(&entries), &seal).unwrap_err();
    assert!(error.contains("oxfordshire-six-point@99"), "{error}");
    let check = only_check(&entries);
    assert!(check.stream_digest_matches, "the log itself is intact");
    assert_eq!(check.replayed_digest, None);
    assert!(!check.valid);
    assert!(
        check.explanation.contains("cannot be replayed")
            && check.explanation.contains("oxfordshire-six-point@99"),
        "{}",
        check.explanation
    );
}

#[test]
fn a_seal_naming_a_known_rubric_version_with_another_digest_cannot_be_replayed() {
    let mut entries = facts();
    let mut seal = seal_latest(&entries);
    seal.rubric.digest = Digest::of_bytes(b"an edited rubric");
    append(&mut entries, seal_event(&seal));
    let check = only_check(&entries);
    assert!(!check.valid);
    assert_eq!(check.replayed_digest, None);
    assert!(
        check.explanation.contains("cannot be replayed")
            && check.explanation.contains(&seal.rubric.digest.to_string()),
        "{}",
        check.explanation
    );
}

#[test]
fn a_seal_as_of_an_instant_holds_when_an_entry_stamped_before_it_lands_after_the_replay_read() {
    // A write stamped before the instant can commit between the seal's read and its append.
    let mut entries = facts();
    entries.truncate(6);
    let instant = recorded_at(6) + Duration::seconds(30);
    let assessment = assess(&decoded(&entries), rubric::latest(), Cutoff::AsOf(instant)).unwrap();
    assert_eq!(assessment.at_sequence, 6);
    let seal = seal_of(&assessment, Some(&format_instant(instant)));
    let late = facts()[6].clone();
    let mut late = entry(7, late.payload);
    late.metadata.insert(
        RECORDED_AT_KEY.into(),
        format_instant(recorded_at(6) + Duration::seconds(10)),
    );
    entries.push(late);
    entries = chained(entries);
    append(&mut entries, seal_event(&seal));
    let check = only_check(&entries);
    assert!(check.valid, "{check:?}");
    assert_eq!(check.at_sequence, 6);
}

// ---- seals of a past instant ------------------------------------------------------------------

#[test]
fn a_seal_requested_as_of_an_instant_is_replayed_as_of_that_instant() {
    let mut entries = facts();
    // Half a minute after entry 6 was recorded: entries 1 to 6 were known then.
    let instant = recorded_at(6) + Duration::seconds(30);
    let as_of = format_instant(instant);
    let assessment = assess(&decoded(&entries), rubric::latest(), Cutoff::AsOf(instant)).unwrap();
    assert_eq!(assessment.at_sequence, 6);
    assert_eq!(assessment.as_of, as_of);
    let seal = seal_of(&assessment, Some(&as_of));
    append(&mut entries, seal_event(&seal));

    let replayed = replay(&decoded(&entries), &seal).unwrap();
    assert_eq!(
        replayed.as_of, as_of,
        "the body names the instant asked for"
    );
    assert_eq!(replayed.at_sequence, 6);
    assert_eq!(replayed.to_json_bytes(), assessment.to_json_bytes());
    let check = only_check(&entries);
    assert!(check.valid, "{check:?}");
    assert_eq!(check.at_sequence, 6);

    // Replaying it at its sequence instead would name another moment, and another body.
    let at_sequence = assess(&decoded(&entries), rubric::latest(), Cutoff::AtSequence(6)).unwrap();
    assert_ne!(body_digest(&at_sequence), seal.assessment_digest);
    assert_eq!(at_sequence.criteria, replayed.criteria);
}

#[test]
fn a_seal_as_of_an_instant_is_broken_by_an_altered_entry_known_by_then() {
    let mut entries = facts();
    let instant = recorded_at(6) + Duration::seconds(30);
    let assessment = assess(&decoded(&entries), rubric::latest(), Cutoff::AsOf(instant)).unwrap();
    let seal = seal_of(&assessment, Some(&format_instant(instant)));
    append(&mut entries, seal_event(&seal));
    set_payload(&mut entries, 2, "kind", json!("professional"));
    let check = only_check(&entries);
    assert!(!check.stream_digest_matches);
    assert!(!check.valid);
    assert_ne!(check.replayed_digest, Some(seal.assessment_digest));
}
