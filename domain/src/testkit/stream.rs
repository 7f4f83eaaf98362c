//! A project's stream for tests of the rubric engine: written one typed fact at a time, as the
//! store would record it, and a short way to assess it.
//!
//! Every entry gets the next sequence number, is recorded one minute after the one before it
//! (from [`start`]) by "officer", and carries a placeholder digest (SHA-256 of its sequence
//! number): the engine only reports the digest of the last entry it used, so any deterministic
//! value will do.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use super::carers_project;
pub use super::{date, strings};
use crate::assessment::{self, AssessError, Assessment, Cutoff, IndicatorResult};
use crate::*;

pub const PROJECT_ID: &str = "5f0c2a7e-8b1d-4e36-a9c4-2d7e9b13f0a1";
pub const RECORDER: &str = "officer";

/// When entry 1 (the registration) was recorded: 2025-01-06T09:00:00Z.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 6, 9, 0, 0).unwrap()
}

/// When entry `sequence` is recorded: one minute per entry after [`start`].
pub fn recorded_at(sequence: u64) -> DateTime<Utc> {
    start() + Duration::minutes(sequence as i64 - 1)
}

/// The placeholder chain head stored with entry `sequence`.
pub fn digest_of(sequence: u64) -> Digest {
    Digest::of_bytes(&sequence.to_be_bytes())
}

/// The day most facts are said to have happened on, when the day does not matter.
pub fn day() -> NaiveDate {
    date(2025, 1, 6)
}

/// A project's stream, starting with its registration as entry 1.
#[derive(Debug, Clone)]
pub struct Stream {
    entries: Vec<RecordedEvent>,
}

impl Stream {
    /// A carers' project registered with these priority groups (entry 1).
    pub fn new(priority_groups: &[&str]) -> Stream {
        let mut stream = Stream {
            entries: Vec::new(),
        };
        stream.push(ProjectEvent::ProjectRegistered(carers_project(
            project_id(),
            None,
            priority_groups,
            date(2025, 1, 6),
        )));
        stream
    }

    /// A project registered with no priority groups.
    pub fn plain() -> Stream {
        Stream::new(&[])
    }

    /// A stream made of exactly these entries (for shuffled or cut-down copies).
    pub fn from_entries(entries: Vec<RecordedEvent>) -> Stream {
        Stream { entries }
    }

    pub fn entries(&self) -> &[RecordedEvent] {
        &self.entries
    }

