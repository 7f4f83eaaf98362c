//! Registering, listing and summarising projects; the service endpoints; rubrics; OpenAPI.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_a_project_answers_201_with_location_and_a_receipt_for_entry_1() {
    each_backend(async |app| {
        let resp = app
            .register_as(
                &app.tokens.recorder,
                &registration("Carers' strategy refresh", "oxfordshire"),
            )
            .await
            .expect(201);
        let receipt = resp.json();
        let id = receipt["project_id"].as_str().expect("project_id");
        assert!(id.parse::<Uuid>().is_ok(), "{receipt}");
        assert_eq!(
            resp.header("location").as_deref(),
            Some(format!("/api/v1/projects/{id}").as_str())
        );
        assert!(resp.content_type().starts_with("application/json"));
        assert_eq!(receipt["sequence"], 1);
        assert!(is_digest(&receipt["digest"]), "{receipt}");
        assert!(is_stored_instant(&receipt["recorded_at"]), "{receipt}");
        let fields: Vec<&String> = receipt.as_object().unwrap().keys().collect();
        assert_eq!(
            fields,
            ["digest", "project_id", "recorded_at", "sequence"],
            "{receipt}"
        );

        // The same recorded_at and digest everywhere they appear.
        let trail = app.trail(id).await;
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0]["type"], "project_registered");
        assert_eq!(trail[0]["recorded_at"], receipt["recorded_at"]);
        assert_eq!(trail[0]["digest"], receipt["digest"]);
        assert_eq!(
            trail[0]["recorded_by"],
            recorded_by(&app.tokens.recorder, "recorder")
        );
        let summary = app.summary(id).await;
        assert_eq!(summary["recorded_at"], receipt["recorded_at"]);
        assert_eq!(summary["digest"], receipt["digest"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_may_choose_the_project_id() {
    each_backend(async |app| {
        let chosen = Uuid::new_v4().to_string();
        let mut body = registration("Day services review", "oxfordshire");
        body["project_id"] = json!(chosen);
        let resp = app.register_as(&app.tokens.admin, &body).await.expect(201);
        assert_eq!(resp.json()["project_id"], chosen.as_str());
        assert_eq!(
            resp.header("location"),
            Some(format!("/api/v1/projects/{chosen}"))
        );
        let summary = app.summary(&chosen).await;
        assert_eq!(summary["project_id"], chosen.as_str());
        assert_eq!(summary["title"], "Day services review");
        assert_eq!(
            app.trail(&chosen).await[0]["recorded_by"],
            recorded_by(&app.tokens.admin, "admin")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_project_list_filters_by_organisation_and_status() {
    each_backend(async |app| {
        let open = app.new_project_titled("Open project").await;
        let closing = app.new_project_titled("Closed project").await;
        app.record(&closing, closed()).await;
        let bucks = app
            .register_as(&app.tokens.bucks, &registration("Bucks project", "bucks"))
            .await
            .json_with(201)["project_id"]
            .as_str()
            .unwrap()
            .to_string();

        let ids = |body: &Value| -> Vec<String> {
            let mut ids: Vec<String> = body["projects"]
                .as_array()
                .expect("projects")
                .iter()
                .map(|p| p["project_id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        };
        let sorted = |mut v: Vec<&String>| {
            v.sort();
            v.into_iter().cloned().collect::<Vec<_>>()
        };
        let admin = Some(app.tokens.admin.as_str());

        let all = app.get(admin, "/projects").await.json_with(200);
        assert_eq!(ids(&all), sorted(vec![&open, &closing, &bucks]));
        let oxon = app
            .get(admin, "/projects?organisation=oxfordshire")
            .await
            .json_with(200);
        assert_eq!(ids(&oxon), sorted(vec![&open, &closing]));
        let closed_only = app
            .get(admin, "/projects?status=closed")
            .await
            .json_with(200);
        assert_eq!(ids(&closed_only), vec![closing.clone()]);
        let open_oxon = app
            .get(admin, "/projects?organisation=oxfordshire&status=open")
            .await
            .json_with(200);
        assert_eq!(ids(&open_oxon), vec![open.clone()]);
        let open_bucks = app
            .get(admin, "/projects?organisation=bucks&status=open")
            .await
            .json_with(200);
        assert_eq!(ids(&open_bucks), vec![bucks.clone()]);
        let nobody = app
            .get(admin, "/projects?organisation=nowhere")
            .await
            .json_with(200);
        assert_eq!(nobody, json!({"projects": []}));

        // Each listed project has the fields docs/api.md names.
        for project in all["projects"].as_array().unwrap() {
            for field in [
                "project_id",
                "title",
                "organisation",
                "status",
                "stage",
                "sequence",
                "digest",
                "scorecard",
            ] {
                assert!(project.get(field).is_some(), "{field} missing: {project}");
            }
            assert!(is_digest(&project["digest"]));
            let scorecard = project["scorecard"].as_object().expect("scorecard");
            assert_eq!(scorecard.len(), 6, "{project}");
            for rating in scorecard.values() {
                assert!(
                    ["met", "partly_met", "not_met", "insufficient_evidence"]
                        .contains(&rating.as_str().unwrap()),
                    "{project}"
                );
            }
        }
        let closing_view = all["projects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["project_id"] == closing.as_str())
            .unwrap();
        assert_eq!(closing_view["status"], "closed");
        assert_eq!(closing_view["sequence"], 2);
        // Nothing but a registration and a closure (version 2): closed without a review of its
        // outcomes is not met; nothing else can be judged.
        for (criterion, rating) in closing_view["scorecard"].as_object().unwrap() {
            let expected = if criterion == "shared_responsibility" {
                "not_met"
            } else {
                "insufficient_evidence"
            };
            assert_eq!(rating, expected, "{criterion}: {closing_view}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_summary_has_stages_participants_by_kind_and_a_scorecard() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        app.record(
            &id,
            batch(&[
                joined("p3", "carer", &["young carers"]),
                joined("p4", "lived_experience", &[]),
                stage_started("design"),
            ]),
        )
        .await;
        let last = app
            .record(
                &id,
                json!({"type": "stage_completed", "stage": "design", "occurred_on": "2025-02-10"}),
            )
            .await;

        let summary = app
            .get(Some(&app.tokens.panel), &format!("/projects/{id}"))
            .await
            .json_with(200);
        assert_eq!(summary["project_id"], id.as_str());
        assert_eq!(summary["title"], "Carers' strategy refresh");
        assert_eq!(summary["organisation"], "oxfordshire");
        assert_eq!(summary["status"], "open");
        assert_eq!(summary["sequence"], 15);
        assert_eq!(summary["digest"], last["digest"]);
        assert_eq!(summary["stage"], Value::Null, "design is complete");
        assert_eq!(
            summary["stages"],
            json!([
                {"stage": "commission", "started_on": DAY, "completed_on": DAY},
                {"stage": "design", "started_on": DAY, "completed_on": "2025-02-10"},
            ])
        );
        assert_eq!(
            summary["participants_by_kind"],
            // Fewer than 5 of each kind: never shown (docs/architecture.md, invariant 8).
            json!({
                "lived_experience": {"count": null, "suppressed": true},
                "carer": {"count": null, "suppressed": true},
                "professional": {"count": null, "suppressed": true},
            })
        );
        let scorecard = summary["scorecard"].as_object().expect("scorecard");
        let keys: Vec<&String> = scorecard.keys().collect();
        assert_eq!(
            keys,
            [
                "blurred_boundaries",
                "diverse_group_involvement",
                "equal_valuation_of_assets",
                "reciprocal_reward",
                "shared_responsibility",
                "whole_life_involvement",
            ]
        );
        // The scorecard is the current assessment's ratings.
        let assessment = app
            .get(
                Some(&app.tokens.panel),
                &format!("/projects/{id}/assessment"),
            )
            .await
            .json_with(200);
        for criterion in assessment["criteria"].as_array().unwrap() {
            let key = criterion["key"].as_str().unwrap();
            assert_eq!(scorecard[key], criterion["rating"], "{key}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_answer() {
    each_backend(async |app| {
        let health = app.get(None, "//healthz").await.json_with(200);
        assert_eq!(health["status"], "ok");
        let ready = app.get(None, "//readyz").await.json_with(200);
        assert_eq!(ready["status"], "ready");
        app.new_project().await;
        let metrics = app
            .get(Some(&app.tokens.admin), "//metrics")
            .await
            .expect(200);
        assert!(metrics.content_type().starts_with("text/plain"));
        let text = metrics.text();
        assert!(text.contains("coprod_http_requests_total"), "{text}");
        assert!(text.contains("route=\"/api/v1/projects\""), "{text}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_needs_no_token_and_lists_every_path() {
    each_backend(async |app| {
        let document = app.get(None, "/openapi.json").await.json_with(200);
        let version = document["openapi"].as_str().expect("openapi");
        assert!(version.starts_with("3.1"), "{version}");
        let paths = document["paths"].as_object().expect("paths");
        for path in [
            "/api/v1/projects",
            "/api/v1/projects/{id}",
            "/api/v1/projects/{id}/events",
            "/api/v1/projects/{id}/verify",
            "/api/v1/projects/{id}/assessment",
            "/api/v1/rubrics",
            "/api/v1/rubrics/{reference}",
            "/healthz",
            "/readyz",
            "/metrics",
        ] {
            assert!(
                paths.contains_key(path),
                "{path} missing from {:?}",
                paths.keys()
            );
        }
        assert!(paths["/api/v1/projects"].get("post").is_some());
        assert!(paths["/api/v1/projects"].get("get").is_some());
        assert!(paths["/api/v1/projects/{id}/events"].get("post").is_some());
        assert!(paths["/api/v1/projects/{id}/events"].get("get").is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rubrics_are_published_with_their_digest() {
    each_backend(async |app| {
        let panel = Some(app.tokens.panel.as_str());
        let all = app.get(panel, "/rubrics").await.json_with(200);
        let rubrics = all["rubrics"].as_array().expect("rubrics");
        let six_point = rubrics
            .iter()
            .find(|r| r["id"] == "oxfordshire-six-point" && r["version"] == 1)
            .unwrap_or_else(|| panic!("no oxfordshire-six-point@1 in {all}"));
        assert!(is_digest(&six_point["digest"]), "{six_point}");

        let one = app
            .get(panel, "/rubrics/oxfordshire-six-point@1")
            .await
            .json_with(200);
        assert_eq!(&one, six_point);
        let text = one.to_string();
        for key in [
            "whole_life_involvement",
            "blurred_boundaries",
            "reciprocal_reward",
            "diverse_group_involvement",
            "equal_valuation_of_assets",
            "shared_responsibility",
        ] {
            assert!(text.contains(key), "{key} missing from {text}");
        }

        // Version 2 is published beside it, with every indicator's states and the ladder.
        let two = app
            .get(panel, "/rubrics/oxfordshire-six-point@2")
            .await
            .json_with(200);
        assert!(rubrics.contains(&two), "@2 is listed: {all}");
        assert_eq!(rubrics.len(), 2, "{all}");
        assert!(is_digest(&two["digest"]), "{two}");
        assert_ne!(two["digest"], one["digest"]);
        assert_eq!(two["ladder"].as_array().map(Vec::len), Some(7), "{two}");
        for criterion in two["criteria"].as_array().unwrap() {
            for indicator in criterion["indicators"].as_array().unwrap() {
                assert!(indicator["states"]["met"].is_string(), "{indicator}");
                assert!(indicator["missing_evidence"].is_object(), "{indicator}");
            }
        }

        // An assessment names the digest of the rubric it was computed under: the latest
        // (version 2) by default, version 1 when asked for.
        let id = app.new_project().await;
        let assessment = app
            .get(panel, &format!("/projects/{id}/assessment"))
            .await
            .json_with(200);
        assert_eq!(assessment["rubric"]["digest"], two["digest"]);
        let assessment = app
            .get(
                panel,
                &format!("/projects/{id}/assessment?rubric=oxfordshire-six-point@1"),
            )
            .await
            .json_with(200);
        assert_eq!(assessment["rubric"]["digest"], one["digest"]);

        app.get(panel, "/rubrics/oxfordshire-six-point@99")
            .await
            .problem(404, "not_found");
        app.get(panel, "/rubrics/no-such-rubric@1")
            .await
            .problem(404, "not_found");
        app.get(panel, "/rubrics/oxfordshire-six-point")
            .await
            .problem(404, "not_found");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_version_2s_fields_and_facts() {
    let app = TestApp::spawn(crate::kit::sqlite().into()).await;
    let doc = app.get(None, "/openapi.json").await.json_with(200);
    let schemas = &doc["components"]["schemas"];
    let properties = |schema: &str| -> Vec<String> {
        schemas[schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no properties of {schema}: {}", schemas[schema]))
            .keys()
            .cloned()
            .collect()
    };
    let has = |schema: &str, fields: &[&str]| {
        let known = properties(schema);
        for field in fields {
            assert!(
                known.iter().any(|k| k == field),
                "{schema}.{field} missing from {known:?}"
            );
        }
    };
    has("RegisterProjectRequest", &["declared_level", "serves"]);
    has("ProjectRegistered", &["declared_level", "serves"]);
    has("ParticipantJoined", &["lived_experience"]);
    has("ParticipantLeft", &["reason_code"]);
    has(
        "ActivityHeld",
        &[
            "mode",
            "locality",
            "duration_minutes",
            "adjustments_requested",
            "adjustments_provided",
        ],
    );
    has(
        "RewardGiven",
        &[
            "rate_pence_per_hour",
            "amount_unknown",
            "declined",
            "support",
            "as_preferred",
        ],
    );
    has(
        "DecisionMade",
        &[
            "importance",
            "effect",
            "ratifies",
            "departs_from",
            "departure_reason",
        ],
    );
    has("PeopleTold", &["decision_id", "method", "occurred_on"]);
    has(
        "FeedbackGiven",
        &["contribution_ids", "method", "occurred_on"],
    );
    has("IndicatorResult", &["state", "missing_evidence"]);
    has("CriterionResult", &["cap"]);
    has(
        "Overall",
        &[
            "insufficient_evidence",
            "headline",
            "ladder",
            "declared_level",
            "flags",
        ],
    );
    has("Ladder", &["rung", "reasons"]);
    has("Flag", &["key", "message", "evidence"]);
    // The two new facts are among those a client may post, by their `type`.
    let fact = schemas["Fact"].to_string();
    for tag in ["people_told", "feedback_given"] {
        assert!(
            fact.contains(&format!("\"{tag}\"")),
            "{tag} not in Fact: {fact}"
        );
    }
    let rungs = schemas["LadderRung"].to_string();
    for rung in ["consultation", "co_design", "co_production"] {
        assert!(rungs.contains(rung), "{rung} not in {rungs}");
    }
    let ratings = schemas["Rating"].to_string();
    assert!(ratings.contains("insufficient_evidence"), "{ratings}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_is_the_same_whatever_its_case_and_spaces_and_is_stored_as_its_slug() {
    each_backend(async |app| {
        let receipt = app
            .register_as(
                &app.tokens.recorder,
                &registration("Carers' strategy refresh", "  Oxfordshire "),
            )
            .await
            .expect(201)
            .json();
        let id = receipt["project_id"].as_str().expect("project_id");
        assert_eq!(app.summary(id).await["organisation"], "oxfordshire");
        let listed = app
            .get(
                Some(&app.tokens.recorder),
                "/projects?organisation=OXFORDSHIRE",
            )
            .await
            .expect(200)
            .json();
        assert!(
            listed["projects"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["project_id"] == id)),
            "{listed}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_for_another_organisation_is_refused_naming_the_tokens_own() {
    each_backend(async |app| {
        use crate::kit::refusals::{assert_all_refused, refused, Request, Who};
        let body = registration("Carers' strategy refresh", "Bucks");
        let rows = vec![refused(
            "another organisation",
            Request::post("/projects", &body).by(Who::Recorder),
            403,
            "forbidden",
        )
        .at("/organisation")
        .and("names the token's own organisation", |problem| {
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("\"oxfordshire\"") && d.contains("\"Bucks\""))
        })];
        assert_all_refused(app, None, rows).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_names_its_organisation_and_the_latest_name_given_is_kept() {
    each_backend(async |app| {
        let mut named = registration("Carers' strategy refresh", "oxfordshire");
        named["organisation_name"] = json!("Oxfordshire County Council");
        let first = app
            .register_as(&app.tokens.recorder, &named)
            .await
            .expect(201)
            .json();
        let first = first["project_id"]
            .as_str()
            .expect("project_id")
            .to_string();
        let summary = app.summary(&first).await;
        assert_eq!(summary["organisation"], "oxfordshire");
        assert_eq!(summary["organisation_name"], "Oxfordshire County Council");
        // A registration without a name leaves the project without one, and names nothing.
        let plain = registration("Day opportunities review", "oxfordshire");
        let second = app
            .register_as(&app.tokens.recorder, &plain)
            .await
            .expect(201)
            .json();
        let second = second["project_id"].as_str().expect("project_id");
        assert!(app.summary(second).await["organisation_name"].is_null());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_name_that_is_blank_too_long_or_holds_controls_is_refused() {
    each_backend(async |app| {
        use crate::kit::refusals::{assert_all_refused, refused, Request, Who};
        let with_name = |name: Value| {
            let mut body = registration("Carers' strategy refresh", "oxfordshire");
            body["organisation_name"] = name;
            body
        };
        let rows = vec![
            refused(
                "a blank name",
                Request::post("/projects", &with_name(json!("   "))).by(Who::Recorder),
                422,
                "validation_failed",
            )
            .at("/organisation_name"),
            refused(
                "a name of 201 characters",
                Request::post("/projects", &with_name(json!("x".repeat(201)))).by(Who::Recorder),
                422,
                "validation_failed",
            )
            .at("/organisation_name"),
            refused(
                "a name that turns text around",
                Request::post("/projects", &with_name(json!("Oxford\u{202e}shire")))
                    .by(Who::Recorder),
                422,
                "validation_failed",
            )
            .at("/organisation_name"),
            refused(
                "a name that is not text",
                Request::post("/projects", &with_name(json!(12))).by(Who::Recorder),
                400,
                "validation_failed",
            )
            .at("/organisation_name"),
        ];
        assert_all_refused(app, None, rows).await;
    })
    .await;
}
