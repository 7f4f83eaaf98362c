//! The engine is a pure function: the same entries give byte-identical assessments whatever order
//! they are passed in, every score and evidence list keeps its shape, and the rubric compiled into
//! the program is exactly the file shipped, with a stable digest.

use std::collections::BTreeSet;

use chrono::Duration;
use coprod_domain::assessment::{self, AssessError, Assessment, Cutoff, Rating};
use coprod_domain::digest::canonical_json;
use coprod_domain::rubric::{self, PublishedRubric};
use coprod_domain::testkit::stream::*;
use coprod_domain::*;
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

// ---- Random streams

const PEOPLE: [&str; 8] = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"];
const GROUPS: [&str; 6] = [
    "Young carers",
    " young CARERS ",
    "Parent carers",
    "Older people",
    "Autism",
    "Carers from Black and minority ethnic communities",
];

/// One fact to append; indices pick from small pools so that facts refer to each other.
#[derive(Debug, Clone)]
enum Op {
    Join(usize, usize, Vec<usize>),
    Leave(usize),
    Stage(usize),
    Activity(usize, usize, usize, Vec<usize>, Vec<usize>, i64),
    Reward(usize, usize, Option<i64>, Option<usize>, i64),
    Role(usize, usize),
    Contribution(usize, usize, usize),
    Respond(usize, usize),
    Decide(usize, usize, usize, Vec<usize>, Vec<usize>),
    Review(usize, usize, Vec<usize>, Vec<usize>),
    Correct(usize),
}

fn people() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..PEOPLE.len(), 0..4)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..PEOPLE.len(), 0..6usize, prop::collection::vec(0..GROUPS.len(), 0..3))
            .prop_map(|(p, k, g)| Op::Join(p, k, g)),
        1 => (0..PEOPLE.len()).prop_map(Op::Leave),
        2 => (0..4usize).prop_map(Op::Stage),
        3 => (0..6usize, 0..4usize, 0..8usize, people(), people(), 0..90i64)
            .prop_map(|(a, s, k, f, t, d)| Op::Activity(a, s, k, f, t, d)),
        3 => (0..PEOPLE.len(), 0..7usize, prop::option::of(0..3000i64), prop::option::of(0..6usize), 0..120i64)
            .prop_map(|(p, k, m, a, d)| Op::Reward(p, k, m.map(|m| m - 500), a, d)),
        1 => (0..PEOPLE.len(), 0..8usize).prop_map(|(p, r)| Op::Role(p, r)),
        3 => (0..8usize, 0..PEOPLE.len(), 0..4usize).prop_map(|(c, p, s)| Op::Contribution(c, p, s)),
        4 => (0..8usize, 0..3usize).prop_map(|(c, r)| Op::Respond(c, r)),
        2 => (0..5usize, 0..4usize, 0..5usize, people(), prop::collection::vec(0..8usize, 0..3))
            .prop_map(|(d, s, m, p, i)| Op::Decide(d, s, m, p, i)),
        1 => (0..4usize, 0..3usize, people(), people()).prop_map(|(o, k, a, r)| Op::Review(o, k, a, r)),
        2 => any::<usize>().prop_map(Op::Correct),
    ]
}

fn names(list: &[usize]) -> Vec<&'static str> {
    list.iter().map(|i| PEOPLE[*i]).collect()
}

