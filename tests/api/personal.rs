//! Personal data (docs/privacy.md, docs/api.md): groups and contribution summaries are
//! stored encrypted, erasure destroys a participant's key and leaves a verifiable record, subject
//! access returns everything about one participant, and small counts are never shown.

use reqwest::Method;
use serde_json::{json, Value};

use coprod::store::AccessRole;

use crate::helpers::*;
use crate::kit::{Backend, TestDb};

const ERASURE: &str = "{\"reason\": \"The participant asked for their data to be erased.\", \"legal_basis\": \"UK GDPR Article 17(1)(b)\"}";

/// Every stored payload of the database, as text, read raw.
async fn raw_payloads(db: &TestDb) -> Vec<String> {
    let sql = "SELECT CAST(payload AS TEXT) FROM events ORDER BY aggregate_id, sequence";
    match db.backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            rows.into_iter().map(|(p,)| p).collect()
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            rows.into_iter().map(|(p,)| p).collect()
        }
    }
}

async fn erase(app: &TestApp, token: &str, id: &str, participant: &str, body: &str) -> Resp {
    let path = format!("/projects/{id}/participants/{participant}/erase");
    app.post_raw(
        Some(token),
        &path,
        "application/json",
        body.as_bytes().to_vec(),
    )
    .await
}

fn personal_of(trail: &[Value], sequence: u64) -> Value {
    trail[sequence as usize - 1]["personal_data"].clone()
}

async fn export(app: &TestApp, id: &str) -> String {
    let builder = app
        .request(
            Method::GET,
            &format!("/projects/{id}/events"),
            Some(&app.tokens.assurance),
        )
        .header("Accept", "application/x-ndjson");
    app.send(builder).await.expect(200).text()
}

#[tokio::test]
async fn no_group_or_contribution_summary_is_stored_in_clear() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let payloads = raw_payloads(&app.db).await;
        assert_eq!(payloads.len(), 11, "[{}]", app.backend);
        // (The registration names priority groups: those describe the project, not a person.)
        let all = payloads
            .iter()
            .filter(|p| !p.contains("priority_groups"))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        for secret in ["Somali community", "Meet in the evening"] {
            assert!(
                !all.contains(secret),
                "[{}] '{secret}' stored in clear",
                app.backend
            );
        }
        // The readers allowed to see it get it back, decrypted.
        let trail = app.trail(&id).await;
        assert_eq!(
            personal_of(&trail, 2),
            json!({"groups": ["carers", "Somali community"]})
        );
        assert_eq!(
            personal_of(&trail, 6),
            json!({"summary": "Meet in the evening, after caring hours."})
        );
        // A client cannot post a value in the stored (encrypted) form.
        let sealed = json!({"type": "participant_joined", "participant_id": "p9", "kind": "carer",
            "groups": {"cipher": "AES-256-GCM", "nonce": "AAAAAAAAAAAAAAAA", "ciphertext": "AAAA"},
            "occurred_on": DAY});
        app.assert_refused(&id, &sealed, 422, "validation_failed", Some("/groups"))
            .await;
    })
    .await;
}

