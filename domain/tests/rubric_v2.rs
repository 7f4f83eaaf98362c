//! Rubric version 2, story by story and rule by rule. The three stories carry the verdicts that
//! were written down before the engine: consultation dressed up as co-production, a co-designed
//! project stopped without the people involved (before and after the stop), and a project that
//! is co-produced. Then the reviewer's cases, one rule each, a project with nothing but its
//! registration, the plain-English and privacy rules, and version 1 left as it was.

use chrono::{Days, NaiveDate};
use coprod_domain::assessment::{Assessment, Cutoff, EvidenceState, Rating};
use coprod_domain::testkit::stream::*;
use coprod_domain::*;
use EvidenceState::*;
use ParticipantKind::*;
use Stage::*;

// ---- building streams ---------------------------------------------------------------------------

/// A project registered as co-produced (or whatever `declared` says), for carers.
fn project(declared: Option<LadderRung>, serves: &[&str]) -> Stream {
    let mut s = Stream::from_entries(Vec::new());
    s.push(ProjectEvent::ProjectRegistered(ProjectRegistered {
        project_id: project_id(),
        title: "Respite services redesign".into(),
        organisation: "oxfordshire".into(),
        organisation_name: None,
        service_area: "carers".into(),
        description: None,
        priority_groups: strings(&["carers"]),
        started_on: day(),
        declared_level: declared,
        serves: (!serves.is_empty()).then(|| strings(serves)),
    }));
    s
}

fn on(days: u64) -> NaiveDate {
    day().checked_add_days(Days::new(days)).unwrap()
}

struct Held<'a> {
    id: &'a str,
    stage: Stage,
    kind: ActivityKind,
    facilitators: &'a [&'a str],
    attendees: &'a [&'a str],
    day: u64,
    mode: Option<ActivityMode>,
    locality: Option<&'a str>,
    minutes: Option<i64>,
    adjustments: Option<(i64, i64)>,
}

fn held<'a>(
    id: &'a str,
    stage: Stage,
    kind: ActivityKind,
    facilitators: &'a [&'a str],
    attendees: &'a [&'a str],
) -> Held<'a> {
    Held {
        id,
        stage,
        kind,
        facilitators,
        attendees,
        day: 0,
        mode: None,
        locality: None,
        minutes: None,
        adjustments: None,
    }
}

fn hold(s: &mut Stream, a: Held) -> u64 {
    s.push(ProjectEvent::ActivityHeld(ActivityHeld {
        activity_id: a.id.into(),
        stage: a.stage,
        kind: a.kind,
        title: format!("Activity {}", a.id),
        facilitators: strings(a.facilitators),
        attendees: strings(a.attendees),
        occurred_on: on(a.day),
        mode: a.mode,
        locality: a.locality.map(Into::into),
        duration_minutes: a.minutes,
        adjustments_requested: a.adjustments.map(|(asked, _)| asked),
        adjustments_provided: a.adjustments.map(|(_, made)| made),
    }))
}

fn join_flagged(s: &mut Stream, id: &str, kind: ParticipantKind, groups: &[&str]) -> u64 {
    s.push(ProjectEvent::ParticipantJoined(ParticipantJoined {
        participant_id: id.into(),
        kind,
        groups: strings(groups).into(),
        occurred_on: day(),
        lived_experience: Some(true),
    }))
}

fn leave_because(s: &mut Stream, id: &str, reason: LeavingReason, days: u64) -> u64 {
    s.push(ProjectEvent::ParticipantLeft(ParticipantLeft {
        participant_id: id.into(),
        reason: Some("Left the group.".into()),
        occurred_on: on(days),
        reason_code: Some(reason),
    }))
}

fn paid(
    s: &mut Stream,
    who: &str,
    activity: &str,
    days: u64,
    change: impl FnOnce(&mut RewardGiven),
) {
    let mut given = RewardGiven {
        participant_id: who.into(),
        kind: RewardKind::Payment,
        amount_pence: Some(3000),
        activity_id: Some(activity.into()),
        occurred_on: on(days),
        rate_pence_per_hour: Some(1500),
        amount_unknown: None,
        declined: None,
        support: None,
        as_preferred: Some(true),
    };
    change(&mut given);
    s.push(ProjectEvent::RewardGiven(given));
}

struct Decided<'a> {
    id: &'a str,
    stage: Stage,
    method: DecisionMethod,
    participants: &'a [&'a str],
    voters: &'a [&'a str],
    influenced_by: &'a [&'a str],
    day: u64,
    importance: Option<DecisionImportance>,
    effect: Option<DecisionEffect>,
    ratifies: Option<&'a str>,
}

fn decided<'a>(
    id: &'a str,
    stage: Stage,
    method: DecisionMethod,
    participants: &'a [&'a str],
) -> Decided<'a> {
    Decided {
        id,
        stage,
        method,
        participants,
        voters: participants,
        influenced_by: &[],
        day: 0,
        importance: None,
        effect: None,
        ratifies: None,
    }
}

fn decide(s: &mut Stream, d: Decided) -> u64 {
    let votes = (d.method == DecisionMethod::Vote).then(|| Votes {
        in_favour: strings(d.voters),
        against: Vec::new(),
        abstain: Vec::new(),
    });
    s.push(ProjectEvent::DecisionMade(DecisionMade {
        decision_id: d.id.into(),
        stage: d.stage,
        subject: format!("Decision {}", d.id),
        method: d.method,
        participants: strings(d.participants),
        votes,
        influenced_by: strings(d.influenced_by),
        outcome: "Agreed.".into(),
        occurred_on: on(d.day),
        importance: d.importance,
        effect: d.effect,
        ratifies: d.ratifies.map(Into::into),
        departs_from: None,
        departure_reason: None,
    }))
}

fn tell(s: &mut Stream, decision: &str, days: u64) -> u64 {
    s.push(ProjectEvent::PeopleTold(PeopleTold {
        decision_id: decision.into(),
        method: ContactMethod::Letter,
        occurred_on: on(days),
    }))
}

fn feed_back(s: &mut Stream, contributions: &[&str], method: ContactMethod) -> u64 {
    s.push(ProjectEvent::FeedbackGiven(FeedbackGiven {
        contribution_ids: strings(contributions),
        method,
        occurred_on: day(),
    }))
}

const RESIDENTS: [&str; 6] = ["r1", "r2", "r3", "r4", "r5", "r6"];

