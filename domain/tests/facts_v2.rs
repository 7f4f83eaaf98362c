//! The facts rubric version 2 reads: the new optional fields and the two new fact types, each
//! rule refused with the field it concerns and nothing recorded, and old entries unchanged.
//! Given a history, when a command is handled, then the project records or refuses it.

use coprod_domain::testkit::facts::*;
use coprod_domain::*;
use serde_json::json;
use ParticipantKind::*;
use Stage::*;

fn decision_with(id: &str, change: impl FnOnce(&mut DecisionMade)) -> Fact {
    let mut made = decision_made(id, Commission, &["p1", "p2"], &[]);
    change(&mut made);
    Fact::DecisionMade(made)
}

fn reward_with(
    kind: RewardKind,
    amount: Option<i64>,
    change: impl FnOnce(&mut RewardGiven),
) -> Fact {
    let mut given = reward_given("p1", kind, amount, None);
    change(&mut given);
    Fact::RewardGiven(given)
}

fn activity_with(change: impl FnOnce(&mut ActivityHeld)) -> Fact {
    let mut held = activity_held("a1", Commission, &["p2"], &["p1"]);
    change(&mut held);
    Fact::ActivityHeld(held)
}

// ---- decisions ----------------------------------------------------------------------------------

#[tokio::test]
async fn given_no_such_decision_when_a_decision_ratifies_it_then_it_is_refused_at_ratifies() {
    let fact = decision_with("d2", |d| d.ratifies = Some("nope".into()));
    let outcome = when(team(), record(fact)).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownDecision {
            path: "/ratifies".into(),
            decision_id: "nope".into(),
        })
    );
}

#[tokio::test]
async fn given_a_decision_when_a_formal_decision_ratifies_it_then_it_is_recorded() {
    let given = team_and(vec![decision("d1", Commission, &["p1", "p2"], &[])]);
    let fact = decision_with("d2", |d| {
        d.method = DecisionMethod::ProfessionalOnly;
        d.participants = vec!["p2".into()];
        d.ratifies = Some("d1".into());
    });
    let outcome = when(given, record(fact.clone())).await;
    assert_eq!(outcome, recorded(vec![fact]));
}

#[tokio::test]
async fn given_a_batch_when_a_decision_ratifies_one_earlier_in_it_then_both_are_recorded() {
    let facts = vec![
        decision("d1", Commission, &["p1", "p2"], &[]),
        decision_with("d2", |d| d.ratifies = Some("d1".into())),
    ];
    let outcome = when(team(), record_all(facts.clone())).await;
    assert_eq!(outcome, recorded(facts));
}

#[tokio::test]
async fn given_no_such_decision_when_a_decision_departs_from_it_then_it_is_refused_at_departs_from()
{
    let fact = decision_with("d2", |d| {
        d.departs_from = Some("nope".into());
        d.departure_reason = Some("The budget was cut.".into());
    });
    let outcome = when(team(), record(fact)).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownDecision {
            path: "/departs_from".into(),
            decision_id: "nope".into(),
        })
    );
}

#[tokio::test]
async fn when_a_routine_decision_names_an_effect_then_it_is_refused_at_effect() {
    let fact = decision_with("d1", |d| {
        d.importance = Some(DecisionImportance::Routine);
        d.effect = Some(DecisionEffect::Pause);
    });
    assert_eq!(field_paths(when(team(), record(fact)).await), ["/effect"]);
}

#[tokio::test]
async fn when_a_key_decision_pauses_the_project_then_it_is_recorded() {
    let fact = decision_with("d1", |d| {
        d.importance = Some(DecisionImportance::Key);
        d.effect = Some(DecisionEffect::Pause);
    });
    let outcome = when(team(), record(fact.clone())).await;
    assert_eq!(outcome, recorded(vec![fact]));
}

#[tokio::test]
async fn when_a_decision_departs_without_a_reason_then_it_is_refused_at_departure_reason() {
    let given = team_and(vec![decision("d1", Commission, &["p1", "p2"], &[])]);
    let fact = decision_with("d2", |d| d.departs_from = Some("d1".into()));
    assert_eq!(
        field_paths(when(given, record(fact)).await),
        ["/departure_reason"]
    );
}

#[tokio::test]
async fn when_a_reason_for_departing_names_no_recommendation_then_it_is_refused_at_departs_from() {
    let fact = decision_with("d2", |d| d.departure_reason = Some("Money ran out.".into()));
    assert_eq!(
        field_paths(when(team(), record(fact)).await),
        ["/departs_from"]
    );
}

