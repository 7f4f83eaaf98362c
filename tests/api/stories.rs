//! Rubric version 2 through the API: the three example projects (consultation dressed up as
//! co-production; a co-designed project paused without the people involved, before and after the
//! pause; a co-produced project) posted as a client would, with the verdicts written down for
//! them, and a sealed version 2 assessment that verifies.

use chrono::{Days, NaiveDate};
use serde_json::{json, Value};

use crate::helpers::*;

const RESIDENTS: [&str; 6] = ["r1", "r2", "r3", "r4", "r5", "r6"];

/// The day the stories start on (the registration's `started_on`), plus `days`.
fn on(days: u64) -> String {
    NaiveDate::from_ymd_opt(2025, 1, 6)
        .and_then(|d| d.checked_add_days(Days::new(days)))
        .expect("a date")
        .to_string()
}

/// A respite services project for carers that says it is at `declared` on the ladder.
async fn register(app: &TestApp, declared: &str) -> String {
    let body = json!({
        "title": "Respite services redesign",
        "organisation": "oxfordshire",
        "service_area": "carers",
        "priority_groups": ["carers"],
        "started_on": on(0),
        "declared_level": declared,
    });
    let receipt = app
        .register_as(&app.tokens.recorder, &body)
        .await
        .json_with(201);
    receipt["project_id"]
        .as_str()
        .expect("project_id")
        .to_string()
}

/// Six residents (lived experience and carers in turn) with these groups each, and two officers.
fn cast(groups: [&[&str]; 6]) -> Vec<Value> {
    let mut joins: Vec<Value> = RESIDENTS
        .iter()
        .zip(groups)
        .enumerate()
        .map(|(i, (id, groups))| {
            let kind = if i % 2 == 0 {
                "lived_experience"
            } else {
                "carer"
            };
            joined_on(id, kind, groups, &on(0))
        })
        .collect();
    joins.push(joined_on("o1", "professional", &[], &on(0)));
    joins.push(joined_on("o2", "professional", &[], &on(0)));
    joins
}

fn stage(stage: &str) -> Value {
    stage_started_on(stage, &on(0))
}

/// An activity of `kind`, on day `days`, with more fields (`mode`, `duration_minutes`…) merged in.
fn held(
    id: &str,
    stage: &str,
    kind: &str,
    facilitators: &[&str],
    attendees: &[&str],
    days: u64,
    more: Value,
) -> Value {
    let mut activity = json!({"type": "activity_held", "activity_id": id, "stage": stage,
        "kind": kind, "title": format!("Activity {id}"), "facilitators": facilitators,
        "attendees": attendees, "occurred_on": on(days)});
    merge(&mut activity, more);
    activity
}

/// A key decision by `method`; a vote is carried by everyone in `participants`.
fn decided(
    id: &str,
    stage: &str,
    method: &str,
    participants: &[&str],
    days: u64,
    more: Value,
) -> Value {
    let mut decision = json!({"type": "decision_made", "decision_id": id, "stage": stage,
        "subject": format!("Decision {id}"), "method": method, "participants": participants,
        "influenced_by": [], "outcome": "Agreed.", "occurred_on": on(days)});
    if method == "vote" {
        decision["votes"] = json!({"for": participants, "against": [], "abstain": []});
    }
    merge(&mut decision, more);
    decision
}

fn said(id: &str, who: &str, stage: &str) -> Value {
    json!({"type": "contribution_made", "contribution_id": id, "participant_id": who,
           "stage": stage, "kind": "idea", "summary": format!("Contribution {id}"),
           "occurred_on": on(0)})
}

fn answered(id: &str, response: &str) -> Value {
    json!({"type": "contribution_responded", "contribution_id": id, "response": response,
           "explanation": "Considered by the project group.", "occurred_on": on(0)})
}

fn fed_back(contributions: &[&str], method: &str) -> Value {
    json!({"type": "feedback_given", "contribution_ids": contributions, "method": method,
           "occurred_on": on(0)})
}

