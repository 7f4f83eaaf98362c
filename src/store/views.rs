//! What the project views hold — a project's summary, its scorecard under the latest rubric, and
//! its counts of people as shown — computed from its recorded events alone (pure functions, so
//! that `coprod rebuild` gives exactly what the live catch-up gave). Assessments and the web pages
//! summarise a project with the same [`summarise`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use coprod_domain::assessment::{assess_for, Cutoff, Disclosure, Rating, SMALL_COUNT};
use coprod_domain::recorded::format_instant;
use coprod_domain::rubric;
use coprod_domain::{ParticipantKind, ProjectEvent, RecordedEvent, Stage};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// A stage's dates, from the active (not withdrawn) entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageSpan {
    pub stage: Stage,
    pub started_on: NaiveDate,
    pub completed_on: Option<NaiveDate>,
}

/// A project's current state, counting only entries no correction has withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectSummary {
    pub project_id: Uuid,
    pub title: String,
    pub organisation: String,
    /// How people know the organisation, as the registration gives it.
    pub organisation_name: Option<String>,
    pub service_area: String,
    /// `open` or `closed`.
    pub status: &'static str,
    /// The latest started stage, while it is not complete.
    pub stage: Option<Stage>,
    /// The stages that have started, in lifecycle order.
    pub stages: Vec<StageSpan>,
    /// Everyone who joined (and whose joining was not withdrawn), by kind; leaving does not
    /// remove anyone from these counts. Raw counts: callers that show them to people must hide
    /// counts below 5 (docs/architecture.md, invariant 8).
    pub participants_by_kind: BTreeMap<ParticipantKind, u64>,
}

/// The sequences that active corrections withdraw. Corrections themselves cannot be withdrawn.
pub fn withdrawn(events: &[RecordedEvent]) -> BTreeSet<u64> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            ProjectEvent::CorrectionRecorded(c) => Some(c.corrects_sequence),
            _ => None,
        })
        .collect()
}

/// Folds the active entries of a project; `None` if it was never registered.
pub fn summarise(events: &[RecordedEvent]) -> Option<ProjectSummary> {
    let withdrawn = withdrawn(events);
    let mut registration = None;
    let mut started: [Option<NaiveDate>; 4] = [None; 4];
    let mut completed: [Option<NaiveDate>; 4] = [None; 4];
    let mut participants: BTreeMap<&str, ParticipantKind> = BTreeMap::new();
    let mut closed = false;
    for recorded in events.iter().filter(|e| !withdrawn.contains(&e.sequence)) {
        match &recorded.event {
            ProjectEvent::ProjectRegistered(r) => registration = Some(r),
            ProjectEvent::StageStarted(s) => {
                if let Some(previous) = s.stage.previous() {
                    let i = previous.index();
                    if started[i].is_some() && completed[i].is_none() {
                        completed[i] = Some(s.occurred_on);
                    }
                }
                started[s.stage.index()] = Some(s.occurred_on);
                completed[s.stage.index()] = None;
            }
            ProjectEvent::StageCompleted(s) => {
                // Only a started stage can complete: a completion recorded while the start stood
                // means nothing once that start is withdrawn (as in the aggregate).
                let i = s.stage.index();
                if started[i].is_some() && completed[i].is_none() {
                    completed[i] = Some(s.occurred_on);
                }
            }
            ProjectEvent::ParticipantJoined(p) => {
                participants.entry(&p.participant_id).or_insert(p.kind);
            }
            ProjectEvent::ProjectClosed(_) => closed = true,
            _ => {}
        }
    }
    let registration = registration?;
    let stages: Vec<StageSpan> = Stage::ALL
        .into_iter()
        .filter_map(|stage| {
            started[stage.index()].map(|started_on| StageSpan {
                stage,
                started_on,
                completed_on: completed[stage.index()],
            })
        })
        .collect();
    let stage = stages
        .last()
        .filter(|span| span.completed_on.is_none())
        .map(|span| span.stage);
    let mut participants_by_kind = BTreeMap::new();
    for kind in participants.values() {
        *participants_by_kind.entry(*kind).or_insert(0) += 1;
    }
    Some(ProjectSummary {
        project_id: registration.project_id,
        title: registration.title.clone(),
        organisation: registration.organisation.clone(),
        organisation_name: registration.organisation_name.clone(),
        service_area: registration.service_area.clone(),
        status: if closed { "closed" } else { "open" },
        stage,
        stages,
        participants_by_kind,
    })
}

