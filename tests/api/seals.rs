//! Sealed assessments: sealing, who may seal, the exact body a seal
//! covers, bad requests, retries, the list of seals, checking one seal, and `GET /verify`
//! checking them all.

use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::helpers::*;

const PURPOSE: &str = "Adults scrutiny panel 2025-03-04";

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A sealing answer, split into the seal and the exact bytes of the assessment it covers.
struct Sealed {
    seal: Value,
    assessment: Vec<u8>,
    /// The whole answer, byte for byte.
    body: Vec<u8>,
}

impl Sealed {
    /// Reads `{"seal": {...}, "assessment": {...}}` keeping the assessment's own bytes.
    fn read(resp: Resp) -> Sealed {
        let resp = resp.expect(201);
        assert!(
            resp.content_type().starts_with("application/json"),
            "{}: {}",
            resp.context,
            resp.content_type()
        );
        let body = resp.body.clone();
        let rest = body
            .strip_prefix(b"{\"seal\":")
            .unwrap_or_else(|| panic!("{}: the seal comes first: {}", resp.context, resp.text()));
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        let seal = values
            .next()
            .expect("a seal")
            .unwrap_or_else(|e| panic!("{}: the seal is not JSON: {e}", resp.context));
        let rest = &rest[values.byte_offset()..];
        let assessment = rest
            .strip_prefix(b",\"assessment\":")
            .and_then(|r| r.strip_suffix(b"}"))
            .unwrap_or_else(|| panic!("{}: then the assessment: {}", resp.context, resp.text()))
            .to_vec();
        // The whole answer is one JSON object with exactly these two members.
        let whole = resp.json();
        assert_eq!(whole.as_object().unwrap().len(), 2, "{whole}");
        assert_eq!(whole["seal"], seal);
        assert_eq!(
            whole["assessment"],
            serde_json::from_slice::<Value>(&assessment).unwrap()
        );
        Sealed {
            seal,
            assessment,
            body,
        }
    }

    fn assessment_json(&self) -> Value {
        serde_json::from_slice(&self.assessment).expect("the assessment is JSON")
    }

    fn sequence(&self) -> u64 {
        self.seal["sequence"].as_u64().expect("sequence")
    }

    fn at_sequence(&self) -> u64 {
        self.seal["at_sequence"].as_u64().expect("at_sequence")
    }
}

async fn post_seal(app: &TestApp, token: &str, id: &str, body: &Value) -> Resp {
    app.post(Some(token), &format!("/projects/{id}/assessments"), body)
        .await
}

async fn seal(app: &TestApp, token: &str, id: &str, body: Value) -> Sealed {
    Sealed::read(post_seal(app, token, id, &body).await)
}

/// `GET /projects/{id}/assessment?{query}` with `token`: the body and its ETag.
async fn assessment(app: &TestApp, token: &str, id: &str, query: &str) -> (Vec<u8>, String) {
    let resp = app
        .get(Some(token), &format!("/projects/{id}/assessment?{query}"))
        .await
        .expect(200);
    let etag = resp.header("etag").expect("an ETag");
    (resp.body, etag)
}

/// Who the store names as having recorded an entry posted with `token` (from the trail).
async fn principal_of(app: &TestApp, id: &str, sequence: u64) -> Value {
    app.trail(id).await[sequence as usize - 1]["recorded_by"].clone()
}

