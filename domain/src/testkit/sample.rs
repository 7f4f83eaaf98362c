//! A busy, realistic sample project of any size, as recorded, stored and chained: for the
//! domain's benchmarks and the server's load tool.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use super::carers_project;
use crate::digest::{chain_next, Digest, StoredEntry, DIGEST_KEY, RECORDED_AT_KEY};
use crate::recorded::format_instant;
use crate::*;

const KINDS: [ParticipantKind; 4] = [
    ParticipantKind::LivedExperience,
    ParticipantKind::Carer,
    ParticipantKind::Professional,
    ParticipantKind::CommunityOrganisation,
];
const GROUPS: [&str; 6] = [
    "carers",
    "young carers",
    "Somali community",
    "learning disability",
    "older people",
    "deaf community",
];

/// A busy, realistic project of about `size` entries: 60 people, all four stages, and a steady
/// rhythm of workshops, contributions, responses, rewards and decisions.
pub fn project(size: usize) -> Vec<RecordedEvent> {
    project_with_id(size, Uuid::from_u128(7))
}

/// [`project`] under the id `project_id`.
pub fn project_with_id(size: usize, project_id: Uuid) -> Vec<RecordedEvent> {
    let start = NaiveDate::from_ymd_opt(2024, 1, 8).expect("a date");
    let recorded: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 1, 8, 9, 0, 0).unwrap();
    let mut events = vec![ProjectEvent::ProjectRegistered(carers_project(
        project_id,
        None,
        &GROUPS[..3],
        start,
    ))];
    let people: Vec<String> = (0..60).map(|i| format!("p{i}")).collect();
    for (i, p) in people.iter().enumerate() {
        events.push(ProjectEvent::ParticipantJoined(ParticipantJoined {
            participant_id: p.clone(),
            kind: KINDS[i % KINDS.len()],
            groups: vec![GROUPS[i % GROUPS.len()].to_string()].into(),
            occurred_on: start,
            lived_experience: None,
        }));
    }
    let mut round = 0usize;
    while events.len() < size {
        let stage = Stage::ALL[(round * Stage::ALL.len() / (size / 12 + 1)).min(3)];
        if !events
            .iter()
            .any(|e| matches!(e, ProjectEvent::StageStarted(s) if s.stage == stage))
        {
            events.push(ProjectEvent::StageStarted(StageStarted {
                stage,
                occurred_on: start,
            }));
        }
        let day = start
            .checked_add_days(Days::new(round as u64 % 300))
            .unwrap();
        let who = |k: usize| people[(round * 7 + k) % people.len()].clone();
        let activity = format!("a{round}");
        let contribution = format!("c{round}");
        events.push(ProjectEvent::ActivityHeld(ActivityHeld {
            activity_id: activity.clone(),
            stage,
            kind: ActivityKind::Workshop,
            title: "Workshop".into(),
            facilitators: vec![who(0), who(2)],
            attendees: (3..9).map(who).collect(),
            occurred_on: day,
            mode: None,
            locality: None,
            duration_minutes: None,
            adjustments_requested: None,
            adjustments_provided: None,
        }));
        events.push(ProjectEvent::RewardGiven(RewardGiven {
            participant_id: who(1),
            kind: RewardKind::Voucher,
            amount_pence: Some(2500),
            activity_id: Some(activity),
            occurred_on: day,
            rate_pence_per_hour: None,
            amount_unknown: None,
            declined: None,
            support: None,
            as_preferred: None,
        }));
        events.push(ProjectEvent::ContributionMade(ContributionMade {
            contribution_id: contribution.clone(),
            participant_id: who(3),
            stage,
            kind: ContributionKind::Idea,
            summary: "Hold sessions in the evening so that working carers can come.".into(),
            occurred_on: day,
        }));
        events.push(ProjectEvent::ContributionResponded(ContributionResponded {
            contribution_id: contribution.clone(),
            response: Response::Adopted,
            explanation: "Moved to evenings from March.".into(),
            occurred_on: day,
        }));
        events.push(ProjectEvent::DecisionMade(DecisionMade {
            decision_id: format!("d{round}"),
            stage,
            subject: "Session times".into(),
            method: DecisionMethod::Consensus,
            participants: vec![who(3), who(4), who(5)],
            votes: None,
            influenced_by: vec![contribution],
            outcome: "Evenings".into(),
            occurred_on: day,
            importance: None,
            effect: None,
            ratifies: None,
            departs_from: None,
            departure_reason: None,
        }));
        round += 1;
    }
    events.truncate(size);
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| RecordedEvent {
            sequence: i as u64 + 1,
            recorded_at: recorded + chrono::Duration::seconds(i as i64),
            recorded_by: "officer".into(),
            digest: Digest::ZERO,
            event,
        })
        .collect()
}

/// The entries as a store would keep them (without digests; see [`chained`]).
pub fn stored(events: &[RecordedEvent]) -> Vec<StoredEntry> {
    let project_id = match events.first().map(|e| &e.event) {
        Some(ProjectEvent::ProjectRegistered(r)) => r.project_id,
        _ => Uuid::from_u128(7),
    };
    events
        .iter()
        .map(|e| StoredEntry {
            aggregate_id: project_id.to_string(),
            sequence: e.sequence,
            event_type: e.event.type_name().to_string(),
            event_version: EVENT_VERSION.to_string(),
            payload: serde_json::to_value(&e.event).expect("events serialise"),
            metadata: [
                (RECORDED_AT_KEY.to_string(), format_instant(e.recorded_at)),
                ("recorded_by".to_string(), "officer".to_string()),
            ]
            .into(),
        })
        .collect()
}

/// The entries with the chain head after each written into its metadata, as the store keeps
/// them: a trail that `verify` accepts.
pub fn chained(mut entries: Vec<StoredEntry>) -> Vec<StoredEntry> {
    let mut head = Digest::ZERO;
    for entry in &mut entries {
        entry.metadata.remove(DIGEST_KEY);
        head = chain_next(&head, entry);
        entry
            .metadata
            .insert(DIGEST_KEY.to_string(), head.to_string());
    }
    entries
}
