//! Every indicator of the six-point test, case by case: each one met and not met,
//! every threshold exactly at and just below its boundary, the edge rules, scores and ratings, and
//! cut-offs. Sequence numbers in the comments are the entries each line appends; entry 1 is always
//! the project's registration.

use coprod_domain::assessment::{AssessError, Cutoff, Rating};
use coprod_domain::testkit::stream::*;
use coprod_domain::*;

const LE: ParticipantKind = ParticipantKind::LivedExperience;
const CARER: ParticipantKind = ParticipantKind::Carer;
const PRO: ParticipantKind = ParticipantKind::Professional;
const PROVIDER: ParticipantKind = ParticipantKind::Provider;
const ORG: ParticipantKind = ParticipantKind::CommunityOrganisation;
const MEMBER: ParticipantKind = ParticipantKind::ElectedMember;

const COMMISSION: Stage = Stage::Commission;
const DESIGN: Stage = Stage::Design;
const DELIVER: Stage = Stage::Deliver;

/// One row of the table: a stream, the indicator looked at, and what it must say.
struct Case {
    name: &'static str,
    key: &'static str,
    build: fn() -> Stream,
    met: bool,
    value: &'static str,
    evidence: Vec<u64>,
    /// Phrases the explanation must contain (for a case not met: what is missing).
    explains: &'static [&'static str],
}

fn case(
    name: &'static str,
    key: &'static str,
    met: bool,
    value: &'static str,
    evidence: &[u64],
    explains: &'static [&'static str],
    build: fn() -> Stream,
) -> Case {
    Case {
        name,
        key,
        build,
        met,
        value,
        evidence: evidence.to_vec(),
        explains,
    }
}

/// The ten participants of the dominance cases.
fn ten() -> Vec<&'static str> {
    vec!["y1", "y2", "y3", "y4", "y5", "o1", "o2", "o3", "o4", "o5"]
}

fn range(from: u64, to: u64) -> Vec<u64> {
    (from..=to).collect()
}

/// A carer "ann" and an officer "off" (entries 2 and 3).
fn ann_and_officer() -> Stream {
    let mut s = Stream::plain(); // 1
    s.join("ann", CARER, &["Young carers"]); // 2
    s.join("off", PRO, &[]); // 3
    s
}

