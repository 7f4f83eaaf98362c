//! Every bad input of the API: the status, `application/problem+json`, the stable `code`, the
//! pointer of the offending field, and that nothing was written. Most tests are tables of
//! refusals (`kit::refusals`): each row names itself, all rows run, and the failures are listed
//! together. (`send` also checks that no answer is ever a 5xx.)

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;
use crate::kit::refusals::{assert_all_refused, refused, Refusals, Request, Who};

/// A project at sequence 7: p1 (lived experience), p2 (professional) and p4 (community
/// organisation) present, p3 joined and left, the commission stage started.
async fn project_in_commission(app: &TestApp) -> String {
    let id = app.new_project().await;
    app.record(
        &id,
        batch(&[
            joined("p1", "lived_experience", &["carers"]),
            joined("p2", "professional", &[]),
            joined("p3", "carer", &[]),
            json!({"type": "participant_left", "participant_id": "p3", "occurred_on": DAY}),
            joined("p4", "community_organisation", &["Somali community"]),
            stage_started("commission"),
        ]),
    )
    .await;
    assert_eq!(app.sequence(&id).await, 7);
    id
}

/// `body` posted to the project's events as JSON, by the recorder.
fn fact(id: &str, body: &Value) -> Request {
    Request::post(format!("/projects/{id}/events"), body)
}

/// `bytes` posted to the project's events with this Content-Type (or none), by the recorder.
fn fact_bytes(id: &str, content_type: Option<&'static str>, bytes: impl Into<Vec<u8>>) -> Request {
    Request::post_bytes(format!("/projects/{id}/events"), content_type, bytes)
}