/// Six people with lived experience (entries 2–7) and two officers (8, 9).
fn cast(s: &mut Stream, groups: [&[&str]; 6]) {
    for (i, id) in RESIDENTS.iter().enumerate() {
        let kind = if i % 2 == 0 { LivedExperience } else { Carer };
        s.join(id, kind, groups[i]);
    }
    s.join("o1", Professional, &[]);
    s.join("o2", Professional, &[]);
}

fn state(a: &Assessment, key: &str) -> EvidenceState {
    indicator(a, key)
        .state
        .expect("version 2 gives every indicator a state")
}

fn rating(a: &Assessment, key: &str) -> Rating {
    criterion(a, key).rating
}

fn rung(a: &Assessment) -> Option<LadderRung> {
    a.overall
        .ladder
        .as_ref()
        .expect("version 2 places the project")
        .rung
}

fn flag_keys(a: &Assessment) -> Vec<&str> {
    a.overall
        .flags
        .as_ref()
        .expect("version 2 lists its flags")
        .iter()
        .map(|f| f.key.as_str())
        .collect()
}

fn headline(a: &Assessment) -> &str {
    a.overall
        .headline
        .as_deref()
        .expect("version 2 has a headline")
}

/// Every text of a version 2 assessment a reader sees.
fn texts(a: &Assessment) -> Vec<String> {
    let mut all = vec![a.overall.summary.clone(), headline(a).to_string()];
    if let Some(ladder) = &a.overall.ladder {
        all.extend(ladder.reasons.iter().cloned());
    }
    all.extend(a.overall.flags.iter().flatten().map(|f| f.message.clone()));
    for c in &a.criteria {
        all.push(c.summary.clone());
        all.extend(c.cap.clone());
        for i in &c.indicators {
            all.push(i.explanation.clone());
            all.push(i.value.clone());
            all.extend(i.missing_evidence.clone());
        }
    }
    all
}

// ---- story (a): consultation dressed up as co-production --------------------------------------

/// Officers decide alone; residents answer one survey per stage for a £10 voucher.
fn consultation_dressed_up() -> Stream {
    let mut s = project(Some(LadderRung::CoProduction), &[]);
    cast(&mut s, [&["carers", "ethnicity: White British"]; 6]);
    for (n, stage) in [Commission, Design, Deliver].into_iter().enumerate() {
        let survey = format!("sv{n}");
        let comment = format!("c{n}");
        let decision = format!("d{n}");
        s.stage(stage);
        hold(
            &mut s,
            Held {
                mode: Some(ActivityMode::Online),
                ..held(&survey, stage, ActivityKind::Survey, &["o1"], &RESIDENTS)
            },
        );
        for who in RESIDENTS {
            s.reward(who, RewardKind::Voucher, Some(1000), Some(&survey), day());
        }
        s.contribution(&comment, RESIDENTS[n], stage);
        s.respond(&comment, Response::Acknowledged);
        decide(
            &mut s,
            Decided {
                importance: Some(DecisionImportance::Key),
                influenced_by: &[comment.as_str()],
                ..decided(
                    &decision,
                    stage,
                    DecisionMethod::ProfessionalOnly,
                    &["o1", "o2"],
                )
            },
        );
    }
    s
}

#[test]
fn given_consultation_dressed_up_as_co_production_then_version_2_places_it_at_consultation_and_flags_it(
) {
    let a = assess_v2(&consultation_dressed_up());
    assert_eq!(rung(&a), Some(LadderRung::Consultation));
    assert_eq!(flag_keys(&a), ["declared_above_evidence"]);
    assert_eq!(a.overall.declared_level, Some(LadderRung::CoProduction));
    assert_eq!(
        headline(&a),
        "This looks like consultation, not co-production: people gave their views, but did not help to decide."
    );
    assert_eq!(rating(&a, "whole_life_involvement"), Rating::NotMet);
    assert_eq!(rating(&a, "blurred_boundaries"), Rating::NotMet);
    assert_eq!(rating(&a, "reciprocal_reward"), Rating::PartlyMet);
    assert_eq!(rating(&a, "diverse_group_involvement"), Rating::NotMet);
    assert_eq!(rating(&a, "equal_valuation_of_assets"), Rating::NotMet);
    assert_eq!(rating(&a, "shared_responsibility"), Rating::NotMet);
    let expected = [
        ("from_the_start", NotMet),
        ("every_stage", NotMet),
        ("sustained", NotMet),
        ("retention", NotApplicable),
        ("lived_experience_in_professional_roles", NotMet),
        ("shared_facilitation", NotMet),
        ("learning_both_ways", NotMet),
        ("rewarded_beyond_expenses", NotMet),
        ("fair_rate", NotRecorded),
        ("session_coverage", NotMet),
        ("preferred_method", NotRecorded),
        ("development", NotMet),
        ("timely", Met),
        ("expenses_on_time", NotApplicable),
        ("priority_groups_reached", NotMet),
        ("breadth", NotMet),
        ("no_single_group_dominates", NotApplicable),
        ("adjustments_made", NotRecorded),
        ("ways_to_take_part", NotMet),
        ("contributions_answered", NotMet),
        ("parity", NotApplicable),
        ("influence", NotMet),
        ("shared_decisions", NotMet),
        ("changes_shared", NotApplicable),
        ("accountability_shared", NotApplicable),
        ("failures_owned", NotApplicable),
    ];
    for (key, want) in expected {
        assert_eq!(
            state(&a, key),
            want,
            "{key}: {}",
            indicator(&a, key).explanation
        );
    }
}

#[test]
fn given_consultation_dressed_up_then_the_explanations_say_people_were_only_asked_for_views() {
    let a = assess_v2(&consultation_dressed_up());
    assert!(indicator(&a, "from_the_start")
        .explanation
        .contains("only gave their views"));
    assert!(indicator(&a, "every_stage")
        .explanation
        .contains("they were only asked for their views"));
    assert!(indicator(&a, "influence")
        .explanation
        .contains("Three decisions made by staff alone cited their views"));
    assert!(indicator(&a, "contributions_answered")
        .explanation
        .contains("three were only noted"));
}

#[test]
fn given_consultation_dressed_up_then_version_1_still_gives_its_old_answer() {
    let s = consultation_dressed_up();
    let a = assess(&s, Cutoff::Latest);
    assert_eq!(a.rubric.version, 1);
    assert!(a.overall.headline.is_none() && a.overall.ladder.is_none());
    // Version 1's flaw, kept as published: surveys alone meet "whole life involvement".
    assert_eq!(criterion(&a, "whole_life_involvement").rating, Rating::Met);
    let body = String::from_utf8(a.to_json_bytes()).unwrap();
    for field in [
        "\"state\"",
        "missing_evidence",
        "headline",
        "\"ladder\"",
        "\"flags\"",
        "\"cap\"",
    ] {
        assert!(!body.contains(field), "{field} in a version 1 body");
    }
}

