//! Facts, histories and commands for tests of the aggregate: one fixed project, one fixed clock,
//! and a short constructor for every fact, so that each test spells out only what it is about.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::carers_project;
pub use super::{date, strings};
use crate::*;

pub const PROJECT_ID: &str = "0b6f3c9e-2d4a-4c1b-9f7e-5a8d2e1c3b40";
pub const RECORDER: &str = "recorder:oxfordshire";

pub fn project_id() -> Uuid {
    PROJECT_ID.parse().expect("a valid uuid")
}

/// The server's clock for every command: 2025-03-01T10:00:00Z.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap()
}

pub fn today() -> NaiveDate {
    date(2025, 3, 1)
}

/// A day well before `today()`, on which every historical fact is said to have happened.
pub fn earlier() -> NaiveDate {
    date(2025, 2, 10)
}

pub fn context() -> CommandContext {
    CommandContext {
        recorded_by: RECORDER.into(),
        recorded_at: now(),
    }
}

pub fn registration() -> ProjectRegistered {
    carers_project(
        project_id(),
        Some("Refreshing the carers' strategy with carers."),
        &["carers", "young carers", "Somali community"],
        date(2025, 1, 6),
    )
}

pub fn registered() -> ProjectEvent {
    ProjectEvent::ProjectRegistered(registration())
}

// ---- facts -------------------------------------------------------------------------------

pub fn joined(participant: &str, kind: ParticipantKind) -> ParticipantJoined {
    ParticipantJoined {
        participant_id: participant.into(),
        kind,
        groups: strings(&["carers"]).into(),
        occurred_on: earlier(),
        lived_experience: None,
    }
}

pub fn join(participant: &str, kind: ParticipantKind) -> Fact {
    Fact::ParticipantJoined(joined(participant, kind))
}

pub fn leave(participant: &str) -> Fact {
    Fact::ParticipantLeft(ParticipantLeft {
        participant_id: participant.into(),
        reason: Some("Moved away".into()),
        occurred_on: earlier(),
        reason_code: None,
    })
}

pub fn start(stage: Stage) -> Fact {
    Fact::StageStarted(StageStarted {
        stage,
        occurred_on: earlier(),
    })
}

pub fn complete(stage: Stage) -> Fact {
    Fact::StageCompleted(StageCompleted {
        stage,
        occurred_on: earlier(),
    })
}

pub fn activity_held(
    activity: &str,
    stage: Stage,
    facilitators: &[&str],
    attendees: &[&str],
) -> ActivityHeld {
    ActivityHeld {
        activity_id: activity.into(),
        stage,
        kind: ActivityKind::Workshop,
        title: "What matters to carers".into(),
        facilitators: strings(facilitators),
        attendees: strings(attendees),
        occurred_on: earlier(),
        mode: None,
        locality: None,
        duration_minutes: None,
        adjustments_requested: None,
        adjustments_provided: None,
    }
}

pub fn activity(activity: &str, stage: Stage, facilitators: &[&str], attendees: &[&str]) -> Fact {
    Fact::ActivityHeld(activity_held(activity, stage, facilitators, attendees))
}

pub fn reward_given(
    participant: &str,
    kind: RewardKind,
    amount_pence: Option<i64>,
    activity: Option<&str>,
) -> RewardGiven {
    RewardGiven {
        participant_id: participant.into(),
        kind,
        amount_pence,
        activity_id: activity.map(Into::into),
        occurred_on: earlier(),
        rate_pence_per_hour: None,
        amount_unknown: None,
        declined: None,
        support: None,
        as_preferred: None,
    }
}

pub fn reward(
    participant: &str,
    kind: RewardKind,
    amount_pence: Option<i64>,
    activity: Option<&str>,
) -> Fact {
    Fact::RewardGiven(reward_given(participant, kind, amount_pence, activity))
}

pub fn role(participant: &str, role: Role) -> Fact {
    Fact::RoleTaken(RoleTaken {
        participant_id: participant.into(),
        role,
        occurred_on: earlier(),
    })
}

pub fn contribution_made(contribution: &str, participant: &str, stage: Stage) -> ContributionMade {
    ContributionMade {
        contribution_id: contribution.into(),
        participant_id: participant.into(),
        stage,
        kind: ContributionKind::Idea,
        summary: "Hold the sessions in the evening so that working carers can come.".into(),
        occurred_on: earlier(),
    }
}

pub fn contribution(contribution: &str, participant: &str, stage: Stage) -> Fact {
    Fact::ContributionMade(contribution_made(contribution, participant, stage))
}

pub fn response(contribution: &str, response: Response) -> Fact {
    Fact::ContributionResponded(ContributionResponded {
        contribution_id: contribution.into(),
        response,
        explanation: "Sessions now run from 6pm.".into(),
        occurred_on: earlier(),
    })
}

/// A decision by consensus; tests change the method and votes where they need to.
pub fn decision_made(
    decision: &str,
    stage: Stage,
    participants: &[&str],
    influenced_by: &[&str],
) -> DecisionMade {
    DecisionMade {
        decision_id: decision.into(),
        stage,
        subject: "Where to hold the carers' forum".into(),
        method: DecisionMethod::Consensus,
        participants: strings(participants),
        votes: None,
        influenced_by: strings(influenced_by),
        outcome: "The forum moves to the community centre.".into(),
        occurred_on: earlier(),
        importance: None,
        effect: None,
        ratifies: None,
        departs_from: None,
        departure_reason: None,
    }
}

