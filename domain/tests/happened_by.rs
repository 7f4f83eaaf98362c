//! Replays by when things happened: which entries count for `Cutoff::HappenedBy`, as known now
//! or at a moment, and what the answer says of itself.

use chrono::Duration;
use coprod_domain::assessment::{assess, counted, AssessError, Cutoff};
use coprod_domain::testkit::stream::*;
use coprod_domain::*;

/// A project started on 2025-01-06 whose design stage began on 2025-05-01 and which closed on
/// 2025-09-30; every entry typed in on the day the stream starts.
fn typed_in_late() -> (Stream, u64, u64) {
    let mut stream = Stream::plain();
    stream.stage(Stage::Commission);
    let design = stream.push(ProjectEvent::StageStarted(StageStarted {
        stage: Stage::Design,
        occurred_on: date(2025, 5, 1),
    }));
    let closed = stream.push(ProjectEvent::ProjectClosed(ProjectClosed {
        summary: "Strategy published.".into(),
        occurred_on: date(2025, 9, 30),
    }));
    (stream, design, closed)
}

fn sequences(stream: &Stream, cutoff: Cutoff) -> Vec<u64> {
    counted(stream.entries(), cutoff)
        .expect("counted")
        .entries
        .iter()
        .map(|e| e.sequence)
        .collect()
}

#[test]
fn facts_count_by_their_own_dates_and_the_answer_names_the_last_entry_known() {
    let (stream, design, closed) = typed_in_late();
    let by = |y, m, d| Cutoff::HappenedBy {
        by: date(y, m, d),
        known_at: None,
    };
    assert_eq!(sequences(&stream, by(2025, 4, 30)), [1, 2]);
    assert_eq!(sequences(&stream, by(2025, 5, 1)), [1, 2, design]);
    assert_eq!(sequences(&stream, by(2025, 12, 31)), [1, 2, design, closed]);

    let april = assess(stream.entries(), version_2(), by(2025, 4, 30)).unwrap();
    assert_eq!(april.happened_by, Some(date(2025, 4, 30)));
    assert_eq!(april.at_sequence, closed, "as known now: every entry read");
    let json = String::from_utf8(april.to_json_bytes()).unwrap();
    assert!(json.contains(r#""happened_by":"2025-04-30""#), "{json}");

    // Without it, nothing is added to the answer: version 1 replays byte for byte as before.
    let now = assess(stream.entries(), version_1(), Cutoff::Latest).unwrap();
    assert!(!String::from_utf8(now.to_json_bytes())
        .unwrap()
        .contains("happened_by"));
}

#[test]
fn a_correction_counts_whatever_its_date_so_a_late_correction_moves_what_it_withdraws() {
    let (mut stream, design, _) = typed_in_late();
    // Typed in later still, dated the day it was made: it withdraws the design stage's start.
    let correction = stream.push(ProjectEvent::CorrectionRecorded(CorrectionRecorded {
        corrects_sequence: design,
        reason: "The design stage began in June.".into(),
        occurred_on: date(2026, 3, 2),
    }));
    let cutoff = Cutoff::HappenedBy {
        by: date(2025, 5, 31),
        known_at: None,
    };
    assert!(sequences(&stream, cutoff).contains(&correction));
    // Known before the correction, the design stage's start still counts.
    let before = Cutoff::HappenedBy {
        by: date(2025, 5, 31),
        known_at: Some(recorded_at(correction) - Duration::seconds(1)),
    };
    let counted_before = counted(stream.entries(), before).unwrap();
    assert_eq!(counted_before.last_known.sequence, correction - 1);
    assert!(counted_before.entries.iter().any(|e| e.sequence == design));
}

#[test]
fn a_day_before_the_project_started_has_nothing_to_count() {
    let (stream, _, _) = typed_in_late();
    let cutoff = Cutoff::HappenedBy {
        by: date(2025, 1, 5),
        known_at: None,
    };
    assert_eq!(
        assess(stream.entries(), version_2(), cutoff).unwrap_err(),
        AssessError::NotStartedBy {
            by: date(2025, 1, 5),
            started_on: date(2025, 1, 6)
        }
    );
    // Known before anything was recorded: nothing recorded, whatever the day.
    let cutoff = Cutoff::HappenedBy {
        by: date(2025, 12, 31),
        known_at: Some(start() - Duration::days(1)),
    };
    assert_eq!(
        assess(stream.entries(), version_2(), cutoff).unwrap_err(),
        AssessError::NothingRecorded
    );
}