// ---- story (b): co-designed, then paused without the people involved ---------------------------

/// Returns the stream and the last entry before the pause.
fn co_designed_then_paused() -> (Stream, u64) {
    let mut s = project(Some(LadderRung::CoDesign), &[]);
    cast(&mut s, [&["carers"]; 6]);
    s.stage(Commission);
    hold(
        &mut s,
        held(
            "w1",
            Commission,
            ActivityKind::Workshop,
            &["o1"],
            &RESIDENTS,
        ),
    );
    decide(
        &mut s,
        decided(
            "d1",
            Commission,
            DecisionMethod::Consensus,
            &["r1", "r2", "r3", "r4", "o1"],
        ),
    );
    s.stage(Design);
    for w in ["w2", "w3"] {
        hold(
            &mut s,
            Held {
                day: 10,
                ..held(
                    w,
                    Design,
                    ActivityKind::Workshop,
                    &["r1", "o1"],
                    &["r2", "r3", "r4", "r5", "r6"],
                )
            },
        );
        for who in RESIDENTS {
            paid(&mut s, who, w, 10, |_| {});
        }
    }
    s.contribution("c1", "r2", Design);
    s.contribution("c2", "r3", Design);
    s.contribution("c3", "o1", Design);
    for c in ["c1", "c2", "c3"] {
        s.respond(c, Response::Adopted);
    }
    feed_back(&mut s, &["c1", "c2", "c3"], ContactMethod::Letter);
    decide(
        &mut s,
        Decided {
            day: 11,
            influenced_by: &["c1"],
            ..decided(
                "d2",
                Design,
                DecisionMethod::Vote,
                &["r1", "r2", "r3", "r4", "r5"],
            )
        },
    );
    for d in ["d3", "d4"] {
        decide(
            &mut s,
            Decided {
                day: 12,
                ..decided(
                    d,
                    Design,
                    DecisionMethod::Consensus,
                    &["r1", "r2", "r3", "o1"],
                )
            },
        );
    }
    let before = s.last_sequence();
    decide(
        &mut s,
        Decided {
            day: 40,
            importance: Some(DecisionImportance::Key),
            effect: Some(DecisionEffect::Pause),
            ..decided(
                "d5",
                Design,
                DecisionMethod::ProfessionalOnly,
                &["o1", "o2"],
            )
        },
    );
    leave_because(&mut s, "r5", LeavingReason::ProjectStopped, 60);
    leave_because(&mut s, "r6", LeavingReason::ProjectStopped, 60);
    tell(&mut s, "d5", 90);
    (s, before)
}

#[test]
fn given_a_co_designed_project_before_the_pause_then_it_is_co_design_with_shared_responsibility_met(
) {
    let (s, before) = co_designed_then_paused();
    let a = assessment::assess(s.entries(), version_2(), Cutoff::AtSequence(before)).unwrap();
    assert_eq!(rung(&a), Some(LadderRung::CoDesign));
    assert!(flag_keys(&a).is_empty());
    assert_eq!(rating(&a, "shared_responsibility"), Rating::Met);
    assert_eq!(criterion(&a, "shared_responsibility").cap, None);
    assert_eq!(rating(&a, "whole_life_involvement"), Rating::Met);
    assert_eq!(rating(&a, "blurred_boundaries"), Rating::PartlyMet);
    assert_eq!(state(&a, "changes_shared"), NotApplicable);
    assert_eq!(state(&a, "retention"), Met);
    assert_eq!(
        headline(&a),
        "This looks like co-design: people shared key decisions, but the project has not reached delivery yet."
    );
}

#[test]
fn given_a_co_designed_project_after_an_unshared_pause_then_it_is_flagged_and_shared_responsibility_is_capped(
) {
    let (s, _) = co_designed_then_paused();
    let a = assess_v2(&s);
    assert_eq!(rung(&a), Some(LadderRung::CoDesign));
    assert_eq!(flag_keys(&a), ["unilateral_change"]);
    assert_eq!(state(&a, "changes_shared"), NotMet);
    assert_eq!(
        state(&a, "shared_decisions"),
        Met,
        "four of five key decisions"
    );
    let responsibility = criterion(&a, "shared_responsibility");
    assert_eq!(responsibility.rating, Rating::NotMet);
    assert!(responsibility.cap.is_some());
    assert!(responsibility
        .summary
        .ends_with(responsibility.cap.as_deref().unwrap()));
    assert_eq!(state(&a, "retention"), NotMet);
    assert!(indicator(&a, "retention")
        .explanation
        .starts_with("Fewer than five of the six people"));
    assert_eq!(rating(&a, "whole_life_involvement"), Rating::PartlyMet);
    assert!(indicator(&a, "changes_shared")
        .explanation
        .contains("They were told only later."));
    assert_eq!(
        headline(&a),
        "This was co-design, but the project was paused without the people involved, and they were not told first."
    );
}

#[test]
fn given_a_pause_explained_on_its_day_then_nothing_is_flagged_or_capped() {
    let (mut s, _) = co_designed_then_paused();
    tell(&mut s, "d5", 40);
    let a = assess_v2(&s);
    assert!(flag_keys(&a).is_empty());
    assert_eq!(state(&a, "changes_shared"), Met);
    assert_eq!(criterion(&a, "shared_responsibility").cap, None);
}

// ---- story (c): genuinely co-produced -----------------------------------------------------------