pub fn decision(
    decision: &str,
    stage: Stage,
    participants: &[&str],
    influenced_by: &[&str],
) -> Fact {
    Fact::DecisionMade(decision_made(decision, stage, participants, influenced_by))
}

pub fn votes(in_favour: &[&str], against: &[&str], abstain: &[&str]) -> Votes {
    Votes {
        in_favour: strings(in_favour),
        against: strings(against),
        abstain: strings(abstain),
    }
}

pub fn outcome(outcome: &str, accountable: &[&str], reviewed_by: &[&str]) -> Fact {
    Fact::OutcomeReviewed(OutcomeReviewed {
        outcome_id: outcome.into(),
        kind: OutcomeKind::Shortfall,
        description: "Fewer young carers came than hoped.".into(),
        accountable: strings(accountable),
        reviewed_by: strings(reviewed_by),
        actions: Some("Ask schools to pass on invitations.".into()),
        occurred_on: earlier(),
    })
}

pub fn correction(sequence: u64) -> Fact {
    Fact::CorrectionRecorded(CorrectionRecorded {
        corrects_sequence: sequence,
        reason: "Recorded against the wrong project.".into(),
        occurred_on: earlier(),
    })
}

/// The people involved were told about `decision`, by letter.
pub fn people_told(decision: &str) -> Fact {
    Fact::PeopleTold(PeopleTold {
        decision_id: decision.into(),
        method: ContactMethod::Letter,
        occurred_on: earlier(),
    })
}

/// The answers to `contributions` were given back to the people who made them, in person.
pub fn feedback(contributions: &[&str]) -> Fact {
    Fact::FeedbackGiven(FeedbackGiven {
        contribution_ids: strings(contributions),
        method: ContactMethod::InPerson,
        occurred_on: earlier(),
    })
}

pub fn close() -> Fact {
    Fact::ProjectClosed(ProjectClosed {
        summary: "The refreshed strategy was adopted.".into(),
        occurred_on: earlier(),
    })
}

// ---- histories -----------------------------------------------------------------------------

/// The registration (sequence 1) followed by `facts` (sequences 2, 3, …).
pub fn history(facts: Vec<Fact>) -> Vec<ProjectEvent> {
    std::iter::once(registered())
        .chain(facts.into_iter().map(ProjectEvent::from))
        .collect()
}

/// The usual starting point, with sequences:
/// 1 registered, 2 `p1` (lived experience) joined, 3 `p2` (professional) joined,
/// 4 `p3` (carer) joined, 5 commission started.
pub fn team_facts() -> Vec<Fact> {
    vec![
        join("p1", ParticipantKind::LivedExperience),
        join("p2", ParticipantKind::Professional),
        join("p3", ParticipantKind::Carer),
        start(Stage::Commission),
    ]
}

pub fn team() -> Vec<ProjectEvent> {
    history(team_facts())
}

/// [`team`] followed by `more` (from sequence 6).
pub fn team_and(more: Vec<Fact>) -> Vec<ProjectEvent> {
    let mut facts = team_facts();
    facts.extend(more);
    history(facts)
}

// ---- commands ------------------------------------------------------------------------------

pub fn register(registration: ProjectRegistered) -> ProjectCommand {
    ProjectCommand::Register {
        registration,
        context: context(),
    }
}

/// One fact posted on its own.
pub fn record(fact: Fact) -> ProjectCommand {
    ProjectCommand::Record {
        facts: vec![fact],
        batch: false,
        expected_sequence: None,
        context: context(),
    }
}

/// Several facts posted as `{"events": [...]}`.
pub fn record_all(facts: Vec<Fact>) -> ProjectCommand {
    ProjectCommand::Record {
        facts,
        batch: true,
        expected_sequence: None,
        context: context(),
    }
}

/// One fact posted with `If-Match: <expected>`.
pub fn record_if_at(fact: Fact, expected: u64) -> ProjectCommand {
    ProjectCommand::Record {
        facts: vec![fact],
        batch: false,
        expected_sequence: Some(expected),
        context: context(),
    }
}

// ---- running and checking ----------------------------------------------------------------------

pub type Outcome = Result<Vec<ProjectEvent>, ProjectError>;

/// Given `history`, when `command` is handled, what did the project decide?
pub async fn when(history: Vec<ProjectEvent>, command: ProjectCommand) -> Outcome {
    TestFramework::<Project>::with(())
        .given(history)
        .when_async(command)
        .await
        .inspect_result()
}

/// The answer that records exactly `facts`.
pub fn recorded(facts: Vec<Fact>) -> Outcome {
    Ok(facts.into_iter().map(ProjectEvent::from).collect())
}

/// The paths of a `ValidationFailed` refusal (field rules are checked by variant and path, never
/// by message); panics on any other answer.
pub fn field_paths(outcome: Outcome) -> Vec<String> {
    match outcome {
        Err(ProjectError::ValidationFailed(errors)) => {
            errors.into_iter().map(|error| error.path).collect()
        }
        other => panic!("expected ValidationFailed, got {other:?}"),
    }
}

/// A project rebuilt from `events`, as the store would load it.
pub fn project_from(events: Vec<ProjectEvent>) -> Project {
    use cqrs_es::Aggregate;
    let mut project = Project::default();
    for event in events {
        project.apply(event);
    }
    project
}
