//! The JSON bodies the tests and benchmarks post: registrations, one builder per kind of fact
//! (on [`DAY`] unless a date is given), and batches.

use serde_json::{json, Value};

/// A past date every fixture event happened on (well before "tomorrow").
pub const DAY: &str = "2025-02-03";

/// A registration body for `organisation`, with a description and three priority groups.
pub fn registration(title: &str, organisation: &str) -> Value {
    json!({
        "title": title,
        "organisation": organisation,
        "service_area": "carers",
        "description": "Refreshing the carers' strategy with carers.",
        "priority_groups": ["carers", "young carers", "Somali community"],
        "started_on": "2025-01-06",
    })
}

/// A registration body without a description, whose one priority group is carers.
pub fn minimal_registration(
    title: &str,
    organisation: &str,
    service_area: &str,
    started_on: &str,
) -> Value {
    json!({"title": title, "organisation": organisation, "service_area": service_area,
           "priority_groups": ["carers"], "started_on": started_on})
}

pub fn joined(participant: &str, kind: &str, groups: &[&str]) -> Value {
    joined_on(participant, kind, groups, DAY)
}

pub fn joined_on(participant: &str, kind: &str, groups: &[&str], on: &str) -> Value {
    json!({"type": "participant_joined", "participant_id": participant, "kind": kind,
           "groups": groups, "occurred_on": on})
}

pub fn stage_started(stage: &str) -> Value {
    stage_started_on(stage, DAY)
}

pub fn stage_started_on(stage: &str, on: &str) -> Value {
    json!({"type": "stage_started", "stage": stage, "occurred_on": on})
}

/// A workshop called "Carers' workshop".
pub fn activity(id: &str, stage: &str, facilitators: &[&str], attendees: &[&str]) -> Value {
    workshop_on(id, stage, "Carers' workshop", facilitators, attendees, DAY)
}

pub fn workshop_on(
    id: &str,
    stage: &str,
    title: &str,
    facilitators: &[&str],
    attendees: &[&str],
    on: &str,
) -> Value {
    json!({"type": "activity_held", "activity_id": id, "stage": stage, "kind": "workshop",
           "title": title, "facilitators": facilitators, "attendees": attendees,
           "occurred_on": on})
}

pub fn contribution(id: &str, participant: &str, stage: &str) -> Value {
    json!({"type": "contribution_made", "contribution_id": id, "participant_id": participant,
           "stage": stage, "kind": "idea", "summary": "Meet in the evening, after caring hours.",
           "occurred_on": DAY})
}

pub fn responded(contribution: &str) -> Value {
    json!({"type": "contribution_responded", "contribution_id": contribution,
           "response": "adopted", "explanation": "Sessions moved to 6pm.", "occurred_on": DAY})
}

/// A payment of £25, for `activity` if given.
pub fn reward(participant: &str, activity: Option<&str>) -> Value {
    let mut reward = json!({"type": "reward_given", "participant_id": participant,
                            "kind": "payment", "amount_pence": 2500, "occurred_on": DAY});
    if let Some(activity) = activity {
        reward["activity_id"] = json!(activity);
    }
    reward
}

pub fn role_taken(participant: &str, role: &str) -> Value {
    json!({"type": "role_taken", "participant_id": participant, "role": role, "occurred_on": DAY})
}

pub fn decision(id: &str, stage: &str, participants: &[&str], influenced_by: &[&str]) -> Value {
    json!({"type": "decision_made", "decision_id": id, "stage": stage,
           "subject": "When to meet", "method": "consensus", "participants": participants,
           "influenced_by": influenced_by, "outcome": "Evening sessions", "occurred_on": DAY})
}

pub fn outcome(id: &str, accountable: &[&str], reviewed_by: &[&str]) -> Value {
    json!({"type": "outcome_reviewed", "outcome_id": id, "kind": "success",
           "description": "Attendance doubled.", "accountable": accountable,
           "reviewed_by": reviewed_by, "occurred_on": DAY})
}

pub fn correction(sequence: u64) -> Value {
    json!({"type": "correction_recorded", "corrects_sequence": sequence,
           "reason": "Recorded against the wrong project.", "occurred_on": DAY})
}

pub fn closed() -> Value {
    json!({"type": "project_closed", "summary": "Strategy published.", "occurred_on": DAY})
}

/// `{"events": [...]}`.
pub fn batch(events: &[Value]) -> Value {
    json!({ "events": events })
}