/// Asserts that the seal covers exactly `sealed.assessment`, and that the same question asked
/// with GET gets the same bytes.
async fn assert_seal_covers_its_body(app: &TestApp, id: &str, sealed: &Sealed, query: &str) {
    let backend = app.backend;
    let seal = &sealed.seal;
    let assessment = sealed.assessment_json();
    assert_eq!(
        seal["assessment_digest"],
        json!(sha256(&sealed.assessment)),
        "[{backend}] the seal's digest is SHA-256 of the assessment bytes returned"
    );
    // Re-serialised compactly in declared field order, the body is the same bytes.
    let typed: coprod_domain::assessment::Assessment =
        serde_json::from_slice(&sealed.assessment).unwrap();
    assert_eq!(typed.to_json_bytes(), sealed.assessment, "[{backend}]");
    for field in ["as_of", "at_sequence", "stream_digest", "rubric", "engine"] {
        assert_eq!(
            seal[field], assessment[field],
            "[{backend}] {field}: {seal}"
        );
    }
    assert_eq!(assessment["project_id"], id);
    // Asked by a reader of the kind the seal was made for (a panel's seal is of what a panel
    // is given; the others', of every figure).
    let reader = match seal.get("disclosure") {
        Some(disclosure) if disclosure == "protected" => &app.tokens.panel,
        _ => &app.tokens.assurance,
    };
    let (body, etag) = self::assessment(app, reader, id, query).await;
    assert_eq!(
        String::from_utf8_lossy(&body),
        String::from_utf8_lossy(&sealed.assessment),
        "[{backend}] GET ?{query} answers the sealed bytes"
    );
    assert_eq!(
        etag,
        format!("\"{}\"", hex::encode(Sha256::digest(&body))),
        "[{backend}]"
    );
    assert_eq!(
        seal["assessment_digest"],
        json!(format!("sha256:{}", etag.trim_matches('"'))),
        "[{backend}] the ETag of the same question is the sealed digest"
    );
}

