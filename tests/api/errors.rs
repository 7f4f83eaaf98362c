//! Every bad input of API.md: the status, `application/problem+json`, the stable `code`, the
//! pointer of the offending field, and that nothing was appended. (`send` also checks that no
//! answer is ever a 5xx.)

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_are_not_json_objects_are_400_and_append_nothing() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let json_type = "application/json";
        for (body, code) in [
            (r#"{"type": "participant_joined", "#, "invalid_json"),
            (r#"{"type": "participant_joined"}}"#, "invalid_json"),
            ("", "invalid_json"),
            ("   \n ", "invalid_json"),
            ("not json at all", "invalid_json"),
        ] {
            app.assert_refused_raw(&id, json_type, body, 400, code, None)
                .await;
        }
        for body in [
            json!([]),
            json!([joined("p9", "carer", &[])]),
            json!("participant_joined"),
            json!(42),
            json!(null),
        ] {
            app.assert_refused(&id, &body, 400, "validation_failed", Some("/"))
                .await;
        }
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

        // Unknown fields, at the top level, nested, and inside a batch.
        let mut extra = joined("p9", "carer", &[]);
        extra["nickname"] = json!("Jo");
        app.assert_refused(&id, &extra, 400, "unknown_field", Some("/nickname"))
            .await;
        let mut vote = json!({"type": "decision_made", "decision_id": "d1", "stage": "commission",
            "subject": "Venue", "method": "vote", "participants": ["p1", "p2"],
            "votes": {"for": ["p1"], "against": ["p2"], "abstain": []},
            "influenced_by": [], "outcome": "Library", "occurred_on": DAY});
        let mut nested = vote.clone();
        nested["votes"]["maybe"] = json!([]);

        app.assert_refused(&id, &nested, 400, "unknown_field", Some("/votes/maybe"))
            .await;
        app.assert_refused(
            &id,
            &batch(&[joined("p8", "carer", &[]), extra.clone()]),
            400,
            "unknown_field",
            Some("/events/1/nickname"),
        )
        .await;

        // Unknown event types, including the one only the server writes.
        let tea = json!({"type": "tea_served", "occurred_on": DAY});
        app.assert_refused(&id, &tea, 400, "unknown_event_type", Some("/type"))
            .await;
        let registered = json!({"type": "project_registered", "project_id": Uuid::new_v4(),
            "title": "Again", "organisation": "oxfordshire", "service_area": "carers",
            "priority_groups": [], "started_on": DAY});
        app.assert_refused(&id, &registered, 400, "unknown_event_type", Some("/type"))
            .await;
        app.assert_refused(
            &id,
            &batch(&[joined("p8", "carer", &[]), tea.clone()]),
            400,
            "unknown_event_type",
            Some("/events/1/type"),
        )
        .await;
        let untyped =
            json!({"participant_id": "p9", "kind": "carer", "groups": [], "occurred_on": DAY});
        app.assert_refused(&id, &untyped, 400, "validation_failed", Some("/type"))
            .await;
        let mut numbered = joined("p9", "carer", &[]);
        numbered["type"] = json!(7);
        app.assert_refused(&id, &numbered, 400, "validation_failed", Some("/type"))
            .await;

        // Unknown enum values.
        app.assert_refused(
            &id,
            &joined("p9", "wizard", &[]),
            400,
            "validation_failed",
            Some("/kind"),
        )
        .await;
        app.assert_refused(
            &id,
            &stage_started("celebrate"),
            400,
            "validation_failed",
            Some("/stage"),
        )
        .await;
        vote["method"] = json!("coin_toss");
        app.assert_refused(&id, &vote, 400, "validation_failed", Some("/method"))
            .await;

        // Dates that do not parse.
        for date in [
            "2025-13-45",
            "yesterday",
            "03/02/2025",
            "2025-02-03T10:00:00Z",
        ] {
            let mut bad_date = joined("p9", "carer", &[]);
            bad_date["occurred_on"] = json!(date);
            app.assert_refused(
                &id,
                &bad_date,
                400,
                "validation_failed",
                Some("/occurred_on"),
            )
            .await;
        }

        // Missing required fields.
        for field in ["kind", "participant_id", "groups", "occurred_on"] {
            let mut missing = joined("p9", "carer", &[]);
            missing.as_object_mut().unwrap().remove(field);
            app.assert_refused(
                &id,
                &missing,
                400,
                "validation_failed",
                Some(&format!("/{field}")),
            )
            .await;
        }
        let mut missing_in_batch = joined("p9", "carer", &[]);
        missing_in_batch.as_object_mut().unwrap().remove("kind");
        app.assert_refused(
            &id,
            &batch(&[joined("p8", "carer", &[]), missing_in_batch]),
            400,
            "validation_failed",
            Some("/events/1/kind"),
        )
        .await;

        // Wrong JSON types for a field.
        let mut amount = reward("p1", None);
        amount["amount_pence"] = json!("ten pounds");
        app.assert_refused(
            &id,
            &amount,
            400,
            "validation_failed",
            Some("/amount_pence"),
        )
        .await;
        let mut fractional = reward("p1", None);
        fractional["amount_pence"] = json!(10.5);
        app.assert_refused(
            &id,
            &fractional,
            400,
            "validation_failed",
            Some("/amount_pence"),
        )
        .await;
        let mut groups = joined("p9", "carer", &[]);
        groups["groups"] = json!("carers");
        app.assert_refused(&id, &groups, 400, "validation_failed", Some("/groups"))
            .await;

        // A batch: only `events`, which must be a list of objects.
        let mut extra_top = batch(&[joined("p9", "carer", &[])]);
        extra_top["note"] = json!("from the spreadsheet");
        app.assert_refused(&id, &extra_top, 400, "unknown_field", Some("/note"))
            .await;
        app.assert_refused(
            &id,
            &json!({"events": {"type": "stage_started"}}),
            400,
            "validation_failed",
            Some("/events"),
        )
        .await;
        app.assert_refused(
            &id,
            &json!({"events": [joined("p9", "carer", &[]), "p10"]}),
            400,
            "validation_failed",
            Some("/events/1"),
        )
        .await;
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
        app.assert_refused(
            &id,
            &votes_as_list,
            400,
            "validation_failed",
            Some("/votes"),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_batch_is_422() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        app.assert_refused(
            &id,
            &json!({"events": []}),
            422,
            "validation_failed",
            Some("/events"),
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
        app.assert_refused_raw(
            &id,
            "application/json",
            big.to_string(),
            413,
            "payload_too_large",
            None,
        )
        .await;
        let registration_body = {
            let mut body = registration("Big", "oxfordshire");
            body["description"] = json!("x".repeat(2 * 1024 * 1024));
            body.to_string()
        };
        app.post_raw(
            Some(&app.tokens.recorder),
            "/projects",
            "application/json",
            registration_body,
        )
        .await
        .problem(413, "payload_too_large");

        let fact = joined("p9", "carer", &[]).to_string();
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/xml",
        ] {
            app.assert_refused_raw(
                &id,
                content_type,
                fact.clone(),
                415,
                "unsupported_media_type",
                None,
            )
            .await;
        }
        // No Content-Type at all.
        let before = app.sequence(&id).await;
        app.send(
            app.request(
                Method::POST,
                &format!("/projects/{id}/events"),
                Some(&app.tokens.recorder),
            )
            .body(fact.clone()),
        )
        .await
        .problem(415, "unsupported_media_type");
        app.assert_sequence(&id, before, "a body without Content-Type")
            .await;
        app.post_raw(
            Some(&app.tokens.recorder),
            "/projects",
            "text/plain",
            registration("Plain", "oxfordshire").to_string(),
        )
        .await
        .problem(415, "unsupported_media_type");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_naming_unknown_things_or_out_of_order_stages_are_422_with_the_rule_code() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                role_taken("p404", "co_chair"),
                "unknown_participant",
                "/participant_id",
            ),
            (
                reward("p404", None),
                "unknown_participant",
                "/participant_id",
            ),
            (
                activity("a1", "commission", &["p1"], &["p2", "p404"]),
                "unknown_participant",
                "/attendees/1",
            ),
            (
                activity("a1", "commission", &["p404"], &["p2"]),
                "unknown_participant",
                "/facilitators/0",
            ),
            (
                decision("d1", "commission", &["p1", "p404"], &[]),
                "unknown_participant",
                "/participants/1",
            ),
            (
                outcome("o1", &["p404"], &["p1"]),
                "unknown_participant",
                "/accountable/0",
            ),
            (
                outcome("o1", &["p1"], &["p404"]),
                "unknown_participant",
                "/reviewed_by/0",
            ),
            (
                json!({"type": "participant_left", "participant_id": "p404", "occurred_on": DAY}),
                "unknown_participant",
                "/participant_id",
            ),
            (
                contribution("c1", "p404", "commission"),
                "unknown_participant",
                "/participant_id",
            ),
            (
                contribution("c1", "p3", "commission"),
                "participant_has_left",
                "/participant_id",
            ),
            (
                activity("a1", "commission", &["p1"], &["p3"]),
                "participant_has_left",
                "/attendees/0",
            ),
            (
                reward("p1", Some("a404")),
                "unknown_activity",
                "/activity_id",
            ),
            (
                responded("c404"),
                "unknown_contribution",
                "/contribution_id",
            ),
            (
                decision("d1", "commission", &["p1"], &["c404"]),
                "unknown_contribution",
                "/influenced_by/0",
            ),
            (stage_started("deliver"), "stage_out_of_order", "/stage"),
            (stage_started("commission"), "stage_out_of_order", "/stage"),
            (
                activity("a1", "design", &["p1"], &["p2"]),
                "stage_not_started",
                "/stage",
            ),
            (
                contribution("c1", "p1", "deliver"),
                "stage_not_started",
                "/stage",
            ),
            (
                decision("d1", "assess", &["p1"], &[]),
                "stage_not_started",
                "/stage",
            ),
            (
                json!({"type": "stage_completed", "stage": "design", "occurred_on": DAY}),
                "stage_not_started",
                "/stage",
            ),
        ];
        for (body, code, path) in &cases {
            app.assert_refused(&id, body, 422, code, Some(path)).await;
        }
        // A response needs the contribution; a second response needs a correction first.
        app.record(&id, contribution("c1", "p1", "commission"))
            .await;
        app.record(&id, responded("c1")).await;
        app.assert_refused(
            &id,
            &responded("c1"),
            422,
            "already_responded",
            Some("/contribution_id"),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn well_formed_facts_breaking_field_rules_are_422_validation_failed() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
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
        let cases: Vec<(Value, &str)> = vec![
            (joined("has space", "carer", &[]), "/participant_id"),
            (joined(&"x".repeat(65), "carer", &[]), "/participant_id"),
            (joined("", "carer", &[]), "/participant_id"),
            (joined("p9", "carer", &[&"g".repeat(61)]), "/groups/0"),
            (
                joined(
                    "p9",
                    "carer",
                    &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"],
                ),
                "/groups",
            ),
            (payment, "/amount_pence"),
            (negative, "/amount_pence"),
            (long_summary, "/summary"),
            (no_votes, "/votes"),
            (outsider_vote, "/votes/against/0"),
            (blank, "/summary"),
            (correction(0), "/corrects_sequence"),
        ];
        for (body, path) in &cases {
            app.assert_refused(&id, body, 422, "validation_failed", Some(path))
                .await;
        }
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
        let cases: Vec<(Value, &str)> = vec![
            (joined("p1", "carer", &[]), "/participant_id"),
            (joined("p3", "carer", &[]), "/participant_id"),
            (activity("a1", "commission", &["p1"], &[]), "/activity_id"),
            (contribution("c1", "p2", "commission"), "/contribution_id"),
            (decision("d1", "commission", &["p1"], &[]), "/decision_id"),
            (outcome("o1", &["p1"], &["p2"]), "/outcome_id"),
        ];
        for (body, path) in &cases {
            app.assert_refused(&id, body, 409, "duplicate_id", Some(path))
                .await;
        }
        // Twice in one batch.
        app.assert_refused(
            &id,
            &batch(&[joined("p7", "carer", &[]), joined("p7", "carer", &[])]),
            409,
            "duplicate_id",
            Some("/events/1/participant_id"),
        )
        .await;

        // A project id registered twice.
        let chosen = Uuid::new_v4().to_string();
        let mut body = registration("Once", "oxfordshire");
        body["project_id"] = json!(chosen);
        app.register_as(&app.tokens.recorder, &body)
            .await
            .expect(201);
        body["title"] = json!("Twice");
        app.register_as(&app.tokens.recorder, &body)
            .await
            .problem_at(409, "duplicate_id", "/project_id");
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
        for body in [
            joined("p9", "carer", &[]),
            stage_started("design"),
            closed(),
            batch(&[joined("p9", "carer", &[])]),
        ] {
            app.assert_refused(&id, &body, 422, "project_closed", None)
                .await;
        }
        app.assert_refused(
            &id,
            &joined("p9", "carer", &[]),
            422,
            "project_closed",
            Some("/type"),
        )
        .await;
        // A batch that corrects and then adds a fact is refused as a whole.
        app.assert_refused(
            &id,
            &batch(&[correction(2), joined("p9", "carer", &[])]),
            422,
            "project_closed",
            Some("/events/1/type"),
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
        app.assert_refused(
            &id,
            &correction(1),
            422,
            "correction_not_allowed",
            Some("/corrects_sequence"),
        )
        .await;
        app.assert_refused(
            &id,
            &correction(8),
            422,
            "unknown_entry",
            Some("/corrects_sequence"),
        )
        .await;
        app.assert_refused(
            &id,
            &correction(999),
            422,
            "unknown_entry",
            Some("/corrects_sequence"),
        )
        .await;
        app.record(&id, correction(2)).await;
        app.assert_refused(
            &id,
            &correction(2),
            422,
            "already_withdrawn",
            Some("/corrects_sequence"),
        )
        .await;
        app.assert_refused(
            &id,
            &correction(8),
            422,
            "correction_not_allowed",
            Some("/corrects_sequence"),
        )
        .await;
        // A stage start cannot be withdrawn while a later stage has started.
        app.record(&id, stage_started("design")).await;
        app.assert_refused(
            &id,
            &correction(7),
            422,
            "correction_not_allowed",
            Some("/corrects_sequence"),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_event_in_the_middle_of_a_batch_appends_nothing() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let problem = app
            .assert_refused(
                &id,
                &batch(&[
                    joined("p10", "carer", &[]),
                    role_taken("p404", "co_chair"),
                    joined("p11", "carer", &[]),
                ]),
                422,
                "unknown_participant",
                Some("/events/1/participant_id"),
            )
            .await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
        // A rule that depends on an earlier event of the same batch is judged after it.
        app.record(
            &id,
            batch(&[joined("p10", "carer", &[]), role_taken("p10", "co_chair")]),
        )
        .await;
        app.assert_refused(
            &id,
            &batch(&[
                joined("p12", "carer", &[]),
                stage_started("design"),
                activity("a1", "deliver", &["p12"], &[]),
            ]),
            422,
            "stage_not_started",
            Some("/events/2/stage"),
        )
        .await;
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
        let post = |if_match: &str, body: Value| {
            let request = app
                .request(
                    Method::POST,
                    &format!("/projects/{id}/events"),
                    Some(&app.tokens.recorder),
                )
                .header("if-match", if_match)
                .json(&body);
            let app = &app;
            async move { app.send(request).await }
        };
        for stale in ["6", "8", "0"] {
            post(stale, joined("p9", "carer", &[]))
                .await
                .problem(409, "sequence_mismatch");
            app.assert_sequence(&id, 7, &format!("If-Match: {stale}"))
                .await;
        }
        for malformed in ["abc", "-1", "7.0", "\"\"", "W/\"7\""] {
            post(malformed, joined("p9", "carer", &[]))
                .await
                .problem(400, "validation_failed");
            app.assert_sequence(&id, 7, &format!("If-Match: {malformed}"))
                .await;
        }
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
        app.assert_refused(&id, &future, 422, "validation_failed", Some("/occurred_on"))
            .await;
        let mut in_batch = joined("p9", "carer", &[]);
        in_batch["occurred_on"] = json!("2999-01-01");
        app.assert_refused(
            &id,
            &batch(&[joined("p8", "carer", &[]), in_batch]),
            422,
            "validation_failed",
            Some("/events/1/occurred_on"),
        )
        .await;
        let mut registration_body = registration("Future", "oxfordshire");
        registration_body["started_on"] = json!(in_two_days.to_string());
        app.register_as(&app.tokens.recorder, &registration_body)
            .await
            .problem_at(422, "validation_failed", "/started_on");

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
        let post = |key: &str, body: &Value| {
            let request = app
                .request(
                    Method::POST,
                    &format!("/projects/{id}/events"),
                    Some(&app.tokens.recorder),
                )
                .header("idempotency-key", key)
                .json(body);
            let app = &app;
            async move { app.send(request).await }
        };
        let fact = joined("p9", "carer", &["carers"]);
        let first = post("key-1", &fact).await.expect(201);
        let retry = post("key-1", &fact).await.expect(201);
        assert_eq!(retry.body, first.body, "the identical answer");
        assert!(retry.content_type().starts_with("application/json"));
        app.assert_sequence(&id, 8, "a retry").await;

        let other = joined("p10", "carer", &[]);
        post("key-1", &other)
            .await
            .problem(422, "idempotency_key_reused");
        app.assert_sequence(&id, 8, "a reused key").await;
        // The first answer is still the one kept.
        assert_eq!(post("key-1", &fact).await.expect(201).body, first.body);

        let long_key = "k".repeat(201);
        post(&long_key, &other)
            .await
            .problem(400, "validation_failed");
        app.assert_sequence(&id, 8, "a key over 200 characters")
            .await;
        post("", &other).await.problem(400, "validation_failed");
        app.assert_sequence(&id, 8, "an empty key").await;
        let longest = "k".repeat(200);
        post(&longest, &other).await.expect(201);
        assert_eq!(post(&longest, &other).await.status.as_u16(), 201);
        app.assert_sequence(&id, 9, "a 200-character key and its retry")
            .await;

        // A refused request keeps no answer: after fixing the state it may succeed.
        let left = json!({"type": "participant_left", "participant_id": "p11", "occurred_on": DAY});
        post("key-2", &left)
            .await
            .problem(422, "unknown_participant");
        app.record(&id, joined("p11", "carer", &[])).await;
        post("key-2", &left).await.expect(201);

        // Registration is idempotent too.
        let register = |key: &str, body: &Value| {
            let request = app
                .request(Method::POST, "/projects", Some(&app.tokens.recorder))
                .header("idempotency-key", key)
                .json(body);
            let app = &app;
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
        register("reg-1", &registration("Another", "oxfordshire"))
            .await
            .problem(422, "idempotency_key_reused");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_registrations_are_refused_and_register_nothing() {
    each_backend(async |app| {
        let recorder = app.tokens.recorder.clone();
        let count = || async {
            app.get(Some(&app.tokens.admin), "/projects")
                .await
                .json_with(200)["projects"]
                .as_array()
                .unwrap()
                .len()
        };
        let mut unknown = registration("Unknown field", "oxfordshire");
        unknown["colour"] = json!("blue");
        app.register_as(&recorder, &unknown)
            .await
            .problem_at(400, "unknown_field", "/colour");
        let mut missing = registration("Missing", "oxfordshire");
        missing.as_object_mut().unwrap().remove("service_area");
        app.register_as(&recorder, &missing).await.problem_at(
            400,
            "validation_failed",
            "/service_area",
        );
        let mut bad_date = registration("Bad date", "oxfordshire");
        bad_date["started_on"] = json!("6 January 2025");
        app.register_as(&recorder, &bad_date).await.problem_at(
            400,
            "validation_failed",
            "/started_on",
        );
        let mut bad_id = registration("Bad id", "oxfordshire");
        bad_id["project_id"] = json!("not-a-uuid");
        app.register_as(&recorder, &bad_id).await.problem_at(
            400,
            "validation_failed",
            "/project_id",
        );
        // Other JSON types than an object, including an array of the fields in order.
        for body in [
            json!([
                null,
                "Positional",
                "oxfordshire",
                "carers",
                null,
                [],
                "2025-01-06"
            ]),
            json!([]),
            json!("Carers"),
            json!(null),
            json!([registration("Array", "oxfordshire")]),
        ] {
            app.register_as(&recorder, &body)
                .await
                .problem_at(400, "validation_failed", "/");
        }
        app.post_raw(Some(&recorder), "/projects", "application/json", "")
            .await
            .problem(400, "invalid_json");
        app.post_raw(
            Some(&recorder),
            "/projects",
            "application/json",
            "{\"title\": ",
        )
        .await
        .problem(400, "invalid_json");
        let mut blank = registration("   ", "oxfordshire");
        blank["priority_groups"] = json!(["carers", "Carers "]);
        let problem =
            app.register_as(&recorder, &blank)
                .await
                .problem_at(422, "validation_failed", "/title");
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["path"] == "/priority_groups/1"),
            "every field rule is reported: {problem}"
        );
        app.register_as(
            &app.tokens.admin,
            &registration("Bad organisation", "Oxford shire"),
        )
        .await
        .problem_at(422, "validation_failed", "/organisation");
        assert_eq!(count().await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_assessment_queries_are_refused() {
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let panel = Some(app.tokens.panel.as_str());
        let ask = |query: &str| {
            let path = format!("/projects/{id}/assessment?{query}");
            let app = &app;
            async move { app.get(panel, &path).await }
        };
        let recorded_at = app.summary(&id).await["recorded_at"]
            .as_str()
            .unwrap()
            .to_string();
        ask(&format!("as_of={recorded_at}&at_sequence=2"))
            .await
            .problem(400, "validation_failed");
        for malformed in [
            "yesterday",
            "2025-02-30",
            "2025-02-03T25:00:00Z",
            "1700000000",
        ] {
            ask(&format!("as_of={malformed}"))
                .await
                .problem_at(400, "validation_failed", "as_of");
        }
        let future = chrono::Utc::now() + chrono::Duration::hours(1);
        ask(&format!("as_of={}", future.format("%Y-%m-%dT%H:%M:%SZ")))
            .await
            .problem_at(422, "validation_failed", "as_of");
        let tomorrow = chrono::Utc::now().date_naive() + chrono::Days::new(1);
        ask(&format!("as_of={tomorrow}"))
            .await
            .problem_at(422, "validation_failed", "as_of");
        ask("as_of=2000-01-01T00:00:00Z")
            .await
            .problem(422, "nothing_recorded");
        ask("at_sequence=8")
            .await
            .problem_at(422, "sequence_out_of_range", "at_sequence");
        ask("at_sequence=0").await.problem(400, "validation_failed");
        ask("at_sequence=-1")
            .await
            .problem(400, "validation_failed");
        ask("at_sequence=two")
            .await
            .problem(400, "validation_failed");
        for rubric in [
            "no-such-rubric@1",
            "oxfordshire-six-point@2",
            "oxfordshire-six-point@x",
            "@",
        ] {
            ask(&format!("rubric={rubric}"))
                .await
                .problem_at(422, "unknown_rubric", "rubric");
        }
        ask("colour=blue").await.problem(400, "unknown_field");
        ask("at_sequence=7&colour=blue")
            .await
            .problem(400, "unknown_field");
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
        let assurance = Some(app.tokens.assurance.as_str());
        let get = |path: String| {
            let app = &app;
            async move { app.get(assurance, &path).await }
        };
        for query in [
            "limit=0",
            "limit=1001",
            "limit=-5",
            "limit=many",
            "after=-1",
            "after=x",
            "page=2",
        ] {
            let resp = get(format!("/projects/{id}/events?{query}")).await;
            let code = if query.starts_with("page") {
                "unknown_field"
            } else {
                "validation_failed"
            };
            resp.problem(400, code);
        }
        get(format!("/projects/{id}/events?limit=0"))
            .await
            .problem_at(400, "validation_failed", "limit");

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
            get(format!("/projects/{id}/verify?{query}"))
                .await
                .problem(400, "validation_failed");
        }
        get(format!("/projects/{id}/verify?sequence=7&digest=nope"))
            .await
            .problem_at(400, "validation_failed", "digest");
        get(format!("/projects/{id}/verify?colour=blue"))
            .await
            .problem(400, "unknown_field");

        get("/projects?status=archived".into())
            .await
            .problem(400, "validation_failed");
        get("/projects?colour=blue".into())
            .await
            .problem(400, "unknown_field");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_projects_and_ids_that_are_not_uuids_are_404_on_every_project_endpoint() {
    each_backend(async |app| {
        let admin = Some(app.tokens.admin.as_str());
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
                app.get(admin, &path).await.problem(404, "not_found");
            }
            app.post(
                admin,
                &format!("/projects/{project}/events"),
                &joined("p1", "carer", &[]),
            )
            .await
            .problem(404, "not_found");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_get_problems_too() {
    each_backend(async |app| {
        let admin = Some(app.tokens.admin.as_str());
        // (`/` itself is the web pages' start page: see tests/web.rs.)
        for path in [
            "/nothing-here",
            "/projects/x/y/z",
            "//api/v2/projects",
            "//favicon.ico",
        ] {
            app.get(admin, path).await.problem(404, "not_found");
        }
        app.get(None, "/nothing-here")
            .await
            .problem(404, "not_found");
        let id = app.new_project().await;
        app.send(app.request(Method::DELETE, &format!("/projects/{id}"), admin))
            .await
            .problem(405, "method_not_allowed");
        app.send(app.request(Method::PUT, "/projects", admin))
            .await
            .problem(405, "method_not_allowed");
        app.assert_sequence(&id, 1, "DELETE").await;
    })
    .await;
}