#[tokio::test]
async fn when_a_decision_both_ratifies_and_departs_then_it_is_refused_at_departs_from() {
    let given = team_and(vec![decision("d1", Commission, &["p1", "p2"], &[])]);
    let fact = decision_with("d2", |d| {
        d.ratifies = Some("d1".into());
        d.departs_from = Some("d1".into());
        d.departure_reason = Some("Money ran out.".into());
    });
    assert_eq!(
        field_paths(when(given, record(fact)).await),
        ["/departs_from"]
    );
}

// ---- people told and feedback given ---------------------------------------------------------

#[tokio::test]
async fn given_no_such_decision_when_people_are_told_about_it_then_it_is_refused_at_decision_id() {
    let outcome = when(team(), record(people_told("d9"))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownDecision {
            path: "/decision_id".into(),
            decision_id: "d9".into(),
        })
    );
}

#[tokio::test]
async fn given_a_decision_when_people_are_told_about_it_then_it_is_recorded() {
    let given = team_and(vec![decision("d1", Commission, &["p1", "p2"], &[])]);
    let outcome = when(given, record(people_told("d1"))).await;
    assert_eq!(outcome, recorded(vec![people_told("d1")]));
}

#[tokio::test]
async fn given_one_contribution_when_feedback_names_another_then_it_is_refused_at_that_id() {
    let given = team_and(vec![contribution("c1", "p1", Commission)]);
    let outcome = when(given, record(feedback(&["c1", "c9"]))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownContribution {
            path: "/contribution_ids/1".into(),
            contribution_id: "c9".into(),
        })
    );
}

#[tokio::test]
async fn when_feedback_names_no_contribution_then_it_is_refused_at_contribution_ids() {
    assert_eq!(
        field_paths(when(team(), record(feedback(&[]))).await),
        ["/contribution_ids"]
    );
}

#[tokio::test]
async fn given_a_contribution_when_feedback_is_given_then_it_is_recorded() {
    let given = team_and(vec![contribution("c1", "p1", Commission)]);
    let outcome = when(given, record(feedback(&["c1"]))).await;
    assert_eq!(outcome, recorded(vec![feedback(&["c1"])]));
}

// ---- rewards --------------------------------------------------------------------------------

#[tokio::test]
async fn when_a_reward_states_a_negative_hourly_rate_then_it_is_refused_at_the_rate() {
    let fact = reward_with(RewardKind::Payment, Some(3000), |r| {
        r.rate_pence_per_hour = Some(-1)
    });
    assert_eq!(
        field_paths(when(team(), record(fact)).await),
        ["/rate_pence_per_hour"]
    );
}

#[tokio::test]
async fn when_a_payment_is_turned_down_for_benefit_rules_then_it_needs_no_amount() {
    let fact = reward_with(RewardKind::Payment, None, |r| {
        r.declined = Some(DeclineReason::BenefitRules)
    });
    let outcome = when(team(), record(fact.clone())).await;
    assert_eq!(outcome, recorded(vec![fact]));
}

#[tokio::test]
async fn when_a_payment_of_unknown_amount_is_recorded_then_it_needs_no_amount() {
    let fact = reward_with(RewardKind::Voucher, None, |r| r.amount_unknown = Some(true));
    let outcome = when(team(), record(fact.clone())).await;
    assert_eq!(outcome, recorded(vec![fact]));
}

#[tokio::test]
async fn when_a_payment_has_no_amount_and_no_reason_then_the_amount_is_still_required() {
    let fact = reward_with(RewardKind::Payment, None, |_| {});
    assert_eq!(
        field_paths(when(team(), record(fact)).await),
        ["/amount_pence"]
    );
}

#[tokio::test]
async fn when_an_unknown_amount_comes_with_an_amount_then_it_is_refused_at_amount_unknown() {
    let fact = reward_with(RewardKind::Payment, Some(500), |r| {
        r.amount_unknown = Some(true)
    });
    assert_eq!(
        field_paths(when(team(), record(fact)).await),
        ["/amount_unknown"]
    );
}

#[tokio::test]
async fn when_support_is_recorded_as_a_payment_then_it_is_refused_at_support() {
    let fact = reward_with(RewardKind::Payment, Some(500), |r| {
        r.support = Some(SupportKind::Interpreter)
    });
    assert_eq!(field_paths(when(team(), record(fact)).await), ["/support"]);
}