/// Participants p1..pn, all with lived experience and one group each, then the commission stage
/// and one meeting every one of them attended: entries 2..=n+1, n+2 and n+3.
fn attendees(n: usize) -> Stream {
    let mut s = Stream::plain();
    let names: Vec<String> = (1..=n).map(|i| format!("p{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let kind = if i % 2 == 0 { CARER } else { LE };
        s.join(name, kind, &["Carers of people with dementia"]);
    }
    s.stage(COMMISSION);
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    s.meeting("a1", COMMISSION, &[], &all);
    s
}

/// A PLE "ann" and a professional "off" contribute; `(made, answered, adopted)` for each side.
/// Entries: 1 registration, 2 ann, 3 off, 4 commission, then ann's contributions, off's
/// contributions, the answers to ann's and the answers to off's — so the evidence is 5..=last.
fn parity_stream(ple: (usize, usize, usize), pro: (usize, usize, usize)) -> Stream {
    let mut s = ann_and_officer();
    s.stage(COMMISSION);
    for i in 0..ple.0 {
        s.contribution(&format!("ple{i}"), "ann", COMMISSION);
    }
    for i in 0..pro.0 {
        s.contribution(&format!("pro{i}"), "off", COMMISSION);
    }
    for (prefix, (_, answered, adopted)) in [("ple", ple), ("pro", pro)] {
        for i in 0..answered {
            let response = match i {
                i if i < adopted && i % 2 == 0 => Response::Adopted,
                i if i < adopted => Response::Adapted,
                _ => Response::NotAdopted,
            };
            s.respond(&format!("{prefix}{i}"), response);
        }
    }
    s
}

/// Reviews by "ann" (carer) and "off" (officer), entries 4 onwards.
fn reviews(list: &[(OutcomeKind, &[&str], &[&str])]) -> Stream {
    let mut s = ann_and_officer();
    for (i, (kind, accountable, reviewed_by)) in list.iter().enumerate() {
        s.review(&format!("r{i}"), *kind, accountable, reviewed_by);
    }
    s
}

fn cases() -> Vec<Case> {
    use ActivityKind::{Training, Workshop};
    use DecisionMethod::*;
    use OutcomeKind::{Failure, Shortfall, Success};
    use RewardKind::*;
    vec![
        // ---- 1. Whole life involvement: from_the_start
        case("from the start: a carer attends a commission meeting", "from_the_start", true,
            "1 person with lived experience in 'commission'", &[2, 4, 5], &["1 person"], || {
                let mut s = ann_and_officer(); // 1-3
                s.stage(COMMISSION); // 4
                s.meeting("a1", COMMISSION, &["off"], &["ann"]); // 5
                s
            }),
        case("from the start: taking part in a commission decision", "from_the_start", true,
            "1 person with lived experience in 'commission'", &[2, 4, 5], &[], || {
                let mut s = Stream::plain();
                s.join("ann", LE, &[]); // 2
                s.join("off", PRO, &[]); // 3
                s.stage(COMMISSION); // 4
                s.decide("d1", COMMISSION, ProfessionalOnly, &["off", "ann"], &[]); // 5
                s
            }),
        case("from the start: a contribution in commission", "from_the_start", true,
            "1 person with lived experience in 'commission'", &[2, 3, 4], &[], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.contribution("c1", "ann", COMMISSION); // 4
                s
            }),
        case("from the start: lived experience only from design", "from_the_start", false,
            "0 people with lived experience in 'commission'", &[4],
            &["Nobody with lived experience", "'commission'"], || {
                let mut s = ann_and_officer(); // 1-3
                s.stage(COMMISSION); // 4
                s.meeting("a1", COMMISSION, &["off"], &[]); // 5
                s.stage(DESIGN); // 6
                s.meeting("a2", DESIGN, &[], &["ann"]); // 7
                s
            }),
        case("from the start: community organisations and councillors are not PLE", "from_the_start",
            false, "0 people with lived experience in 'commission'", &[4], &["'commission'"], || {
                let mut s = Stream::plain();
                s.join("carers-oxon", ORG, &["Young carers"]); // 2
                s.join("cllr", MEMBER, &[]); // 3
                s.stage(COMMISSION); // 4
                s.meeting("a1", COMMISSION, &["cllr"], &["carers-oxon"]); // 5
                s
            }),
        case("from the start: the meeting was withdrawn", "from_the_start", false,
            "0 people with lived experience in 'commission'", &[3], &["'commission'"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
                s.correct(4); // 5
                s
            }),
        case("from the start: the carer's joining was withdrawn", "from_the_start", false,
            "0 people with lived experience in 'commission'", &[3], &["'commission'"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
                s.correct(2); // 5
                s
            }),
        case(
            "from the start: a join recorded with the wrong kind is withdrawn and recorded again",
            "from_the_start", true, "1 person with lived experience in 'commission'", &[4, 5, 6],
            &[], || {
                let mut s = Stream::plain();
                s.join("ann", PRO, &[]); // 2: recorded as an officer by mistake
                s.correct(2); // 3
                s.join("ann", CARER, &[]); // 4
                s.stage(COMMISSION); // 5
                s.meeting("a1", COMMISSION, &[], &["ann"]); // 6
                s
            }),
        // ---- every_stage
        case("every stage: both stages reached", "every_stage", true, "2 of 2 stages", &[3, 4, 5, 6],
            &["all 2 stages"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
                s.stage(DESIGN); // 5
                s.contribution("c1", "ann", DESIGN); // 6
                s
            }),
        case("every stage: nobody with lived experience in design", "every_stage", false,
            "2 of 3 stages", &[4, 5, 6, 8, 9], &["2 of 3 stages", "the 'design' stage"], || {
                let mut s = ann_and_officer(); // 1-3
                s.stage(COMMISSION); // 4
                s.meeting("a1", COMMISSION, &[], &["ann"]); // 5
                s.stage(DESIGN); // 6
                s.meeting("a2", DESIGN, &["off"], &[]); // 7
                s.stage(DELIVER); // 8
                s.decide("d1", DELIVER, Consensus, &["ann", "off"], &[]); // 9
                s
            }),
        case("every stage: two stages missed", "every_stage", false, "1 of 3 stages", &[3, 4, 5, 6],
            &["'design', 'deliver'"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
                s.stage(DESIGN); // 5
                s.stage(DELIVER); // 6
                s
            }),
        case("every stage: no stage reached", "every_stage", false, "0 of 0 stages", &[],
            &["No stage"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s
            }),
        case("every stage: a withdrawn stage start is not reached", "every_stage", true,
            "1 of 1 stages", &[3, 4], &[], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
                s.stage(DESIGN); // 5
                s.correct(5); // 6
                s
            }),
        // ---- sustained (sustained_share = 50)
        case("sustained: 1 of 2 people in two stages is 50%", "sustained", true,
            "1 of 2 people (50%)", &[4, 5, 6, 7], &[], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.join("bob", LE, &[]); // 3
                s.stage(COMMISSION); // 4
                s.meeting("a1", COMMISSION, &[], &["ann", "bob"]); // 5
                s.stage(DESIGN); // 6
                s.contribution("c1", "ann", DESIGN); // 7
                s
            }),
        case("sustained: 1 of 3 people is 33%", "sustained", false, "1 of 3 people (33%)",
            &[5, 6, 7, 8], &["Only 1 of the 3", "at least 50%"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.join("bob", LE, &[]); // 3
                s.join("cat", LE, &[]); // 4
                s.stage(COMMISSION); // 5
                s.meeting("a1", COMMISSION, &[], &["ann", "bob", "cat"]); // 6
                s.stage(DESIGN); // 7
                s.contribution("c1", "ann", DESIGN); // 8
                s
            }),
        case("sustained: only one stage reached", "sustained", false, "0 of 1 people (0%)", &[3],
            &["at least two stages"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
                s
            }),
        case("sustained: two stages but nobody took part", "sustained", false, "0 of 0 people (0%)",
            &[2, 3], &["Nobody with lived experience"], || {
                let mut s = Stream::plain();
                s.stage(COMMISSION); // 2
                s.stage(DESIGN); // 3
                s
            }),
        // ---- 2. Blurred boundaries: lived_experience_in_professional_roles
        case("professional roles: a carer co-chairs", "lived_experience_in_professional_roles", true,
            "1 role(s) taken by 1 person", &[2, 3], &["co-chair"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.role("ann", Role::CoChair); // 3
                s
            }),
        case("professional roles: three roles, two people", "lived_experience_in_professional_roles",
            true, "3 role(s) taken by 2 people", &[2, 3, 4, 5, 6],
            &["co-chair", "co-researcher", "quality assurer"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.join("bob", LE, &[]); // 3
                s.role("ann", Role::CoChair); // 4
                s.role("bob", Role::CoResearcher); // 5
                s.role("ann", Role::QualityAssurer); // 6
                s
            }),
        case("professional roles: only an officer co-chairs; the carer is a peer supporter",
            "lived_experience_in_professional_roles", false, "0 role(s) taken by 0 people", &[],
            &["No person with lived experience", "co-chair"], || {
                let mut s = ann_and_officer(); // 1-3
                s.role("off", Role::CoChair); // 4
                s.role("ann", Role::PeerSupporter); // 5
                s.role("ann", Role::Learner); // 6
                s
            }),
        // ---- shared_facilitation (shared_facilitation_share = 50)
        case("shared facilitation: 1 of 2 facilitated activities is 50%", "shared_facilitation", true,
            "1 of 2 activities (50%)", &[5, 6], &[], || {
                let mut s = ann_and_officer(); // 1-3
                s.stage(COMMISSION); // 4
                s.meeting("a1", COMMISSION, &["ann"], &["off"]); // 5
                s.meeting("a2", COMMISSION, &["off"], &["ann"]); // 6
                s.meeting("a3", COMMISSION, &[], &["ann", "off"]); // 7: no facilitator
                s
            }),
        case("shared facilitation: 1 of 3 is 33%", "shared_facilitation", false,
            "1 of 3 activities (33%)", &[5, 6, 7], &["only 1 of the 3", "at least 50%"], || {
                let mut s = ann_and_officer(); // 1-3
                s.stage(COMMISSION); // 4
                s.meeting("a1", COMMISSION, &["ann", "off"], &[]); // 5
                s.meeting("a2", COMMISSION, &["off"], &["ann"]); // 6
                s.meeting("a3", COMMISSION, &["off"], &["ann"]); // 7
                s
            }),
        case("shared facilitation: no activity had a facilitator", "shared_facilitation", false,
            "0 of 0 activities (0%)", &[], &["No activity with a facilitator"], || {
                let mut s = ann_and_officer(); // 1-3
                s.stage(COMMISSION); // 4
                s.meeting("a1", COMMISSION, &[], &["ann"]); // 5
                s
            }),
        case("shared facilitation: a community organisation facilitating is not PLE",
            "shared_facilitation", false, "0 of 1 activities (0%)", &[4], &["only 0 of the 1"], || {
                let mut s = Stream::plain();
                s.join("carers-oxon", ORG, &[]); // 2
                s.stage(COMMISSION); // 3
                s.meeting("a1", COMMISSION, &["carers-oxon"], &[]); // 4
                s
            }),
        // ---- learning_both_ways
        case("learning both ways: an officer takes the learner role", "learning_both_ways", true,
            "1 professional(s) learning", &[3], &["1 professional"], || {
                let mut s = Stream::plain();
                s.join("off", PRO, &[]); // 2
                s.role("off", Role::Learner); // 3
                s
            }),
        case("learning both ways: a provider attends training a carer runs", "learning_both_ways",
            true, "1 professional(s) learning", &[5], &[], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.join("care-co", PROVIDER, &[]); // 3
                s.stage(COMMISSION); // 4
                s.activity("t1", COMMISSION, Training, &["ann"], &["care-co"], day()); // 5
                s
            }),
        case("learning both ways: training the wrong way round, a workshop, a PLE learner",
            "learning_both_ways", false, "0 professional(s) learning", &[],
            &["'learner'", "training facilitated by a person with lived experience"], || {
                let mut s = ann_and_officer(); // 1-3
                s.join("carers-oxon", ORG, &[]); // 4
                s.stage(COMMISSION); // 5
                s.activity("t1", COMMISSION, Training, &["off"], &["ann"], day()); // 6
                s.activity("w1", COMMISSION, Workshop, &["ann"], &["off"], day()); // 7
                s.role("ann", Role::Learner); // 8
                s.activity("t2", COMMISSION, Training, &["ann"], &["carers-oxon"], day()); // 9
                s
            }),
        // ---- 3. Reciprocal reward: rewarded_beyond_expenses (reward_share = 80)
        case("rewards: 4 of 5 rewarded beyond expenses is 80%", "rewarded_beyond_expenses", true,
            "4 of 5 people (80%)", &[8, 9, 10, 11, 12], &["4 of the 5"], || {
                let mut s = attendees(5); // 1-8: p1..p5 at 2-6, commission 7, meeting 8
                s.reward("p1", Payment, Some(2500), Some("a1"), day()); // 9
                s.reward("p2", Voucher, Some(1000), None, day()); // 10
                s.reward("p3", Learning, None, None, day()); // 11
                s.reward("p4", Recognition, None, None, day()); // 12
                s.reward("p5", Expenses, Some(800), Some("a1"), day()); // 13
                s
            }),
        case("rewards: 3 of 4 is 75%; a payment of 0 pence does not count", "rewarded_beyond_expenses",
            false, "3 of 4 people (75%)", &[7, 8, 9, 10], &["'p4'", "at least 80%"], || {
                let mut s = attendees(4); // 1-7: p1..p4 at 2-5, commission 6, meeting 7
                s.reward("p1", Payment, Some(2500), None, day()); // 8
                s.reward("p2", CharityDonation, Some(500), None, day()); // 9
                s.reward("p3", Opportunity, None, None, day()); // 10
                s.reward("p4", Payment, Some(0), None, day()); // 11
                s
            }),
        case("rewards: expenses never count", "rewarded_beyond_expenses", false, "0 of 1 people (0%)",
            &[4], &["Not rewarded beyond expenses: 'ann'"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.meeting("a1", COMMISSION, &["ann"], &[]); // 4
                s.reward("ann", Expenses, Some(1500), Some("a1"), day()); // 5
                s
            }),
        case("rewards: only attending or facilitating puts someone in the count",
            "rewarded_beyond_expenses", true, "1 of 1 people (100%)", &[5, 7], &[], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.join("bob", LE, &[]); // 3
                s.stage(COMMISSION); // 4
                s.meeting("a1", COMMISSION, &["ann"], &[]); // 5
                s.contribution("c1", "bob", COMMISSION); // 6: bob took part, but not in an activity
                s.reward("ann", Payment, Some(2000), None, day()); // 7
                s.reward("bob", Payment, Some(2000), None, day()); // 8
                s
            }),
        case("rewards: nobody with lived experience at an activity", "rewarded_beyond_expenses", false,
            "0 of 0 people (0%)", &[], &["No person with lived experience has attended or facilitated"],
            || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.contribution("c1", "ann", COMMISSION); // 4
                s
            }),
        case("rewards: a withdrawn payment does not count", "rewarded_beyond_expenses", false,
            "0 of 1 people (0%)", &[4], &["'ann'"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
                s.reward("ann", Payment, Some(2000), None, day()); // 5
                s.correct(5); // 6
                s
            }),
        // ---- development
        case("development: an opportunity", "development", true, "1 person developed", &[3], &[], || {
            let mut s = Stream::plain();
            s.join("ann", CARER, &[]); // 2
            s.reward("ann", Opportunity, None, None, day()); // 3
            s
        }),
        case("development: learning", "development", true, "1 person developed", &[3], &[], || {
            let mut s = Stream::plain();
            s.join("bob", LE, &[]); // 2
            s.reward("bob", Learning, None, None, day()); // 3
            s
        }),
        case("development: recognition and money are not development; officers do not count",
            "development", false, "0 people developed", &[], &["'learning' or 'opportunity'"], || {
                let mut s = ann_and_officer(); // 1-3
                s.reward("ann", Recognition, None, None, day()); // 4
                s.reward("off", Learning, None, None, day()); // 5
                s.reward("ann", Payment, Some(5000), None, day()); // 6
                s
            }),
        // ---- timely (reward_days = 30); the workshop is on 10 January 2025
        case("timely: on the day and on day 30", "timely", true, "2 of 2 rewards on time", &[4, 5, 6],
            &["within 30 days"], || {
                let mut s = timely_base(); // 1-4
                s.reward("ann", Payment, Some(2500), Some("a1"), date(2025, 1, 10)); // 5
                s.reward("ann", Learning, None, Some("a1"), date(2025, 2, 9)); // 6: day 30
                s.reward("ann", Voucher, Some(1000), None, date(2025, 6, 1)); // 7: names no activity
                s
            }),
        case("timely: day 31 is late", "timely", false, "0 of 1 rewards on time", &[4, 5],
            &["(entry 5)", "within 30 days"], || {
                let mut s = timely_base(); // 1-4
                s.reward("ann", Payment, Some(2500), Some("a1"), date(2025, 2, 10)); // 5
                s
            }),
        case("timely: the day before the activity is not within it", "timely", false,
            "0 of 1 rewards on time", &[4, 5], &["(entry 5)"], || {
                let mut s = timely_base(); // 1-4
                s.reward("ann", Expenses, Some(700), Some("a1"), date(2025, 1, 9)); // 5
                s
            }),
        case("timely: a reward names an activity withdrawn and recorded again after it",
            "timely", false, "0 of 0 rewards on time", &[], &["cannot be shown"], || {
                let mut s = timely_base(); // 1-4
                s.reward("ann", Payment, Some(2500), Some("a1"), date(2025, 1, 10)); // 5
                s.correct(4); // 6
                s.meeting("a1", COMMISSION, &["ann"], &[]); // 7: another activity, same id
                s
            }),
        case("timely: one on time, one late", "timely", false, "1 of 2 rewards on time", &[4, 5, 6],
            &["1 of 2", "(entry 6)"], || {
                let mut s = timely_base(); // 1-4
                s.reward("ann", Payment, Some(2500), Some("a1"), date(2025, 1, 10)); // 5
                s.reward("ann", Voucher, Some(2500), Some("a1"), date(2025, 2, 10)); // 6
                s
            }),
        case("timely: no reward names an activity", "timely", false, "0 of 0 rewards on time", &[],
            &["No reward has been linked"], || {
                let mut s = timely_base(); // 1-4
                s.reward("ann", Payment, Some(1000), None, date(2025, 1, 10)); // 5
                s
            }),
        // ---- 4. Diverse group involvement: priority_groups_reached
        case("priority groups: trimmed and case-insensitive; a community organisation counts",
            "priority_groups_reached", true, "2 of 2 groups", &[1, 2, 3], &["All 2"], || {
                let mut s = Stream::new(&[" Young Carers ", "carers of people with dementia"]);
                s.join("ann", CARER, &["young carers"]); // 2
                s.join("carers-oxon", ORG, &["Carers of People with Dementia "]); // 3
                s.stage(COMMISSION); // 4
                s.meeting("a1", COMMISSION, &[], &["ann", "carers-oxon"]); // 5
                s
            }),
        case("priority groups: a professional's group or someone who never took part does not count",
            "priority_groups_reached", false, "1 of 3 groups", &[1, 2],
            &["1 of the 3", "Not yet reached: 'Black and minority ethnic carers', 'Carers of people with dementia'"],
            || {
                let mut s = Stream::new(&[
                    "Young carers",
                    "Carers of people with dementia",
                    "Black and minority ethnic carers",
                ]);
                s.join("ann", CARER, &["Young carers"]); // 2
                s.join("off", PRO, &["Carers of people with dementia"]); // 3
                s.join("carers-oxon", ORG, &["Black and minority ethnic carers"]); // 4
                s.join("bob", CARER, &["Carers of people with dementia"]); // 5
                s.stage(COMMISSION); // 6
                s.meeting("a1", COMMISSION, &["off"], &["ann"]); // 7
                s
            }),
        case("priority groups: a community organisation taking part by contribution",
            "priority_groups_reached", true, "1 of 1 groups", &[1, 2], &[], || {
                let mut s = Stream::new(&["Deaf community"]);
                s.join("deaf-oxon", ORG, &["deaf community"]); // 2
                s.stage(COMMISSION); // 3
                s.contribution("c1", "deaf-oxon", COMMISSION); // 4
                s
            }),
        case("priority groups: an elected member does not count", "priority_groups_reached", false,
            "0 of 1 groups", &[1], &["Not yet reached: 'Young carers'"], || {
                let mut s = Stream::new(&["Young carers"]);
                s.join("cllr", MEMBER, &["Young carers"]); // 2
                s.stage(COMMISSION); // 3
                s.meeting("a1", COMMISSION, &["cllr"], &[]); // 4
                s
            }),
        case("priority groups: none named at registration", "priority_groups_reached", false,
            "0 of 0 groups", &[1], &["No priority groups were named"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &["Young carers"]); // 2
                s.stage(COMMISSION); // 3
                s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
                s
            }),
        // ---- breadth (min_groups = 3)
        case("breadth: three groups", "breadth", true, "3 groups", &[2, 3], &["3 different groups"], || {
            let mut s = Stream::plain();
            s.join("ann", CARER, &["Young carers"]); // 2
            s.join("bob", LE, &["Learning disability", "Autism"]); // 3
            s.stage(COMMISSION); // 4
            s.meeting("a1", COMMISSION, &["ann"], &["bob"]); // 5
            s
        }),
        case("breadth: two groups; case and spaces do not make a new group; organisations do not count",
            "breadth", false, "2 groups", &[2, 3, 5], &["2 different group(s)", "at least 3"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &["Young carers"]); // 2
                s.join("bob", LE, &[" young CARERS", "Autism"]); // 3
                s.join("deaf-oxon", ORG, &["Deaf community"]); // 4
                s.join("cat", LE, &[]); // 5
                s.stage(COMMISSION); // 6
                s.meeting("a1", COMMISSION, &[], &["ann", "bob", "deaf-oxon", "cat"]); // 7
                s
            }),
        case("breadth: people who joined but never took part do not count", "breadth", false,
            "2 groups", &[2, 3], &["at least 3"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &["Young carers"]); // 2
                s.join("bob", LE, &["Autism"]); // 3
                s.join("cat", LE, &["Learning disability"]); // 4
                s.stage(COMMISSION); // 5
                s.meeting("a1", COMMISSION, &["ann"], &["bob"]); // 6
                s
            }),
        // ---- no_single_group_dominates (max_group_share = 50)
        case("dominance: 5 of 10 is 50%", "no_single_group_dominates", true,
            "largest group 5 of 10 people (50%)", &range(2, 11), &["'Young carers'", "5 of the 10", "(50%)"], || {
                let mut s = Stream::plain();
                for i in 1..=5 {
                    let group = if i == 2 { " young carers" } else { "Young carers" };
                    s.join(&format!("y{i}"), CARER, &[group]); // 2-6
                }
                for i in 1..=5 {
                    s.join(&format!("o{i}"), LE, &[&format!("Group {i}")]); // 7-11
                }
                s.stage(COMMISSION); // 12
                s.meeting("a1", COMMISSION, &[], &ten()); // 13
                s
            }),
        case("dominance: 6 of 10 'unspecified' is 60%", "no_single_group_dominates", false,
            "largest group 6 of 10 people (60%)", &range(2, 11),
            &["'unspecified'", "6 of the 10", "more than 50%"], || {
                let mut s = Stream::plain();
                for i in 1..=5 {
                    s.join(&format!("y{i}"), CARER, &[]); // 2-6
                }
                s.join("o1", LE, &[]); // 7
                for i in 2..=5 {
                    s.join(&format!("o{i}"), LE, &[&format!("Group {i}")]); // 8-11
                }
                s.stage(COMMISSION); // 12
                s.meeting("a1", COMMISSION, &[], &ten()); // 13
                s
            }),
        case("dominance: only the first listed group is primary", "no_single_group_dominates", false,
            "largest group 5 of 7 people (71%)", &range(2, 8), &["'Young carers'", "5 of the 7"], || {
                let mut s = Stream::plain();
                s.join("p1", LE, &["Autism", "Young carers"]); // 2
                for i in 2..=6 {
                    let group = if i == 2 { "Young carers" } else { "YOUNG CARERS" };
                    s.join(&format!("p{i}"), CARER, &[group]); // 3-7
                }
                s.join("p7", LE, &["Autism", "Young carers"]); // 8
                s.stage(COMMISSION); // 9
                s.meeting("a1", COMMISSION, &[], &["p1", "p2", "p3", "p4", "p5", "p6", "p7"]); // 10
                s
            }),
        case("dominance: a largest group of fewer than 5 is not counted out", "no_single_group_dominates", true,
            "largest group fewer than 5 of 10 people", &range(2, 11), &["'Young carers'", "is fewer than 5 of the 10"], || {
                let mut s = Stream::plain();
                for i in 1..=5 {
                    let group = if i < 5 { "Young carers" } else { "Autism" };
                    s.join(&format!("y{i}"), CARER, &[group]); // 2-6
                }
                for i in 1..=5 {
                    s.join(&format!("o{i}"), LE, &[&format!("Group {i}")]); // 7-11
                }
                s.stage(COMMISSION); // 12
                s.meeting("a1", COMMISSION, &[], &ten()); // 13
                s
            }),
        case("dominance: fewer than 5 people in all are not counted out", "no_single_group_dominates", false,
            "fewer than 5 people in all", &[2, 3, 4], &["'Young carers'", "the largest group of the fewer than 5 people"], || {
                let mut s = Stream::plain();
                s.join("p1", LE, &["Autism", "Young carers"]); // 2
                s.join("p2", CARER, &["Young carers"]); // 3
                s.join("p3", CARER, &["YOUNG CARERS"]); // 4
                s.stage(COMMISSION); // 5
                s.meeting("a1", COMMISSION, &[], &["p1", "p2", "p3"]); // 6
                s
            }),
        case("dominance: nobody took part", "no_single_group_dominates", false,
            "fewer than 5 people in all", &[], &["Nobody with lived experience"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &["Young carers"]); // 2
                s.stage(COMMISSION); // 3
                s
            }),
        // ---- 5. Equal valuation of assets: contributions_answered (response_share = 80)
        case("answered: 4 of 5 is 80%", "contributions_answered", true,
            "4 of 5 contributions (80%)", &range(4, 12), &["4 of the 5"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                for c in ["c1", "c2", "c3", "c4", "c5"] {
                    s.contribution(c, "ann", COMMISSION); // 4-8
                }
                s.respond("c1", Response::Adopted); // 9
                s.respond("c2", Response::Adapted); // 10
                s.respond("c3", Response::NotAdopted); // 11
                s.respond("c4", Response::Adopted); // 12
                s
            }),
        case("answered: 3 of 4 is 75%", "contributions_answered", false,
            "3 of 4 contributions (75%)", &range(4, 10), &["Only 3 of the 4", "at least 80%", "Still waiting for a response: entry 7."], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                for c in ["c1", "c2", "c3", "c4"] {
                    s.contribution(c, "ann", COMMISSION); // 4-7
                }
                for c in ["c1", "c2", "c3"] {
                    s.respond(c, Response::NotAdopted); // 8-10
                }
                s
            }),
        case("answered: only professionals contributed", "contributions_answered", false,
            "0 of 0 contributions (0%)", &[], &["have not made any contribution"], || {
                let mut s = ann_and_officer(); // 1-3
                s.stage(COMMISSION); // 4
                s.contribution("c1", "off", COMMISSION); // 5
                s.respond("c1", Response::Adopted); // 6
                s
            }),
        case("answered: a response to a withdrawn contribution does not count",
            "contributions_answered", false, "0 of 1 contributions (0%)", &[5], &["Only 0 of the 1"],
            || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.contribution("c1", "ann", COMMISSION); // 4
                s.contribution("c2", "ann", COMMISSION); // 5
                s.respond("c1", Response::Adopted); // 6
                s.correct(4); // 7
                s
            }),
        case("answered: the old response does not answer a contribution recorded again under its id",
            "contributions_answered", false, "0 of 1 contributions (0%)", &[7], &["Only 0 of the 1"],
            || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.contribution("c1", "ann", COMMISSION); // 4
                s.respond("c1", Response::Adopted); // 5
                s.correct(4); // 6: the contribution was recorded wrongly...
                s.contribution("c1", "ann", COMMISSION); // 7: ...and is recorded again, unanswered
                s
            }),
        case("answered: a withdrawn response", "contributions_answered", false,
            "0 of 1 contributions (0%)", &[4], &["Only 0 of the 1"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.contribution("c1", "ann", COMMISSION); // 4
                s.respond("c1", Response::Adopted); // 5
                s.correct(5); // 6
                s
            }),
        // ---- parity (parity_tolerance = 10): entries 5..=last are the evidence
        case("parity: answered 50% vs 60%, exactly 10 points lower", "parity", true,
            "responded 50% vs 60%, adopted 100% vs 100%", &range(5, 15), &["within 10 points"],
            || parity_stream((2, 1, 1), (5, 3, 3))),
        case("parity: 2 of 3 (66%) vs 10 of 13 (76%): 10 points in whole per cents", "parity", true,
            "responded 66% vs 76%, adopted 100% vs 100%", &range(5, 32), &[],
            || parity_stream((3, 2, 2), (13, 10, 10))),
        case("parity: 2 of 3 (66%) vs 7 of 9 (77%): 11 points lower", "parity", false,
            "responded 66% vs 77%, adopted 100% vs 100%", &range(5, 25),
            &["answered less often", "more than 10 points"], || parity_stream((3, 2, 2), (9, 7, 7))),
        case("parity: adopted 50% vs 60%, exactly 10 points lower", "parity", true,
            "responded 100% vs 100%, adopted 50% vs 60%", &range(5, 18), &[],
            || parity_stream((2, 2, 1), (5, 5, 3))),
        case("parity: adopted 2 of 3 (66%) vs 10 of 13 (76%)", "parity", true,
            "responded 100% vs 100%, adopted 66% vs 76%", &range(5, 36), &[],
            || parity_stream((3, 3, 2), (13, 13, 10))),
        case("parity: adopted 2 of 3 (66%) vs 7 of 9 (77%)", "parity", false,
            "responded 100% vs 100%, adopted 66% vs 77%", &range(5, 28),
            &["adopted less often", "more than 10 points"], || parity_stream((3, 3, 2), (9, 9, 7))),
        case("parity: both rates too low", "parity", false,
            "responded 50% vs 100%, adopted 0% vs 100%", &range(5, 9),
            &["answered and adopted less often"], || parity_stream((2, 1, 0), (1, 1, 1))),
        case("parity: no professional contributions to compare with", "parity", false,
            "responded 100% vs 0%, adopted 100% vs 0%", &range(5, 8),
            &["both people with lived experience and professionals"], || parity_stream((2, 2, 2), (0, 0, 0))),
        case("parity: providers are professionals; community organisations are neither", "parity", true,
            "responded 100% vs 100%, adopted 100% vs 100%", &[6, 7, 9, 10], &[], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.join("care-co", PROVIDER, &[]); // 3
                s.join("carers-oxon", ORG, &[]); // 4
                s.stage(COMMISSION); // 5
                s.contribution("c1", "ann", COMMISSION); // 6
                s.contribution("c2", "care-co", COMMISSION); // 7
                s.contribution("c3", "carers-oxon", COMMISSION); // 8
                s.respond("c1", Response::Adapted); // 9
                s.respond("c2", Response::Adopted); // 10
                s
            }),
        // ---- influence
        case("influence: a decision shaped by a carer's idea", "influence", true, "1 of 2 decisions",
            &[5, 7], &["1 of the 2"], || {
                let mut s = ann_and_officer(); // 1-3
                s.stage(COMMISSION); // 4
                s.contribution("c1", "ann", COMMISSION); // 5
                s.contribution("c2", "off", COMMISSION); // 6
                s.decide("d1", COMMISSION, Consensus, &["ann", "off"], &["c1", "c2"]); // 7
                s.decide("d2", COMMISSION, ProfessionalOnly, &["off"], &["c2"]); // 8
                s
            }),
        case("influence: only professional input listed", "influence", false, "0 of 1 decisions", &[],
            &["No decision has been recorded as influenced"], || {
                let mut s = ann_and_officer(); // 1-3
                s.stage(COMMISSION); // 4
                s.contribution("c1", "ann", COMMISSION); // 5
                s.contribution("c2", "off", COMMISSION); // 6
                s.decide("d1", COMMISSION, Consensus, &["ann", "off"], &["c2"]); // 7
                s
            }),
        case("influence: the influencing contribution was withdrawn", "influence", false,
            "0 of 1 decisions", &[], &["No decision"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.contribution("c1", "ann", COMMISSION); // 4
                s.decide("d1", COMMISSION, Consensus, &["ann"], &["c1"]); // 5
                s.correct(4); // 6
                s
            }),
        case("influence: a contribution withdrawn and recorded again after the decision",
            "influence", false, "0 of 1 decisions", &[], &["No decision"], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.stage(COMMISSION); // 3
                s.contribution("c1", "ann", COMMISSION); // 4
                s.decide("d1", COMMISSION, Consensus, &["ann"], &["c1"]); // 5
                s.correct(4); // 6
                s.contribution("c1", "ann", COMMISSION); // 7: recorded after d1
                s
            }),
        // ---- 6. Shared responsibility: shared_decisions (shared_decision_share = 75)
        case("shared decisions: 3 of 4 is 75%", "shared_decisions", true, "3 of 4 decisions (75%)",
            &[5, 6, 7, 8], &["3 of the 4"], || {
                let mut s = ann_and_officer(); // 1-3
                s.stage(COMMISSION); // 4
                s.decide("d1", COMMISSION, Consensus, &["ann", "off"], &[]); // 5
                s.decide("d2", COMMISSION, Vote, &["ann", "off"], &[]); // 6
                s.decide("d3", COMMISSION, LivedExperienceLed, &["ann"], &[]); // 7
                s.decide("d4", COMMISSION, ProfessionalOnly, &["off"], &[]); // 8
                s
            }),
        case("shared decisions: 2 of 3 is 66%; consensus among officers only is not shared",
            "shared_decisions", false, "2 of 3 decisions (66%)", &[5, 6, 7],
            &["Only 2 of the 3", "at least 75%", "Not shared: entry 7."], || {
                let mut s = ann_and_officer(); // 1-3
                s.stage(COMMISSION); // 4
                s.decide("d1", COMMISSION, Consensus, &["ann"], &[]); // 5
                s.decide("d2", COMMISSION, Vote, &["ann", "off"], &[]); // 6
                s.decide("d3", COMMISSION, Consensus, &["off"], &[]); // 7
                s
            }),
        case("shared decisions: delegated, and 'led' without PLE taking part", "shared_decisions",
            false, "0 of 2 decisions (0%)", &[5, 6], &["Only 0 of the 2", "Not shared: entries 5, 6."], || {
                let mut s = Stream::plain();
                s.join("ann", CARER, &[]); // 2
                s.join("carers-oxon", ORG, &[]); // 3
                s.stage(COMMISSION); // 4
                s.decide("d1", COMMISSION, LivedExperienceLed, &["carers-oxon"], &[]); // 5
                s.decide("d2", COMMISSION, Delegated, &["ann"], &[]); // 6
                s
            }),
        case("shared decisions: none recorded", "shared_decisions", false, "0 of 0 decisions (0%)",
            &[], &["No decision has been recorded"], ann_and_officer),
        // ---- accountability_shared
        case("accountability: every review names a carer", "accountability_shared", true,
            "2 of 2 reviews", &[4, 5], &["All 2"],
            || reviews(&[(Success, &["off"], &["ann"]), (Shortfall, &["ann"], &["off"])])),
        case("accountability: a failure reviewed by officers only", "accountability_shared", false,
            "1 of 2 reviews", &[4, 5], &["(entry 5)"],
            || reviews(&[(Success, &["off"], &["ann"]), (Failure, &["off"], &["off"])])),
        case("accountability: no reviews", "accountability_shared", false, "0 of 0 reviews", &[],
            &["No review of outcomes"], || reviews(&[])),
        // ---- failures_owned
        case("failures owned: a carer reviews a failure", "failures_owned", true,
            "1 of 1 shortfall or failure reviews", &[5], &[],
            || reviews(&[(Success, &["off"], &["ann"]), (Failure, &["off"], &["ann"])])),
        case("failures owned: a carer accountable but not a reviewer", "failures_owned", false,
            "0 of 1 shortfall or failure reviews", &[5], &["None of the 1"],
            || reviews(&[(Success, &["off"], &["ann"]), (Shortfall, &["ann"], &["off"])])),
        case("failures owned: only successes reviewed", "failures_owned", false,
            "0 of 0 shortfall or failure reviews", &[], &["No shortfall or failure has been reviewed"],
            || reviews(&[(Success, &["ann"], &["ann"])])),
    ]
}