/// `body` posted to `/projects` as JSON, by the recorder.
fn registering(body: &Value) -> Request {
    Request::post("/projects", body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_are_not_json_objects_are_400_and_append_nothing() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let json_type = Some("application/json");
        let not_json = |name: &str, body: &str| {
            refused(name, fact_bytes(&id, json_type, body), 400, "invalid_json")
        };
        let not_an_object = |name: &str, body: Value| {
            refused(name, fact(&id, &body), 400, "validation_failed").at("/")
        };
        assert_all_refused(
            app,
            Some(&id),
            vec![
                not_json("a body cut short", r#"{"type": "participant_joined", "#),
                not_json(
                    "a stray closing brace",
                    r#"{"type": "participant_joined"}}"#,
                ),
                not_json("an empty body", ""),
                not_json("only white space", "   \n "),
                not_json("text that is not JSON", "not json at all"),
                not_an_object("an empty list", json!([])),
                not_an_object("a list of one fact", json!([joined("p9", "carer", &[])])),
                not_an_object("a string", json!("participant_joined")),
                not_an_object("a number", json!(42)),
                not_an_object("null", json!(null)),
            ],
        )
        .await;
        // A charset parameter and a +json type are still JSON.
        app.post_raw(
            Some(&app.tokens.recorder),
            &format!("/projects/{id}/events"),
            "application/json; charset=utf-8",
            joined("p9", "carer", &[]).to_string(),
        )
        .await
        .expect(201);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_of_the_wrong_shape_are_400_with_the_pointer_of_the_field() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let shape = |name: &str, body: &Value, code: &'static str, path: &str| {
            refused(name, fact(&id, body), 400, code).at(path)
        };
        let mut rows = Vec::new();

        // Unknown fields, at the top level, nested, and inside a batch.
        let mut extra = joined("p9", "carer", &[]);
        extra["nickname"] = json!("Jo");
        let vote = json!({"type": "decision_made", "decision_id": "d1", "stage": "commission",
            "subject": "Venue", "method": "vote", "participants": ["p1", "p2"],
            "votes": {"for": ["p1"], "against": ["p2"], "abstain": []},
            "influenced_by": [], "outcome": "Library", "occurred_on": DAY});
        let mut nested = vote.clone();
        nested["votes"]["maybe"] = json!([]);
        rows.extend([
            shape("an unknown field", &extra, "unknown_field", "/nickname"),
            shape(
                "an unknown field in the votes",
                &nested,
                "unknown_field",
                "/votes/maybe",
            ),
            shape(
                "an unknown field in a batch",
                &batch(&[joined("p8", "carer", &[]), extra.clone()]),
                "unknown_field",
                "/events/1/nickname",
            ),
        ]);

        // Unknown event types, including the one only the server writes.
        let tea = json!({"type": "tea_served", "occurred_on": DAY});
        let registered = json!({"type": "project_registered", "project_id": Uuid::new_v4(),
            "title": "Again", "organisation": "oxfordshire", "service_area": "carers",
            "priority_groups": [], "started_on": DAY});
        let untyped =
            json!({"participant_id": "p9", "kind": "carer", "groups": [], "occurred_on": DAY});
        let mut numbered = joined("p9", "carer", &[]);
        numbered["type"] = json!(7);
        rows.extend([
            shape("an unknown type", &tea, "unknown_event_type", "/type"),
            shape(
                "the registration, which only the server writes",
                &registered,
                "unknown_event_type",
                "/type",
            ),
            shape(
                "an unknown type in a batch",
                &batch(&[joined("p8", "carer", &[]), tea.clone()]),
                "unknown_event_type",
                "/events/1/type",
            ),
            shape("no type", &untyped, "validation_failed", "/type"),
            shape(
                "a number for the type",
                &numbered,
                "validation_failed",
                "/type",
            ),
        ]);

        // Unknown enum values.
        let mut coin_toss = vote.clone();
        coin_toss["method"] = json!("coin_toss");
        rows.extend([
            shape(
                "an unknown kind of participant",
                &joined("p9", "wizard", &[]),
                "validation_failed",
                "/kind",
            ),
            shape(
                "an unknown stage",
                &stage_started("celebrate"),
                "validation_failed",
                "/stage",
            ),
            shape(
                "an unknown decision method",
                &coin_toss,
                "validation_failed",
                "/method",
            ),
        ]);

        // Dates that do not parse.
        for date in [
            "2025-13-45",
            "yesterday",
            "03/02/2025",
            "2025-02-03T10:00:00Z",
        ] {
            let mut bad_date = joined("p9", "carer", &[]);
            bad_date["occurred_on"] = json!(date);
            rows.push(shape(
                &format!("the date {date:?}"),
                &bad_date,
                "validation_failed",
                "/occurred_on",
            ));
        }

        // Missing required fields.
        for field in ["kind", "participant_id", "groups", "occurred_on"] {
            let mut missing = joined("p9", "carer", &[]);
            missing.as_object_mut().unwrap().remove(field);
            rows.push(shape(
                &format!("no {field}"),
                &missing,
                "validation_failed",
                &format!("/{field}"),
            ));
        }
        let mut missing_in_batch = joined("p9", "carer", &[]);
        missing_in_batch.as_object_mut().unwrap().remove("kind");
        rows.push(shape(
            "no kind in a batch",
            &batch(&[joined("p8", "carer", &[]), missing_in_batch]),
            "validation_failed",
            "/events/1/kind",
        ));

        // Wrong JSON types for a field.
        let mut amount = reward("p1", None);
        amount["amount_pence"] = json!("ten pounds");
        let mut fractional = reward("p1", None);
        fractional["amount_pence"] = json!(10.5);
        let mut groups = joined("p9", "carer", &[]);
        groups["groups"] = json!("carers");
        rows.extend([
            shape(
                "an amount in words",
                &amount,
                "validation_failed",
                "/amount_pence",
            ),
            shape(
                "a fractional amount",
                &fractional,
                "validation_failed",
                "/amount_pence",
            ),
            shape(
                "groups as one string",
                &groups,
                "validation_failed",
                "/groups",
            ),
        ]);

        // A batch: only `events`, which must be a list of objects.
        let mut extra_top = batch(&[joined("p9", "carer", &[])]);
        extra_top["note"] = json!("from the spreadsheet");
        rows.extend([
            shape(
                "a batch with another field",
                &extra_top,
                "unknown_field",
                "/note",
            ),
            shape(
                "a batch whose events are an object",
                &json!({"events": {"type": "stage_started"}}),
                "validation_failed",
                "/events",
            ),
            shape(
                "a batch with a string among its events",
                &json!({"events": [joined("p9", "carer", &[]), "p10"]}),
                "validation_failed",
                "/events/1",
            ),
        ]);

        assert_all_refused(app, Some(&id), rows).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_given_as_a_list_instead_of_an_object_are_400() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let votes_as_list = json!({"type": "decision_made", "decision_id": "d1",
            "stage": "commission", "subject": "Venue", "method": "vote",
            "participants": ["p1", "p2"], "votes": [["p1"], ["p2"], []],
            "influenced_by": [], "outcome": "Library", "occurred_on": DAY});
        assert_all_refused(
            app,
            Some(&id),
            vec![refused(
                "votes as a list",
                fact(&id, &votes_as_list),
                400,
                "validation_failed",
            )
            .at("/votes")],
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_batch_is_422() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        assert_all_refused(
            app,
            Some(&id),
            vec![refused(
                "an empty batch",
                fact(&id, &json!({"events": []})),
                422,
                "validation_failed",
            )
            .at("/events")],
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_413_and_other_media_types_415() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        // A well-formed fact padded past 1 MiB.
        let mut big = closed();
        big["summary"] = json!("x".repeat(1024 * 1024 + 10));
        let big_registration = {
            let mut body = registration("Big", "oxfordshire");
            body["description"] = json!("x".repeat(2 * 1024 * 1024));
            body.to_string()
        };
        let json_type = Some("application/json");
        let too_large = "payload_too_large";
        let mut rows = vec![
            refused(
                "a fact over 1 MiB",
                fact_bytes(&id, json_type, big.to_string()),
                413,
                too_large,
            ),
            refused(
                "a registration over 1 MiB",
                Request::post_bytes("/projects", json_type, big_registration),
                413,
                too_large,
            ),
        ];
        let joining = joined("p9", "carer", &[]).to_string();
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/xml",
        ] {
            rows.push(refused(
                format!("a fact sent as {content_type}"),
                fact_bytes(&id, Some(content_type), joining.clone()),
                415,
                "unsupported_media_type",
            ));
        }
        rows.extend([
            refused(
                "a fact without Content-Type",
                fact_bytes(&id, None, joining.clone()),
                415,
                "unsupported_media_type",
            ),
            refused(
                "a registration sent as text/plain",
                Request::post_bytes(
                    "/projects",
                    Some("text/plain"),
                    registration("Plain", "oxfordshire").to_string(),
                ),
                415,
                "unsupported_media_type",
            ),
        ]);
        assert_all_refused(app, Some(&id), rows).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_naming_unknown_things_or_out_of_order_stages_are_422_with_the_rule_code() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let rule = |name: &str, body: Value, code: &'static str, path: &str| {
            refused(name, fact(&id, &body), 422, code).at(path)
        };
        let unknown = "unknown_participant";
        let left = "participant_has_left";
        let not_started = "stage_not_started";
        let mut refusals = Refusals::new(app, Some(&id));
        refusals
            .check(vec![
                rule("a role for nobody", role_taken("p404", "co_chair"), unknown,
                    "/participant_id"),
                rule("a reward for nobody", reward("p404", None), unknown, "/participant_id"),
                rule("an unknown attendee", activity("a1", "commission", &["p1"], &["p2", "p404"]),
                    unknown, "/attendees/1"),
                rule("an unknown facilitator", activity("a1", "commission", &["p404"], &["p2"]),
                    unknown, "/facilitators/0"),
                rule("an unknown decision maker",
                    decision("d1", "commission", &["p1", "p404"], &[]), unknown,
                    "/participants/1"),
                rule("an unknown person accountable", outcome("o1", &["p404"], &["p1"]), unknown,
                    "/accountable/0"),
                rule("an unknown reviewer", outcome("o1", &["p1"], &["p404"]), unknown,
                    "/reviewed_by/0"),
                rule(
                    "nobody leaving",
                    json!({"type": "participant_left", "participant_id": "p404", "occurred_on": DAY}),
                    unknown,
                    "/participant_id",
                ),
                rule("a contribution by nobody", contribution("c1", "p404", "commission"),
                    unknown, "/participant_id"),
                rule("a contribution by someone who left", contribution("c1", "p3", "commission"),
                    left, "/participant_id"),
                rule("an attendee who left", activity("a1", "commission", &["p1"], &["p3"]), left,
                    "/attendees/0"),
                rule("a reward for an unknown activity", reward("p1", Some("a404")),
                    "unknown_activity", "/activity_id"),
                rule("a response to an unknown contribution", responded("c404"),
                    "unknown_contribution", "/contribution_id"),
                rule("a decision influenced by an unknown contribution",
                    decision("d1", "commission", &["p1"], &["c404"]), "unknown_contribution",
                    "/influenced_by/0"),
                rule("delivery before design", stage_started("deliver"), "stage_out_of_order",
                    "/stage"),
                rule("commissioning again", stage_started("commission"), "stage_out_of_order",
                    "/stage"),
                rule("an activity in a stage not started",
                    activity("a1", "design", &["p1"], &["p2"]), not_started, "/stage"),
                rule("a contribution in a stage not started",
                    contribution("c1", "p1", "deliver"), not_started, "/stage"),
                rule("a decision in a stage not started", decision("d1", "assess", &["p1"], &[]),
                    not_started, "/stage"),
                rule(
                    "completing a stage not started",
                    json!({"type": "stage_completed", "stage": "design", "occurred_on": DAY}),
                    not_started,
                    "/stage",
                ),
            ])
            .await;
        // A response needs the contribution; a second response needs a correction first.
        app.record(&id, contribution("c1", "p1", "commission"))
            .await;
        app.record(&id, responded("c1")).await;
        refusals
            .check(vec![rule("a second response", responded("c1"), "already_responded",
                "/contribution_id")])
            .await;
        refusals.assert_all_passed();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn well_formed_facts_breaking_field_rules_are_422_validation_failed() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let broken = |name: &str, body: Value, path: &str| {
            refused(name, fact(&id, &body), 422, "validation_failed").at(path)
        };
        let mut payment = reward("p1", None);
        payment.as_object_mut().unwrap().remove("amount_pence");
        let mut negative = reward("p1", None);
        negative["amount_pence"] = json!(-1);
        let mut long_summary = contribution("c1", "p1", "commission");
        long_summary["summary"] = json!("x".repeat(501));
        let mut no_votes = decision("d1", "commission", &["p1", "p2"], &[]);
        no_votes["method"] = json!("vote");
        let mut outsider_vote = no_votes.clone();
        outsider_vote["votes"] = json!({"for": ["p1"], "against": ["p9"], "abstain": []});
        let mut blank = closed();
        blank["summary"] = json!("   ");
        let eleven_groups = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"];
        assert_all_refused(
            app,
            Some(&id),
            vec![
                broken(
                    "an id with a space",
                    joined("has space", "carer", &[]),
                    "/participant_id",
                ),
                broken(
                    "an id of 65 characters",
                    joined(&"x".repeat(65), "carer", &[]),
                    "/participant_id",
                ),
                broken("an empty id", joined("", "carer", &[]), "/participant_id"),
                broken(
                    "a group of 61 characters",
                    joined("p9", "carer", &[&"g".repeat(61)]),
                    "/groups/0",
                ),
                broken(
                    "eleven groups",
                    joined("p9", "carer", &eleven_groups),
                    "/groups",
                ),
                broken("a payment without an amount", payment, "/amount_pence"),
                broken("a negative amount", negative, "/amount_pence"),
                broken("a summary of 501 characters", long_summary, "/summary"),
                broken("a vote without votes", no_votes, "/votes"),
                broken("a vote by an outsider", outsider_vote, "/votes/against/0"),
                broken("a blank summary", blank, "/summary"),
                broken(
                    "a correction of entry 0",
                    correction(0),
                    "/corrects_sequence",
                ),
            ],
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_2_fields_and_facts_breaking_their_rules_are_422_naming_the_field() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        app.record(
            &id,
            batch(&[
                decision("d1", "commission", &["p1", "p2"], &[]),
                contribution("c1", "p1", "commission"),
            ]),
        )
        .await;
        let refused_with = |name: &str, body: Value, code: &'static str, path: &str| {
            refused(name, fact(&id, &body), 422, code).at(path)
        };
        let mut ratifies_nothing = decision("d2", "commission", &["p2"], &[]);
        ratifies_nothing["method"] = json!("professional_only");
        ratifies_nothing["ratifies"] = json!("nope");
        let mut routine_pause = decision("d2", "commission", &["p1", "p2"], &[]);
        routine_pause["importance"] = json!("routine");
        routine_pause["effect"] = json!("pause");
        let mut negative_rate = reward("p1", None);
        negative_rate["rate_pence_per_hour"] = json!(-1);
        let told_of_nothing = json!({"type": "people_told", "decision_id": "d404",
                                     "method": "letter", "occurred_on": DAY});
        let feedback_on_nothing = json!({"type": "feedback_given", "contribution_ids": ["c404"],
                                         "method": "in_person", "occurred_on": DAY});
        assert_all_refused(
            app,
            Some(&id),
            vec![
                refused_with(
                    "a decision ratifying no decision",
                    ratifies_nothing,
                    "unknown_decision",
                    "/ratifies",
                ),
                refused_with(
                    "a routine decision that pauses the project",
                    routine_pause,
                    "validation_failed",
                    "/effect",
                ),
                refused_with(
                    "a reward at a rate below zero",
                    negative_rate,
                    "validation_failed",
                    "/rate_pence_per_hour",
                ),
                refused_with(
                    "people told of an unknown decision",
                    told_of_nothing,
                    "unknown_decision",
                    "/decision_id",
                ),
                refused_with(
                    "feedback on an unknown contribution",
                    feedback_on_nothing,
                    "unknown_contribution",
                    "/contribution_ids/0",
                ),
            ],
        )
        .await;
        // The same facts naming what exists are recorded.
        app.record(
            &id,
            json!({"type": "people_told", "decision_id": "d1", "method": "letter",
                   "occurred_on": DAY}),
        )
        .await;
        app.record(
            &id,
            json!({"type": "feedback_given", "contribution_ids": ["c1"], "method": "in_person",
                   "occurred_on": DAY}),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_declaring_an_unknown_level_or_bad_groups_served_are_refused() {
    each_backend(async |app| {
        let with = |field: &str, value: Value| {
            let mut body = registration("Respite redesign", "oxfordshire");
            body[field] = value;
            body
        };
        let bad = |name: &str, body: Value, status: u16, code: &'static str, path: &str| {
            refused(name, registering(&body), status, code).at(path)
        };
        assert_all_refused(
            app,
            None,
            vec![
                bad(
                    "a level that is not a rung of the ladder",
                    with("declared_level", json!("partnership")),
                    400,
                    "validation_failed",
                    "/declared_level",
                ),
                bad(
                    "a level given as a number",
                    with("declared_level", json!(7)),
                    400,
                    "validation_failed",
                    "/declared_level",
                ),
                bad(
                    "groups served alike but for case",
                    with(
                        "serves",
                        json!(["carer_status: carer", "Carer_status: carer "]),
                    ),
                    422,
                    "validation_failed",
                    "/serves/1",
                ),
                bad(
                    "a group served of 61 characters",
                    with("serves", json!(["g".repeat(61)])),
                    422,
                    "validation_failed",
                    "/serves/0",
                ),
            ],
        )
        .await;
        assert_eq!(app.project_count().await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_already_used_are_409_duplicate_id() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        app.record(
            &id,
            batch(&[
                activity("a1", "commission", &["p1"], &["p2"]),
                contribution("c1", "p1", "commission"),
                decision("d1", "commission", &["p1", "p2"], &["c1"]),
                outcome("o1", &["p2"], &["p1"]),
            ]),
        )
        .await;
        let again = |name: &str, body: Value, path: &str| {
            refused(name, fact(&id, &body), 409, "duplicate_id").at(path)
        };
        let mut refusals = Refusals::new(app, Some(&id));
        refusals
            .check(vec![
                again(
                    "a participant present",
                    joined("p1", "carer", &[]),
                    "/participant_id",
                ),
                again(
                    "a participant who left",
                    joined("p3", "carer", &[]),
                    "/participant_id",
                ),
                again(
                    "an activity",
                    activity("a1", "commission", &["p1"], &[]),
                    "/activity_id",
                ),
                again(
                    "a contribution",
                    contribution("c1", "p2", "commission"),
                    "/contribution_id",
                ),
                again(
                    "a decision",
                    decision("d1", "commission", &["p1"], &[]),
                    "/decision_id",
                ),
                again("an outcome", outcome("o1", &["p1"], &["p2"]), "/outcome_id"),
                again(
                    "twice in one batch",
                    batch(&[joined("p7", "carer", &[]), joined("p7", "carer", &[])]),
                    "/events/1/participant_id",
                ),
            ])
            .await;

        // A project id registered twice.
        let chosen = Uuid::new_v4().to_string();
        let mut body = registration("Once", "oxfordshire");
        body["project_id"] = json!(chosen);
        app.register_as(&app.tokens.recorder, &body)
            .await
            .expect(201);
        body["title"] = json!("Twice");
        refusals
            .check(vec![refused(
                "a project id registered twice",
                registering(&body),
                409,
                "duplicate_id",
            )
            .at("/project_id")])
            .await;
        refusals.assert_all_passed();
        let summary = app.summary(&chosen).await;
        assert_eq!(summary["title"], "Once");
        assert_eq!(summary["sequence"], 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_closure_only_corrections_are_accepted() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        app.record(&id, closed()).await;
        let after_closure =
            |name: &str, body: Value| refused(name, fact(&id, &body), 422, "project_closed");
        assert_all_refused(
            app,
            Some(&id),
            vec![
                after_closure("a participant", joined("p9", "carer", &[])),
                after_closure("a stage", stage_started("design")),
                after_closure("a second closure", closed()),
                after_closure("a batch", batch(&[joined("p9", "carer", &[])])),
                after_closure("a participant, at its type", joined("p9", "carer", &[])).at("/type"),
                // A batch that corrects and then adds a fact is refused as a whole.
                after_closure(
                    "a batch correcting then adding",
                    batch(&[correction(2), joined("p9", "carer", &[])]),
                )
                .at("/events/1/type"),
            ],
        )
        .await;
        let fix = app.record(&id, correction(2)).await;
        assert_eq!(fix["first_sequence"], 9);
        assert_eq!(app.summary(&id).await["status"], "closed");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_of_the_registration_unknown_or_withdrawn_entries_are_refused() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let correcting = |name: &str, sequence: u64, code: &'static str| {
            refused(name, fact(&id, &correction(sequence)), 422, code).at("/corrects_sequence")
        };
        let mut refusals = Refusals::new(app, Some(&id));
        refusals
            .check(vec![
                correcting("the registration", 1, "correction_not_allowed"),
                correcting("the next entry", 8, "unknown_entry"),
                correcting("an entry far ahead", 999, "unknown_entry"),
            ])
            .await;
        app.record(&id, correction(2)).await;
        refusals
            .check(vec![
                correcting("a withdrawn entry", 2, "already_withdrawn"),
                correcting("a correction", 8, "correction_not_allowed"),
            ])
            .await;
        // A stage start cannot be withdrawn while a later stage has started.
        app.record(&id, stage_started("design")).await;
        refusals
            .check(vec![correcting(
                "a stage start before a later stage",
                7,
                "correction_not_allowed",
            )])
            .await;
        refusals.assert_all_passed();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_event_in_the_middle_of_a_batch_appends_nothing() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let mut refusals = Refusals::new(app, Some(&id));
        refusals
            .check(vec![refused(
                "an unknown participant in the middle of a batch",
                fact(
                    &id,
                    &batch(&[
                        joined("p10", "carer", &[]),
                        role_taken("p404", "co_chair"),
                        joined("p11", "carer", &[]),
                    ]),
                ),
                422,
                "unknown_participant",
            )
            .at("/events/1/participant_id")
            .and("one error", |problem| {
                problem["errors"].as_array().unwrap().len() == 1
            })])
            .await;
        // A rule that depends on an earlier event of the same batch is judged after it.
        app.record(
            &id,
            batch(&[joined("p10", "carer", &[]), role_taken("p10", "co_chair")]),
        )
        .await;
        refusals
            .check(vec![refused(
                "an activity in a stage the same batch started later",
                fact(
                    &id,
                    &batch(&[
                        joined("p12", "carer", &[]),
                        stage_started("design"),
                        activity("a1", "deliver", &["p12"], &[]),
                    ]),
                ),
                422,
                "stage_not_started",
            )
            .at("/events/2/stage")])
            .await;
        refusals.assert_all_passed();
        let summary = app.summary(&id).await;
        assert!(
            summary["stages"].as_array().unwrap().len() == 1,
            "{summary}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_must_name_the_current_sequence() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let if_match = |value: &str, body: Value| fact(&id, &body).with_header("if-match", value);
        let mut rows = Vec::new();
        for stale in ["6", "8", "0"] {
            rows.push(refused(
                format!("If-Match: {stale}"),
                if_match(stale, joined("p9", "carer", &[])),
                409,
                "sequence_mismatch",
            ));
        }
        for malformed in ["abc", "-1", "7.0", "\"\"", "W/\"7\""] {
            rows.push(refused(
                format!("If-Match: {malformed}"),
                if_match(malformed, joined("p9", "carer", &[])),
                400,
                "validation_failed",
            ));
        }
        assert_all_refused(app, Some(&id), rows).await;
        app.assert_sequence(&id, 7, "every stale or malformed If-Match")
            .await;
        let post = |value: &str, body: Value| {
            let request = app
                .request(
                    Method::POST,
                    &format!("/projects/{id}/events"),
                    Some(&app.tokens.recorder),
                )
                .header("if-match", value)
                .json(&body);
            async move { app.send(request).await }
        };
        let receipt = post("7", joined("p9", "carer", &[])).await.json_with(201);
        assert_eq!(receipt["first_sequence"], 8);
        let quoted = post(
            "\"8\"",
            batch(&[joined("p10", "carer", &[]), joined("p11", "carer", &[])]),
        )
        .await
        .json_with(201);
        assert_eq!(quoted["last_sequence"], 10);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn occurred_on_after_tomorrow_is_422_and_tomorrow_is_accepted() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let today = chrono::Utc::now().date_naive();
        let in_two_days = today + chrono::Days::new(2);
        let mut future = joined("p9", "carer", &[]);
        future["occurred_on"] = json!(in_two_days.to_string());
        let mut in_batch = joined("p9", "carer", &[]);
        in_batch["occurred_on"] = json!("2999-01-01");
        let mut registration_body = registration("Future", "oxfordshire");
        registration_body["started_on"] = json!(in_two_days.to_string());
        assert_all_refused(
            app,
            Some(&id),
            vec![
                refused(
                    "a fact in two days",
                    fact(&id, &future),
                    422,
                    "validation_failed",
                )
                .at("/occurred_on"),
                refused(
                    "a fact in 2999, in a batch",
                    fact(&id, &batch(&[joined("p8", "carer", &[]), in_batch])),
                    422,
                    "validation_failed",
                )
                .at("/events/1/occurred_on"),
                refused(
                    "a project starting in two days",
                    registering(&registration_body),
                    422,
                    "validation_failed",
                )
                .at("/started_on"),
            ],
        )
        .await;

        let tomorrow = chrono::Utc::now().date_naive() + chrono::Days::new(1);
        let mut ok = joined("p9", "carer", &[]);
        ok["occurred_on"] = json!(tomorrow.to_string());
        app.record(&id, ok).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_replay_the_first_answer_and_refuse_another_body() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let keyed = |key: &str, body: &Value| fact(&id, body).with_header("idempotency-key", key);
        let post = |key: &str, body: &Value| {
            let request = app
                .request(
                    Method::POST,
                    &format!("/projects/{id}/events"),
                    Some(&app.tokens.recorder),
                )
                .header("idempotency-key", key)
                .json(body);
            async move { app.send(request).await }
        };
        let fact_body = joined("p9", "carer", &["carers"]);
        let first = post("key-1", &fact_body).await.expect(201);
        let retry = post("key-1", &fact_body).await.expect(201);
        assert_eq!(retry.body, first.body, "the identical answer");
        assert!(retry.content_type().starts_with("application/json"));
        app.assert_sequence(&id, 8, "a retry").await;

        let other = joined("p10", "carer", &[]);
        let mut refusals = Refusals::new(app, Some(&id));
        refusals
            .check(vec![
                refused(
                    "a used key with another body",
                    keyed("key-1", &other),
                    422,
                    "idempotency_key_reused",
                ),
                refused(
                    "a key over 200 characters",
                    keyed(&"k".repeat(201), &other),
                    400,
                    "validation_failed",
                ),
                refused("an empty key", keyed("", &other), 400, "validation_failed"),
            ])
            .await;
        app.assert_sequence(&id, 8, "a reused, a long and an empty key")
            .await;
        // The first answer is still the one kept.
        assert_eq!(post("key-1", &fact_body).await.expect(201).body, first.body);
        let longest = "k".repeat(200);
        post(&longest, &other).await.expect(201);
        assert_eq!(post(&longest, &other).await.status.as_u16(), 201);
        app.assert_sequence(&id, 9, "a 200-character key and its retry")
            .await;

        // A refused request keeps no answer: after fixing the state it may succeed.
        let left = json!({"type": "participant_left", "participant_id": "p11", "occurred_on": DAY});
        refusals
            .check(vec![refused(
                "a key first used by a refused request",
                keyed("key-2", &left),
                422,
                "unknown_participant",
            )])
            .await;
        app.record(&id, joined("p11", "carer", &[])).await;
        post("key-2", &left).await.expect(201);

        // Registration is idempotent too.
        let register = |key: &str, body: &Value| {
            let request = app
                .request(Method::POST, "/projects", Some(&app.tokens.recorder))
                .header("idempotency-key", key)
                .json(body);
            async move { app.send(request).await }
        };
        let body = registration("Idempotent", "oxfordshire");
        let first = register("reg-1", &body).await.expect(201);
        let again = register("reg-1", &body).await.expect(201);
        assert_eq!(again.body, first.body);
        assert_eq!(again.header("location"), first.header("location"));
        let projects = app
            .get(Some(&app.tokens.admin), "/projects")
            .await
            .json_with(200);
        let titled = projects["projects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["title"] == "Idempotent")
            .count();
        assert_eq!(titled, 1, "one project, however many retries");
        refusals
            .check(vec![refused(
                "a used registration key with another body",
                registering(&registration("Another", "oxfordshire"))
                    .with_header("idempotency-key", "reg-1"),
                422,
                "idempotency_key_reused",
            )])
            .await;
        refusals.assert_all_passed();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_registrations_are_refused_and_register_nothing() {
    each_backend(async |app| {
        let bad = |name: &str, body: &Value, status: u16, code: &'static str, path: &str| {
            refused(name, registering(body), status, code).at(path)
        };
        let mut unknown = registration("Unknown field", "oxfordshire");
        unknown["colour"] = json!("blue");
        let mut missing = registration("Missing", "oxfordshire");
        missing.as_object_mut().unwrap().remove("service_area");
        let mut bad_date = registration("Bad date", "oxfordshire");
        bad_date["started_on"] = json!("6 January 2025");
        let mut bad_id = registration("Bad id", "oxfordshire");
        bad_id["project_id"] = json!("not-a-uuid");
        let mut rows = vec![
            bad(
                "an unknown field",
                &unknown,
                400,
                "unknown_field",
                "/colour",
            ),
            bad(
                "no service area",
                &missing,
                400,
                "validation_failed",
                "/service_area",
            ),
            bad(
                "a date in words",
                &bad_date,
                400,
                "validation_failed",
                "/started_on",
            ),
            bad(
                "an id that is not a UUID",
                &bad_id,
                400,
                "validation_failed",
                "/project_id",
            ),
        ];
        // Other JSON types than an object, including an array of the fields in order.
        for (name, body) in [
            (
                "the fields in a list",
                json!([
                    null,
                    "Positional",
                    "oxfordshire",
                    "carers",
                    null,
                    [],
                    "2025-01-06"
                ]),
            ),
            ("an empty list", json!([])),
            ("a string", json!("Carers")),
            ("null", json!(null)),
            (
                "a list of one registration",
                json!([registration("Array", "oxfordshire")]),
            ),
        ] {
            rows.push(bad(name, &body, 400, "validation_failed", "/"));
        }
        let json_type = Some("application/json");
        let mut blank = registration("   ", "oxfordshire");
        blank["priority_groups"] = json!(["carers", "Carers "]);
        rows.extend([
            refused(
                "an empty body",
                Request::post_bytes("/projects", json_type, ""),
                400,
                "invalid_json",
            ),
            refused(
                "a body cut short",
                Request::post_bytes("/projects", json_type, "{\"title\": "),
                400,
                "invalid_json",
            ),
            bad(
                "a blank title and groups alike but for case",
                &blank,
                422,
                "validation_failed",
                "/title",
            )
            .and("every field rule is reported", |problem| {
                problem["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["path"] == "/priority_groups/1")
            }),
            refused(
                "an organisation with a space, by the administrator",
                registering(&registration("Bad organisation", "Oxford shire")).by(Who::Admin),
                422,
                "validation_failed",
            )
            .at("/organisation"),
        ]);
        assert_all_refused(app, None, rows).await;
        assert_eq!(app.project_count().await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_assessment_queries_are_refused() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let ask =
            |query: &str| Request::get(format!("/projects/{id}/assessment?{query}")).by(Who::Panel);
        let query = |query: &str, status: u16, code: &'static str| {
            refused(format!("?{query}"), ask(query), status, code)
        };
        let recorded_at = app.summary(&id).await["recorded_at"]
            .as_str()
            .unwrap()
            .to_string();
        let mut rows = vec![query(
            &format!("as_of={recorded_at}&at_sequence=2"),
            400,
            "validation_failed",
        )];
        for malformed in [
            "yesterday",
            "2025-02-30",
            "2025-02-03T25:00:00Z",
            "1700000000",
        ] {
            rows.push(query(&format!("as_of={malformed}"), 400, "validation_failed").at("as_of"));
        }
        let future = chrono::Utc::now() + chrono::Duration::hours(1);
        let tomorrow = chrono::Utc::now().date_naive() + chrono::Days::new(1);
        rows.extend([
            query(
                &format!("as_of={}", future.format("%Y-%m-%dT%H:%M:%SZ")),
                422,
                "validation_failed",
            )
            .at("as_of"),
            query(&format!("as_of={tomorrow}"), 422, "validation_failed").at("as_of"),
            query("as_of=2000-01-01T00:00:00Z", 422, "nothing_recorded"),
            query("at_sequence=8", 422, "sequence_out_of_range").at("at_sequence"),
            query("at_sequence=0", 400, "validation_failed"),
            query("at_sequence=-1", 400, "validation_failed"),
            query("at_sequence=two", 400, "validation_failed"),
        ]);
        for rubric in [
            "no-such-rubric@1",
            "oxfordshire-six-point@99",
            "oxfordshire-six-point@3",
            "oxfordshire-six-point@x",
            "@",
        ] {
            rows.push(query(&format!("rubric={rubric}"), 422, "unknown_rubric").at("rubric"));
        }
        rows.extend([
            query("colour=blue", 400, "unknown_field"),
            query("at_sequence=7&colour=blue", 400, "unknown_field"),
        ]);
        assert_all_refused(app, Some(&id), rows).await;
        let panel = Some(app.tokens.panel.as_str());
        app.get(panel, &format!("/projects/{id}/assessment?at_sequence=7"))
            .await
            .expect(200);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_trail_list_and_verify_queries_are_400() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let bad = |path: String, code: &'static str| {
            refused(
                path.clone(),
                Request::get(path).by(Who::Assurance),
                400,
                code,
            )
        };
        let mut rows = Vec::new();
        for query in [
            "limit=0",
            "limit=1001",
            "limit=-5",
            "limit=many",
            "after=-1",
            "after=x",
            "page=2",
        ] {
            let code = if query.starts_with("page") {
                "unknown_field"
            } else {
                "validation_failed"
            };
            rows.push(bad(format!("/projects/{id}/events?{query}"), code));
        }
        rows.push(
            bad(
                format!("/projects/{id}/events?limit=0"),
                "validation_failed",
            )
            .at("limit"),
        );

        let digest = app.summary(&id).await["digest"]
            .as_str()
            .unwrap()
            .to_string();
        for query in [
            "sequence=7".to_string(),
            format!("digest={digest}"),
            "sequence=7&digest=abc".to_string(),
            format!("sequence=7&digest=sha256:{}", "g".repeat(64)),
            format!("sequence=7&digest=sha256:{}", "0".repeat(63)),
            format!("sequence=7&digest=md5:{}", "0".repeat(64)),
            format!("sequence=seven&digest={digest}"),
        ] {
            rows.push(bad(
                format!("/projects/{id}/verify?{query}"),
                "validation_failed",
            ));
        }
        rows.extend([
            bad(
                format!("/projects/{id}/verify?sequence=7&digest=nope"),
                "validation_failed",
            )
            .at("digest"),
            bad(
                format!("/projects/{id}/verify?colour=blue"),
                "unknown_field",
            ),
            bad("/projects?status=archived".into(), "validation_failed"),
            bad("/projects?colour=blue".into(), "unknown_field"),
        ]);
        assert_all_refused(app, Some(&id), rows).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_projects_and_ids_that_are_not_uuids_are_404_on_every_project_endpoint() {
    each_backend(async |app| {
        let not_found = |request: Request, name: String| {
            refused(name, request.by(Who::Admin), 404, "not_found")
        };
        let mut rows = Vec::new();
        for project in [
            Uuid::new_v4().to_string(),
            "not-a-uuid".to_string(),
            "42".to_string(),
        ] {
            for path in [
                format!("/projects/{project}"),
                format!("/projects/{project}/events"),
                format!("/projects/{project}/verify"),
                format!("/projects/{project}/assessment"),
            ] {
                rows.push(not_found(Request::get(path.clone()), format!("GET {path}")));
            }
            let events = format!("/projects/{project}/events");
            rows.push(not_found(
                Request::post(events.clone(), &joined("p1", "carer", &[])),
                format!("POST {events}"),
            ));
        }
        assert_all_refused(app, None, rows).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_get_problems_too() {
    each_backend(async |app| {
        let mut refusals = Refusals::new(app, None);
        // (`/` itself is the web pages' start page: see tests/web.rs.)
        let mut rows: Vec<_> = [
            "/nothing-here",
            "/projects/x/y/z",
            "//api/v2/projects",
            "//favicon.ico",
        ]
        .into_iter()
        .map(|path| refused(path, Request::get(path).by(Who::Admin), 404, "not_found"))
        .collect();
        rows.push(refused(
            "/nothing-here without a token",
            Request::get("/nothing-here").by(Who::Nobody),
            404,
            "not_found",
        ));
        refusals.check(rows).await;
        let id = app.new_project().await;
        refusals.watch(&id);
        refusals
            .check(vec![
                refused(
                    "DELETE of a project",
                    Request::call(Method::DELETE, format!("/projects/{id}")).by(Who::Admin),
                    405,
                    "method_not_allowed",
                ),
                refused(
                    "PUT of the projects",
                    Request::call(Method::PUT, "/projects").by(Who::Admin),
                    405,
                    "method_not_allowed",
                ),
            ])
            .await;
        refusals.assert_all_passed();
        app.assert_sequence(&id, 1, "DELETE").await;
    })
    .await;
}