#[tokio::test]
async fn when_expenses_are_turned_down_or_chosen_then_it_is_refused_at_those_fields() {
    let fact = reward_with(RewardKind::Expenses, Some(500), |r| {
        r.declined = Some(DeclineReason::Preference);
        r.as_preferred = Some(true);
    });
    assert_eq!(
        field_paths(when(team(), record(fact)).await),
        ["/declined", "/as_preferred"]
    );
}

#[tokio::test]
async fn when_an_interpreter_is_recorded_as_expenses_support_then_it_is_recorded() {
    let fact = reward_with(RewardKind::Expenses, Some(4500), |r| {
        r.support = Some(SupportKind::Interpreter)
    });
    let outcome = when(team(), record(fact.clone())).await;
    assert_eq!(outcome, recorded(vec![fact]));
}

// ---- participants, activities, registration --------------------------------------------------

#[tokio::test]
async fn when_a_carer_is_said_to_have_no_lived_experience_then_it_is_refused_at_the_flag() {
    let mut joined = joined("p9", Carer);
    joined.lived_experience = Some(false);
    let outcome = when(team(), record(Fact::ParticipantJoined(joined))).await;
    assert_eq!(field_paths(outcome), ["/lived_experience"]);
}

#[tokio::test]
async fn when_a_provider_joins_with_lived_experience_then_it_is_recorded() {
    let mut joined = joined("p9", Provider);
    joined.lived_experience = Some(true);
    let fact = Fact::ParticipantJoined(joined);
    let outcome = when(team(), record(fact.clone())).await;
    assert_eq!(outcome, recorded(vec![fact]));
}

#[tokio::test]
async fn when_an_activity_has_impossible_access_figures_then_each_field_is_named() {
    let fact = activity_with(|a| {
        a.duration_minutes = Some(0);
        a.adjustments_requested = Some(1);
        a.adjustments_provided = Some(2);
        a.locality = Some(" ".into());
    });
    assert_eq!(
        field_paths(when(team(), record(fact)).await),
        ["/locality", "/duration_minutes", "/adjustments_provided"]
    );
}

#[tokio::test]
async fn when_adjustments_made_are_given_without_those_asked_for_then_it_is_refused() {
    let fact = activity_with(|a| a.adjustments_provided = Some(1));
    assert_eq!(
        field_paths(when(team(), record(fact)).await),
        ["/adjustments_provided"]
    );
}

#[tokio::test]
async fn when_a_hybrid_activity_with_adjustments_is_held_then_it_is_recorded() {
    let fact = activity_with(|a| {
        a.mode = Some(ActivityMode::Hybrid);
        a.locality = Some("Banbury".into());
        a.duration_minutes = Some(120);
        a.adjustments_requested = Some(2);
        a.adjustments_provided = Some(2);
    });
    let outcome = when(team(), record(fact.clone())).await;
    assert_eq!(outcome, recorded(vec![fact]));
}

#[tokio::test]
async fn when_a_project_names_the_same_group_it_serves_twice_then_it_is_refused_at_that_group() {
    let mut registration = registration();
    registration.serves = Some(vec![
        "carer_status: carer".into(),
        "Carer_Status: Carer ".into(),
    ]);
    registration.declared_level = Some(LadderRung::CoProduction);
    let outcome = when(Vec::new(), register(registration)).await;
    assert_eq!(field_paths(outcome), ["/serves/1"]);
}

// ---- stored shape ------------------------------------------------------------------------------

#[test]
fn an_entry_without_the_new_fields_reads_and_writes_exactly_as_before() {
    let stored = json!({
        "type": "decision_made", "decision_id": "d1", "stage": "design", "subject": "Venue",
        "method": "consensus", "participants": ["p1"], "influenced_by": [], "outcome": "Agreed.",
        "occurred_on": "2025-01-06"
    });
    let event: ProjectEvent = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(serde_json::to_value(&event).unwrap(), stored);
    let text = serde_json::to_string(&event).unwrap();
    for field in [
        "importance",
        "effect",
        "ratifies",
        "departs_from",
        "departure_reason",
    ] {
        assert!(!text.contains(field), "{field} appeared in {text}");
    }
}

#[test]
fn an_entry_with_the_new_fields_reads_and_writes_them_back() {
    let stored = json!({
        "type": "reward_given", "participant_id": "p1", "kind": "payment",
        "activity_id": "a1", "occurred_on": "2025-01-06", "rate_pence_per_hour": 1500,
        "declined": "paid_by_partner", "as_preferred": true
    });
    let event: ProjectEvent = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(serde_json::to_value(&event).unwrap(), stored);
}