/// A payment to `who` for `activity` on day `days`, with more fields merged in.
fn paid(who: &str, activity: &str, days: u64, more: Value) -> Value {
    let mut reward = json!({"type": "reward_given", "participant_id": who, "kind": "payment",
        "amount_pence": 3000, "activity_id": activity, "occurred_on": on(days),
        "rate_pence_per_hour": 1500, "as_preferred": true});
    merge(&mut reward, more);
    reward
}

fn merge(into: &mut Value, more: Value) {
    if let (Some(into), Value::Object(more)) = (into.as_object_mut(), more) {
        into.extend(more);
    }
}

async fn assessment(app: &TestApp, id: &str, query: &str) -> Value {
    app.get(
        Some(&app.tokens.panel),
        &format!("/projects/{id}/assessment{query}"),
    )
    .await
    .json_with(200)
}

fn criterion<'a>(a: &'a Value, key: &str) -> &'a Value {
    a["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("no criterion {key}"))
}

fn indicator<'a>(a: &'a Value, key: &str) -> &'a Value {
    a["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .flat_map(|c| c["indicators"].as_array().expect("indicators"))
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no indicator {key}"))
}

fn rating<'a>(a: &'a Value, key: &str) -> &'a Value {
    &criterion(a, key)["rating"]
}

fn state<'a>(a: &'a Value, key: &str) -> &'a Value {
    &indicator(a, key)["state"]
}