fn build(priority: &[usize], ops: &[Op]) -> Stream {
    use ActivityKind as A;
    use ParticipantKind as K;
    const KINDS: [K; 6] = [
        K::LivedExperience,
        K::Carer,
        K::Professional,
        K::Provider,
        K::CommunityOrganisation,
        K::ElectedMember,
    ];
    const ACTIVITIES: [A; 8] = [
        A::Workshop,
        A::Meeting,
        A::Interview,
        A::Survey,
        A::Training,
        A::SiteVisit,
        A::QualityCheck,
        A::Other,
    ];
    const REWARDS: [RewardKind; 7] = [
        RewardKind::Payment,
        RewardKind::Voucher,
        RewardKind::CharityDonation,
        RewardKind::Expenses,
        RewardKind::Learning,
        RewardKind::Recognition,
        RewardKind::Opportunity,
    ];
    const ROLES: [Role; 8] = [
        Role::CoChair,
        Role::CoFacilitator,
        Role::CoTrainer,
        Role::CoResearcher,
        Role::QualityAssurer,
        Role::RecruitmentPanel,
        Role::PeerSupporter,
        Role::Learner,
    ];
    const RESPONSES: [Response; 3] = [Response::Adopted, Response::Adapted, Response::NotAdopted];
    const METHODS: [DecisionMethod; 5] = [
        DecisionMethod::Consensus,
        DecisionMethod::Vote,
        DecisionMethod::LivedExperienceLed,
        DecisionMethod::ProfessionalOnly,
        DecisionMethod::Delegated,
    ];
    const OUTCOMES: [OutcomeKind; 3] = [
        OutcomeKind::Success,
        OutcomeKind::Shortfall,
        OutcomeKind::Failure,
    ];

    let priority: Vec<&str> = priority.iter().map(|g| GROUPS[*g]).collect();
    let mut s = Stream::new(&priority);
    let mut corrections = BTreeSet::new();
    for op in ops {
        match op {
            Op::Join(p, k, g) => {
                let groups: Vec<&str> = g.iter().map(|g| GROUPS[*g]).collect();
                s.join(PEOPLE[*p], KINDS[*k], &groups);
            }
            Op::Leave(p) => {
                s.leave(PEOPLE[*p]);
            }
            Op::Stage(st) => {
                s.stage(Stage::ALL[*st]);
            }
            Op::Activity(a, st, k, f, t, d) => {
                let on = day() + Duration::days(*d);
                let id = format!("a{a}");
                s.activity(
                    &id,
                    Stage::ALL[*st],
                    ACTIVITIES[*k],
                    &names(f),
                    &names(t),
                    on,
                );
            }
            Op::Reward(p, k, amount, a, d) => {
                let on = day() + Duration::days(*d);
                let activity = a.map(|a| format!("a{a}"));
                s.reward(PEOPLE[*p], REWARDS[*k], *amount, activity.as_deref(), on);
            }
            Op::Role(p, r) => {
                s.role(PEOPLE[*p], ROLES[*r]);
            }
            Op::Contribution(c, p, st) => {
                s.contribution(&format!("c{c}"), PEOPLE[*p], Stage::ALL[*st]);
            }
            Op::Respond(c, r) => {
                s.respond(&format!("c{c}"), RESPONSES[*r]);
            }
            Op::Decide(d, st, m, p, i) => {
                let influenced: Vec<String> = i.iter().map(|c| format!("c{c}")).collect();
                let influenced: Vec<&str> = influenced.iter().map(String::as_str).collect();
                s.decide(
                    &format!("d{d}"),
                    Stage::ALL[*st],
                    METHODS[*m],
                    &names(p),
                    &influenced,
                );
            }
            Op::Review(o, k, a, r) => {
                s.review(&format!("o{o}"), OUTCOMES[*k], &names(a), &names(r));
            }
            Op::Correct(pick) => {
                // Withdraw an earlier entry that is neither the registration, a correction, nor
                // already withdrawn, as the aggregate would require.
                let candidates: Vec<u64> = (2..=s.last_sequence())
                    .filter(|seq| !corrections.contains(seq))
                    .filter(|seq| {
                        !s.entries()
                            .iter()
                            .any(|e| matches!(&e.event, ProjectEvent::CorrectionRecorded(c) if c.corrects_sequence == *seq))
                    })
                    .collect();
                if let Some(target) = candidates.get(pick % candidates.len().max(1)) {
                    let seq = s.correct(*target);
                    corrections.insert(seq);
                }
            }
        }
    }
    s
}

fn stream() -> impl Strategy<Value = Stream> {
    (
        prop::collection::vec(0..GROUPS.len(), 0..3),
        prop::collection::vec(op(), 0..60),
    )
        .prop_map(|(priority, ops)| build(&priority, &ops))
}

/// A deterministic shuffle (xorshift), so that a failing case can be replayed.
fn shuffled(entries: &[RecordedEvent], seed: u64) -> Vec<RecordedEvent> {
    let mut out = entries.to_vec();
    let mut state = seed | 1;
    for i in (1..out.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % (i as u64 + 1)) as usize;
        out.swap(i, j);
    }
    out
}

/// The sequences withdrawn by corrections recorded at or before `at`.
fn withdrawn_by(entries: &[RecordedEvent], at: u64) -> BTreeSet<u64> {
    entries
        .iter()
        .filter(|e| e.sequence <= at)
        .filter_map(|e| match &e.event {
            ProjectEvent::CorrectionRecorded(c) => Some(c.corrects_sequence),
            _ => None,
        })
        .collect()
}