// ---- sealing ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assurance_panel_and_admin_seal_the_exact_body_they_are_given() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let tokens = [
            ("assurance", app.tokens.assurance.clone()),
            ("panel", app.tokens.panel.clone()),
            ("admin", app.tokens.admin.clone()),
        ];
        for (role, token) in tokens {
            let before = app.summary(&id).await;
            let before_sequence = before["sequence"].as_u64().unwrap();
            let sealed = seal(app, &token, &id, json!({ "purpose": PURPOSE })).await;
            let seal = &sealed.seal;
            assert_eq!(sealed.sequence(), before_sequence + 1, "[{role}] {seal}");
            assert_eq!(
                sealed.at_sequence(),
                before_sequence,
                "[{role}] seals everything recorded so far"
            );
            assert_eq!(seal["stream_digest"], before["digest"], "[{role}]");
            assert_eq!(seal["purpose"], PURPOSE);
            assert_eq!(seal["rubric"]["id"], "oxfordshire-six-point");
            assert_eq!(seal["rubric"]["version"], 2, "the latest rubric by default");
            assert!(is_digest(&seal["digest"]), "{seal}");
            assert!(is_stored_instant(&seal["recorded_at"]), "{seal}");
            assert!(
                seal.get("requested_as_of").is_none(),
                "no as_of asked: {seal}"
            );
            assert_eq!(seal["occurred_on"], json!(chrono::Utc::now().date_naive()));
            let query = format!("at_sequence={}", sealed.at_sequence());
            assert_seal_covers_its_body(app, &id, &sealed, &query).await;

            // The seal is itself an entry of the trail, with the receipt the answer gave.
            let trail = app.trail(&id).await;
            let entry = trail.last().unwrap();
            assert_eq!(entry["sequence"], seal["sequence"]);
            assert_eq!(entry["type"], "assessment_sealed");
            assert_eq!(entry["digest"], seal["digest"]);
            assert_eq!(entry["recorded_at"], seal["recorded_at"]);
            assert_eq!(
                entry["data"]["assessment_digest"],
                seal["assessment_digest"]
            );
            assert_eq!(seal["requested_by"], entry["recorded_by"]);
            assert_eq!(
                seal["requested_by"],
                principal_of(app, &id, sealed.sequence()).await
            );
            assert_eq!(app.sequence(&id).await, before_sequence + 1);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorders_may_not_seal_and_other_organisations_do_not_see_the_project() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let bucks_assurance = app
            .store
            .create_token(
                coprod::store::AccessRole::Assurance,
                "bucks",
                "bucks-assurance",
            )
            .await
            .unwrap();
        let body = json!({ "purpose": PURPOSE });
        let path = format!("/projects/{id}/assessments");

        let resp = post_seal(app, &app.tokens.recorder, &id, &body).await;
        resp.problem(403, "forbidden");
        let resp = post_seal(app, &app.tokens.bucks, &id, &body).await;
        resp.problem(403, "forbidden");
        let resp = post_seal(app, &bucks_assurance, &id, &body).await;
        resp.problem(404, "not_found");
        let resp = app.post(None, &path, &body).await;
        resp.problem(401, "unauthorized");
        app.assert_sequence(&id, 11, "refused seals").await;

        // A real seal, then what another organisation can learn of it: nothing.
        let sealed = seal(app, &app.tokens.assurance, &id, body.clone()).await;
        for path in [path.clone(), format!("{path}/{}/verify", sealed.sequence())] {
            app.get(Some(&bucks_assurance), &path)
                .await
                .problem(404, "not_found");
            app.get(None, &path).await.problem(401, "unauthorized");
        }
        // Every role of the organisation may read seals and check them.
        for token in [
            &app.tokens.recorder,
            &app.tokens.assurance,
            &app.tokens.panel,
            &app.tokens.admin,
        ] {
            app.get(Some(token), &path).await.json_with(200);
            app.get(Some(token), &format!("{path}/{}/verify", sealed.sequence()))
                .await
                .json_with(200);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seal_as_of_an_instant_covers_what_was_recorded_by_then() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let trail = app.trail(&id).await;
        // As recorded by the time entry 7 was: everything up to the last entry recorded then.
        let as_of = trail[6]["recorded_at"].as_str().unwrap().to_string();
        let known = trail
            .iter()
            .filter(|e| e["recorded_at"].as_str().unwrap() <= as_of.as_str())
            .count() as u64;
        assert!((7..11).contains(&known), "{known}");
        let sealed = seal(
            app,
            &app.tokens.panel,
            &id,
            json!({ "purpose": PURPOSE, "as_of": as_of }),
        )
        .await;
        assert_eq!(sealed.seal["requested_as_of"], as_of.as_str());
        assert_eq!(sealed.seal["as_of"], as_of.as_str());
        assert_eq!(sealed.at_sequence(), known);
        assert_eq!(
            sealed.seal["stream_digest"],
            trail[known as usize - 1]["digest"]
        );
        assert_eq!(sealed.sequence(), 12);
        assert_seal_covers_its_body(app, &id, &sealed, &format!("as_of={as_of}")).await;

        // Asked as an RFC 3339 instant with an offset, it is the same instant, written as stored.
        let offset = chrono::DateTime::parse_from_rfc3339(&as_of)
            .unwrap()
            .with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap())
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
        let again = seal(
            app,
            &app.tokens.panel,
            &id,
            json!({ "purpose": PURPOSE, "as_of": offset }),
        )
        .await;
        assert_eq!(again.seal["requested_as_of"], as_of.as_str());
        assert_eq!(again.assessment, sealed.assessment);

        let check = app
            .get(
                Some(&app.tokens.panel),
                &format!("/projects/{id}/assessments/12/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(check["valid"], true, "{check}");
        assert_eq!(check["at_sequence"], known);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seal_may_name_its_rubric() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let sealed = seal(
            app,
            &app.tokens.assurance,
            &id,
            json!({ "purpose": PURPOSE, "rubric": "oxfordshire-six-point@1" }),
        )
        .await;
        assert_eq!(sealed.seal["rubric"]["id"], "oxfordshire-six-point");
        assert_eq!(sealed.seal["rubric"]["version"], 1);
        let rubric = app
            .get(Some(&app.tokens.panel), "/rubrics/oxfordshire-six-point@1")
            .await
            .json_with(200);
        assert_eq!(sealed.seal["rubric"]["digest"], rubric["digest"]);
        assert_seal_covers_its_body(
            app,
            &id,
            &sealed,
            "at_sequence=11&rubric=oxfordshire-six-point@1",
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_project_may_still_be_sealed() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        app.record(&id, closed()).await;
        // Recorders can post nothing more ...
        app.assert_refused(
            &id,
            &role_taken("p2", "learner"),
            422,
            "project_closed",
            None,
        )
        .await;
        // ... but the closed record can be sealed, more than once.
        let first = seal(app, &app.tokens.panel, &id, json!({ "purpose": PURPOSE })).await;
        assert_eq!(first.at_sequence(), 12);
        assert_eq!(first.sequence(), 13);
        assert_seal_covers_its_body(app, &id, &first, "at_sequence=12").await;
        let second = seal(
            app,
            &app.tokens.assurance,
            &id,
            json!({ "purpose": "Annual report" }),
        )
        .await;
        assert_eq!(second.at_sequence(), 13);
        assert_eq!(second.sequence(), 14);
        let summary = app.summary(&id).await;
        assert_eq!(summary["status"], "closed", "{summary}");
    })
    .await;
}

// ---- bad requests -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_seal_requests_are_refused_and_append_nothing() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let path = format!("/projects/{id}/assessments");
        let assurance = app.tokens.assurance.as_str();
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let long = "x".repeat(2_000);
        let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
            (json!({}), 400, "validation_failed", Some("/purpose")),
            (
                json!({"as_of": "2025-03-01"}),
                400,
                "validation_failed",
                Some("/purpose"),
            ),
            (
                json!({"purpose": "   "}),
                422,
                "validation_failed",
                Some("/purpose"),
            ),
            (
                json!({"purpose": ""}),
                422,
                "validation_failed",
                Some("/purpose"),
            ),
            (
                json!({"purpose": long}),
                422,
                "validation_failed",
                Some("/purpose"),
            ),
            (
                json!({"purpose": PURPOSE, "colour": "blue"}),
                400,
                "unknown_field",
                Some("/colour"),
            ),
            (
                json!({"purpose": PURPOSE, "at_sequence": 3}),
                400,
                "unknown_field",
                Some("/at_sequence"),
            ),
            (
                json!({"purpose": 7}),
                400,
                "validation_failed",
                Some("/purpose"),
            ),
            (json!([PURPOSE]), 400, "validation_failed", None),
            (
                json!({"purpose": PURPOSE, "as_of": tomorrow}),
                422,
                "validation_failed",
                Some("/as_of"),
            ),
            (
                json!({"purpose": PURPOSE, "as_of": "last Tuesday"}),
                400,
                "validation_failed",
                Some("/as_of"),
            ),
            (
                json!({"purpose": PURPOSE, "as_of": "2000-01-01"}),
                422,
                "nothing_recorded",
                None,
            ),
            (
                json!({"purpose": PURPOSE, "rubric": "oxfordshire-six-point@99"}),
                422,
                "unknown_rubric",
                Some("/rubric"),
            ),
            (
                json!({"purpose": PURPOSE, "rubric": "kirklees-ten-point@1"}),
                422,
                "unknown_rubric",
                Some("/rubric"),
            ),
        ];
        for (body, status, code, at) in cases {
            let resp = app.post(Some(assurance), &path, &body).await;
            let problem = match at {
                Some(at) => resp.problem_at(status, code, at),
                None => resp.problem(status, code),
            };
            assert!(
                !problem["detail"].as_str().unwrap().is_empty(),
                "{body}: {problem}"
            );
            app.assert_sequence(&id, 11, &format!("{body}")).await;
        }
        // Not JSON at all.
        for (content_type, bytes) in [
            ("application/json", &b"{\"purpose\": "[..]),
            ("application/json", &b""[..]),
        ] {
            let resp = app
                .post_raw(Some(assurance), &path, content_type, bytes)
                .await;
            assert_eq!(resp.status.as_u16(), 400, "{}", resp.text());
            app.assert_sequence(&id, 11, "a broken body").await;
        }
        // An unknown project, and a path that is not a project id.
        let unknown = uuid::Uuid::new_v4();
        let resp = app
            .post(
                Some(assurance),
                &format!("/projects/{unknown}/assessments"),
                &json!({ "purpose": PURPOSE }),
            )
            .await;
        resp.problem(404, "not_found");
        let resp = app
            .post(
                Some(assurance),
                "/projects/not-a-project/assessments",
                &json!({ "purpose": PURPOSE }),
            )
            .await;
        resp.problem(404, "not_found");
        assert!(
            app.get(Some(assurance), &path).await.json_with(200)["seals"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_seal_with_its_idempotency_key_gets_the_first_answer_and_appends_once() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let path = format!("/projects/{id}/assessments");
        let send = |key: &'static str, body: Value| {
            let request = app
                .request(Method::POST, &path, Some(&app.tokens.assurance))
                .header("Idempotency-Key", key)
                .json(&body);
            app.send(request)
        };
        let body = json!({ "purpose": PURPOSE });
        let first = Sealed::read(send("panel-2025-03-04", body.clone()).await);
        assert_eq!(first.sequence(), 12);
        let retry = Sealed::read(send("panel-2025-03-04", body.clone()).await);
        assert_eq!(retry.body, first.body, "the same answer, byte for byte");
        app.assert_sequence(&id, 12, "a retried seal").await;

        // The same key for another request is refused; a new key seals again.
        let other = send("panel-2025-03-04", json!({ "purpose": "Another panel" })).await;
        other.problem(422, "idempotency_key_reused");
        app.assert_sequence(&id, 12, "a reused key").await;
        let again = Sealed::read(send("panel-2025-03-05", body).await);
        assert_eq!(again.sequence(), 13);
        assert_eq!(again.at_sequence(), 12);

        // A refused request does not use up its key.
        let refused = send("panel-2025-03-06", json!({ "purpose": " " })).await;
        refused.problem(422, "validation_failed");
        let fixed = Sealed::read(send("panel-2025-03-06", json!({ "purpose": PURPOSE })).await);
        assert_eq!(fixed.sequence(), 14);
        let seals = app.get(Some(&app.tokens.panel), &path).await.json_with(200);
        assert_eq!(seals["seals"].as_array().unwrap().len(), 3, "{seals}");
    })
    .await;
}

