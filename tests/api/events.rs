//! Posting facts, reading the audit trail (pages and NDJSON export) and verifying receipts.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_one_event_returns_a_receipt_for_the_next_sequence() {
    each_backend(async |app| {
        let id = app.new_project().await;
        let resp = app
            .post_events(&id, &joined("p1", "carer", &["carers"]))
            .await
            .expect(201);
        assert!(resp.content_type().starts_with("application/json"));
        let receipt = resp.json();
        assert_eq!(receipt["project_id"], id.as_str());
        assert_eq!(receipt["first_sequence"], 2);
        assert_eq!(receipt["last_sequence"], 2);
        assert!(is_digest(&receipt["digest"]), "{receipt}");
        assert!(is_stored_instant(&receipt["recorded_at"]), "{receipt}");
        let fields: Vec<&String> = receipt.as_object().unwrap().keys().collect();
        assert_eq!(
            fields,
            [
                "digest",
                "first_sequence",
                "last_sequence",
                "project_id",
                "recorded_at"
            ]
        );
        let trail = app.trail(&id).await;
        assert_eq!(trail[1]["digest"], receipt["digest"]);
        assert_eq!(trail[1]["recorded_at"], receipt["recorded_at"]);
        assert_eq!(app.sequence(&id).await, 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_appended_together_and_its_receipt_names_first_and_last_sequence() {
    each_backend(async |app| {
        let id = app.new_project().await;
        let receipt = app
            .record(
                &id,
                batch(&[
                    joined("p1", "lived_experience", &["carers"]),
                    joined("p2", "professional", &[]),
                    stage_started("commission"),
                ]),
            )
            .await;
        assert_eq!(receipt["first_sequence"], 2);
        assert_eq!(receipt["last_sequence"], 4);
        let trail = app.trail(&id).await;
        assert_eq!(trail.len(), 4);
        assert_eq!(
            trail[3]["digest"], receipt["digest"],
            "the digest after the last"
        );
        assert_eq!(trail[3]["recorded_at"], receipt["recorded_at"]);
        let types: Vec<&str> = trail.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "project_registered",
                "participant_joined",
                "participant_joined",
                "stage_started"
            ]
        );
        // A batch of one is a batch too.
        let one = app.record(&id, batch(&[joined("p3", "carer", &[])])).await;
        assert_eq!(
            (one["first_sequence"].clone(), one["last_sequence"].clone()),
            (json!(5), json!(5))
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_type_can_be_posted() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        app.record(
            &id,
            json!({"type": "participant_left", "participant_id": "p2", "reason": "Moved job",
                   "occurred_on": DAY}),
        )
        .await;
        app.record(
            &id,
            json!({"type": "stage_completed", "stage": "commission", "occurred_on": DAY}),
        )
        .await;
        app.record(
            &id,
            batch(&[
                stage_started("design"),
                joined("p3", "carer", &["young carers"]),
                json!({"type": "decision_made", "decision_id": "d2", "stage": "design",
                       "subject": "Venue", "method": "vote", "participants": ["p1", "p3"],
                       "votes": {"for": ["p1"], "against": ["p3"], "abstain": []},
                       "influenced_by": [], "outcome": "Library", "occurred_on": DAY}),
                json!({"type": "reward_given", "participant_id": "p3", "kind": "learning",
                       "occurred_on": DAY}),
            ]),
        )
        .await;
        app.record(&id, correction(9)).await;
        let last = app.record(&id, closed()).await;
        assert_eq!(last["last_sequence"], 19);
        let types: std::collections::BTreeSet<String> = app
            .trail(&id)
            .await
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            types.len(),
            14,
            "every type, and the registration: {types:?}"
        );
        assert_eq!(app.summary(&id).await["status"], "closed");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trail_pages_with_after_limit_and_next_after() {
    each_backend(async |app| {
        let id = app.new_project().await;
        for i in 1..=6 {
            app.record(&id, joined(&format!("p{i}"), "carer", &[]))
                .await;
        }
        let assurance = Some(app.tokens.assurance.as_str());
        let page = |query: &str| {
            let path = format!("/projects/{id}/events{query}");
            let app = &app;
            async move { app.get(assurance, &path).await.json_with(200) }
        };
        let sequences = |page: &Value| -> Vec<u64> {
            page["events"]
                .as_array()
                .expect("events")
                .iter()
                .map(|e| e["sequence"].as_u64().unwrap())
                .collect()
        };

        let all = page("").await;
        assert_eq!(sequences(&all), [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(all["next_after"], Value::Null);

        let first = page("?limit=3").await;
        assert_eq!(sequences(&first), [1, 2, 3]);
        assert_eq!(first["next_after"], 3);
        let second = page("?after=3&limit=3").await;
        assert_eq!(sequences(&second), [4, 5, 6]);
        assert_eq!(second["next_after"], 6);
        let third = page("?after=6&limit=3").await;
        assert_eq!(sequences(&third), [7]);
        assert_eq!(third["next_after"], Value::Null);
        let exact = page("?after=4&limit=3").await;
        assert_eq!(sequences(&exact), [5, 6, 7]);
        assert_eq!(exact["next_after"], Value::Null, "nothing after the last");
        let beyond = page("?after=7").await;
        assert_eq!(beyond, json!({"events": [], "next_after": null}));
        let max = page("?limit=1000").await;
        assert_eq!(sequences(&max).len(), 7);
        let min = page("?limit=1").await;
        assert_eq!(sequences(&min), [1]);
        assert_eq!(min["next_after"], 1);

        // Each entry has the fields docs/api.md names.
        let entry = &all["events"][1];
        assert_eq!(entry["type"], "participant_joined");
        assert_eq!(entry["version"], "1");
        assert_eq!(entry["occurred_on"], DAY);
        assert_eq!(
            entry["recorded_by"],
            recorded_by(&app.tokens.recorder, "recorder")
        );
        assert!(is_stored_instant(&entry["recorded_at"]), "{entry}");
        assert!(is_digest(&entry["digest"]), "{entry}");
        assert_eq!(entry["withdrawn_by"], Value::Null);
        // The groups are stored encrypted; trail readers see them decrypted beside.
        let data = &entry["data"];
        assert_eq!(data["participant_id"], "p1");
        assert_eq!(data["kind"], "carer");
        assert_eq!(data["occurred_on"], DAY);
        assert_eq!(data["groups"]["cipher"], "AES-256-GCM", "{data}");
        assert!(data["groups"]["ciphertext"].is_string(), "{data}");
        assert!(data["groups"]["nonce"].is_string(), "{data}");
        assert_eq!(entry["personal_data"], json!({"groups": []}));
        assert_eq!(
            all["events"][0]["occurred_on"], "2025-01-06",
            "registration: started_on"
        );

        // recorded_at never goes back.
        let instants: Vec<&str> = all["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["recorded_at"].as_str().unwrap())
            .collect();
        assert!(instants.windows(2).all(|w| w[0] <= w[1]), "{instants:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ndjson_export_has_every_entry_one_per_line() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        for i in 3..=6 {
            app.record(&id, joined(&format!("p{i}"), "carer", &[]))
                .await;
        }
        // More than one page would hold with a small limit: the export ignores paging.
        let resp = app
            .send(
                app.request(
                    reqwest::Method::GET,
                    &format!("/projects/{id}/events?limit=2"),
                    Some(&app.tokens.assurance),
                )
                .header("accept", "application/x-ndjson"),
            )
            .await
            .expect(200);
        assert!(resp.content_type().starts_with("application/x-ndjson"));
        let text = resp.text();
        assert!(text.ends_with('\n'));
        let lines: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON value"))
            .collect();
        assert_eq!(lines.len(), 15);
        let sequences: Vec<u64> = lines
            .iter()
            .map(|e| e["sequence"].as_u64().unwrap())
            .collect();
        assert_eq!(sequences, (1..=15).collect::<Vec<_>>());
        // The export is for checking: it holds what is stored, never the decrypted personal
        // data that the pages show beside it.
        let mut pages = app.trail(&id).await;
        for entry in &mut pages {
            entry.as_object_mut().unwrap().remove("personal_data");
        }
        assert_eq!(lines, pages, "the export says what the pages say");
        assert!(
            !text.contains("personal_data") && !text.contains("Meet in the evening"),
            "no personal data in clear in the export"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrected_entry_shows_which_correction_withdrew_it() {
    each_backend(async |app| {
        let id = app.new_project().await;
        app.record(&id, joined("p1", "carer", &[])).await;
        app.record(&id, joined("p2", "carer", &[])).await;
        let fix = app.record(&id, correction(2)).await;
        assert_eq!(fix["first_sequence"], 4);
        let trail = app.trail(&id).await;
        let withdrawn: Vec<Value> = trail.iter().map(|e| e["withdrawn_by"].clone()).collect();
        assert_eq!(withdrawn, [json!(null), json!(4), json!(null), json!(null)]);
        assert_eq!(trail[3]["type"], "correction_recorded");
        assert_eq!(trail[3]["data"]["corrects_sequence"], 2);
        // The withdrawn participant no longer counts, and may join again.
        assert_eq!(
            app.summary(&id).await["participants_by_kind"],
            json!({"carer": {"count": null, "suppressed": true}})
        );
        app.record(&id, joined("p1", "lived_experience", &[])).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_checks_the_whole_chain_and_any_kept_receipt() {
    each_backend(async |app| {
        let id = app.new_project().await;
        let kept = app.record(&id, joined("p1", "carer", &[])).await;
        let later = app
            .record(
                &id,
                batch(&[joined("p2", "carer", &[]), stage_started("commission")]),
            )
            .await;
        let assurance = Some(app.tokens.assurance.as_str());

        let whole = app
            .get(assurance, &format!("/projects/{id}/verify"))
            .await
            .json_with(200);
        assert_eq!(whole["valid"], true, "{whole}");
        assert_eq!(whole["sequence"], 4);
        assert_eq!(whole["expected_digest"], later["digest"]);
        assert_eq!(whole["recomputed_digest"], later["digest"]);
        assert_eq!(whole["first_divergence"], Value::Null);

        let verify = |sequence: &Value, digest: &Value| {
            let path = format!(
                "/projects/{id}/verify?sequence={sequence}&digest={}",
                digest.as_str().unwrap()
            );
            let app = &app;
            async move { app.get(assurance, &path).await.json_with(200) }
        };
        let good = verify(&kept["last_sequence"], &kept["digest"]).await;
        assert_eq!(good["valid"], true, "{good}");
        assert_eq!(good["sequence"], 2);
        assert_eq!(good["expected_digest"], kept["digest"]);
        assert_eq!(good["recomputed_digest"], kept["digest"]);
        assert_eq!(good["first_divergence"], Value::Null);

        let last = verify(&later["last_sequence"], &later["digest"]).await;
        assert_eq!(last["valid"], true, "{last}");

        // Another entry's digest, or a made-up one, does not verify.
        let wrong = verify(&kept["last_sequence"], &later["digest"]).await;
        assert_eq!(wrong["valid"], false, "{wrong}");
        assert_eq!(wrong["expected_digest"], later["digest"]);
        assert_eq!(wrong["recomputed_digest"], kept["digest"]);
        let zeros = json!(format!("sha256:{}", "0".repeat(64)));
        let made_up = verify(&json!(3), &zeros).await;
        assert_eq!(made_up["valid"], false, "{made_up}");
        let beyond = verify(&json!(99), &kept["digest"]).await;
        assert_eq!(beyond["valid"], false, "{beyond}");
    })
    .await;
}