#[tokio::test]
async fn erasure_destroys_the_data_keeps_the_chain_and_explains_old_seals() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let seal = app
            .post(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/assessments"),
                &json!({"purpose": "Adults scrutiny panel 2025-03-04"}),
            )
            .await
            .json_with(201);
        let seal_sequence = seal["seal"]["sequence"].as_u64().unwrap();
        assert_eq!(seal["assessment"]["participants_erased"], 0);
        let before = export(app, &id).await;

        let receipt = erase(app, &app.tokens.admin, &id, "p1", ERASURE)
            .await
            .json_with(201);
        let erased_at = receipt["sequence"].as_u64().unwrap();
        assert_eq!(erased_at, seal_sequence + 1);
        assert_eq!(receipt["participant_id"], "p1");
        assert!(is_digest(&receipt["digest"]), "{receipt}");
        // The answer says what is left of the key: nothing in the live database.
        let residue = &receipt["residue"];
        assert_eq!(residue["backend"], app.backend.to_string(), "{receipt}");
        assert_eq!(residue["key_deleted"], true, "{receipt}");
        assert_eq!(residue["database_clean"], true, "{receipt}");
        assert!(
            residue["note"]
                .as_str()
                .is_some_and(|note| !note.is_empty()),
            "{receipt}"
        );

        // The trail shows the fields as erased, and the erasure entry holds no personal data.
        let trail = app.trail(&id).await;
        assert_eq!(personal_of(&trail, 2), json!({"groups": "erased"}));
        assert_eq!(personal_of(&trail, 6), json!({"summary": "erased"}));
        assert_eq!(
            personal_of(&trail, 3),
            json!({"groups": []}),
            "p2 is untouched"
        );
        let entry = &trail[erased_at as usize - 1];
        assert_eq!(entry["type"], "participant_erased");
        assert_eq!(entry["data"]["participant_id"], "p1");
        assert_eq!(entry["data"]["legal_basis"], "UK GDPR Article 17(1)(b)");

        // The chain still verifies; the old seal cannot be replayed in full, and says why.
        let verify = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(verify["valid"], true, "{verify}");
        let check = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/assessments/{seal_sequence}/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(check["outcome"], "cannot_replay", "{check}");
        assert_eq!(check["stream_digest_matches"], true, "{check}");
        assert_eq!(check["erased_at"], erased_at, "{check}");
        let explanation = check["explanation"].as_str().unwrap();
        assert!(
            explanation.contains(&format!("participant data erased at entry {erased_at}")),
            "{explanation}"
        );
        assert!(explanation.contains("are unaltered"), "{explanation}");
        assert!(!explanation.contains("has been altered"), "{explanation}");

        // Assessments count the erasure and treat the groups as unknown (as those who may see
        // personal data read them: a panel is not shown the groups of fewer than five people).
        let assessment = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/assessment?rubric=oxfordshire-six-point@1"),
            )
            .await
            .json_with(200);
        assert_eq!(assessment["participants_erased"], 1);
        let breadth = assessment["criteria"][3]["indicators"][1].clone();
        assert_eq!(breadth["key"], "breadth");
        assert_eq!(breadth["value"], "0 groups", "{breadth}");
        // Version 2 says the groups are no longer recorded, rather than that there are none.
        let assessment = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/assessment"),
            )
            .await
            .json_with(200);
        assert_eq!(assessment["rubric"]["version"], 2);
        assert_eq!(assessment["participants_erased"], 1);
        let breadth = assessment["criteria"][3]["indicators"][1].clone();
        assert_eq!(breadth["key"], "breadth");
        assert_eq!(breadth["state"], "not_recorded", "{breadth}");

        // Exports made before and after the erasure both verify offline, with no keys.
        let after = export(app, &id).await;
        for (name, ndjson) in [("before", &before), ("after", &after)] {
            let (ok, report) = verify_offline(ndjson);
            assert!(ok, "[{}] {name}: {report}", app.backend);
            assert!(report.contains("OK ("), "{name}: {report}");
            assert!(!report.contains("FAILS"), "{name}: {report}");
        }

        // Nothing new may name the erased participant; the erasure cannot be withdrawn.
        app.assert_refused(
            &id,
            &reward("p1", None),
            422,
            "participant_erased",
            Some("/participant_id"),
        )
        .await;
        app.assert_refused(
            &id,
            &correction(erased_at),
            422,
            "correction_not_allowed",
            Some("/corrects_sequence"),
        )
        .await;
        let again = erase(app, &app.tokens.admin, &id, "p1", ERASURE).await;
        again.problem(409, "already_erased");
        app.assert_sequence(&id, erased_at, "refusals after the erasure")
            .await;
    })
    .await;
}