// ---- listing and checking seals -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seals_are_listed_in_order_as_they_were_returned() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let path = format!("/projects/{id}/assessments");
        let empty = app.get(Some(&app.tokens.panel), &path).await.json_with(200);
        assert_eq!(empty, json!({ "seals": [] }));

        let first = seal(app, &app.tokens.panel, &id, json!({ "purpose": "First" })).await;
        app.record(&id, joined("p3", "carer", &["young carers"]))
            .await;
        let second = seal(
            app,
            &app.tokens.assurance,
            &id,
            json!({ "purpose": "Second", "as_of": first.seal["recorded_at"] }),
        )
        .await;
        let third = seal(app, &app.tokens.admin, &id, json!({ "purpose": "Third" })).await;
        assert_eq!(
            [first.sequence(), second.sequence(), third.sequence()],
            [12, 14, 15]
        );
        assert_eq!(
            [
                first.at_sequence(),
                second.at_sequence(),
                third.at_sequence()
            ],
            [11, 12, 14]
        );

        let listed = app.get(Some(&app.tokens.panel), &path).await.json_with(200);
        assert_eq!(
            listed["seals"],
            json!([first.seal, second.seal, third.seal]),
            "each seal is listed exactly as its answer gave it"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seal_is_verified_by_replaying_it() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let sealed = seal(app, &app.tokens.panel, &id, json!({ "purpose": PURPOSE })).await;
        let check = app
            .get(
                Some(&app.tokens.panel),
                &format!("/projects/{id}/assessments/12/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(check["valid"], true, "{check}");
        assert_eq!(check["sequence"], 12);
        assert_eq!(check["at_sequence"], 11);
        assert_eq!(check["purpose"], PURPOSE);
        assert_eq!(check["stream_digest_matches"], true);
        assert_eq!(check["sealed_digest"], sealed.seal["assessment_digest"]);
        assert_eq!(check["replayed_digest"], sealed.seal["assessment_digest"]);
        let explanation = check["explanation"].as_str().unwrap();
        assert!(explanation.starts_with("The seal holds"), "{explanation}");

        // Only the entry holding a seal can be checked as one.
        for sequence in ["1", "5", "11", "13", "999", "0", "-1", "twelve", "12.0"] {
            app.get(
                Some(&app.tokens.panel),
                &format!("/projects/{id}/assessments/{sequence}/verify"),
            )
            .await
            .problem(404, "not_found");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seal_cannot_be_corrected() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        seal(app, &app.tokens.panel, &id, json!({ "purpose": PURPOSE })).await;
        let problem = app
            .assert_refused(
                &id,
                &correction(12),
                422,
                "correction_not_allowed",
                Some("/corrects_sequence"),
            )
            .await;
        assert!(!problem["detail"].as_str().unwrap().is_empty());
        // Nor inside a batch, nor as the admin.
        app.assert_refused(
            &id,
            &batch(&[joined("p3", "carer", &[]), correction(12)]),
            422,
            "correction_not_allowed",
            Some("/events/1/corrects_sequence"),
        )
        .await;
        let resp = app
            .post(
                Some(&app.tokens.admin),
                &format!("/projects/{id}/events"),
                &correction(12),
            )
            .await;
        resp.problem_at(422, "correction_not_allowed", "/corrects_sequence");
        app.assert_sequence(&id, 12, "correcting a seal").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_without_parameters_checks_every_seal() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let verify = format!("/projects/{id}/verify");
        let none = app
            .get(Some(&app.tokens.assurance), &verify)
            .await
            .json_with(200);
        assert_eq!(none["valid"], true, "{none}");
        assert_eq!(none["seals"], json!([]));

        let first = seal(app, &app.tokens.panel, &id, json!({ "purpose": "First" })).await;
        app.record(&id, role_taken("p2", "learner")).await;
        let second = seal(app, &app.tokens.panel, &id, json!({ "purpose": "Second" })).await;
        let whole = app
            .get(Some(&app.tokens.assurance), &verify)
            .await
            .json_with(200);
        assert_eq!(whole["valid"], true, "{whole}");
        assert_eq!(whole["sequence"], 14);
        assert_eq!(whole["first_divergence"], Value::Null);
        assert_eq!(whole["expected_digest"], second.seal["digest"]);
        assert_eq!(whole["recomputed_digest"], second.seal["digest"]);
        let seals = whole["seals"].as_array().expect("seals");
        assert_eq!(seals.len(), 2, "{whole}");
        for (check, sealed) in seals.iter().zip([&first, &second]) {
            assert_eq!(check["valid"], true, "{check}");
            assert_eq!(check["sequence"], sealed.seal["sequence"]);
            assert_eq!(check["at_sequence"], sealed.seal["at_sequence"]);
            assert_eq!(check["purpose"], sealed.seal["purpose"]);
            assert_eq!(check["replayed_digest"], sealed.seal["assessment_digest"]);
            // The same check as the seal's own endpoint gives.
            let own = app
                .get(
                    Some(&app.tokens.assurance),
                    &format!("/projects/{id}/assessments/{}/verify", sealed.sequence()),
                )
                .await
                .json_with(200);
            assert_eq!(&own, check);
        }
        // A receipt check says nothing about seals.
        let receipt = app
            .get(
                Some(&app.tokens.assurance),
                &format!(
                    "{verify}?sequence=12&digest={}",
                    first.seal["digest"].as_str().unwrap()
                ),
            )
            .await
            .json_with(200);
        assert_eq!(receipt["valid"], true, "{receipt}");
        assert_eq!(receipt["seals"], json!([]));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_recorded_after_a_seal_does_not_break_it() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let sealed = seal(app, &app.tokens.panel, &id, json!({ "purpose": PURPOSE })).await;
        // Withdraw the reward (entry 9) and the co-chair role (entry 10): today's assessment
        // changes, the sealed one does not.
        app.record(&id, correction(9)).await;
        app.record(&id, correction(10)).await;
        let (today, _) = assessment(app, &app.tokens.panel, &id, "").await;
        let today: Value = serde_json::from_slice(&today).unwrap();
        let sealed_body = sealed.assessment_json();
        assert_ne!(
            today["criteria"], sealed_body["criteria"],
            "the corrections change today's assessment"
        );
        assert_seal_covers_its_body(app, &id, &sealed, "at_sequence=11").await;
        let check = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/assessments/12/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(check["valid"], true, "{check}");
        let whole = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(whole["valid"], true, "{whole}");
        assert_eq!(whole["seals"][0]["valid"], true, "{whole}");

        // A seal made now, after the corrections, covers the corrected assessment.
        let now = seal(app, &app.tokens.panel, &id, json!({ "purpose": "After" })).await;
        assert_eq!(now.assessment_json()["criteria"], today["criteria"]);
    })
    .await;
}