fn check_shape(a: &Assessment, entries: &[RecordedEvent]) -> Result<(), TestCaseError> {
    let withdrawn = withdrawn_by(entries, a.at_sequence);
    prop_assert_eq!(a.criteria.len(), 6);
    for c in &a.criteria {
        prop_assert!([0, 33, 66, 100].contains(&c.score), "score {}", c.score);
        let met = c.indicators.iter().filter(|i| i.met).count();
        prop_assert_eq!(c.score as usize, 100 * met / 3);
        let rating = match met {
            3 => Rating::Met,
            0 => Rating::NotMet,
            _ => Rating::PartlyMet,
        };
        prop_assert_eq!(c.rating, rating);
        for i in &c.indicators {
            prop_assert!(!i.explanation.trim().is_empty(), "{}", i.key);
            prop_assert!(
                i.evidence.windows(2).all(|w| w[0] < w[1]),
                "{} evidence not ascending or repeated: {:?}",
                i.key,
                i.evidence
            );
            for seq in &i.evidence {
                prop_assert!(*seq >= 1 && *seq <= a.at_sequence, "{}: {}", i.key, seq);
                prop_assert!(
                    !withdrawn.contains(seq),
                    "{} cites withdrawn {}",
                    i.key,
                    seq
                );
            }
        }
    }
    let o = &a.overall;
    prop_assert_eq!(o.met + o.partly_met + o.not_met, 6);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn assessing_twice_gives_the_same_bytes(s in stream()) {
        let first = assess(&s, Cutoff::Latest).to_json_bytes();
        let second = assess(&s, Cutoff::Latest).to_json_bytes();
        prop_assert_eq!(first, second);
    }

    #[test]
    fn the_order_entries_are_passed_in_does_not_matter(s in stream(), seed in any::<u64>(), cut in any::<u64>()) {
        let mixed = shuffled(s.entries(), seed);
        let last = s.last_sequence();
        let at = 1 + cut % last;
        let as_of = recorded_at(at) + Duration::seconds(30);
        for cutoff in [Cutoff::Latest, Cutoff::AtSequence(at), Cutoff::AsOf(as_of)] {
            let ordered = assessment::assess(s.entries(), rubric::latest(), cutoff).unwrap();
            let from_mixed = assessment::assess(&mixed, rubric::latest(), cutoff).unwrap();
            prop_assert_eq!(ordered.to_json_bytes(), from_mixed.to_json_bytes());
        }
    }

    #[test]
    fn scores_and_evidence_keep_their_shape(s in stream(), cut in any::<u64>()) {
        let at = 1 + cut % s.last_sequence();
        let as_of = recorded_at(at) + Duration::seconds(59);
        for cutoff in [Cutoff::Latest, Cutoff::AtSequence(at), Cutoff::AsOf(as_of)] {
            let a = assess(&s, cutoff);
            check_shape(&a, s.entries())?;
        }
        let a = assess(&s, Cutoff::AtSequence(at));
        prop_assert_eq!(a.at_sequence, at);
        prop_assert_eq!(a.stream_digest, digest_of(at));
    }

    #[test]
    fn what_was_recorded_later_never_changes_an_earlier_assessment(s in stream(), cut in any::<u64>()) {
        // Cutting the stream at n and assessing all of it gives the same bytes as asking the whole
        // stream for entry n: later entries, corrections included, change nothing.
        let at = 1 + cut % s.last_sequence();
        let prefix = Stream::from_entries(s.entries()[..at as usize].to_vec());
        prop_assert_eq!(
            assess(&prefix, Cutoff::Latest).to_json_bytes(),
            assess(&s, Cutoff::AtSequence(at)).to_json_bytes()
        );
    }
}

// ---- The rubric as data

const RUBRIC_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rubrics");

/// SHA-256 of the canonical JSON of version 1, as published. A new version never changes an old
/// one: if this fails, version 1 was edited.
const V1_DIGEST: &str = "sha256:a34b8090885e1c3281c527e36ed8d7560a54320edbdd98bbb8df3bd1a253dad0";