fn co_produced() -> Stream {
    let mut s = project(Some(LadderRung::CoProduction), &[]);
    cast(
        &mut s,
        [
            &["carers", "ethnicity: Somali"],
            &["carers", "ethnicity: Somali"],
            &["carers", "ethnicity: White British", "age_band: 65 to 74"],
            &["carers", "ethnicity: White British", "age_band: 65 to 74"],
            &["young carers", "ethnicity: Pakistani"],
            &["young carers", "ethnicity: Pakistani"],
        ],
    );
    let everyone_but =
        |who: &str| -> Vec<&str> { RESIDENTS.iter().copied().filter(|r| *r != who).collect() };
    s.stage(Commission);
    let w1_attendees = everyone_but("r1");
    hold(
        &mut s,
        Held {
            mode: Some(ActivityMode::Hybrid),
            locality: Some("Banbury"),
            minutes: Some(120),
            adjustments: Some((2, 2)),
            ..held(
                "w1",
                Commission,
                ActivityKind::Workshop,
                &["r1", "o1"],
                &w1_attendees,
            )
        },
    );
    decide(
        &mut s,
        decided(
            "d1",
            Commission,
            DecisionMethod::Consensus,
            &["r1", "r2", "r3", "o1"],
        ),
    );
    s.role("r1", Role::CoChair);
    s.role("r2", Role::CoFacilitator);
    s.role("o2", Role::Learner);
    s.stage(Design);
    let w2_attendees = everyone_but("r2");
    hold(
        &mut s,
        Held {
            day: 10,
            mode: Some(ActivityMode::InPerson),
            locality: Some("Oxford"),
            minutes: Some(120),
            ..held(
                "w2",
                Design,
                ActivityKind::Workshop,
                &["r2", "o1"],
                &w2_attendees,
            )
        },
    );
    s.contribution("c1", "r3", Design);
    s.contribution("c2", "r4", Design);
    s.contribution("c3", "o1", Design);
    s.respond("c1", Response::Adopted);
    s.respond("c2", Response::Adapted);
    s.respond("c3", Response::Adopted);
    feed_back(&mut s, &["c1", "c2"], ContactMethod::InPerson);
    decide(
        &mut s,
        Decided {
            day: 10,
            influenced_by: &["c1"],
            voters: &["r1", "r2", "r3", "r4", "r5", "o1"],
            ..decided(
                "d2",
                Design,
                DecisionMethod::Vote,
                &["r1", "r2", "r3", "r4", "r5", "o1"],
            )
        },
    );
    decide(
        &mut s,
        Decided {
            day: 10,
            ..decided(
                "d3",
                Design,
                DecisionMethod::Consensus,
                &["r1", "r2", "r3", "o1"],
            )
        },
    );
    s.stage(Deliver);
    hold(
        &mut s,
        Held {
            day: 20,
            minutes: Some(60),
            ..held(
                "w3",
                Deliver,
                ActivityKind::QualityCheck,
                &["r2"],
                &["r3", "r4", "r5", "r6"],
            )
        },
    );
    decide(
        &mut s,
        Decided {
            day: 20,
            ..decided(
                "d4",
                Deliver,
                DecisionMethod::LivedExperienceLed,
                &["r1", "r2"],
            )
        },
    );
    decide(
        &mut s,
        Decided {
            day: 20,
            importance: Some(DecisionImportance::Routine),
            ..decided("d5", Deliver, DecisionMethod::ProfessionalOnly, &["o1"])
        },
    );
    decide(
        &mut s,
        Decided {
            day: 21,
            ratifies: Some("d3"),
            ..decided(
                "d6",
                Deliver,
                DecisionMethod::ProfessionalOnly,
                &["o1", "o2"],
            )
        },
    );
    for (activity, days, minutes, people) in [
        ("w1", 0, 120, RESIDENTS.to_vec()),
        ("w2", 10, 120, RESIDENTS.to_vec()),
        ("w3", 20, 60, vec!["r2", "r3", "r4", "r5", "r6"]),
    ] {
        for who in people {
            paid(&mut s, who, activity, days, |r| {
                r.amount_pence = Some(1500 * minutes / 60);
                if who == "r4" {
                    r.amount_pence = None;
                    r.rate_pence_per_hour = None;
                    r.as_preferred = None;
                    r.declined = Some(DeclineReason::BenefitRules);
                }
            });
        }
    }
    s.reward("r3", RewardKind::Learning, None, None, on(20));
    s.push(ProjectEvent::RewardGiven(RewardGiven {
        participant_id: "r5".into(),
        kind: RewardKind::Expenses,
        amount_pence: Some(640),
        activity_id: Some("w1".into()),
        occurred_on: on(3),
        rate_pence_per_hour: None,
        amount_unknown: None,
        declined: None,
        support: None,
        as_preferred: None,
    }));
    s.review("o-1", OutcomeKind::Shortfall, &["r1", "o1"], &["r1", "o1"]);
    s
}

#[test]
fn given_a_co_produced_project_then_version_2_places_it_at_co_production_with_every_point_met() {
    let a = assess_v2(&co_produced());
    assert_eq!(rung(&a), Some(LadderRung::CoProduction));
    assert!(flag_keys(&a).is_empty());
    for c in &a.criteria {
        assert_eq!(c.rating, Rating::Met, "{}: {}", c.key, c.summary);
        for i in &c.indicators {
            assert_ne!(i.state, Some(NotMet), "{}: {}", i.key, i.explanation);
        }
    }
    assert_eq!(
        headline(&a),
        "This looks like co-production: people shared key decisions from the start and helped to deliver the project."
    );
    assert_eq!(a.overall.met, 6);
    assert_eq!(a.overall.insufficient_evidence, Some(0));
}

#[test]
fn given_a_co_produced_project_then_set_apart_decisions_are_named_and_do_not_count() {
    let a = assess_v2(&co_produced());
    let shared = indicator(&a, "shared_decisions");
    assert_eq!(shared.value, "four of four key decisions");
    assert!(shared.explanation.contains(
        "Set apart: one routine decision and one formal decision that confirmed a shared one."
    ));
}

// ---- the reviewer's cases -------------------------------------------------------------------------

/// Six carers who all talked things through at one meeting, with these groups each.
fn carers_meeting(serves: &[&str], groups: [&[&str]; 6]) -> Stream {
    let mut s = project(None, serves);
    cast(&mut s, groups);
    s.stage(Commission);
    hold(
        &mut s,
        held("m1", Commission, ActivityKind::Meeting, &["o1"], &RESIDENTS),
    );
    s
}

#[test]
fn given_a_project_for_carers_then_carers_never_dominate_and_another_dimension_is_judged() {
    let carer = "carer_status: carer";
    let s = carers_meeting(
        &[carer],
        [
            &[carer, "ethnicity: Somali"],
            &[carer, "ethnicity: Somali"],
            &[carer, "ethnicity: Somali"],
            &[carer, "ethnicity: White British"],
            &[carer, "ethnicity: White British"],
            &[carer, "ethnicity: White British"],
        ],
    );
    let a = assess_v2(&s);
    let dominance = indicator(&a, "no_single_group_dominates");
    assert_eq!(dominance.state, Some(Met), "{}", dominance.explanation);
    assert!(dominance.explanation.contains("by ethnicity"));
    assert!(dominance
        .explanation
        .contains("The groups the project is for are not counted."));
}