#[tokio::test]
async fn erasure_is_for_admins_of_a_known_participant_with_a_reason_and_a_legal_basis() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let t = &app.tokens;
        for token in [&t.recorder, &t.assurance, &t.panel] {
            erase(app, token, &id, "p1", ERASURE)
                .await
                .problem(403, "forbidden");
        }
        let bucks_admin = app
            .store
            .create_token(AccessRole::Admin, "bucks", "bucks-admin")
            .await
            .unwrap();
        erase(app, &bucks_admin, &id, "p1", ERASURE)
            .await
            .problem(404, "not_found");
        erase(app, &t.admin, &id, "nobody", ERASURE)
            .await
            .problem(404, "not_found");
        for (body, status, code) in [
            ("{\"reason\": \"Asked.\"}", 400, "validation_failed"),
            ("{\"legal_basis\": \"Art. 17\"}", 400, "validation_failed"),
            (
                "{\"reason\": \"\", \"legal_basis\": \"Art. 17\"}",
                422,
                "validation_failed",
            ),
            (
                "{\"reason\": \"Asked.\", \"legal_basis\": \"Art. 17\", \"extra\": 1}",
                400,
                "unknown_field",
            ),
            ("{\"reason\": ", 400, "invalid_json"),
        ] {
            let resp = erase(app, &t.admin, &id, "p1", body).await;
            assert_eq!(resp.status.as_u16(), status, "{body}: {}", resp.text());
            assert_eq!(resp.json()["code"], code, "{body}: {}", resp.text());
        }
        app.assert_sequence(&id, 11, "refused erasures").await;
        // The data is still there.
        assert_eq!(
            personal_of(&app.trail(&id).await, 2),
            json!({"groups": ["carers", "Somali community"]})
        );
    })
    .await;
}

#[tokio::test]
async fn subject_access_returns_every_entry_about_one_participant_decrypted() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let t = &app.tokens;
        let path = format!("/projects/{id}/participants/p1");
        let found = app.get(Some(&t.assurance), &path).await.json_with(200);
        let sequences: Vec<u64> = found["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["sequence"].as_u64().unwrap())
            .collect();
        // Joined, the activity, the contribution and its response, the decision, the reward,
        // the role and the review: everything but the registration and the stage.
        assert_eq!(sequences, [2, 5, 6, 7, 8, 9, 10, 11], "{found}");
        assert_eq!(
            found["entries"][0]["event"]["groups"],
            json!(["carers", "Somali community"])
        );
        assert_eq!(
            found["entries"][2]["event"]["summary"],
            "Meet in the evening, after caring hours."
        );
        assert_eq!(found["erased_at"], Value::Null);
        assert_eq!(app.get(Some(&t.admin), &path).await.status, 200);
        for token in [&t.recorder, &t.panel] {
            app.get(Some(token), &path).await.problem(403, "forbidden");
        }
        let bucks_assurance = app
            .store
            .create_token(AccessRole::Assurance, "bucks", "bucks-assurance")
            .await
            .unwrap();
        app.get(Some(&bucks_assurance), &path)
            .await
            .problem(404, "not_found");
        app.get(
            Some(&t.assurance),
            &format!("/projects/{id}/participants/nobody"),
        )
        .await
        .problem(404, "not_found");

        erase(app, &t.admin, &id, "p1", ERASURE).await.expect(201);
        let after = app.get(Some(&t.assurance), &path).await.json_with(200);
        assert_eq!(after["erased_at"], 12);
        assert_eq!(after["entries"][0]["event"]["groups"], "erased");
        assert_eq!(after["entries"][2]["event"]["summary"], "erased");
        assert!(!after.to_string().contains("Somali"), "{after}");
    })
    .await;
}

#[tokio::test]
async fn counts_of_people_below_five_are_never_shown() {
    each_backend(async |app| {
        let id = app.new_project().await;
        let mut joins: Vec<Value> = (1..=5)
            .map(|i| joined(&format!("c{i}"), "carer", &["carers"]))
            .collect();
        joins.push(joined("pro", "professional", &[]));
        app.record(&id, batch(&joins)).await;
        let summary = app.summary(&id).await;
        assert_eq!(
            summary["participants_by_kind"],
            json!({
                "carer": {"count": 5, "suppressed": false},
                "professional": {"count": null, "suppressed": true},
            })
        );
    })
    .await;
}