fn digest_of_file(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hash = Sha256::digest(canonical_json(&value).as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[test]
fn the_rubric_digest_is_sha256_of_the_canonical_json_of_its_file() {
    let path = std::path::Path::new(RUBRIC_DIR).join("oxfordshire-six-point-v1.json");
    let independent = digest_of_file(&path);
    let v1 = rubric::find("oxfordshire-six-point", 1).expect("version 1 is shipped");
    assert_eq!(v1.digest.to_string(), independent);
    assert_eq!(independent, V1_DIGEST);
    // The same, asked twice, and as the assessment names it.
    assert_eq!(
        rubric::find("oxfordshire-six-point", 1).unwrap().digest,
        v1.digest
    );
    let a = assess(&Stream::plain(), Cutoff::Latest);
    assert_eq!(a.rubric.digest, v1.digest);
    // Version 2 is the latest; what it is built on is its own file, checked the same way.
    let v2 = rubric::latest();
    assert_eq!(v2.rubric.version, 2);
    let path = std::path::Path::new(RUBRIC_DIR).join("oxfordshire-six-point-v2.json");
    assert_eq!(v2.digest.to_string(), digest_of_file(&path));
    assert_eq!(assess_v2(&Stream::plain()).rubric.digest, v2.digest);
}

#[test]
fn every_rubric_file_is_shipped_and_every_shipped_rubric_comes_from_a_file() {
    let mut files: Vec<String> = std::fs::read_dir(RUBRIC_DIR)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| digest_of_file(&p))
        .collect();
    files.sort();
    let mut shipped: Vec<String> = rubric::all().iter().map(|r| r.digest.to_string()).collect();
    shipped.sort();
    assert_eq!(files, shipped);
}

/// Every indicator of version 1, which is what its engine knows.
const KNOWN: [&str; 18] = [
    "from_the_start",
    "every_stage",
    "sustained",
    "lived_experience_in_professional_roles",
    "shared_facilitation",
    "learning_both_ways",
    "rewarded_beyond_expenses",
    "development",
    "timely",
    "priority_groups_reached",
    "breadth",
    "no_single_group_dominates",
    "contributions_answered",
    "parity",
    "influence",
    "shared_decisions",
    "accountability_shared",
    "failures_owned",
];

#[test]
fn every_indicator_named_in_every_shipped_rubric_is_known_to_the_engine() {
    let mut s = Stream::new(&["Young carers"]);
    s.join("ann", ParticipantKind::Carer, &["Young carers"]);
    s.stage(Stage::Commission);
    s.meeting("a1", Stage::Commission, &["ann"], &[]);
    assert!(!rubric::all().is_empty());
    for published in rubric::all() {
        let named: Vec<&str> = published
            .rubric
            .criteria
            .iter()
            .flat_map(|c| c.indicators.iter().map(|i| i.key.as_str()))
            .collect();
        let known: &[&str] = match published.rubric.version {
            1 => &KNOWN,
            _ => assessment::VERSION_2_INDICATORS,
        };
        for key in &named {
            assert!(
                known.contains(key),
                "{}: unknown indicator {key}",
                published.reference()
            );
        }
        let a = assessment::assess(s.entries(), published, Cutoff::Latest)
            .unwrap_or_else(|e| panic!("{}: {e}", published.reference()));
        let assessed: Vec<&str> = a
            .criteria
            .iter()
            .flat_map(|c| c.indicators.iter().map(|i| i.key.as_str()))
            .collect();
        assert_eq!(assessed, named, "{}", published.reference());
        assert_eq!(a.rubric.version, published.rubric.version);
        assert_eq!(a.rubric.digest, published.digest);
    }
}

#[test]
fn version_1_holds_the_thresholds_rubric_md_names() {
    let v1 = rubric::find("oxfordshire-six-point", 1).unwrap();
    let p = &v1.rubric.parameters;
    assert_eq!(
        (
            p.sustained_share,
            p.shared_facilitation_share,
            p.reward_share,
            p.reward_days,
            p.min_groups,
            p.max_group_share,
            p.response_share,
            p.parity_tolerance,
            p.shared_decision_share
        ),
        (50, 50, 80, 30, 3, 50, 80, 10, 75)
    );
    let named: Vec<&str> = v1
        .rubric
        .criteria
        .iter()
        .flat_map(|c| c.indicators.iter().map(|i| i.key.as_str()))
        .collect();
    assert_eq!(named, KNOWN);
    assert!(v1.rubric.criteria.iter().all(|c| c.indicators.len() == 3));
}

#[test]
fn a_rubric_naming_an_indicator_the_engine_does_not_know_is_refused() {
    let latest = rubric::latest();
    let mut changed = latest.rubric.clone();
    changed.criteria[2].indicators[1].key = "paid_on_time".into();
    let unknown = PublishedRubric {
        rubric: changed,
        digest: latest.digest,
        definition: latest.definition.clone(),
    };
    let s = Stream::plain();
    assert_eq!(
        assessment::assess(s.entries(), &unknown, Cutoff::Latest),
        Err(AssessError::UnknownIndicator("paid_on_time".into()))
    );
}
