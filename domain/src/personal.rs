//! What the domain knows about the personal data in a project's entries (docs/architecture.md, invariant 8): which
//! fields are personal and whose they are, whether they can be read, what erasure leaves of them
//! and what a subject access request returns. The value itself is a [`Personal`], re-exported
//! here from [`crate::personal_value`].

use crate::events::ProjectEvent;
use crate::recorded::RecordedEvent;

pub use crate::personal_value::{Personal, SealedValue, ERASED};

/// The personal field of an entry as shown (see [`Personal::shown`]), with its name, to readers
/// of the trail. A participant's own answer is not among them: nobody but the participant (by
/// subject access) sees who said what.
pub fn shown_field(event: &ProjectEvent) -> Option<(&'static str, serde_json::Value)> {
    match event {
        ProjectEvent::ParticipantJoined(e) => Some(("groups", e.groups.shown())),
        ProjectEvent::ContributionMade(e) => Some(("summary", e.summary.shown())),
        _ => None,
    }
}

/// The personal field of each event type that has one; its owner is the entry's `participant_id`.
pub fn personal_field(event_type: &str) -> Option<&'static str> {
    match event_type {
        "participant_joined" => Some("groups"),
        "contribution_made" => Some("summary"),
        "participant_answered" => Some("answer"),
        _ => None,
    }
}

/// The participant a personal field of this entry belongs to, if the entry has one.
pub fn owner(event: &ProjectEvent) -> Option<&str> {
    match event {
        ProjectEvent::ParticipantJoined(e) => Some(&e.participant_id),
        ProjectEvent::ContributionMade(e) => Some(&e.participant_id),
        ProjectEvent::ParticipantAnswered(e) => Some(&e.participant_id),
        _ => None,
    }
}

/// Whether any personal field of this entry is sealed (not opened yet).
pub fn is_sealed(event: &ProjectEvent) -> bool {
    match event {
        ProjectEvent::ParticipantJoined(e) => matches!(e.groups, Personal::Sealed(_)),
        ProjectEvent::ContributionMade(e) => matches!(e.summary, Personal::Sealed(_)),
        ProjectEvent::ParticipantAnswered(e) => matches!(e.answer, Personal::Sealed(_)),
        _ => false,
    }
}

/// Whether every personal field of this entry can be read.
pub fn is_clear(event: &ProjectEvent) -> bool {
    match event {
        ProjectEvent::ParticipantJoined(e) => e.groups.is_clear(),
        ProjectEvent::ContributionMade(e) => e.summary.is_clear(),
        ProjectEvent::ParticipantAnswered(e) => e.answer.is_clear(),
        _ => true,
    }
}

/// Marks every personal field of `participant` in `events` as erased.
pub fn forget(events: &mut [RecordedEvent], participant: &str) {
    for entry in events {
        if owner(&entry.event) != Some(participant) {
            continue;
        }
        match &mut entry.event {
            ProjectEvent::ParticipantJoined(e) => e.groups = Personal::Erased,
            ProjectEvent::ContributionMade(e) => e.summary = Personal::Erased,
            ProjectEvent::ParticipantAnswered(e) => e.answer = Personal::Erased,
            _ => {}
        }
    }
}

/// The participants whose data an entry of `events` records as erased, with that entry.
pub fn erasures(events: &[RecordedEvent]) -> Vec<(&str, u64)> {
    events
        .iter()
        .filter_map(|entry| match &entry.event {
            ProjectEvent::ParticipantErased(e) => Some((e.participant_id.as_str(), entry.sequence)),
            _ => None,
        })
        .collect()
}

/// Whether an entry names `participant` (as who joined, took part, was rewarded, decided,
/// reviewed, or was erased).
pub fn names(event: &ProjectEvent, participant: &str) -> bool {
    let any = |ids: &[String]| ids.iter().any(|id| id == participant);
    match event {
        ProjectEvent::ParticipantJoined(e) => e.participant_id == participant,
        ProjectEvent::ParticipantLeft(e) => e.participant_id == participant,
        ProjectEvent::RewardGiven(e) => e.participant_id == participant,
        ProjectEvent::RoleTaken(e) => e.participant_id == participant,
        ProjectEvent::ContributionMade(e) => e.participant_id == participant,
        ProjectEvent::ParticipantErased(e) => e.participant_id == participant,
        ProjectEvent::ParticipantAnswered(e) => e.participant_id == participant,
        ProjectEvent::ActivityHeld(e) => any(&e.facilitators) || any(&e.attendees),
        ProjectEvent::DecisionMade(e) => {
            any(&e.participants)
                || e.votes
                    .as_ref()
                    .is_some_and(|v| any(&v.in_favour) || any(&v.against) || any(&v.abstain))
        }
        ProjectEvent::OutcomeReviewed(e) => any(&e.accountable) || any(&e.reviewed_by),
        ProjectEvent::ProjectRegistered(_)
        | ProjectEvent::StageStarted(_)
        | ProjectEvent::StageCompleted(_)
        | ProjectEvent::ContributionResponded(_)
        | ProjectEvent::CorrectionRecorded(_)
        | ProjectEvent::ProjectClosed(_)
        | ProjectEvent::PeopleTold(_)
        | ProjectEvent::FeedbackGiven(_)
        | ProjectEvent::AssessmentSealed(_) => false,
    }
}

/// What a subject access request returns from one project: every entry that names the
/// participant, the responses to their contributions, and the corrections of any of those.
pub fn about(events: &[RecordedEvent], participant: &str) -> Vec<RecordedEvent> {
    let mut contributions = std::collections::BTreeSet::new();
    let mut chosen = std::collections::BTreeSet::new();
    for entry in events {
        let event = &entry.event;
        let include = match event {
            ProjectEvent::ContributionResponded(e) => contributions.contains(&e.contribution_id),
            ProjectEvent::CorrectionRecorded(e) => chosen.contains(&e.corrects_sequence),
            _ => names(event, participant),
        };
        if let ProjectEvent::ContributionMade(e) = event {
            if e.participant_id == participant {
                contributions.insert(e.contribution_id.clone());
            }
        }
        if include {
            chosen.insert(entry.sequence);
        }
    }
    events
        .iter()
        .filter(|entry| chosen.contains(&entry.sequence))
        .cloned()
        .collect()
}