#[test]
fn given_a_project_for_carers_when_five_of_six_share_an_ethnicity_then_that_dimension_is_dominated()
{
    let carer = "carer_status: carer";
    let white = "ethnicity: White British";
    let s = carers_meeting(
        &[carer],
        [
            &[carer, white],
            &[carer, white],
            &[carer, white],
            &[carer, white],
            &[carer, white],
            &[carer, "ethnicity: Somali"],
        ],
    );
    let a = assess_v2(&s);
    let dominance = indicator(&a, "no_single_group_dominates");
    assert_eq!(dominance.state, Some(NotMet));
    assert!(dominance
        .explanation
        .contains("in ethnicity, 'White British' is more than 50% of the six people"));
}

#[test]
fn given_free_labels_only_then_dominance_is_not_recorded_rather_than_judged_by_a_first_label() {
    let s = carers_meeting(&[], [&["carers", "Banbury"]; 6]);
    let a = assess_v2(&s);
    assert_eq!(state(&a, "no_single_group_dominates"), NotRecorded);
    assert_eq!(
        indicator(&a, "no_single_group_dominates")
            .missing_evidence
            .as_deref(),
        Some("Record people's groups with their dimension, for example 'age_band: 65 to 74'.")
    );
}

/// Five carers at a meeting of known length, each with one reward for it.
fn rewarded(change: impl Fn(&str, &mut RewardGiven)) -> Assessment {
    let mut s = project(None, &[]);
    cast(&mut s, [&["carers"]; 6]);
    s.stage(Commission);
    hold(
        &mut s,
        Held {
            minutes: Some(120),
            ..held(
                "m1",
                Commission,
                ActivityKind::Meeting,
                &["o1"],
                &RESIDENTS[..5],
            )
        },
    );
    for who in &RESIDENTS[..5] {
        paid(&mut s, who, "m1", 1, |r| change(who, r));
    }
    assess_v2(&s)
}

#[test]
fn given_a_payment_turned_down_for_benefit_rules_then_that_person_counts_as_rewarded() {
    let a = rewarded(|who, r| {
        if who == "r1" {
            r.amount_pence = None;
            r.rate_pence_per_hour = None;
            r.declined = Some(DeclineReason::BenefitRules);
        }
    });
    assert_eq!(state(&a, "rewarded_beyond_expenses"), Met);
    assert_eq!(state(&a, "session_coverage"), Met);
    assert_eq!(
        state(&a, "fair_rate"),
        Met,
        "the declined reward has no rate to judge"
    );
}

#[test]
fn given_recognition_alone_then_it_is_not_a_reward() {
    let a = rewarded(|_, r| {
        r.kind = RewardKind::Recognition;
        r.amount_pence = None;
        r.rate_pence_per_hour = None;
        r.as_preferred = None;
    });
    assert_eq!(state(&a, "rewarded_beyond_expenses"), NotMet);
    assert_eq!(
        state(&a, "timely"),
        NotApplicable,
        "no money was due to be paid on time"
    );
}

#[test]
fn given_interpreters_and_expenses_only_then_neither_is_a_reward_nor_judged_as_timely_pay() {
    let a = rewarded(|who, r| {
        r.kind = RewardKind::Expenses;
        r.rate_pence_per_hour = None;
        r.as_preferred = None;
        if who == "r1" {
            r.support = Some(SupportKind::Interpreter);
            r.occurred_on = on(90);
        }
    });
    assert_eq!(state(&a, "rewarded_beyond_expenses"), NotMet);
    assert_eq!(state(&a, "timely"), NotApplicable);
    assert_eq!(
        state(&a, "expenses_on_time"),
        Met,
        "the late interpreter is support, not expenses"
    );
}

#[test]
fn given_payments_of_unknown_amount_then_people_count_as_rewarded_and_the_rate_is_not_recorded() {
    let a = rewarded(|_, r| {
        r.amount_pence = None;
        r.rate_pence_per_hour = None;
        r.amount_unknown = Some(true);
    });
    assert_eq!(state(&a, "rewarded_beyond_expenses"), Met);
    assert_eq!(state(&a, "fair_rate"), NotRecorded);
}

#[test]
fn given_a_penny_voucher_then_it_is_not_a_reward_and_the_rate_worked_out_is_below_the_minimum() {
    let a = rewarded(|_, r| {
        r.kind = RewardKind::Voucher;
        r.amount_pence = Some(1);
        r.rate_pence_per_hour = None;
    });
    assert_eq!(state(&a, "rewarded_beyond_expenses"), NotMet);
    assert_eq!(state(&a, "fair_rate"), NotMet);
    assert!(indicator(&a, "fair_rate")
        .explanation
        .contains("below £12.21 an hour"));
}

#[test]
fn given_a_payment_not_made_the_way_the_person_chose_then_preferred_method_is_not_met() {
    let a = rewarded(|who, r| r.as_preferred = Some(who != "r2"));
    assert_eq!(state(&a, "preferred_method"), NotMet);
}

#[test]
fn given_rewards_then_no_explanation_says_who_was_or_was_not_paid() {
    let a = rewarded(|who, r| {
        if who == "r1" {
            r.kind = RewardKind::Recognition;
            r.amount_pence = None;
            r.rate_pence_per_hour = None;
            r.as_preferred = None;
        }
    });
    for text in texts(&a) {
        for who in RESIDENTS {
            assert!(
                !text.contains(&format!("'{who}'")),
                "{who} named in: {text}"
            );
        }
    }
}

#[test]
fn given_a_routine_officer_decision_then_it_does_not_count_against_sharing() {
    let mut s = carers_meeting(&[], [&["carers"]; 6]);
    decide(
        &mut s,
        decided("d1", Commission, DecisionMethod::Consensus, &["r1", "o1"]),
    );
    decide(
        &mut s,
        Decided {
            importance: Some(DecisionImportance::Routine),
            ..decided("d2", Commission, DecisionMethod::ProfessionalOnly, &["o1"])
        },
    );
    let a = assess_v2(&s);
    assert_eq!(state(&a, "shared_decisions"), Met);
    assert_eq!(
        indicator(&a, "shared_decisions").value,
        "the one key decision"
    );
}

