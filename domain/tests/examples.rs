//! Two worked examples, written out in full so that a panel member can follow them entry by entry
//! and check every indicator by hand against the rubric's rules.
//!
//! (a) Oxfordshire's carers' strategy refresh, co-produced with carers from the first workshop to the
//!     six-month review: it meets all six points.
//! (b) A day-opportunities review that is "consultation dressed up as co-production": officers
//!     decide everything among themselves, residents are only surveyed at the end, and they are paid
//!     their expenses and nothing more.
//!
//! The expected results in the tables were worked out by hand from docs/rubric.md (the working is in the
//! comments), not copied from the engine's output.

use coprod_domain::assessment::{Assessment, Cutoff, Rating};
use coprod_domain::testkit::stream::*;
use coprod_domain::*;

/// One row of a hand-worked table: indicator, met, value, evidence.
type Expected = (&'static str, bool, &'static str, &'static [u64]);

fn check_table(assessment: &Assessment, table: &[Expected]) {
    assert_eq!(table.len(), 18, "the table covers every indicator");
    let keys: Vec<&str> = table.iter().map(|row| row.0).collect();
    assert_eq!(
        keys,
        indicator_keys(),
        "the table follows the rubric's order"
    );
    let mut wrong = Vec::new();
    for (key, met, value, evidence) in table {
        let got = indicator(assessment, key);
        if (got.met, got.value.as_str(), got.evidence.as_slice()) != (*met, *value, *evidence) {
            wrong.push(format!(
                "{key}: got ({}, {:?}, {:?}), worked out ({met}, {value:?}, {evidence:?})\n    {}",
                got.met, got.value, got.evidence, got.explanation
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

fn check_ratings(assessment: &Assessment, expected: &[(&str, Rating, u32)]) {
    let got: Vec<(&str, Rating, u32)> = assessment
        .criteria
        .iter()
        .map(|c| (c.key.as_str(), c.rating, c.score))
        .collect();
    assert_eq!(got, expected);
}

// ---------------------------------------------------------------------------------------------
// (a) The carers' strategy refresh
// ---------------------------------------------------------------------------------------------

/// Oxfordshire County Council refreshes its carers' strategy. Three carers and a man who uses
/// services work with a commissioning officer and a provider from the first workshop to the review.
fn carers_strategy_refresh() -> Stream {
    // The project is registered with the three groups of carers the council most wants to hear.
    let mut s = Stream::new(&[
        "Young carers",
        "Parent carers",
        "Carers from Black and minority ethnic communities",
    ]); // 1

    // Who takes part. Ids are pseudonyms chosen by the council.
    s.join(
        "carer-amina",
        ParticipantKind::Carer,
        &["Carers from Black and minority ethnic communities"],
    ); // 2
    s.join("carer-ben", ParticipantKind::Carer, &["Young carers"]); // 3
    s.join(
        "carer-chloe",
        ParticipantKind::Carer,
        &["Parent carers", "Learning disability"],
    ); // 4
    s.join(
        "resident-dev",
        ParticipantKind::LivedExperience,
        &["Older people"],
    ); // 5
    s.join(
        "officer-marc",
        ParticipantKind::Professional,
        &["Adult social care commissioning"],
    ); // 6
    s.join("provider-sam", ParticipantKind::Provider, &[]); // 7
    s.join(
        "org-asian-carers",
        ParticipantKind::CommunityOrganisation,
        &["Carers from Black and minority ethnic communities"],
    ); // 8

    // Commission: carers help decide what the strategy must cover. Amina co-chairs and co-runs the
    // first workshop with the commissioning officer.
    s.stage(Stage::Commission); // 9
    s.activity_titled(
        "commission-workshop",
        Stage::Commission,
        ActivityKind::Workshop,
        "What should the refreshed carers' strategy cover?",
        &["carer-amina", "officer-marc"],
        &[
            "carer-ben",
            "carer-chloe",
            "resident-dev",
            "provider-sam",
            "org-asian-carers",
        ],
        date(2025, 1, 15),
    ); // 10
    s.role("carer-amina", Role::CoChair); // 11
    s.contribution_about(
        "c-respite",
        "carer-ben",
        Stage::Commission,
        ContributionKind::LivedExpertise,
        "Young carers need respite that fits round school, not just in the holidays.",
    ); // 12
    s.contribution_about(
        "c-info",
        "carer-chloe",
        Stage::Commission,
        ContributionKind::Idea,
        "One clear page of information and advice for carers, not ten leaflets.",
    ); // 13
    s.contribution_about(
        "c-budget",
        "officer-marc",
        Stage::Commission,
        ContributionKind::ProfessionalExpertise,
        "The budget for carers' breaks is fixed for 2025/26.",
    ); // 14
    s.respond("c-respite", Response::Adopted); // 15
    s.respond("c-info", Response::Adapted); // 16
    s.respond("c-budget", Response::Adopted); // 17
    s.decide_about(
        "d-priorities",
        Stage::Commission,
        DecisionMethod::Consensus,
        &["carer-amina", "carer-ben", "carer-chloe", "officer-marc"],
        &["c-respite", "c-info", "c-budget"],
        "The priorities of the refreshed strategy",
    ); // 18

    // Everyone with lived experience at the workshop is paid for their time.
    s.reward(
        "carer-amina",
        RewardKind::Payment,
        Some(5000),
        Some("commission-workshop"),
        date(2025, 1, 15),
    ); // 19
    s.reward(
        "carer-ben",
        RewardKind::Voucher,
        Some(2500),
        Some("commission-workshop"),
        date(2025, 1, 20),
    ); // 20
       // Chloe's payment was typed as £2,500 instead of £25; it is withdrawn and recorded again.
    s.reward(
        "carer-chloe",
        RewardKind::Payment,
        Some(250_000),
        Some("commission-workshop"),
        date(2025, 2, 14),
    ); // 21
    s.correct(21); // 22
    s.reward(
        "carer-chloe",
        RewardKind::Payment,
        Some(2500),
        Some("commission-workshop"),
        date(2025, 2, 14),
    ); // 23: day 30 after the workshop, still on time
    s.reward(
        "resident-dev",
        RewardKind::CharityDonation,
        Some(2500),
        Some("commission-workshop"),
        date(2025, 1, 31),
    ); // 24

    // Design: Chloe trains the officer and the provider on what a carer's assessment feels like;
    // Ben becomes a co-researcher; Dev's idea about letters is adopted by a vote.
    s.stage(Stage::Design); // 25
    s.activity_titled(
        "design-training",
        Stage::Design,
        ActivityKind::Training,
        "Co-production training: a carer's assessment from the carer's side",
        &["carer-chloe"],
        &["officer-marc", "provider-sam"],
        date(2025, 3, 5),
    ); // 26
    s.role("carer-ben", Role::CoResearcher); // 27
    s.contribution_about(
        "c-letters",
        "resident-dev",
        Stage::Design,
        ContributionKind::Design,
        "Letters in plain English, tested with carers before they are sent.",
    ); // 28
    s.respond("c-letters", Response::Adopted); // 29
    s.decide_about(
        "d-letters",
        Stage::Design,
        DecisionMethod::Vote,
        &[
            "carer-amina",
            "carer-ben",
            "carer-chloe",
            "resident-dev",
            "officer-marc",
        ],
        &["c-letters"],
        "A minimum standard for letters to carers",
    ); // 30
    s.reward(
        "carer-chloe",
        RewardKind::Learning,
        None,
        Some("design-training"),
        date(2025, 3, 5),
    ); // 31: accredited trainer course

    // Deliver: launch events in the three localities, co-facilitated by Ben.
    s.stage(Stage::Deliver); // 32
    s.activity_titled(
        "deliver-launch",
        Stage::Deliver,
        ActivityKind::Meeting,
        "Carers' strategy launch events in the three localities",
        &["carer-ben", "officer-marc"],
        &["carer-amina", "resident-dev"],
        date(2025, 5, 1),
    ); // 33
    s.reward(
        "carer-ben",
        RewardKind::Opportunity,
        None,
        Some("deliver-launch"),
        date(2025, 5, 20),
    ); // 34: a paid place as a peer trainer

    // Assess: the six-month review, led by carers, owns a shortfall as well as a success.
    s.stage(Stage::Assess); // 35
    s.activity_titled(
        "assess-review",
        Stage::Assess,
        ActivityKind::Meeting,
        "Six-month review of the carers' strategy",
        &["carer-amina"],
        &["carer-chloe", "officer-marc"],
        date(2025, 11, 3),
    ); // 36
    s.decide_about(
        "d-next",
        Stage::Assess,
        DecisionMethod::LivedExperienceLed,
        &["carer-amina", "carer-chloe"],
        &[],
        "What the strategy group works on next year",
    ); // 37
    s.review_of(
        "o-breaks",
        OutcomeKind::Success,
        &["officer-marc", "carer-amina"],
        &["carer-amina", "officer-marc"],
        "More carers booked breaks that fit round school and work.",
    ); // 38
    s.review_of(
        "o-info",
        OutcomeKind::Shortfall,
        &["officer-marc"],
        &["carer-chloe", "officer-marc"],
        "The single information page went live three months late.",
    ); // 39
    s.close("The refreshed carers' strategy is in place and reviewed."); // 40
    s
}

/// Worked by hand. Who took part (docs/rubric.md: attended or facilitated an activity, took part in a
/// decision, or made a contribution), among the people with lived experience:
/// - carer-amina: commission 10, 18; design 30; deliver 33; assess 36, 37
/// - carer-ben: commission 10, 12, 18; design 30; deliver 33
/// - carer-chloe: commission 10, 13, 18; design 26, 30; assess 36, 37
/// - resident-dev: commission 10; design 28, 30; deliver 33
///
/// Stages reached: 9, 25, 32, 35. Entry 21 is withdrawn by 22.
#[rustfmt::skip]
const CARERS_STRATEGY: [Expected; 18] = [
    // Four PLE in commission: their entries there, their joins, and the stage start.
    ("from_the_start", true, "4 people with lived experience in 'commission'", &[2, 3, 4, 5, 9, 10, 12, 13, 18]),
    // All four stages; the stage starts and every PLE entry in them.
    ("every_stage", true, "4 of 4 stages", &[9, 10, 12, 13, 18, 25, 26, 28, 30, 32, 33, 35, 36, 37]),
    // All four took part in at least two stages.
    ("sustained", true, "4 of 4 people (100%)", &[9, 10, 12, 13, 18, 25, 26, 28, 30, 32, 33, 35, 36, 37]),
    // Amina co-chair (11), Ben co-researcher (27).
    ("lived_experience_in_professional_roles", true, "2 role(s) taken by 2 people", &[2, 3, 11, 27]),
    // All four facilitated activities had a carer among the facilitators.
    ("shared_facilitation", true, "4 of 4 activities (100%)", &[10, 26, 33, 36]),
    // The officer and the provider attended Chloe's training.
    ("learning_both_ways", true, "2 professional(s) learning", &[26]),
    // Amina 19, Ben 20 and 34, Chloe 23 and 31, Dev 24; the withdrawn £2,500 does not count.
    ("rewarded_beyond_expenses", true, "4 of 4 people (100%)", &[10, 19, 20, 23, 24, 26, 31, 33, 34, 36]),
    // Chloe's learning (31), Ben's opportunity (34).
    ("development", true, "2 people developed", &[31, 34]),
    // 19: day 0, 20: day 5, 23: day 30, 24: day 16, 31: day 0, 34: day 19.
    ("timely", true, "6 of 6 rewards on time", &[10, 19, 20, 23, 24, 26, 31, 33, 34]),
    // BME carers (Amina and the community organisation), young carers (Ben), parent carers (Chloe).
    ("priority_groups_reached", true, "3 of 3 groups", &[1, 2, 3, 4, 8]),
    // BME carers, young carers, parent carers, learning disability, older people.
    ("breadth", true, "5 groups", &[2, 3, 4, 5]),
    // Four different primary groups: 1 of 4 each (fewer than 5 people: not shown).
    ("no_single_group_dominates", true, "fewer than 5 people in all", &[2, 3, 4, 5]),
    // c-respite 12→15, c-info 13→16, c-letters 28→29.
    ("contributions_answered", true, "3 of 3 contributions (100%)", &[12, 13, 15, 16, 28, 29]),
    // PLE 3 of 3 answered, 3 of 3 adopted or adapted; the officer 1 of 1 and 1 of 1.
    ("parity", true, "responded 100% vs 100%, adopted 100% vs 100%", &[12, 13, 14, 15, 16, 17, 28, 29]),
    // d-priorities (18) by c-respite and c-info; d-letters (30) by c-letters; d-next by nothing.
    ("influence", true, "2 of 3 decisions", &[12, 13, 18, 28, 30]),
    // Consensus, vote and lived-experience-led, each with carers taking part.
    ("shared_decisions", true, "3 of 3 decisions (100%)", &[18, 30, 37]),
    // Amina on the success, Chloe on the shortfall.
    ("accountability_shared", true, "2 of 2 reviews", &[38, 39]),
    ("failures_owned", true, "1 of 1 shortfall or failure reviews", &[39]),
];

#[test]
fn the_carers_strategy_refresh_meets_all_six_points() {
    let stream = carers_strategy_refresh();
    assert_eq!(stream.last_sequence(), 40);
    let a = assess(&stream, Cutoff::Latest);
    check_table(&a, &CARERS_STRATEGY);
    check_ratings(
        &a,
        &[
            ("whole_life_involvement", Rating::Met, 100),
            ("blurred_boundaries", Rating::Met, 100),
            ("reciprocal_reward", Rating::Met, 100),
            ("diverse_group_involvement", Rating::Met, 100),
            ("equal_valuation_of_assets", Rating::Met, 100),
            ("shared_responsibility", Rating::Met, 100),
        ],
    );
    assert_eq!(
        (a.overall.met, a.overall.partly_met, a.overall.not_met),
        (6, 0, 0)
    );
    assert!(
        a.overall
            .summary
            .contains("meets 6 of the 6 points in full"),
        "{}",
        a.overall.summary
    );
    assert_eq!(a.at_sequence, 40);
    assert_eq!(a.stream_digest, digest_of(40));
}

#[test]
fn before_the_typo_was_corrected_the_carers_strategy_showed_the_wrong_payment() {
    // As recorded at entry 21, Chloe's £2,500 is still active and counted as her reward, and Dev's
    // donation (24) has not been recorded yet: 3 of 4 is 75%, below the 80% needed.
    let a = assess(&carers_strategy_refresh(), Cutoff::AtSequence(21));
    let rewarded = indicator(&a, "rewarded_beyond_expenses");
    assert!(!rewarded.met);
    assert_eq!(rewarded.value, "3 of 4 people (75%)");
    assert_eq!(rewarded.evidence, vec![10, 19, 20, 21]);
    assert!(
        rewarded.explanation.contains("'resident-dev'"),
        "{}",
        rewarded.explanation
    );
    // Design has not started yet: nobody has been in two stages.
    assert_eq!(indicator(&a, "sustained").value, "0 of 4 people (0%)");
    assert!(!indicator(&a, "sustained").met);

    // Once the correction (22) is recorded, entry 21 no longer counts.
    let a = assess(&carers_strategy_refresh(), Cutoff::AtSequence(22));
    let rewarded = indicator(&a, "rewarded_beyond_expenses");
    assert_eq!(rewarded.value, "2 of 4 people (50%)");
    assert_eq!(rewarded.evidence, vec![10, 19, 20]);
}

// ---------------------------------------------------------------------------------------------
// (b) Consultation dressed up as co-production
// ---------------------------------------------------------------------------------------------

/// A review of day opportunities. Officers scope it, design the new model and let the contract
/// among themselves; people who use the day services and a carer are only asked, by survey, once
/// the new model is running, and are paid their bus fares.
fn day_opportunities_review() -> Stream {
    let mut s = Stream::new(&[
        "People with learning disabilities",
        "Older people",
        "Carers",
    ]); // 1
    s.join(
        "officer-fulya",
        ParticipantKind::Professional,
        &["Strategy"],
    ); // 2
    s.join("officer-megan", ParticipantKind::Professional, &[]); // 3
    s.join("provider-daycare", ParticipantKind::Provider, &[]); // 4
    s.join(
        "resident-ed",
        ParticipantKind::LivedExperience,
        &["People with learning disabilities"],
    ); // 5
    s.join(
        "resident-flo",
        ParticipantKind::LivedExperience,
        &["People with learning disabilities"],
    ); // 6
    s.join("carer-gita", ParticipantKind::Carer, &["Carers"]); // 7

    // Commission: officers scope the review in a meeting of their own.
    s.stage(Stage::Commission); // 8
    s.activity_titled(
        "scoping",
        Stage::Commission,
        ActivityKind::Meeting,
        "Officers' scoping meeting",
        &["officer-fulya"],
        &["officer-megan", "provider-daycare"],
        date(2025, 2, 3),
    ); // 9
    s.contribution_about(
        "c-fridays",
        "officer-megan",
        Stage::Commission,
        ContributionKind::ProfessionalExpertise,
        "Day centres are under-used on Fridays.",
    ); // 10
    s.respond("c-fridays", Response::Adopted); // 11
    s.decide_about(
        "d-scope",
        Stage::Commission,
        DecisionMethod::ProfessionalOnly,
        &["officer-fulya", "officer-megan"],
        &["c-fridays"],
        "Close Friday sessions to save money",
    ); // 12

    // Design: officers and the provider draft the new model.
    s.stage(Stage::Design); // 13
    s.activity_titled(
        "drafting",
        Stage::Design,
        ActivityKind::Meeting,
        "Officers draft the new day opportunities model",
        &["officer-fulya"],
        &["officer-megan", "provider-daycare"],
        date(2025, 3, 10),
    ); // 14
    s.decide_about(
        "d-model",
        Stage::Design,
        DecisionMethod::ProfessionalOnly,
        &["officer-fulya", "officer-megan", "provider-daycare"],
        &[],
        "The new model: four days a week",
    ); // 15

    // Deliver: the contract is let under delegated authority.
    s.stage(Stage::Deliver); // 16
    s.decide_about(
        "d-contract",
        Stage::Deliver,
        DecisionMethod::Delegated,
        &["officer-fulya"],
        &[],
        "Award the contract",
    ); // 17

    // Assess: only now are residents asked, by a satisfaction survey.
    s.stage(Stage::Assess); // 18
    s.activity_titled(
        "survey",
        Stage::Assess,
        ActivityKind::Survey,
        "Satisfaction survey of people using day services",
        &["officer-megan"],
        &["resident-ed", "resident-flo", "carer-gita"],
        date(2025, 6, 2),
    ); // 19
    s.contribution_about(
        "c-bus",
        "resident-ed",
        Stage::Assess,
        ContributionKind::Feedback,
        "The new bus times mean I miss lunch.",
    ); // 20
    s.contribution_about(
        "c-group",
        "resident-flo",
        Stage::Assess,
        ContributionKind::Feedback,
        "I miss my Friday group.",
    ); // 21
    s.contribution_about(
        "c-break",
        "carer-gita",
        Stage::Assess,
        ContributionKind::Feedback,
        "Without Fridays I get no break at all.",
    ); // 22
    s.respond("c-bus", Response::NotAdopted); // 23
    for who in ["resident-ed", "resident-flo", "carer-gita"] {
        s.reward(
            who,
            RewardKind::Expenses,
            Some(640),
            Some("survey"),
            date(2025, 6, 2),
        ); // 24, 25, 26: bus fares, paid on the day
    }
    s.review_of(
        "o-savings",
        OutcomeKind::Success,
        &["officer-fulya"],
        &["officer-fulya", "officer-megan"],
        "The new model saves £80,000 a year.",
    ); // 27
    s.review_of(
        "o-complaints",
        OutcomeKind::Shortfall,
        &["officer-fulya"],
        &["officer-megan"],
        "Complaints about the loss of Friday sessions.",
    ); // 28
    s
}

/// Worked by hand. The people with lived experience took part only in the assess stage: Ed (19,
/// 20), Flo (19, 21) and Gita (19, 22). Stages reached: 8, 13, 16, 18.
#[rustfmt::skip]
const DAY_OPPORTUNITIES: [Expected; 18] = [
    ("from_the_start", false, "0 people with lived experience in 'commission'", &[8]),
    ("every_stage", false, "1 of 4 stages", &[8, 13, 16, 18, 19, 20, 21, 22]),
    ("sustained", false, "0 of 3 people (0%)", &[8, 13, 16, 18]),
    ("lived_experience_in_professional_roles", false, "0 role(s) taken by 0 people", &[]),
    // Scoping, drafting and the survey were all run by officers.
    ("shared_facilitation", false, "0 of 3 activities (0%)", &[9, 14, 19]),
    ("learning_both_ways", false, "0 professional(s) learning", &[]),
    // Three people at the survey; expenses never count.
    ("rewarded_beyond_expenses", false, "0 of 3 people (0%)", &[19]),
    ("development", false, "0 people developed", &[]),
    // The one thing done right: the expenses named the survey and were paid the same day.
    ("timely", true, "3 of 3 rewards on time", &[19, 24, 25, 26]),
    // Learning disabilities (Ed, Flo) and carers (Gita); nobody from "Older people".
    ("priority_groups_reached", false, "2 of 3 groups", &[1, 5, 6, 7]),
    ("breadth", false, "2 groups", &[5, 6, 7]),
    // Two of the three share the primary group "People with learning disabilities".
    // (fewer than 5 people: not shown)
    ("no_single_group_dominates", false, "fewer than 5 people in all", &[5, 6, 7]),
    // Only Ed's feedback was answered (and not adopted).
    ("contributions_answered", false, "1 of 3 contributions (33%)", &[20, 21, 22, 23]),
    // PLE 1 of 3 answered (33%), 0 of 1 adopted; officers 1 of 1 and 1 of 1.
    ("parity", false, "responded 33% vs 100%, adopted 0% vs 100%", &[10, 11, 20, 21, 22, 23]),
    // d-scope was influenced only by an officer's contribution.
    ("influence", false, "0 of 3 decisions", &[]),
    // Professional only, professional only, delegated.
    ("shared_decisions", false, "0 of 3 decisions (0%)", &[12, 15, 17]),
    ("accountability_shared", false, "0 of 2 reviews", &[27, 28]),
    ("failures_owned", false, "0 of 1 shortfall or failure reviews", &[28]),
];

#[test]
fn consultation_dressed_up_as_co_production_meets_almost_nothing() {
    let stream = day_opportunities_review();
    assert_eq!(stream.last_sequence(), 28);
    let a = assess(&stream, Cutoff::Latest);
    check_table(&a, &DAY_OPPORTUNITIES);
    check_ratings(
        &a,
        &[
            ("whole_life_involvement", Rating::NotMet, 0),
            ("blurred_boundaries", Rating::NotMet, 0),
            ("reciprocal_reward", Rating::PartlyMet, 33),
            ("diverse_group_involvement", Rating::NotMet, 0),
            ("equal_valuation_of_assets", Rating::NotMet, 0),
            ("shared_responsibility", Rating::NotMet, 0),
        ],
    );
    assert_eq!(
        (a.overall.met, a.overall.partly_met, a.overall.not_met),
        (0, 1, 5)
    );
    assert!(
        a.overall
            .summary
            .contains("meets 0 of the 6 points in full, 1 in part and 5 not at all"),
        "{}",
        a.overall.summary
    );
}

#[test]
fn the_consultation_explanations_say_what_is_missing() {
    let a = assess(&day_opportunities_review(), Cutoff::Latest);
    let says = |key: &str, phrases: &[&str]| {
        let text = &indicator(&a, key).explanation;
        for phrase in phrases {
            assert!(text.contains(phrase), "{key}: {text:?} lacks {phrase:?}");
        }
    };
    says(
        "from_the_start",
        &["Nobody with lived experience", "'commission'"],
    );
    says(
        "every_stage",
        &["1 of 4 stages", "'commission', 'design', 'deliver'"],
    );
    says(
        "rewarded_beyond_expenses",
        &["'carer-gita', 'resident-ed', 'resident-flo'"],
    );
    says(
        "priority_groups_reached",
        &["Not yet reached: 'Older people'"],
    );
    says(
        "no_single_group_dominates",
        &["'People with learning disabilities'"],
    );
    says("parity", &["answered and adopted less often"]);
    says("accountability_shared", &["(entries 27, 28)"]);
    let summary = &a.overall.summary;
    for title in [
        "Whole life involvement",
        "Blurred boundaries",
        "Diverse group involvement",
        "Equal valuation of assets",
        "Shared responsibility",
    ] {
        assert!(summary.contains(title), "{summary}");
    }
    assert!(!summary.contains("Reciprocal reward"), "{summary}");
}
