//! What an assessment may say to readers who may not see the trail's personal data (panels):
//! whichever groups fewer than five people belong to, it reads the same, byte for byte, under
//! both rubric versions; it states no count of people from one to four and names nobody; from
//! five people whose groups are known on, the groups' indicators are shown as to everyone.

use coprod_domain::assessment::{
    assess_for, Assessment, Cutoff, Disclosure, EvidenceState, Rating, COUNT_NOT_SHOWN,
    GROUPS_NOT_SHOWN, GROUP_INDICATORS,
};
use coprod_domain::rubric::PublishedRubric;
use coprod_domain::testkit::stream::*;
use coprod_domain::*;
use ParticipantKind::*;
use Stage::*;

const PRIORITIES: [&str; 3] = ["Muslim", "Carers", "Somali community"];

/// The groups a lone participant may have, each telling something else about them.
const GROUP_SETS: [&[&str]; 5] = [
    &[],
    &["Muslim"],
    &["Muslim", "HIV positive"],
    &[
        "Carers",
        "Somali community",
        "ethnicity: Somali",
        "Deaf",
        "young carers",
    ],
    &["ethnicity: White British", "age band: 18-24"],
];

/// `people` people with lived experience with `groups` each (ids `le-1`…), who talked things
/// through at a commissioning workshop with a professional, made a suggestion that was adopted
/// and shared a decision.
fn project(people: usize, groups: &[&str]) -> Stream {
    let mut s = Stream::new(&PRIORITIES);
    let ids: Vec<String> = (1..=people).map(|n| format!("le-{n}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    for id in &ids {
        s.join(id, LivedExperience, groups);
    }
    s.join("pro-1", Professional, &[]);
    s.stage(Commission);
    s.activity(
        "a1",
        Commission,
        ActivityKind::Workshop,
        &["pro-1"],
        &ids,
        day(),
    );
    s.contribution("c1", ids[0], Commission);
    s.respond("c1", Response::Adopted);
    let mut everyone = ids.clone();
    everyone.push("pro-1");
    s.decide(
        "d1",
        Commission,
        DecisionMethod::Consensus,
        &everyone,
        &["c1"],
    );
    s
}

fn both_versions() -> [&'static PublishedRubric; 2] {
    [version_1(), version_2()]
}

fn assessed(stream: &Stream, rubric: &PublishedRubric, disclosure: Disclosure) -> Assessment {
    assess_for(stream.entries(), rubric, Cutoff::Latest, disclosure)
        .expect("the stream can be assessed")
}

/// The JSON body, with the stream digest (which covers the groups) put aside.
fn body_apart_from_digest(assessment: &Assessment) -> String {
    let mut assessment = assessment.clone();
    assessment.stream_digest = Digest::ZERO;
    String::from_utf8(assessment.to_json_bytes()).expect("JSON is text")
}

#[test]
fn a_lone_participants_groups_give_one_protected_answer_whatever_they_are() {
    for rubric in both_versions() {
        let version = rubric.rubric.version;
        let protected: Vec<String> = GROUP_SETS
            .iter()
            .map(|groups| {
                body_apart_from_digest(&assessed(
                    &project(1, groups),
                    rubric,
                    Disclosure::Protected,
                ))
            })
            .collect();
        assert!(
            protected.windows(2).all(|pair| pair[0] == pair[1]),
            "version {version}: a panel's answer follows the groups:\n{}",
            protected.join("\n")
        );
        let full: Vec<String> = GROUP_SETS
            .iter()
            .map(|groups| {
                body_apart_from_digest(&assessed(&project(1, groups), rubric, Disclosure::Full))
            })
            .collect();
        assert!(
            full.windows(2).any(|pair| pair[0] != pair[1]),
            "version {version}: the full answers should follow the groups"
        );
    }
}

#[test]
fn four_people_are_still_too_few_and_what_they_decide_is_not_shown_and_not_judged() {
    for rubric in both_versions() {
        let version = rubric.rubric.version;
        let one = assessed(&project(4, &["Muslim"]), rubric, Disclosure::Protected);
        let other = assessed(
            &project(4, &["Deaf", "Carers"]),
            rubric,
            Disclosure::Protected,
        );
        assert_eq!(
            body_apart_from_digest(&one),
            body_apart_from_digest(&other),
            "version {version}"
        );
        for key in GROUP_INDICATORS {
            let withheld = indicator(&one, key);
            assert_eq!(
                withheld.state,
                Some(EvidenceState::NotShown),
                "{version} {key}"
            );
            assert_eq!(withheld.explanation, GROUPS_NOT_SHOWN, "{version} {key}");
            assert!(withheld.evidence.is_empty(), "{version} {key}");
            assert!(!withheld.met && withheld.missing_evidence.is_none());
        }
        let diverse = criterion(&one, "diverse_group_involvement");
        assert!(
            diverse
                .summary
                .contains("not shown, to protect the privacy of fewer than five people")
                || diverse
                    .summary
                    .contains("Not shown, to protect the privacy of fewer than five people"),
            "version {version}: {}",
            diverse.summary
        );
        if version == 1 {
            // Version 1's three indicators of the criterion are all about groups.
            assert_eq!(diverse.rating, Rating::InsufficientEvidence);
            assert_eq!(one.overall.insufficient_evidence, Some(1));
        }
    }
}

#[test]
fn from_five_people_whose_groups_are_known_the_groups_indicators_are_shown_as_to_everyone() {
    for rubric in both_versions() {
        let version = rubric.rubric.version;
        let stream = project(5, &["Muslim", "Carers"]);
        let protected = assessed(&stream, rubric, Disclosure::Protected);
        let full = assessed(&stream, rubric, Disclosure::Full);
        for key in GROUP_INDICATORS {
            assert_eq!(
                indicator(&protected, key),
                indicator(&full, key),
                "{version} {key}"
            );
        }
        assert_eq!(
            criterion(&protected, "diverse_group_involvement"),
            criterion(&full, "diverse_group_involvement"),
            "version {version}"
        );
    }
    // Version 2 never counts people below five nor names them: with five people, a panel reads
    // what everyone reads.
    let stream = project(5, &["Muslim"]);
    assert_eq!(
        assessed(&stream, version_2(), Disclosure::Protected),
        assessed(&stream, version_2(), Disclosure::Full)
    );
}

#[test]
fn version_1_tells_a_panel_no_count_of_one_to_four_people_and_names_nobody() {
    for people in 1..=4 {
        let stream = project(people, &["Muslim"]);
        let protected = assessed(&stream, version_1(), Disclosure::Protected);
        let full = assessed(&stream, version_1(), Disclosure::Full);
        for key in ["from_the_start", "sustained", "rewarded_beyond_expenses"] {
            let told = indicator(&protected, key);
            assert_eq!(told.explanation, COUNT_NOT_SHOWN, "{people} people: {key}");
            assert_eq!(
                told.met,
                indicator(&full, key).met,
                "{people} people: {key}"
            );
        }
        let text = String::from_utf8(protected.to_json_bytes()).unwrap();
        assert!(!text.contains("'le-"), "{people} people: {text}");
    }
    // Six people, none rewarded: the count is shown, the names are not.
    let stream = project(6, &["Muslim"]);
    let protected = indicator(
        &assessed(&stream, version_1(), Disclosure::Protected),
        "rewarded_beyond_expenses",
    )
    .clone();
    let full = indicator(
        &assessed(&stream, version_1(), Disclosure::Full),
        "rewarded_beyond_expenses",
    )
    .clone();
    assert!(
        full.explanation
            .contains("Not rewarded beyond expenses: 'le-1'"),
        "{full:?}"
    );
    assert!(!protected.explanation.contains("'le-"), "{protected:?}");
    assert!(
        protected.explanation.contains("Only 0 of the 6 people"),
        "{protected:?}"
    );
    assert_eq!(protected.value, full.value);
}

#[test]
fn the_full_answer_is_what_assess_has_always_given() {
    for rubric in both_versions() {
        for groups in GROUP_SETS {
            let stream = project(2, groups);
            assert_eq!(
                assessed(&stream, rubric, Disclosure::Full),
                assessment::assess(stream.entries(), rubric, Cutoff::Latest).unwrap()
            );
        }
    }
}