#[test]
fn given_a_vote_a_person_was_present_at_but_did_not_vote_in_then_they_had_no_say() {
    let mut s = carers_meeting(&[], [&["carers"]; 6]);
    decide(
        &mut s,
        Decided {
            voters: &["o1", "o2"],
            ..decided("d1", Commission, DecisionMethod::Vote, &["r1", "o1", "o2"])
        },
    );
    let a = assess_v2(&s);
    assert_eq!(state(&a, "shared_decisions"), NotMet);
}

#[test]
fn given_a_cabinet_decision_ratifying_a_shared_one_then_it_is_set_apart() {
    let mut s = carers_meeting(&[], [&["carers"]; 6]);
    decide(
        &mut s,
        decided("d1", Commission, DecisionMethod::Consensus, &["r1", "o1"]),
    );
    decide(
        &mut s,
        Decided {
            ratifies: Some("d1"),
            ..decided(
                "d2",
                Commission,
                DecisionMethod::ProfessionalOnly,
                &["o1", "o2"],
            )
        },
    );
    let a = assess_v2(&s);
    assert_eq!(state(&a, "shared_decisions"), Met);
}

#[test]
fn given_one_way_to_take_part_then_ways_is_not_met_and_hybrid_meets_it() {
    let mut s = carers_meeting(&[], [&["carers"]; 6]);
    hold(
        &mut s,
        Held {
            mode: Some(ActivityMode::Online),
            ..held("m2", Commission, ActivityKind::Meeting, &["o1"], &RESIDENTS)
        },
    );
    assert_eq!(state(&assess_v2(&s), "ways_to_take_part"), NotMet);
    hold(
        &mut s,
        Held {
            mode: Some(ActivityMode::Hybrid),
            ..held("m3", Commission, ActivityKind::Meeting, &["o1"], &RESIDENTS)
        },
    );
    assert_eq!(state(&assess_v2(&s), "ways_to_take_part"), Met);
}

#[test]
fn given_adjustments_asked_for_then_each_must_be_made_and_none_recorded_is_not_recorded() {
    let mut s = carers_meeting(&[], [&["carers"]; 6]);
    assert_eq!(state(&assess_v2(&s), "adjustments_made"), NotRecorded);
    hold(
        &mut s,
        Held {
            adjustments: Some((3, 2)),
            ..held("m2", Commission, ActivityKind::Meeting, &["o1"], &RESIDENTS)
        },
    );
    let a = assess_v2(&s);
    assert_eq!(state(&a, "adjustments_made"), NotMet);
    assert_eq!(
        indicator(&a, "adjustments_made").explanation,
        "Some of the adjustments people asked for were not made."
    );
}

#[test]
fn given_a_disabled_led_provider_then_it_has_lived_experience_and_an_independent_voice() {
    let mut s = project(None, &[]);
    s.join("o1", Professional, &[]);
    join_flagged(&mut s, "dpo", Provider, &["disabled people's organisation"]);
    s.stage(Commission);
    hold(
        &mut s,
        held("m1", Commission, ActivityKind::Meeting, &["o1"], &["dpo"]),
    );
    decide(
        &mut s,
        decided("d1", Commission, DecisionMethod::Consensus, &["dpo", "o1"]),
    );
    let a = assess_v2(&s);
    assert_eq!(state(&a, "from_the_start"), Met);
    assert_eq!(state(&a, "shared_decisions"), Met);
}

#[test]
fn given_staff_with_lived_experience_then_they_count_as_involved_but_their_say_is_not_shared_power()
{
    let mut s = project(None, &[]);
    s.join("o1", Professional, &[]);
    join_flagged(&mut s, "o2", Professional, &["carers"]);
    s.stage(Commission);
    hold(
        &mut s,
        held("m1", Commission, ActivityKind::Meeting, &["o2"], &["o1"]),
    );
    decide(
        &mut s,
        decided("d1", Commission, DecisionMethod::Consensus, &["o1", "o2"]),
    );
    let a = assess_v2(&s);
    assert_eq!(state(&a, "from_the_start"), Met);
    assert_eq!(state(&a, "shared_facilitation"), Met);
    assert_eq!(state(&a, "shared_decisions"), NotMet);
}

#[test]
fn given_four_people_then_no_text_shows_a_count_of_people_below_five() {
    let mut s = project(None, &[]);
    for id in ["r1", "r2", "r3", "r4"] {
        s.join(id, Carer, &["carers", "ethnicity: Somali"]);
    }
    s.join("o1", Professional, &[]);
    s.stage(Commission);
    s.stage(Design);
    hold(
        &mut s,
        held(
            "m1",
            Commission,
            ActivityKind::Meeting,
            &["o1"],
            &["r1", "r2", "r3"],
        ),
    );
    hold(
        &mut s,
        held("m2", Design, ActivityKind::Meeting, &["o1"], &["r1", "r4"]),
    );
    leave_because(&mut s, "r2", LeavingReason::Access, 5);
    s.reward("r1", RewardKind::Payment, Some(5000), Some("m1"), day());
    let a = assess_v2(&s);
    for text in texts(&a) {
        for n in ["1", "2", "3", "4", "one", "two", "three", "four"] {
            for noun in ["people", "person"] {
                let shown = format!("{n} {noun}");
                assert!(
                    !text.to_lowercase().contains(&shown),
                    "'{shown}' in: {text}"
                );
            }
        }
    }
}

// ---- a project with nothing but its registration ---------------------------------------------------

#[test]
fn given_only_a_registration_then_no_point_can_be_judged_and_the_headline_says_so_first() {
    let a = assess_v2(&Stream::plain());
    for c in &a.criteria {
        assert_eq!(
            c.rating,
            Rating::InsufficientEvidence,
            "{}: {}",
            c.key,
            c.summary
        );
        assert_eq!(c.score, 0);
        for i in &c.indicators {
            assert!(!i.met);
            assert!(i.missing_evidence.is_some(), "{}", i.key);
        }
    }
    assert_eq!(state(&a, "failures_owned"), NotApplicable);
    assert_eq!(state(&a, "timely"), NotApplicable);
    assert_eq!(state(&a, "from_the_start"), NotRecorded);
    assert_eq!(a.overall.insufficient_evidence, Some(6));
    assert_eq!(
        (a.overall.met, a.overall.partly_met, a.overall.not_met),
        (0, 0, 0)
    );
    assert_eq!(
        headline(&a),
        "Too little has been recorded to judge this project yet: none of the six points can be judged."
    );
    assert_eq!(rung(&a), None);
    assert!(criterion(&a, "whole_life_involvement").summary.starts_with(
        "Two of the four checks could not be made, because the facts were not recorded"
    ));
}