fn flag_keys(a: &Value) -> Vec<&str> {
    a["overall"]["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| f["key"].as_str().expect("key"))
        .collect()
}

// ---- (a) consultation dressed up as co-production ---------------------------------------------

/// Officers decide alone; residents answer one online survey per stage for a £10 voucher.
async fn consultation_dressed_up(app: &TestApp) -> String {
    let id = register(app, "co_production").await;
    app.record(
        &id,
        batch(&cast([&["carers", "ethnicity: White British"]; 6])),
    )
    .await;
    for (n, stage_key) in ["commission", "design", "deliver"].into_iter().enumerate() {
        let (survey, comment, decision) = (format!("sv{n}"), format!("c{n}"), format!("d{n}"));
        let mut events = vec![
            stage(stage_key),
            held(
                &survey,
                stage_key,
                "survey",
                &["o1"],
                &RESIDENTS,
                0,
                json!({"mode": "online"}),
            ),
        ];
        for who in RESIDENTS {
            events.push(json!({"type": "reward_given", "participant_id": who,
                "kind": "voucher", "amount_pence": 1000, "activity_id": survey,
                "occurred_on": on(0)}));
        }
        events.extend([
            said(&comment, RESIDENTS[n], stage_key),
            answered(&comment, "acknowledged"),
            decided(
                &decision,
                stage_key,
                "professional_only",
                &["o1", "o2"],
                0,
                json!({"importance": "key", "influenced_by": [comment]}),
            ),
        ]);
        app.record(&id, batch(&events)).await;
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_consultation_dressed_up_as_co_production_then_the_api_places_it_at_consultation_and_flags_it(
) {
    each_backend(async |app| {
        let id = consultation_dressed_up(app).await;
        let a = assessment(app, &id, "").await;
        let overall = &a["overall"];
        assert_eq!(overall["ladder"]["rung"], "consultation", "{overall}");
        assert_eq!(overall["declared_level"], "co_production");
        assert_eq!(flag_keys(&a), ["declared_above_evidence"]);
        assert_eq!(
            overall["headline"],
            "This looks like consultation, not co-production: people gave their views, but did not help to decide."
        );
        for (key, want) in [
            ("whole_life_involvement", "not_met"),
            ("blurred_boundaries", "not_met"),
            ("reciprocal_reward", "partly_met"),
            ("diverse_group_involvement", "not_met"),
            ("equal_valuation_of_assets", "not_met"),
            ("shared_responsibility", "not_met"),
        ] {
            assert_eq!(rating(&a, key), want, "{key}: {}", criterion(&a, key)["summary"]);
        }
        for (key, want) in [
            ("from_the_start", "not_met"),
            ("rewarded_beyond_expenses", "not_met"),
            ("fair_rate", "not_recorded"),
            ("contributions_answered", "not_met"),
            ("influence", "not_met"),
            ("shared_decisions", "not_met"),
            ("failures_owned", "not_applicable"),
        ] {
            assert_eq!(state(&a, key), want, "{key}: {}", indicator(&a, key));
        }
        assert!(
            indicator(&a, "fair_rate")["missing_evidence"].is_string(),
            "{}",
            indicator(&a, "fair_rate")
        );

        // Version 1, asked for by name, still gives its old answer: surveys alone meet "whole
        // life involvement".
        let v1 = assessment(app, &id, "?rubric=oxfordshire-six-point@1").await;
        assert_eq!(v1["rubric"]["version"], 1);
        assert_eq!(rating(&v1, "whole_life_involvement"), "met");
        assert!(v1["overall"].get("ladder").is_none(), "{}", v1["overall"]);
    })
    .await;
}

// ---- (b) co-designed, then paused without the people involved -----------------------------------

/// Records the co-designed part in one request and the pause and its aftermath in later ones;
/// returns the project and the receipt of the co-designed part.
async fn co_designed_then_paused(app: &TestApp) -> (String, Value) {
    let id = register(app, "co_design").await;
    let mut events = cast([&["carers"]; 6]);
    events.extend([
        stage("commission"),
        held(
            "w1",
            "commission",
            "workshop",
            &["o1"],
            &RESIDENTS,
            0,
            json!({}),
        ),
        decided(
            "d1",
            "commission",
            "consensus",
            &["r1", "r2", "r3", "r4", "o1"],
            0,
            json!({}),
        ),
        stage("design"),
    ]);
    for w in ["w2", "w3"] {
        events.push(held(
            w,
            "design",
            "workshop",
            &["r1", "o1"],
            &["r2", "r3", "r4", "r5", "r6"],
            10,
            json!({}),
        ));
        events.extend(RESIDENTS.iter().map(|who| paid(who, w, 10, json!({}))));
    }
    events.extend([
        said("c1", "r2", "design"),
        said("c2", "r3", "design"),
        said("c3", "o1", "design"),
        answered("c1", "adopted"),
        answered("c2", "adopted"),
        answered("c3", "adopted"),
        fed_back(&["c1", "c2", "c3"], "letter"),
        decided(
            "d2",
            "design",
            "vote",
            &["r1", "r2", "r3", "r4", "r5"],
            11,
            json!({"influenced_by": ["c1"]}),
        ),
    ]);
    for d in ["d3", "d4"] {
        events.push(decided(
            d,
            "design",
            "consensus",
            &["r1", "r2", "r3", "o1"],
            12,
            json!({}),
        ));
    }
    let co_designed = app.record(&id, batch(&events)).await;
    // Entries recorded later are stamped later.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.record(
        &id,
        decided(
            "d5",
            "design",
            "professional_only",
            &["o1", "o2"],
            40,
            json!({"importance": "key", "effect": "pause"}),
        ),
    )
    .await;
    let left = |who: &str| {
        json!({"type": "participant_left", "participant_id": who, "reason": "Left the group.",
               "reason_code": "project_stopped", "occurred_on": on(60)})
    };
    app.record(&id, batch(&[left("r5"), left("r6")])).await;
    app.record(
        &id,
        json!({"type": "people_told", "decision_id": "d5", "method": "letter",
               "occurred_on": on(90)}),
    )
    .await;
    (id, co_designed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_co_designed_project_paused_without_its_people_then_the_api_flags_and_caps_it_only_after_the_pause(
) {
    each_backend(async |app| {
        let (id, co_designed) = co_designed_then_paused(app).await;
        let before_sequence = co_designed["last_sequence"].as_u64().expect("last_sequence");
        let before_instant = co_designed["recorded_at"].as_str().expect("recorded_at");

        // Before the pause, asked by sequence and by instant: co-design, nothing flagged.
        let by_sequence = assessment(app, &id, &format!("?at_sequence={before_sequence}")).await;
        let by_instant = assessment(app, &id, &format!("?as_of={before_instant}")).await;
        for before in [&by_sequence, &by_instant] {
            assert_eq!(before["at_sequence"], before_sequence);
            assert_eq!(before["overall"]["ladder"]["rung"], "co_design", "{}", before["overall"]);
            assert!(flag_keys(before).is_empty(), "{}", before["overall"]);
            assert_eq!(rating(before, "shared_responsibility"), "met");
            assert!(criterion(before, "shared_responsibility").get("cap").is_none());
            assert_eq!(rating(before, "whole_life_involvement"), "met");
            assert_eq!(state(before, "changes_shared"), "not_applicable");
            assert_eq!(state(before, "retention"), "met");
            assert_eq!(
                before["overall"]["headline"],
                "This looks like co-design: people shared key decisions, but the project has not reached delivery yet."
            );
        }
        assert_eq!(by_sequence["criteria"], by_instant["criteria"]);

        // After it: flagged, with the pause as evidence, and shared responsibility capped.
        let after = assessment(app, &id, "").await;
        let pause = before_sequence + 1;
        assert_eq!(flag_keys(&after), ["unilateral_change"]);
        // The evidence: the pause, and the letter telling people of it later (after two left).
        let told_later = pause + 3;
        assert_eq!(
            after["overall"]["flags"][0]["evidence"],
            json!([pause, told_later])
        );
        assert_eq!(after["overall"]["ladder"]["rung"], "co_design");
        assert_eq!(state(&after, "changes_shared"), "not_met");
        assert_eq!(state(&after, "shared_decisions"), "met", "four of five");
        let responsibility = criterion(&after, "shared_responsibility");
        assert_eq!(responsibility["rating"], "not_met");
        assert!(responsibility["cap"].is_string(), "{responsibility}");
        assert_eq!(state(&after, "retention"), "not_met");
        assert_eq!(rating(&after, "whole_life_involvement"), "partly_met");
        assert_eq!(
            after["overall"]["headline"],
            "This was co-design, but the project was paused without the people involved, and they were not told first."
        );
        assert_ne!(after["overall"], by_sequence["overall"]);
    })
    .await;
}

// ---- (c) co-produced ----------------------------------------------------------------------------

async fn co_produced(app: &TestApp) -> String {
    let id = register(app, "co_production").await;
    let everyone_but =
        |who: &str| -> Vec<&str> { RESIDENTS.iter().copied().filter(|r| *r != who).collect() };
    let mut events = cast([
        &["carers", "ethnicity: Somali"],
        &["carers", "ethnicity: Somali"],
        &["carers", "ethnicity: White British", "age_band: 65 to 74"],
        &["carers", "ethnicity: White British", "age_band: 65 to 74"],
        &["young carers", "ethnicity: Pakistani"],
        &["young carers", "ethnicity: Pakistani"],
    ]);
    events.extend([
        stage("commission"),
        held(
            "w1",
            "commission",
            "workshop",
            &["r1", "o1"],
            &everyone_but("r1"),
            0,
            json!({"mode": "hybrid", "locality": "Banbury", "duration_minutes": 120,
                   "adjustments_requested": 2, "adjustments_provided": 2}),
        ),
        decided(
            "d1",
            "commission",
            "consensus",
            &["r1", "r2", "r3", "o1"],
            0,
            json!({}),
        ),
        role_taken("r1", "co_chair"),
        role_taken("r2", "co_facilitator"),
        role_taken("o2", "learner"),
        stage("design"),
        held(
            "w2",
            "design",
            "workshop",
            &["r2", "o1"],
            &everyone_but("r2"),
            10,
            json!({"mode": "in_person", "locality": "Oxford", "duration_minutes": 120}),
        ),
        said("c1", "r3", "design"),
        said("c2", "r4", "design"),
        said("c3", "o1", "design"),
        answered("c1", "adopted"),
        answered("c2", "adapted"),
        answered("c3", "adopted"),
        fed_back(&["c1", "c2"], "in_person"),
        decided(
            "d2",
            "design",
            "vote",
            &["r1", "r2", "r3", "r4", "r5", "o1"],
            10,
            json!({"influenced_by": ["c1"]}),
        ),
        decided(
            "d3",
            "design",
            "consensus",
            &["r1", "r2", "r3", "o1"],
            10,
            json!({}),
        ),
        stage("deliver"),
        held(
            "w3",
            "deliver",
            "quality_check",
            &["r2"],
            &["r3", "r4", "r5", "r6"],
            20,
            json!({"duration_minutes": 60}),
        ),
        decided(
            "d4",
            "deliver",
            "lived_experience_led",
            &["r1", "r2"],
            20,
            json!({}),
        ),
        decided(
            "d5",
            "deliver",
            "professional_only",
            &["o1"],
            20,
            json!({"importance": "routine"}),
        ),
        decided(
            "d6",
            "deliver",
            "professional_only",
            &["o1", "o2"],
            21,
            json!({"ratifies": "d3"}),
        ),
    ]);
    for (activity, days, minutes, people) in [
        ("w1", 0, 120, RESIDENTS.to_vec()),
        ("w2", 10, 120, RESIDENTS.to_vec()),
        ("w3", 20, 60, vec!["r2", "r3", "r4", "r5", "r6"]),
    ] {
        for who in people {
            events.push(if who == "r4" {
                json!({"type": "reward_given", "participant_id": who, "kind": "payment",
                       "activity_id": activity, "declined": "benefit_rules",
                       "occurred_on": on(days)})
            } else {
                paid(
                    who,
                    activity,
                    days,
                    json!({"amount_pence": 1500 * minutes / 60}),
                )
            });
        }
    }
    events.extend([
        json!({"type": "reward_given", "participant_id": "r3", "kind": "learning",
               "occurred_on": on(20)}),
        json!({"type": "reward_given", "participant_id": "r5", "kind": "expenses",
               "amount_pence": 640, "activity_id": "w1", "occurred_on": on(3)}),
        json!({"type": "outcome_reviewed", "outcome_id": "o-1", "kind": "shortfall",
               "description": "Fewer young carers came than hoped.",
               "accountable": ["r1", "o1"], "reviewed_by": ["r1", "o1"], "occurred_on": on(0)}),
    ]);
    app.record(&id, batch(&events)).await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_co_produced_project_then_the_api_places_it_at_co_production_with_every_point_met()
{
    each_backend(async |app| {
        let id = co_produced(app).await;
        let a = assessment(app, &id, "").await;
        let overall = &a["overall"];
        assert_eq!(overall["ladder"]["rung"], "co_production", "{overall}");
        assert!(flag_keys(&a).is_empty(), "{overall}");
        assert_eq!(overall["met"], 6, "{overall}");
        assert_eq!(overall["insufficient_evidence"], 0);
        assert_eq!(
            overall["headline"],
            "This looks like co-production: people shared key decisions from the start and helped to deliver the project."
        );
        for c in a["criteria"].as_array().unwrap() {
            assert_eq!(c["rating"], "met", "{}: {}", c["key"], c["summary"]);
        }
    })
    .await;
}

// ---- a sealed version 2 assessment ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_sealed_version_2_assessment_then_it_verifies_and_a_version_1_seal_does_too() {
    each_backend(async |app| {
        let id = consultation_dressed_up(app).await;
        let path = format!("/projects/{id}/assessments");
        let mut sealed = Vec::new();
        for body in [
            json!({"purpose": "Adults scrutiny panel 2025-03-04"}),
            json!({"purpose": "Adults scrutiny panel 2025-03-04",
                   "rubric": "oxfordshire-six-point@1"}),
        ] {
            let answer = app
                .post(Some(&app.tokens.assurance), &path, &body)
                .await
                .json_with(201);
            sealed.push(answer);
        }
        for (answer, version) in sealed.iter().zip([2, 1]) {
            let seal = &answer["seal"];
            assert_eq!(seal["rubric"]["version"], version, "{seal}");
            assert_eq!(answer["assessment"]["rubric"]["version"], version);
            let check = app
                .get(
                    Some(&app.tokens.assurance),
                    &format!("{path}/{}/verify", seal["sequence"]),
                )
                .await
                .json_with(200);
            assert_eq!(check["outcome"], "holds", "@{version}: {check}");
            assert_eq!(check["valid"], true, "@{version}: {check}");
            assert_eq!(check["replayed_digest"], check["sealed_digest"], "{check}");
        }
        let v2 = &sealed[0]["assessment"]["overall"];
        assert_eq!(v2["ladder"]["rung"], "consultation", "{v2}");
    })
    .await;
}