/// The current scorecard under the latest rubric, `{criterion_key: rating}`, as readers of
/// `disclosure` are given it; empty if the stream cannot be assessed (it is not registered).
pub fn scorecard(events: &[RecordedEvent], disclosure: Disclosure) -> BTreeMap<String, Rating> {
    assess_for(events, rubric::latest(), Cutoff::Latest, disclosure)
        .map(|assessment| assessment.scorecard())
        .unwrap_or_default()
}

/// The member of a view that keeps the scorecard readers who may not see personal data are
/// given; it is never served as such (see `app::projects`).
pub const PROTECTED_SCORECARD: &str = "protected_scorecard";

/// Counts of people as the API shows them: below 5, `{"count": null, "suppressed": true}`, so
/// that nobody can be singled out (docs/architecture.md, invariant 8).
pub fn shown_counts<K: Serialize + Ord>(counts: &BTreeMap<K, u64>) -> Value {
    let shown: BTreeMap<&K, Value> = counts
        .iter()
        .map(|(key, &count)| {
            let value = if count < SMALL_COUNT as u64 {
                json!({"count": null, "suppressed": true})
            } else {
                json!({"count": count, "suppressed": false})
            };
            (key, value)
        })
        .collect();
    json!(shown)
}

/// The JSON body kept in `project_views` for one project; `None` if it was never registered.
pub fn view_body(events: &[RecordedEvent]) -> Option<Value> {
    let summary = summarise(events)?;
    let last = events.last()?;
    Some(json!({
        "project_id": summary.project_id,
        "title": summary.title,
        "organisation": summary.organisation,
        "organisation_name": summary.organisation_name,
        "status": summary.status,
        "stage": summary.stage,
        "stages": summary.stages,
        "participants_by_kind": shown_counts(&summary.participants_by_kind),
        "sequence": last.sequence,
        "digest": last.digest,
        "recorded_at": format_instant(last.recorded_at),
        "scorecard": scorecard(events, Disclosure::Full),
        PROTECTED_SCORECARD: scorecard(events, Disclosure::Protected),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use coprod_domain::{
        CorrectionRecorded, Digest, ParticipantJoined, ParticipantLeft, ProjectClosed,
        ProjectRegistered, StageCompleted, StageStarted,
    };

    fn date(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, d).unwrap()
    }

    fn stream(events: Vec<ProjectEvent>) -> Vec<RecordedEvent> {
        events
            .into_iter()
            .enumerate()
            .map(|(i, event)| RecordedEvent {
                sequence: i as u64 + 1,
                recorded_at: Utc.with_ymd_and_hms(2025, 2, 1, 9, 0, i as u32).unwrap(),
                recorded_by: "test".into(),
                digest: Digest::ZERO,
                event,
            })
            .collect()
    }

    fn registered() -> ProjectEvent {
        ProjectEvent::ProjectRegistered(ProjectRegistered {
            project_id: Uuid::nil(),
            title: "Carers' strategy".into(),
            organisation: "oxfordshire".into(),
            organisation_name: None,
            service_area: "carers".into(),
            description: None,
            priority_groups: vec![],
            started_on: date(1),
            declared_level: None,
            serves: None,
        })
    }

    fn start(stage: Stage, day: u32) -> ProjectEvent {
        ProjectEvent::StageStarted(StageStarted {
            stage,
            occurred_on: date(day),
        })
    }

    fn join(id: &str, kind: ParticipantKind) -> ProjectEvent {
        ProjectEvent::ParticipantJoined(ParticipantJoined {
            participant_id: id.into(),
            kind,
            groups: vec![].into(),
            occurred_on: date(2),
            lived_experience: None,
        })
    }

    fn correct(sequence: u64) -> ProjectEvent {
        ProjectEvent::CorrectionRecorded(CorrectionRecorded {
            corrects_sequence: sequence,
            reason: "mistake".into(),
            occurred_on: date(20),
        })
    }

    #[test]
    fn unregistered_streams_have_no_summary() {
        assert_eq!(summarise(&[]), None);
        assert_eq!(view_body(&stream(vec![start(Stage::Commission, 2)])), None);
    }

    #[test]
    fn starting_a_stage_completes_the_previous_one() {
        let s = summarise(&stream(vec![
            registered(),
            start(Stage::Commission, 2),
            start(Stage::Design, 5),
        ]))
        .unwrap();
        assert_eq!(s.stage, Some(Stage::Design));
        assert_eq!(
            s.stages,
            vec![
                StageSpan {
                    stage: Stage::Commission,
                    started_on: date(2),
                    completed_on: Some(date(5))
                },
                StageSpan {
                    stage: Stage::Design,
                    started_on: date(5),
                    completed_on: None
                },
            ]
        );
        assert_eq!(s.status, "open");
    }

    #[test]
    fn a_completed_last_stage_leaves_no_current_stage() {
        let s = summarise(&stream(vec![
            registered(),
            start(Stage::Commission, 2),
            ProjectEvent::StageCompleted(StageCompleted {
                stage: Stage::Commission,
                occurred_on: date(3),
            }),
        ]))
        .unwrap();
        assert_eq!(s.stage, None);
        assert_eq!(s.stages[0].completed_on, Some(date(3)));
    }

    #[test]
    fn withdrawn_entries_do_not_count() {
        let s = summarise(&stream(vec![
            registered(),                             // 1
            start(Stage::Commission, 2),              // 2
            start(Stage::Design, 5),                  // 3
            join("a", ParticipantKind::Carer),        // 4
            join("b", ParticipantKind::Carer),        // 5
            join("c", ParticipantKind::Professional), // 6
            ProjectEvent::ParticipantLeft(ParticipantLeft {
                participant_id: "a".into(),
                reason: None,
                occurred_on: date(6),
                reason_code: None,
            }), // 7
            correct(5),                               // 8: b never joined
            correct(3),                               // 9: design never started
            ProjectEvent::ProjectClosed(ProjectClosed {
                summary: "done".into(),
                occurred_on: date(21),
            }), // 10
        ]))
        .unwrap();
        assert_eq!(s.stage, Some(Stage::Commission));
        assert_eq!(
            s.stages,
            vec![StageSpan {
                stage: Stage::Commission,
                started_on: date(2),
                completed_on: None
            }]
        );
        assert_eq!(
            s.participants_by_kind,
            BTreeMap::from([
                (ParticipantKind::Carer, 1),
                (ParticipantKind::Professional, 1)
            ])
        );
        assert_eq!(s.status, "closed");
    }

    #[test]
    fn a_restarted_stage_is_open_even_if_its_withdrawn_start_was_completed() {
        let s = summarise(&stream(vec![
            registered(),                // 1
            start(Stage::Commission, 2), // 2
            ProjectEvent::StageCompleted(StageCompleted {
                stage: Stage::Commission,
                occurred_on: date(3),
            }), // 3
            correct(2),                  // 4: the start was a mistake
            start(Stage::Commission, 6), // 5
        ]))
        .unwrap();
        assert_eq!(s.stage, Some(Stage::Commission));
        assert_eq!(
            s.stages,
            vec![StageSpan {
                stage: Stage::Commission,
                started_on: date(6),
                completed_on: None
            }]
        );
    }

    #[test]
    fn a_withdrawn_closure_reopens() {
        let s = summarise(&stream(vec![
            registered(),
            ProjectEvent::ProjectClosed(ProjectClosed {
                summary: "oops".into(),
                occurred_on: date(3),
            }),
            correct(2),
        ]))
        .unwrap();
        assert_eq!(s.status, "open");
    }

    #[test]
    fn counts_of_people_below_five_are_suppressed_and_five_or_more_shown() {
        let counts = BTreeMap::from([("carer", 4u64), ("professional", 5), ("provider", 0)]);
        assert_eq!(
            shown_counts(&counts),
            json!({
                "carer": {"count": null, "suppressed": true},
                "professional": {"count": 5, "suppressed": false},
                "provider": {"count": null, "suppressed": true},
            })
        );
    }

    #[test]
    fn the_view_names_the_last_entry() {
        let events = stream(vec![
            registered(),
            join("a", ParticipantKind::LivedExperience),
        ]);
        let body = view_body(&events).unwrap();
        assert_eq!(body["sequence"], 2);
        assert_eq!(body["recorded_at"], "2025-02-01T09:00:01.000000Z");
        assert_eq!(
            body["participants_by_kind"],
            json!({"lived_experience": {"count": null, "suppressed": true}})
        );
        assert_eq!(body["stage"], Value::Null);
        assert_eq!(body["stages"], json!([]));
        let scorecard = body["scorecard"].as_object().unwrap();
        assert_eq!(scorecard.len(), 6, "{scorecard:?}");
        // Every value is a rating; under version 2 a point with nothing to judge yet has its own.
        let ratings = ["met", "partly_met", "not_met", "insufficient_evidence"];
        assert!(scorecard
            .values()
            .all(|r| ratings.contains(&r.as_str().unwrap())));
        assert_eq!(body["project_id"], Uuid::nil().to_string());
    }
}