// ---- plain English ----------------------------------------------------------------------------------

/// Syllables of a word, by vowel groups, a silent final "e" dropped, at least one.
fn syllables(word: &str) -> usize {
    let w: Vec<char> = word
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .collect();
    if w.is_empty() {
        return 0;
    }
    let vowel = |c: char| "aeiouy".contains(c);
    let mut count = 0;
    let mut previous = false;
    for c in &w {
        let v = vowel(*c);
        if v && !previous {
            count += 1;
        }
        previous = v;
    }
    let n = w.len();
    // A final "e" after a consonant is silent, except in "-ble", "-tle" and the like.
    let silent_e = n > 2 && w[n - 1] == 'e' && !vowel(w[n - 2]);
    let consonant_le = n > 2 && w[n - 2] == 'l' && !vowel(w[n - 3]);
    if silent_e && !consonant_le {
        count -= 1;
    }
    count.max(1)
}

/// The rubric's own names, which a panel is given on the page: criterion and indicator titles,
/// the rungs of the ladder, the roles, and "lived experience". Each counts as one short word.
fn glossary() -> Vec<String> {
    let v2 = version_2();
    let mut terms: Vec<String> = vec!["lived experience".into(), "co-facilitator".into()];
    for c in &v2.rubric.criteria {
        terms.push(c.title.clone());
        terms.extend(c.indicators.iter().map(|i| i.title.clone()));
    }
    for step in v2.rubric.ladder.iter().flatten() {
        terms.push(step.title.clone());
    }
    terms.extend(terms.clone().iter().map(|t| t.to_lowercase()));
    terms.sort_by_key(|t| std::cmp::Reverse(t.len()));
    terms
}

/// Flesch reading ease: 206.835 − 1.015 × words per sentence − 84.6 × syllables per word, with
/// the glossary's names counted as one short word each.
fn reading_ease(text: &str, glossary: &[String]) -> f64 {
    let mut text = text.to_string();
    for term in glossary {
        text = text.replace(term.as_str(), "term");
    }
    let sentences = text
        .split(['.', '!', '?'])
        .filter(|s| s.chars().any(|c| c.is_alphanumeric()))
        .count()
        .max(1);
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.chars().any(|c| c.is_alphanumeric()))
        .collect();
    let syllables: usize = words.iter().map(|w| syllables(w)).sum();
    let words_n = words.len().max(1) as f64;
    206.835 - 1.015 * (words_n / sentences as f64) - 84.6 * (syllables as f64 / words_n)
}

/// Every sentence version 2 writes for the stories and the cases above, and the rubric's own words
/// for what is missing.
fn every_text() -> Vec<String> {
    let (paused, before) = co_designed_then_paused();
    let mut assessments = vec![
        assess_v2(&consultation_dressed_up()),
        assess_v2(&paused),
        assessment::assess(paused.entries(), version_2(), Cutoff::AtSequence(before)).unwrap(),
        assess_v2(&co_produced()),
        assess_v2(&Stream::plain()),
        assess_v2(&carers_meeting(&[], [&["carers"]; 6])),
    ];
    assessments.push(rewarded(|who, r| r.as_preferred = Some(who != "r2")));
    let mut all: Vec<String> = assessments.iter().flat_map(texts).collect();
    for c in &version_2().rubric.criteria {
        for i in &c.indicators {
            all.extend(i.missing_evidence.iter().flatten().map(|(_, t)| t.clone()));
        }
    }
    all.sort();
    all.dedup();
    all
}

/// Flesch reading ease of 60 or more is plain English, read easily at 13 to 15: the texts must
/// average 65. On one short sentence the score swings by 20 points with a single long word
/// ("activity", "adjustments"), so each text needs only 35, which still fails a long sentence
/// of long words. Texts under six words (values such as "two of four stages") are not scored.
/// `SHOW_EASE=1` prints every score instead of failing on the first.
#[test]
fn every_text_version_2_writes_reads_as_plain_english() {
    let all = every_text();
    let glossary = glossary();
    let show = std::env::var("SHOW_EASE").is_ok();
    let sentences: Vec<&String> = all
        .iter()
        .filter(|t| t.split_whitespace().count() >= 6)
        .collect();
    let mut total = 0.0;
    for text in &sentences {
        let ease = reading_ease(text, &glossary);
        total += ease;
        if show {
            eprintln!("{ease:.0}\t{text}");
        } else {
            assert!(ease >= 35.0, "reading ease {ease:.0}: {text}");
        }
    }
    let mean = total / sentences.len() as f64;
    assert!(mean >= 65.0, "mean reading ease {mean:.0}");
}

#[test]
fn no_text_version_2_writes_has_brackets_for_plurals_zero_counts_or_entry_numbers() {
    for text in every_text() {
        for banned in ["(s)", "0 of", "entry ", "entries ", "  "] {
            assert!(!text.contains(banned), "'{banned}' in: {text}");
        }
    }
}

// ---- the rubric as published ----------------------------------------------------------------------

#[test]
fn every_state_version_2_can_give_has_its_published_words() {
    for c in &version_2().rubric.criteria {
        for i in &c.indicators {
            let states = i.states.as_ref().expect("states are published");
            let missing = i
                .missing_evidence
                .as_ref()
                .expect("missing evidence is published");
            assert!(states.contains_key("met"), "{}", i.key);
            for (state, _) in states.iter().filter(|(s, _)| s.as_str() != "met") {
                assert!(
                    missing.contains_key(state),
                    "{}: no words for {state}",
                    i.key
                );
            }
            for used in i.uses.iter().flatten() {
                let parameters = serde_json::to_value(&version_2().rubric.parameters).unwrap();
                assert!(
                    parameters.get(used).is_some(),
                    "{}: unknown parameter {used}",
                    i.key
                );
            }
        }
    }
}

#[test]
fn every_state_an_assessment_gives_is_one_the_rubric_publishes_for_that_indicator() {
    let (paused, _) = co_designed_then_paused();
    for a in [
        assess_v2(&consultation_dressed_up()),
        assess_v2(&paused),
        assess_v2(&co_produced()),
        assess_v2(&Stream::plain()),
    ] {
        for c in &a.criteria {
            for i in &c.indicators {
                let published = version_2()
                    .rubric
                    .criteria
                    .iter()
                    .flat_map(|c| &c.indicators)
                    .find(|d| d.key == i.key)
                    .unwrap();
                let state = i.state.unwrap().as_str();
                assert!(
                    published.states.as_ref().unwrap().contains_key(state),
                    "{} gave {state}, which the rubric does not publish",
                    i.key
                );
                if let Some(words) = &i.missing_evidence {
                    assert_eq!(
                        Some(words),
                        published.missing_evidence.as_ref().unwrap().get(state)
                    );
                }
            }
        }
    }
}

