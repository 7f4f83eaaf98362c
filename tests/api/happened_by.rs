//! Replay by when things happened (`happened_by`): history typed in long after it happened is
//! counted on the days it happened, as known now or as known at `as_of`; corrections move an
//! entry in these replays and never change an `as_of` answer; seals of such answers verify, on
//! the server and offline; the portfolio and its trend count by the same rule; bad days refused.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// The history below happened in 2025 and is typed in from March 2026.
fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("instant")
        .with_timezone(&Utc)
}

fn set_clock(app: &TestApp, text: &str) {
    assert!(app.store.clock().set(instant(text)), "a fixed clock");
}

/// Every entry an assessment names as evidence.
fn evidence(assessment: &Value) -> Vec<u64> {
    let mut all: Vec<u64> = assessment["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .flat_map(|c| c["indicators"].as_array().expect("indicators").clone())
        .flat_map(|i| i["evidence"].as_array().expect("evidence").clone())
        .filter_map(|n| n.as_u64())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

async fn assessment(app: &TestApp, id: &str, query: &str) -> Resp {
    app.get(
        Some(&app.tokens.assurance),
        &format!("/projects/{id}/assessment{query}"),
    )
    .await
}

/// A project started on 2025-01-06 whose first months are recorded now: carers and staff
/// joining, the commissioning stage and a workshop in February 2025. Returns its id and the last
/// sequence of those entries.
async fn early_history(app: &TestApp) -> (String, u64) {
    let id = app.new_project().await;
    let receipt = app
        .record(
            &id,
            batch(&[
                joined("p1", "carer", &["carers"]),
                joined("p2", "carer", &["young carers"]),
                joined("s1", "professional", &[]),
                stage_started("commission"),
                activity("a1", "commission", &["p1"], &["p2", "s1"]),
            ]),
        )
        .await;
    (
        id,
        receipt["last_sequence"].as_u64().expect("last_sequence"),
    )
}

/// The design stage and a design workshop, in September 2025, recorded now.
fn later_history() -> Value {
    batch(&[
        stage_started_on("design", "2025-09-01"),
        workshop_on(
            "a2",
            "design",
            "Design workshop",
            &["p1", "p2"],
            &["s1"],
            "2025-09-10",
        ),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_entered_late_is_replayed_by_when_it_happened() {
    each_backend_with_clock(instant("2026-03-02T10:00:00Z"), async |app| {
        let (id, early_last) = early_history(app).await;
        let later = app.record(&id, later_history()).await;
        let last = later["last_sequence"].as_u64().unwrap();

        // As recorded: nothing was known in 2025.
        assessment(app, &id, "?as_of=2025-12-31")
            .await
            .problem(422, "nothing_recorded");

        // By when it happened: the whole of 2025, as known now.
        let year = assessment(app, &id, "?happened_by=2025-12-31")
            .await
            .json_with(200);
        assert_eq!(year["happened_by"], "2025-12-31");
        assert_eq!(year["at_sequence"], last, "as known now: every entry read");
        assert!(evidence(&year).iter().any(|&n| n > early_last), "{year}");

        // By the end of March 2025 the design stage had not begun: its entries do not count.
        let march = assessment(app, &id, "?happened_by=2025-03-31")
            .await
            .json_with(200);
        assert_eq!(march["happened_by"], "2025-03-31");
        assert_eq!(march["at_sequence"], last);
        let early = evidence(&march);
        assert!(!early.is_empty(), "{march}");
        assert!(early.iter().all(|&n| n <= early_last), "{early:?}");
        assert_ne!(march["criteria"], year["criteria"]);

        // The same question gives the same bytes.
        let first = assessment(app, &id, "?happened_by=2025-03-31").await.text();
        let again = assessment(app, &id, "?happened_by=2025-03-31").await.text();
        assert!(first == again, "the same question gave other bytes");

        // An answer as recorded says nothing of happened_by.
        let now = assessment(app, &id, "").await.json_with(200);
        assert!(now.get("happened_by").is_none(), "{now}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_together_ask_what_was_known_then_about_what_had_happened_by_a_day() {
    each_backend_with_clock(instant("2026-03-02T10:00:00Z"), async |app| {
        let (id, early_last) = early_history(app).await;
        set_clock(app, "2026-03-05T10:00:00Z");
        app.record(&id, later_history()).await;

        let known_then = assessment(app, &id, "?as_of=2026-03-03&happened_by=2025-12-31")
            .await
            .json_with(200);
        assert_eq!(known_then["as_of"], "2026-03-03T23:59:59.999999Z");
        assert_eq!(known_then["happened_by"], "2025-12-31");
        assert_eq!(known_then["at_sequence"], early_last);
        assert!(evidence(&known_then).iter().all(|&n| n <= early_last));

        let known_now = assessment(app, &id, "?happened_by=2025-12-31")
            .await
            .json_with(200);
        assert!(evidence(&known_now).iter().any(|&n| n > early_last));
        assert_ne!(known_then["criteria"], known_now["criteria"]);

        // Before anything was recorded, nothing was known about any day.
        assessment(app, &id, "?as_of=2026-03-01&happened_by=2025-12-31")
            .await
            .problem(422, "nothing_recorded");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correcting_a_date_moves_the_entry_in_happened_by_replays_and_never_changes_an_earlier_as_of_answer(
) {
    each_backend_with_clock(instant("2026-03-02T10:00:00Z"), async |app| {
        let (id, _) = early_history(app).await;
        // A second workshop, typed in as held in March 2025.
        let slip = app
            .record(
                &id,
                workshop_on(
                    "a2",
                    "commission",
                    "Second workshop",
                    &["p2"],
                    &["p1"],
                    "2025-03-10",
                ),
            )
            .await["last_sequence"]
            .as_u64()
            .unwrap();
        let as_recorded = assessment(app, &id, "?as_of=2026-03-02T10:00:00Z")
            .await
            .text();
        let march = assessment(app, &id, "?happened_by=2025-03-31")
            .await
            .json_with(200);
        assert!(evidence(&march).contains(&slip), "{march}");

        // A week later the officer finds it was held in October: withdrawn, and recorded again.
        set_clock(app, "2026-03-09T10:00:00Z");
        app.record(&id, correction(slip)).await;
        app.record(&id, stage_started_on("design", "2025-09-01"))
            .await;
        let moved = app
            .record(
                &id,
                workshop_on(
                    "a3",
                    "design",
                    "Second workshop",
                    &["p2"],
                    &["p1"],
                    "2025-10-10",
                ),
            )
            .await["last_sequence"]
            .as_u64()
            .unwrap();

        let march = assessment(app, &id, "?happened_by=2025-03-31")
            .await
            .json_with(200);
        let march_evidence = evidence(&march);
        assert!(!march_evidence.contains(&slip), "withdrawn: {march}");
        assert!(!march_evidence.contains(&moved), "held in October: {march}");
        let year = assessment(app, &id, "?happened_by=2025-12-31")
            .await
            .json_with(200);
        assert!(evidence(&year).contains(&moved), "{year}");

        // What was recorded by then is what it was.
        assert_eq!(
            assessment(app, &id, "?as_of=2026-03-02T10:00:00Z")
                .await
                .text(),
            as_recorded
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_happened_by_assessment_verifies_on_the_server_and_offline() {
    each_backend_with_clock(instant("2026-03-02T10:00:00Z"), async |app| {
        // No personal data: an offline check can replay the seal in full.
        let id = app.new_project().await;
        app.record(
            &id,
            batch(&[
                stage_started("commission"),
                stage_started_on("design", "2025-09-01"),
            ]),
        )
        .await;
        let sealed = app
            .post(
                Some(&app.tokens.panel),
                &format!("/projects/{id}/assessments"),
                &json!({"happened_by": "2025-03-31", "purpose": "Scrutiny panel: the project in its first quarter"}),
            )
            .await
            .json_with(201);
        assert_eq!(sealed["seal"]["happened_by"], "2025-03-31");
        assert_eq!(sealed["assessment"]["happened_by"], "2025-03-31");
        let sequence = sealed["seal"]["sequence"].as_u64().unwrap();

        // Later history does not change what was sealed.
        set_clock(app, "2026-03-09T10:00:00Z");
        app.record(&id, stage_started_on("deliver", "2025-11-01"))
            .await;
        let check = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/assessments/{sequence}/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(check["outcome"], "holds", "{check}");
        assert_eq!(check["valid"], true, "{check}");

        let export = app
            .send(
                app.request(
                    Method::GET,
                    &format!("/projects/{id}/events"),
                    Some(&app.tokens.assurance),
                )
                .header("Accept", "application/x-ndjson"),
            )
            .await
            .expect(200)
            .text();
        let (ok, report) = verify_offline(&export);
        assert!(ok, "[{}] {report}", app.backend);
        assert!(report.contains("holds"), "{report}");
        assert!(!report.contains("FAILS"), "{report}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portfolio_and_its_trend_count_late_history_by_when_it_happened() {
    each_backend_with_clock(instant("2026-03-02T10:00:00Z"), async |app| {
        early_history(app).await;
        let panel = app.tokens.panel.clone();
        let total = |portfolio: &Value| portfolio["projects"]["total"].as_u64().unwrap();

        let recorded = app
            .get(Some(&panel), "/portfolio?as_of=2025-12-31")
            .await
            .json_with(200);
        assert_eq!(total(&recorded), 0, "nothing was recorded in 2025");
        let happened = app
            .get(Some(&panel), "/portfolio?happened_by=2025-12-31")
            .await
            .json_with(200);
        assert_eq!(total(&happened), 1, "{happened}");
        assert_eq!(happened["happened_by"], "2025-12-31");
        let before = app
            .get(Some(&panel), "/portfolio?happened_by=2024-12-31")
            .await
            .json_with(200);
        assert_eq!(total(&before), 0, "not started by then: {before}");

        let trend = app
            .get(
                Some(&panel),
                "/portfolio/trend?from=2024-10-01&happened_by=2025-12-31",
            )
            .await
            .json_with(200);
        let periods = trend["periods"].as_array().unwrap();
        let labels: Vec<&str> = periods
            .iter()
            .map(|p| p["period"].as_str().unwrap())
            .collect();
        assert_eq!(
            labels,
            ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
        );
        let totals: Vec<u64> = periods.iter().map(total).collect();
        assert_eq!(totals, [0, 1, 1, 1, 1], "{trend}");
        assert_eq!(periods[1]["happened_by"], "2025-03-31");
        assert_eq!(trend["happened_by"], "2025-12-31");

        let as_recorded = app
            .get(
                Some(&panel),
                "/portfolio/trend?from=2024-10-01&to=2025-12-31",
            )
            .await
            .json_with(200);
        let totals: Vec<u64> = as_recorded["periods"]
            .as_array()
            .unwrap()
            .iter()
            .map(total)
            .collect();
        assert_eq!(totals, [0, 0, 0, 0, 0], "{as_recorded}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_happened_by_in_the_future_before_the_start_or_malformed_is_refused() {
    each_backend_with_clock(instant("2026-03-02T10:00:00Z"), async |app| {
        let (id, _) = early_history(app).await;
        let at = |query: &str| format!("/projects/{id}/assessment{query}");
        let cases = [
            (
                at("?happened_by=2026-03-03"),
                422,
                "validation_failed",
                "happened_by",
            ),
            (
                at("?happened_by=2025-01-05"),
                422,
                "nothing_recorded",
                "happened_by",
            ),
            (
                at("?happened_by=03/02/2025"),
                400,
                "validation_failed",
                "happened_by",
            ),
            (
                at("?happened_by=2025-02-30"),
                400,
                "validation_failed",
                "happened_by",
            ),
            (
                at("?happened_by=2025-03-31&at_sequence=2"),
                400,
                "validation_failed",
                "happened_by",
            ),
            (
                at("?happened_by=2025-03-31&as_of=2027-01-01"),
                422,
                "validation_failed",
                "as_of",
            ),
            (
                "/portfolio?happened_by=2026-03-03".to_string(),
                422,
                "validation_failed",
                "happened_by",
            ),
            (
                "/portfolio/trend?happened_by=2025-12-31&to=2025-12-31".to_string(),
                400,
                "validation_failed",
                "happened_by",
            ),
            (
                "/portfolio/trend?happened_by=tomorrow".to_string(),
                400,
                "validation_failed",
                "happened_by",
            ),
        ];
        let before = app.sequence(&id).await;
        for (path, status, code, field) in cases {
            let problem = app
                .get(Some(&app.tokens.assurance), &path)
                .await
                .problem_at(status, code, field);
            assert!(
                problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{path}: {problem}"
            );
        }
        // A seal of a bad day is refused and records nothing.
        app.post(
            Some(&app.tokens.panel),
            &format!("/projects/{id}/assessments"),
            &json!({"happened_by": "2025-01-05", "purpose": "Too early"}),
        )
        .await
        .problem_at(422, "nothing_recorded", "/happened_by");
        app.assert_sequence(&id, before, "refused questions").await;
    })
    .await;
}
