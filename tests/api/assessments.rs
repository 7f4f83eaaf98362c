//! Replayed assessments: shape, determinism, ETag, cut-offs, rubric choice and CSV.

use reqwest::Method;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::helpers::*;

const CRITERIA: [&str; 6] = [
    "whole_life_involvement",
    "blurred_boundaries",
    "reciprocal_reward",
    "diverse_group_involvement",
    "equal_valuation_of_assets",
    "shared_responsibility",
];

/// The CSV columns of an assessment under version 1.
const VERSION_1_CSV_HEADER: &str = "project_id,rubric,as_of,at_sequence,stream_digest,criterion,criterion_title,rating,score,indicator,met,value,explanation,evidence";

/// How many indicators each criterion has under version 2, in rubric order.
const VERSION_2_INDICATORS: [usize; 6] = [4, 3, 7, 5, 3, 4];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_assessment_has_six_criteria_of_three_indicators_each() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let head = app.summary(&id).await;
        // Every figure: a panel is not shown what the groups of the one participant decide.
        let resp = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/assessment?rubric=oxfordshire-six-point@1"),
            )
            .await
            .expect(200);
        assert!(resp.content_type().starts_with("application/json"));
        let assessment = resp.json();
        assert_eq!(assessment["project_id"], id.as_str());
        assert_eq!(assessment["rubric"]["id"], "oxfordshire-six-point");
        assert_eq!(assessment["rubric"]["version"], 1);
        assert!(is_digest(&assessment["rubric"]["digest"]));
        assert_eq!(assessment["at_sequence"], 11);
        assert_eq!(assessment["stream_digest"], head["digest"]);
        assert_eq!(
            assessment["as_of"], head["recorded_at"],
            "default: the latest entry"
        );
        assert!(assessment["engine"]
            .as_str()
            .unwrap()
            .starts_with("coprod "));
        let criteria = assessment["criteria"].as_array().expect("criteria");
        let keys: Vec<&str> = criteria
            .iter()
            .map(|c| c["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, CRITERIA);
        let mut ratings = json!({"met": 0, "partly_met": 0, "not_met": 0});
        for criterion in criteria {
            let rating = criterion["rating"].as_str().unwrap();
            ratings[rating] = json!(ratings[rating].as_u64().unwrap() + 1);
            assert!(criterion["title"].is_string() && criterion["summary"].is_string());
            assert!(criterion["score"].is_u64(), "{criterion}");
            let indicators = criterion["indicators"].as_array().expect("indicators");
            assert_eq!(indicators.len(), 3, "{criterion}");
            for indicator in indicators {
                assert!(indicator["met"].is_boolean(), "{indicator}");
                assert!(indicator["key"].is_string() && indicator["value"].is_string());
                assert!(indicator["explanation"].is_string());
                let evidence = indicator["evidence"].as_array().expect("evidence");
                assert!(
                    evidence
                        .iter()
                        .all(|s| (1..=11).contains(&s.as_u64().unwrap())),
                    "{indicator}"
                );
            }
        }
        assert_eq!(assessment["overall"]["met"], ratings["met"]);
        assert_eq!(assessment["overall"]["partly_met"], ratings["partly_met"]);
        assert_eq!(assessment["overall"]["not_met"], ratings["not_met"]);
        assert!(assessment["overall"]["summary"].is_string());
        // A PLE took part in the commission stage from the start.
        let from_the_start = &criteria[0]["indicators"][0];
        assert_eq!(from_the_start["key"], "from_the_start");
        assert_eq!(from_the_start["met"], true, "{from_the_start}");
        // Version 1 answers carry none of version 2's fields.
        let body = resp.text();
        for field in [
            "\"state\"",
            "missing_evidence",
            "headline",
            "\"ladder\"",
            "\"flags\"",
        ] {
            assert!(!body.contains(field), "{field} in a version 1 body");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_assessment_is_version_2_with_states_a_headline_and_the_ladder() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        // Every figure: a panel is not shown what the groups of the one participant decide.
        let assessment = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/assessment"),
            )
            .await
            .json_with(200);
        assert_eq!(assessment["rubric"]["id"], "oxfordshire-six-point");
        assert_eq!(assessment["rubric"]["version"], 2);
        assert!(is_digest(&assessment["rubric"]["digest"]));
        assert_eq!(assessment["at_sequence"], 11);
        let criteria = assessment["criteria"].as_array().expect("criteria");
        let keys: Vec<&str> = criteria
            .iter()
            .map(|c| c["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, CRITERIA);
        let mut ratings =
            json!({"met": 0, "partly_met": 0, "not_met": 0, "insufficient_evidence": 0});
        for (criterion, count) in criteria.iter().zip(VERSION_2_INDICATORS) {
            let rating = criterion["rating"].as_str().unwrap();
            ratings[rating] = json!(ratings[rating].as_u64().unwrap() + 1);
            let indicators = criterion["indicators"].as_array().expect("indicators");
            assert_eq!(indicators.len(), count, "{criterion}");
            for indicator in indicators {
                let state = indicator["state"].as_str().expect("a state");
                assert!(
                    ["met", "not_met", "not_applicable", "not_recorded"].contains(&state),
                    "{indicator}"
                );
                assert_eq!(indicator["met"], state == "met", "{indicator}");
                assert_eq!(
                    indicator["missing_evidence"].is_string(),
                    state != "met",
                    "what is missing is said unless met: {indicator}"
                );
            }
        }
        let overall = &assessment["overall"];
        for rating in ["met", "partly_met", "not_met", "insufficient_evidence"] {
            assert_eq!(overall[rating], ratings[rating], "{rating}: {overall}");
        }
        assert!(
            overall["headline"].as_str().is_some_and(|h| !h.is_empty()),
            "{overall}"
        );
        assert!(overall["ladder"]["reasons"].is_array(), "{overall}");
        assert!(overall["flags"].is_array(), "{overall}");
        // p1 (lived experience) ran a workshop and had a say in a decision: engagement or above.
        assert!(overall["ladder"]["rung"].is_string(), "{overall}");
        assert!(
            overall.get("declared_level").is_none(),
            "none declared: {overall}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_question_gives_byte_identical_bodies_and_etags_and_304_when_matched() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let path = format!("/projects/{id}/assessment");
        let panel = Some(app.tokens.panel.as_str());
        let first = app.get(panel, &path).await.expect(200);
        let second = app.get(panel, &path).await.expect(200);
        assert_eq!(first.body, second.body, "byte-identical");
        let etag = first.header("etag").expect("ETag");
        assert_eq!(second.header("etag").as_deref(), Some(etag.as_str()));
        let sha = hex::encode(Sha256::digest(&first.body));
        assert_eq!(
            etag,
            format!("\"{sha}\""),
            "the ETag is the SHA-256 of the body"
        );
        // Another role of the same kind asks the same question: the same answer (readers who
        // may see personal data are given every figure, panels not: see tests/privacy.rs).
        let assurance = app
            .get(Some(&app.tokens.assurance), &path)
            .await
            .expect(200);
        let admin = app.get(Some(&app.tokens.admin), &path).await.expect(200);
        assert_eq!(assurance.body, admin.body);

        let cached = app
            .send(
                app.request(Method::GET, &path, panel)
                    .header("if-none-match", &etag),
            )
            .await
            .expect(304);
        assert!(cached.body.is_empty());
        assert_eq!(cached.header("etag").as_deref(), Some(etag.as_str()));
        let stale = app
            .send(
                app.request(Method::GET, &path, panel)
                    .header("if-none-match", "\"0000\""),
            )
            .await
            .expect(200);
        assert_eq!(stale.body, first.body);

        // A later fact changes the latest assessment and its ETag, but not one at a sequence.
        let at_11 = app
            .get(panel, &format!("{path}?at_sequence=11"))
            .await
            .expect(200);
        assert_eq!(at_11.body, first.body, "at_sequence=11 is the latest here");
        app.record(&id, joined("p9", "carer", &["young carers"]))
            .await;
        app.record(&id, correction(6)).await;
        let latest = app.get(panel, &path).await.expect(200);
        assert_ne!(latest.header("etag").as_deref(), Some(etag.as_str()));
        assert_eq!(latest.json()["at_sequence"], 13);
        let again_11 = app
            .get(panel, &format!("{path}?at_sequence=11"))
            .await
            .expect(200);
        assert_eq!(again_11.body, first.body, "a replay at 11 never changes");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_an_instant_before_a_later_event_gives_the_earlier_sequence() {
    each_backend(async |app| {
        let id = app.new_project().await;
        let early = app
            .record(
                &id,
                batch(&[joined("p1", "carer", &[]), stage_started("commission")]),
            )
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let late = app.record(&id, joined("p2", "lived_experience", &[])).await;
        assert!(late["recorded_at"].as_str() > early["recorded_at"].as_str());
        let panel = Some(app.tokens.panel.as_str());
        let ask = |query: String| {
            let path = format!("/projects/{id}/assessment?{query}");
            let app = &app;
            async move { app.get(panel, &path).await.json_with(200) }
        };
        let at = early["recorded_at"].as_str().unwrap();
        let then = ask(format!("as_of={at}")).await;
        assert_eq!(then["at_sequence"], 3, "{then}");
        assert_eq!(then["as_of"], at);
        assert_eq!(then["stream_digest"], early["digest"]);
        let now = ask(format!("as_of={}", late["recorded_at"].as_str().unwrap())).await;
        assert_eq!(now["at_sequence"], 4);

        let at_sequence = ask("at_sequence=2".into()).await;
        assert_eq!(at_sequence["at_sequence"], 2);
        let trail = app.trail(&id).await;
        assert_eq!(at_sequence["stream_digest"], trail[1]["digest"]);
        assert_eq!(at_sequence["as_of"], trail[1]["recorded_at"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_rubric_gives_the_same_assessment_as_the_default() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let panel = Some(app.tokens.panel.as_str());
        let default = app
            .get(panel, &format!("/projects/{id}/assessment"))
            .await
            .expect(200);
        for name in ["oxfordshire-six-point@2", "oxfordshire-six-point"] {
            let named = app
                .get(panel, &format!("/projects/{id}/assessment?rubric={name}"))
                .await
                .expect(200);
            assert_eq!(named.body, default.body, "{name}");
        }
        // Version 1 is still given when named, and is another answer.
        let version_1 = app
            .get(
                panel,
                &format!("/projects/{id}/assessment?rubric=oxfordshire-six-point@1"),
            )
            .await
            .json_with(200);
        assert_eq!(version_1["rubric"]["version"], 1);
        assert_ne!(
            version_1["rubric"]["digest"],
            default.json()["rubric"]["digest"]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_assessment_has_a_header_and_one_row_per_indicator() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let path = format!("/projects/{id}/assessment?rubric=oxfordshire-six-point@1");
        let csv_request = || {
            app.request(Method::GET, &path, Some(&app.tokens.panel))
                .header("accept", "text/csv")
        };
        let resp = app.send(csv_request()).await.expect(200);
        assert!(
            resp.content_type().starts_with("text/csv"),
            "{}",
            resp.content_type()
        );
        let again = app.send(csv_request()).await.expect(200);
        assert_eq!(again.body, resp.body);
        assert_eq!(again.header("etag"), resp.header("etag"));
        let json = app.get(Some(&app.tokens.panel), &path).await.expect(200);
        assert_ne!(resp.header("etag"), json.header("etag"));

        let mut reader = csv::Reader::from_reader(resp.body.as_slice());
        let header: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_string)
            .collect();
        for column in ["criterion", "indicator", "met", "evidence"] {
            assert!(header.iter().any(|h| h == column), "{column} in {header:?}");
        }
        assert_eq!(
            header.join(","),
            VERSION_1_CSV_HEADER,
            "version 1's columns are as they were"
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(rows.len(), 18);
        let assessment = json.json();
        let criterion_col = header.iter().position(|h| h == "criterion").unwrap();
        let indicator_col = header.iter().position(|h| h == "indicator").unwrap();
        let met_col = header.iter().position(|h| h == "met").unwrap();
        let mut i = 0;
        for criterion in assessment["criteria"].as_array().unwrap() {
            for indicator in criterion["indicators"].as_array().unwrap() {
                assert_eq!(
                    rows[i][criterion_col],
                    criterion["key"].as_str().unwrap().to_string()
                );
                assert_eq!(
                    rows[i][indicator_col],
                    indicator["key"].as_str().unwrap().to_string()
                );
                assert_eq!(rows[i][met_col], indicator["met"].to_string());
                i += 1;
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_2_csv_adds_each_indicators_state_and_missing_evidence_at_the_end() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let path = format!("/projects/{id}/assessment");
        let resp = app
            .send(
                app.request(Method::GET, &path, Some(&app.tokens.panel))
                    .header("accept", "text/csv"),
            )
            .await
            .expect(200);
        let json = app.get(Some(&app.tokens.panel), &path).await.json_with(200);
        let mut reader = csv::Reader::from_reader(resp.body.as_slice());
        let header: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(
            header.join(","),
            format!("{VERSION_1_CSV_HEADER},state,missing_evidence")
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        let indicators: Vec<&serde_json::Value> = json["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["indicators"].as_array().unwrap())
            .collect();
        assert_eq!(rows.len(), VERSION_2_INDICATORS.iter().sum::<usize>());
        assert_eq!(rows.len(), indicators.len());
        for (row, indicator) in rows.iter().zip(indicators) {
            assert_eq!(row[1].to_string(), "oxfordshire-six-point@2");
            assert_eq!(row[9].to_string(), indicator["key"].as_str().unwrap());
            assert_eq!(row[14].to_string(), indicator["state"].as_str().unwrap());
            assert_eq!(
                row[15].to_string(),
                indicator["missing_evidence"].as_str().unwrap_or(""),
                "{indicator}"
            );
        }
        assert!(
            rows.iter().any(|r| &r[14] != "met" && !r[15].is_empty()),
            "some indicator is not met and says what is missing"
        );
    })
    .await;
}