#[test]
fn the_same_question_gives_the_same_bytes_under_version_2() {
    let s = co_produced();
    let first = assess_v2(&s).to_json_bytes();
    let mut shuffled = s.entries().to_vec();
    shuffled.reverse();
    let again = assessment::assess(&shuffled, version_2(), Cutoff::Latest).unwrap();
    assert_eq!(first, again.to_json_bytes());
}

// ---- version 1 unchanged -------------------------------------------------------------------------

/// SHA-256 of version 1's bodies for sample projects, as the engine gave them before version 2
/// was added (computed at that commit). Adding version 2 must not change one byte of them.
const VERSION_1_BODIES: [(usize, bool, &str); 6] = [
    (
        50,
        false,
        "b41dbbaec81f2472b42eee2fb8fc32d8e4d3d383934792447456e84a53b7614c",
    ),
    (
        50,
        true,
        "e534490476353567a16e0998eaa4a063287f2ffe1b8a38fbac6a80374603065a",
    ),
    (
        400,
        false,
        "7ef38760dc9a0c8ac5b34831d257761f8175b5df1ec1e79ff318a5a9f16dc21f",
    ),
    (
        400,
        true,
        "1fbe25fead871b73438a65cf458ccd0539eb257679958fe31e01a5da3e1b5479",
    ),
    (
        3000,
        false,
        "b7d984e72dae78c523768a38716105f2ad083c4e9204486beebc77816f9cfa52",
    ),
    (
        3000,
        true,
        "584c62b0e38b28bdd21daf86eaf038a9fc6a2db5fa2a90176b7acdcfced709cb",
    ),
];

#[test]
fn given_sample_projects_then_version_1_gives_the_same_bytes_as_before_version_2() {
    for (size, halfway, expected) in VERSION_1_BODIES {
        let events = coprod_domain::testkit::sample::project(size);
        let cutoff = if halfway {
            Cutoff::AtSequence(size as u64 / 2)
        } else {
            Cutoff::Latest
        };
        let body = assessment::assess(&events, version_1(), cutoff)
            .unwrap()
            .to_json_bytes();
        assert_eq!(
            Digest::of_bytes(&body).to_string(),
            format!("sha256:{expected}"),
            "{size} entries, {cutoff:?}"
        );
    }
}

#[test]
fn given_the_new_facts_then_version_1_ignores_them() {
    let (paused, _) = co_designed_then_paused();
    let without: Vec<RecordedEvent> = paused
        .entries()
        .iter()
        .filter(|e| !matches!(e.event, ProjectEvent::PeopleTold(_)))
        .cloned()
        .collect();
    let with = assess(&paused, Cutoff::AtSequence(paused.last_sequence() - 1));
    let cut = assessment::assess(&without, version_1(), Cutoff::Latest).unwrap();
    assert_eq!(with.criteria, cut.criteria);
    assert_eq!(with.overall, cut.overall);
}

// ---- the lower rungs ------------------------------------------------------------------------------

#[test]
fn given_talks_with_staff_but_officers_deciding_then_the_project_is_at_engagement() {
    let mut s = carers_meeting(&[], [&["carers"]; 6]);
    decide(
        &mut s,
        decided("d1", Commission, DecisionMethod::ProfessionalOnly, &["o1"]),
    );
    let a = assess_v2(&s);
    assert_eq!(rung(&a), Some(LadderRung::Engagement));
    assert_eq!(
        headline(&a),
        "This looks like engagement: people talked things through with staff, but did not share the key decisions."
    );
}

#[test]
fn given_only_visits_then_the_project_is_at_informing_and_only_training_at_educating() {
    let mut visits = project(None, &[]);
    cast(&mut visits, [&["carers"]; 6]);
    visits.stage(Commission);
    hold(
        &mut visits,
        held(
            "v1",
            Commission,
            ActivityKind::SiteVisit,
            &["o1"],
            &RESIDENTS,
        ),
    );
    assert_eq!(rung(&assess_v2(&visits)), Some(LadderRung::Informing));
    let mut training = project(None, &[]);
    cast(&mut training, [&["carers"]; 6]);
    training.stage(Commission);
    hold(
        &mut training,
        held(
            "t1",
            Commission,
            ActivityKind::Training,
            &["o1"],
            &RESIDENTS,
        ),
    );
    assert_eq!(rung(&assess_v2(&training)), Some(LadderRung::Educating));
}

#[test]
fn given_a_project_declared_at_engagement_then_evidence_above_it_raises_no_flag() {
    let mut s = project(Some(LadderRung::Engagement), &[]);
    cast(&mut s, [&["carers"]; 6]);
    s.stage(Commission);
    hold(
        &mut s,
        held("m1", Commission, ActivityKind::Meeting, &["o1"], &RESIDENTS),
    );
    decide(
        &mut s,
        decided("d1", Commission, DecisionMethod::Consensus, &["r1", "o1"]),
    );
    let a = assess_v2(&s);
    assert_eq!(rung(&a), Some(LadderRung::CoDesign));
    assert!(flag_keys(&a).is_empty());
}

// ---- engine and published rule agree -------------------------------------------------------------

#[test]
fn the_engine_judges_exactly_the_indicators_version_2_publishes_and_its_rules_name_real_parameters()
{
    let mut published: Vec<&str> = version_2()
        .rubric
        .criteria
        .iter()
        .flat_map(|c| c.indicators.iter().map(|i| i.key.as_str()))
        .collect();
    published.sort_unstable();
    let mut judged = assessment::VERSION_2_INDICATORS.to_vec();
    judged.sort_unstable();
    assert_eq!(published, judged);
    let parameters = serde_json::to_value(&version_2().rubric.parameters).unwrap();
    for c in &version_2().rubric.criteria {
        for i in &c.indicators {
            for (n, piece) in i.rule.split('{').enumerate().skip(1) {
                let name = piece.split('}').next().unwrap();
                assert!(
                    parameters.get(name).is_some(),
                    "{}: placeholder {n} names no parameter: {name}",
                    i.key
                );
            }
        }
    }
}