/// A carer "ann" at a workshop "a1" in commission on 10 January 2025 (entries 1-4).
fn timely_base() -> Stream {
    let mut s = Stream::plain();
    s.join("ann", CARER, &[]); // 2
    s.stage(COMMISSION); // 3
    s.activity(
        "a1",
        COMMISSION,
        ActivityKind::Workshop,
        &[],
        &["ann"],
        date(2025, 1, 10),
    ); // 4
    s
}

#[test]
fn every_indicator_matches_its_table_row() {
    let mut failures = Vec::new();
    for case in cases() {
        let stream = (case.build)();
        let assessment = assess(&stream, Cutoff::Latest);
        let got = indicator(&assessment, case.key);
        let mut wrong = Vec::new();
        if got.met != case.met {
            wrong.push(format!("met {} (expected {})", got.met, case.met));
        }
        if got.value != case.value {
            wrong.push(format!("value {:?} (expected {:?})", got.value, case.value));
        }
        if got.evidence != case.evidence {
            wrong.push(format!(
                "evidence {:?} (expected {:?})",
                got.evidence, case.evidence
            ));
        }
        if got.explanation.trim().is_empty() {
            wrong.push("an empty explanation".to_string());
        }
        for phrase in case.explains {
            if !got.explanation.contains(phrase) {
                wrong.push(format!("an explanation without {phrase:?}"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{} [{}]: {}\n    explanation: {}",
                case.name,
                case.key,
                wrong.join("; "),
                got.explanation
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_table_has_a_met_and_a_not_met_row_for_all_eighteen_indicators() {
    let cases = cases();
    let keys = indicator_keys();
    assert_eq!(keys.len(), 18);
    for key in keys {
        for met in [true, false] {
            let rows: Vec<&Case> = cases
                .iter()
                .filter(|c| c.key == key && c.met == met)
                .collect();
            assert!(!rows.is_empty(), "no row for '{key}' with met = {met}");
            if !met {
                assert!(
                    rows.iter().all(|c| !c.explains.is_empty()),
                    "every row where '{key}' is not met names what is missing"
                );
            }
        }
    }
}

#[test]
fn every_role_usually_held_by_professionals_counts_and_no_other() {
    use Role::*;
    let expected = [
        (CoChair, true, "co-chair"),
        (CoFacilitator, true, "co-facilitator"),
        (CoTrainer, true, "co-trainer"),
        (CoResearcher, true, "co-researcher"),
        (QualityAssurer, true, "quality assurer"),
        (RecruitmentPanel, true, "recruitment panel"),
        (PeerSupporter, false, ""),
        (Learner, false, ""),
    ];
    for (role, counts, name) in expected {
        let mut s = Stream::plain();
        s.join("ann", LE, &[]); // 2
        s.role("ann", role); // 3
        let a = assess(&s, Cutoff::Latest);
        let got = indicator(&a, "lived_experience_in_professional_roles");
        assert_eq!(got.met, counts, "{role:?}");
        if counts {
            assert_eq!(got.evidence, vec![2, 3], "{role:?}");
            assert!(
                got.explanation.contains(name),
                "{role:?}: {}",
                got.explanation
            );
        } else {
            assert!(got.evidence.is_empty(), "{role:?}");
        }
    }
}

#[test]
fn both_kinds_of_people_with_lived_experience_count_and_no_other_kind() {
    for (kind, is_ple) in [
        (LE, true),
        (CARER, true),
        (PRO, false),
        (PROVIDER, false),
        (ORG, false),
        (MEMBER, false),
    ] {
        let mut s = Stream::plain();
        s.join("x", kind, &[]); // 2
        s.stage(COMMISSION); // 3
        s.meeting("a1", COMMISSION, &[], &["x"]); // 4
        let a = assess(&s, Cutoff::Latest);
        assert_eq!(indicator(&a, "from_the_start").met, is_ple, "{kind:?}");
    }
}

// ---- Scores, ratings and the overall counts

fn whole_life(stream: &Stream) -> (u32, Rating, usize) {
    let a = assess(stream, Cutoff::Latest);
    let c = criterion(&a, "whole_life_involvement");
    let met = c.indicators.iter().filter(|i| i.met).count();
    (c.score, c.rating, met)
}

#[test]
fn a_criterion_scores_0_33_66_or_100_and_is_rated_by_how_many_indicators_are_met() {
    // Nothing met.
    let s = Stream::plain();
    assert_eq!(whole_life(&s), (0, Rating::NotMet, 0));

    // From the start only: design reached without anyone with lived experience.
    let mut s = Stream::plain();
    s.join("ann", CARER, &[]); // 2
    s.stage(COMMISSION); // 3
    s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
    s.stage(DESIGN); // 5
    assert_eq!(whole_life(&s), (33, Rating::PartlyMet, 1));

    // From the start and every stage, but only one stage: not sustained.
    let mut s = Stream::plain();
    s.join("ann", CARER, &[]); // 2
    s.stage(COMMISSION); // 3
    s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
    assert_eq!(whole_life(&s), (66, Rating::PartlyMet, 2));

    // All three.
    s.stage(DESIGN); // 5
    s.contribution("c1", "ann", DESIGN); // 6
    assert_eq!(whole_life(&s), (100, Rating::Met, 3));
}

#[test]
fn a_partly_met_summary_names_what_is_not_yet_met() {
    let mut s = Stream::plain();
    s.join("ann", CARER, &[]); // 2
    s.stage(COMMISSION); // 3
    s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
    let a = assess(&s, Cutoff::Latest);
    let c = criterion(&a, "whole_life_involvement");
    assert!(c.summary.contains("2 of 3"), "{}", c.summary);
    assert!(c.summary.contains("sustained"), "{}", c.summary);
}

#[test]
fn overall_counts_the_ratings_of_the_six_criteria() {
    // A bare registration meets nothing.
    let a = assess(&Stream::plain(), Cutoff::Latest);
    assert_eq!(a.criteria.len(), 6);
    assert_eq!(
        (a.overall.met, a.overall.partly_met, a.overall.not_met),
        (0, 0, 6)
    );
    assert!(a
        .criteria
        .iter()
        .all(|c| c.score == 0 && c.rating == Rating::NotMet));
    assert!(
        a.overall.summary.contains("Whole life involvement"),
        "{}",
        a.overall.summary
    );

    // One criterion met in full, one in part.
    let mut s = Stream::plain();
    s.join("ann", CARER, &["Young carers"]); // 2
    s.join("off", PRO, &[]); // 3
    s.stage(COMMISSION); // 4
    s.meeting("a1", COMMISSION, &[], &["ann"]); // 5
    s.stage(DESIGN); // 6
    s.contribution("c1", "ann", DESIGN); // 7
    s.review("r1", OutcomeKind::Failure, &["off"], &["ann"]); // 8
    let a = assess(&s, Cutoff::Latest);
    let ratings = a.scorecard();
    assert_eq!(ratings["whole_life_involvement"], Rating::Met);
    assert_eq!(ratings["shared_responsibility"], Rating::PartlyMet);
    assert_eq!(criterion(&a, "shared_responsibility").score, 66);
    // Diverse groups: no priority groups named, one group, and one person is 100% of the people.
    assert_eq!(ratings["diverse_group_involvement"], Rating::NotMet);
    let counted = |r| ratings.values().filter(|v| **v == r).count() as u32;
    assert_eq!(a.overall.met, counted(Rating::Met));
    assert_eq!(a.overall.partly_met, counted(Rating::PartlyMet));
    assert_eq!(a.overall.not_met, counted(Rating::NotMet));
    assert_eq!(a.overall.met + a.overall.partly_met + a.overall.not_met, 6);
}

#[test]
fn the_assessment_names_the_rubric_it_used() {
    let a = assess(&Stream::plain(), Cutoff::Latest);
    let rubric = version_1();
    assert_eq!(a.rubric.id, "oxfordshire-six-point");
    assert_eq!(a.rubric.version, 1);
    assert_eq!(a.rubric.digest, rubric.digest);
    assert_eq!(a.project_id, project_id());
    let keys: Vec<&str> = a.criteria.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "whole_life_involvement",
            "blurred_boundaries",
            "reciprocal_reward",
            "diverse_group_involvement",
            "equal_valuation_of_assets",
            "shared_responsibility"
        ]
    );
}

// ---- Cut-offs

/// A carer attends a commission meeting (entry 4) which is withdrawn at entry 5; entry 6 is a
/// later stage start, so that the stream goes on after the correction.
fn withdrawn_meeting() -> Stream {
    let mut s = Stream::plain();
    s.join("ann", CARER, &[]); // 2
    s.stage(COMMISSION); // 3
    s.meeting("a1", COMMISSION, &[], &["ann"]); // 4
    s.correct(4); // 5
    s.stage(DESIGN); // 6
    s
}

#[test]
fn a_correction_recorded_after_a_sequence_cut_off_does_not_change_the_assessment_at_it() {
    let s = withdrawn_meeting();
    let before = assess(&s, Cutoff::AtSequence(4));
    assert!(indicator(&before, "from_the_start").met);
    assert_eq!(indicator(&before, "from_the_start").evidence, vec![2, 3, 4]);
    assert_eq!(before.at_sequence, 4);
    assert_eq!(before.stream_digest, digest_of(4));
    assert_eq!(before.as_of, "2025-01-06T09:03:00.000000Z");

    // The same question asked of a stream cut at 4 gives the same bytes.
    let cut = Stream::from_entries(s.entries()[..4].to_vec());
    assert_eq!(
        assess(&cut, Cutoff::Latest).to_json_bytes(),
        before.to_json_bytes()
    );

    let after = assess(&s, Cutoff::AtSequence(5));
    assert!(!indicator(&after, "from_the_start").met);
    assert_eq!(indicator(&after, "from_the_start").evidence, vec![3]);
    assert_eq!(after.at_sequence, 5);
    assert_eq!(after.stream_digest, digest_of(5));
    assert_eq!(after.as_of, "2025-01-06T09:04:00.000000Z");
}

#[test]
fn a_correction_recorded_after_an_instant_does_not_change_the_assessment_as_of_it() {
    use chrono::Duration;
    let s = withdrawn_meeting();
    // Half a minute after entry 4, before the correction.
    let t = recorded_at(4) + Duration::seconds(30) + Duration::nanoseconds(123_456_789);
    let before = assess(&s, Cutoff::AsOf(t));
    assert!(indicator(&before, "from_the_start").met);
    assert_eq!(before.at_sequence, 4);
    assert_eq!(before.stream_digest, digest_of(4));
    assert_eq!(before.as_of, "2025-01-06T09:03:30.123456Z");
    let by_sequence = assess(&s, Cutoff::AtSequence(4));
    assert_eq!(before.criteria, by_sequence.criteria);
    assert_eq!(before.overall, by_sequence.overall);

    // "At or before": the instant the correction was recorded includes it.
    let at = assess(&s, Cutoff::AsOf(recorded_at(5)));
    assert!(!indicator(&at, "from_the_start").met);
    assert_eq!(at.at_sequence, 5);
    assert_eq!(at.as_of, "2025-01-06T09:04:00.000000Z");

    // One microsecond before it does not.
    let just_before = assess(&s, Cutoff::AsOf(recorded_at(5) - Duration::microseconds(1)));
    assert!(indicator(&just_before, "from_the_start").met);
    assert_eq!(just_before.as_of, "2025-01-06T09:03:59.999999Z");
}

#[test]
fn latest_is_the_whole_stream() {
    let s = withdrawn_meeting();
    let latest = assess(&s, Cutoff::Latest);
    assert_eq!(latest.at_sequence, 6);
    assert_eq!(latest.stream_digest, digest_of(6));
    assert_eq!(latest.as_of, "2025-01-06T09:05:00.000000Z");
    assert_eq!(
        latest.to_json_bytes(),
        assess(&s, Cutoff::AtSequence(6)).to_json_bytes()
    );
    assert_eq!(indicator(&latest, "every_stage").value, "0 of 2 stages");
}

#[test]
fn a_sequence_beyond_the_end_is_refused() {
    let s = withdrawn_meeting();
    assert_eq!(
        try_assess(&s, Cutoff::AtSequence(7)),
        Err(AssessError::SequenceBeyondEnd {
            requested: 7,
            last: 6
        })
    );
}

#[test]
fn an_instant_before_registration_has_nothing_recorded() {
    use chrono::Duration;
    let s = withdrawn_meeting();
    assert_eq!(
        try_assess(&s, Cutoff::AsOf(start() - Duration::microseconds(1))),
        Err(AssessError::NothingRecorded)
    );
    assert_eq!(
        try_assess(&s, Cutoff::AtSequence(0)),
        Err(AssessError::NothingRecorded)
    );
    let at_registration = assess(&s, Cutoff::AsOf(start()));
    assert_eq!(at_registration.at_sequence, 1);
    assert_eq!(at_registration.stream_digest, digest_of(1));
}
