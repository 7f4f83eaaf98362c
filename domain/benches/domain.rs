//! The pure parts of Coprod, measured against the cheapest possible pass over the same data in the
//! same run: the rubric engine, the stream digest, and event (de)serialisation.
//!
//! Run: `cargo bench -p coprod-domain`. DESIGN.md's target: a 10,000-event project assessed in under
//! 5 ms on one core.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use coprod_domain::assessment::{assess, Cutoff};
use coprod_domain::digest::{chain_next, Digest, StoredEntry};
use coprod_domain::*;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use uuid::Uuid;

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
fn project(size: usize) -> Vec<RecordedEvent> {
    let start = NaiveDate::from_ymd_opt(2024, 1, 8).expect("a date");
    let recorded: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 1, 8, 9, 0, 0).unwrap();
    let mut events = vec![ProjectEvent::ProjectRegistered(ProjectRegistered {
        project_id: Uuid::from_u128(7),
        title: "Carers' strategy refresh".into(),
        organisation: "oxfordshire".into(),
        service_area: "carers".into(),
        description: None,
        priority_groups: GROUPS[..3].iter().map(|g| g.to_string()).collect(),
        started_on: start,
    })];
    let people: Vec<String> = (0..60).map(|i| format!("p{i}")).collect();
    for (i, p) in people.iter().enumerate() {
        events.push(ProjectEvent::ParticipantJoined(ParticipantJoined {
            participant_id: p.clone(),
            kind: KINDS[i % KINDS.len()],
            groups: vec![GROUPS[i % GROUPS.len()].to_string()].into(),
            occurred_on: start,
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
        }));
        events.push(ProjectEvent::RewardGiven(RewardGiven {
            participant_id: who(1),
            kind: RewardKind::Voucher,
            amount_pence: Some(2500),
            activity_id: Some(activity),
            occurred_on: day,
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

fn stored(events: &[RecordedEvent]) -> Vec<StoredEntry> {
    events
        .iter()
        .map(|e| StoredEntry {
            aggregate_id: Uuid::from_u128(7).to_string(),
            sequence: e.sequence,
            event_type: e.event.type_name().to_string(),
            event_version: EVENT_VERSION.to_string(),
            payload: serde_json::to_value(&e.event).expect("events serialise"),
            metadata: [
                (
                    "recorded_at".to_string(),
                    "2024-01-08T09:00:00.000000Z".to_string(),
                ),
                ("recorded_by".to_string(), "officer".to_string()),
            ]
            .into(),
        })
        .collect()
}

fn rubric(c: &mut Criterion) {
    let published = rubric::latest();
    let mut group = c.benchmark_group("rubric");
    for size in [100, 1_000, 10_000] {
        let events = project(size);
        group.throughput(Throughput::Elements(size as u64));
        // Baseline: touching every event once, the least any assessment must do.
        group.bench_with_input(
            BenchmarkId::new("baseline_one_pass", size),
            &events,
            |b, events| {
                b.iter(|| {
                    black_box(
                        events
                            .iter()
                            .map(|e| e.sequence ^ e.event.occurred_on().to_string().len() as u64)
                            .sum::<u64>(),
                    )
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("assess", size), &events, |b, events| {
            b.iter(|| black_box(assess(events, published, Cutoff::Latest).expect("assessable")))
        });
    }
    group.finish();
}

fn digest(c: &mut Criterion) {
    let entries = stored(&project(10_000));
    let canonical: Vec<String> = entries.iter().map(StoredEntry::canonical_json).collect();
    let mut group = c.benchmark_group("digest_10000");
    group.throughput(Throughput::Elements(entries.len() as u64));
    // Baseline: SHA-256 over the already-canonical bytes alone.
    group.bench_function("baseline_sha256_only", |b| {
        b.iter(|| {
            let mut head = Digest::ZERO;
            for text in &canonical {
                let mut bytes = head.0.to_vec();
                bytes.extend_from_slice(text.as_bytes());
                head = Digest::of_bytes(&bytes);
            }
            black_box(head)
        })
    });
    group.bench_function("chain", |b| {
        b.iter(|| {
            let mut head = Digest::ZERO;
            for entry in &entries {
                head = chain_next(&head, entry);
            }
            black_box(head)
        })
    });
    group.finish();
}

fn serialisation(c: &mut Criterion) {
    let events: Vec<ProjectEvent> = project(10_000).into_iter().map(|e| e.event).collect();
    let texts: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("serialises"))
        .collect();
    let mut group = c.benchmark_group("serde_10000");
    group.throughput(Throughput::Elements(events.len() as u64));
    // Baseline: parsing the same JSON into an untyped value.
    group.bench_function("baseline_parse_untyped", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(serde_json::from_str::<serde_json::Value>(t).expect("json"));
            }
        })
    });
    group.bench_function("deserialise", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(serde_json::from_str::<ProjectEvent>(t).expect("an event"));
            }
        })
    });
    group.bench_function("serialise", |b| {
        b.iter(|| {
            for e in &events {
                black_box(serde_json::to_string(e).expect("serialises"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, rubric, digest, serialisation);
criterion_main!(benches);