    pub fn last_sequence(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Appends `event` as the next entry and returns its sequence number.
    pub fn push(&mut self, event: ProjectEvent) -> u64 {
        let sequence = self.last_sequence() + 1;
        self.entries.push(RecordedEvent {
            sequence,
            recorded_at: recorded_at(sequence),
            recorded_by: RECORDER.into(),
            digest: digest_of(sequence),
            event,
        });
        sequence
    }

    pub fn join(&mut self, id: &str, kind: ParticipantKind, groups: &[&str]) -> u64 {
        self.push(ProjectEvent::ParticipantJoined(ParticipantJoined {
            participant_id: id.into(),
            kind,
            groups: strings(groups).into(),
            occurred_on: day(),
            lived_experience: None,
        }))
    }

    pub fn leave(&mut self, id: &str) -> u64 {
        self.push(ProjectEvent::ParticipantLeft(ParticipantLeft {
            participant_id: id.into(),
            reason: None,
            occurred_on: day(),
            reason_code: None,
        }))
    }

    pub fn stage(&mut self, stage: Stage) -> u64 {
        self.push(ProjectEvent::StageStarted(StageStarted {
            stage,
            occurred_on: day(),
        }))
    }

    pub fn complete(&mut self, stage: Stage) -> u64 {
        self.push(ProjectEvent::StageCompleted(StageCompleted {
            stage,
            occurred_on: day(),
        }))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn activity_titled(
        &mut self,
        id: &str,
        stage: Stage,
        kind: ActivityKind,
        title: &str,
        facilitators: &[&str],
        attendees: &[&str],
        on: NaiveDate,
    ) -> u64 {
        self.push(ProjectEvent::ActivityHeld(ActivityHeld {
            activity_id: id.into(),
            stage,
            kind,
            title: title.into(),
            facilitators: strings(facilitators),
            attendees: strings(attendees),
            occurred_on: on,
            mode: None,
            locality: None,
            duration_minutes: None,
            adjustments_requested: None,
            adjustments_provided: None,
        }))
    }

    pub fn activity(
        &mut self,
        id: &str,
        stage: Stage,
        kind: ActivityKind,
        facilitators: &[&str],
        attendees: &[&str],
        on: NaiveDate,
    ) -> u64 {
        let title = format!("Activity {id}");
        self.activity_titled(id, stage, kind, &title, facilitators, attendees, on)
    }

    /// An activity in `stage` on [`day`], for tests where only who took part matters.
    pub fn meeting(
        &mut self,
        id: &str,
        stage: Stage,
        facilitators: &[&str],
        attendees: &[&str],
    ) -> u64 {
        self.activity(
            id,
            stage,
            ActivityKind::Meeting,
            facilitators,
            attendees,
            day(),
        )
    }

    pub fn reward(
        &mut self,
        who: &str,
        kind: RewardKind,
        amount_pence: Option<i64>,
        activity: Option<&str>,
        on: NaiveDate,
    ) -> u64 {
        self.push(ProjectEvent::RewardGiven(RewardGiven {
            participant_id: who.into(),
            kind,
            amount_pence,
            activity_id: activity.map(str::to_string),
            occurred_on: on,
            rate_pence_per_hour: None,
            amount_unknown: None,
            declined: None,
            support: None,
            as_preferred: None,
        }))
    }

    pub fn role(&mut self, who: &str, role: Role) -> u64 {
        self.push(ProjectEvent::RoleTaken(RoleTaken {
            participant_id: who.into(),
            role,
            occurred_on: day(),
        }))
    }

    pub fn contribution_about(
        &mut self,
        id: &str,
        who: &str,
        stage: Stage,
        kind: ContributionKind,
        summary: &str,
    ) -> u64 {
        self.push(ProjectEvent::ContributionMade(ContributionMade {
            contribution_id: id.into(),
            participant_id: who.into(),
            stage,
            kind,
            summary: summary.into(),
            occurred_on: day(),
        }))
    }

    pub fn contribution(&mut self, id: &str, who: &str, stage: Stage) -> u64 {
        let summary = format!("Contribution {id}");
        self.contribution_about(id, who, stage, ContributionKind::Idea, &summary)
    }

    pub fn respond(&mut self, contribution: &str, response: Response) -> u64 {
        self.push(ProjectEvent::ContributionResponded(ContributionResponded {
            contribution_id: contribution.into(),
            response,
            explanation: "Considered by the project group.".into(),
            occurred_on: day(),
        }))
    }

    pub fn decide_about(
        &mut self,
        id: &str,
        stage: Stage,
        method: DecisionMethod,
        participants: &[&str],
        influenced_by: &[&str],
        subject: &str,
    ) -> u64 {
        let votes = (method == DecisionMethod::Vote).then(|| Votes {
            in_favour: strings(participants),
            against: Vec::new(),
            abstain: Vec::new(),
        });
        self.push(ProjectEvent::DecisionMade(DecisionMade {
            decision_id: id.into(),
            stage,
            subject: subject.into(),
            method,
            participants: strings(participants),
            votes,
            influenced_by: strings(influenced_by),
            outcome: "Agreed.".into(),
            occurred_on: day(),
            importance: None,
            effect: None,
            ratifies: None,
            departs_from: None,
            departure_reason: None,
        }))
    }

    pub fn decide(
        &mut self,
        id: &str,
        stage: Stage,
        method: DecisionMethod,
        participants: &[&str],
        influenced_by: &[&str],
    ) -> u64 {
        let subject = format!("Decision {id}");
        self.decide_about(id, stage, method, participants, influenced_by, &subject)
    }

    pub fn review_of(
        &mut self,
        id: &str,
        kind: OutcomeKind,
        accountable: &[&str],
        reviewed_by: &[&str],
        description: &str,
    ) -> u64 {
        self.push(ProjectEvent::OutcomeReviewed(OutcomeReviewed {
            outcome_id: id.into(),
            kind,
            description: description.into(),
            accountable: strings(accountable),
            reviewed_by: strings(reviewed_by),
            actions: None,
            occurred_on: day(),
        }))
    }

    pub fn review(
        &mut self,
        id: &str,
        kind: OutcomeKind,
        accountable: &[&str],
        reviewed_by: &[&str],
    ) -> u64 {
        let description = format!("Outcome {id}");
        self.review_of(id, kind, accountable, reviewed_by, &description)
    }

    /// Withdraws entry `sequence`.
    pub fn correct(&mut self, sequence: u64) -> u64 {
        self.push(ProjectEvent::CorrectionRecorded(CorrectionRecorded {
            corrects_sequence: sequence,
            reason: "Recorded in error.".into(),
            occurred_on: day(),
        }))
    }

    pub fn close(&mut self, summary: &str) -> u64 {
        self.push(ProjectEvent::ProjectClosed(ProjectClosed {
            summary: summary.into(),
            occurred_on: day(),
        }))
    }
}

pub fn project_id() -> Uuid {
    PROJECT_ID.parse().expect("a valid uuid")
}

/// Version 1 of the six-point test: the rubric the tests of its rules pin.
pub fn version_1() -> &'static rubric::PublishedRubric {
    rubric::find(rubric::DEFAULT_RUBRIC_ID, 1).expect("version 1 is shipped")
}

/// Version 2 of the six-point test.
pub fn version_2() -> &'static rubric::PublishedRubric {
    rubric::find(rubric::DEFAULT_RUBRIC_ID, 2).expect("version 2 is shipped")
}

/// Assesses `stream` under version 1.
pub fn try_assess(stream: &Stream, cutoff: Cutoff) -> Result<Assessment, AssessError> {
    assessment::assess(stream.entries(), version_1(), cutoff)
}

/// Assesses `stream` under version 1, which must succeed.
pub fn assess(stream: &Stream, cutoff: Cutoff) -> Assessment {
    try_assess(stream, cutoff).expect("the stream can be assessed")
}

/// Assesses `stream`, as recorded so far, under version 2, which must succeed.
pub fn assess_v2(stream: &Stream) -> Assessment {
    assessment::assess(stream.entries(), version_2(), Cutoff::Latest)
        .expect("the stream can be assessed")
}

/// The result of one indicator, by key.
pub fn indicator<'a>(assessment: &'a Assessment, key: &str) -> &'a IndicatorResult {
    assessment
        .criteria
        .iter()
        .flat_map(|c| &c.indicators)
        .find(|i| i.key == key)
        .unwrap_or_else(|| panic!("the assessment has no indicator '{key}'"))
}

/// The result of one criterion, by key.
pub fn criterion<'a>(assessment: &'a Assessment, key: &str) -> &'a assessment::CriterionResult {
    assessment
        .criteria
        .iter()
        .find(|c| c.key == key)
        .unwrap_or_else(|| panic!("the assessment has no criterion '{key}'"))
}

/// The 18 indicator keys of version 1, in its order.
pub fn indicator_keys() -> Vec<&'static str> {
    version_1()
        .rubric
        .criteria
        .iter()
        .flat_map(|c| c.indicators.iter().map(|i| i.key.as_str()))
        .collect()
}
