//! Given/when/then tests of the dates a council could mean: none before 2000-01-01, nothing in a
//! project before it started, no stage before the stage before it started, and no stage ending
//! before it started. Refusals are checked by variant and path, never by message.

use coprod_domain::testkit::facts::*;
use coprod_domain::validate::earliest_date;
use coprod_domain::*;

use ParticipantKind::LivedExperience;
use Stage::{Commission, Design};

/// The testkit's project starts on this day.
fn project_start() -> chrono::NaiveDate {
    date(2025, 1, 6)
}

fn started_on(stage: Stage, on: chrono::NaiveDate) -> Fact {
    Fact::StageStarted(StageStarted {
        stage,
        occurred_on: on,
    })
}

fn completed_on(stage: Stage, on: chrono::NaiveDate) -> Fact {
    Fact::StageCompleted(StageCompleted {
        stage,
        occurred_on: on,
    })
}

fn joined_on(participant: &str, on: chrono::NaiveDate) -> Fact {
    Fact::ParticipantJoined(ParticipantJoined {
        occurred_on: on,
        ..joined(participant, LivedExperience)
    })
}

// ---- the earliest date -------------------------------------------------------------------------

#[tokio::test]
async fn a_stage_started_in_the_year_zero_is_refused_at_its_date() {
    let year_zero = chrono::NaiveDate::from_ymd_opt(0, 1, 1).expect("a date");
    let outcome = when(history(vec![]), record(started_on(Commission, year_zero))).await;
    assert_eq!(field_paths(outcome), ["/occurred_on"]);
}

#[tokio::test]
async fn a_project_started_on_the_first_day_of_year_one_is_refused_at_its_start() {
    let registration = ProjectRegistered {
        started_on: date(1, 1, 1),
        ..registration()
    };
    let outcome = when(vec![], register(registration)).await;
    assert_eq!(field_paths(outcome), ["/started_on"]);
}

#[tokio::test]
async fn a_project_may_start_on_the_first_of_january_2000_but_not_the_day_before() {
    assert_eq!(earliest_date(), date(2000, 1, 1));
    let on_the_day = ProjectRegistered {
        started_on: date(2000, 1, 1),
        ..registration()
    };
    assert!(when(vec![], register(on_the_day)).await.is_ok());

    let the_day_before = ProjectRegistered {
        started_on: date(1999, 12, 31),
        ..registration()
    };
    let outcome = when(vec![], register(the_day_before)).await;
    assert_eq!(field_paths(outcome), ["/started_on"]);
}

// ---- the project's start -----------------------------------------------------------------------

#[tokio::test]
async fn a_fact_dated_before_the_project_started_is_refused_at_its_date() {
    let the_day_before = project_start().pred_opt().expect("a date");
    let outcome = when(history(vec![]), record(joined_on("p1", the_day_before))).await;
    assert_eq!(field_paths(outcome), ["/occurred_on"]);
}

#[tokio::test]
async fn a_fact_dated_the_day_the_project_started_is_recorded() {
    let fact = joined_on("p1", project_start());
    let outcome = when(history(vec![]), record(fact.clone())).await;
    assert_eq!(outcome, recorded(vec![fact]));
}

#[tokio::test]
async fn every_kind_of_fact_is_refused_before_the_project_started() {
    let before = date(2024, 12, 31);
    let mut facts: Vec<Fact> = vec![
        join("p9", LivedExperience),
        leave("p1"),
        start(Stage::Design),
        complete(Commission),
        activity("a9", Commission, &["p1"], &[]),
        reward("p1", RewardKind::Payment, Some(2500), None),
        role("p1", Role::CoChair),
        contribution("c9", "p1", Commission),
        response("c1", Response::Adopted),
        decision("d9", Commission, &["p1"], &[]),
        outcome("o9", &["p1"], &["p1"]),
        correction(2),
        close(),
        people_told("d1"),
        feedback(&["c1"]),
    ];
    for fact in &mut facts {
        let mut json = serde_json::to_value(&*fact).expect("a fact as JSON");
        json["occurred_on"] = serde_json::json!(before.to_string());
        *fact = serde_json::from_value(json).expect("the fact back");
    }
    let kinds: Vec<&str> = facts.iter().map(Fact::event_type).collect();
    assert_eq!(kinds.len(), Fact::TYPES.len(), "one fact of every kind");
    for fact in facts {
        let kind = fact.event_type();
        let outcome = when(team(), record(fact)).await;
        assert_eq!(field_paths(outcome), ["/occurred_on"], "{kind}");
    }
}

// ---- the stages --------------------------------------------------------------------------------

#[tokio::test]
async fn a_stage_cannot_end_before_it_started() {
    let given = history(vec![started_on(Commission, date(2025, 2, 10))]);
    let outcome = when(given, record(completed_on(Commission, date(2025, 2, 9)))).await;
    assert_eq!(field_paths(outcome), ["/occurred_on"]);
}

#[tokio::test]
async fn a_stage_may_end_the_day_it_started() {
    let given = history(vec![started_on(Commission, date(2025, 2, 10))]);
    let fact = completed_on(Commission, date(2025, 2, 10));
    assert_eq!(
        when(given, record(fact.clone())).await,
        recorded(vec![fact])
    );
}

#[tokio::test]
async fn a_stage_cannot_start_before_the_stage_before_it_started() {
    let given = history(vec![started_on(Commission, date(2025, 2, 10))]);
    let outcome = when(given, record(started_on(Design, date(2025, 2, 1)))).await;
    assert_eq!(field_paths(outcome), ["/occurred_on"]);
}

#[tokio::test]
async fn a_stage_may_start_the_day_the_stage_before_it_started() {
    let given = history(vec![started_on(Commission, date(2025, 2, 10))]);
    let fact = started_on(Design, date(2025, 2, 10));
    assert_eq!(
        when(given, record(fact.clone())).await,
        recorded(vec![fact])
    );
}

#[tokio::test]
async fn a_withdrawn_stage_start_no_longer_bounds_the_stage_started_again() {
    // 2 commission started on 10 February, 3 that start withdrawn, 4 commission started on
    // 20 January: the stage now started on 20 January, and may end the next day.
    let given = history(vec![
        started_on(Commission, date(2025, 2, 10)),
        correction(2),
        started_on(Commission, date(2025, 1, 20)),
    ]);
    let fact = completed_on(Commission, date(2025, 1, 21));
    assert_eq!(
        when(given, record(fact.clone())).await,
        recorded(vec![fact])
    );
}

#[tokio::test]
async fn in_a_batch_a_date_refused_is_placed_under_its_event() {
    let outcome = when(
        history(vec![]),
        record_all(vec![
            started_on(Commission, date(2025, 2, 10)),
            completed_on(Commission, date(2025, 2, 3)),
        ]),
    )
    .await;
    assert_eq!(field_paths(outcome), ["/events/1/occurred_on"]);
}

#[test]
fn a_history_recorded_before_the_dates_were_checked_still_loads() {
    // A stage that, by the rules of today, started before the project and ended before it
    // started: entries already stored are never judged again.
    let project = project_from(history(vec![
        started_on(Commission, date(2024, 6, 1)),
        completed_on(Commission, date(2024, 5, 1)),
    ]));
    assert_eq!(project.sequence(), 3);
}
